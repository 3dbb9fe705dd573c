//! Identity: the [`Authenticator`] seam that turns bearer tokens into principals, its error, and
//! [`CachingAuthenticator`], a memo for costly verifiers.

mod cache;

pub use cache::CachingAuthenticator;
use zoom_core::id::{AccountId, Name};
use zoom_core::principal::Principal;

/// Turns bearer tokens into principals: the seam where an embedder plugs their identity provider
/// (the server plugs its own OAuth access tokens).
///
/// Called once per authenticated request, before the handler reads the body. Implementations
/// should not block the runtime; they may be called concurrently.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Turns a bearer token into the caller's principal. An Err becomes 401 problem+json with the
    /// error's code.
    ///
    /// # Errors
    /// [`AuthError`] when the token is unknown, expired, malformed or revoked.
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal, AuthError>;

    /// Told that the credentials of an account (`subject: None`) or of one of its apps or users
    /// (`Some`) stopped working: an account disabled, an app disabled or its secret rotated.
    /// An authenticator that remembers accepted tokens drops theirs, so this process refuses
    /// them at once; other processes refuse them when their memo expires. The default does
    /// nothing (an authenticator that remembers nothing has nothing to drop).
    fn forget(&self, account: &AccountId, subject: Option<&Name>) {
        let _ = (account, subject);
    }
}

/// A refused bearer token: answered 401 with `code` and `detail` and `WWW-Authenticate: Bearer`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct AuthError {
    /// The stable problem code, e.g. `invalid_token`.
    pub code: &'static str,
    /// Why, for a person to read (shown to the client).
    pub detail: String,
}

impl AuthError {
    /// `invalid_token` with this detail.
    pub fn invalid_token(detail: impl Into<String>) -> Self {
        Self {
            code: "invalid_token",
            detail: detail.into(),
        }
    }
}

/// A shared authenticator is one: the server hands the same check to its API (behind a
/// [`CachingAuthenticator`]) and to its own introspection endpoint.
#[async_trait::async_trait]
impl<T: Authenticator + ?Sized> Authenticator for std::sync::Arc<T> {
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal, AuthError> {
        (**self).authenticate(bearer_token).await
    }

    fn forget(&self, account: &AccountId, subject: Option<&Name>) {
        (**self).forget(account, subject);
    }
}
