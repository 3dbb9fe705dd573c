//! `POST /oauth/token` (RFC 6749 section 3.2): the grants.
//!
//! - `client_credentials` (section 4.4), for `server` apps; `account_credentials` with
//!   `account_id` = the app's account is accepted as Zoom's spelling of it.
//! - `authorization_code` (section 4.1.3) with the PKCE `code_verifier` (RFC 7636), for `user`
//!   apps; a public app authenticates by naming itself.
//! - `refresh_token` (section 6): every refresh rotates the refresh token.
//!
//! Errors are RFC 6749 JSON (`{error, error_description}`): 401 `invalid_client`, 400 for the
//! rest, 429 `temporarily_unavailable` when failed client authentications are throttled.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use zoom_auth::app::{App, AppKind};
use zoom_auth::{GrantError, UserTokens};
use zoom_core::principal::Scope;

use super::client::authenticate;
use super::form::{self, FormRequest};
use super::{OAuth, OAuthError};
use crate::tokens::{AccessError, AccessToken, UserGrant};

/// The handler of `POST /oauth/token`.
pub async fn token(State(oauth): State<OAuth>, request: axum::extract::Request) -> Response {
    let answer = match form::read(request).await {
        Ok(request) => grant(&oauth, &request).await,
        Err(e) => Err(e),
    };
    answer.unwrap_or_else(IntoResponse::into_response)
}

async fn grant(oauth: &OAuth, request: &FormRequest) -> Result<Response, OAuthError> {
    let form = &request.form;
    let grant_type = form.require("grant_type")?;
    if !matches!(
        grant_type,
        "client_credentials" | "account_credentials" | "authorization_code" | "refresh_token"
    ) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("`{grant_type}` is not supported; use client_credentials, authorization_code or refresh_token"),
        ));
    }
    let app = authenticate(oauth, request).await?;
    match grant_type {
        "authorization_code" => {
            let app = user_app(app)?;
            let code = form.require("code")?;
            let redirect_uri = form.require("redirect_uri")?;
            let verifier = form.require("code_verifier")?;
            let tokens = oauth
                .directory
                .redeem_code(&app.client_id, code, redirect_uri, verifier)
                .await
                .map_err(grant_error)?;
            user_answer(oauth, &app, &tokens)
        }
        "refresh_token" => {
            let app = user_app(app)?;
            let refresh = form.require("refresh_token")?;
            let scopes = form.get("scope").map(parse_scopes).transpose()?;
            let tokens = oauth
                .directory
                .refresh(&app.client_id, refresh, scopes)
                .await
                .map_err(grant_error)?;
            user_answer(oauth, &app, &tokens)
        }
        _ => {
            if app.kind != AppKind::Server {
                return Err(OAuthError::unauthorized_client(
                    "a user app gets tokens through the authorization code grant",
                ));
            }
            if grant_type == "account_credentials" && form.get("account_id") != Some(app.account_id.as_str()) {
                return Err(OAuthError::invalid_grant(
                    "`account_id` must be the client's own account",
                ));
            }
            let token = oauth.issuer.issue(&app, form.get("scope")).map_err(access_error)?;
            Ok(answer(&token, None))
        }
    }
}

fn user_app(app: App) -> Result<App, OAuthError> {
    if app.kind == AppKind::User {
        Ok(app)
    } else {
        Err(OAuthError::unauthorized_client(
            "a server app gets tokens through client_credentials",
        ))
    }
}

fn parse_scopes(raw: &str) -> Result<Vec<Scope>, OAuthError> {
    raw.split_whitespace()
        .map(|s| Scope::parse(s).ok_or_else(|| OAuthError::invalid_scope(format!("`{s}` is not a scope"))))
        .collect()
}

fn user_answer(oauth: &OAuth, app: &App, tokens: &UserTokens) -> Result<Response, OAuthError> {
    // The directory already narrowed them by the app's scopes and the user's role.
    let token = oauth
        .issuer
        .issue_for_user(&UserGrant {
            account_id: &tokens.grant.account_id,
            user_id: &tokens.grant.user_id,
            client_id: &app.client_id,
            grant_id: &tokens.grant.id,
            scopes: &tokens.scopes,
        })
        .map_err(access_error)?;
    Ok(answer(&token, Some(&tokens.refresh_token)))
}

fn answer(token: &AccessToken, refresh_token: Option<&str>) -> Response {
    let mut body = json!({
        "access_token": token.token,
        "token_type": "bearer",
        "expires_in": token.expires_in,
        "scope": token.scope,
    });
    if let Some(refresh) = refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        Json(body),
    )
        .into_response()
}

fn access_error(e: AccessError) -> OAuthError {
    match e {
        AccessError::InvalidScope(_) => OAuthError::invalid_scope(e.to_string()),
        other => {
            tracing::error!(error = %other, "token signing failed");
            OAuthError::unavailable("the token could not be signed; retry")
        }
    }
}

fn grant_error(e: GrantError) -> OAuthError {
    match e {
        GrantError::InvalidGrant(why) => OAuthError::invalid_grant(why),
        GrantError::InvalidScope(why) => OAuthError::invalid_scope(why),
        GrantError::UnauthorizedClient(why) => OAuthError::unauthorized_client(why),
        GrantError::Engine(e) => super::client::store_error(e),
    }
}
