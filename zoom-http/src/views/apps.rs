//! Apps (OAuth clients): an account's own, and the marketplace's published
//! ones. No answer but a creation's and a rotation's carries a secret.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zoom_auth::app::{App, AppKind, AppStatus};

use super::instant;

/// How an app gets tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AppKind)]
pub enum AppKindView {
    /// Acts for its own account (client credentials).
    Server,
    /// Acts for the user who authorized it (authorization code with PKCE).
    User,
}

impl From<AppKind> for AppKindView {
    fn from(k: AppKind) -> Self {
        match k {
            AppKind::Server => Self::Server,
            AppKind::User => Self::User,
        }
    }
}

impl From<AppKindView> for AppKind {
    fn from(k: AppKindView) -> Self {
        match k {
            AppKindView::Server => Self::Server,
            AppKindView::User => Self::User,
        }
    }
}

/// Whether an app's credentials work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AppStatus)]
pub enum AppStatusView {
    /// They work.
    Active,
    /// They do not (`DELETE /v1/apps/{client_id}`).
    Disabled,
}

impl From<AppStatus> for AppStatusView {
    fn from(s: AppStatus) -> Self {
        match s {
            AppStatus::Active => Self::Active,
            AppStatus::Disabled => Self::Disabled,
        }
    }
}

/// `POST /v1/apps`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppInput {
    /// A human-readable name, 1 to 200 characters.
    pub name: String,
    /// `server` or `user`.
    pub kind: AppKindView,
    /// Where authorization answers may be sent, matched exactly: absolute, no fragment, `https`
    /// (or `http` for `127.0.0.1`, `[::1]` and `localhost`). A user app needs at least one.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// The scopes it may be granted (`platform` only in the platform account).
    pub scopes: Vec<String>,
    /// A public client (user apps only): no secret, PKCE only. Default false.
    #[serde(default)]
    pub public: bool,
    /// Listed in the marketplace to every account. Default false.
    #[serde(default)]
    pub published: bool,
}

/// `PATCH /v1/apps/{client_id}`: the members sent change, the others stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppPatchInput {
    /// A new name.
    pub name: Option<String>,
    /// New redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// New scopes.
    pub scopes: Option<Vec<String>>,
    /// Listed in the marketplace or not.
    pub published: Option<bool>,
}

/// An app, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = App)]
pub struct AppView {
    /// `app_…`.
    pub client_id: String,
    /// The account it belongs to.
    pub account_id: String,
    /// A human-readable name.
    pub name: String,
    /// `server` or `user`.
    pub kind: AppKindView,
    /// Its redirect URIs.
    pub redirect_uris: Vec<String>,
    /// The scopes it may be granted.
    pub scopes: Vec<String>,
    /// Listed in the marketplace.
    pub published: bool,
    /// A public client (no secret).
    pub public: bool,
    /// Active or disabled.
    pub status: AppStatusView,
    /// When it was created (RFC 3339).
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
}

impl From<&App> for AppView {
    fn from(a: &App) -> Self {
        Self {
            client_id: a.client_id.as_str().to_owned(),
            account_id: a.account_id.as_str().to_owned(),
            name: a.name.clone(),
            kind: a.kind.into(),
            redirect_uris: a.redirect_uris.clone(),
            scopes: a.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            published: a.published,
            public: a.public,
            status: a.status.into(),
            created_at: a.created_at,
        }
    }
}

/// The answer of `POST /v1/apps`: the app and, for a confidential one, its client secret,
/// shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppCreated {
    /// `app_…`.
    pub client_id: String,
    /// The account it belongs to.
    pub account_id: String,
    /// A human-readable name.
    pub name: String,
    /// `server` or `user`.
    pub kind: AppKindView,
    /// Its redirect URIs.
    pub redirect_uris: Vec<String>,
    /// The scopes it may be granted.
    pub scopes: Vec<String>,
    /// Listed in the marketplace.
    pub published: bool,
    /// A public client (no secret).
    pub public: bool,
    /// `active`.
    pub status: AppStatusView,
    /// When it was created (RFC 3339).
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
    /// `zsec_…`; absent for a public app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl AppCreated {
    /// The app with its secret.
    pub fn new(app: &App, client_secret: Option<String>) -> Self {
        let v = AppView::from(app);
        Self {
            client_id: v.client_id,
            account_id: v.account_id,
            name: v.name,
            kind: v.kind,
            redirect_uris: v.redirect_uris,
            scopes: v.scopes,
            published: v.published,
            public: v.public,
            status: v.status,
            created_at: v.created_at,
            client_secret,
        }
    }
}

/// The answer of `:rotateSecret`: the new secret, shown this once; the old one no longer works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppSecretView {
    /// `app_…`.
    pub client_id: String,
    /// `zsec_…`.
    pub client_secret: String,
}

/// A page of apps, in creation order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppList {
    /// The apps.
    pub apps: Vec<AppView>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}
