//! What the worker's tasks and its handle share, and the waits and chores they have in common.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use zoom_core::Engine;
use zoom_core::id::WebhookId;

use crate::config::WorkerConfig;
use crate::error::WebhookError;
use crate::prepared::Prepared;

/// How long a loop waits after a store error before trying again.
pub(crate) const ERROR_BACKOFF: Duration = Duration::from_millis(500);

/// State shared by the worker's tasks and its handle.
pub(crate) struct Shared {
    pub(crate) engine: Arc<Engine>,
    pub(crate) config: WorkerConfig,
    pub(crate) client: reqwest::Client,
    /// Wakes the follower: something was committed.
    pub(crate) log_wake: Arc<Notify>,
    /// Wakes the dispatcher: something became due.
    pub(crate) due_wake: Notify,
    pub(crate) shutdown: watch::Sender<bool>,
    /// When each failing subscription's current run of failures began (learnt from the delivery
    /// log after a restart).
    pub(crate) failing_since: Mutex<HashMap<WebhookId, DateTime<Utc>>>,
    /// The last time attempt rows were pruned.
    pub(crate) last_prune: Mutex<Option<DateTime<Utc>>>,
    /// Each subscription as last read, with its URL and secrets parsed, so that an attempt
    /// parses nothing while the subscription's stream is unchanged.
    pub(crate) prepared: Mutex<HashMap<WebhookId, Arc<Prepared>>>,
}

/// Deletes delivery-log rows older than [`WorkerConfig::prune_after`].
pub(crate) async fn prune(shared: &Shared) -> Result<u64, WebhookError> {
    let now = shared.engine.clock().now();
    let n = shared
        .engine
        .store()
        .prune_attempts(now - shared.config.prune_after)
        .await?;
    *shared.last_prune.lock().unwrap_or_else(PoisonError::into_inner) = Some(now);
    Ok(n)
}

/// Waits until `notify` fires, `wait` passes, or shutdown is asked. Returns false on shutdown.
pub(crate) async fn pause(shutdown: &mut watch::Receiver<bool>, notify: &Notify, wait: Duration) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    tokio::select! {
        _ = notify.notified() => true,
        _ = tokio::time::sleep(wait) => true,
        _ = shutdown.changed() => false,
    }
}
