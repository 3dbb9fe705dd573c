//! The shared store of the meeting engine: PostgreSQL, for several server instances on several
//! machines. [`PostgresStore`] implements [`EventStore`] and [`DeliveryStore`], so an
//! `Arc<PostgresStore>` is an `Arc<dyn zoom_core::store::Store>`.
//!
//! It speaks to PostgreSQL with `tokio-postgres` (pure Rust) through a small `deadpool-postgres`
//! pool. Each call runs as a task on the tokio runtime the store was connected in, so its futures
//! can be awaited from any executor, and a call whose caller goes away still finishes (commits or
//! rolls back) instead of stopping halfway.
//!
//! Positions are taken from a one-row head counter inside each append's transaction, whose row
//! lock serialises appenders until they commit: positions are gap-free and strictly increasing
//! in commit order across every connection and process, so a reader that has seen position N
//! never later sees a new event below N. Each append also notifies the `zoom_log` channel in its
//! transaction (delivered at commit), which [`CommitListener`] relays. See
//! `docs/storage-postgres.md`.
//!
//! # Layout
//! - [`Options`]: pool size, schema, timeouts.
//! - [`Error`]: why connecting failed (unreachable, a newer schema, …).
//! - [`conninfo`]: the URL, its `schema` parameter and libpq's `sslmode`, `sslrootcert`.
//! - `tls`: the TLS connector each `sslmode` asks for.
//! - [`migrate`]: the numbered, embedded, checksummed schema migrations.
//! - [`LeaderLock`], [`Leadership`]: one instance of many does the webhook delivery.
//! - [`listen`]: [`CommitListener`], a `LISTEN` on the channel every append notifies, so an
//!   instance learns of another's commits at once.
//! - `sql`: every statement the store runs.
//!
//! # Example
//! ```no_run
//! use std::sync::Arc;
//! use zoom_core::store::Store;
//! use zoom_store_postgres::{Options, PostgresStore};
//!
//! # async fn run() -> Result<(), zoom_store_postgres::Error> {
//! let store: Arc<dyn Store> =
//!     Arc::new(PostgresStore::connect("postgres://zoom@db.internal/zoom?schema=zoom").await?);
//! // or with a larger pool:
//! let store = PostgresStore::connect_with("postgres://zoom@db.internal/zoom", Options::default().pool_size(16)).await?;
//! # Ok(()) }
//! ```

pub mod conninfo;
mod error;
mod leader;
pub mod listen;
pub mod migrate;
mod sql;
mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use postgres_native_tls::MakeTlsConnector;
use zoom_core::event::{RecordedEvent, StreamId};
use zoom_core::id::WebhookId;
use zoom_core::store::*;

pub use error::Error;
pub use leader::{LeaderLock, Leadership, PING_EVERY, PING_TIMEOUT};
pub use listen::CommitListener;

use crate::error::pool_error;

/// The `application_name` of the store's sessions unless the URL names one.
const APPLICATION_NAME: &str = "zoom-store-postgres";

/// The schema used when neither the URL nor [`Options::schema`] names one.
pub const DEFAULT_SCHEMA: &str = "public";

/// How to connect. Start from [`Options::default`] and change what you need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pool_size: usize,
    schema: Option<String>,
    connect_timeout: Duration,
    wait_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            pool_size: 8,
            schema: None,
            connect_timeout: Duration::from_secs(5),
            wait_timeout: Duration::from_secs(10),
        }
    }
}

impl Options {
    /// The most connections the store opens (default 8, at least 1). Each instance has its own
    /// pool: mind PostgreSQL's `max_connections` (default 100) across instances.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size;
        self
    }

    /// The PostgreSQL schema that holds the store's tables (default: the URL's `schema`
    /// parameter, else `public`). Created if missing. A plain identifier: `a-z`, `0-9`, `_`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// How long opening one connection may take (default 5 s), unless the URL sets
    /// `connect_timeout`.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a call waits for a free connection when all are busy before it fails with
    /// `Unavailable` (default 10 s).
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }
}

/// The session settings of every connection of the store (pooled, migration, leader lock)
/// together with their TLS connector and the schema: the URL without `schema`, `sslmode` and
/// `sslrootcert`, with `search_path` set to the schema, an `application_name` and a connect
/// timeout unless the URL sets them, and the TLS mode and verification `sslmode` asks for.
fn session_config(url: &str, options: &Options) -> Result<(tokio_postgres::Config, MakeTlsConnector, String), Error> {
    let info = conninfo::split(url)?;
    let schema = match (&options.schema, &info.schema) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::InvalidOptions(format!(
                "the URL names schema {b} but the options name {a}"
            )));
        }
        (Some(s), _) | (None, Some(s)) => s.clone(),
        (None, None) => DEFAULT_SCHEMA.to_owned(),
    };
    conninfo::check_schema(&schema).map_err(Error::InvalidOptions)?;
    let mut config: tokio_postgres::Config = info
        .url
        .parse()
        .map_err(|e: tokio_postgres::Error| Error::InvalidUrl(e.to_string()))?;
    // Every session of the store, pooled or not, resolves unqualified names in its schema.
    let search_path = format!("-c search_path={schema}");
    let session_options = match config.get_options() {
        Some(given) if !given.trim().is_empty() => format!("{given} {search_path}"),
        _ => search_path,
    };
    config.options(session_options);
    if config.get_application_name().is_none() {
        config.application_name(APPLICATION_NAME);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(options.connect_timeout);
    }
    let (mode, tls) = tls::connector(info.sslmode, info.sslrootcert.as_deref())?;
    config.ssl_mode(mode);
    Ok((config, tls, schema))
}

/// What every call of the store shares.
struct Inner {
    pool: Pool,
}

/// The PostgreSQL store. Cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
    config: tokio_postgres::Config,
    tls: MakeTlsConnector,
    schema: String,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("pool", &self.inner.pool.status())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects with [`Options::default`].
    ///
    /// # Errors
    /// As [`PostgresStore::connect_with`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, Options::default()).await
    }

    /// Connects to the database of `url` (`postgres://…` or `postgresql://…`, see [`conninfo`]),
    /// creates the schema if needed, applies pending migrations (under an advisory lock, so
    /// instances that start together migrate once) and builds the pool. Must run inside a tokio
    /// runtime, which then runs every call of the store.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`], [`Error::InvalidOptions`], [`Error::Tls`] (an unreadable
    /// `sslrootcert`) before contacting anything; [`Error::Postgres`] when the server cannot be
    /// reached or refuses, or the TLS handshake fails (no TLS with `sslmode=require`, a
    /// certificate that is not trusted or does not name the host with `verify-full`);
    /// [`Error::NewerSchema`], [`Error::MigrationChecksum`], [`Error::ForeignSchema`] leave the
    /// schema untouched; [`Error::Pool`]; [`Error::NoRuntime`].
    pub async fn connect_with(url: &str, options: Options) -> Result<Self, Error> {
        if options.pool_size == 0 {
            return Err(Error::InvalidOptions("pool_size must be at least 1".into()));
        }
        let (config, tls, schema) = session_config(url, &options)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;

        let (mut client, connection) = config.connect(tls.clone()).await?;
        let conn = runtime.spawn(async move {
            let _ = connection.await;
        });
        let migrated = migrate::migrate(&mut client, &schema).await;
        drop(client);
        let _ = conn.await;
        migrated?;

        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| Error::Pool(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner { pool }),
            config,
            tls,
            schema,
            runtime,
        })
    }

    /// The schema the store lives in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// A lock named `name` that one session at a time may hold, shared by every instance on
    /// this database and schema: run work that must not run twice (the webhook worker) only
    /// while holding it. See [`LeaderLock`].
    pub fn leader_lock(&self, name: &str) -> LeaderLock {
        LeaderLock::new(
            self.config.clone(),
            self.tls.clone(),
            &self.schema,
            name,
            self.runtime.clone(),
        )
    }

    /// The same lock as [`PostgresStore::leader_lock`] of a store connected to `url`, without
    /// the store: for a process that holds the store only as `Arc<dyn Store>`. Must be called
    /// inside a tokio runtime. Contacts nothing until [`LeaderLock::try_acquire`].
    ///
    /// # Errors
    /// [`Error::InvalidUrl`], [`Error::InvalidOptions`], [`Error::Tls`], [`Error::NoRuntime`].
    pub fn leader_lock_for(url: &str, name: &str) -> Result<LeaderLock, Error> {
        let (config, tls, schema) = session_config(url, &Options::default())?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        Ok(LeaderLock::new(config, tls, &schema, name, runtime))
    }

    /// Starts a [`CommitListener`] on a dedicated connection of its own: `on_commit` is called
    /// for each commit to this store's schema by any instance (see [`listen`]).
    pub fn commit_listener(&self, on_commit: impl Fn(Option<u64>) + Send + Sync + 'static) -> CommitListener {
        CommitListener::spawn(
            self.config.clone(),
            self.tls.clone(),
            self.schema.clone(),
            &self.runtime,
            Arc::new(on_commit),
        )
    }

    /// The same listener as [`PostgresStore::commit_listener`] of a store connected to `url`,
    /// without the store: for a process that holds the store only as `Arc<dyn Store>`. Must be
    /// called inside a tokio runtime; it connects in the background.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`], [`Error::InvalidOptions`], [`Error::Tls`], [`Error::NoRuntime`].
    pub fn commit_listener_for(
        url: &str,
        on_commit: impl Fn(Option<u64>) + Send + Sync + 'static,
    ) -> Result<CommitListener, Error> {
        let (config, tls, schema) = session_config(url, &Options::default())?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        Ok(CommitListener::spawn(
            config,
            tls,
            schema,
            &runtime,
            Arc::new(on_commit),
        ))
    }

    /// Runs `f` with a pooled connection as a task on the store's runtime.
    async fn with<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(deadpool_postgres::Object) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let task = self.runtime.spawn(async move {
            let client = inner.pool.get().await.map_err(|e| pool_error(&e))?;
            f(client).await
        });
        task.await
            .map_err(|e| StoreError::Unavailable(format!("the store's task failed: {e}")))?
    }
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append(&self, request: AppendRequest) -> Result<Appended, StoreError> {
        self.with(move |mut c| async move { sql::append(&mut c, request).await })
            .await
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let stream = stream_id.clone();
        self.with(move |c| async move { sql::read_stream(&c, &stream, from_version, limit).await })
            .await
    }

    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.with(move |c| async move { sql::read_all(&c, after_position, limit).await })
            .await
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        let stream = stream_id.clone();
        self.with(move |c| async move { sql::stream_version(&c, &stream).await })
            .await
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        self.with(|c| async move { sql::head_position(&c).await }).await
    }

    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let stream = stream_id.clone();
        self.with(move |c| async move { sql::load_snapshot(&c, &stream).await })
            .await
    }

    async fn query_index(&self, query: &IndexQuery) -> Result<Vec<IndexEntry>, StoreError> {
        let query = query.clone();
        self.with(move |c| async move { sql::query_index(&c, &query).await })
            .await
    }

    async fn resolve_link(&self, key: &str) -> Result<Option<StreamId>, StoreError> {
        let key = key.to_owned();
        self.with(move |c| async move { sql::resolve_link(&c, &key).await })
            .await
    }

    async fn get_idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let key = key.to_owned();
        self.with(move |c| async move { sql::get_idempotency(&c, &key).await })
            .await
    }

    async fn put_idempotency(&self, record: IdempotencyRecord) -> Result<(), StoreError> {
        self.with(move |c| async move { sql::put_idempotency(&c, &record).await })
            .await
    }

    async fn prune_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.with(move |c| async move { sql::prune_idempotency(&c, before).await })
            .await
    }
}

#[async_trait]
impl DeliveryStore for PostgresStore {
    async fn checkpoint(&self, consumer: &str) -> Result<u64, StoreError> {
        let consumer = consumer.to_owned();
        self.with(move |c| async move { sql::checkpoint(&c, &consumer).await })
            .await
    }

    async fn enqueue(&self, consumer: &str, position: u64, deliveries: Vec<NewDelivery>) -> Result<(), StoreError> {
        let consumer = consumer.to_owned();
        self.with(move |mut c| async move { sql::enqueue(&mut c, &consumer, position, &deliveries).await })
            .await
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.with(move |c| async move { sql::due(&c, now, limit).await }).await
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.with(|c| async move { sql::next_due(&c).await }).await
    }

    async fn record_attempt(
        &self,
        attempt: DeliveryAttempt,
        state: DeliveryState,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.with(move |c| async move { sql::record_attempt(&c, &attempt, state, next_attempt_at).await })
            .await
    }

    async fn attempts(
        &self,
        subscription_id: &WebhookId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, DeliveryAttempt)>, StoreError> {
        let subscription = subscription_id.clone();
        self.with(move |c| async move { sql::attempts(&c, &subscription, before, limit).await })
            .await
    }

    async fn delivery(&self, id: u64) -> Result<Option<Delivery>, StoreError> {
        self.with(move |c| async move { sql::delivery(&c, id).await }).await
    }

    async fn requeue(
        &self,
        subscription_id: &WebhookId,
        from_position: u64,
        to_position: u64,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let subscription = subscription_id.clone();
        self.with(move |c| async move { sql::requeue(&c, &subscription, from_position, to_position, at).await })
            .await
    }

    async fn prune_attempts(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.with(move |c| async move { sql::prune_attempts(&c, before).await })
            .await
    }
}
