//! The meeting as an [`Aggregate`]: what the runner needs to run meeting commands.

use std::sync::Arc;

use super::command::MeetingCommand;
use super::decide::{Context, decide};
use super::event::MeetingEvent;
use super::state::Meeting;
use crate::aggregate::{self, Aggregate};
use crate::clock::Entropy;
use crate::error::DomainError;
use crate::event::{Event, StreamId};
use crate::id::{AccountId, MeetingId};
use crate::principal::Scope;
use crate::store::IndexEntry;

/// The meeting aggregate: one stream per meeting (`mtg_…`). Its state is shared behind an `Arc`
/// so the cache and a command's caller hold the same meeting instead of copies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Meetings;

impl Aggregate for Meetings {
    type Id = MeetingId;
    type State = Option<Arc<Meeting>>;
    type Command = MeetingCommand;
    type Event = MeetingEvent;
    type Error = DomainError;

    const KIND: &'static str = "meeting";

    fn stream(&self, id: &MeetingId) -> Result<StreamId, DomainError> {
        Ok(StreamId::from(id))
    }

    fn fresh_id(&self, entropy: &dyn Entropy) -> Option<MeetingId> {
        Some(MeetingId::from_entropy(entropy.id_bytes()))
    }

    fn scope(&self, command: &MeetingCommand) -> Option<Scope> {
        Some(command.required_scope())
    }

    fn causation(&self, command: &MeetingCommand) -> String {
        format!("meeting.{}", command.name())
    }

    fn decide(
        &self,
        state: &Self::State,
        command: &MeetingCommand,
        ctx: &aggregate::Context<'_, MeetingId>,
    ) -> Result<Vec<MeetingEvent>, DomainError> {
        let Some(principal) = ctx.principal else {
            return Err(DomainError::Unauthorized {
                code: "unauthorized",
                message: "meeting commands need a caller".into(),
            });
        };
        let meeting_ctx = Context {
            now: ctx.now,
            principal,
            entropy: ctx.entropy,
        };
        decide(ctx.id, state.as_deref(), command, &meeting_ctx)
    }

    fn apply(state: &mut Self::State, event: &MeetingEvent, version: u64) {
        super::apply::apply_shared(state, event, version);
    }

    fn narrow(event: Event) -> Option<MeetingEvent> {
        match event {
            Event::Meeting(e) => Some(e),
            _ => None,
        }
    }

    fn widen(event: &MeetingEvent) -> Event {
        Event::Meeting(event.clone())
    }

    fn exists(state: &Self::State) -> bool {
        state.is_some()
    }

    fn index(&self, state: &Self::State) -> Option<IndexEntry> {
        let m = state.as_deref()?;
        Some(IndexEntry {
            stream_id: StreamId::from(&m.id),
            kind: Self::KIND.into(),
            account_id: m.account_id.clone(),
            owner: m.host_id.as_str().to_owned(),
            state: m.state.as_str().to_owned(),
            time: m.start_time,
            seq: 0,
        })
    }

    fn account(&self, state: &Self::State) -> Option<AccountId> {
        state.as_ref().map(|m| m.account_id.clone())
    }

    fn link(event: &MeetingEvent) -> Option<String> {
        match event {
            MeetingEvent::RecordingStarted(r) => Some(r.recording_id.as_str().to_owned()),
            _ => None,
        }
    }

    fn weight(state: &Self::State) -> u64 {
        state
            .as_ref()
            .map_or(1, |m| (m.participants.len() + m.recordings.len()) as u64)
    }
}
