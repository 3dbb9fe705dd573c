//! The folded users of an account.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zoom_core::id::{AccountId, UserId};

use crate::password::PasswordHash;

/// What a user's tokens may do in the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Acts for the whole account, and may make or unmake owners.
    Owner,
    /// Acts for the whole account like an app.
    Admin,
    /// Hosts and manages their own meetings.
    Member,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [Role::Owner, Role::Admin, Role::Member]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Whether a user may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    /// May log in.
    Active,
    /// Cannot log in; their grants are revoked, their meetings kept.
    Deactivated,
}

impl UserStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Deactivated => "deactivated",
        }
    }
}

/// A user, as every reader may see it: no password, not even its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Given (`alice`) or generated (`usr_…`); unique in the account.
    pub id: UserId,
    /// The account.
    pub account_id: AccountId,
    /// The login name, normalised (see [`super::email::normalize`]); unique in the server.
    pub email: String,
    /// A human-readable name.
    pub display_name: String,
    /// Owner, admin or member.
    pub role: Role,
    /// Active or deactivated.
    pub status: UserStatus,
    /// Whether they have a password (one without cannot log in; an app acts for them).
    pub has_password: bool,
    /// When they were created.
    pub created_at: DateTime<Utc>,
}

/// A user with the hash of their password, as the fold keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserRecord {
    pub(crate) user: User,
    pub(crate) password: Option<PasswordHash>,
}

/// The users of one account, in creation order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDirectory {
    account_id: Option<AccountId>,
    users: Vec<UserRecord>,
    by_id: BTreeMap<UserId, usize>,
}

impl UserDirectory {
    /// The account, once it has a user.
    pub fn account_id(&self) -> Option<&AccountId> {
        self.account_id.as_ref()
    }

    /// The user with this id.
    pub fn get(&self, id: &UserId) -> Option<&User> {
        self.record(id).map(|r| &r.user)
    }

    /// Every user, in creation order.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.iter().map(|r| &r.user)
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// How many active owners there are.
    pub fn active_owners(&self) -> usize {
        self.users()
            .filter(|u| u.role == Role::Owner && u.status == UserStatus::Active)
            .count()
    }

    pub(crate) fn record(&self, id: &UserId) -> Option<&UserRecord> {
        self.by_id.get(id).and_then(|&i| self.users.get(i))
    }

    pub(crate) fn record_mut(&mut self, id: &UserId) -> Option<&mut UserRecord> {
        let i = *self.by_id.get(id)?;
        self.users.get_mut(i)
    }

    pub(crate) fn insert(&mut self, record: UserRecord) {
        if self.account_id.is_none() {
            self.account_id = Some(record.user.account_id.clone());
        }
        match self.by_id.get(&record.user.id) {
            // A second creation of one id replaces it (decide never writes one).
            Some(&i) => {
                if let Some(slot) = self.users.get_mut(i) {
                    *slot = record;
                }
            }
            None => {
                self.by_id.insert(record.user.id.clone(), self.users.len());
                self.users.push(record);
            }
        }
    }
}
