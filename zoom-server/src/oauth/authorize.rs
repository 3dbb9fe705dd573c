//! `GET /oauth/authorize` and `POST /oauth/authorize`: the authorization endpoint of the
//! authorization-code grant (RFC 6749 section 4.1) with PKCE `S256` (RFC 7636), as RFC 9700
//! asks: exact redirect URIs, `plain` refused.
//!
//! The client and its redirect URI are checked first: when either is wrong the browser gets an
//! HTML error page, never a redirect (an open redirector otherwise). Every later error
//! redirects to the client with `error`, `error_description`, `state` and `iss` (RFC 9207).
//! A browser that is not signed in gets the login page, which carries the request in hidden
//! fields; a signed-in one gets the consent page, whose form posts the request back with the
//! decision. The POST checks the whole request again: the hidden fields are the browser's.

use std::borrow::Cow;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zoom_auth::account::AccountStatus;
use zoom_auth::app::{App, AppKind, AppStatus};
use zoom_auth::{AuthorizeRequest, GrantError};
use zoom_core::engine::EngineError;
use zoom_core::id::Name;
use zoom_core::principal::Scope;

use super::session::{self, csrf_matches, csrf_token, origin_allowed};
use super::{OAuth, login, pages};

/// The largest form the browser endpoints accept, in bytes.
pub const MAX_PAGE_FORM: usize = 16 * 1024;

/// The CSRF purpose of the forms of a signed-in browser (consent, sign out).
pub(super) const SESSION_FORMS: &str = "session";

/// The parameters of an authorization request, as the browser sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestParams {
    /// `response_type`: `code`.
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `scope`, space-separated.
    pub scope: Option<String>,
    /// `state`, returned to the client as it came.
    pub state: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`: `S256`.
    pub code_challenge_method: Option<String>,
}

/// A form or query string: its parameters, the authorization request's gathered apart.
#[derive(Debug, Default)]
pub(super) struct Form {
    /// The authorization request it carries.
    pub request: RequestParams,
    /// Every other parameter, first occurrence only.
    other: Vec<(String, String)>,
    /// The first parameter that came twice (RFC 6749 section 3.1: never allowed).
    pub repeated: Option<String>,
}

impl Form {
    /// Parses `application/x-www-form-urlencoded` bytes (a query string or a body).
    pub fn parse(bytes: &[u8]) -> Self {
        let mut form = Form::default();
        let mut seen: Vec<Cow<'_, str>> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(bytes) {
            if seen.contains(&k) {
                form.repeated.get_or_insert_with(|| k.clone().into_owned());
                continue;
            }
            seen.push(k.clone());
            let v = v.into_owned();
            let r = &mut form.request;
            match k.as_ref() {
                "response_type" => r.response_type = Some(v),
                "client_id" => r.client_id = Some(v),
                "redirect_uri" => r.redirect_uri = Some(v),
                "scope" => r.scope = Some(v),
                "state" => r.state = Some(v),
                "code_challenge" => r.code_challenge = Some(v),
                "code_challenge_method" => r.code_challenge_method = Some(v),
                _ => form.other.push((k.into_owned(), v)),
            }
        }
        form
    }

    /// A parameter that is not part of the authorization request.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.other.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

impl RequestParams {
    fn fields(&self) -> [(&'static str, Option<&String>); 7] {
        [
            ("response_type", self.response_type.as_ref()),
            ("client_id", self.client_id.as_ref()),
            ("redirect_uri", self.redirect_uri.as_ref()),
            ("scope", self.scope.as_ref()),
            ("state", self.state.as_ref()),
            ("code_challenge", self.code_challenge.as_ref()),
            ("code_challenge_method", self.code_challenge_method.as_ref()),
        ]
    }

    /// The request as hidden form fields, to carry it through the login and consent forms.
    pub fn hidden(&self) -> Vec<(&'static str, String)> {
        self.fields()
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v.clone())))
            .collect()
    }

    /// The request as a query string, to return to the authorization endpoint after login.
    pub fn query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.fields() {
            if let Some(v) = v {
                query.append_pair(k, v);
            }
        }
        query.finish()
    }

    /// Whether the form carries no authorization request (a plain login).
    pub fn is_empty(&self) -> bool {
        self.fields().iter().all(|(_, v)| v.is_none())
    }
}

/// An authorization request whose every part checked out.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The app asking.
    pub app: App,
    /// The name of the app's account.
    pub account_name: String,
    /// The registered redirect URI the answer goes to.
    pub redirect_uri: String,
    /// The scopes asked for, in catalogue order (the app's own when the request names none).
    pub scopes: Vec<Scope>,
    /// The client's `state`.
    pub state: Option<String>,
    /// The PKCE `S256` challenge.
    pub code_challenge: String,
    /// The request as it came, to carry on.
    pub params: RequestParams,
}

impl Validated {
    /// The origin of the redirect URI, for the consent page's `form-action`.
    pub fn redirect_origin(&self) -> Vec<String> {
        url::Url::parse(&self.redirect_uri)
            .map(|u| vec![u.origin().ascii_serialization()])
            .unwrap_or_default()
    }

    /// The redirect to the client with `error`.
    pub fn refuse(&self, issuer: &str, error: &str, description: &str) -> Response {
        error_redirect(&self.redirect_uri, issuer, error, description, self.state.as_deref())
    }
}

/// A 303 to `location` with the browser endpoints' headers.
pub(super) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    pages::security_headers(headers);
    match HeaderValue::from_str(location) {
        Ok(v) => {
            headers.insert(header::LOCATION, v);
            response
        }
        Err(_) => pages::error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The app's address cannot be used.",
        ),
    }
}

/// The redirect to `redirect_uri` with `pairs` added to its query.
fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The app's redirect URI is not a URL.",
        );
    };
    url.query_pairs_mut().extend_pairs(pairs);
    see_other(url.as_str())
}

fn error_redirect(redirect_uri: &str, issuer: &str, error: &str, description: &str, state: Option<&str>) -> Response {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    redirect_with(redirect_uri, &pairs)
}

/// The redirect to the client with a fresh authorization `code`.
pub(super) fn code_redirect(v: &Validated, issuer: &str, code: &str) -> Response {
    let mut pairs = vec![("code", code)];
    if let Some(state) = v.state.as_deref() {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    redirect_with(&v.redirect_uri, &pairs)
}

fn bad_client(text: &str) -> Response {
    pages::error(StatusCode::BAD_REQUEST, "This app cannot sign you in", text)
}

pub(super) fn unavailable(e: &EngineError) -> Response {
    tracing::error!(error = %e, "directory lookup failed");
    let mut response = pages::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again later",
        "The server cannot check this request right now. Please try again in a moment.",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

/// Whether `challenge` is an RFC 7636 `S256` challenge: the unpadded base64url of a SHA-256
/// hash, 43 characters.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The client and redirect URI of `params`, when the directory says the app may ask
/// (an active user app of an active account, the URI one of its own, exactly); otherwise the
/// error page.
async fn client(oauth: &OAuth, params: &RequestParams, repeated: Option<&str>) -> Result<(App, String), Response> {
    if let Some(name @ ("client_id" | "redirect_uri")) = repeated {
        return Err(bad_client(&format!("The request names `{name}` twice.")));
    }
    let Some(client_id) = params.client_id.as_deref() else {
        return Err(bad_client(
            "The request does not say which app is asking (no client_id).",
        ));
    };
    let Some(redirect_uri) = params.redirect_uri.as_deref() else {
        return Err(bad_client(
            "The request does not say where to return (no redirect_uri).",
        ));
    };
    let Ok(client_id) = Name::parse(client_id) else {
        return Err(bad_client(UNKNOWN_APP));
    };
    match oauth.directory.authorization_client(&client_id, redirect_uri).await {
        Ok(Some((app, account))) => Ok((app, account.name)),
        Ok(None) | Err(EngineError::Domain(_)) => Err(bad_client(&why_not(oauth, &client_id).await)),
        Err(e) => Err(unavailable(&e)),
    }
}

const UNKNOWN_APP: &str = "No app with this client_id is registered here.";

/// Why the directory refused a client, for the error page's reader (the app's developer,
/// usually). Only an explanation: the directory has decided.
async fn why_not(oauth: &OAuth, client_id: &Name) -> String {
    let Ok(Some(state)) = oauth.directory.find_app(client_id).await else {
        return UNKNOWN_APP.into();
    };
    let app = state.app();
    let account_active = matches!(
        oauth.directory.find_account(&app.account_id).await,
        Ok(Some(a)) if a.status == AccountStatus::Active
    );
    if app.status != AppStatus::Active {
        "This app has been disabled.".into()
    } else if app.kind != AppKind::User {
        "This app is a server app: it acts for its own account and cannot ask users for access.".into()
    } else if !account_active {
        "This app's account has been disabled.".into()
    } else {
        "The redirect_uri is not one this app registered.".into()
    }
}

/// Checks the whole request: an HTML error page for a wrong client or redirect URI, the
/// redirect with `error` for the rest.
pub(super) async fn validate(
    oauth: &OAuth,
    params: &RequestParams,
    repeated: Option<&str>,
) -> Result<Validated, Response> {
    let (app, account_name) = client(oauth, params, repeated).await?;
    let redirect_uri = params.redirect_uri.clone().unwrap_or_default();
    let issuer = oauth.public_url.as_str();
    let refuse = |error: &str, description: &str| {
        error_redirect(&redirect_uri, issuer, error, description, params.state.as_deref())
    };
    if let Some(name) = repeated {
        return Err(refuse("invalid_request", &format!("`{name}` is repeated")));
    }
    match params.response_type.as_deref() {
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
        None => return Err(refuse("invalid_request", "`response_type` is required")),
    }
    match params.code_challenge_method.as_deref() {
        Some("S256") => {}
        Some(other) => {
            return Err(refuse(
                "invalid_request",
                &format!("code_challenge_method `{other}` is not supported; use S256"),
            ));
        }
        None => {
            return Err(refuse(
                "invalid_request",
                "PKCE is required: send code_challenge_method=S256",
            ));
        }
    }
    let code_challenge = match params.code_challenge.as_deref() {
        Some(c) if is_s256_challenge(c) => c.to_owned(),
        Some(_) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge must be the unpadded base64url SHA-256 of the verifier (43 characters)",
            ));
        }
        None => return Err(refuse("invalid_request", "`code_challenge` is required")),
    };
    let holds = |s: Scope| app.scopes.contains(&s);
    let scopes: Vec<Scope> = match params.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => app.scopes.clone(),
        Some(raw) => {
            let mut wanted = Vec::new();
            for name in raw.split_whitespace() {
                let Some(scope) = Scope::parse(name) else {
                    return Err(refuse("invalid_scope", &format!("scope `{name}` is unknown")));
                };
                if !holds(scope) {
                    return Err(refuse(
                        "invalid_scope",
                        &format!("scope `{name}` is not one this app may ask for"),
                    ));
                }
                wanted.push(scope);
            }
            wanted
        }
    };
    let scopes: Vec<Scope> = Scope::ALL.into_iter().filter(|s| scopes.contains(s)).collect();
    if scopes.is_empty() {
        return Err(refuse("invalid_scope", "the app holds no scope to ask for"));
    }
    Ok(Validated {
        account_name,
        redirect_uri,
        scopes,
        state: params.state.clone(),
        code_challenge,
        params: params.clone(),
        app,
    })
}

/// The consent page for `v`, for the signed-in `session`.
fn consent(v: &Validated, session: &session::SessionClaims) -> Response {
    let csrf = csrf_token(SESSION_FORMS, &session.sid);
    let mut hidden = v.params.hidden();
    hidden.push(("csrf", csrf.clone()));
    let page = pages::consent(&pages::ConsentPage {
        app_name: &v.app.name,
        app_account: &v.account_name,
        user: &session.email,
        scopes: &v.scopes,
        hidden,
        csrf: &csrf,
    });
    pages::html(StatusCode::OK, page, &v.redirect_origin())
}

/// Whether the signed-in user's account may authorize the app: its own, or any for a
/// published app (the marketplace).
fn may_authorize(v: &Validated, session: &session::SessionClaims) -> bool {
    v.app.published || v.app.account_id.as_str() == session.acct
}

const NOT_YOURS: &str = "this app is not published: only users of its own account may authorize it";

/// The handler of `GET /oauth/authorize`.
pub async fn authorize_page(State(oauth): State<OAuth>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let form = Form::parse(query.unwrap_or_default().as_bytes());
    let v = match validate(&oauth, &form.request, form.repeated.as_deref()).await {
        Ok(v) => v,
        Err(refusal) => return refusal,
    };
    match session::session(&oauth.tokens, oauth.cookies(), &headers) {
        None => login::login_page(&oauth, &headers, Some(&v), &form.request, "", None),
        Some(s) if !may_authorize(&v, &s) => v.refuse(&oauth.public_url, "access_denied", NOT_YOURS),
        Some(s) => consent(&v, &s),
    }
}

/// The handler of `POST /oauth/authorize`: the consent form's `decision=allow|deny`.
pub async fn decide(State(oauth): State<OAuth>, request: axum::extract::Request) -> Response {
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
    let Some(session) = session::session(&oauth.tokens, oauth.cookies(), &parts.headers) else {
        // The session ended while the consent page was open: sign in again, then consent.
        return match validate(&oauth, &form.request, form.repeated.as_deref()).await {
            Ok(v) => login::login_page(
                &oauth,
                &parts.headers,
                Some(&v),
                &form.request,
                "",
                Some("Your session has ended. Please sign in again."),
            ),
            Err(refusal) => refusal,
        };
    };
    if !csrf_matches(SESSION_FORMS, &session.sid, form.get("csrf")) {
        return forbidden();
    }
    let v = match validate(&oauth, &form.request, form.repeated.as_deref()).await {
        Ok(v) => v,
        Err(refusal) => return refusal,
    };
    if !may_authorize(&v, &session) {
        return v.refuse(&oauth.public_url, "access_denied", NOT_YOURS);
    }
    match form.get("decision") {
        Some("deny") => v.refuse(&oauth.public_url, "access_denied", "the user denied the request"),
        Some("allow") => allow(&oauth, &v, &session).await,
        _ => pages::error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The form must answer Allow or Deny.",
        ),
    }
}

/// The 403 page for a form without its CSRF token, or from another site.
pub(super) fn forbidden() -> Response {
    pages::error(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this page, or it is too old. Go back, reload the page and try again.",
    )
}

/// Allow: the grant is recorded and the browser goes back to the client with its code.
async fn allow(oauth: &OAuth, v: &Validated, session: &session::SessionClaims) -> Response {
    let issuer = oauth.public_url.as_str();
    let Some(user) = session.user() else {
        return forbidden();
    };
    let request = AuthorizeRequest {
        user,
        client_id: v.app.client_id.clone(),
        redirect_uri: v.redirect_uri.clone(),
        scopes: v.scopes.clone(),
        code_challenge: v.code_challenge.clone(),
    };
    match oauth.directory.authorize(request).await {
        Ok(issued) => code_redirect(v, issuer, &issued.code),
        Err(GrantError::InvalidScope(why)) => v.refuse(issuer, "invalid_scope", &why),
        // The app or the user changed since the page was shown (disabled, deactivated): the
        // app hears that access was not given.
        Err(GrantError::UnauthorizedClient(why) | GrantError::InvalidGrant(why)) => {
            v.refuse(issuer, "access_denied", &why)
        }
        Err(GrantError::Engine(e)) => unavailable(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parameters are sorted into the request and the rest; a repeated one is reported.
    #[test]
    fn forms_parse() {
        let f = Form::parse(b"client_id=app_1&state=a%20b&csrf=t&state=x");
        assert_eq!(f.request.client_id.as_deref(), Some("app_1"));
        assert_eq!(f.request.state.as_deref(), Some("a b"));
        assert_eq!(f.get("csrf"), Some("t"));
        assert_eq!(f.repeated.as_deref(), Some("state"));
        assert_eq!(f.request.query(), "client_id=app_1&state=a+b");
    }

    /// Only 43 base64url characters are an S256 challenge.
    #[test]
    fn s256_challenges() {
        assert!(is_s256_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!is_s256_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"));
        assert!(!is_s256_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="));
        assert!(!is_s256_challenge(""));
    }
}
