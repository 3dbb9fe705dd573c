//! The folded grant.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zoom_core::id::{AccountId, Name, UserId};
use zoom_core::principal::Scope;

use super::event::RevokeReason;
use crate::secret::SecretHash;

/// How many rotated tokens of a family are remembered, so that their reuse is recognised (and
/// revokes the grant). An older one is refused like any unknown token.
pub const RETIRED_KEPT: usize = 8;

/// Whether a grant's tokens work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantStatus {
    /// They work.
    Active,
    /// They do not, for good: a new consent makes a new grant.
    Revoked,
}

impl GrantStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Active => "active",
            GrantStatus::Revoked => "revoked",
        }
    }
}

/// What a user allowed an app (an authorization, `GET /v1/authorizations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Its id (`grt_…`).
    pub id: Name,
    /// The user's account, where the app acts (not the app's own account, for a published app).
    pub account_id: AccountId,
    /// The user who allowed it.
    pub user_id: UserId,
    /// The app.
    pub client_id: Name,
    /// Every scope the user allowed, sorted.
    pub scopes: Vec<Scope>,
    /// Active or revoked.
    pub status: GrantStatus,
    /// When the user first allowed it.
    pub created_at: DateTime<Utc>,
}

/// An authorization code, as the state keeps it: its hash and what it is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRecord {
    /// SHA-256 of the code's secret part.
    pub hash: SecretHash,
    /// The client it was issued to.
    pub client_id: Name,
    /// The redirect URI of the request, matched exactly at redemption.
    pub redirect_uri: String,
    /// The PKCE `S256` challenge.
    pub code_challenge: String,
    /// The scopes asked for.
    pub scopes: Vec<Scope>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Whether it was redeemed (a second use revokes the grant).
    pub redeemed: bool,
}

/// A refresh-token family: the chain of refresh tokens one code redemption started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Family {
    /// The client it belongs to.
    pub client_id: Name,
    /// The scopes of its tokens.
    pub scopes: Vec<Scope>,
    /// The generation of the current token (1 for the first).
    pub generation: u64,
    /// SHA-256 of the current token's secret part.
    pub hash: SecretHash,
    /// When the current token stops working.
    pub expires_at: DateTime<Utc>,
    /// The last rotated tokens (generation, hash), oldest first, at most [`RETIRED_KEPT`].
    pub retired: Vec<(u64, SecretHash)>,
}

/// A grant with its codes and refresh-token families, as the fold keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantState {
    /// The grant.
    pub grant: Grant,
    /// Codes not yet expired, by number.
    pub codes: BTreeMap<u64, CodeRecord>,
    /// The number of the next code.
    pub next_code: u64,
    /// Families not yet expired, by number.
    pub families: BTreeMap<u64, Family>,
    /// The number of the next family.
    pub next_family: u64,
    /// Why it was revoked, once it is.
    pub revoked_reason: Option<RevokeReason>,
}

impl GrantState {
    /// The grant.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// The family whose current token is generation `generation` of `family` with the secret
    /// part `secret`, checked in constant time; `None` for a rotated, unknown or other token.
    pub fn current_family(&self, family: u64, generation: u64, secret: &str) -> Option<&Family> {
        self.families
            .get(&family)
            .filter(|f| f.generation == generation && f.hash.matches(secret))
    }
}
