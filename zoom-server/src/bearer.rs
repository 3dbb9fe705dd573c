//! The server's bearer-token check: its own access tokens, refused when their account, app,
//! authorization or user no longer stands. Both the API (as its [`zoom_http::Authenticator`])
//! and introspection (`POST /oauth/introspect`) ask it, so they never disagree.
//!
//! The checks read the store, once per token per [`crate::AUTH_CACHE_TTL`] behind the API's
//! cache (the identity routes make the cache forget what they disable). A user token is
//! re-narrowed by its user's role at every check: a demoted admin loses the account-wide powers
//! with the cache, not with the token's expiry.

use std::sync::Arc;

use zoom_auth::account::AccountStatus;
use zoom_auth::app::AppStatus;
use zoom_auth::grant::GrantStatus;
use zoom_auth::user::{Role, UserStatus};
use zoom_core::engine::EngineError;
use zoom_core::principal::{Principal, PrincipalKind};
use zoom_http::AuthError;

use crate::tokens::{AccessTokens, Verified};

/// Checks the server's access tokens.
pub struct BearerTokens {
    tokens: Arc<AccessTokens>,
    directory: zoom_auth::Directory,
}

impl std::fmt::Debug for BearerTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerTokens").finish_non_exhaustive()
    }
}

fn refused(detail: impl Into<String>) -> AuthError {
    AuthError::invalid_token(detail)
}

fn failed(e: &EngineError) -> AuthError {
    tracing::error!(error = %e, "directory lookup failed");
    refused("the token could not be checked; retry")
}

impl BearerTokens {
    /// The check over these tokens and this directory.
    pub fn new(tokens: Arc<AccessTokens>, directory: zoom_auth::Directory) -> Self {
        Self { tokens, directory }
    }

    /// The token's claims and the principal it names now, if it still stands.
    ///
    /// # Errors
    /// [`AuthError`] `invalid_token` for a bad, expired or foreign token, a disabled account
    /// or app, a revoked authorization, a deactivated user, or a store failure.
    pub async fn check(&self, bearer_token: &str) -> Result<(Verified, Principal), AuthError> {
        let verified = self
            .tokens
            .verify_access(bearer_token)
            .map_err(|e| refused(e.to_string()))?;
        let mut principal = verified.principal.clone();
        // An account unknown to the directory is one the server never made (an embedder's, or
        // one older than the directory): its tokens stand on their signature.
        if let Some(account) = self
            .directory
            .find_account(&principal.account_id)
            .await
            .map_err(|e| failed(&e))?
            && account.status == AccountStatus::Disabled
        {
            return Err(refused("the token's account is disabled"));
        }
        let app = match self.directory.find_app(&verified.client_id).await {
            Ok(app) => app,
            // A client id that names no app stream (too long for one) is no app of ours.
            Err(EngineError::Domain(_)) => None,
            Err(e) => return Err(failed(&e)),
        };
        let app_stands = app.is_some_and(|s| {
            let app = s.app();
            // A user token acts in its user's account, which may not be the (published) app's.
            app.status == AppStatus::Active
                && (principal.kind == PrincipalKind::User || app.account_id == principal.account_id)
        });
        if !app_stands {
            return Err(refused("the token's app is disabled or unknown"));
        }
        if let Some(grant_id) = &verified.grant {
            let grant = self.directory.find_grant(grant_id).await.map_err(|e| failed(&e))?;
            let grant_stands = grant.is_some_and(|g| {
                g.status == GrantStatus::Active
                    && g.account_id == principal.account_id
                    && g.user_id == principal.subject
                    && g.client_id == verified.client_id
            });
            if !grant_stands {
                return Err(refused("the token's authorization was revoked"));
            }
            let user = match self.directory.user(&principal, &principal.subject).await {
                Ok(user) => user,
                Err(EngineError::Domain(_)) => return Err(refused("the token's user is unknown")),
                Err(e) => return Err(failed(&e)),
            };
            if user.status != UserStatus::Active {
                return Err(refused("the token's user is deactivated"));
            }
            let held: Vec<_> = principal.scopes.iter().copied().collect();
            principal.scopes = zoom_auth::Directory::user_token_scopes(user.role, &held)
                .into_iter()
                .collect();
            principal.account_wide = user.role != Role::Member;
        }
        Ok((verified, principal))
    }
}

#[async_trait::async_trait]
impl zoom_http::Authenticator for BearerTokens {
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal, AuthError> {
        self.check(bearer_token).await.map(|(_, principal)| principal)
    }
}
