//! The account as the runner's [`Aggregate`].

use zoom_core::DomainError;
use zoom_core::aggregate::{Aggregate, Context};
use zoom_core::clock::Entropy;
use zoom_core::event::{DecodeError, Event, RecordedEvent, StreamId};
use zoom_core::id::AccountId;
use zoom_core::principal::Scope;
use zoom_core::store::IndexEntry;

use super::command::AccountCommand;
use super::event::{AccountEvent, EVENT_TYPES};
use super::state::Account;
use crate::{ids, stored};

/// The account aggregate: one stream per account, listed in the index as kind `account`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Accounts;

impl Aggregate for Accounts {
    type Id = AccountId;
    type State = Option<Account>;
    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = DomainError;

    const KIND: &'static str = "account";

    fn stream(&self, id: &AccountId) -> Result<StreamId, DomainError> {
        ids::hashed_stream("acc", &[id.as_str()])
    }

    fn fresh_id(&self, entropy: &dyn Entropy) -> Option<AccountId> {
        ids::fresh("acc_", entropy)
    }

    fn scope(&self, _command: &AccountCommand) -> Option<Scope> {
        Some(Scope::Platform)
    }

    fn causation(&self, command: &AccountCommand) -> String {
        match command {
            AccountCommand::Create { .. } => "account.create".into(),
            AccountCommand::Update(_) => "account.update".into(),
        }
    }

    fn decide(
        &self,
        state: &Option<Account>,
        command: &AccountCommand,
        ctx: &Context<'_, AccountId>,
    ) -> Result<Vec<AccountEvent>, DomainError> {
        super::decide::decide(state.as_ref(), command, ctx)
    }

    fn apply(state: &mut Option<Account>, event: &AccountEvent, _version: u64) {
        super::apply::apply(state, event);
    }

    fn narrow(event: Event) -> Option<AccountEvent> {
        stored::narrow(&event, EVENT_TYPES)?.ok()
    }

    fn widen(event: &AccountEvent) -> Event {
        stored::widen(event)
    }

    fn decode(row: &RecordedEvent) -> Result<Option<AccountEvent>, DecodeError> {
        stored::decode(row, EVENT_TYPES)
    }

    fn exists(state: &Option<Account>) -> bool {
        state.is_some()
    }

    fn index(&self, state: &Option<Account>) -> Option<IndexEntry> {
        let a = state.as_ref()?;
        Some(IndexEntry {
            stream_id: self.stream(&a.id).ok()?,
            kind: Self::KIND.into(),
            account_id: a.id.clone(),
            owner: String::new(),
            state: a.status.as_str().into(),
            time: a.created_at,
            seq: 0,
        })
    }

    fn account(&self, state: &Option<Account>) -> Option<AccountId> {
        state.as_ref().map(|a| a.id.clone())
    }

    fn snapshots(&self) -> bool {
        false
    }
}
