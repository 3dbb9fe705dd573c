//! [`Reaction`]: what an event of the log must change in subscriptions before the worker
//! delivers the events after it.

use std::sync::Arc;

use async_trait::async_trait;
use zoom_core::Engine;
use zoom_core::event::RecordedEvent;

use crate::error::WebhookError;

/// A rule that changes subscriptions because of an event of the log, run by the worker's
/// follower on every event before it plans the deliveries of the events after it. zoom-server's
/// rule: a revoked grant or a disabled app deactivates the subscriptions that app made.
///
/// It runs at least once per event: again when the batch holding it is retried (after a store
/// failure or a restart before the checkpoint moved), so it must be idempotent. Its own changes
/// go through the engine like any command.
#[async_trait]
pub trait Reaction: Send + Sync + std::fmt::Debug + 'static {
    /// Reacts to `row`; `Ok(true)` when it changed any subscription. An error stops the batch,
    /// which is retried after a pause.
    ///
    /// # Errors
    /// Whatever the engine or the store answered.
    async fn react(&self, engine: &Engine, row: &RecordedEvent) -> Result<bool, WebhookError>;
}

/// The reactions of a worker, in the order they run.
pub type Reactions = Vec<Arc<dyn Reaction>>;
