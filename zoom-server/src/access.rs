//! What changes of access do to webhooks (DESIGN 11):
//! - revoking a grant deactivates the subscriptions its app made in the grant's account, and
//!   disabling an app does the same for every one of its grants (each revoked with reason
//!   `app_disabled`) and in the app's own account;
//! - disabling an account pauses its subscriptions, and enabling it again resumes those the
//!   pause disabled (those whose newest event is the pause).
//!
//! It is a [`Reaction`] of the webhook worker: the follower runs it on every event before it
//! plans the deliveries of the events after it, so nothing committed after the change is
//! delivered to those subscriptions, and the worker's checkpoint makes it durable (a crash
//! before the checkpoint moves runs it again, which changes nothing a second time). Each change
//! is a `webhook.health_changed` event with the reason in words; a deactivated subscription has
//! health `disabled`, and its app may re-enable it (`PATCH … {"active": true}`) once authorized
//! again. Events of a paused account are not delivered later: a disabled account's tokens are
//! refused, so little happens in it.

use async_trait::async_trait;
use zoom_auth::{AccessChange, Directory};
use zoom_core::Engine;
use zoom_core::event::{Event, RecordedEvent, StreamId};
use zoom_core::id::{AccountId, Name, WebhookId};
use zoom_core::principal::{Principal, Scope};
use zoom_core::store::IndexQuery;
use zoom_core::webhook::{Health, Subscription, WebhookCommand, WebhookEvent};
use zoom_webhooks::{Reaction, WebhookError};

/// How many subscriptions are read per index page.
const PAGE: usize = 500;

/// The subject of the principal that changes the subscriptions (it shows in the events'
/// metadata).
const ACTOR: &str = "zoom-server";

/// The reason of a pause, which a resume looks for.
pub const PAUSED: &str = "paused: the account was disabled";

/// The reason of a resume.
pub const RESUMED: &str = "resumed: the account was enabled";

/// Changes subscriptions when the log shows a change of access.
#[derive(Debug, Clone)]
pub struct AccessReaction {
    directory: Directory,
}

impl AccessReaction {
    /// The reaction over `directory` (which finds a revoked grant's app and account).
    pub fn new(directory: Directory) -> Self {
        Self { directory }
    }
}

#[async_trait]
impl Reaction for AccessReaction {
    async fn react(&self, engine: &Engine, row: &RecordedEvent) -> Result<bool, WebhookError> {
        let Some(change) = self.directory.access_change(row).await? else {
            return Ok(false);
        };
        let (account, owner) = match &change {
            AccessChange::Revoked {
                account_id, client_id, ..
            } => (account_id, Some(client_id)),
            AccessChange::AccountDisabled(account_id) | AccessChange::AccountEnabled(account_id) => (account_id, None),
        };
        let actor = Name::parse(ACTOR).map_err(|e| WebhookError::Config(e.to_string()))?;
        let principal = Principal::app(account.clone(), actor, [Scope::Admin]);
        let mut changed = false;
        for sub in live(engine, account, owner).await? {
            let health = match &change {
                AccessChange::Revoked { reason, .. } if sub.enabled() => {
                    Some((Health::Disabled, format!("deactivated: {reason}")))
                }
                AccessChange::AccountDisabled(_) if sub.enabled() => Some((Health::Disabled, PAUSED.to_owned())),
                AccessChange::AccountEnabled(_) if sub.state == Health::Disabled && paused(engine, &sub).await? => {
                    Some((Health::Healthy, RESUMED.to_owned()))
                }
                _ => None,
            };
            if let Some((state, reason)) = health {
                let command = WebhookCommand::SetHealth { state, reason };
                engine.execute_webhook(&principal, Some(&sub.id), command, None).await?;
                changed = true;
            }
        }
        Ok(changed)
    }
}

/// The account's subscriptions that are not deleted (of `owner` alone when given).
async fn live(engine: &Engine, account: &AccountId, owner: Option<&Name>) -> Result<Vec<Subscription>, WebhookError> {
    let mut query = IndexQuery {
        kind: "webhook".into(),
        account_id: Some(account.clone()),
        owner: owner.map(|o| o.as_str().to_owned()),
        limit: PAGE,
        ..IndexQuery::default()
    };
    let mut out = Vec::new();
    loop {
        let rows = engine.store().query_index(&query).await?;
        for row in &rows {
            let Ok(id) = WebhookId::parse(row.stream_id.as_str()) else {
                continue;
            };
            out.extend(engine.subscription(&id).await?.filter(|s| s.active));
        }
        match rows.last() {
            Some(last) if rows.len() == PAGE => query.after_seq = last.seq,
            _ => return Ok(out),
        }
    }
}

/// Whether the subscription's newest event is the pause.
async fn paused(engine: &Engine, sub: &Subscription) -> Result<bool, WebhookError> {
    let newest = engine
        .store()
        .read_stream(&StreamId::from(&sub.id), sub.version, 1)
        .await?;
    Ok(newest
        .first()
        .and_then(|row| row.decode().ok())
        .is_some_and(|event| matches!(event, Event::Webhook(WebhookEvent::HealthChanged(h)) if h.reason == PAUSED)))
}
