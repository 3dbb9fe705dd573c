//! Users of an account. No answer carries a password or its hash.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zoom_auth::user::{Role, User, UserStatus};

use super::instant;

/// What a user's tokens may do in the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = UserRole)]
pub enum UserRoleView {
    /// Acts for the whole account, and may make or unmake owners.
    Owner,
    /// Acts for the whole account like an app.
    Admin,
    /// Hosts and manages their own meetings.
    Member,
}

impl From<Role> for UserRoleView {
    fn from(r: Role) -> Self {
        match r {
            Role::Owner => Self::Owner,
            Role::Admin => Self::Admin,
            Role::Member => Self::Member,
        }
    }
}

impl From<UserRoleView> for Role {
    fn from(r: UserRoleView) -> Self {
        match r {
            UserRoleView::Owner => Self::Owner,
            UserRoleView::Admin => Self::Admin,
            UserRoleView::Member => Self::Member,
        }
    }
}

/// Whether a user may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = UserStatus)]
pub enum UserStatusView {
    /// May log in.
    Active,
    /// Cannot log in; their meetings are kept.
    Deactivated,
}

impl From<UserStatus> for UserStatusView {
    fn from(s: UserStatus) -> Self {
        match s {
            UserStatus::Active => Self::Active,
            UserStatus::Deactivated => Self::Deactivated,
        }
    }
}

impl From<UserStatusView> for UserStatus {
    fn from(s: UserStatusView) -> Self {
        match s {
            UserStatusView::Active => Self::Active,
            UserStatusView::Deactivated => Self::Deactivated,
        }
    }
}

/// `POST /v1/users`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// The login name, unique in the whole server (compared in lower case).
    pub email: String,
    /// A human-readable name, 1 to 200 characters.
    pub display_name: String,
    /// The id (`alice`, as `host_id`s are); generated (`usr_…`) when absent.
    pub id: Option<String>,
    /// `member` when absent; only an owner or an app makes an owner.
    pub role: Option<UserRoleView>,
    /// 1 to 256 characters, hashed with Argon2id and never returned; without one the user cannot
    /// log in (an app acts for them).
    pub password: Option<String>,
}

/// `PATCH /v1/users/{id}`: the members sent change, the others stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchInput {
    /// A new name.
    pub display_name: Option<String>,
    /// A new role; the last active owner keeps theirs.
    pub role: Option<UserRoleView>,
    /// A new password.
    pub password: Option<String>,
    /// `deactivated` as `DELETE` does; `active` lets them log in again.
    pub status: Option<UserStatusView>,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = User)]
pub struct UserView {
    /// Given, or `usr_…`.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// The login name, in lower case.
    pub email: String,
    /// A human-readable name.
    pub display_name: String,
    /// `owner`, `admin` or `member`.
    pub role: UserRoleView,
    /// `active` or `deactivated`.
    pub status: UserStatusView,
    /// Whether they have a password (one without cannot log in).
    pub has_password: bool,
    /// When they were created (RFC 3339).
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.as_str().to_owned(),
            account_id: u.account_id.as_str().to_owned(),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            role: u.role.into(),
            status: u.status.into(),
            has_password: u.has_password,
            created_at: u.created_at,
        }
    }
}

/// A page of users, in creation order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserList {
    /// The users.
    pub users: Vec<UserView>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}
