//! Webhook delivery: from the event log to subscriber URLs, signed, retried, never lost.
//!
//! A [`Worker`] follows the engine's log from a durable checkpoint. Every event of the webhook
//! catalogue that an active subscription of the same account asks for becomes a delivery in the
//! store's outbox, written in the same transaction that moves the checkpoint. Due deliveries are
//! POSTed with both signature schemes of docs/webhooks.md (a fresh timestamp per attempt, the
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
//! - `worker`: [`Worker::spawn`] and [`WorkerHandle`]; `shared`: what their tasks share.
//! - `follow`: the follower, from the log to the outbox, running each [`Reaction`] on the way.
//! - `dispatch`: the dispatcher, from the outbox to lanes under the pool limits.
//! - `attempt`: one attempt of one delivery, its record and the health it moves;
//!   `prepared`: a subscription parsed once per version.
//! - `policy`: the rules (which deliveries an event causes, retry, `Retry-After`, 410, health)
//!   as pure functions.
//! - `send`: one signed HTTP attempt; [`guard`]: the connect-time SSRF guard.
//! - [`redeliver`]: redelivery by position or time range, by delivery, or of failed ones.
//! - [`log`]: the delivery log query (status and time filters, the engine's paging) and the
//!   summary of the newest attempts.
//! - `manage`: [`SelfService`], what a subscriber does beyond the engine's commands (resolved
//!   URL checks, `:validate`, `:redeliver`, `:ping`); `validate`: the validation challenge.
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

mod attempt;
pub mod config;
mod dispatch;
mod error;
mod follow;
pub mod guard;
pub mod log;
mod manage;
mod policy;
mod prepared;
mod reaction;
pub mod redeliver;
mod send;
mod shared;
mod validate;
mod worker;

pub use config::{DEFAULT_RETRY_SCHEDULE, USER_AGENT, WorkerConfig, parse_schedule};
pub use error::WebhookError;
pub use log::{DeliveryFilter, Summary, delivery_log};
pub use manage::{MAX_REDELIVERIES, Redelivery, SelfService, SelfServiceConfig, Validation};
pub use reaction::{Reaction, Reactions};
pub use redeliver::Range;
pub use worker::{Worker, WorkerHandle};

/// `docs/webhooks.md`, so that its Rust snippets compile as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/webhooks.md")]
struct WebhooksGuide;
