//! `POST /oauth/introspect` (RFC 7662): the authenticated client asks whether a token is active.
//!
//! Active: an access token that the API would accept now (the same check as the API's bearer
//! check: signature, expiry, account, app, authorization and user), or a refresh token of the
//! asking client that can still be used. The answer then carries `scope`, `client_id`, `sub`,
//! `exp`, `iat`, `token_type` and `acct`. Anything else, whether revoked, expired, malformed or
//! foreign, is `{"active": false}` and nothing more. A token is foreign unless it was issued to
//! the asking client, or acts in the asking client's account, or the asking client belongs to
//! the platform account.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use zoom_auth::app::App;

use super::client::{authenticate, store_error};
use super::form::{self, FormRequest};
use super::{OAuth, OAuthError};

/// The handler of `POST /oauth/introspect`.
pub async fn introspect(State(oauth): State<OAuth>, request: axum::extract::Request) -> Response {
    let answer = match form::read(request).await {
        Ok(request) => inspect(&oauth, &request).await,
        Err(e) => Err(e),
    };
    match answer {
        Ok(body) => (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Json(body),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn inspect(oauth: &OAuth, request: &FormRequest) -> Result<Value, OAuthError> {
    let app = authenticate(oauth, request).await?;
    let token = request.form.require("token")?;
    if let Ok((verified, principal)) = oauth.bearer.check(token).await
        && may_see(oauth, &app, &verified.client_id, &principal.account_id)
    {
        let scope: Vec<&str> = principal.scopes.iter().map(|s| s.as_str()).collect();
        let claims = &verified.claims;
        return Ok(json!({
            "active": true,
            "scope": scope.join(" "),
            "client_id": verified.client_id.as_str(),
            "sub": claims.sub,
            "exp": claims.exp,
            "iat": claims.iat,
            "token_type": "Bearer",
            "acct": claims.acct,
            "iss": claims.iss,
            "aud": claims.aud,
        }));
    }
    if let Some(found) = oauth
        .directory
        .introspect_refresh_token(&app.client_id, token)
        .await
        .map_err(store_error)?
    {
        let (grant, expires_at) = found;
        let scope: Vec<&str> = grant.scopes.iter().map(|s| s.as_str()).collect();
        return Ok(json!({
            "active": true,
            "scope": scope.join(" "),
            "client_id": grant.client_id.as_str(),
            "sub": grant.user_id.as_str(),
            "exp": expires_at,
            "iat": grant.created_at.timestamp(),
            "token_type": "refresh_token",
            "acct": grant.account_id.as_str(),
        }));
    }
    Ok(json!({ "active": false }))
}

fn may_see(oauth: &OAuth, asking: &App, client_id: &zoom_core::id::Name, account: &zoom_core::id::AccountId) -> bool {
    asking.client_id == *client_id
        || asking.account_id == *account
        || asking.account_id == *oauth.directory.platform_account()
}
