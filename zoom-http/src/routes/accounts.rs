//! Accounts: the platform creates, lists, reads, renames, disables and enables its tenants
//! (`platform` scope). The work is [`zoom_auth::Directory`]'s.
//!
//! `POST /v1/accounts` does not honour `Idempotency-Key`: its answer holds the admin app's
//! secret, which is shown once and kept nowhere, so no replay could return it. A repeat of a
//! given id is 409 `account_exists` instead.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use zoom_auth::account::AccountPatch;
use zoom_core::id::AccountId;

use super::reply;
use crate::api::Api;
use crate::extract::{AccountPath, Caller, Json, NoQuery, Page, Params};
use crate::problem::{Problem, ProblemDocument};
use crate::views::{AccountCreated, AccountInput, AccountList, AccountPatchInput, AccountView, AdminAppView};

/// Creates an account and its admin app: a server app of the new account holding every scope
/// but `platform`, whose secret is shown this once.
#[utoipa::path(post, path = "/v1/accounts", operation_id = "accounts.create", tag = "accounts",
    request_body = AccountInput,
    responses(
        (status = 201, description = "Created, with its admin app's credentials", body = AccountCreated),
        (status = 409, description = "`account_exists`: an account has this id", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["platform"])))]
pub(crate) async fn create(
    State(api): State<Api>,
    Caller(caller): Caller,
    _: NoQuery,
    Json(input): Json<AccountInput>,
) -> Result<Response, Problem> {
    let directory = api.directory()?;
    let id = input
        .id
        .as_deref()
        .map(|raw| {
            AccountId::parse(raw)
                .map_err(|_| Problem::invalid_field("id", "an id is 1 to 128 of `A-Z a-z 0-9 _ . @ : -`"))
        })
        .transpose()?;
    let (account, admin) = directory
        .create_account_with_admin(&caller, id.as_ref(), &input.name)
        .await?;
    let created = AccountCreated {
        id: account.id.as_str().to_owned(),
        name: account.name.clone(),
        status: account.status.into(),
        created_at: account.created_at,
        admin_app: AdminAppView {
            client_id: admin.app.client_id.as_str().to_owned(),
            client_secret: admin.client_secret.unwrap_or_default(),
            scopes: admin.app.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        },
    };
    Ok(reply(StatusCode::CREATED, created))
}

/// Lists every account, in creation order.
#[utoipa::path(get, path = "/v1/accounts", operation_id = "accounts.list", tag = "accounts",
    params(crate::openapi::PageParams),
    responses((status = 200, description = "A page", body = AccountList)),
    security(("oauth2" = ["platform"])))]
pub(crate) async fn list(
    State(api): State<Api>,
    Caller(caller): Caller,
    Params(Page(page)): Params<Page>,
) -> Result<Response, Problem> {
    let page = api.directory()?.accounts(&caller, &page).await?;
    let accounts = page.items.iter().map(AccountView::from).collect();
    Ok(reply(
        StatusCode::OK,
        AccountList {
            accounts,
            next_cursor: page.next_cursor,
        },
    ))
}

/// Reads an account.
#[utoipa::path(get, path = "/v1/accounts/{id}", operation_id = "accounts.get", tag = "accounts",
    params(AccountPath),
    responses((status = 200, description = "The account", body = AccountView)),
    security(("oauth2" = ["platform"])))]
pub(crate) async fn get(
    State(api): State<Api>,
    Caller(caller): Caller,
    AccountPath(id): AccountPath,
    _: NoQuery,
) -> Result<Response, Problem> {
    let account = api.directory()?.account(&caller, &id).await?;
    Ok(reply(StatusCode::OK, AccountView::from(&account)))
}

/// Renames an account, or disables or enables it. Disabling refuses every token of the account
/// (401) and every new token for its apps; nothing is deleted.
#[utoipa::path(patch, path = "/v1/accounts/{id}", operation_id = "accounts.patch", tag = "accounts",
    params(AccountPath),
    request_body = AccountPatchInput,
    responses(
        (status = 200, description = "The changed account", body = AccountView),
        (status = 409, description = "`platform_account`: the platform account cannot be disabled", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["platform"])))]
pub(crate) async fn patch(
    State(api): State<Api>,
    Caller(caller): Caller,
    AccountPath(id): AccountPath,
    _: NoQuery,
    Json(input): Json<AccountPatchInput>,
) -> Result<Response, Problem> {
    let patch = AccountPatch {
        name: input.name,
        status: input.status.map(Into::into),
    };
    let account = api.directory()?.update_account(&caller, &id, patch).await?;
    if account.status == zoom_auth::account::AccountStatus::Disabled {
        api.auth.forget(&account.id, None);
    }
    Ok(reply(StatusCode::OK, AccountView::from(&account)))
}
