//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 section
//! 2.3.1): HTTP Basic with form-encoded parts, or `client_id` and `client_secret` in the body
//! (not both); a public client names itself with `client_id` alone (method `none`).
//!
//! Failed authentications are throttled per client id and per client address
//! ([`crate::throttle`]): a refused attempt is 429 `temporarily_unavailable` (RFC 6749's code
//! for a server that cannot handle the request for now) with `Retry-After`, before its secret
//! is checked.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use zoom_auth::account::AccountStatus;
use zoom_auth::app::{App, AppStatus};
use zoom_core::engine::EngineError;
use zoom_core::id::Name;

use super::form::FormRequest;
use super::{OAuth, OAuthError};
use crate::apps::parse_client_id;

/// The app a request authenticates as: active, of an active account.
///
/// # Errors
/// 401 `invalid_client` for no, bad or mixed credentials, an unknown or disabled app, a public
/// app that sends a secret or a confidential one that sends none; 429 when throttled.
pub(crate) async fn authenticate(oauth: &OAuth, request: &FormRequest) -> Result<App, OAuthError> {
    let form = &request.form;
    let basic = basic_credentials(&request.headers)?;
    let (client_id, secret) = match (basic, form.get("client_id"), form.get("client_secret")) {
        (Some((id, secret)), None, None) => (id, Some(secret)),
        (Some((id, secret)), Some(body_id), None) if id == body_id => (id, Some(secret)),
        (Some(_), _, _) => {
            return Err(OAuthError::invalid_request(
                "authenticate with HTTP Basic or with body parameters, not both",
            ));
        }
        (None, Some(id), secret) => (id.to_owned(), secret.map(str::to_owned)),
        (None, None, _) => return Err(OAuthError::invalid_client("client authentication is required")),
    };
    let now = std::time::Instant::now();
    if let Some(wait) = oauth.throttle.refuses(&client_id, request.address, now) {
        return Err(OAuthError::throttled(wait));
    }
    let unknown = || {
        oauth.throttle.failed(&client_id, request.address, now);
        OAuthError::invalid_client("unknown client or wrong secret")
    };
    let id = parse_client_id(&client_id).ok_or_else(unknown)?;
    let app = match &secret {
        Some(secret) => oauth
            .directory
            .authenticate_app(&id, secret)
            .await
            .map_err(store_error)?,
        None => public_app(oauth, &id).await?,
    }
    .ok_or_else(unknown)?;
    let account = oauth
        .directory
        .find_account(&app.account_id)
        .await
        .map_err(store_error)?;
    if account.is_some_and(|a| a.status == AccountStatus::Disabled) {
        // Not counted as a failed authentication: the credentials were right.
        return Err(OAuthError::invalid_client("the client's account is disabled"));
    }
    Ok(app)
}

/// The active public app `id`, which authenticates by naming itself.
async fn public_app(oauth: &OAuth, id: &Name) -> Result<Option<App>, OAuthError> {
    let state = match oauth.directory.find_app(id).await {
        Ok(state) => state,
        Err(EngineError::Domain(_)) => None,
        Err(e) => return Err(store_error(e)),
    };
    Ok(state
        .map(|s| s.app().clone())
        .filter(|app| app.public && app.status == AppStatus::Active))
}

/// A store failure while authenticating: logged, answered 503 so the client retries.
pub(crate) fn store_error(e: EngineError) -> OAuthError {
    tracing::error!(error = %e, "client lookup failed");
    OAuthError::unavailable("the client registry is unavailable; retry")
}

/// The client id and secret of an `Authorization: Basic` header, form-decoded as RFC 6749
/// section 2.3.1 asks.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::invalid_client("the Basic credentials do not parse");
    let value = value.to_str().map_err(|_| bad())?;
    let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")) else {
        return Err(bad());
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((decode(id), decode(secret))))
}
