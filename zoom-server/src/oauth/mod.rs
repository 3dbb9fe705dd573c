//! The OAuth 2.0 authorization server's HTTP endpoints (docs/auth.md).
//!
//! - [`token`]: `POST /oauth/token` (client credentials, authorization code, refresh).
//! - [`revoke`]: `POST /oauth/revoke` (RFC 7009); [`introspect`]: `POST /oauth/introspect`
//!   (RFC 7662).
//! - `client`: client authentication (HTTP Basic, body parameters, or a public client's id);
//!   `form`: the form bodies; [`error`]: RFC 6749 error answers.

mod client;
mod error;
mod form;
pub mod introspect;
pub mod revoke;
pub mod token;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;

pub use error::OAuthError;
pub use form::MAX_FORM;
pub use token::token;

use crate::throttle::FailureThrottle;
use crate::tokens::TokenIssuer;

/// What the token endpoint needs.
#[derive(Clone)]
pub struct OAuth {
    /// Accounts, users, apps and grants: a disabled account's apps get no token.
    pub directory: zoom_auth::Directory,
    /// Checks access tokens for introspection, as the API's bearer check does.
    pub bearer: Arc<crate::bearer::BearerTokens>,
    /// Issues the tokens.
    pub issuer: Arc<dyn TokenIssuer>,
    /// Counts failed client authentications.
    pub throttle: Arc<FailureThrottle>,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth").finish_non_exhaustive()
    }
}

/// Every route of the authorization server, over `oauth`.
pub fn routes(oauth: OAuth) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/oauth/introspect", post(introspect::introspect))
        .with_state(oauth)
}
