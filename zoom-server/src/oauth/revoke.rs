//! `POST /oauth/revoke` (RFC 7009): the authenticated client revokes one of its tokens.
//!
//! - A refresh token revokes its authorization (grant): every refresh token of it stops at
//!   once, its access tokens at once in this process (its auth cache forgets the user's) and
//!   within the cache's lifetime in others.
//! - A user access token does the same to its authorization.
//! - An app (client-credentials) access token cannot be revoked one by one: it lives an hour;
//!   rotate the app's secret or disable the app to stop all of them.
//!
//! Whatever the token (unknown, another client's, already revoked, an app token), the answer is
//! 200 with an empty body, so the endpoint tells nothing about tokens it was not given rights
//! to. Only a missing token (400 `invalid_request`) or a failed client authentication (401) is
//! an error.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zoom_core::engine::EngineError;

use super::client::{authenticate, store_error};
use super::form::{self, FormRequest};
use super::{OAuth, OAuthError};

/// The handler of `POST /oauth/revoke`.
pub async fn revoke(State(oauth): State<OAuth>, request: axum::extract::Request) -> Response {
    let answer = match form::read(request).await {
        Ok(request) => revoke_token(&oauth, &request).await,
        Err(e) => Err(e),
    };
    match answer {
        Ok(()) => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn revoke_token(oauth: &OAuth, request: &FormRequest) -> Result<(), OAuthError> {
    let app = authenticate(oauth, request).await?;
    let token = request.form.require("token")?;
    let revoked = oauth
        .directory
        .revoke_refresh_token(&app.client_id, token)
        .await
        .map_err(store_error)?;
    if let Some(grant) = revoked {
        oauth.auth.forget(&grant.account_id, Some(&grant.user_id));
        return Ok(());
    }
    let Ok((verified, principal)) = oauth.bearer.check(token).await else {
        return Ok(());
    };
    if let Some(grant) = &verified.grant
        && verified.client_id == app.client_id
    {
        match oauth.directory.revoke_authorization(&principal, grant).await {
            Ok(_) | Err(EngineError::Domain(_)) => {}
            Err(e) => return Err(store_error(e)),
        }
        oauth.auth.forget(&principal.account_id, Some(&principal.subject));
    }
    Ok(())
}
