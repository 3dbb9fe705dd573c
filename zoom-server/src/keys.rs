//! Scheduled rotation of the join-token signing key (`--join-key-rotation`, default 24 h).
//!
//! Every instance reloads the key ring from the store on a short period ([`reload_period`]),
//! so a key that another instance added is known everywhere within that period. When the
//! signing key is older than the rotation interval, one instance adds a new one: on PostgreSQL
//! the one that takes the `join-keys` leader lock (and, having it, finds the key still due after
//! a fresh reload); on SQLite or memory the only instance. Retired keys stay in the ring and the
//! JWKS while tokens they signed may be valid (`zoom_core::token::KeyRing::rotate`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use zoom_core::engine::Engine;
use zoom_store_postgres::{LeaderLock, PostgresStore};

use crate::Server;
use crate::config::StoreSpec;

/// The name of the leader lock under which an instance rotates the join keys.
pub const LEADER_LOCK: &str = "join-keys";

/// How often instances reload the ring: at most every 5 s, and several times per rotation.
pub fn reload_period(rotation: Duration) -> Duration {
    (rotation / 4).clamp(Duration::from_millis(100), Duration::from_secs(5))
}

/// Reloads the ring and rotates the key when it is at least `rotation` old. With a `lock`, only
/// the instance that takes it rotates, after reloading once more under it. Returns whether this
/// call rotated.
///
/// # Errors
/// A store or lock failure, as text for the log.
pub async fn rotate_if_due(engine: &Engine, rotation: Duration, lock: Option<&LeaderLock>) -> Result<bool, String> {
    let due = |created: chrono::DateTime<chrono::Utc>| {
        let age = engine.clock().now() - created;
        age.to_std().is_ok_and(|age| age >= rotation)
    };
    let created = engine.reload_join_keys().await.map_err(|e| e.to_string())?;
    if !due(created) {
        return Ok(false);
    }
    let Some(lock) = lock else {
        engine.rotate_join_key().await.map_err(|e| e.to_string())?;
        return Ok(true);
    };
    let Some(leadership) = lock.try_acquire().await.map_err(|e| e.to_string())? else {
        return Ok(false);
    };
    // Another instance may have rotated between the reload and the lock.
    let rotated = match engine.reload_join_keys().await {
        Ok(created) if due(created) => engine.rotate_join_key().await.map(|()| true),
        Ok(_) => Ok(false),
        Err(e) => Err(e),
    };
    leadership.release().await;
    rotated.map_err(|e| e.to_string())
}

/// The running rotation task.
pub struct KeyRotation {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for KeyRotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRotation").finish_non_exhaustive()
    }
}

impl KeyRotation {
    /// Starts reloading and rotating on the server's schedule.
    ///
    /// # Errors
    /// When the PostgreSQL leader lock cannot be set up.
    pub fn start(server: &Server) -> Result<Self, String> {
        let lock = match &server.store_spec {
            StoreSpec::Postgres(url) => Some(
                PostgresStore::leader_lock_for(url, LEADER_LOCK).map_err(|e| format!("join-key leader lock: {e}"))?,
            ),
            StoreSpec::Sqlite(_) | StoreSpec::Memory => None,
        };
        let (stop, mut stopping) = watch::channel(false);
        let engine: Arc<Engine> = server.engine.clone();
        let rotation = server.join_key_rotation;
        let task = tokio::spawn(async move {
            let period = reload_period(rotation);
            loop {
                match rotate_if_due(&engine, rotation, lock.as_ref()).await {
                    Ok(true) => tracing::info!("rotated the join-token signing key"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!("join-key rotation: {e}"),
                }
                tokio::select! {
                    () = tokio::time::sleep(period) => {}
                    _ = stopping.changed() => return,
                }
            }
        });
        Ok(Self { stop, task })
    }

    /// Stops the task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
