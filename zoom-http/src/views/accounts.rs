//! Accounts: the platform's view of its tenants.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zoom_auth::account::{Account, AccountStatus};

use super::instant;

/// Whether an account's tokens work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AccountStatus)]
pub enum AccountStatusView {
    /// Its tokens work.
    Active,
    /// Every token of it is refused (401) and its apps get no new token; nothing is deleted.
    Disabled,
}

impl From<AccountStatus> for AccountStatusView {
    fn from(s: AccountStatus) -> Self {
        match s {
            AccountStatus::Active => Self::Active,
            AccountStatus::Disabled => Self::Disabled,
        }
    }
}

impl From<AccountStatusView> for AccountStatus {
    fn from(s: AccountStatusView) -> Self {
        match s {
            AccountStatusView::Active => Self::Active,
            AccountStatusView::Disabled => Self::Disabled,
        }
    }
}

/// `POST /v1/accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// A human-readable name, 1 to 200 characters.
    pub name: String,
    /// The id; generated (`acc_…`) when absent.
    pub id: Option<String>,
}

/// `PATCH /v1/accounts/{id}`: the members sent change, the others stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatchInput {
    /// A new name.
    pub name: Option<String>,
    /// `disabled` refuses every token of the account at once; `active` lets them work again.
    pub status: Option<AccountStatusView>,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Account)]
pub struct AccountView {
    /// Given, or `acc_…`.
    pub id: String,
    /// A human-readable name.
    pub name: String,
    /// Active or disabled.
    pub status: AccountStatusView,
    /// When it was created (RFC 3339).
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.as_str().to_owned(),
            name: a.name.clone(),
            status: a.status.into(),
            created_at: a.created_at,
        }
    }
}

/// The new account's admin app: a server app holding every scope but `platform`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminAppView {
    /// Its client id (`app_…`).
    pub client_id: String,
    /// Its client secret (`zsec_…`), shown this once.
    pub client_secret: String,
    /// Its scopes.
    pub scopes: Vec<String>,
}

/// The answer of `POST /v1/accounts`: the account and the credentials of its admin app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountCreated {
    /// Given, or `acc_…`.
    pub id: String,
    /// A human-readable name.
    pub name: String,
    /// `active`.
    pub status: AccountStatusView,
    /// When it was created (RFC 3339).
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
    /// The app that administers the account.
    pub admin_app: AdminAppView,
}

/// A page of accounts, in creation order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountList {
    /// The accounts.
    pub accounts: Vec<AccountView>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}
