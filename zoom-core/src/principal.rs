//! Who is calling: the principal and its scopes.
//!
//! Every command and query carries a [`Principal`]. The engine itself enforces scopes, account
//! isolation and host authority, so an embedder that forgets a check in its own HTTP layer still
//! cannot leak another account's meeting.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::id::{AccountId, Name};

/// A permission a token can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Read meetings and participants.
    #[serde(rename = "meeting.read")]
    MeetingRead,
    /// Schedule, edit, cancel and end meetings; manage participants.
    #[serde(rename = "meeting.write")]
    MeetingWrite,
    /// Issue join tokens.
    #[serde(rename = "meeting.join")]
    MeetingJoin,
    /// Read recordings.
    #[serde(rename = "recording.read")]
    RecordingRead,
    /// Start and stop recordings.
    #[serde(rename = "recording.write")]
    RecordingWrite,
    /// Read webhook subscriptions and their deliveries.
    #[serde(rename = "webhook.read")]
    WebhookRead,
    /// Subscribe, unsubscribe, rotate secrets.
    #[serde(rename = "webhook.write")]
    WebhookWrite,
    /// The media seam: redeem join tokens, report leaves and finished recordings.
    #[serde(rename = "media")]
    Media,
    /// Everything, for the whole account.
    #[serde(rename = "admin")]
    Admin,
    /// Read the account's users.
    #[serde(rename = "user.read")]
    UserRead,
    /// The operator's power over every account (accounts, the media seam across accounts).
    /// Only apps of the platform account may hold it, and `admin` does not imply it.
    #[serde(rename = "platform")]
    Platform,
}

impl Scope {
    /// Every scope, in catalogue order.
    pub const ALL: [Scope; 11] = [
        Scope::MeetingRead,
        Scope::MeetingWrite,
        Scope::MeetingJoin,
        Scope::RecordingRead,
        Scope::RecordingWrite,
        Scope::WebhookRead,
        Scope::WebhookWrite,
        Scope::Media,
        Scope::Admin,
        Scope::UserRead,
        Scope::Platform,
    ];

    /// The scope's wire name (`meeting.read`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::MeetingRead => "meeting.read",
            Scope::MeetingWrite => "meeting.write",
            Scope::MeetingJoin => "meeting.join",
            Scope::RecordingRead => "recording.read",
            Scope::RecordingWrite => "recording.write",
            Scope::WebhookRead => "webhook.read",
            Scope::WebhookWrite => "webhook.write",
            Scope::Media => "media",
            Scope::Admin => "admin",
            Scope::UserRead => "user.read",
            Scope::Platform => "platform",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the caller is a person or an application acting for its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// A user: schedules as itself, joins as itself, changes only meetings it hosts.
    User,
    /// An app (OAuth client): acts for its whole account and names the user it acts for.
    App,
}

/// The caller of a command or query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The account whose resources this principal may see.
    pub account_id: AccountId,
    /// The user id or the app's client id.
    pub subject: Name,
    /// User or app.
    pub kind: PrincipalKind,
    /// What it may do.
    pub scopes: BTreeSet<Scope>,
    /// A user who acts for the whole account like an app (an `admin` or `owner` user, DESIGN's
    /// role rules): names any host and any joiner. Always false for a `member`; ignored for apps,
    /// which always act for their account.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub account_wide: bool,
    /// The app (client id) a user acts through: the app of the user token. `None` for an app,
    /// whose subject is the app, and for a user acting directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<Name>,
}

impl Principal {
    /// An app principal holding the given scopes.
    pub fn app(account_id: AccountId, client_id: Name, scopes: impl IntoIterator<Item = Scope>) -> Self {
        Self {
            account_id,
            subject: client_id,
            kind: PrincipalKind::App,
            scopes: scopes.into_iter().collect(),
            account_wide: false,
            app: None,
        }
    }

    /// A user principal holding the given scopes.
    pub fn user(account_id: AccountId, user_id: Name, scopes: impl IntoIterator<Item = Scope>) -> Self {
        Self {
            account_id,
            subject: user_id,
            kind: PrincipalKind::User,
            scopes: scopes.into_iter().collect(),
            account_wide: false,
            app: None,
        }
    }

    /// Whether it holds `scope` (or `admin`, which implies every scope but `platform`).
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || (scope != Scope::Platform && self.scopes.contains(&Scope::Admin))
    }

    /// This user principal, acting for the whole account (an `admin` or `owner` user).
    #[must_use]
    pub fn for_account(mut self) -> Self {
        self.account_wide = true;
        self
    }

    /// This user principal, acting through the app `client_id` (a user token's app).
    #[must_use]
    pub fn through(mut self, client_id: Name) -> Self {
        self.app = Some(client_id);
        self
    }

    /// The app acting: the subject of an app, the app a user acts through, or the user itself
    /// when it acts directly. Webhook subscriptions belong to it.
    pub fn acting_app(&self) -> &Name {
        match (&self.kind, &self.app) {
            (PrincipalKind::User, Some(app)) => app,
            _ => &self.subject,
        }
    }

    /// Whether it acts for its whole account: an app, or an `admin` or `owner` user. Otherwise
    /// (a `member`) it schedules as itself, joins as itself and changes only meetings it hosts.
    pub fn acts_for_account(&self) -> bool {
        self.kind == PrincipalKind::App || self.account_wide
    }

    /// Whether this principal is an app.
    pub fn is_app(&self) -> bool {
        self.kind == PrincipalKind::App
    }
}
