//! Registered apps (OAuth clients), kept in the event log (`app.registered` on `sys_app_{id}`) so
//! they persist with the store, and changed through zoom-core's runner like every other stream.
//! Only the SHA-256 of a client secret is stored.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zoom_core::DomainError;
use zoom_core::aggregate::{Aggregate, Context};
use zoom_core::clock::{Clock, Entropy};
use zoom_core::engine::{EngineError, Runner, RunnerConfig};
use zoom_core::event::{Event, StreamId};
use zoom_core::id::{AccountId, Name};
use zoom_core::principal::Scope;
use zoom_core::store::Store;
use zoom_core::system::{AppRegistered, SystemEvent, app_stream};

/// A registered app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// Its client id.
    pub client_id: Name,
    /// The account it acts for.
    pub account_id: AccountId,
    /// A human-readable name.
    pub name: String,
    /// The scopes it may be granted.
    pub scopes: Vec<Scope>,
    secret_sha256: String,
}

impl App {
    /// Whether `secret` is this app's client secret (constant time).
    pub fn secret_matches(&self, secret: &str) -> bool {
        let given = hex::encode(Sha256::digest(secret.as_bytes()));
        given.as_bytes().ct_eq(self.secret_sha256.as_bytes()).into()
    }
}

/// Parses a client id: 1 to 120 characters of `A-Z a-z 0-9 _ . : -`.
pub fn parse_client_id(raw: &str) -> Option<Name> {
    let ok =
        !raw.is_empty() && raw.len() <= 120 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
    if ok { Name::parse(raw).ok() } else { None }
}

/// Why the registry failed. Each is a store problem: the server logs it and answers 500.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store failed or holds a row that does not decode.
    #[error("app registry: {0}")]
    Store(String),
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        AppError::Store(e.to_string())
    }
}

/// A command on an app's stream.
#[derive(Debug, Clone, Serialize)]
pub enum AppCommand {
    /// Registers the app, or re-registers it with a new secret, account, name or scopes.
    Register {
        /// The account it acts for.
        account_id: AccountId,
        /// A human-readable name.
        name: String,
        /// SHA-256 of the client secret, hex.
        #[serde(skip)]
        secret_sha256: String,
        /// The scopes it may be granted.
        scopes: Vec<Scope>,
    },
}

/// The app aggregate: one system stream per app (`sys_app_{client_id}`), written by the server
/// itself through zoom-core's runner, like every other stream.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppRegistry;

impl Aggregate for AppRegistry {
    type Id = Name;
    type State = Option<App>;
    type Command = AppCommand;
    type Event = AppRegistered;
    type Error = DomainError;

    const KIND: &'static str = "app";

    fn stream(&self, client_id: &Name) -> Result<StreamId, DomainError> {
        StreamId::new(app_stream(client_id)).map_err(|reason| DomainError::Invalid {
            field: "client_id".into(),
            message: reason,
        })
    }

    fn scope(&self, _command: &AppCommand) -> Option<Scope> {
        Some(Scope::Admin)
    }

    fn causation(&self, _command: &AppCommand) -> String {
        "app.register".into()
    }

    fn decide(
        &self,
        state: &Option<App>,
        command: &AppCommand,
        ctx: &Context<'_, Name>,
    ) -> Result<Vec<AppRegistered>, DomainError> {
        let AppCommand::Register {
            account_id,
            name,
            secret_sha256,
            scopes,
        } = command;
        // Registering the same app with the same secret, account and scopes again writes nothing.
        if let Some(app) = state
            && bool::from(app.secret_sha256.as_bytes().ct_eq(secret_sha256.as_bytes()))
            && &app.account_id == account_id
            && &app.scopes == scopes
        {
            return Ok(vec![]);
        }
        Ok(vec![AppRegistered {
            client_id: ctx.id.clone(),
            account_id: account_id.clone(),
            name: name.clone(),
            secret_sha256: secret_sha256.clone(),
            scopes: scopes.clone(),
            registered_at: ctx.now,
        }])
    }

    fn apply(state: &mut Option<App>, event: &AppRegistered, _version: u64) {
        *state = Some(App {
            client_id: event.client_id.clone(),
            account_id: event.account_id.clone(),
            name: event.name.clone(),
            scopes: event.scopes.clone(),
            secret_sha256: event.secret_sha256.clone(),
        });
    }

    fn narrow(event: Event) -> Option<AppRegistered> {
        match event {
            Event::System(SystemEvent::AppRegistered(r)) => Some(r),
            _ => None,
        }
    }

    fn widen(event: &AppRegistered) -> Event {
        Event::System(SystemEvent::AppRegistered(event.clone()))
    }

    fn exists(state: &Option<App>) -> bool {
        state.is_some()
    }

    fn account(&self, state: &Option<App>) -> Option<AccountId> {
        state.as_ref().map(|a| a.account_id.clone())
    }

    fn snapshots(&self) -> bool {
        false
    }
}

/// The apps of a store.
#[derive(Clone)]
pub struct Apps {
    runner: Arc<Runner<AppRegistry>>,
    entropy: Arc<dyn Entropy>,
}

impl std::fmt::Debug for Apps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Apps").finish_non_exhaustive()
    }
}

impl Apps {
    /// The registry over a store.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, entropy: Arc<dyn Entropy>) -> Self {
        let runner = Runner::new(AppRegistry, store, clock, entropy.clone(), RunnerConfig::default());
        Self {
            runner: Arc::new(runner),
            entropy,
        }
    }

    /// The app with this client id, as last registered.
    ///
    /// # Errors
    /// [`AppError`] when the store fails.
    pub async fn find(&self, client_id: &Name) -> Result<Option<App>, AppError> {
        Ok(self.runner.read(client_id).await?)
    }

    /// Registers an app, or re-registers it (a new secret or new scopes replace the old ones).
    /// Registering the same app with the same secret, account and scopes again writes nothing.
    ///
    /// # Errors
    /// [`AppError`] when the store fails.
    pub async fn register(
        &self,
        client_id: &Name,
        account_id: &AccountId,
        name: &str,
        secret: &str,
        scopes: &[Scope],
    ) -> Result<(), AppError> {
        let command = AppCommand::Register {
            account_id: account_id.clone(),
            name: name.to_owned(),
            secret_sha256: hex::encode(Sha256::digest(secret.as_bytes())),
            scopes: scopes.to_vec(),
        };
        self.runner.execute(Some(client_id), None, &command, None).await?;
        Ok(())
    }

    /// A new random client secret (`zs_` + 43 base64url characters, 256 bits).
    pub fn new_secret(&self) -> String {
        use base64::Engine as _;
        format!(
            "zs_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.entropy.key_bytes())
        )
    }
}
