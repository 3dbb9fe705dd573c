//! Decisions: the rules of a subscription. Pure and synchronous.

use chrono::{DateTime, Utc};

use super::command::{WebhookCommand, WebhookPatch};
use super::event::*;
use super::state::*;
use super::{address, catalogue, validation};
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
    // The scope was checked once, by the runner (or the test kit), before this decision.
    let sub = match (state, command) {
        (
            None,
            WebhookCommand::Subscribe {
                url,
                events,
                url_validation,
            },
        ) => {
            let url = address::validate_url(url, allow)?;
            let events = catalogue::validate_names(events)?;
            return Ok(vec![WebhookEvent::Subscribed(Subscribed {
                webhook_id: id.clone(),
                account_id: principal.account_id.clone(),
                owner: principal.acting_app().clone(),
                url,
                events,
                secret: WebhookSecret::from_bytes(entropy.key_bytes()).as_str().to_owned(),
                created_at: now,
                url_validation: *url_validation,
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
        WebhookCommand::Update(patch) => update(sub, patch, ctx)?,
        WebhookCommand::RecordValidation {
            url,
            plain_token,
            encrypted_token,
        } => {
            if *url != sub.url {
                return Err(DomainError::conflict(
                    "url_changed",
                    "the subscription's URL changed while it was being validated; validate again",
                ));
            }
            if !validation::answer_matches(&sub.secret, plain_token, encrypted_token) {
                return Err(DomainError::conflict(
                    "url_validation_failed",
                    "the encryptedToken is not the HMAC of the plainToken under the newest secret",
                ));
            }
            if sub.validated {
                vec![]
            } else {
                vec![WebhookEvent::UrlValidated(UrlValidated {
                    webhook_id: sub.id.clone(),
                    url: url.clone(),
                    at: now,
                })]
            }
        }
        WebhookCommand::Ping => {
            receives(sub)?;
            vec![WebhookEvent::Pinged(Pinged {
                webhook_id: sub.id.clone(),
                at: now,
            })]
        }
    })
}

/// Refuses, with the reason, when nothing may be sent to the subscription now.
///
/// # Errors
/// [`DomainError::Conflict`] `webhook_disabled` or `url_not_validated` (409).
pub fn receives(sub: &Subscription) -> Result<(), DomainError> {
    if !sub.enabled() {
        return Err(DomainError::conflict(
            "webhook_disabled",
            "the subscription is disabled; re-enable it with PATCH {\"active\": true}",
        ));
    }
    if !sub.validated {
        return Err(DomainError::conflict(
            "url_not_validated",
            "the subscription's URL is not validated yet; call :validate",
        ));
    }
    Ok(())
}

fn update(sub: &Subscription, patch: &WebhookPatch, ctx: &Context<'_>) -> Result<Vec<WebhookEvent>, DomainError> {
    let url = match &patch.url {
        Some(u) => Some(address::validate_url(u, ctx.allow)?).filter(|u| *u != sub.url),
        None => None,
    };
    let events = match &patch.events {
        Some(e) => Some(catalogue::validate_names(e)?).filter(|e| *e != sub.events),
        None => None,
    };
    let mut out = Vec::new();
    if url.is_some() || events.is_some() {
        out.push(WebhookEvent::Updated(Updated {
            webhook_id: sub.id.clone(),
            url,
            events,
            at: ctx.now,
        }));
    }
    let health = match patch.active {
        Some(true) if sub.state == Health::Disabled => Some((Health::Healthy, "re-enabled by its owner")),
        Some(false) if sub.state != Health::Disabled => Some((Health::Disabled, "disabled by its owner")),
        _ => None,
    };
    if let Some((state, reason)) = health {
        out.push(WebhookEvent::HealthChanged(HealthChanged {
            webhook_id: sub.id.clone(),
            state,
            reason: reason.to_owned(),
            at: ctx.now,
        }));
    }
    Ok(out)
}

/// A subscription is visible to principals of its account: an app sees its own (a user token
/// its app's), an admin all of the account's.
pub fn visible(sub: &Subscription, principal: &Principal) -> bool {
    sub.account_id == principal.account_id && (sub.owner == *principal.acting_app() || principal.has(Scope::Admin))
}
