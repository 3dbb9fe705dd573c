//! An account's user directory as the runner's [`Aggregate`].

use zoom_core::DomainError;
use zoom_core::aggregate::{Aggregate, Context};
use zoom_core::event::{DecodeError, Event, RecordedEvent, StreamId};
use zoom_core::id::AccountId;
use zoom_core::principal::Scope;

use super::command::UserCommand;
use super::event::{EVENT_TYPES, UserEvent};
use super::state::UserDirectory;
use crate::{ids, stored};

/// The user aggregate: one stream per account holding its users. Every command needs `admin`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Users;

impl Aggregate for Users {
    type Id = AccountId;
    type State = UserDirectory;
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = DomainError;

    const KIND: &'static str = "user";

    fn stream(&self, account: &AccountId) -> Result<StreamId, DomainError> {
        ids::hashed_stream("usr", &[account.as_str()])
    }

    fn scope(&self, _command: &UserCommand) -> Option<Scope> {
        Some(Scope::Admin)
    }

    fn causation(&self, command: &UserCommand) -> String {
        match command {
            UserCommand::Create(_) => "user.create".into(),
            UserCommand::Update { .. } => "user.update".into(),
            UserCommand::Deactivate { .. } => "user.deactivate".into(),
        }
    }

    fn decide(
        &self,
        state: &UserDirectory,
        command: &UserCommand,
        ctx: &Context<'_, AccountId>,
    ) -> Result<Vec<UserEvent>, DomainError> {
        super::decide::decide(state, command, ctx)
    }

    fn apply(state: &mut UserDirectory, event: &UserEvent, _version: u64) {
        super::apply::apply(state, event);
    }

    fn narrow(event: Event) -> Option<UserEvent> {
        stored::narrow(&event, EVENT_TYPES)?.ok()
    }

    fn widen(event: &UserEvent) -> Event {
        stored::widen(event)
    }

    fn decode(row: &RecordedEvent) -> Result<Option<UserEvent>, DecodeError> {
        stored::decode(row, EVENT_TYPES)
    }

    fn exists(state: &UserDirectory) -> bool {
        !state.is_empty()
    }

    fn account(&self, state: &UserDirectory) -> Option<AccountId> {
        state.account_id().cloned()
    }

    fn weight(state: &UserDirectory) -> u64 {
        state.len() as u64
    }
}
