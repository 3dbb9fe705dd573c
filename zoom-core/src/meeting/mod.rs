//! The meeting aggregate: a meeting with its participants and recordings, one event stream.
//!
//! # Layout
//! - [`state`]: the folded state and its enums.
//! - [`command`]: the closed set of commands and field validation.
//! - [`event`]: the events, past tense, with their payloads.
//! - [`decide`](mod@decide): the business rules, `decide(state, command, context) -> events`.
//! - [`apply`](mod@apply): the fold, total and panic-free.
//! - [`aggregate`]: [`Meetings`], the meeting as the runner's [`Aggregate`](crate::aggregate::Aggregate).

pub mod aggregate;
pub mod apply;
pub mod command;
pub mod decide;
pub mod event;
pub mod state;

pub use aggregate::Meetings;
pub use apply::{apply, apply_shared};
pub use command::{JoinRequest, MeetingCommand, MeetingPatch, ScheduleMeeting};
pub use decide::{Context, JoinGrant, authorize_join, decide, visible};
pub use event::MeetingEvent;
pub use state::*;

/// Folds a sequence of `(version, event)` pairs from nothing.
pub fn fold<'a>(events: impl IntoIterator<Item = (u64, &'a MeetingEvent)>) -> Option<Meeting> {
    let mut state = None;
    for (version, event) in events {
        apply(&mut state, event, version);
    }
    state
}
