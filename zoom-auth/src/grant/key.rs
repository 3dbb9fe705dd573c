//! The current grant of a user and an app: one small stream per (account, user, app)
//! (`auth_gky_…`) naming the grant a consent extends. State, command, event, decide and apply
//! are each a few lines, so they share this file (as `user::email` does).
//!
//! A consent reads the pointer: when it names an active grant, that grant is extended; else a
//! new grant id is pointed at (replacing the one read, checked by the stream's optimistic
//! concurrency, so two consents racing each other agree on one grant) and then created. A
//! pointer left at a grant that was never created (a crash between the two appends) is simply
//! replaced by the next consent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zoom_core::DomainError;
use zoom_core::aggregate::{Aggregate, Context};
use zoom_core::event::{DecodeError, Event, RecordedEvent, StreamId};
use zoom_core::id::{AccountId, Name, UserId};
use zoom_core::principal::Scope;

use crate::{ids, stored};

/// What a pointer stream is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantKey {
    /// The user's account.
    pub account_id: AccountId,
    /// The user.
    pub user_id: UserId,
    /// The app.
    pub client_id: Name,
}

/// Payload of `grant.key_set`: the grant a user's consents to an app now extend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantKeySet {
    /// The user's account.
    pub account_id: AccountId,
    /// The user.
    pub user_id: UserId,
    /// The app.
    pub client_id: Name,
    /// The current grant.
    pub grant_id: Name,
    /// When.
    pub at: DateTime<Utc>,
}

/// Every stored type of a pointer's stream.
pub const EVENT_TYPES: &[&str] = &["grant.key_set"];

/// An event of a pointer's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum GrantKeyEvent {
    /// The pointer names a (new) grant.
    #[serde(rename = "grant.key_set")]
    Set(GrantKeySet),
}

/// A command on a pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum GrantKeyCommand {
    /// Points at `grant_id`, replacing `replaces` (what the caller read; `None` for no grant).
    /// A no-op when it already points there.
    Point {
        /// The new grant.
        grant_id: Name,
        /// The grant it replaces.
        replaces: Option<Name>,
    },
}

/// The pointer aggregate. Its commands are the directory's own steps, so they need no scope.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrantKeys;

impl Aggregate for GrantKeys {
    type Id = GrantKey;
    type State = Option<GrantKeySet>;
    type Command = GrantKeyCommand;
    type Event = GrantKeyEvent;
    type Error = DomainError;

    const KIND: &'static str = "grant_key";

    fn stream(&self, key: &GrantKey) -> Result<StreamId, DomainError> {
        ids::hashed_stream(
            "gky",
            &[key.account_id.as_str(), key.user_id.as_str(), key.client_id.as_str()],
        )
    }

    fn scope(&self, _command: &GrantKeyCommand) -> Option<Scope> {
        None
    }

    fn causation(&self, _command: &GrantKeyCommand) -> String {
        "grant.consent".into()
    }

    fn decide(
        &self,
        state: &Option<GrantKeySet>,
        command: &GrantKeyCommand,
        ctx: &Context<'_, GrantKey>,
    ) -> Result<Vec<GrantKeyEvent>, DomainError> {
        let GrantKeyCommand::Point { grant_id, replaces } = command;
        let current = state.as_ref().map(|s| &s.grant_id);
        if current == Some(grant_id) {
            return Ok(vec![]);
        }
        if current != replaces.as_ref() {
            return Err(DomainError::Conflict {
                code: "grant_changed",
                message: "another consent changed this user's authorization of the app; retry".into(),
            });
        }
        Ok(vec![GrantKeyEvent::Set(GrantKeySet {
            account_id: ctx.id.account_id.clone(),
            user_id: ctx.id.user_id.clone(),
            client_id: ctx.id.client_id.clone(),
            grant_id: grant_id.clone(),
            at: ctx.now,
        })])
    }

    fn apply(state: &mut Option<GrantKeySet>, event: &GrantKeyEvent, _version: u64) {
        let GrantKeyEvent::Set(set) = event;
        *state = Some(set.clone());
    }

    fn narrow(event: Event) -> Option<GrantKeyEvent> {
        stored::narrow(&event, EVENT_TYPES)?.ok()
    }

    fn widen(event: &GrantKeyEvent) -> Event {
        stored::widen(event)
    }

    fn decode(row: &RecordedEvent) -> Result<Option<GrantKeyEvent>, DecodeError> {
        stored::decode(row, EVENT_TYPES)
    }

    fn exists(state: &Option<GrantKeySet>) -> bool {
        state.is_some()
    }

    fn account(&self, state: &Option<GrantKeySet>) -> Option<AccountId> {
        state.as_ref().map(|s| s.account_id.clone())
    }

    fn snapshots(&self) -> bool {
        false
    }
}
