//! Hands the principal the limits layer authenticated to the handler, so a request's token is
//! verified (or looked up in the cache) once, not once for the limit and again for the handler.

use std::cell::RefCell;
use std::sync::Arc;

use axum::http::HeaderValue;
use zoom_core::principal::Principal;

use crate::{AuthError, Authenticator};

tokio::task_local! {
    /// The request's `Authorization` header and the principal it authenticated as.
    static HANDED: RefCell<Option<(HeaderValue, Principal)>>;
}

/// Runs `future` (the rest of the request) with `principal`, authenticated from `header`,
/// ready for [`Handoff`].
pub(crate) async fn with_principal<F: Future>(handed: Option<(HeaderValue, Principal)>, future: F) -> F::Output {
    HANDED.scope(RefCell::new(handed), future).await
}

/// An authenticator that first takes the principal the limits layer handed over for this very
/// token, and otherwise asks the one it wraps.
pub(crate) struct Handoff(pub(crate) Arc<dyn Authenticator>);

#[async_trait::async_trait]
impl Authenticator for Handoff {
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal, AuthError> {
        let handed = HANDED.try_with(|h| h.borrow_mut().take()).ok().flatten();
        if let Some((header, principal)) = handed
            && super::bearer_of(&header) == Some(bearer_token)
        {
            return Ok(principal);
        }
        self.0.authenticate(bearer_token).await
    }

    fn forget(&self, account: &zoom_core::id::AccountId, subject: Option<&zoom_core::id::Name>) {
        self.0.forget(account, subject);
    }
}
