//! The embedded durable store of the meeting engine: one SQLite file (bundled SQLite, WAL mode)
//! that implements [`EventStore`] and [`DeliveryStore`], so an `Arc<SqliteStore>` is an
//! `Arc<dyn zoom_core::store::Store>`.
//!
//! Opening is synchronous and needs no async runtime. There is one writer connection: a write
//! commits inline on the caller's thread when the writer is idle (a lone caller pays one
//! `BEGIN … COMMIT`, no thread hand-off), and goes to the writer thread when it is busy, which
//! commits concurrent appends in groups (one transaction, one savepoint per append, so a
//! conflicting append fails alone). Point reads run inline on an idle reader connection; scans
//! go to a small pool of reader threads, each with its own connection. What waits goes through
//! `futures` oneshot channels, so the store works under tokio, under
//! `futures::executor::block_on`, or any other executor, and never waits for a lock another
//! caller holds (an inline commit holds the caller's thread for that one commit, as long as a
//! `NORMAL` commit takes: tens of microseconds).
//!
//! An acknowledged write is committed. With the default [`Synchronous::Normal`] it survives a
//! crash of the process; with [`Synchronous::Full`] it also survives a power loss. See
//! `docs/storage.md` for the schema, durability modes and how to back up a live database.
//!
//! # Layout
//! - [`Options`], [`Synchronous`]: how to open.
//! - [`Error`]: why opening failed (not a database, a newer schema, …).
//! - [`migrate`]: the numbered, embedded, checksummed schema migrations.
//! - `sql`: every statement the store runs; `worker`: the writer and reader threads.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use zoom_core::{Engine, EngineConfig, clock::{SystemClock, SystemEntropy}};
//! use zoom_core::store::Store;
//! use zoom_store_sqlite::SqliteStore;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("zoom.db")).unwrap());
//! let engine = futures::executor::block_on(Engine::open(
//!     store,
//!     Arc::new(SystemClock),
//!     Arc::new(SystemEntropy),
//!     zoom_core::EngineConfig::new(zoom_core::files::FileUrlSigner::new("https://files.example.com/recordings", zoom_core::clock::Entropy::key_bytes(&zoom_core::clock::SystemEntropy).to_vec())),
//! ))
//! .unwrap();
//! assert!(engine.jwks()["keys"].as_array().is_some());
//! ```

mod error;
pub mod migrate;
mod sql;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use zoom_core::event::{RecordedEvent, StreamId};
use zoom_core::id::WebhookId;
use zoom_core::store::*;

pub use error::Error;
use worker::{Counters, Readers, WriteJob, Writer};

/// The largest `read_stream` limit that runs inline: the page the engine loads a stream's tail
/// with. A larger one is a scan.
const INLINE_STREAM_READ: usize = 1000;

/// SQLite's `synchronous` setting: how hard a commit pushes to disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `NORMAL`: a commit is in the write-ahead log (the operating system's cache) before it is
    /// acknowledged, and the log is synced at checkpoints. Survives a crash or kill of the
    /// process with no acknowledged loss; a power loss or kernel crash may lose the last
    /// commits (never corrupt the file). The default.
    #[default]
    Normal,
    /// `FULL`: the write-ahead log is synced on every commit before it is acknowledged.
    /// Survives a power loss too, at the cost of one `fsync` per transaction (group commit
    /// shares it among the appends of a batch).
    Full,
    /// `EXTRA`: as `FULL`, and the directory is synced too when the log is reset.
    Extra,
}

impl Synchronous {
    fn as_str(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
            Synchronous::Extra => "EXTRA",
        }
    }
}

/// How to open a store. Start from [`Options::default`] and change what you need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    synchronous: Synchronous,
    busy_timeout: Duration,
    readers: usize,
    max_batch: usize,
    writer_cache_kib: u32,
    reader_cache_kib: u32,
    checkpoint_interval: Duration,
    inline_commits: Option<bool>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            readers: 4,
            max_batch: 256,
            writer_cache_kib: 16 * 1024,
            reader_cache_kib: 2 * 1024,
            checkpoint_interval: Duration::from_millis(100),
            inline_commits: None,
        }
    }
}

impl Options {
    /// The durability of a commit (default [`Synchronous::Normal`]).
    pub fn synchronous(mut self, mode: Synchronous) -> Self {
        self.synchronous = mode;
        self
    }

    /// How long a statement waits for a lock another process holds (a backup, the `sqlite3`
    /// shell) before failing with `Unavailable` (default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How many reader threads (and connections) serve reads concurrently (default 4, at
    /// least 1).
    pub fn readers(mut self, readers: usize) -> Self {
        self.readers = readers;
        self
    }

    /// The most writes committed in one transaction (default 256). 1 gives one transaction per
    /// write (no group commit).
    pub fn max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch;
        self
    }

    /// The writer connection's page cache, in KiB (default 16 MiB): it keeps the hot index
    /// pages (event ids, stream versions) that every append updates.
    pub fn writer_cache_kib(mut self, kib: u32) -> Self {
        self.writer_cache_kib = kib;
        self
    }

    /// Each reader connection's page cache, in KiB (default 2 MiB, SQLite's own default).
    /// Reads mostly scan; measured, a small cache that recycles its pages replays faster than
    /// a large one that keeps allocating new ones.
    pub fn reader_cache_kib(mut self, kib: u32) -> Self {
        self.reader_cache_kib = kib;
        self
    }

    /// How often the checkpointer thread copies committed pages from the write-ahead log into
    /// the database, when something was committed since its last pass (default 100 ms, at
    /// least 1 ms). Commits never checkpoint themselves: a checkpoint (page copies and, in
    /// `NORMAL`, the fsyncs) in the writer thread would hold every write queued behind it.
    pub fn checkpoint_interval(mut self, interval: Duration) -> Self {
        self.checkpoint_interval = interval;
        self
    }

    /// Whether a write may commit inline on the caller's thread when the writer is idle
    /// (default: on with [`Synchronous::Normal`], off with `FULL` and `EXTRA`, where a commit
    /// waits for an `fsync` that should not hold an async runtime's thread, and the hand-off to
    /// the writer thread costs little beside it). Off, every write goes through the writer
    /// thread's queue and group commit.
    pub fn inline_commits(mut self, inline: bool) -> Self {
        self.inline_commits = Some(inline);
        self
    }

    fn inline(&self) -> bool {
        self.inline_commits.unwrap_or(self.synchronous == Synchronous::Normal)
    }

    /// The durability mode.
    pub fn synchronous_mode(&self) -> Synchronous {
        self.synchronous
    }

    fn validate(&self) -> Result<(), Error> {
        if self.readers == 0 {
            return Err(Error::InvalidOptions("readers must be at least 1".into()));
        }
        if self.max_batch == 0 {
            return Err(Error::InvalidOptions("max_batch must be at least 1".into()));
        }
        if self.checkpoint_interval < Duration::from_millis(1) {
            return Err(Error::InvalidOptions(
                "checkpoint_interval must be at least 1 ms".into(),
            ));
        }
        Ok(())
    }
}

/// What the writer has done since the store opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteStats {
    /// Write transactions committed or attempted.
    pub transactions: u64,
    /// Writes (appends, enqueues, …) run in them.
    pub writes: u64,
    /// Of those, the writes committed inline on their caller's thread (each in a transaction
    /// of its own) because the writer was idle; the others went through the writer thread.
    pub inline: u64,
    /// Checkpoints the checkpointer thread ran (write-ahead log pages copied into the database).
    pub checkpoints: u64,
}

/// The SQLite store. Dropping it finishes the queued writes and closes the file.
pub struct SqliteStore {
    path: PathBuf,
    writer: Option<Arc<Writer>>,
    queue: Option<mpsc::Sender<Box<dyn WriteJob>>>,
    readers: Option<Arc<Readers>>,
    /// Dropped to stop the checkpointer thread.
    checkpointer: Option<mpsc::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with [`Options::default`].
    ///
    /// # Errors
    /// As [`SqliteStore::open_with`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path, Options::default())
    }

    /// Opens (creating if needed) the database at `path`, applies pending migrations and starts
    /// the writer and reader threads. Synchronous; needs no runtime.
    ///
    /// # Errors
    /// [`Error::NotADatabase`], [`Error::Damaged`], [`Error::ForeignDatabase`],
    /// [`Error::NewerSchema`], [`Error::MigrationChecksum`] leave the file untouched;
    /// [`Error::WalUnavailable`] on a file system without WAL support;
    /// [`Error::Sqlite`] when it cannot be opened or stays locked; [`Error::InvalidOptions`];
    /// [`Error::Thread`].
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Self, Error> {
        options.validate()?;
        let path = path.as_ref().to_owned();
        if !looks_like_sqlite(&path) {
            return Err(Error::NotADatabase { path });
        }
        create_owner_only(&path)?;
        let sql_err = |e| Error::from_sqlite(&path, e);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer = Connection::open_with_flags(&path, flags).map_err(sql_err)?;
        sql::configure(&writer, &options, false).map_err(sql_err)?;
        // The first statement that reads the header is where a file that is not a database
        // shows itself; do it before anything could write.
        writer
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))
            .map_err(sql_err)?;
        migrate::inspect(&writer, &path)?;
        narrow_to_owner(&path)?;
        let mode = sql::enable_wal(&writer).map_err(sql_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::WalUnavailable { path, mode });
        }
        migrate::migrate(&mut writer, &path)?;

        let mut connections = Vec::with_capacity(options.readers);
        for _ in 0..options.readers {
            let conn = Connection::open_with_flags(&path, flags).map_err(sql_err)?;
            sql::configure(&conn, &options, true).map_err(sql_err)?;
            connections.push(conn);
        }
        // If anything below fails, dropping `readers` stops the reader threads.
        let (readers, mut threads) =
            Readers::start(connections).map_err(|source| Error::Thread { what: "reader", source })?;
        let counters = Arc::new(Counters::default());
        let (write_tx, write_rx) = mpsc::channel::<Box<dyn WriteJob>>();
        let max_batch = options.max_batch;
        let writer = Arc::new(Writer::new(
            writer,
            options.inline(),
            max_batch,
            options.busy_timeout,
            counters.clone(),
        ));
        let thread_writer = writer.clone();
        let handle = std::thread::Builder::new()
            .name("zoom-sqlite-writer".into())
            .spawn(move || worker::run_writer(thread_writer, write_rx, max_batch))
            .map_err(|source| Error::Thread { what: "writer", source })?;
        threads.push(handle);
        let conn = Connection::open_with_flags(&path, flags).map_err(sql_err)?;
        sql::configure(&conn, &options, false).map_err(sql_err)?;
        let (stop, stopped) = mpsc::channel();
        let (every, checkpoint_counters) = (options.checkpoint_interval, counters.clone());
        let handle = std::thread::Builder::new()
            .name("zoom-sqlite-checkpointer".into())
            .spawn(move || worker::run_checkpointer(conn, stopped, every, checkpoint_counters))
            .map_err(|source| Error::Thread {
                what: "checkpointer",
                source,
            })?;
        threads.push(handle);
        Ok(SqliteStore {
            path,
            writer: Some(writer),
            queue: Some(write_tx),
            readers: Some(readers),
            checkpointer: Some(stop),
            threads,
            counters,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the writer has done since opening: with `writes / transactions` the average size of
    /// a commit group.
    pub fn write_stats(&self) -> WriteStats {
        WriteStats {
            transactions: self.counters.transactions.load(Ordering::Relaxed),
            writes: self.counters.jobs.load(Ordering::Relaxed),
            inline: self.counters.inline.load(Ordering::Relaxed),
            checkpoints: self.counters.checkpoints.load(Ordering::Relaxed),
        }
    }

    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        worker::write(self.writer.as_deref(), self.queue.as_ref(), f).await
    }

    /// A point read (one row, or a stream's events a command loads): inline when a reader
    /// connection is idle.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        worker::read(self.readers.as_deref(), true, f).await
    }

    /// A scan (pages of the log, lists): always on a reader thread, so a long read never holds
    /// the caller's thread.
    async fn scan<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        worker::read(self.readers.as_deref(), false, f).await
    }
}

/// Whether the file at `path` is absent, empty (SQLite makes a fresh database of both) or starts
/// with SQLite's header string. SQLite itself takes a file shorter than its header for an empty
/// database and would write over it; a non-empty file that is not a database is refused
/// untouched. A file that cannot be read here is left to SQLite to report.
/// The store holds private signing keys, so its files are owner-only. A missing database file
/// is created `0600` before SQLite opens it; SQLite creates `-wal` and `-shm` with the mode of
/// the database file, so they follow. Not done on non-Unix systems.
#[cfg(unix)]
fn create_owner_only(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        // A missing directory: SQLite's own open reports it, as it always did.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Permissions {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Narrows an existing database file and its `-wal`/`-shm` to owner-only when they allow group
/// or other access (a `0644` file becomes `0600`), rather than leaving the mode alone: stores
/// created by builds before this one were world-readable. Called once the file is known to be
/// this store's, so a foreign file is left untouched.
#[cfg(unix)]
fn narrow_to_owner(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Permissions { path, source }
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let mut shm = path.as_os_str().to_owned();
    shm.push("-shm");
    for file in [path.to_owned(), PathBuf::from(wal), PathBuf::from(shm)] {
        let meta = match std::fs::metadata(&file) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(err(&file)(e)),
        };
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            let mode = meta.permissions().mode() & 0o700;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).map_err(err(&file))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn create_owner_only(_path: &Path) -> Result<(), Error> {
    Ok(())
}

#[cfg(not(unix))]
fn narrow_to_owner(_path: &Path) -> Result<(), Error> {
    Ok(())
}

fn looks_like_sqlite(path: &Path) -> bool {
    use std::io::Read;
    const HEADER: &[u8; 16] = b"SQLite format 3\0";
    let Ok(mut file) = std::fs::File::open(path) else {
        return true;
    };
    let mut start = Vec::with_capacity(HEADER.len());
    match file.by_ref().take(HEADER.len() as u64).read_to_end(&mut start) {
        Ok(0) => true,
        Ok(_) => start == HEADER,
        Err(_) => true,
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the queues lets the threads finish what is queued and return; joining them
        // closes every connection, so the file is complete and unlocked when drop returns.
        self.queue = None;
        self.writer = None;
        self.readers = None;
        self.checkpointer = None;
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append(&self, request: AppendRequest) -> Result<Appended, StoreError> {
        self.write(move |conn| sql::append(conn, request)).await
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let stream = stream_id.clone();
        let read = move |conn: &Connection| sql::read_stream(conn, &stream, from_version, limit);
        if limit <= INLINE_STREAM_READ {
            self.read(read).await
        } else {
            self.scan(read).await
        }
    }

    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.scan(move |conn| sql::read_all(conn, after_position, limit)).await
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        let stream = stream_id.clone();
        self.read(move |conn| sql::stream_version(conn, &stream)).await
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        self.read(sql::head_position).await
    }

    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let stream = stream_id.clone();
        self.read(move |conn| sql::load_snapshot(conn, &stream)).await
    }

    async fn query_index(&self, query: &IndexQuery) -> Result<Vec<IndexEntry>, StoreError> {
        let query = query.clone();
        self.scan(move |conn| sql::query_index(conn, &query)).await
    }

    async fn resolve_link(&self, key: &str) -> Result<Option<StreamId>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| sql::resolve_link(conn, &key)).await
    }

    async fn get_idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| sql::get_idempotency(conn, &key)).await
    }

    async fn put_idempotency(&self, record: IdempotencyRecord) -> Result<(), StoreError> {
        self.write(move |conn| sql::put_idempotency(conn, &record)).await
    }

    async fn prune_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.write(move |conn| sql::prune_idempotency(conn, before)).await
    }
}

#[async_trait]
impl DeliveryStore for SqliteStore {
    async fn checkpoint(&self, consumer: &str) -> Result<u64, StoreError> {
        let consumer = consumer.to_owned();
        self.read(move |conn| sql::checkpoint(conn, &consumer)).await
    }

    async fn enqueue(&self, consumer: &str, position: u64, deliveries: Vec<NewDelivery>) -> Result<(), StoreError> {
        let consumer = consumer.to_owned();
        self.write(move |conn| sql::enqueue(conn, &consumer, position, &deliveries))
            .await
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.scan(move |conn| sql::due(conn, now, limit)).await
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(sql::next_due).await
    }

    async fn record_attempt(
        &self,
        attempt: DeliveryAttempt,
        state: DeliveryState,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| sql::record_attempt(conn, &attempt, state, next_attempt_at))
            .await
    }

    async fn attempts(
        &self,
        subscription_id: &WebhookId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, DeliveryAttempt)>, StoreError> {
        let subscription = subscription_id.clone();
        self.scan(move |conn| sql::attempts(conn, &subscription, before, limit))
            .await
    }

    async fn delivery(&self, id: u64) -> Result<Option<Delivery>, StoreError> {
        self.read(move |conn| sql::delivery(conn, id)).await
    }

    async fn requeue(
        &self,
        subscription_id: &WebhookId,
        from_position: u64,
        to_position: u64,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let subscription = subscription_id.clone();
        self.write(move |conn| sql::requeue(conn, &subscription, from_position, to_position, at))
            .await
    }

    async fn prune_attempts(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.write(move |conn| sql::prune_attempts(conn, before)).await
    }
}
