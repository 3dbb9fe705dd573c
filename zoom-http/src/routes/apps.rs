//! Apps (OAuth clients) of the caller's account (`admin`), and the marketplace: the published
//! apps of every account, for any token. The work is [`zoom_auth::Directory`]'s; another
//! account's app is 404.
//!
//! `POST /v1/apps` and `:rotateSecret` do not honour `Idempotency-Key`: their answer holds a
//! secret that is kept nowhere, so no replay could return it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use zoom_auth::app::AppPatch;
use zoom_core::principal::Scope;

use super::reply;
use crate::api::Api;
use crate::extract::{AppPath, Caller, Empty, Json, NoQuery, Page, Params};
use crate::problem::{Problem, ProblemDocument};
use crate::views::{AppCreated, AppInput, AppList, AppPatchInput, AppSecretView, AppView};

/// Scope names, each known, else 400 `invalid_field` `scopes`.
fn scopes(names: &[String]) -> Result<Vec<Scope>, Problem> {
    names
        .iter()
        .map(|n| {
            Scope::parse(n).ok_or_else(|| {
                Problem::invalid_field(
                    "scopes",
                    format!("`{}` is not a scope", n.chars().take(64).collect::<String>()),
                )
            })
        })
        .collect()
}

/// Registers an app in the caller's account. A confidential app's client secret is in the
/// answer, this once.
#[utoipa::path(post, path = "/v1/apps", operation_id = "apps.create", tag = "apps",
    request_body = AppInput,
    responses((status = 201, description = "Created; the secret is shown this once", body = AppCreated)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn create(
    State(api): State<Api>,
    Caller(caller): Caller,
    _: NoQuery,
    Json(input): Json<AppInput>,
) -> Result<Response, Problem> {
    let directory = api.directory()?;
    let new = zoom_auth::AppInput {
        client_id: None,
        account_id: None,
        name: input.name,
        kind: input.kind.into(),
        redirect_uris: input.redirect_uris,
        scopes: scopes(&input.scopes)?,
        published: input.published,
        public: input.public,
    };
    let out = directory.create_app(Some(&caller), new).await?;
    Ok(reply(StatusCode::CREATED, AppCreated::new(&out.app, out.client_secret)))
}

/// Lists the caller's account's apps, in creation order (disabled ones too).
#[utoipa::path(get, path = "/v1/apps", operation_id = "apps.list", tag = "apps",
    params(crate::openapi::PageParams),
    responses((status = 200, description = "A page", body = AppList)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn list(
    State(api): State<Api>,
    Caller(caller): Caller,
    Params(Page(page)): Params<Page>,
) -> Result<Response, Problem> {
    let page = api.directory()?.apps(&caller, &page).await?;
    Ok(app_list(&page.items, page.next_cursor))
}

/// Lists the published, active apps of every account, in creation order: what any account's
/// users may authorize. No secret, ever.
#[utoipa::path(get, path = "/v1/marketplace/apps", operation_id = "apps.marketplace", tag = "apps",
    params(crate::openapi::PageParams),
    responses((status = 200, description = "A page", body = AppList)),
    security(("oauth2" = [])))]
pub(crate) async fn marketplace(
    State(api): State<Api>,
    Caller(caller): Caller,
    Params(Page(page)): Params<Page>,
) -> Result<Response, Problem> {
    let page = api.directory()?.marketplace(&caller, &page).await?;
    Ok(app_list(&page.items, page.next_cursor))
}

fn app_list(items: &[zoom_auth::app::App], next_cursor: Option<String>) -> Response {
    let apps = items.iter().map(AppView::from).collect();
    reply(StatusCode::OK, AppList { apps, next_cursor })
}

/// Reads an app of the caller's account.
#[utoipa::path(get, path = "/v1/apps/{client_id}", operation_id = "apps.get", tag = "apps",
    params(AppPath),
    responses((status = 200, description = "The app", body = AppView)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn get(
    State(api): State<Api>,
    Caller(caller): Caller,
    AppPath(id): AppPath,
    _: NoQuery,
) -> Result<Response, Problem> {
    let app = api.directory()?.app(&caller, &id).await?;
    Ok(reply(StatusCode::OK, AppView::from(&app)))
}

/// Changes an app's name, redirect URIs, scopes or whether it is published.
#[utoipa::path(patch, path = "/v1/apps/{client_id}", operation_id = "apps.patch", tag = "apps",
    params(AppPath),
    request_body = AppPatchInput,
    responses((status = 200, description = "The changed app", body = AppView)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn patch(
    State(api): State<Api>,
    Caller(caller): Caller,
    AppPath(id): AppPath,
    _: NoQuery,
    Json(input): Json<AppPatchInput>,
) -> Result<Response, Problem> {
    let patch = AppPatch {
        name: input.name,
        redirect_uris: input.redirect_uris,
        scopes: input.scopes.as_deref().map(scopes).transpose()?,
        published: input.published,
    };
    let app = api.directory()?.update_app(&caller, &id, patch).await?;
    Ok(reply(StatusCode::OK, AppView::from(&app)))
}

/// Disables an app: it gets no new token, and its tokens are refused at once by this server
/// (by other instances within their auth cache's lifetime). A repeat is a no-op.
#[utoipa::path(delete, path = "/v1/apps/{client_id}", operation_id = "apps.disable", tag = "apps",
    params(AppPath),
    responses(
        (status = 204, description = "Disabled; still readable"),
        (status = 409, description = "`cannot_disable_self`: an app cannot disable itself", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn disable(
    State(api): State<Api>,
    Caller(caller): Caller,
    AppPath(id): AppPath,
    _: NoQuery,
) -> Result<Response, Problem> {
    let app = api.directory()?.disable_app(&caller, &id).await?;
    api.auth.forget(&app.account_id, Some(&app.client_id));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Replaces a confidential app's client secret; the old one stops at once (tokens already
/// issued keep working until they expire).
#[utoipa::path(post, path = "/v1/apps/{client_id}:rotateSecret", operation_id = "apps.rotate_secret", tag = "apps",
    params(AppPath),
    request_body(content = crate::openapi::EmptyBody, description = "Nothing, or `{}`"),
    responses(
        (status = 200, description = "The new secret, shown this once", body = AppSecretView),
        (status = 409, description = "`public_client` (no secret) or `app_disabled`", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn rotate_secret(
    State(api): State<Api>,
    Caller(caller): Caller,
    AppPath(id): AppPath,
    _: NoQuery,
    _: Empty,
) -> Result<Response, Problem> {
    let out = api.directory()?.rotate_secret(&caller, &id).await?;
    let view = AppSecretView {
        client_id: out.app.client_id.as_str().to_owned(),
        client_secret: out.client_secret.unwrap_or_default(),
    };
    Ok(reply(StatusCode::OK, view))
}
