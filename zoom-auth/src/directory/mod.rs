//! [`Directory`]: the identity service. It runs the commands of accounts, users, apps and grants through
//! zoom-core's runner and answers their queries, as the engine does for meetings. Password
//! hashing and secret generation happen here, outside the pure decisions; only their hashes
//! reach a command.
//!
//! # Layout
//! - `accounts`: accounts, and an account with its admin app.
//! - `users`: users and the server-wide email claim.
//! - `apps`: apps (OAuth clients) and client authentication.
//! - `grants`: OAuth 2 grants: consent, codes, refresh tokens, RFC 7009 and 7662.
//! - `authorizations`: grants as resources (list, revoke), the revocation sweeps, and the
//!   access an event of the log takes away.

mod accounts;
mod apps;
mod authorizations;
mod grants;
mod users;

pub use apps::{AppInput, AppWithSecret};
pub use authorizations::AccessChange;
pub use grants::{AuthorizeRequest, GrantError, IssuedCode, UserTokens};
pub use users::{UserChanges, UserInput};

use std::sync::Arc;

use zoom_core::DomainError;
use zoom_core::clock::{Clock, Entropy};
use zoom_core::engine::{EngineError, Runner, RunnerConfig};
use zoom_core::id::AccountId;
use zoom_core::principal::{Principal, Scope};
use zoom_core::store::Store;

use crate::account::Accounts;
use crate::app::Apps;
use crate::grant::Grants;
use crate::grant::key::GrantKeys;
use crate::ids;
use crate::password::{self, PasswordHash, PasswordParams};
use crate::user::Users;
use crate::user::email::EmailClaims;

/// How a [`Directory`] is set up.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// The operator's account: its apps alone may hold `platform`.
    pub platform_account: AccountId,
    /// The runners' settings.
    pub runner: RunnerConfig,
    /// The Argon2id cost of new password hashes.
    pub password: PasswordParams,
}

impl DirectoryConfig {
    /// Defaults for a platform account.
    pub fn new(platform_account: AccountId) -> Self {
        Self {
            platform_account,
            runner: RunnerConfig::default(),
            password: PasswordParams::default(),
        }
    }
}

/// The identity service over a store. Cheap to clone.
#[derive(Clone)]
pub struct Directory {
    accounts: Arc<Runner<Accounts>>,
    users: Arc<Runner<Users>>,
    emails: Arc<Runner<EmailClaims>>,
    apps: Arc<Runner<Apps>>,
    grants: Arc<Runner<Grants>>,
    grant_keys: Arc<Runner<GrantKeys>>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    config: DirectoryConfig,
    /// A hash that no password matches, verified for an unknown email so that a login takes
    /// as long whether or not the email names a user.
    decoy: PasswordHash,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn password_error(e: password::PasswordError) -> EngineError {
    EngineError::Domain(ids::invalid("password", e.to_string()))
}

fn not_found(resource: &'static str, id: &str) -> EngineError {
    EngineError::Domain(DomainError::NotFound {
        resource,
        id: id.to_owned(),
    })
}

fn require_any(principal: &Principal, scopes: &[Scope]) -> Result<(), EngineError> {
    match scopes.iter().find(|s| principal.has(**s)) {
        Some(_) => Ok(()),
        None => Err(EngineError::Domain(DomainError::InsufficientScope(scopes[0]))),
    }
}

impl Directory {
    /// A directory over a store.
    ///
    /// # Errors
    /// `Invalid` `password` when the Argon2 parameters are outside what it allows.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        config: DirectoryConfig,
    ) -> Result<Self, EngineError> {
        let runner = |c: &DirectoryConfig| c.runner.clone();
        let decoy = password::hash("decoy password never given out", config.password, entropy.as_ref())
            .map_err(password_error)?;
        Ok(Self {
            accounts: Arc::new(Runner::new(
                Accounts,
                store.clone(),
                clock.clone(),
                entropy.clone(),
                runner(&config),
            )),
            users: Arc::new(Runner::new(
                Users,
                store.clone(),
                clock.clone(),
                entropy.clone(),
                runner(&config),
            )),
            emails: Arc::new(Runner::new(
                EmailClaims,
                store.clone(),
                clock.clone(),
                entropy.clone(),
                runner(&config),
            )),
            apps: Arc::new(Runner::new(
                Apps {
                    platform_account: config.platform_account.clone(),
                },
                store.clone(),
                clock.clone(),
                entropy.clone(),
                runner(&config),
            )),
            grants: Arc::new(Runner::new(
                Grants,
                store.clone(),
                clock.clone(),
                entropy.clone(),
                runner(&config),
            )),
            grant_keys: Arc::new(Runner::new(
                GrantKeys,
                store.clone(),
                clock.clone(),
                entropy.clone(),
                runner(&config),
            )),
            store,
            clock,
            entropy,
            config,
            decoy,
        })
    }

    /// The platform account's id.
    pub fn platform_account(&self) -> &AccountId {
        &self.config.platform_account
    }
}
