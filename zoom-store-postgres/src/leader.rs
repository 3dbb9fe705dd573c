//! Leader election for work that one instance of many must do alone (the webhook worker): a
//! session-level advisory lock (`pg_try_advisory_lock`) held on a dedicated connection.
//!
//! The lock lives exactly as long as its session. A monitor task pings the session every
//! [`PING_EVERY`]; when the connection closes or a ping fails or takes longer than
//! [`PING_TIMEOUT`], [`Leadership::lost`] resolves and the holder must stop the work. On the
//! server side, the session asks PostgreSQL to drop it when it goes silent (TCP keepalives after
//! 10 s, `idle_session_timeout` of 30 s where the server has it), so the lock of a machine that
//! vanished without closing its socket is freed within about half a minute, not hours.
//!
//! Between a leader losing its connection and noticing (at most one ping interval), another
//! instance may already hold the lock: the work must tolerate a short overlap. Webhook delivery
//! does (it is at least once; receivers dedupe by `event_id`).

use std::time::Duration;

use postgres_native_tls::MakeTlsConnector;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use zoom_core::store::StoreError;

use crate::error::detail;

/// How often a held lock's session is checked.
pub const PING_EVERY: Duration = Duration::from_secs(5);

/// How long a check may take before the lock is taken as lost.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// A named lock to compete for. Cheap to clone; see [`crate::PostgresStore::leader_lock`].
#[derive(Clone)]
pub struct LeaderLock {
    config: tokio_postgres::Config,
    /// The store's TLS connector: the lock's session is encrypted and verified as the pool's.
    tls: MakeTlsConnector,
    key: String,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for LeaderLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderLock")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl LeaderLock {
    pub(crate) fn new(
        config: tokio_postgres::Config,
        tls: MakeTlsConnector,
        schema: &str,
        name: &str,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self {
            config,
            tls,
            key: format!("zoom-store-postgres leader {schema} {name}"),
            runtime,
        }
    }

    /// Tries once to take the lock, on a new connection of its own. `Ok(None)`: another session
    /// holds it; try again later.
    ///
    /// # Errors
    /// `Unavailable` when PostgreSQL cannot be reached.
    pub async fn try_acquire(&self) -> Result<Option<Leadership>, StoreError> {
        let unavailable = |e: tokio_postgres::Error| StoreError::Unavailable(format!("leader lock: {}", detail(&e)));
        let (client, connection) = self.config.connect(self.tls.clone()).await.map_err(unavailable)?;
        let conn = self.runtime.spawn(async move {
            let _ = connection.await;
        });
        // Best effort: servers before 14 have no idle_session_timeout, and a role may be
        // refused the keepalive settings; the pings still detect a dead session on our side.
        for setting in [
            "SET tcp_keepalives_idle = 10",
            "SET tcp_keepalives_interval = 5",
            "SET tcp_keepalives_count = 3",
            "SET idle_session_timeout = '30s'",
        ] {
            let _ = client.batch_execute(setting).await;
        }
        let held: bool = client
            .query_one("SELECT pg_try_advisory_lock(hashtext($1))", &[&self.key])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(unavailable)?;
        if !held {
            conn.abort();
            return Ok(None);
        }
        let (lost_tx, lost) = watch::channel(false);
        let (release, release_rx) = oneshot::channel();
        let key = self.key.clone();
        let monitor = self.runtime.spawn(monitor(client, conn, key, release_rx, lost_tx));
        Ok(Some(Leadership {
            lost,
            release: Some(release),
            monitor,
        }))
    }
}

/// Holding the lock. Dropping it releases the lock (its connection closes).
#[derive(Debug)]
pub struct Leadership {
    lost: watch::Receiver<bool>,
    release: Option<oneshot::Sender<()>>,
    monitor: JoinHandle<()>,
}

impl Leadership {
    /// Resolves once the lock is lost (its connection closed, or stopped answering). Cancel
    /// safe: call it in a `select!` loop.
    pub async fn lost(&mut self) {
        let _ = self.lost.wait_for(|lost| *lost).await;
    }

    /// Whether the lock is still held, as far as the last check knows.
    pub fn is_held(&self) -> bool {
        !*self.lost.borrow()
    }

    /// Releases the lock now and closes its connection.
    pub async fn release(mut self) {
        if let Some(tx) = self.release.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.monitor).await;
    }
}

/// Keeps the lock's session alive and watched until it is released or lost.
async fn monitor(
    client: tokio_postgres::Client,
    mut conn: JoinHandle<()>,
    key: String,
    mut release: oneshot::Receiver<()>,
    lost: watch::Sender<bool>,
) {
    loop {
        tokio::select! {
            _ = &mut release => {
                let _ = client.execute("SELECT pg_advisory_unlock(hashtext($1))", &[&key]).await;
                break;
            }
            _ = &mut conn => break,
            () = tokio::time::sleep(PING_EVERY) => {
                let ping = tokio::time::timeout(PING_TIMEOUT, client.simple_query("SELECT 1")).await;
                if !matches!(ping, Ok(Ok(_))) {
                    break;
                }
            }
        }
    }
    lost.send_replace(true);
    drop(client);
    conn.abort();
}
