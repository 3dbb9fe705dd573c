//! The events of an account's users, past tense.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zoom_core::id::{AccountId, UserId};

use super::state::Role;
use crate::password::PasswordHash;

/// Every stored type of a user directory's stream.
pub const EVENT_TYPES: &[&str] = &[
    "user.created",
    "user.updated",
    "user.password_changed",
    "user.deactivated",
    "user.reactivated",
];

/// An event of an account's user directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum UserEvent {
    /// A user was created, active.
    #[serde(rename = "user.created")]
    Created(UserCreated),
    /// A user's name or role changed.
    #[serde(rename = "user.updated")]
    Updated(UserUpdated),
    /// A user's password was set or changed.
    #[serde(rename = "user.password_changed")]
    PasswordChanged(UserPasswordChanged),
    /// A user was deactivated: they cannot log in.
    #[serde(rename = "user.deactivated")]
    Deactivated(UserStatusChanged),
    /// A deactivated user was made active again.
    #[serde(rename = "user.reactivated")]
    Reactivated(UserStatusChanged),
}

/// Payload of `user.created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCreated {
    /// The account.
    pub account_id: AccountId,
    /// The user.
    pub user_id: UserId,
    /// The normalised email.
    pub email: String,
    /// The display name.
    pub display_name: String,
    /// The role.
    pub role: Role,
    /// The Argon2id hash of their password (PHC string), if they have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<PasswordHash>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Payload of `user.updated`: the fields that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserUpdated {
    /// The account.
    pub account_id: AccountId,
    /// The user.
    pub user_id: UserId,
    /// A new display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// A new role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `user.password_changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPasswordChanged {
    /// The account.
    pub account_id: AccountId,
    /// The user.
    pub user_id: UserId,
    /// The new hash (PHC string).
    pub password_hash: PasswordHash,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `user.deactivated` and `user.reactivated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserStatusChanged {
    /// The account.
    pub account_id: AccountId,
    /// The user.
    pub user_id: UserId,
    /// When.
    pub at: DateTime<Utc>,
}
