//! The login session and the CSRF tokens of the browser endpoints.
//!
//! A session is stateless: a JWT signed with the access-token key ring (which lives in the
//! store, so every instance on one PostgreSQL verifies what another signed) with its own
//! audience, [`SESSION_AUDIENCE`], so it is never accepted as an access token nor an access
//! token as a session. It lives [`SESSION_TTL_SECS`] and carries a random session id.
//! Signing out clears the cookie; a copy of the cookie taken before stays valid until it
//! expires (nothing is stored to revoke it).
//!
//! CSRF: forms carry a token the server derives from a secret the browser holds in an
//! `HttpOnly` cookie and another site cannot read (double submit): after login the session id,
//! before it a random value in the [`LOGIN_CSRF_COOKIE`]. A form whose token does not match is
//! a 403 page, and so is one whose `Origin` names another site.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zoom_core::clock::Entropy;

use crate::tokens::AccessTokens;

/// The `aud` of session tokens.
pub const SESSION_AUDIENCE: &str = "zoom-session";

/// How long a login lasts: 8 hours.
pub const SESSION_TTL_SECS: i64 = 8 * 3600;

/// How long the login form's CSRF cookie lasts: 1 hour to fill the form in.
pub const LOGIN_CSRF_TTL_SECS: i64 = 3600;

/// The name of the session cookie over plain HTTP.
pub const SESSION_COOKIE: &str = "zoom_session";

/// The name of the session cookie over HTTPS: the `__Host-` prefix makes browsers refuse it
/// unless it is `Secure`, for `Path=/` and without `Domain`, so a sibling host cannot plant one.
pub const SECURE_SESSION_COOKIE: &str = "__Host-zoom_session";

/// The cookie whose value the login form's CSRF token is derived from.
pub const LOGIN_CSRF_COOKIE: &str = "zoom_login_csrf";

/// The claims of a session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// This server (the public URL).
    pub iss: String,
    /// Always [`SESSION_AUDIENCE`].
    pub aud: String,
    /// The user's id.
    pub sub: String,
    /// The user's account.
    pub acct: String,
    /// The user's role when they signed in (the directory reads the current one when it
    /// matters).
    pub role: zoom_auth::user::Role,
    /// The email the user signed in with, to show who is signed in.
    pub email: String,
    /// The random session id, which the CSRF tokens are bound to.
    pub sid: String,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expires at.
    pub exp: i64,
}

/// The cookie settings of one server: its name and whether it is `Secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cookies {
    secure: bool,
}

impl Cookies {
    /// The settings for a server whose public URL is `public_url`: `Secure` cookies when it is
    /// `https`.
    pub fn for_public_url(public_url: &str) -> Self {
        Self {
            secure: public_url.starts_with("https://"),
        }
    }

    /// The session cookie's name.
    pub fn session_name(self) -> &'static str {
        if self.secure {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    fn attributes(self, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
    }

    /// `Set-Cookie` for a new session.
    pub fn set_session(self, token: &str) -> HeaderValue {
        cookie_header(format!(
            "{}={token}; {}",
            self.session_name(),
            self.attributes(SESSION_TTL_SECS)
        ))
    }

    /// `Set-Cookie` that removes the session.
    pub fn clear_session(self) -> HeaderValue {
        cookie_header(format!("{}=; {}", self.session_name(), self.attributes(0)))
    }

    /// `Set-Cookie` for the login form's CSRF secret.
    pub fn set_login_csrf(self, secret: &str) -> HeaderValue {
        cookie_header(format!(
            "{LOGIN_CSRF_COOKIE}={secret}; {}",
            self.attributes(LOGIN_CSRF_TTL_SECS)
        ))
    }

    /// `Set-Cookie` that removes the login form's CSRF secret.
    pub fn clear_login_csrf(self) -> HeaderValue {
        cookie_header(format!("{LOGIN_CSRF_COOKIE}=; {}", self.attributes(0)))
    }
}

/// The values are base64url tokens and fixed attributes, always a valid header value.
fn cookie_header(value: String) -> HeaderValue {
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A fresh random value: 32 bytes, base64url.
pub fn random_token(entropy: &dyn Entropy) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(entropy.key_bytes())
}

/// Signs a new session for `user`, who signed in as `email`.
///
/// # Errors
/// [`crate::tokens::AccessError::Signing`].
pub fn sign_session(
    tokens: &AccessTokens,
    entropy: &dyn Entropy,
    user: &zoom_auth::UserRef,
    email: &str,
) -> Result<String, crate::tokens::AccessError> {
    let now = tokens.now();
    tokens.sign_claims(&SessionClaims {
        iss: tokens.issuer().to_owned(),
        aud: SESSION_AUDIENCE.to_owned(),
        sub: user.user_id.to_string(),
        acct: user.account_id.to_string(),
        role: user.role,
        email: email.to_owned(),
        sid: random_token(entropy),
        iat: now,
        nbf: now,
        exp: now + SESSION_TTL_SECS,
    })
}

/// The valid session the request's cookie holds, if any.
pub fn session(tokens: &AccessTokens, cookies: Cookies, headers: &HeaderMap) -> Option<SessionClaims> {
    let token = cookie(headers, cookies.session_name())?;
    tokens.verify_claims(token, SESSION_AUDIENCE).ok()
}

impl SessionClaims {
    /// The signed-in user, as the directory names users; `None` for ids that do not parse
    /// (never for a session this server signed).
    pub fn user(&self) -> Option<zoom_auth::UserRef> {
        Some(zoom_auth::UserRef {
            account_id: zoom_core::id::AccountId::parse(&self.acct).ok()?,
            user_id: zoom_core::id::UserId::parse(&self.sub).ok()?,
            role: self.role,
        })
    }
}

/// The CSRF token of forms bound to `secret` (a session id or the login cookie's value).
/// Hashed, so the page never shows the secret itself; tagged, so a token of one kind of form
/// is not another's.
pub fn csrf_token(purpose: &str, secret: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"zoom-csrf\0");
    hash.update(purpose.as_bytes());
    hash.update(b"\0");
    hash.update(secret.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash.finalize())
}

/// Whether the form's `submitted` token is the one bound to `secret`, in constant time.
pub fn csrf_matches(purpose: &str, secret: &str, submitted: Option<&str>) -> bool {
    let Some(submitted) = submitted else { return false };
    let expected = csrf_token(purpose, secret);
    bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

/// Whether the request's `Origin`, when it has one that names a site, is this server's.
///
/// Browsers send `Origin: null` for a form of a page whose referrer policy is `no-referrer`
/// (ours are), and no `Origin` at all in some cases; then the CSRF token alone decides.
pub fn origin_allowed(headers: &HeaderMap, public_url: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else { return false };
    if origin == "null" {
        return true;
    }
    match url::Url::parse(public_url) {
        Ok(own) => own.origin().ascii_serialization() == origin,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cookies are found among several, whatever the spacing.
    #[test]
    fn cookies_parse() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; zoom_session=tok"));
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, "zoom_session"), Some("tok"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }

    /// A token matches its own secret and purpose only.
    #[test]
    fn csrf_tokens_are_bound() {
        let t = csrf_token("consent", "sid-1");
        assert!(csrf_matches("consent", "sid-1", Some(&t)));
        assert!(!csrf_matches("consent", "sid-2", Some(&t)));
        assert!(!csrf_matches("login", "sid-1", Some(&t)));
        assert!(!csrf_matches("consent", "sid-1", None));
    }

    /// `Origin` of another site is refused; ours, `null` and none are left to the token.
    #[test]
    fn origins() {
        let with = |o: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ORIGIN, HeaderValue::from_static(o));
            h
        };
        let own = "https://zoom.example";
        assert!(origin_allowed(&HeaderMap::new(), own));
        assert!(origin_allowed(&with("https://zoom.example"), own));
        assert!(origin_allowed(&with("null"), own));
        assert!(!origin_allowed(&with("https://evil.example"), own));
        assert!(!origin_allowed(&with("http://zoom.example"), own));
    }

    /// Over HTTPS the session cookie is `Secure` and `__Host-`; over HTTP neither.
    #[test]
    fn cookie_attributes() {
        let s = Cookies::for_public_url("https://zoom.example").set_session("t");
        assert_eq!(
            s.to_str().unwrap_or_default(),
            "__Host-zoom_session=t; Path=/; Max-Age=28800; HttpOnly; SameSite=Lax; Secure"
        );
        let p = Cookies::for_public_url("http://127.0.0.1:8080").set_session("t");
        assert_eq!(
            p.to_str().unwrap_or_default(),
            "zoom_session=t; Path=/; Max-Age=28800; HttpOnly; SameSite=Lax"
        );
    }
}
