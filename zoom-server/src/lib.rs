//! zoom-server: the runnable meeting server. It wires a store, the engine, the webhook worker,
//! OAuth client credentials and the REST API of `zoom-http` (docs/operations.md).
//!
//! # Layout
//! - [`config`]: flags and environment variables, and what they parse into.
//! - [`apps`]: the client-id rule.
//! - [`tokens`]: EdDSA access tokens and the [`tokens::TokenIssuer`] seam.
//! - [`oauth`]: the authorization server: `POST /oauth/token` (with [`throttle`] for failed
//!   attempts), the metadata, and the browser's authorize, login and consent pages.
//! - [`serve`]: the accept loop with the connection timeouts and caps.
//! - [`keys`]: the scheduled rotation of the join-token key.
//! - [`access`]: a revoked grant or a disabled app deactivates the app's webhooks; a disabled
//!   account's pause.
//! - [`Server`]: opens everything and builds the [`axum::Router`].
//!
//! Routes: everything of `zoom_http::router` (the identity routes over [`Server::directory`]
//! included) plus those of [`oauth::routes`]: `POST /oauth/token`,
//! `GET /.well-known/oauth-authorization-server`, `GET /oauth/jwks`, `GET`/`POST /oauth/authorize`,
//! `POST /oauth/login` and `POST /oauth/logout`.
//! Run: `cargo run -p zoom-server` (SQLite at `./zoom.db`, `127.0.0.1:8080`).

pub mod access;
pub mod apps;
pub mod bearer;
pub mod config;
pub mod delivery;
pub mod keys;
pub mod oauth;
pub mod serve;
pub mod throttle;
pub mod tokens;

use std::sync::Arc;

use axum::Router;
use zoom_core::clock::{Clock, Entropy, SystemClock, SystemEntropy};
use zoom_core::engine::{
    Engine, EngineConfig, EngineError, OPEN_SEALED_KEY, load_or_create_sealed_ring, plaintext_keys,
    stored_sealed_file_url_signer,
};
use zoom_core::principal::Scope;
use zoom_core::store::Store;
use zoom_core::system::{ACCESS_KEYS_STREAM, FILE_KEYS_STREAM, JOIN_KEYS_STREAM};

use crate::bearer::BearerTokens;
use crate::config::{Args, Bootstrap, ConfigError, StoreSpec};
use crate::oauth::OAuth;
use crate::tokens::AccessTokens;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A flag or variable is unusable.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(String),
    /// The engine could not load its keys.
    #[error("engine: {0}")]
    Engine(#[from] zoom_core::engine::EngineError),
    /// The store's sealed signing keys do not open: a wrong secret key, none given, or an altered
    /// value. The server refuses to start.
    #[error(
        "secret key: {0}; start with the --secret-key-file (or ZOOM_SECRET_KEY) that sealed the store's signing keys"
    )]
    SecretKey(String),
}

/// A sealed key that does not open is [`StartError::SecretKey`]; anything else an engine error.
fn key_error(e: EngineError) -> StartError {
    match e {
        EngineError::Internal { context, source } if context == OPEN_SEALED_KEY => {
            StartError::SecretKey(source.to_string())
        }
        e => StartError::Engine(e),
    }
}

/// The warning when no secret key is given, logged once at start-up.
pub const PLAINTEXT_KEYS_WARNING: &str = "no --secret-key-file (or ZOOM_SECRET_KEY): the private signing keys are \
     stored in plaintext, so whoever can read the store can mint tokens (docs/operations.md)";

/// What the bootstrap did, for the startup message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// The app of `ZOOM_BOOTSTRAP_CLIENT_ID` exists with that secret.
    FromEnvironment {
        /// Its client id.
        client_id: String,
    },
    /// The store was empty: a new admin app was created; its secret is shown once.
    Created {
        /// Its client id.
        client_id: String,
        /// Its secret, shown only now.
        client_secret: String,
    },
    /// Nothing to do: the store already holds data and no credentials were given.
    Existing,
}

/// A started server: everything but the socket.
pub struct Server {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Accounts, users and apps (zoom-auth), behind `/v1/accounts`, `/v1/users` and
    /// `/v1/apps`, and asked by the token endpoint and the bearer-token check whether an
    /// account or app is disabled.
    pub directory: zoom_auth::Directory,
    /// The access-token issuer and verifier.
    pub tokens: Arc<AccessTokens>,
    /// What the bootstrap did.
    pub bootstrap: BootstrapOutcome,
    /// The store in use, for the startup message.
    pub store_spec: StoreSpec,
    /// The public URL (token issuer).
    pub public_url: String,
    /// The webhook worker's settings.
    pub webhooks: zoom_webhooks::WorkerConfig,
    /// The rate limits and daily quota every router of this server enforces.
    pub limits: zoom_http::limits::Limits,
    /// The connection limits of [`serve::serve`].
    pub connections: serve::ConnectionLimits,
    /// How often the join-token key rotates.
    pub join_key_rotation: std::time::Duration,
    /// Failed `/oauth/token` authentications, shared by every router of this server.
    pub throttle: Arc<throttle::FailureThrottle>,
    /// Who an email and a password name at `POST /oauth/login`: [`Server::directory`] by
    /// default; an embedder replaces it with its own identity provider before building the
    /// router.
    pub login: Arc<dyn zoom_auth::Login>,
    /// Failed `/oauth/login` attempts, per login name and per address
    /// ([`oauth::login::login_throttle`] by default), shared by every router of this server.
    pub login_throttle: Arc<throttle::FailureThrottle>,
    /// The access-token public keys as a JWK Set, served at `/oauth/jwks`. The access key ring
    /// does not rotate while the server runs, so it is read once at start.
    pub access_jwks: Arc<serde_json::Value>,
    /// The random source of session ids and CSRF secrets.
    pub entropy: Arc<dyn Entropy>,
    /// Warnings about the configuration (signing keys in plaintext), for `main` to log once.
    pub warnings: Vec<String>,
    /// "The log has grown": notified by every write of this server's routers and, on
    /// PostgreSQL, by [`Server::commit_listener`] for every instance's commits; it wakes the
    /// stream hub of every router and the webhook worker.
    pub commits: zoom_http::CommitSignal,
    /// On PostgreSQL, the `LISTEN` that relays other instances' commits to
    /// [`Server::commits`]; `None` on SQLite and memory, whose only writer is this process.
    pub commit_listener: Option<zoom_store_postgres::CommitListener>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("store", &self.store_spec)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// Opens the store of `spec` (connecting and migrating, for PostgreSQL).
///
/// # Errors
/// [`StartError::Store`] when it cannot be opened.
pub async fn open_store(spec: &StoreSpec) -> Result<Arc<dyn Store>, StartError> {
    match spec {
        StoreSpec::Memory => Ok(Arc::new(zoom_store_memory::MemoryStore::new())),
        StoreSpec::Sqlite(path) => zoom_store_sqlite::SqliteStore::open(path)
            .map(|s| Arc::new(s) as Arc<dyn Store>)
            .map_err(|e| StartError::Store(format!("{}: {e}", path.display()))),
        StoreSpec::Postgres(url) => zoom_store_postgres::PostgresStore::connect(url)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>)
            .map_err(|e| StartError::Store(format!("{}: {e}", config::redact_url(url)))),
    }
}

impl Server {
    /// Opens the store, the engine and the keys, and runs the bootstrap.
    ///
    /// # Errors
    /// [`StartError`] naming what failed.
    pub async fn start(args: &Args, bootstrap: &Bootstrap) -> Result<Self, StartError> {
        let spec = config::parse_store(&args.store)?;
        let store = open_store(&spec).await?;
        Self::start_with(
            args,
            bootstrap,
            spec,
            store,
            Arc::new(SystemClock),
            Arc::new(SystemEntropy),
        )
        .await
    }

    /// Like [`Server::start`], on a given store, clock and entropy (for tests and embedding).
    ///
    /// # Errors
    /// [`StartError`] naming what failed.
    pub async fn start_with(
        args: &Args,
        bootstrap: &Bootstrap,
        store_spec: StoreSpec,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Self, StartError> {
        let public_url = match &args.public_url {
            Some(url) => config::parse_base_url("--public-url (ZOOM_PUBLIC_URL)", url, &["http", "https"])?,
            None => format!("http://{}", args.listen),
        };
        let sfu_url = config::parse_base_url(
            "--sfu-url (ZOOM_SFU_URL)",
            &args.sfu_url,
            &["ws", "wss", "http", "https"],
        )?;
        let files_url = match &args.files_url {
            Some(url) => config::parse_base_url("--files-url (ZOOM_FILES_URL)", url, &["http", "https"])?,
            None => format!("{public_url}/files"),
        };
        let allow = config::parse_allow_list(&args.webhook_allow_cidr)?;
        let schedule = config::parse_retry_schedule(&args.webhook_retry_schedule)?;
        let limits = zoom_http::limits::Limits {
            rate: config::parse_rate_limit(&args.rate_limit)?,
            daily_meeting_writes: args.daily_meeting_writes,
        };
        let connections = config::connection_limits(args)?;
        let join_key_rotation = config::parse_duration(
            "--join-key-rotation (ZOOM_JOIN_KEY_ROTATION)",
            &args.join_key_rotation,
            std::time::Duration::from_secs(60),
        )?;
        // "An empty store" is judged before the engine writes its first signing key.
        let empty = store
            .head_position()
            .await
            .map_err(|e| StartError::Store(e.to_string()))?
            == 0;

        let seal = config::load_secret_key(args)?;
        let mut warnings = Vec::new();
        if seal.is_some() {
            // Keys written before a secret key was given stay in the append-only log in
            // plaintext; they still load, and are reported.
            let mut plain = 0;
            for stream in [ACCESS_KEYS_STREAM, JOIN_KEYS_STREAM, FILE_KEYS_STREAM] {
                plain += plaintext_keys(&store, &clock, &entropy, stream).await?;
            }
            if plain > 0 {
                warnings.push(format!(
                    "the store holds {plain} signing key(s) written in plaintext before a secret key was given; \
                     they still work, new keys are sealed (docs/operations.md: rotating them out)"
                ));
            }
        } else {
            warnings.push(PLAINTEXT_KEYS_WARNING.to_owned());
        }
        let access_ring = load_or_create_sealed_ring(&store, &clock, &entropy, ACCESS_KEYS_STREAM, seal.as_ref())
            .await
            .map_err(key_error)?;
        let file_urls = stored_sealed_file_url_signer(&store, &clock, &entropy, files_url, seal.as_ref())
            .await
            .map_err(key_error)?;
        let engine_config_exclusive = matches!(store_spec, StoreSpec::Sqlite(_) | StoreSpec::Memory);
        let engine_config = EngineConfig {
            issuer: public_url.clone(),
            sfu_url,
            webhook_allow: allow.clone(),
            // One server process owns a SQLite file or a memory store (docs/operations.md), so
            // reads come from the engine's cache. Never for PostgreSQL: other instances write too.
            exclusive: engine_config_exclusive,
            secret_box: seal,
            ..EngineConfig::new(file_urls)
        };
        let engine = Arc::new(
            Engine::open(store.clone(), clock.clone(), entropy.clone(), engine_config)
                .await
                .map_err(key_error)?,
        );
        // Like the engine: the one writer of a SQLite file or a memory store reads accounts, users,
        // apps and grants from its runners' caches, never from the store again.
        let mut directory_config = zoom_auth::DirectoryConfig::new(bootstrap.account_id.clone());
        directory_config.runner.exclusive = engine_config_exclusive;
        let directory = zoom_auth::Directory::new(store, clock.clone(), entropy.clone(), directory_config)?;
        // The platform account exists as an account, so it lists with the others; an existing
        // one (renamed, say) is left as it is.
        if directory.find_account(&bootstrap.account_id).await?.is_none() {
            directory
                .create_account(None, Some(&bootstrap.account_id), "Platform", None)
                .await?;
        }
        let outcome = run_bootstrap(&directory, bootstrap, empty).await?;
        let access_jwks = Arc::new(access_ring.jwks());
        let tokens = Arc::new(AccessTokens::new(
            access_ring,
            public_url.clone(),
            clock,
            entropy.clone(),
        ));
        let webhooks = zoom_webhooks::WorkerConfig {
            retry_schedule: schedule,
            allow,
            reactions: vec![Arc::new(access::AccessReaction::new(directory.clone()))],
            ..zoom_webhooks::WorkerConfig::default()
        };
        let commits = zoom_http::CommitSignal::new();
        let commit_listener = match &store_spec {
            StoreSpec::Postgres(url) => {
                let wake = commits.clone();
                Some(
                    zoom_store_postgres::PostgresStore::commit_listener_for(url, move |_| wake.notify())
                        .map_err(|e| StartError::Store(format!("{}: {e}", config::redact_url(url))))?,
                )
            }
            StoreSpec::Sqlite(_) | StoreSpec::Memory => None,
        };
        Ok(Self {
            engine,
            login: Arc::new(directory.clone()),
            directory,
            tokens,
            bootstrap: outcome,
            store_spec,
            public_url,
            webhooks,
            limits,
            connections,
            join_key_rotation,
            throttle: Arc::new(throttle::FailureThrottle::default()),
            login_throttle: Arc::new(oauth::login::login_throttle()),
            access_jwks,
            entropy,
            warnings,
            commits,
            commit_listener,
        })
    }

    /// The HTTP application: the REST API and `POST /oauth/token`, with default API settings.
    pub fn router(&self) -> Router {
        self.router_with(zoom_http::ApiConfig::default())
    }

    /// The HTTP application with these API settings (the server passes its shutdown signal).
    /// The server's own limits replace `api.limits`; without `api.commits`, its routers share
    /// [`Server::commits`], so their writes wake the webhook worker and every stream hub.
    pub fn router_with(&self, mut api: zoom_http::ApiConfig) -> Router {
        api.limits = self.limits.clone();
        if api.commits.is_none() {
            api.commits = Some(self.commits.clone());
        }
        if api.directory.is_none() {
            api.directory = Some(self.directory.clone());
        }
        let bearer = Arc::new(BearerTokens::new(self.tokens.clone(), self.directory.clone()));
        // Verifying an Ed25519 JWT costs more than a whole read; a client sends the same token on
        // every call, so accepted tokens are remembered briefly (refusals never are).
        let auth: Arc<dyn zoom_http::Authenticator> = Arc::new(zoom_http::CachingAuthenticator::new(
            bearer.clone(),
            AUTH_CACHE_TTL,
            100_000,
        ));
        let oauth = OAuth {
            directory: self.directory.clone(),
            bearer,
            auth: auth.clone(),
            issuer: self.tokens.clone(),
            throttle: self.throttle.clone(),
            public_url: self.public_url.clone(),
            tokens: self.tokens.clone(),
            login: self.login.clone(),
            login_throttle: self.login_throttle.clone(),
            access_jwks: self.access_jwks.clone(),
            entropy: self.entropy.clone(),
        };
        let token_route = oauth::routes(oauth);
        // Merged inside zoom-http's layers, so token answers carry `x-request-id` and a wrong
        // method on `/oauth/token` is a problem with `Allow` like on every other route.
        zoom_http::router_with(self.engine.clone(), auth, api, token_route)
    }
}

/// How long an accepted access token is remembered: a token that expires meanwhile is accepted
/// for at most this much longer.
pub const AUTH_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

async fn run_bootstrap(
    directory: &zoom_auth::Directory,
    bootstrap: &Bootstrap,
    empty: bool,
) -> Result<BootstrapOutcome, StartError> {
    let all: Vec<Scope> = Scope::ALL.to_vec();
    if let Some((client_id, secret)) = &bootstrap.credentials {
        directory
            .register_app(client_id, &bootstrap.account_id, "Bootstrap admin", secret, &all)
            .await?;
        return Ok(BootstrapOutcome::FromEnvironment {
            client_id: client_id.to_string(),
        });
    }
    if !empty {
        return Ok(BootstrapOutcome::Existing);
    }
    let secret = directory.new_client_secret();
    let client_id = apps::parse_client_id("admin").ok_or_else(|| StartError::Store("bad built-in client id".into()))?;
    directory
        .register_app(&client_id, &bootstrap.account_id, "Bootstrap admin", &secret, &all)
        .await?;
    Ok(BootstrapOutcome::Created {
        client_id: client_id.to_string(),
        client_secret: secret,
    })
}
