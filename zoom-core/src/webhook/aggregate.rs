//! The webhook subscription as an [`Aggregate`]: what the runner needs to run its commands.

use super::address::AllowList;
use super::command::WebhookCommand;
use super::decide::{Context, decide};
use super::event::WebhookEvent;
use super::state::Subscription;
use crate::aggregate::{self, Aggregate};
use crate::clock::Entropy;
use crate::error::DomainError;
use crate::event::{Event, StreamId};
use crate::id::{AccountId, WebhookId};
use crate::principal::Scope;
use crate::store::IndexEntry;

/// The subscription aggregate: one stream per subscription (`whk_…`), with the deployment's
/// allow-list of destinations that are not public.
#[derive(Debug, Clone, Default)]
pub struct Subscriptions {
    /// Destinations allowed even though not public.
    pub allow: AllowList,
}

impl Aggregate for Subscriptions {
    type Id = WebhookId;
    type State = Option<Subscription>;
    type Command = WebhookCommand;
    type Event = WebhookEvent;
    type Error = DomainError;

    const KIND: &'static str = "webhook";

    fn stream(&self, id: &WebhookId) -> Result<StreamId, DomainError> {
        Ok(StreamId::from(id))
    }

    fn fresh_id(&self, entropy: &dyn Entropy) -> Option<WebhookId> {
        Some(WebhookId::from_entropy(entropy.id_bytes()))
    }

    fn scope(&self, command: &WebhookCommand) -> Option<Scope> {
        Some(command.required_scope())
    }

    fn causation(&self, _command: &WebhookCommand) -> String {
        Self::KIND.to_owned()
    }

    fn decide(
        &self,
        state: &Self::State,
        command: &WebhookCommand,
        ctx: &aggregate::Context<'_, WebhookId>,
    ) -> Result<Vec<WebhookEvent>, DomainError> {
        let Some(principal) = ctx.principal else {
            return Err(DomainError::Unauthorized {
                code: "unauthorized",
                message: "webhook commands need a caller".into(),
            });
        };
        let webhook_ctx = Context {
            now: ctx.now,
            principal,
            entropy: ctx.entropy,
            allow: &self.allow,
        };
        decide(ctx.id, state.as_ref(), command, &webhook_ctx)
    }

    fn apply(state: &mut Self::State, event: &WebhookEvent, version: u64) {
        super::apply::apply(state, event, version);
    }

    fn narrow(event: Event) -> Option<WebhookEvent> {
        match event {
            Event::Webhook(e) => Some(e),
            _ => None,
        }
    }

    fn widen(event: &WebhookEvent) -> Event {
        Event::Webhook(event.clone())
    }

    fn exists(state: &Self::State) -> bool {
        state.is_some()
    }

    fn index(&self, state: &Self::State) -> Option<IndexEntry> {
        let s = state.as_ref()?;
        Some(IndexEntry {
            stream_id: StreamId::from(&s.id),
            kind: Self::KIND.into(),
            account_id: s.account_id.clone(),
            owner: s.owner.as_str().to_owned(),
            state: if s.active {
                s.state.as_str().to_owned()
            } else {
                "deleted".to_owned()
            },
            time: s.created_at,
            seq: 0,
        })
    }

    fn account(&self, state: &Self::State) -> Option<AccountId> {
        state.as_ref().map(|s| s.account_id.clone())
    }
}
