//! The pure core of the meeting engine.
//!
//! Everything that happens to a meeting (scheduled, joined, recorded) is an event in an
//! append-only log; a [`Meeting`](meeting::Meeting) and a webhook
//! [`Subscription`](webhook::Subscription) are state machines folded from their streams. This
//! crate decides and folds; it does no I/O, so it cannot fail for I/O reasons. Stores, HTTP and
//! webhook delivery are adapters in other crates behind the traits of [`store`].
//!
//! # Layout
//! - [`id`], [`principal`], [`clock`]: identifiers, callers and scopes, injected time and randomness.
//! - [`meeting`]: the meeting aggregate (participants, recordings, join rules).
//! - [`webhook`]: the subscription aggregate, the webhook catalogue, destination rules;
//!   [`webhook_body`]: the bodies webhooks and event streams carry.
//! - [`event`]: the stored envelope, encoding, decoding and upcasting.
//! - [`store`]: the storage traits and their contract.
//! - [`aggregate`]: the aggregate seam; [`engine`]: the one runner of commands, and queries.
//! - [`token`]: join tokens and key rings; [`signature`]: webhook signatures and the verifier.
//! - [`testing`] (feature `testing`): the store conformance suite, given/when/then, strategies.
//!
//! # Example
//! ```
//! use zoom_core::meeting::{self, MeetingCommand, ScheduleMeeting, MeetingState};
//! use zoom_core::principal::{Principal, Scope};
//! use zoom_core::id::{MeetingId, Name};
//! use zoom_core::clock::SeededEntropy;
//!
//! let app = Principal::app(Name::parse("acme").unwrap(), Name::parse("app1").unwrap(), [Scope::Admin]);
//! let entropy = SeededEntropy::new(7);
//! let ctx = meeting::Context { now: chrono::Utc::now(), principal: &app, entropy: &entropy };
//! let id = MeetingId::parse("mtg_demo").unwrap();
//! let schedule = MeetingCommand::Schedule(ScheduleMeeting {
//!     topic: "Standup".into(),
//!     start_time: "2030-01-01T09:00:00Z".into(),
//!     duration_minutes: 15,
//!     timezone: None, passcode: None, waiting_room: None, settings: None,
//!     host_id: Some("alice".into()),
//! });
//! let events = meeting::decide(&id, None, &schedule, &ctx).unwrap();
//! let state = meeting::fold(events.iter().enumerate().map(|(i, e)| (i as u64 + 1, e))).unwrap();
//! assert_eq!(state.state, MeetingState::Scheduled);
//! assert_eq!(state.host_id.as_str(), "alice");
//! ```

pub mod aggregate;
pub mod clock;
pub mod engine;
pub mod error;
pub mod event;
pub mod files;
pub mod id;
pub mod meeting;
pub mod principal;
pub mod seal;
pub mod signature;
pub mod store;
pub mod system;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;
pub mod webhook;
pub mod webhook_body;

pub use engine::{Engine, EngineConfig, EngineError};
pub use error::DomainError;
