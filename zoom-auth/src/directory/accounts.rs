//! The accounts of a [`Directory`].

use zoom_core::DomainError;
use zoom_core::engine::{EngineError, Page, PageRequest, index_page};
use zoom_core::id::{AccountId, Name};
use zoom_core::principal::{Principal, Scope};
use zoom_core::store::IndexQuery;

use super::{AppInput, AppWithSecret, Directory, not_found, require_any};
use crate::account::{Account, AccountCommand, AccountPatch};
use crate::app::AppKind;

impl Directory {
    /// Creates an account (`POST /v1/accounts`; `platform`, or `None` for the system's
    /// bootstrap). A repeat with the same id and name is a no-op.
    ///
    /// # Errors
    /// `InsufficientScope`, `Conflict` `account_exists`, `Invalid` `name`, a store failure.
    pub async fn create_account(
        &self,
        principal: Option<&Principal>,
        id: Option<&AccountId>,
        name: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Account, EngineError> {
        let command = AccountCommand::Create { name: name.to_owned() };
        let done = self.accounts.execute(id, principal, &command, idempotency_key).await?;
        done.state
            .ok_or_else(|| not_found("account", id.map_or("", Name::as_str)))
    }

    /// Creates an account and its admin app (`POST /v1/accounts`; `platform`): a server app of
    /// the new account holding every scope but `platform`, made by the system as part of the
    /// account (the caller needs no `admin`). Its secret is in the answer, the only time it is
    /// seen. A given id already taken is `account_exists`, whatever the name, so no repeat
    /// makes a second admin app.
    ///
    /// Two creations of one new id racing each other can both pass that check; both then
    /// create an admin app (the account itself is created once).
    ///
    /// # Errors
    /// `InsufficientScope`, `Conflict` `account_exists`, `Invalid` `name`, a store failure.
    pub async fn create_account_with_admin(
        &self,
        principal: &Principal,
        id: Option<&AccountId>,
        name: &str,
    ) -> Result<(Account, AppWithSecret), EngineError> {
        require_any(principal, &[Scope::Platform])?;
        if let Some(id) = id
            && self.find_account(id).await?.is_some()
        {
            return Err(EngineError::Domain(DomainError::Conflict {
                code: "account_exists",
                message: format!("account {id} already exists"),
            }));
        }
        let account = self.create_account(Some(principal), id, name, None).await?;
        let input = AppInput {
            client_id: None,
            account_id: Some(account.id.clone()),
            // The account's name may already take all 200 characters a name may have.
            name: admin_app_name(&account.name),
            kind: AppKind::Server,
            redirect_uris: vec![],
            scopes: Scope::ALL.into_iter().filter(|s| *s != Scope::Platform).collect(),
            published: false,
            public: false,
        };
        let admin = self.create_app(None, input).await?;
        Ok((account, admin))
    }

    /// An account (`GET /v1/accounts/{id}`; `platform`). Another account's is `NotFound` to
    /// a caller without `platform`; one's own needs the scope like any.
    ///
    /// # Errors
    /// `NotFound`, `InsufficientScope`, a store failure.
    pub async fn account(&self, principal: &Principal, id: &AccountId) -> Result<Account, EngineError> {
        if &principal.account_id != id && !principal.has(Scope::Platform) {
            return Err(not_found("account", id.as_str()));
        }
        require_any(principal, &[Scope::Platform])?;
        self.find_account(id)
            .await?
            .ok_or_else(|| not_found("account", id.as_str()))
    }

    /// An account by id, for the server itself (token checks).
    ///
    /// # Errors
    /// A store failure.
    pub async fn find_account(&self, id: &AccountId) -> Result<Option<Account>, EngineError> {
        self.accounts.read(id).await
    }

    /// Every account, in creation order (`GET /v1/accounts`; `platform`).
    ///
    /// # Errors
    /// `InsufficientScope`, `Invalid` page, `InvalidCursor`, a store failure.
    pub async fn accounts(&self, principal: &Principal, page: &PageRequest) -> Result<Page<Account>, EngineError> {
        require_any(principal, &[Scope::Platform])?;
        let query = IndexQuery {
            kind: "account".into(),
            ..IndexQuery::default()
        };
        let rows = index_page(
            self.store.as_ref(),
            "accounts",
            principal.account_id.as_str(),
            &[],
            query,
            page,
        )
        .await?;
        let mut items = Vec::with_capacity(rows.items.len());
        for row in rows.items {
            if let Some(a) = self.accounts.read_stream(&row.stream_id).await? {
                items.push(a);
            }
        }
        Ok(Page {
            items,
            next_cursor: rows.next_cursor,
        })
    }

    /// Changes an account's name or status (`PATCH /v1/accounts/{id}`; `platform`). The
    /// platform account is never disabled: every platform token would stop.
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound`, `Conflict` `platform_account`, `Invalid` `name`, a
    /// store failure.
    pub async fn update_account(
        &self,
        principal: &Principal,
        id: &AccountId,
        patch: AccountPatch,
    ) -> Result<Account, EngineError> {
        require_any(principal, &[Scope::Platform])?;
        if id == &self.config.platform_account && patch.status == Some(crate::account::AccountStatus::Disabled) {
            return Err(EngineError::Domain(DomainError::Conflict {
                code: "platform_account",
                message: "the platform account cannot be disabled".into(),
            }));
        }
        let done = self
            .accounts
            .execute(Some(id), Some(principal), &AccountCommand::Update(patch), None)
            .await?;
        done.state.ok_or_else(|| not_found("account", id.as_str()))
    }
}

/// The name of an account's admin app: the account's name and ` admin`, the account's name
/// shortened (by characters) so that the whole stays within the 200 characters of a name.
fn admin_app_name(account: &str) -> String {
    const SUFFIX: &str = " admin";
    let room = 200 - SUFFIX.chars().count();
    let base: String = account.chars().take(room).collect();
    format!("{}{SUFFIX}", base.trim_end())
}

#[cfg(test)]
mod admin_name_tests {
    use super::admin_app_name;

    #[test]
    fn the_admin_app_name_fits_whatever_the_account_name() {
        assert_eq!(admin_app_name("Acme"), "Acme admin");
        let long = "é".repeat(200);
        let name = admin_app_name(&long);
        assert_eq!(name.chars().count(), 200);
        assert!(name.ends_with(" admin"));
    }
}
