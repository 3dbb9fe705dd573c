//! Registered apps (OAuth clients): zoom-auth's app aggregate (`sys_app_{id}`), changed through
//! zoom-core's runner like every other stream, so they persist with the store. Apps the server
//! stored as `app.registered` before zoom-auth existed read as they did. Only the SHA-256 of a
//! client secret is stored.

use std::sync::Arc;

use zoom_auth::app::{AppCommand, AppKind, AppState, AppStatus, Apps as AppAggregate, NewApp};
use zoom_auth::secret::SecretHash;
use zoom_core::clock::{Clock, Entropy};
use zoom_core::engine::{EngineError, Runner, RunnerConfig};
use zoom_core::id::{AccountId, Name};
use zoom_core::principal::Scope;
use zoom_core::store::Store;

/// A registered app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Its client id.
    pub client_id: Name,
    /// The account it acts for.
    pub account_id: AccountId,
    /// A human-readable name.
    pub name: String,
    /// The scopes it may be granted.
    pub scopes: Vec<Scope>,
    state: AppState,
}

impl App {
    /// Whether `secret` is this app's client secret (constant time) and the app is active.
    pub fn secret_matches(&self, secret: &str) -> bool {
        self.state.secret_matches(secret) && self.state.app().status == AppStatus::Active
    }
}

impl From<AppState> for App {
    fn from(state: AppState) -> Self {
        let app = state.app();
        Self {
            client_id: app.client_id.clone(),
            account_id: app.account_id.clone(),
            name: app.name.clone(),
            scopes: app.scopes.clone(),
            state,
        }
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

/// The apps of a store.
#[derive(Clone)]
pub struct Apps {
    runner: Arc<Runner<AppAggregate>>,
    entropy: Arc<dyn Entropy>,
}

impl std::fmt::Debug for Apps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Apps").finish_non_exhaustive()
    }
}

impl Apps {
    /// The registry over a store; `platform_account` (the bootstrap's) is the account whose apps
    /// alone may hold `platform`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        platform_account: AccountId,
    ) -> Self {
        let runner = Runner::new(
            AppAggregate { platform_account },
            store,
            clock,
            entropy.clone(),
            RunnerConfig::default(),
        );
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
        Ok(self.runner.read(client_id).await?.map(App::from))
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
        let command = AppCommand::Register(NewApp {
            account_id: account_id.clone(),
            name: name.to_owned(),
            kind: AppKind::Server,
            redirect_uris: vec![],
            scopes: scopes.to_vec(),
            published: false,
            public: false,
            secret: Some(SecretHash::of(secret)),
        });
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
