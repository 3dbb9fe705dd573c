//! The fold of an account: no rules, total, never panics.

use super::event::AccountEvent;
use super::state::{Account, AccountStatus};

/// Folds one event into the account. An event before the creation changes nothing.
pub fn apply(state: &mut Option<Account>, event: &AccountEvent) {
    match event {
        AccountEvent::Created(e) => {
            *state = Some(Account {
                id: e.account_id.clone(),
                name: e.name.clone(),
                status: AccountStatus::Active,
                created_at: e.created_at,
            });
        }
        AccountEvent::Renamed(e) => {
            if let Some(a) = state {
                a.name = e.name.clone();
            }
        }
        AccountEvent::Disabled(_) => {
            if let Some(a) = state {
                a.status = AccountStatus::Disabled;
            }
        }
        AccountEvent::Enabled(_) => {
            if let Some(a) = state {
                a.status = AccountStatus::Active;
            }
        }
    }
}
