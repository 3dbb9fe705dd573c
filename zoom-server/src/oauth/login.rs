//! `POST /oauth/login` and `POST /oauth/logout`, and the login page.
//!
//! The login checks the email and password with the server's [`zoom_auth::Login`] (its own
//! directory unless an embedder plugged in another identity provider), off the async runtime:
//! Argon2 takes tens of milliseconds of CPU on purpose. Failed attempts are throttled per login
//! name and per client address with the token endpoint's [`FailureThrottle`] (same rule: a
//! success from an address that has not failed is never slowed by others' failures), with
//! the rates [`PER_LOGIN_NAME`] and [`PER_ADDRESS`]. A wrong email, a wrong password and a
//! refused user all get one message.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use zoom_auth::{Login, LoginError, UserRef};
use zoom_http::limits::Rate;

use super::authorize::{Form, MAX_PAGE_FORM, RequestParams, SESSION_FORMS, Validated, forbidden, see_other, validate};
use super::session::{self, LOGIN_CSRF_COOKIE, csrf_matches, csrf_token, origin_allowed, random_token};
use super::{OAuth, pages};
use crate::throttle::FailureThrottle;

/// Failed logins an address may make at once, and how fast they come back (one every 6 s).
pub const PER_ADDRESS: Rate = Rate {
    per_second: 1.0 / 6.0,
    burst: 20.0,
};

/// Failed logins one login name may collect at once from failing addresses, and how fast they
/// come back (one every 30 s).
pub const PER_LOGIN_NAME: Rate = Rate {
    per_second: 1.0 / 30.0,
    burst: 10.0,
};

/// The login throttle with the default rates.
pub fn login_throttle() -> FailureThrottle {
    FailureThrottle::new(PER_LOGIN_NAME, PER_ADDRESS)
}

/// The one message of a failed login: it does not say which part was wrong.
pub const WRONG_CREDENTIALS: &str = "The email or password is not correct.";

/// The purpose of the login form's CSRF token.
const LOGIN_FORM: &str = "login";

/// The login page, with the CSRF cookie set when the browser has none yet.
pub(super) fn login_page(
    oauth: &OAuth,
    headers: &HeaderMap,
    request: Option<&Validated>,
    params: &RequestParams,
    email: &str,
    message: Option<&str>,
) -> Response {
    login_page_with(oauth, headers, request, params, email, message, StatusCode::OK)
}

fn login_page_with(
    oauth: &OAuth,
    headers: &HeaderMap,
    request: Option<&Validated>,
    params: &RequestParams,
    email: &str,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let existing = session::cookie(headers, LOGIN_CSRF_COOKIE).map(str::to_owned);
    let secret = existing.clone().unwrap_or_else(|| random_token(oauth.entropy.as_ref()));
    let mut hidden = params.hidden();
    hidden.push(("csrf", csrf_token(LOGIN_FORM, &secret)));
    let page = pages::login(&pages::LoginPage {
        app_name: request.map(|v| v.app.name.as_str()),
        email,
        message,
        hidden,
    });
    let mut response = pages::html(status, page, &[]);
    if existing.is_none() {
        response
            .headers_mut()
            .append(header::SET_COOKIE, oauth.cookies().set_login_csrf(&secret));
    }
    response
}

/// The client's address, as the accept loop recorded it.
fn address(request: &axum::http::request::Parts) -> Option<IpAddr> {
    request
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// Runs `login` on a blocking thread: the directory hashes the password there, so the
/// runtime's workers keep serving other requests meanwhile.
async fn check(login: Arc<dyn Login>, email: String, password: String) -> Result<UserRef, LoginError> {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(login.login(&email, &password)))
        .await
        .unwrap_or_else(|e| Err(LoginError::Unavailable(format!("the login task failed: {e}"))))
}

/// The handler of `POST /oauth/login`: `email`, `password`, `csrf` and the authorization
/// request's fields.
pub async fn login(State(oauth): State<OAuth>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_PAGE_FORM).await else {
        return pages::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Invalid request",
            "The form is too large.",
        );
    };
    let headers = &parts.headers;
    let form = Form::parse(&body);
    let Some(secret) = session::cookie(headers, LOGIN_CSRF_COOKIE) else {
        return forbidden();
    };
    if !origin_allowed(headers, &oauth.public_url) || !csrf_matches(LOGIN_FORM, secret, form.get("csrf")) {
        return forbidden();
    }
    let validated = if form.request.is_empty() {
        None
    } else {
        match validate(&oauth, &form.request, form.repeated.as_deref()).await {
            Ok(v) => Some(v),
            Err(refusal) => return refusal,
        }
    };
    let email = form.get("email").unwrap_or_default().trim().to_owned();
    let password = form.get("password").unwrap_or_default().to_owned();
    let name = email.to_lowercase();
    let from = address(&parts);
    let now = std::time::Instant::now();
    if let Some(wait) = oauth.login_throttle.refuses(&name, from, now) {
        let secs = wait.as_secs().max(1);
        let mut response = pages::error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            &format!("Too many failed sign-ins. Please wait {secs} seconds and try again."),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return response;
    }
    let user = match check(oauth.login.clone(), email.clone(), password).await {
        Ok(user) => user,
        Err(LoginError::InvalidCredentials) => {
            oauth.login_throttle.failed(&name, from, now);
            return login_page_with(
                &oauth,
                headers,
                validated.as_ref(),
                &form.request,
                &email,
                Some(WRONG_CREDENTIALS),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(LoginError::Unavailable(e)) => {
            tracing::error!(error = %e, "login unavailable");
            let mut response = pages::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again later",
                "Signing in is not possible right now. Please try again in a moment.",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return response;
        }
    };
    let token = match session::sign_session(&oauth.tokens, oauth.entropy.as_ref(), &user, &email) {
        Ok(token) => token,
        Err(e) => {
            tracing::error!(error = %e, "session signing failed");
            return pages::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again later",
                "Signing in is not possible right now. Please try again in a moment.",
            );
        }
    };
    let mut response = match &validated {
        // Relative to /oauth/login, so a path prefix in front of the server is kept.
        Some(v) => see_other(&format!("authorize?{}", v.params.query())),
        None => pages::html(
            StatusCode::OK,
            pages::message("Signed in", "You are signed in. You can close this page."),
            &[],
        ),
    };
    let cookies = oauth.cookies();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, cookies.set_session(&token));
    headers.append(header::SET_COOKIE, cookies.clear_login_csrf());
    response
}

/// The handler of `POST /oauth/logout`: clears the session cookie (`csrf` bound to the
/// session required) and shows the signed-out page.
pub async fn logout(State(oauth): State<OAuth>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_PAGE_FORM).await else {
        return pages::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Invalid request",
            "The form is too large.",
        );
    };
    if !origin_allowed(&parts.headers, &oauth.public_url) {
        return forbidden();
    }
    let form = Form::parse(&body);
    if let Some(s) = session::session(&oauth.tokens, oauth.cookies(), &parts.headers)
        && !csrf_matches(SESSION_FORMS, &s.sid, form.get("csrf"))
    {
        return forbidden();
    }
    let mut response = pages::html(
        StatusCode::OK,
        pages::message("Signed out", "You are signed out. You can close this page."),
        &[],
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, oauth.cookies().clear_session());
    response
}
