//! Runs the webhook worker. With SQLite or memory this process owns the store and always
//! delivers. With PostgreSQL several instances share the store, and only the one holding the
//! `webhooks` leader lock (`zoom_store_postgres::LeaderLock`) delivers, so no webhook is sent
//! twice by two instances: the others try to take the lock every [`ELECTION_RETRY`], and one of
//! them takes over when the leader stops or loses its lock's connection.
//!
//! Either way the worker is woken by [`Server::commits`], the signal the server's routers and
//! (on PostgreSQL) its commit listener notify: it wakes the stream hubs too, each its own
//! waiter, so none takes the others' wake-ups.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use zoom_core::engine::Engine;
use zoom_http::CommitWaiter;
use zoom_store_postgres::{LeaderLock, PostgresStore};
use zoom_webhooks::{Worker, WorkerConfig, WorkerHandle};

use crate::Server;
use crate::config::StoreSpec;

/// How often an instance that does not deliver tries to take the leader lock.
pub const ELECTION_RETRY: Duration = Duration::from_secs(5);

/// The name of the leader lock of webhook delivery.
pub const LEADER_LOCK: &str = "webhooks";

/// The webhook worker of this process, running or waiting for its turn.
pub struct Webhooks {
    inner: Inner,
}

enum Inner {
    /// This process owns the store: the worker always runs, woken by `wake`.
    Local { worker: WorkerHandle, wake: JoinHandle<()> },
    /// The worker runs while this instance holds the leader lock.
    Elected {
        stop: watch::Sender<bool>,
        task: JoinHandle<()>,
    },
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.inner {
            Inner::Local { .. } => "local",
            Inner::Elected { .. } => "elected",
        };
        f.debug_struct("Webhooks").field("mode", &mode).finish_non_exhaustive()
    }
}

impl Webhooks {
    /// Starts the worker for `server`'s store: at once for SQLite and memory; for PostgreSQL, a
    /// task that runs it whenever this instance holds the leader lock.
    ///
    /// # Errors
    /// A message when the worker's settings are unusable or the HTTP client cannot be built.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(server: &Server) -> Result<Self, String> {
        let config = server.webhooks.clone();
        let inner = match &server.store_spec {
            StoreSpec::Postgres(url) => {
                config.validate().map_err(|e| format!("webhook worker: {e}"))?;
                let lock = PostgresStore::leader_lock_for(url, LEADER_LOCK)
                    .map_err(|e| format!("webhook leader lock: {e}"))?;
                let (stop, stopping) = watch::channel(false);
                let commits = server.commits.subscribe();
                let task = tokio::spawn(elect(server.engine.clone(), config, lock, commits, stopping));
                Inner::Elected { stop, task }
            }
            StoreSpec::Sqlite(_) | StoreSpec::Memory => {
                let worker =
                    Worker::spawn(server.engine.clone(), config).map_err(|e| format!("webhook worker: {e}"))?;
                let mut commits = server.commits.subscribe();
                let notifier = worker.commit_notifier();
                let wake = tokio::spawn(async move {
                    loop {
                        commits.wait().await;
                        notifier.notify_one();
                    }
                });
                Inner::Local { worker, wake }
            }
        };
        Ok(Self { inner })
    }

    /// Whether this process delivers webhooks only while it holds the leader lock.
    pub fn is_elected(&self) -> bool {
        matches!(self.inner, Inner::Elected { .. })
    }

    /// Stops the worker (finishing attempts in flight) and gives up the leader lock.
    pub async fn shutdown(self) {
        match self.inner {
            Inner::Local { worker, wake } => {
                wake.abort();
                worker.shutdown().await;
            }
            Inner::Elected { stop, task } => {
                stop.send_replace(true);
                let _ = task.await;
            }
        }
    }
}

/// Competes for the lock until stopped; runs the worker while holding it.
async fn elect(
    engine: Arc<Engine>,
    config: WorkerConfig,
    lock: LeaderLock,
    mut commits: CommitWaiter,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        match lock.try_acquire().await {
            Ok(Some(mut leadership)) => match Worker::spawn(engine.clone(), config.clone()) {
                Ok(worker) => {
                    tracing::info!("this instance holds the webhook leader lock: delivering webhooks");
                    let stopping = loop {
                        tokio::select! {
                            () = commits.wait() => worker.notify(),
                            () = leadership.lost() => break false,
                            _ = stop.changed() => break true,
                        }
                    };
                    worker.shutdown().await;
                    if stopping {
                        leadership.release().await;
                        return;
                    }
                    tracing::warn!("lost the webhook leader lock (its connection failed): stopped delivering");
                }
                Err(e) => {
                    tracing::error!("webhook worker: {e}");
                    leadership.release().await;
                }
            },
            Ok(None) => tracing::debug!("another instance holds the webhook leader lock"),
            Err(e) => tracing::warn!("webhook leader lock: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(ELECTION_RETRY) => {}
            _ = stop.changed() => return,
        }
    }
}
