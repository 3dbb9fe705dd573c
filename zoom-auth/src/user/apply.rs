//! The fold of an account's users: no rules, total, never panics. An event naming a user the
//! directory does not hold changes nothing.

use super::event::UserEvent;
use super::state::{User, UserDirectory, UserRecord, UserStatus};

/// Folds one event into the directory.
pub fn apply(state: &mut UserDirectory, event: &UserEvent) {
    match event {
        UserEvent::Created(e) => state.insert(UserRecord {
            user: User {
                id: e.user_id.clone(),
                account_id: e.account_id.clone(),
                email: e.email.clone(),
                display_name: e.display_name.clone(),
                role: e.role,
                status: UserStatus::Active,
                has_password: e.password_hash.is_some(),
                created_at: e.created_at,
            },
            password: e.password_hash.clone(),
        }),
        UserEvent::Updated(e) => {
            if let Some(r) = state.record_mut(&e.user_id) {
                if let Some(name) = &e.display_name {
                    r.user.display_name = name.clone();
                }
                if let Some(role) = e.role {
                    r.user.role = role;
                }
            }
        }
        UserEvent::PasswordChanged(e) => {
            if let Some(r) = state.record_mut(&e.user_id) {
                r.password = Some(e.password_hash.clone());
                r.user.has_password = true;
            }
        }
        UserEvent::Deactivated(e) => {
            if let Some(r) = state.record_mut(&e.user_id) {
                r.user.status = UserStatus::Deactivated;
            }
        }
        UserEvent::Reactivated(e) => {
            if let Some(r) = state.record_mut(&e.user_id) {
                r.user.status = UserStatus::Active;
            }
        }
    }
}
