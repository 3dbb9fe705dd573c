//! The webhook-subscription aggregate, the event catalogue, and address rules.
//!
//! # Layout
//! - [`state`]: the folded subscription and its health (one stream per subscription, `whk_…`).
//! - [`command`]: the closed set of commands.
//! - [`event`]: the events, past tense, with their payloads.
//! - [`decide`](mod@decide): the rules, `decide(id, state, command, context) -> events`.
//! - [`apply`](mod@apply): the fold, total and panic-free.
//! - [`catalogue`]: which stored events become which webhook names (their bodies are
//!   [`crate::webhook_body`]'s).
//! - [`aggregate`]: `Subscriptions`, the subscription as the runner's aggregate.
//! - [`address`]: which destination addresses are refused (SSRF rules) and the allow-list.
//! - [`validation`]: the endpoint-validation challenge and the check of its answer.

pub mod address;
pub mod aggregate;
pub mod apply;
pub mod catalogue;
pub mod command;
pub mod decide;
pub mod event;
pub mod state;
pub mod validation;

pub use apply::apply;
pub use command::{WebhookCommand, WebhookPatch};
pub use decide::{Context, decide, receives, visible};
pub use event::*;
pub use state::*;

/// Folds a sequence of `(version, event)` pairs from nothing.
pub fn fold<'a>(events: impl IntoIterator<Item = (u64, &'a WebhookEvent)>) -> Option<Subscription> {
    let mut state = None;
    for (version, event) in events {
        apply(&mut state, event, version);
    }
    state
}
