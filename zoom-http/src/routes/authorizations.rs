//! Authorizations (grants) of the caller's account: `admin` sees and revokes the account's; a
//! user token its own, whatever its scopes. The work is [`zoom_auth::Directory`]'s; another
//! account's grant is 404. Revoking one stops its refresh tokens at once and its access tokens
//! in this process at once (the auth cache forgets the user), elsewhere within the cache's
//! lifetime.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use zoom_core::engine::PageRequest;
use zoom_core::id::{Name, UserId};

use super::reply;
use crate::api::Api;
use crate::extract::{AuthorizationPath, Caller, NoQuery, PAGE_PARAMS, Params, Query, QueryParams};
use crate::problem::Problem;
use crate::views::{AuthorizationList, AuthorizationView};

/// The filters of `GET /v1/authorizations`.
pub(crate) struct AuthorizationParams(Option<UserId>, Option<Name>, PageRequest);

impl QueryParams for AuthorizationParams {
    const NAMES: &'static [&'static str] = &["user_id", "client_id", PAGE_PARAMS[0], PAGE_PARAMS[1]];

    fn from_query(q: &Query) -> Result<Self, Problem> {
        let name = |field: &'static str| {
            q.get(field)
                .map(|raw| Name::parse(raw).map_err(|e| Problem::invalid_field(field, e.to_string())))
                .transpose()
        };
        Ok(Self(name("user_id")?, name("client_id")?, q.page()?))
    }
}

/// Lists authorizations, in creation order (revoked ones too).
#[utoipa::path(get, path = "/v1/authorizations", operation_id = "authorizations.list", tag = "authorizations",
    params(
        ("user_id" = Option<String>, Query, description = "Only this user's"),
        ("client_id" = Option<String>, Query, description = "Only this app's"),
        crate::openapi::PageParams,
    ),
    responses((status = 200, description = "A page", body = AuthorizationList)),
    security(("oauth2" = ["admin"]), ("oauth2" = [])))]
pub(crate) async fn list(
    State(api): State<Api>,
    Caller(caller): Caller,
    Params(AuthorizationParams(user, client, page)): Params<AuthorizationParams>,
) -> Result<Response, Problem> {
    let page = api
        .directory()?
        .authorizations(&caller, user.as_ref(), client.as_ref(), &page)
        .await?;
    let authorizations = page.items.iter().map(AuthorizationView::from).collect();
    Ok(reply(
        StatusCode::OK,
        AuthorizationList {
            authorizations,
            next_cursor: page.next_cursor,
        },
    ))
}

/// Revokes an authorization. A repeat is a no-op.
#[utoipa::path(delete, path = "/v1/authorizations/{id}", operation_id = "authorizations.revoke", tag = "authorizations",
    params(AuthorizationPath),
    responses((status = 204, description = "Revoked")),
    security(("oauth2" = ["admin"]), ("oauth2" = [])))]
pub(crate) async fn revoke(
    State(api): State<Api>,
    Caller(caller): Caller,
    AuthorizationPath(id): AuthorizationPath,
    _: NoQuery,
) -> Result<Response, Problem> {
    let grant = api.directory()?.revoke_authorization(&caller, &id).await?;
    api.auth.forget(&grant.account_id, Some(&grant.user_id));
    Ok(StatusCode::NO_CONTENT.into_response())
}
