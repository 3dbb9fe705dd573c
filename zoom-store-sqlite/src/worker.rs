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

/// A read waiting for a reader thread.
pub(crate) type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// Sends a read to the pool and awaits its result.
pub(crate) async fn read<T, F>(tx: Option<&mpsc::Sender<ReadJob>>, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    tx.ok_or_else(closed)?
        .send(Box::new(move |conn: &Connection| {
            let _ = reply.send(f(conn));
        }))
        .map_err(|_| closed())?;
    answer.await.map_err(|_| closed())?
}

/// A reader thread's loop: takes the next read from the shared queue, ends when it closes.
pub(crate) fn run_reader(conn: Connection, jobs: Arc<Mutex<mpsc::Receiver<ReadJob>>>) {
    loop {
        // The lock is held only while waiting for the next job, never while running one, so
        // the readers run their queries in parallel.
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(&conn),
            Err(_) => return,
        }
    }
}
