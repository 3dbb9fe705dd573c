//! The OAuth 2.0 authorization server's HTTP endpoints (docs/auth.md).
//!
//! - [`token`]: `POST /oauth/token`.
//! - [`client`]: client authentication (HTTP Basic or body parameters).
//! - [`error`]: RFC 6749 error answers.

mod client;
mod error;
mod token;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;

pub use error::OAuthError;
pub use token::{MAX_FORM, token};

use crate::apps::Apps;
use crate::throttle::FailureThrottle;
use crate::tokens::TokenIssuer;

/// What the token endpoint needs.
#[derive(Clone)]
pub struct OAuth {
    /// The registered apps.
    pub apps: Apps,
    /// The accounts: a disabled account's apps get no token.
    pub directory: zoom_auth::Directory,
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
    Router::new().route("/oauth/token", post(token)).with_state(oauth)
}
