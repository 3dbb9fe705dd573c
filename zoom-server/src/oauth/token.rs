//! `POST /oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 section 4.4).
//!
//! The body is form-encoded; the client authenticates with HTTP Basic or with `client_id` and
//! `client_secret` in the body (not both). Errors are RFC 6749 JSON: `{error, error_description}`,
//! 401 `invalid_client`, 400 for the rest.
//!
//! Failed client authentications are throttled per client id and per client address
//! ([`crate::throttle`]): a refused attempt is 429 `temporarily_unavailable` (RFC 6749's code for
//! a server that cannot handle the request for now) with `Retry-After`, in the same JSON shape.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client::basic_credentials;
use super::{OAuth, OAuthError};
use crate::apps::parse_client_id;
use crate::tokens::AccessError;

/// The handler of `POST /oauth/token`.
///
/// # Errors
/// [`OAuthError`] as RFC 6749 describes.
pub async fn token(State(oauth): State<OAuth>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let address = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let Ok(body) = axum::body::to_bytes(body, MAX_FORM).await else {
        return OAuthError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the form is too large",
        )
        .into_response();
    };
    match grant(&oauth, &parts.headers, &body, address).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// The largest token request accepted, in bytes.
pub const MAX_FORM: usize = 64 * 1024;

async fn grant(
    oauth: &OAuth,
    headers: &HeaderMap,
    body: &[u8],
    address: Option<std::net::IpAddr>,
) -> Result<Response, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut form: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        // RFC 6749 section 3.2: parameters must not be repeated.
        if form.iter().any(|(seen, _)| *seen == k) {
            return Err(OAuthError::invalid_request(format!("`{k}` is repeated")));
        }
        form.push((k.into_owned(), v.into_owned()));
    }
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    match field("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("`{other}` is not supported; use client_credentials"),
            ));
        }
        None => return Err(OAuthError::invalid_request("`grant_type` is required")),
    }
    let basic = basic_credentials(headers)?;
    let (client_id, secret) = match (basic, field("client_id"), field("client_secret")) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "authenticate with HTTP Basic or with body parameters, not both",
            ));
        }
        (Some(pair), None, None) => pair,
        (None, Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
        (None, _, _) => return Err(OAuthError::invalid_client("client authentication is required")),
    };
    let now = std::time::Instant::now();
    if let Some(wait) = oauth.throttle.refuses(&client_id, address, now) {
        return Err(OAuthError::throttled(wait));
    }
    let unknown = || {
        oauth.throttle.failed(&client_id, address, now);
        OAuthError::invalid_client("unknown client or wrong secret")
    };
    let id = parse_client_id(&client_id).ok_or_else(unknown)?;
    let app = oauth
        .apps
        .find(&id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "app lookup failed");
            OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the app registry failed",
            )
        })?
        .ok_or_else(unknown)?;
    if !app.secret_matches(&secret) {
        return Err(unknown());
    }
    let account = oauth.directory.find_account(&app.account_id).await.map_err(|e| {
        tracing::error!(error = %e, "account lookup failed");
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the account registry failed",
        )
    })?;
    if account.is_some_and(|a| a.status == zoom_auth::account::AccountStatus::Disabled) {
        // Not counted as a failed authentication: the secret was right.
        return Err(OAuthError::invalid_client("the client's account is disabled"));
    }
    let token = oauth.issuer.issue(&app, field("scope")).map_err(|e| match e {
        AccessError::InvalidScope(_) => OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", e.to_string()),
        other => OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", other.to_string()),
    })?;
    Ok((
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        Json(json!({
            "access_token": token.token,
            "token_type": "bearer",
            "expires_in": token.expires_in,
            "scope": token.scope,
        })),
    )
        .into_response())
}
