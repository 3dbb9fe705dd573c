//! The OAuth 2.0 authorization server's HTTP endpoints (docs/auth.md).
//!
//! - [`token`]: `POST /oauth/token` (client credentials, authorization code, refresh).
//! - [`revoke`]: `POST /oauth/revoke` (RFC 7009); [`introspect`]: `POST /oauth/introspect`
//!   (RFC 7662).
//! - `client`: client authentication (HTTP Basic, body parameters, or a public client's id);
//!   `form`: the form bodies; [`error`]: RFC 6749 error answers.
//! - [`metadata`]: `GET /.well-known/oauth-authorization-server` (RFC 8414) and
//!   `GET /oauth/jwks`.
//! - [`authorize`]: `GET` and `POST /oauth/authorize`, the authorization endpoint (consent).
//! - [`login`]: `POST /oauth/login` and `POST /oauth/logout`, with the login throttle.
//! - [`session`]: the signed session cookie and the CSRF tokens.
//! - [`pages`]: the HTML pages.

pub mod authorize;
mod client;
mod error;
mod form;
pub mod introspect;
pub mod login;
pub mod metadata;
pub mod pages;
pub mod revoke;
pub mod session;
pub mod token;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use error::OAuthError;
pub use form::MAX_FORM;
pub use token::token;

use crate::throttle::FailureThrottle;
use crate::tokens::{AccessTokens, TokenIssuer};

/// What the authorization server's endpoints need.
#[derive(Clone)]
pub struct OAuth {
    /// Accounts, users, apps and grants: a disabled account's apps get no token.
    pub directory: zoom_auth::Directory,
    /// Checks access tokens for introspection, as the API's bearer check does.
    pub bearer: Arc<crate::bearer::BearerTokens>,
    /// The API's authenticator, told to forget the tokens of what a revocation stops.
    pub auth: Arc<dyn zoom_http::Authenticator>,
    /// Issues the tokens.
    pub issuer: Arc<dyn TokenIssuer>,
    /// Counts failed client authentications.
    pub throttle: Arc<FailureThrottle>,
    /// The public URL: the issuer, the base of the metadata's endpoints, and the only `Origin`
    /// the browser forms accept.
    pub public_url: String,
    /// Signs and verifies the session cookie (with the access-token key ring).
    pub tokens: Arc<AccessTokens>,
    /// Checks the login form's email and password.
    pub login: Arc<dyn zoom_auth::Login>,
    /// Counts failed logins per login name and per address.
    pub login_throttle: Arc<FailureThrottle>,
    /// The access-token public keys, served at `/oauth/jwks`.
    pub access_jwks: Arc<serde_json::Value>,
    /// Session ids and CSRF secrets.
    pub entropy: Arc<dyn zoom_core::clock::Entropy>,
}

impl OAuth {
    /// The cookie settings: `Secure` when the public URL is https.
    pub fn cookies(&self) -> session::Cookies {
        session::Cookies::for_public_url(&self.public_url)
    }
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// Every route of the authorization server, over `oauth`.
pub fn routes(oauth: OAuth) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/oauth/introspect", post(introspect::introspect))
        .route("/.well-known/oauth-authorization-server", get(metadata::metadata))
        .route("/oauth/jwks", get(metadata::jwks))
        .route(
            "/oauth/authorize",
            get(authorize::authorize_page).post(authorize::decide),
        )
        .route("/oauth/login", post(login::login))
        .route("/oauth/logout", post(login::logout))
        .with_state(oauth)
}
