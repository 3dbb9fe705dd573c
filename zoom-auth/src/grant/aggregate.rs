//! The grant as the runner's [`Aggregate`].

use zoom_core::DomainError;
use zoom_core::aggregate::{Aggregate, Context};
use zoom_core::clock::Entropy;
use zoom_core::event::{DecodeError, Event, RecordedEvent, StreamId};
use zoom_core::id::{AccountId, Name};
use zoom_core::principal::Scope;
use zoom_core::store::IndexEntry;

use super::command::GrantCommand;
use super::event::{EVENT_TYPES, GrantEvent};
use super::state::{GrantState, GrantStatus};
use crate::{ids, stored};

/// The index kind of an active grant; a revoked one is listed as [`REVOKED_KIND`], so lists and
/// revocations read only the active ones.
pub const ACTIVE_KIND: &str = "grant";

/// The index kind of a revoked grant.
pub const REVOKED_KIND: &str = "grant_revoked";

/// The stream of a grant: `sys_grant_{grant_id}`.
pub fn grant_stream(grant_id: &Name) -> String {
    format!("sys_grant_{grant_id}")
}

/// The grant aggregate. Its commands need no scope of the runner: a consent and a redemption
/// are the directory's steps after it checked the user and the client, and who may revoke is
/// the decision's rule (the user it belongs to, or `admin`).
///
/// Listed in the index as kind [`ACTIVE_KIND`] or [`REVOKED_KIND`], account the user's, owner
/// the user id and state the client id (the two filters of `GET /v1/authorizations`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Grants;

impl Aggregate for Grants {
    type Id = Name;
    type State = Option<GrantState>;
    type Command = GrantCommand;
    type Event = GrantEvent;
    type Error = DomainError;

    const KIND: &'static str = "grant";

    fn stream(&self, grant_id: &Name) -> Result<StreamId, DomainError> {
        StreamId::new(grant_stream(grant_id)).map_err(|message| ids::invalid("id", message))
    }

    fn fresh_id(&self, entropy: &dyn Entropy) -> Option<Name> {
        ids::fresh("grt_", entropy)
    }

    fn scope(&self, _command: &GrantCommand) -> Option<Scope> {
        None
    }

    fn causation(&self, command: &GrantCommand) -> String {
        match command {
            GrantCommand::Consent(_) => "grant.consent".into(),
            GrantCommand::Redeem { .. } => "grant.redeem_code".into(),
            GrantCommand::Refresh { .. } => "grant.refresh".into(),
            GrantCommand::Revoke { .. } => "grant.revoke".into(),
        }
    }

    fn decide(
        &self,
        state: &Option<GrantState>,
        command: &GrantCommand,
        ctx: &Context<'_, Name>,
    ) -> Result<Vec<GrantEvent>, DomainError> {
        super::decide::decide(state.as_ref(), command, ctx)
    }

    fn apply(state: &mut Option<GrantState>, event: &GrantEvent, _version: u64) {
        super::apply::apply(state, event);
    }

    fn narrow(event: Event) -> Option<GrantEvent> {
        stored::narrow(&event, EVENT_TYPES)?.ok()
    }

    fn widen(event: &GrantEvent) -> Event {
        stored::widen(event)
    }

    fn decode(row: &RecordedEvent) -> Result<Option<GrantEvent>, DecodeError> {
        stored::decode(row, EVENT_TYPES)
    }

    fn exists(state: &Option<GrantState>) -> bool {
        state.is_some()
    }

    fn index(&self, state: &Option<GrantState>) -> Option<IndexEntry> {
        let grant = &state.as_ref()?.grant;
        Some(IndexEntry {
            stream_id: self.stream(&grant.id).ok()?,
            kind: match grant.status {
                GrantStatus::Active => ACTIVE_KIND,
                GrantStatus::Revoked => REVOKED_KIND,
            }
            .into(),
            account_id: grant.account_id.clone(),
            owner: grant.user_id.as_str().into(),
            state: grant.client_id.as_str().into(),
            time: grant.created_at,
            seq: 0,
        })
    }

    fn account(&self, state: &Option<GrantState>) -> Option<AccountId> {
        state.as_ref().map(|s| s.grant.account_id.clone())
    }

    fn weight(state: &Option<GrantState>) -> u64 {
        state
            .as_ref()
            .map_or(1, |s| 1 + s.codes.len() as u64 + s.families.len() as u64)
    }
}
