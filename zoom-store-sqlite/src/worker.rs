//! The store's threads: one writer that commits in groups, and a pool of readers.
//!
//! Async callers never touch SQLite themselves: they send a job over a channel and await a
//! `futures` oneshot that the thread completes, so no runtime thread ever blocks on disk and the
//! library needs no runtime at all (`futures::executor::block_on` works as well as tokio).
//!
//! Group commit: the writer takes the first waiting job, then every job already queued behind it
//! (up to `max_batch`), and runs them all in one `BEGIN IMMEDIATE … COMMIT`. Each job runs in its
//! own savepoint, so one that fails (a stale expected version, a duplicate idempotency key) is
//! rolled back alone and the others in the batch still commit. Replies are sent only after the
//! commit returned: an acknowledged write is a committed write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
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
    pub(crate) checkpoints: AtomicU64,
}

/// Sends a write to the writer thread and awaits its committed result.
pub(crate) async fn write<T, F>(tx: Option<&mpsc::Sender<Box<dyn WriteJob>>>, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    tx.ok_or_else(closed)?
        .send(Box::new(Op { f, reply }))
        .map_err(|_| closed())?;
    // A dropped reply means the writer thread is gone (it panicked or the store closed).
    answer.await.map_err(|_| closed())?
}

/// The writer thread's loop: it ends when every sender is dropped.
pub(crate) fn run_writer(
    conn: Connection,
    jobs: mpsc::Receiver<Box<dyn WriteJob>>,
    max_batch: usize,
    counters: Arc<Counters>,
) {
    let mut batch: Vec<Box<dyn WriteJob>> = Vec::with_capacity(max_batch);
    while let Ok(first) = jobs.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        counters.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        counters.transactions.fetch_add(1, Ordering::Relaxed);
        commit_batch(&conn, &mut batch);
    }
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn commit_batch(conn: &Connection, batch: &mut Vec<Box<dyn WriteJob>>) {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        let error = store_error("begin a write transaction", &e);
        for job in batch.drain(..) {
            job.abort(error.clone());
        }
        return;
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
    for done in ran {
        (done.answer)(outcome.clone());
    }
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
    inboxes: Vec<mpsc::Sender<ReadJob>>,
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
        let readers = Arc::new(Readers {
            state: Mutex::new(Dispatch {
                idle: (0..connections.len()).rev().collect(),
                waiting: Default::default(),
            }),
            inboxes,
        });
        let mut threads = Vec::with_capacity(connections.len());
        for (i, (conn, inbox)) in connections.into_iter().zip(receivers).enumerate() {
            // The thread holds a weak handle: the pool (and with it every inbox sender) is
            // dropped with the store, which is what tells the threads to stop.
            let pool = Arc::downgrade(&readers);
            let handle = std::thread::Builder::new()
                .name(format!("zoom-sqlite-reader-{i}"))
                .spawn(move || run_reader(i, conn, inbox, pool))?;
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
}

/// Sends a read to the pool and awaits its result.
pub(crate) async fn read<T, F>(readers: Option<&Readers>, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    readers
        .ok_or_else(closed)?
        .dispatch(Box::new(move |conn: &Connection| -> Deliver {
            let result = f(conn);
            Box::new(move || {
                let _ = reply.send(result);
            })
        }))?;
    answer.await.map_err(|_| closed())?
}

/// A reader thread's loop: runs what arrives in its inbox, then whatever waits in the shared
/// queue, then marks itself idle. Ends when the store drops its inbox.
fn run_reader(me: usize, conn: Connection, inbox: mpsc::Receiver<ReadJob>, pool: std::sync::Weak<Readers>) {
    while let Ok(job) = inbox.recv() {
        let mut deliver = job(&conn);
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
                Some(job) => deliver = job(&conn),
                None => break,
            }
        }
    }
}
