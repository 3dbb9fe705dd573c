//! The aggregate seam: what a kind of event stream must say so that the one runner
//! ([`engine::Runner`](crate::engine::Runner)) can change it.
//!
//! An aggregate names its streams, the scope each command needs, how a command becomes events
//! (`decide`, pure and synchronous: all the rules) and how an event changes the state (`apply`:
//! no rules, never fails, never panics). Meetings, webhook subscriptions, signing-key rings and
//! the server's apps are aggregates; an embedder's own kinds can be too. Everything else (the
//! per-stream lock, the cache, the scope check, idempotency keys, the conflict-retry loop,
//! snapshots) is the runner's, written once.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::Entropy;
use crate::error::DomainError;
use crate::event::{DecodeError, Event, RecordedEvent, StreamId};
use crate::id::AccountId;
use crate::principal::{Principal, Scope};
use crate::store::IndexEntry;

/// What a decision may consult besides the state: the stream's id, the time, the caller (none
/// for a system write such as a new signing key) and a source of fresh ids and secrets.
pub struct Context<'a, Id> {
    /// The id of the stream the command runs on.
    pub id: &'a Id,
    /// The current instant.
    pub now: DateTime<Utc>,
    /// Who is asking; `None` for a write the system makes on its own behalf.
    pub principal: Option<&'a Principal>,
    /// Fresh ids and secrets.
    pub entropy: &'a dyn Entropy,
}

/// A kind of event stream the runner can load, decide on, append to and cache.
///
/// Contract:
/// - `decide` holds every rule and reads nothing but its arguments; it returns the events to
///   append (none: an idempotent no-op) or says why the command is refused.
/// - `apply` holds no rule, never fails and never panics, for any sequence of events (even ones
///   `decide` would never produce).
/// - `State::default()` is the state of an empty stream; states are cheap to clone (share large
///   parts behind an `Arc`) because the cache hands out clones.
/// - The runner checks [`Aggregate::scope`] once, before `decide`; `decide` does not check it again.
pub trait Aggregate: Send + Sync + 'static {
    /// The id a caller names a stream by (`MeetingId`, …).
    type Id: Clone + Send + Sync;
    /// The folded state.
    type State: Clone + Default + Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The closed set of commands. Serialised only to fingerprint idempotent requests.
    type Command: Serialize + Send + Sync;
    /// The events, past tense.
    type Event: Send + Sync;
    /// Why a command is refused.
    type Error: Into<DomainError>;

    /// A short name of the kind (`meeting`, `webhook`): metadata, idempotency scoping, errors.
    const KIND: &'static str;

    /// The stream of an id.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] for an id that names no valid stream.
    fn stream(&self, id: &Self::Id) -> Result<StreamId, DomainError>;

    /// A fresh id for a command that creates its stream, or `None` when the caller must name it.
    fn fresh_id(&self, _entropy: &dyn Entropy) -> Option<Self::Id> {
        None
    }

    /// The scope a principal needs for `command`; `None` when any caller may send it.
    fn scope(&self, command: &Self::Command) -> Option<Scope>;

    /// The causation recorded in the events' metadata (`meeting.schedule`, …).
    fn causation(&self, command: &Self::Command) -> String;

    /// Decides what `command` does to `state`.
    ///
    /// # Errors
    /// `Self::Error`: the command is refused and nothing is appended.
    fn decide(
        &self,
        state: &Self::State,
        command: &Self::Command,
        ctx: &Context<'_, Self::Id>,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    /// Folds one event, stored at `version`, into the state.
    fn apply(state: &mut Self::State, event: &Self::Event, version: u64);

    /// The aggregate's event in a stored event, or `None` for an event of another kind (skipped).
    fn narrow(event: Event) -> Option<Self::Event>;

    /// The stored form of an event.
    fn widen(event: &Self::Event) -> Event;

    /// The aggregate's event in a stored row, or `None` for an event of another kind. The
    /// default decodes the row and narrows it; an aggregate whose events are
    /// [`Event::External`] overrides it to refuse a row of its own type that does not decode,
    /// rather than skip it.
    ///
    /// # Errors
    /// [`DecodeError`] naming the row.
    fn decode(row: &RecordedEvent) -> Result<Option<Self::Event>, DecodeError> {
        Ok(Self::narrow(row.decode()?))
    }

    /// Whether a state exists (a stream with no creating event has none).
    fn exists(state: &Self::State) -> bool;

    /// The list row of the stream after a command, for aggregates that are listed.
    fn index(&self, _state: &Self::State) -> Option<IndexEntry> {
        None
    }

    /// The account the stream belongs to, recorded in the events' metadata.
    fn account(&self, _state: &Self::State) -> Option<AccountId> {
        None
    }

    /// A secondary key (a recording id) an event makes resolve to its stream.
    fn link(_event: &Self::Event) -> Option<String> {
        None
    }

    /// A rough size of the state (participants, …). A snapshot costs O(size) to write, so the
    /// runner writes one only after at least this many events since the last one: snapshots
    /// then cost O(1) per command, amortised, however large a state grows.
    fn weight(_state: &Self::State) -> u64 {
        1
    }

    /// Whether states of this kind are snapshotted at all (tiny, rarely read streams need not be).
    fn snapshots(&self) -> bool {
        true
    }
}

/// The one scope check of a command: the runner and the test kit both call it.
///
/// # Errors
/// [`DomainError::InsufficientScope`] when `principal` lacks the scope the command needs.
pub fn authorize<A: Aggregate>(
    aggregate: &A,
    command: &A::Command,
    principal: Option<&Principal>,
) -> Result<(), DomainError> {
    match (aggregate.scope(command), principal) {
        (Some(scope), Some(p)) if !p.has(scope) => Err(DomainError::InsufficientScope(scope)),
        _ => Ok(()),
    }
}
