//! The rules of an app. The `admin` scope is the runner's check; here the
//! account, the kind, the redirect URIs, the scopes and the secret.

use zoom_core::DomainError;
use zoom_core::aggregate::Context;
use zoom_core::id::{AccountId, Name};
use zoom_core::principal::{Principal, PrincipalKind, Scope};

use super::command::{AppCommand, AppPatch, NewApp};
use super::event::{AppCreated, AppDisabled, AppEvent, AppSecretRotated, AppUpdated};
use super::redirect;
use super::state::{AppKind, AppState, AppStatus};
use crate::ids::{display_text, invalid};

/// Decides what `command` does to the app `ctx.id`; `platform` is the platform account's id.
///
/// # Errors
/// `NotFound` for an app of another account or none, `Conflict` `app_exists`,
/// `public_client`, `app_disabled` or `cannot_disable_self`, `Invalid` `name`, `redirect_uris`, `scopes`, `public`.
pub fn decide(
    state: Option<&AppState>,
    command: &AppCommand,
    ctx: &Context<'_, Name>,
    platform: &AccountId,
) -> Result<Vec<AppEvent>, DomainError> {
    let not_found = || DomainError::NotFound {
        resource: "app",
        id: ctx.id.to_string(),
    };
    // Another account's app is invisible, whoever asks, unless the caller is the platform.
    let sees = |account: &AccountId| {
        ctx.principal
            .is_none_or(|p| &p.account_id == account || p.has(Scope::Platform))
    };
    match (command, state) {
        (AppCommand::Register(new), state) => {
            let account = state.map_or(&new.account_id, |s| &s.app.account_id);
            if !sees(account) || !sees(&new.account_id) {
                return Err(not_found());
            }
            register(state, new, ctx, platform)
        }
        (AppCommand::Create(new), None) => {
            if !sees(&new.account_id) {
                return Err(not_found());
            }
            create(new, ctx, platform)
        }
        (AppCommand::Create(_), Some(s)) if sees(&s.app.account_id) => Err(DomainError::Conflict {
            code: "app_exists",
            message: format!("app {} already exists", ctx.id),
        }),
        (_, Some(s)) if !sees(&s.app.account_id) => Err(not_found()),
        (AppCommand::Create(_), Some(_)) | (_, None) => Err(not_found()),
        (AppCommand::Update(patch), Some(s)) => update(s, patch, ctx, platform),
        (AppCommand::RotateSecret { secret }, Some(s)) => {
            if s.app.public {
                return Err(DomainError::Conflict {
                    code: "public_client",
                    message: "a public app has no client secret".into(),
                });
            }
            if s.app.status == AppStatus::Disabled {
                return Err(DomainError::Conflict {
                    code: "app_disabled",
                    message: "a disabled app gets no new secret".into(),
                });
            }
            let secret = secret.clone().ok_or_else(|| invalid("client_secret", "is required"))?;
            Ok(vec![AppEvent::SecretRotated(AppSecretRotated {
                client_id: ctx.id.clone(),
                secret_sha256: secret,
                at: ctx.now,
            })])
        }
        // The app a caller acts with cannot disable itself: its own token would stop with the
        // answer (another admin app of the account, or the platform, may disable it).
        (AppCommand::Disable, Some(_))
            if ctx
                .principal
                .is_some_and(|p| p.kind == PrincipalKind::App && p.subject == *ctx.id) =>
        {
            Err(DomainError::Conflict {
                code: "cannot_disable_self",
                message: "an app cannot disable itself; disable it with another admin app".into(),
            })
        }
        (AppCommand::Disable, Some(s)) => Ok(if s.app.status == AppStatus::Disabled {
            vec![]
        } else {
            vec![AppEvent::Disabled(AppDisabled {
                client_id: ctx.id.clone(),
                at: ctx.now,
            })]
        }),
    }
}

/// Sorted, without repeats; `platform` only for the platform account's apps.
fn check_scopes(scopes: &[Scope], account: &AccountId, platform: &AccountId) -> Result<Vec<Scope>, DomainError> {
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    if scopes.contains(&Scope::Platform) && account != platform {
        return Err(invalid(
            "scopes",
            "only apps of the platform account may hold `platform`",
        ));
    }
    Ok(scopes)
}

fn check_redirects(kind: AppKind, uris: &[String]) -> Result<(), DomainError> {
    redirect::check_all(uris)?;
    if kind == AppKind::User && uris.is_empty() {
        return Err(invalid("redirect_uris", "a user app needs at least one"));
    }
    Ok(())
}

fn create(new: &NewApp, ctx: &Context<'_, Name>, platform: &AccountId) -> Result<Vec<AppEvent>, DomainError> {
    let name = display_text("name", &new.name)?;
    check_redirects(new.kind, &new.redirect_uris)?;
    let scopes = check_scopes(&new.scopes, &new.account_id, platform)?;
    if new.public && new.kind == AppKind::Server {
        return Err(invalid("public", "a server app must be confidential"));
    }
    if new.public == new.secret.is_some() {
        return Err(invalid(
            "client_secret",
            "a confidential app has one, a public app none",
        ));
    }
    Ok(vec![AppEvent::Created(AppCreated {
        client_id: ctx.id.clone(),
        account_id: new.account_id.clone(),
        name,
        kind: new.kind,
        redirect_uris: new.redirect_uris.clone(),
        scopes,
        published: new.published,
        public: new.public,
        secret_sha256: new.secret.clone(),
        created_at: ctx.now,
    })])
}

/// Creates the app, or changes what differs: its name and scopes (`app.updated`) and its secret
/// (`app.secret_rotated`). An app registered again for another account is replaced whole.
fn register(
    state: Option<&AppState>,
    new: &NewApp,
    ctx: &Context<'_, Name>,
    platform: &AccountId,
) -> Result<Vec<AppEvent>, DomainError> {
    let Some(s) = state.filter(|s| s.app.account_id == new.account_id) else {
        return create(new, ctx, platform);
    };
    let scopes = check_scopes(&new.scopes, &new.account_id, platform)?;
    let mut held = s.app.scopes.clone();
    held.sort();
    held.dedup();
    if s.secret == new.secret && held == scopes {
        return Ok(vec![]);
    }
    let mut events = update(
        s,
        &AppPatch {
            name: Some(new.name.clone()),
            scopes: Some(scopes),
            ..AppPatch::default()
        },
        ctx,
        platform,
    )?;
    if s.secret != new.secret
        && let Some(secret) = &new.secret
    {
        events.push(AppEvent::SecretRotated(AppSecretRotated {
            client_id: ctx.id.clone(),
            secret_sha256: secret.clone(),
            at: ctx.now,
        }));
    }
    Ok(events)
}

fn update(
    s: &AppState,
    patch: &AppPatch,
    ctx: &Context<'_, Name>,
    platform: &AccountId,
) -> Result<Vec<AppEvent>, DomainError> {
    let app = &s.app;
    let name = match &patch.name {
        Some(n) => Some(display_text("name", n)?).filter(|n| n != &app.name),
        None => None,
    };
    let redirect_uris = match &patch.redirect_uris {
        Some(uris) => {
            check_redirects(app.kind, uris)?;
            Some(uris.clone()).filter(|u| u != &app.redirect_uris)
        }
        None => None,
    };
    let scopes = match &patch.scopes {
        Some(scopes) => Some(check_scopes(scopes, &app.account_id, platform)?).filter(|s| s != &app.scopes),
        None => None,
    };
    let published = patch.published.filter(|p| *p != app.published);
    if name.is_none() && redirect_uris.is_none() && scopes.is_none() && published.is_none() {
        return Ok(vec![]);
    }
    Ok(vec![AppEvent::Updated(AppUpdated {
        client_id: ctx.id.clone(),
        name,
        redirect_uris,
        scopes,
        published,
        at: ctx.now,
    })])
}

/// Whether `principal` may see apps of `account` (its own, or any for the platform).
pub fn visible_to(principal: &Principal, account: &AccountId) -> bool {
    &principal.account_id == account || principal.has(Scope::Platform)
}
