//! The events of an account, past tense.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zoom_core::id::AccountId;

/// Every stored type of an account's stream.
pub const EVENT_TYPES: &[&str] = &[
    "account.created",
    "account.renamed",
    "account.disabled",
    "account.enabled",
];

/// An event of an account's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum AccountEvent {
    /// The account was created, active.
    #[serde(rename = "account.created")]
    Created(AccountCreated),
    /// Its name changed.
    #[serde(rename = "account.renamed")]
    Renamed(AccountRenamed),
    /// It was disabled: its tokens stop working.
    #[serde(rename = "account.disabled")]
    Disabled(AccountStatusChanged),
    /// It was enabled again.
    #[serde(rename = "account.enabled")]
    Enabled(AccountStatusChanged),
}

/// Payload of `account.created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCreated {
    /// The account.
    pub account_id: AccountId,
    /// Its name.
    pub name: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Payload of `account.renamed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRenamed {
    /// The account.
    pub account_id: AccountId,
    /// The new name.
    pub name: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `account.disabled` and `account.enabled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountStatusChanged {
    /// The account.
    pub account_id: AccountId,
    /// When.
    pub at: DateTime<Utc>,
}
