//! The store's threads and the inline fast paths: one writer connection that commits either
//! inline on the caller's thread (when it is idle) or in groups on the writer thread (when it
//! is busy), and a pool of reader connections.
//!
//! Async callers never wait for a lock held by another caller: a write runs inline only when
//! the writer connection's mutex is free, no write is queued and SQLite's write lock is free
//! at once (`BEGIN IMMEDIATE` with no busy wait); otherwise it is sent to the writer thread and
//! awaited through a `futures` oneshot. So a lone caller's command is one `BEGIN … COMMIT` on
//! its own thread (no wake-up of another thread), concurrent callers still share commits, and
//! the library needs no runtime at all (`futures::executor::block_on` works as well as tokio).
//! Once a write found the writer busy, writes keep going to the writer thread until they stop
//! overlapping (see [`Writer`]'s `grouping`), so concurrent callers keep sharing commits.
//! Point reads (a stream's version, a snapshot, a link, …) run inline on an idle reader
//! connection in the same way; scans go to the reader threads.
//!
//! Group commit: the writer thread takes the first waiting job, then every job already queued
//! behind it (up to `max_batch`), and runs them all in one `BEGIN IMMEDIATE … COMMIT`. Each job
//! runs in its own savepoint, so one that fails (a stale expected version, a duplicate
//! idempotency key) is rolled back alone and the others in the batch still commit. An inline
//! write is a batch of one without the savepoint: it rolls back the whole transaction when it
//! fails. Either way replies are sent only after the commit returned: an acknowledged write is
//! a committed write. Both paths hold the one writer connection, so positions (rowids) are
//! assigned in commit order.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError, mpsc};
use std::time::Duration;

use futures::channel::oneshot;
use rusqlite::Connection;
use zoom_core::store::StoreError;

use crate::error::{closed, store_error};

/// A write waiting for the writer thread.
pub(crate) trait WriteJob: Send {
    /// Runs the job's statements inside the open transaction.
    fn run(self: Box<Self>, conn: &Connection) -> Ran;
    /// Answers the job without running it (the transaction could not start).
    fn abort(self: Box<Self>, error: StoreError);
}

/// A job that ran: whether to keep its writes, and how to answer once the commit is known.
pub(crate) struct Ran {
    ok: bool,
    answer: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
}

struct Op<F, T> {
    f: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> WriteJob for Op<F, T>
where
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Ran {
        let Op { f, reply } = *self;
        let result = f(conn);
        Ran {
            ok: result.is_ok(),
            answer: Box::new(move |commit| {
                // The job's own error wins: a conflict stays a conflict even if the commit
                // of the others failed, since its writes were rolled back anyway.
                let _ = reply.send(result.and_then(|v| commit.map(|()| v)));
            }),
        }
    }

    fn abort(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

/// Counters of the writer, for operators and benchmarks.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) transactions: AtomicU64,
    pub(crate) jobs: AtomicU64,
    pub(crate) inline: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
}

/// The one writer connection, shared by inline writes and the writer thread.
pub(crate) struct Writer {
    conn: Mutex<Connection>,
    /// Jobs sent to the writer thread and not yet taken into a batch: while there are any, new
    /// writes queue behind them instead of going inline, so they are never overtaken.
    queued: AtomicUsize,
    /// Whether writes may run inline at all ([`crate::Options::inline_commits`]).
    inline: bool,
    /// Whether writes are arriving concurrently: set by a write that found the writer busy,
    /// cleared by the writer thread once writes stop overlapping ([`run_writer`]). While it is
    /// set every write goes to the writer thread even when the connection happens to be free
    /// for an instant, so concurrent writes share commits instead of each taking a transaction
    /// of its own inline (an inline commit also holds an async runtime's thread, which would
    /// otherwise be preparing the next writes).
    grouping: AtomicBool,
    /// Whether a batch may hold more than one write (`max_batch > 1`): with one write per
    /// transaction grouping would only move every commit onto the writer thread.
    groups: bool,
    /// The busy timeout the connection waits with, restored after an inline `BEGIN`.
    busy_timeout: Duration,
    counters: Arc<Counters>,
}

impl Writer {
    pub(crate) fn new(
        conn: Connection,
        inline: bool,
        max_batch: usize,
        busy_timeout: Duration,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            conn: Mutex::new(conn),
            queued: AtomicUsize::new(0),
            inline,
            grouping: AtomicBool::new(false),
            groups: max_batch > 1,
            busy_timeout,
            counters,
        }
    }

    /// Locks the connection. A job that panicked while holding it may have left a transaction
    /// open; nothing of it was acknowledged, so it is rolled back.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| {
            let conn = poisoned.into_inner();
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            conn
        })
    }

    fn try_lock(&self) -> Option<MutexGuard<'_, Connection>> {
        match self.conn.try_lock() {
            Ok(conn) => Some(conn),
            Err(TryLockError::WouldBlock) => None,
            Err(TryLockError::Poisoned(_)) => Some(self.lock()),
        }
    }
}

/// What an inline attempt did.
enum Inline<T, F> {
    /// It ran and committed, or failed: the caller's answer.
    Done(Result<T, StoreError>),
    /// The writer was busy (another caller, the writer thread, another process): queue it.
    Busy(F),
}

/// Runs `f` inline when the writer is idle: not grouping concurrent writes, its mutex free,
/// nothing queued, and SQLite's write lock taken without waiting.
fn try_inline<T, F>(writer: &Writer, f: F) -> Inline<T, F>
where
    F: FnOnce(&Connection) -> Result<T, StoreError>,
{
    if !writer.inline || writer.grouping.load(Ordering::Acquire) || writer.queued.load(Ordering::Acquire) > 0 {
        return Inline::Busy(f);
    }
    let Some(conn) = writer.try_lock() else {
        return Inline::Busy(f);
    };
    // Another process (a backup, the sqlite3 shell) may hold the write lock: then the writer
    // thread waits for it with the busy timeout, not the caller's thread.
    let begun = conn
        .busy_timeout(Duration::ZERO)
        .and_then(|()| exec(&conn, "BEGIN IMMEDIATE"));
    let restored = conn.busy_timeout(writer.busy_timeout);
    match (begun, restored) {
        (Ok(()), Ok(())) => {}
        (Err(e), _) if is_busy(&e) => return Inline::Busy(f),
        (Err(e), _) | (Ok(()), Err(e)) => {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            return Inline::Done(Err(store_error("begin a write transaction", &e)));
        }
    }
    writer.counters.jobs.fetch_add(1, Ordering::Relaxed);
    writer.counters.inline.fetch_add(1, Ordering::Relaxed);
    writer.counters.transactions.fetch_add(1, Ordering::Relaxed);
    let result = f(&conn);
    let outcome = match &result {
        Ok(_) => exec(&conn, "COMMIT").map_err(|e| store_error("commit", &e)),
        // The job's own error wins; its writes go with the transaction.
        Err(_) => Ok(()),
    };
    if (result.is_err() || outcome.is_err()) && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    Inline::Done(result.and_then(|v| outcome.map(|()| v)))
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Runs a write inline when the writer is idle, else sends it to the writer thread; returns its
/// committed result.
pub(crate) async fn write<T, F>(
    writer: Option<&Writer>,
    tx: Option<&mpsc::Sender<Box<dyn WriteJob>>>,
    f: F,
) -> Result<T, StoreError>
where
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let writer = writer.ok_or_else(closed)?;
    let f = match try_inline(writer, f) {
        Inline::Done(result) => return result,
        Inline::Busy(f) => f,
    };
    if writer.inline && writer.groups {
        writer.grouping.store(true, Ordering::Release);
    }
    let (reply, answer) = oneshot::channel();
    writer.queued.fetch_add(1, Ordering::AcqRel);
    if tx.ok_or_else(closed)?.send(Box::new(Op { f, reply })).is_err() {
        writer.queued.fetch_sub(1, Ordering::AcqRel);
        return Err(closed());
    }
    // A dropped reply means the writer thread is gone (it panicked or the store closed).
    answer.await.map_err(|_| closed())?
}

/// How many batches of a single write in a row end grouping: the writes no longer overlap, so
/// a lone caller that once met a busy writer goes back to committing inline. Counted in
/// batches, not in time, so a loaded machine that deschedules the callers for a while does
/// not end grouping in the middle of a burst; one single batch is no sign either, since the
/// callers of a burst also trickle in one at a time now and then.
const SINGLES_TO_IDLE: u32 = 32;

/// The writer thread's loop: it ends when every sender is dropped.
pub(crate) fn run_writer(writer: Arc<Writer>, jobs: mpsc::Receiver<Box<dyn WriteJob>>, max_batch: usize) {
    let mut batch: Vec<Box<dyn WriteJob>> = Vec::with_capacity(max_batch);
    let mut singles = 0u32;
    while let Ok(first) = jobs.recv() {
        batch.push(first);
        // Waits for an inline write in progress; the jobs queued meanwhile join this batch.
        let conn = writer.lock();
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        writer.queued.fetch_sub(batch.len(), Ordering::AcqRel);
        singles = if batch.len() == 1 { singles + 1 } else { 0 };
        if singles >= SINGLES_TO_IDLE {
            writer.grouping.store(false, Ordering::Release);
            singles = 0;
        }
        writer.counters.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        writer.counters.transactions.fetch_add(1, Ordering::Relaxed);
        let (ran, outcome) = commit_batch(&conn, &mut batch);
        // Answer with the connection free: a caller woken by its answer that writes again at
        // once finds the writer idle rather than busy answering (and, after grouping ended,
        // commits inline instead of queueing and turning grouping on again).
        drop(conn);
        for done in ran {
            (done.answer)(outcome.clone());
        }
    }
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs a batch in one transaction; returns the jobs that ran and the commit's outcome, which
/// the caller answers them with.
fn commit_batch(conn: &Connection, batch: &mut Vec<Box<dyn WriteJob>>) -> (Vec<Ran>, Result<(), StoreError>) {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        let error = store_error("begin a write transaction", &e);
        for job in batch.drain(..) {
            job.abort(error.clone());
        }
        return (Vec::new(), Err(error));
    }
    let mut ran: Vec<Ran> = Vec::with_capacity(batch.len());
    let mut failed: Option<StoreError> = None;
    for job in batch.drain(..) {
        if let Some(error) = &failed {
            job.abort(error.clone());
            continue;
        }
        if let Err(e) = exec(conn, "SAVEPOINT job") {
            job.abort(store_error("start a savepoint", &e));
            continue;
        }
        let done = job.run(conn);
        let end = if done.ok {
            exec(conn, "RELEASE job")
        } else {
            exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job"))
        };
        ran.push(done);
        if let Err(e) = end {
            // The transaction is in an unknown state: give it up entirely, and with it every
            // job of the batch.
            failed = Some(store_error("end a savepoint", &e));
        }
    }
    let outcome = match failed {
        Some(error) => Err(error),
        None => exec(conn, "COMMIT").map_err(|e| store_error("commit", &e)),
    };
    if outcome.is_err() && !conn.is_autocommit() {
        // Nothing of the batch was acknowledged, so nothing of it may stay.
        let _ = conn.execute_batch("ROLLBACK");
    }
    (ran, outcome)
}

/// The checkpointer thread's loop: every `every`, when the writer has committed since its last
/// pass, a `PASSIVE` checkpoint copies the write-ahead log's committed pages into the database.
/// A passive checkpoint never takes the write lock, so the writer goes on committing meanwhile;
/// the writer itself never checkpoints (`wal_autocheckpoint` is off on its connection). Ends
/// when the store drops `stop`; closing its connection then is one of the closes that leave
/// the file complete.
pub(crate) fn run_checkpointer(conn: Connection, stop: mpsc::Receiver<()>, every: Duration, counters: Arc<Counters>) {
    let mut seen = counters.transactions.load(Ordering::Relaxed);
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(every) {
        let now = counters.transactions.load(Ordering::Relaxed);
        if now == seen {
            continue;
        }
        seen = now;
        // A failed pass (another process's checkpoint or a backup holding a lock) loses nothing:
        // the pages stay in the log, the next pass copies them, and a failing disk shows in
        // the writer's own commits.
        if conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0))
            .is_ok()
        {
            counters.checkpoints.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A read waiting for a reader thread. Running it returns how to deliver its result, which the
/// reader calls only after it is back on the idle stack, so the caller's next read finds the
/// same (warm) reader idle.
pub(crate) type ReadJob = Box<dyn FnOnce(&Connection) -> Deliver + Send>;

/// Sends a finished read's result to its caller.
pub(crate) type Deliver = Box<dyn FnOnce() + Send>;

/// The reader pool's dispatch state: which readers are idle, and the reads waiting for one.
///
/// Idle readers form a stack, so a read goes to the reader that finished most recently: a
/// single sequential consumer (a replay, a projection catching up) keeps hitting the same
/// connection with its page cache warm, while concurrent reads still spread over every reader.
#[derive(Default)]
struct Dispatch {
    idle: Vec<usize>,
    waiting: std::collections::VecDeque<ReadJob>,
}

/// The reader threads' shared front door.
pub(crate) struct Readers {
    state: Mutex<Dispatch>,
    /// Reader `i`'s connection: its thread locks it for every job it runs, and an inline read
    /// locks it after taking `i` off the idle stack (so the two never contend).
    conns: Arc<Vec<Mutex<Connection>>>,
    inboxes: Vec<mpsc::Sender<ReadJob>>,
}

fn lock_conn(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A read leaves nothing half-done on its connection; a panic in one leaves it usable.
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Readers {
    /// Starts one thread per connection.
    pub(crate) fn start(
        connections: Vec<Connection>,
    ) -> Result<(Arc<Readers>, Vec<std::thread::JoinHandle<()>>), std::io::Error> {
        let mut inboxes = Vec::with_capacity(connections.len());
        let mut receivers = Vec::with_capacity(connections.len());
        for _ in &connections {
            let (tx, rx) = mpsc::channel();
            inboxes.push(tx);
            receivers.push(rx);
        }
        let conns: Arc<Vec<Mutex<Connection>>> = Arc::new(connections.into_iter().map(Mutex::new).collect());
        let readers = Arc::new(Readers {
            state: Mutex::new(Dispatch {
                idle: (0..conns.len()).rev().collect(),
                waiting: Default::default(),
            }),
            conns: conns.clone(),
            inboxes,
        });
        let mut threads = Vec::with_capacity(conns.len());
        for (i, inbox) in receivers.into_iter().enumerate() {
            // The thread holds a weak handle: the pool (and with it every inbox sender) is
            // dropped with the store, which is what tells the threads to stop. The connections
            // close when the last thread holding them ends.
            let pool = Arc::downgrade(&readers);
            let conns = conns.clone();
            let handle = std::thread::Builder::new()
                .name(format!("zoom-sqlite-reader-{i}"))
                .spawn(move || run_reader(i, &conns[i], inbox, pool))?;
            threads.push(handle);
        }
        Ok((readers, threads))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Dispatch> {
        // The state is two plain collections updated in single steps; a panic elsewhere cannot
        // leave it half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn dispatch(&self, job: ReadJob) -> Result<(), StoreError> {
        let mut state = self.lock();
        match state.idle.pop() {
            Some(i) => self.inboxes[i].send(job).map_err(|_| closed()),
            None => {
                state.waiting.push_back(job);
                Ok(())
            }
        }
    }

    /// Runs `f` on the caller's thread with an idle reader's connection, if one is idle.
    fn try_inline<T, F>(&self, f: F) -> Result<Result<T, StoreError>, F>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError>,
    {
        let Some(i) = self.lock().idle.pop() else {
            return Err(f);
        };
        let result = f(&lock_conn(&self.conns[i]));
        // Give the reader back: to a read that queued meanwhile (its thread runs it), or idle.
        let mut state = self.lock();
        match state.waiting.pop_front() {
            Some(job) => {
                if let Err(mpsc::SendError(job)) = self.inboxes[i].send(job) {
                    state.waiting.push_front(job);
                }
            }
            None => state.idle.push(i),
        }
        Ok(result)
    }
}

/// Runs a read and returns its result: a point read (`inline`) on the caller's thread when a
/// reader connection is idle, anything else (and a point read when all are busy) on a reader
/// thread.
pub(crate) async fn read<T, F>(readers: Option<&Readers>, inline: bool, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let readers = readers.ok_or_else(closed)?;
    let f = if inline {
        match readers.try_inline(f) {
            Ok(result) => return result,
            Err(f) => f,
        }
    } else {
        f
    };
    let (reply, answer) = oneshot::channel();
    readers.dispatch(Box::new(move |conn: &Connection| -> Deliver {
        let result = f(conn);
        Box::new(move || {
            let _ = reply.send(result);
        })
    }))?;
    answer.await.map_err(|_| closed())?
}

/// A reader thread's loop: runs what arrives in its inbox, then whatever waits in the shared
/// queue, then marks itself idle. Ends when the store drops its inbox.
fn run_reader(me: usize, conn: &Mutex<Connection>, inbox: mpsc::Receiver<ReadJob>, pool: std::sync::Weak<Readers>) {
    while let Ok(job) = inbox.recv() {
        let mut deliver = job(&lock_conn(conn));
        loop {
            let Some(readers) = pool.upgrade() else {
                deliver();
                return;
            };
            let next = {
                let mut state = readers.lock();
                let next = state.waiting.pop_front();
                if next.is_none() {
                    // Under the same lock as `dispatch`, so a read is never left waiting
                    // while this reader goes idle.
                    state.idle.push(me);
                }
                next
            };
            drop(readers);
            deliver();
            match next {
                Some(job) => deliver = job(&lock_conn(conn)),
                None => break,
            }
        }
    }
}
