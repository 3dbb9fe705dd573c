//! The events of a grant, past tense.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zoom_core::id::{AccountId, Name, UserId};
use zoom_core::principal::Scope;

use crate::secret::SecretHash;

/// Every stored type of a grant's stream.
pub const EVENT_TYPES: &[&str] = &[
    "grant.created",
    "grant.scopes_extended",
    "grant.code_issued",
    "grant.code_redeemed",
    "grant.refresh_token_issued",
    "grant.revoked",
];

/// An event of a grant's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum GrantEvent {
    /// A user allowed an app for the first time (or again after a revocation: a new grant).
    #[serde(rename = "grant.created")]
    Created(GrantCreated),
    /// A later consent allowed more scopes.
    #[serde(rename = "grant.scopes_extended")]
    ScopesExtended(GrantScopesExtended),
    /// A consent issued an authorization code.
    #[serde(rename = "grant.code_issued")]
    CodeIssued(GrantCodeIssued),
    /// A code was exchanged for tokens (it works once).
    #[serde(rename = "grant.code_redeemed")]
    CodeRedeemed(GrantCodeRedeemed),
    /// A refresh token was issued: the first of a family (a code redemption) or a rotation,
    /// which retired the family's previous token.
    #[serde(rename = "grant.refresh_token_issued")]
    RefreshTokenIssued(GrantRefreshTokenIssued),
    /// The grant was revoked: its codes and refresh tokens stopped.
    #[serde(rename = "grant.revoked")]
    Revoked(GrantRevoked),
}

impl GrantEvent {
    /// When it happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            GrantEvent::Created(e) => e.created_at,
            GrantEvent::ScopesExtended(e) => e.at,
            GrantEvent::CodeIssued(e) => e.at,
            GrantEvent::CodeRedeemed(e) => e.at,
            GrantEvent::RefreshTokenIssued(e) => e.at,
            GrantEvent::Revoked(e) => e.at,
        }
    }
}

/// Why a grant was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// The user it belongs to revoked it.
    User,
    /// An admin of the account (or the platform) revoked it.
    Admin,
    /// One of its codes was used a second time.
    CodeReused,
    /// A rotated refresh token of it was used again.
    RefreshTokenReused,
    /// The client revoked one of its refresh tokens (RFC 7009).
    TokenRevoked,
    /// Its user was deactivated.
    UserDeactivated,
    /// Its app was disabled.
    AppDisabled,
}

/// Payload of `grant.created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantCreated {
    /// The grant.
    pub grant_id: Name,
    /// The user's account.
    pub account_id: AccountId,
    /// The user.
    pub user_id: UserId,
    /// The app.
    pub client_id: Name,
    /// The scopes allowed, sorted.
    pub scopes: Vec<Scope>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Payload of `grant.scopes_extended`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantScopesExtended {
    /// The grant.
    pub grant_id: Name,
    /// All its scopes now, sorted.
    pub scopes: Vec<Scope>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `grant.code_issued`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantCodeIssued {
    /// The grant.
    pub grant_id: Name,
    /// The code's number in the grant.
    pub code: u64,
    /// SHA-256 of the code's secret part, hex; the code itself is never stored.
    pub code_sha256: SecretHash,
    /// The client it is bound to.
    pub client_id: Name,
    /// The redirect URI it is bound to.
    pub redirect_uri: String,
    /// The PKCE `S256` challenge.
    pub code_challenge: String,
    /// The scopes asked for.
    pub scopes: Vec<Scope>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `grant.code_redeemed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantCodeRedeemed {
    /// The grant.
    pub grant_id: Name,
    /// The code's number.
    pub code: u64,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `grant.refresh_token_issued`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRefreshTokenIssued {
    /// The grant.
    pub grant_id: Name,
    /// The family's number in the grant.
    pub family: u64,
    /// The token's generation in the family (1 for the first).
    pub generation: u64,
    /// SHA-256 of the token's secret part, hex; the token itself is never stored.
    pub refresh_sha256: SecretHash,
    /// The client it belongs to.
    pub client_id: Name,
    /// The family's scopes.
    pub scopes: Vec<Scope>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `grant.revoked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRevoked {
    /// The grant.
    pub grant_id: Name,
    /// Why.
    pub reason: RevokeReason,
    /// When.
    pub at: DateTime<Utc>,
}
