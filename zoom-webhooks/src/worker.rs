//! The worker: a follower that turns log events into durable deliveries, and a dispatcher that
//! sends due deliveries under the pool and per-subscription limits.
//!
//! Both run as tasks on the caller's tokio runtime and share nothing but the store and the
//! engine, so a crash of the process at any point loses nothing: the follower's progress is the
//! checkpoint that [`DeliveryStore::enqueue`](zoom_core::store::DeliveryStore::enqueue) moves in
//! the same transaction that stores the deliveries, and a delivery leaves `pending` only in the
//! transaction that records its attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use zoom_core::Engine;
use zoom_core::id::WebhookId;

use crate::config::WorkerConfig;
use crate::error::WebhookError;
use crate::shared::{Shared, prune};
use crate::{dispatch, follow, redeliver, send};

/// The delivery worker. See [`Worker::spawn`].
#[derive(Debug)]
pub struct Worker;

/// Controls a running worker: wake it after a commit, redeliver, prune, stop it.
///
/// Dropping the handle does not stop the worker: its tasks run until the runtime shuts down.
/// Call [`WorkerHandle::shutdown`] for a graceful stop.
pub struct WorkerHandle {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// Starts the worker on the current tokio runtime, following `engine`'s store from the
    /// checkpoint named [`WorkerConfig::consumer`].
    ///
    /// The worker takes the engine rather than a bare store because it needs three things only
    /// the engine has: folded subscriptions (URL, events, secrets during a rotation), the
    /// injected clock and entropy (so tests can drive time and jitter), and a way to record a
    /// subscription's health as an event (`SetHealth`, run as an admin principal of the
    /// subscription's account).
    ///
    /// # Errors
    /// [`WebhookError::Config`] for settings that cannot work, [`WebhookError::Client`] when the
    /// HTTP client (TLS backend) cannot be built.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn(engine: Arc<Engine>, config: WorkerConfig) -> Result<WorkerHandle, WebhookError> {
        config.validate()?;
        let client = send::client(&config)?;
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            engine,
            config,
            client,
            log_wake: Arc::new(Notify::new()),
            due_wake: Notify::new(),
            shutdown,
            failing_since: Mutex::new(HashMap::new()),
            last_prune: Mutex::new(None),
            prepared: Mutex::new(HashMap::new()),
        });
        let tasks = vec![
            tokio::spawn(follow::follow(Arc::clone(&shared))),
            tokio::spawn(dispatch::dispatch(Arc::clone(&shared))),
        ];
        Ok(WorkerHandle { shared, tasks })
    }
}

impl WorkerHandle {
    /// Wakes the worker right away, e.g. after a commit, instead of at its next poll.
    pub fn notify(&self) {
        self.shared.log_wake.notify_one();
    }

    /// The notifier [`WorkerHandle::notify`] uses, to hand to code that commits:
    /// `notify_one()` on it after a write wakes the worker at once. It has one waiter, the
    /// worker; to wake several followers of the log, relay a fan-out signal to it.
    pub fn commit_notifier(&self) -> Arc<Notify> {
        Arc::clone(&self.shared.log_wake)
    }

    /// Sends a subscription's events in `range` again: events already delivered become pending
    /// again, and events the subscription asks for that never had a delivery (sent before it
    /// existed, say) get one. Returns how many deliveries are now pending.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`] for an unknown or deleted subscription, a store failure.
    pub async fn redeliver(&self, subscription: &WebhookId, range: redeliver::Range) -> Result<u64, WebhookError> {
        let n = redeliver::redeliver(&self.shared.engine, subscription, range).await?;
        self.shared.due_wake.notify_one();
        Ok(n)
    }

    /// Sends one delivery again (one that `failed` after its last retry, say).
    ///
    /// # Errors
    /// [`WebhookError::NotFound`] for an unknown delivery, a store failure.
    pub async fn retry_delivery(&self, delivery_id: u64) -> Result<(), WebhookError> {
        redeliver::retry_delivery(&self.shared.engine, delivery_id).await?;
        self.shared.due_wake.notify_one();
        Ok(())
    }

    /// Deletes delivery-log rows older than [`WorkerConfig::prune_after`] now (the worker also
    /// does it every [`WorkerConfig::prune_every`]). Returns how many rows went.
    ///
    /// # Errors
    /// A store failure.
    pub async fn prune(&self) -> Result<u64, WebhookError> {
        prune(&self.shared).await
    }

    /// Stops the worker: no new attempt starts, attempts in flight finish (within the request
    /// timeout) and are recorded, then the tasks end. Pending deliveries stay in the outbox for
    /// the next start.
    pub async fn shutdown(self) {
        // `send_replace` stores the value even before the tasks first ran and subscribed.
        self.shared.shutdown.send_replace(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
