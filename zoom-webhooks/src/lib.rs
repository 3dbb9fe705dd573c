//! Webhook delivery: from the event log to subscriber URLs, signed, retried, never lost.
//!
//! A [`Worker`] follows the engine's log from a durable checkpoint. Every event of the webhook
//! catalogue that an active subscription of the same account asks for becomes a delivery in the
//! store's outbox, written in the same transaction that moves the checkpoint. Due deliveries are
//! POSTed with both signature schemes of DESIGN section 8 (a fresh timestamp per attempt, the
//! same `webhook-id` = `event_id` on every one), retried on the configured schedule with jitter,
//! and every attempt is logged. The subscription's health follows: `degraded` after a day of
//! failures, `disabled` after a week or on 410, `healthy` again after one success.
//!
//! Destinations are checked against the SSRF rules of `zoom_core::webhook::address` twice at send
//! time: a literal address before the request, and every address a host name resolves to inside
//! the HTTP client's resolver, so a DNS answer that changes between checks cannot slip through.
//!
//! # Layout
//! - [`config`]: [`WorkerConfig`] and [`parse_schedule`].
//! - `worker`: [`Worker::spawn`], the follower and the dispatcher, [`WorkerHandle`].
//! - `policy`: the rules (retry, `Retry-After`, 410, health) as pure functions.
//! - `send`: one signed HTTP attempt; [`guard`]: the connect-time SSRF guard.
//! - [`redeliver`]: redelivery by position or time range, and the delivery log.
//!
//! # Example
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use zoom_core::{Engine, EngineConfig, clock::{SystemClock, SystemEntropy}};
//! use zoom_webhooks::{Worker, WorkerConfig, parse_schedule};
//!
//! let store = Arc::new(zoom_store_memory::MemoryStore::new());
//! let engine = Arc::new(
//!     Engine::open(store, Arc::new(SystemClock), Arc::new(SystemEntropy), zoom_core::EngineConfig::new(zoom_core::files::FileUrlSigner::new("https://files.example.com/recordings", zoom_core::clock::Entropy::key_bytes(&zoom_core::clock::SystemEntropy).to_vec())))
//!         .await
//!         .unwrap(),
//! );
//! let config = WorkerConfig {
//!     retry_schedule: parse_schedule("1s,5s,30s").unwrap(),
//!     ..WorkerConfig::default()
//! };
//! let worker = Worker::spawn(Arc::clone(&engine), config).unwrap();
//! // ... run commands on the engine; call `worker.notify()` after each to send at once ...
//! worker.notify();
//! worker.shutdown().await;
//! # });
//! ```

pub mod config;
pub mod guard;
mod policy;
pub mod redeliver;
mod send;
mod worker;

pub use config::{DEFAULT_RETRY_SCHEDULE, USER_AGENT, WorkerConfig, parse_schedule};
pub use redeliver::{Range, delivery_log};
pub use worker::{Worker, WorkerHandle};

/// `docs/webhooks.md`, so that its Rust snippets compile as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/webhooks.md")]
struct WebhooksGuide;

use zoom_core::EngineError;
use zoom_core::store::StoreError;

/// Why a call of this crate failed. Each variant says how the caller handles it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A setting cannot work (zero pool, jitter of 1, empty range). Fix the configuration or the
    /// request; not retryable.
    #[error("invalid webhook worker setting: {0}")]
    Config(String),
    /// A retry schedule does not parse (`--webhook-retry-schedule`). Fix the flag.
    #[error("invalid retry schedule: {0}")]
    Schedule(String),
    /// The HTTP client (its TLS backend) could not be built. Operator attention.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The subscription or delivery does not exist (or was deleted). HTTP 404.
    #[error("{0} not found")]
    NotFound(String),
    /// The engine refused or failed; see [`EngineError`] (scope, visibility, contention).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The store failed; retry when `Unavailable`.
    #[error(transparent)]
    Store(#[from] StoreError),
}
