//! The app as the runner's [`Aggregate`].

use zoom_core::DomainError;
use zoom_core::aggregate::{Aggregate, Context};
use zoom_core::clock::Entropy;
use zoom_core::event::{DecodeError, Event, RecordedEvent, StreamId};
use zoom_core::id::{AccountId, Name};
use zoom_core::principal::Scope;
use zoom_core::store::IndexEntry;

use super::command::AppCommand;
use super::event::{AppEvent, EVENT_TYPES};
use super::state::AppState;
use crate::{ids, stored};

/// The stream of an app: `sys_app_{client_id}`, as the server has always named it.
pub fn app_stream(client_id: &Name) -> String {
    format!("sys_app_{client_id}")
}

/// The app aggregate, with the platform account's id (whose apps alone may hold `platform`).
/// Listed in the index as kind `app`, owner `published` or `unpublished`.
#[derive(Debug, Clone)]
pub struct Apps {
    /// The platform account.
    pub platform_account: AccountId,
}

impl Aggregate for Apps {
    type Id = Name;
    type State = Option<AppState>;
    type Command = AppCommand;
    type Event = AppEvent;
    type Error = DomainError;

    const KIND: &'static str = "app";

    fn stream(&self, client_id: &Name) -> Result<StreamId, DomainError> {
        StreamId::new(app_stream(client_id)).map_err(|message| ids::invalid("client_id", message))
    }

    fn fresh_id(&self, entropy: &dyn Entropy) -> Option<Name> {
        ids::fresh("app_", entropy)
    }

    fn scope(&self, _command: &AppCommand) -> Option<Scope> {
        Some(Scope::Admin)
    }

    fn causation(&self, command: &AppCommand) -> String {
        match command {
            AppCommand::Create(_) => "app.create".into(),
            AppCommand::Update(_) => "app.update".into(),
            AppCommand::RotateSecret { .. } => "app.rotate_secret".into(),
            AppCommand::Disable => "app.disable".into(),
            AppCommand::Register(_) => "app.register".into(),
        }
    }

    fn decide(
        &self,
        state: &Option<AppState>,
        command: &AppCommand,
        ctx: &Context<'_, Name>,
    ) -> Result<Vec<AppEvent>, DomainError> {
        super::decide::decide(state.as_ref(), command, ctx, &self.platform_account)
    }

    fn apply(state: &mut Option<AppState>, event: &AppEvent, _version: u64) {
        super::apply::apply(state, event);
    }

    fn narrow(event: Event) -> Option<AppEvent> {
        stored::narrow(&event, EVENT_TYPES)?.ok()
    }

    fn widen(event: &AppEvent) -> Event {
        stored::widen(event)
    }

    fn decode(row: &RecordedEvent) -> Result<Option<AppEvent>, DecodeError> {
        stored::decode(row, EVENT_TYPES)
    }

    fn exists(state: &Option<AppState>) -> bool {
        state.is_some()
    }

    fn index(&self, state: &Option<AppState>) -> Option<IndexEntry> {
        let app = &state.as_ref()?.app;
        Some(IndexEntry {
            stream_id: self.stream(&app.client_id).ok()?,
            kind: Self::KIND.into(),
            account_id: app.account_id.clone(),
            owner: if app.published { "published" } else { "unpublished" }.into(),
            state: app.status.as_str().into(),
            time: app.created_at,
            seq: 0,
        })
    }

    fn account(&self, state: &Option<AppState>) -> Option<AccountId> {
        state.as_ref().map(|s| s.app.account_id.clone())
    }

    fn snapshots(&self) -> bool {
        false
    }
}
