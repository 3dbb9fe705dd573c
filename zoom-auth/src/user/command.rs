//! The commands of an account's users.

use serde::Serialize;
use zoom_core::id::UserId;

use super::state::{Role, UserStatus};
use crate::password::PasswordHash;

/// A command on an account's user directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum UserCommand {
    /// Creates a user (`POST /v1/users`). The email must already be claimed for them.
    Create(NewUser),
    /// Changes a user (`PATCH /v1/users/{id}`).
    Update {
        /// Whom.
        user_id: UserId,
        /// What.
        patch: UserPatch,
    },
    /// Deactivates a user (`DELETE /v1/users/{id}`); a no-op when already deactivated.
    Deactivate {
        /// Whom.
        user_id: UserId,
    },
}

/// A new user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewUser {
    /// Their id in the account.
    pub user_id: UserId,
    /// Their email, normalised ([`super::email::normalize`]).
    pub email: String,
    /// A human-readable name, 1 to 200 characters.
    pub display_name: String,
    /// Their role.
    pub role: Role,
    /// Their password's hash, if they have one. Never part of an idempotency fingerprint.
    #[serde(skip)]
    pub password: Option<PasswordHash>,
}

/// The changes of an update; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserPatch {
    /// A new name.
    pub display_name: Option<String>,
    /// A new role.
    pub role: Option<Role>,
    /// A new status.
    pub status: Option<UserStatus>,
    /// A new password's hash. Never part of an idempotency fingerprint.
    #[serde(skip)]
    pub password: Option<PasswordHash>,
}
