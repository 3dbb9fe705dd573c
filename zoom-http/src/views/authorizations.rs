//! Authorizations (grants): what a user allowed an app. No answer carries a token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zoom_auth::grant::{Grant, GrantStatus};

use super::instant;

/// Whether a grant's tokens work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AuthorizationStatus)]
pub enum AuthorizationStatusView {
    /// They work.
    Active,
    /// They do not, for good: a new consent makes a new authorization.
    Revoked,
}

impl From<GrantStatus> for AuthorizationStatusView {
    fn from(s: GrantStatus) -> Self {
        match s {
            GrantStatus::Active => Self::Active,
            GrantStatus::Revoked => Self::Revoked,
        }
    }
}

/// What a user allowed an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Authorization)]
pub struct AuthorizationView {
    /// `grt_…`.
    pub id: String,
    /// The user's account, where the app acts.
    pub account_id: String,
    /// The user.
    pub user_id: String,
    /// The app.
    pub client_id: String,
    /// What the user allowed.
    pub scopes: Vec<String>,
    /// Active or revoked.
    pub status: AuthorizationStatusView,
    /// When the user first allowed it (RFC 3339).
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
}

impl From<&Grant> for AuthorizationView {
    fn from(g: &Grant) -> Self {
        Self {
            id: g.id.as_str().to_owned(),
            account_id: g.account_id.as_str().to_owned(),
            user_id: g.user_id.as_str().to_owned(),
            client_id: g.client_id.as_str().to_owned(),
            scopes: g.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            status: g.status.into(),
            created_at: g.created_at,
        }
    }
}

/// A page of authorizations, in creation order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthorizationList {
    /// The authorizations.
    pub authorizations: Vec<AuthorizationView>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}
