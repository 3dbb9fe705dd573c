//! The commands of an account.

use serde::Serialize;

use super::state::AccountStatus;

/// A command on an account's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AccountCommand {
    /// Creates the account (the stream's id is its id).
    Create {
        /// A human-readable name, 1 to 200 characters.
        name: String,
    },
    /// Changes its name or status (`PATCH /v1/accounts/{id}`).
    Update(AccountPatch),
}

/// The changes of an update; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccountPatch {
    /// A new name.
    pub name: Option<String>,
    /// A new status.
    pub status: Option<AccountStatus>,
}
