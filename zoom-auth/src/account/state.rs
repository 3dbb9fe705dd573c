//! The folded account.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zoom_core::id::AccountId;

/// Whether an account's tokens work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    /// Its tokens work.
    Active,
    /// Every token of it is rejected and its webhooks pause; nothing is deleted.
    Disabled,
}

impl AccountStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
        }
    }
}

/// An account: the unit of isolation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Given or generated (`acc_…`).
    pub id: AccountId,
    /// A human-readable name.
    pub name: String,
    /// Active or disabled.
    pub status: AccountStatus,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}
