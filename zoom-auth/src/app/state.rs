//! The folded app.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zoom_core::id::{AccountId, Name};
use zoom_core::principal::Scope;

use crate::secret::SecretHash;

/// How an app gets tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppKind {
    /// Acts for its own account (client credentials).
    Server,
    /// Acts for the user who authorized it (authorization code with PKCE).
    User,
}

/// Whether an app's credentials work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppStatus {
    /// They work.
    Active,
    /// They do not; its grants are revoked.
    Disabled,
}

impl AppStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Active => "active",
            AppStatus::Disabled => "disabled",
        }
    }
}

/// An app (OAuth client), as every reader may see it: no secret, not even its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// Its client id (`app_…`, or given).
    pub client_id: Name,
    /// The account it belongs to.
    pub account_id: AccountId,
    /// A human-readable name.
    pub name: String,
    /// Server or user.
    pub kind: AppKind,
    /// Where authorization answers may be sent (user apps), matched exactly.
    pub redirect_uris: Vec<String>,
    /// The scopes it may be granted.
    pub scopes: Vec<Scope>,
    /// Listed to every account (the marketplace).
    pub published: bool,
    /// A public client: no secret, PKCE only.
    pub public: bool,
    /// Active or disabled.
    pub status: AppStatus,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// An app with the hash of its client secret, as the fold keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppState {
    pub(crate) app: App,
    pub(crate) secret: Option<SecretHash>,
}

impl AppState {
    /// The app.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Whether `secret` is its current client secret (constant time; never for a public app).
    pub fn secret_matches(&self, secret: &str) -> bool {
        self.secret.as_ref().is_some_and(|h| h.matches(secret))
    }
}
