//! Users of the caller's account (`admin`; reads also with `user.read`). The work is
//! [`zoom_auth::Directory`]'s; a user id names a user of the caller's account only, so another
//! account's user is 404.
//!
//! A change that carries a password runs off the async executor: the directory hashes it with
//! Argon2id inside the call (tens of milliseconds of CPU on purpose), so the whole call runs on
//! a blocking thread ([`off_executor`]) rather than stall the requests sharing a worker.
//! `GET /v1/users/me` is the caller of a user token, whatever its scopes.

use std::future::Future;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use zoom_auth::user::UserStatus;
use zoom_auth::{UserChanges, UserInput as NewUser};
use zoom_core::engine::PageRequest;
use zoom_core::id::UserId;

use super::reply;
use crate::api::Api;
use crate::extract::{Caller, Json, NoQuery, PAGE_PARAMS, Params, Query, QueryParams, UserPath};
use crate::problem::{Problem, ProblemDocument};
use crate::views::{UserInput, UserList, UserPatchInput, UserStatusView, UserView};

/// Runs `work` on a blocking thread, driven by the current runtime's handle, and waits for it
/// there: for calls that hash a password.
async fn off_executor<T, F>(work: F) -> Result<T, Problem>
where
    F: Future<Output = Result<T, Problem>> + Send + 'static,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(work))
        .await
        .map_err(|e| Problem::internal(&e))?
}

/// The longest password accepted, in characters: 256 characters of UTF-8 are at most 1024
/// bytes, the directory's limit, so the document can state the rule exactly.
pub(crate) const MAX_PASSWORD_CHARS: usize = 256;

/// A password of 1 to [`MAX_PASSWORD_CHARS`] characters, else 400 `invalid_field` `password`.
fn check_password(password: Option<&str>) -> Result<(), Problem> {
    match password {
        Some(p) if p.is_empty() || p.chars().count() > MAX_PASSWORD_CHARS => Err(Problem::invalid_field(
            "password",
            format!("a password is 1 to {MAX_PASSWORD_CHARS} characters"),
        )),
        _ => Ok(()),
    }
}

/// An email as the document states it: 3 to 254 visible ASCII characters with one `@` between
/// a local part and a domain (the directory alone would also trim and accept non-ASCII, which
/// no pattern can say with its byte limit), else 400 `invalid_field` `email`.
fn check_email(email: &str) -> Result<(), Problem> {
    let ascii = email.bytes().all(|b| b.is_ascii_graphic());
    let shape = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if ascii && shape && (3..=254).contains(&email.len()) {
        Ok(())
    } else {
        Err(Problem::invalid_field(
            "email",
            "an email is 3 to 254 visible ASCII characters with one `@` between a local part and a domain",
        ))
    }
}

/// Creates a user in the caller's account. The email is the login name, unique in the server.
#[utoipa::path(post, path = "/v1/users", operation_id = "users.create", tag = "users",
    request_body = UserInput,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 409, description = "`email_taken` (another user, in any account, has this email), `user_exists`", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn create(
    State(api): State<Api>,
    Caller(caller): Caller,
    _: NoQuery,
    Json(input): Json<UserInput>,
) -> Result<Response, Problem> {
    let directory = api.directory()?.clone();
    check_email(&input.email)?;
    check_password(input.password.as_deref())?;
    let id = input
        .id
        .as_deref()
        .map(|raw| {
            UserId::parse(raw).map_err(|_| Problem::invalid_field("id", "an id is 1 to 128 of `A-Z a-z 0-9 _ . @ : -`"))
        })
        .transpose()?;
    let new = NewUser {
        id,
        email: input.email,
        display_name: input.display_name,
        role: input.role.map(Into::into),
        password: input.password,
    };
    let hashes = new.password.is_some();
    let work = async move {
        let account = caller.account_id.clone();
        Ok(directory.create_user(Some(&caller), &account, new).await?)
    };
    let user = if hashes { off_executor(work).await? } else { work.await? };
    Ok(reply(StatusCode::CREATED, UserView::from(&user)))
}

/// The filters of `GET /v1/users`.
pub(crate) struct UserParams(Option<UserStatus>, PageRequest);

impl QueryParams for UserParams {
    const NAMES: &'static [&'static str] = &["status", PAGE_PARAMS[0], PAGE_PARAMS[1]];

    fn from_query(q: &Query) -> Result<Self, Problem> {
        let status = match q.get("status") {
            None => None,
            Some("active") => Some(UserStatus::Active),
            Some("deactivated") => Some(UserStatus::Deactivated),
            Some(_) => {
                return Err(Problem::invalid_field(
                    "status",
                    "`status` must be active or deactivated",
                ));
            }
        };
        Ok(Self(status, q.page()?))
    }
}

/// Lists the caller's account's users, in creation order.
#[utoipa::path(get, path = "/v1/users", operation_id = "users.list", tag = "users",
    params(
        ("status" = Option<UserStatusView>, Query, description = "Only users in this status"),
        crate::openapi::PageParams,
    ),
    responses((status = 200, description = "A page", body = UserList)),
    security(("oauth2" = ["admin"]), ("oauth2" = ["user.read"])))]
pub(crate) async fn list(
    State(api): State<Api>,
    Caller(caller): Caller,
    Params(UserParams(status, page)): Params<UserParams>,
) -> Result<Response, Problem> {
    let page = api.directory()?.users(&caller, status, &page).await?;
    let users = page.items.iter().map(UserView::from).collect();
    Ok(reply(
        StatusCode::OK,
        UserList {
            users,
            next_cursor: page.next_cursor,
        },
    ))
}

/// Reads a user of the caller's account.
#[utoipa::path(get, path = "/v1/users/{id}", operation_id = "users.get", tag = "users",
    params(UserPath),
    responses((status = 200, description = "The user", body = UserView)),
    security(("oauth2" = ["admin"]), ("oauth2" = ["user.read"])))]
pub(crate) async fn get(
    State(api): State<Api>,
    Caller(caller): Caller,
    UserPath(id): UserPath,
    _: NoQuery,
) -> Result<Response, Problem> {
    let user = api.directory()?.user(&caller, &id).await?;
    Ok(reply(StatusCode::OK, UserView::from(&user)))
}

/// Reads the caller: the user of a user token (any scope). An app token names no user: 404.
#[utoipa::path(get, path = "/v1/users/me", operation_id = "users.me", tag = "users",
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 404, description = "An app token: it names no user", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = [])))]
pub(crate) async fn me(State(api): State<Api>, Caller(caller): Caller, _: NoQuery) -> Result<Response, Problem> {
    if caller.kind != zoom_core::principal::PrincipalKind::User {
        return Err(Problem::not_found(
            "`me` is the user of a user token; this token is an app's",
        ));
    }
    let user = api.directory()?.user(&caller, &caller.subject).await?;
    Ok(reply(StatusCode::OK, UserView::from(&user)))
}

/// Changes a user's name, role, password or status. The last active owner keeps the role and
/// stays active (409 `last_owner`); only an owner or an app makes or unmakes an owner.
#[utoipa::path(patch, path = "/v1/users/{id}", operation_id = "users.patch", tag = "users",
    params(UserPath),
    request_body = UserPatchInput,
    responses(
        (status = 200, description = "The changed user", body = UserView),
        (status = 409, description = "`last_owner`", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn patch(
    State(api): State<Api>,
    Caller(caller): Caller,
    UserPath(id): UserPath,
    _: NoQuery,
    Json(input): Json<UserPatchInput>,
) -> Result<Response, Problem> {
    let directory = api.directory()?.clone();
    check_password(input.password.as_deref())?;
    let changes = UserChanges {
        display_name: input.display_name,
        role: input.role.map(Into::into),
        password: input.password,
        status: input.status.map(Into::into),
    };
    let hashes = changes.password.is_some();
    let work = async move {
        let account = caller.account_id.clone();
        Ok(directory.update_user(Some(&caller), &account, &id, changes).await?)
    };
    let user = if hashes { off_executor(work).await? } else { work.await? };
    if user.status == UserStatus::Deactivated {
        api.auth.forget(&user.account_id, Some(&user.id));
    }
    Ok(reply(StatusCode::OK, UserView::from(&user)))
}

/// Deactivates a user: they cannot log in; their meetings are kept. A repeat is a no-op.
#[utoipa::path(delete, path = "/v1/users/{id}", operation_id = "users.deactivate", tag = "users",
    params(UserPath),
    responses(
        (status = 204, description = "Deactivated; still readable"),
        (status = 409, description = "`last_owner`", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn deactivate(
    State(api): State<Api>,
    Caller(caller): Caller,
    UserPath(id): UserPath,
    _: NoQuery,
) -> Result<Response, Problem> {
    let user = api
        .directory()?
        .deactivate_user(Some(&caller), &caller.account_id, &id)
        .await?;
    api.auth.forget(&user.account_id, Some(&user.id));
    Ok(StatusCode::NO_CONTENT.into_response())
}
