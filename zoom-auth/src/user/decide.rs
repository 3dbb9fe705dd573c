//! The rules of an account's users: unique ids in the account, only an
//! owner (or an app holding `admin`) makes or unmakes an owner, and the last active owner is
//! never demoted or deactivated. The `admin` scope itself is the runner's check.

use zoom_core::DomainError;
use zoom_core::aggregate::Context;
use zoom_core::id::{AccountId, UserId};
use zoom_core::principal::{Principal, PrincipalKind};

use super::command::{NewUser, UserCommand, UserPatch};
use super::email::normalize;
use super::event::{UserCreated, UserEvent, UserPasswordChanged, UserStatusChanged, UserUpdated};
use super::state::{Role, User, UserDirectory, UserStatus};
use crate::ids::display_text;

/// Decides what `command` does to the users of the account `ctx.id`.
///
/// # Errors
/// `NotFound` for a user of another account or none, `Conflict` `user_exists` or `last_owner`,
/// `Forbidden` `owner_required`, `Invalid` `email` or `display_name`.
pub fn decide(
    state: &UserDirectory,
    command: &UserCommand,
    ctx: &Context<'_, AccountId>,
) -> Result<Vec<UserEvent>, DomainError> {
    if let Some(p) = ctx.principal
        && &p.account_id != ctx.id
    {
        return Err(not_found(command_user(command)));
    }
    match command {
        UserCommand::Create(new) => create(state, new, ctx),
        UserCommand::Update { user_id, patch } => update(state, user_id, patch, ctx),
        UserCommand::Deactivate { user_id } => update(
            state,
            user_id,
            &UserPatch {
                status: Some(UserStatus::Deactivated),
                ..UserPatch::default()
            },
            ctx,
        ),
    }
}

fn command_user(command: &UserCommand) -> &UserId {
    match command {
        UserCommand::Create(new) => &new.user_id,
        UserCommand::Update { user_id, .. } | UserCommand::Deactivate { user_id } => user_id,
    }
}

fn not_found(id: &UserId) -> DomainError {
    DomainError::NotFound {
        resource: "user",
        id: id.to_string(),
    }
}

fn create(state: &UserDirectory, new: &NewUser, ctx: &Context<'_, AccountId>) -> Result<Vec<UserEvent>, DomainError> {
    if state.get(&new.user_id).is_some() {
        return Err(DomainError::Conflict {
            code: "user_exists",
            message: format!("user {} already exists in this account", new.user_id),
        });
    }
    if new.role == Role::Owner {
        may_manage_owners(state, ctx.principal)?;
    }
    Ok(vec![UserEvent::Created(UserCreated {
        account_id: ctx.id.clone(),
        user_id: new.user_id.clone(),
        email: normalize(&new.email)?,
        display_name: display_text("display_name", &new.display_name)?,
        role: new.role,
        password_hash: new.password.clone(),
        created_at: ctx.now,
    })])
}

fn update(
    state: &UserDirectory,
    user_id: &UserId,
    patch: &UserPatch,
    ctx: &Context<'_, AccountId>,
) -> Result<Vec<UserEvent>, DomainError> {
    let user = state.get(user_id).ok_or_else(|| not_found(user_id))?;
    let display_name = match &patch.display_name {
        Some(name) => Some(display_text("display_name", name)?).filter(|n| n != &user.display_name),
        None => None,
    };
    let role = patch.role.filter(|r| *r != user.role);
    let status = patch.status.filter(|s| *s != user.status);
    let touches_owner = role.is_some_and(|r| r == Role::Owner)
        || (user.role == Role::Owner && (role.is_some() || status == Some(UserStatus::Deactivated)));
    if touches_owner {
        may_manage_owners(state, ctx.principal)?;
    }
    let loses_owner = user.role == Role::Owner
        && user.status == UserStatus::Active
        && (role.is_some() || status == Some(UserStatus::Deactivated));
    if loses_owner && state.active_owners() <= 1 {
        return Err(DomainError::Conflict {
            code: "last_owner",
            message: "the last owner of an account cannot be demoted or deactivated".into(),
        });
    }
    let mut events = Vec::new();
    if display_name.is_some() || role.is_some() {
        events.push(UserEvent::Updated(UserUpdated {
            account_id: ctx.id.clone(),
            user_id: user_id.clone(),
            display_name,
            role,
            at: ctx.now,
        }));
    }
    if let Some(hash) = &patch.password {
        events.push(UserEvent::PasswordChanged(UserPasswordChanged {
            account_id: ctx.id.clone(),
            user_id: user_id.clone(),
            password_hash: hash.clone(),
            at: ctx.now,
        }));
    }
    let changed = UserStatusChanged {
        account_id: ctx.id.clone(),
        user_id: user_id.clone(),
        at: ctx.now,
    };
    match status {
        Some(UserStatus::Deactivated) => events.push(UserEvent::Deactivated(changed)),
        Some(UserStatus::Active) => events.push(UserEvent::Reactivated(changed)),
        None => {}
    }
    Ok(events)
}

/// Only the system, an app (the runner checked its `admin`), or an active owner of the account
/// may make or unmake an owner.
fn may_manage_owners(state: &UserDirectory, principal: Option<&Principal>) -> Result<(), DomainError> {
    let allowed = match principal {
        None => true,
        Some(p) if p.kind == PrincipalKind::App => true,
        Some(p) => state
            .get(&p.subject)
            .is_some_and(|u: &User| u.role == Role::Owner && u.status == UserStatus::Active),
    };
    if allowed {
        Ok(())
    } else {
        Err(DomainError::Forbidden {
            code: "owner_required",
            message: "only an owner or an admin app may make or unmake an owner".into(),
        })
    }
}
