//! Decisions: the rules of a subscription. Pure and synchronous.

use chrono::{DateTime, Utc};

use super::command::WebhookCommand;
use super::event::*;
use super::state::*;
use super::{address, catalogue};
use crate::clock::Entropy;
use crate::error::DomainError;
use crate::id::WebhookId;
use crate::principal::{Principal, Scope};
use crate::signature::WebhookSecret;

/// What a decision may consult besides the state: the time, the caller, a source of fresh
/// secrets and the deployment's allow-list for destinations.
pub struct Context<'a> {
    /// The current instant.
    pub now: DateTime<Utc>,
    /// Who is asking.
    pub principal: &'a Principal,
    /// Fresh signing secrets.
    pub entropy: &'a dyn Entropy,
    /// Destinations that may be reached although they are not public.
    pub allow: &'a address::AllowList,
}

/// Decides what happens when `command` runs against the subscription `id` in `state` (`None`
/// when the stream is empty). Returns the events to append, possibly none (a no-op).
///
/// # Errors
/// A [`DomainError`]: bad URL or event names (400), not found (404), missing scope (403).
pub fn decide(
    id: &WebhookId,
    state: Option<&Subscription>,
    command: &WebhookCommand,
    ctx: &Context<'_>,
) -> Result<Vec<WebhookEvent>, DomainError> {
    let Context {
        now,
        principal,
        entropy,
        allow,
    } = *ctx;
    if !principal.has(command.required_scope()) {
        return Err(DomainError::InsufficientScope(command.required_scope()));
    }
    let sub = match (state, command) {
        (None, WebhookCommand::Subscribe { url, events }) => {
            let url = address::validate_url(url, allow)?;
            let events = catalogue::validate_names(events)?;
            return Ok(vec![WebhookEvent::Subscribed(Subscribed {
                webhook_id: id.clone(),
                account_id: principal.account_id.clone(),
                owner: principal.subject.clone(),
                url,
                events,
                secret: WebhookSecret::from_bytes(entropy.key_bytes()).as_str().to_owned(),
                created_at: now,
            })]);
        }
        (Some(_), WebhookCommand::Subscribe { .. }) => {
            return Err(DomainError::conflict(
                "already_exists",
                format!("webhook {id} already exists"),
            ));
        }
        (Some(s), _) if s.active && visible(s, principal) => s,
        _ => return Err(DomainError::not_found("webhook", id)),
    };
    Ok(match command {
        WebhookCommand::Subscribe { .. } => vec![],
        WebhookCommand::Unsubscribe => vec![WebhookEvent::Unsubscribed(Unsubscribed {
            webhook_id: sub.id.clone(),
            at: now,
        })],
        WebhookCommand::RotateSecret => vec![WebhookEvent::SecretRotated(SecretRotated {
            webhook_id: sub.id.clone(),
            secret: WebhookSecret::from_bytes(entropy.key_bytes()).as_str().to_owned(),
            previous_valid_until: now + ROTATION_OVERLAP,
            rotated_at: now,
        })],
        WebhookCommand::SetHealth { state, reason } if *state != sub.state => {
            vec![WebhookEvent::HealthChanged(HealthChanged {
                webhook_id: sub.id.clone(),
                state: *state,
                reason: reason.clone(),
                at: now,
            })]
        }
        WebhookCommand::SetHealth { .. } => vec![],
    })
}

/// A subscription is visible to principals of its account: apps and users see their own, an
/// admin sees all of the account's.
pub fn visible(sub: &Subscription, principal: &Principal) -> bool {
    sub.account_id == principal.account_id && (sub.owner == principal.subject || principal.has(Scope::Admin))
}
