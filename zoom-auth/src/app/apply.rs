//! The fold of an app: no rules, total, never panics. An event before the creation changes
//! nothing.

use super::event::AppEvent;
use super::state::{App, AppKind, AppState, AppStatus};
use crate::secret::SecretHash;

/// Folds one event into the app.
pub fn apply(state: &mut Option<AppState>, event: &AppEvent) {
    match event {
        AppEvent::Registered(e) => {
            // Each registration replaced the last one whole: the server re-registered its
            // bootstrap app with a new secret or scopes this way.
            *state = Some(AppState {
                app: App {
                    client_id: e.client_id.clone(),
                    account_id: e.account_id.clone(),
                    name: e.name.clone(),
                    kind: AppKind::Server,
                    redirect_uris: vec![],
                    scopes: e.scopes.clone(),
                    published: false,
                    public: false,
                    status: AppStatus::Active,
                    created_at: state.as_ref().map_or(e.registered_at, |s| s.app.created_at),
                },
                secret: Some(SecretHash::from_stored(e.secret_sha256.clone())),
            });
        }
        AppEvent::Created(e) => {
            *state = Some(AppState {
                app: App {
                    client_id: e.client_id.clone(),
                    account_id: e.account_id.clone(),
                    name: e.name.clone(),
                    kind: e.kind,
                    redirect_uris: e.redirect_uris.clone(),
                    scopes: e.scopes.clone(),
                    published: e.published,
                    public: e.public,
                    status: AppStatus::Active,
                    created_at: e.created_at,
                },
                secret: e.secret_sha256.clone(),
            });
        }
        AppEvent::Updated(e) => {
            if let Some(s) = state {
                if let Some(name) = &e.name {
                    s.app.name = name.clone();
                }
                if let Some(uris) = &e.redirect_uris {
                    s.app.redirect_uris = uris.clone();
                }
                if let Some(scopes) = &e.scopes {
                    s.app.scopes = scopes.clone();
                }
                if let Some(published) = e.published {
                    s.app.published = published;
                }
            }
        }
        AppEvent::SecretRotated(e) => {
            if let Some(s) = state {
                s.secret = Some(e.secret_sha256.clone());
            }
        }
        AppEvent::Disabled(_) => {
            if let Some(s) = state {
                s.app.status = AppStatus::Disabled;
            }
        }
    }
}
