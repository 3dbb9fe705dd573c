//! The login seam: who an email and a password name. The server's default is its own user
//! directory ([`Directory`]); an embedder plugs in its own identity provider by implementing
//! [`Login`].

use async_trait::async_trait;
use zoom_core::engine::EngineError;
use zoom_core::id::{AccountId, UserId};

use crate::account::AccountStatus;
use crate::directory::Directory;
use crate::password;
use crate::user::{Role, UserStatus};

/// The user a login names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    /// Their account.
    pub account_id: AccountId,
    /// Their id in it.
    pub user_id: UserId,
    /// Their role.
    pub role: Role,
}

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// The email and password name no active user of an active account: an unknown email, a
    /// wrong password, a user without one, a deactivated user, a disabled account. One answer
    /// for all, so the form never says which part was wrong; show the form again.
    #[error("the email or the password is wrong")]
    InvalidCredentials,
    /// The identity provider failed (the store, the network). Retry later; HTTP 503.
    #[error("login unavailable: {0}")]
    Unavailable(String),
}

/// Checks an email and a password.
///
/// Contract: `login` answers [`LoginError::InvalidCredentials`] for every failure the user
/// could cause, without saying which, and takes about as long for an unknown email as for a
/// known one. It may be slow (password hashing is, on purpose); callers limit failed attempts.
#[async_trait]
pub trait Login: Send + Sync {
    /// The user `email` and `password` name.
    ///
    /// # Errors
    /// [`LoginError`].
    async fn login(&self, email: &str, password: &str) -> Result<UserRef, LoginError>;
}

#[async_trait]
impl Login for Directory {
    async fn login(&self, email: &str, password: &str) -> Result<UserRef, LoginError> {
        let unavailable = |e: EngineError| LoginError::Unavailable(e.to_string());
        let found = match self.credentials(email).await {
            Ok(found) => found,
            Err(EngineError::Domain(_)) => None,
            Err(e) => return Err(unavailable(e)),
        };
        let Some((user, Some(hash))) = found else {
            // Still hash, so an unknown email costs what a known one does.
            let _ = password::verify(password, self.decoy());
            return Err(LoginError::InvalidCredentials);
        };
        if !password::verify(password, &hash) || user.status != UserStatus::Active {
            return Err(LoginError::InvalidCredentials);
        }
        match self.find_account(&user.account_id).await.map_err(unavailable)? {
            Some(a) if a.status == AccountStatus::Active => Ok(UserRef {
                account_id: user.account_id,
                user_id: user.id,
                role: user.role,
            }),
            _ => Err(LoginError::InvalidCredentials),
        }
    }
}
