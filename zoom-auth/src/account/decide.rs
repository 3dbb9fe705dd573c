//! The rules of an account. Scopes (`platform`) are the runner's check; here only the state.

use zoom_core::DomainError;
use zoom_core::aggregate::Context;
use zoom_core::id::AccountId;

use super::command::AccountCommand;
use super::event::{AccountCreated, AccountEvent, AccountRenamed, AccountStatusChanged};
use super::state::{Account, AccountStatus};
use crate::ids::display_text;

/// Decides what `command` does to the account.
///
/// # Errors
/// `Conflict` `account_exists` for a second creation, `NotFound` for a change of a missing
/// account, `Invalid` `name`.
pub fn decide(
    state: Option<&Account>,
    command: &AccountCommand,
    ctx: &Context<'_, AccountId>,
) -> Result<Vec<AccountEvent>, DomainError> {
    match (command, state) {
        (AccountCommand::Create { name }, None) => Ok(vec![AccountEvent::Created(AccountCreated {
            account_id: ctx.id.clone(),
            name: display_text("name", name)?,
            created_at: ctx.now,
        })]),
        (AccountCommand::Create { name }, Some(account)) => {
            // A repeated creation of the same account is a no-op, so a retried bootstrap is safe.
            if display_text("name", name)? == account.name {
                Ok(vec![])
            } else {
                Err(DomainError::Conflict {
                    code: "account_exists",
                    message: format!("account {} already exists", account.id),
                })
            }
        }
        (AccountCommand::Update(_), None) => Err(DomainError::NotFound {
            resource: "account",
            id: ctx.id.to_string(),
        }),
        (AccountCommand::Update(patch), Some(account)) => {
            let mut events = Vec::new();
            if let Some(name) = &patch.name {
                let name = display_text("name", name)?;
                if name != account.name {
                    events.push(AccountEvent::Renamed(AccountRenamed {
                        account_id: account.id.clone(),
                        name,
                        at: ctx.now,
                    }));
                }
            }
            let changed = AccountStatusChanged {
                account_id: account.id.clone(),
                at: ctx.now,
            };
            match (patch.status, account.status) {
                (Some(AccountStatus::Disabled), AccountStatus::Active) => events.push(AccountEvent::Disabled(changed)),
                (Some(AccountStatus::Active), AccountStatus::Disabled) => events.push(AccountEvent::Enabled(changed)),
                _ => {}
            }
            Ok(events)
        }
    }
}
