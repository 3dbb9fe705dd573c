//! The webhook-subscription aggregate, the event catalogue, and address rules.
//!
//! # Layout
//! - this file: state, commands, events, decisions and fold of a subscription (one stream per
//!   subscription, `whk_…`).
//! - [`catalogue`]: which stored events become which webhook names, and their bodies.
//! - [`aggregate`]: `Subscriptions`, the subscription as the runner's aggregate.
//! - [`address`]: which destination addresses are refused (SSRF rules) and the allow-list.

pub mod address;
pub mod aggregate;
pub mod catalogue;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::Entropy;
use crate::error::DomainError;
use crate::id::{AccountId, Name, WebhookId};
use crate::principal::{Principal, Scope};
use crate::signature::WebhookSecret;

/// How long a rotated-out secret keeps signing.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// A subscription's delivery health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Deliveries succeed (or have failed for less than 24 hours).
    Healthy,
    /// Every delivery has failed for 24 hours.
    Degraded,
    /// Failing for 7 days, or the receiver answered 410: nothing more is sent.
    Disabled,
}

impl Health {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Disabled => "disabled",
        }
    }
}

/// A webhook subscription, folded from its stream.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Its id (also its stream id).
    pub id: WebhookId,
    /// The account whose events it receives.
    pub account_id: AccountId,
    /// The app (client id) or user that created it; lists show a caller its own.
    pub owner: Name,
    /// Where deliveries go.
    pub url: String,
    /// Catalogue names it receives.
    pub events: Vec<String>,
    /// False once unsubscribed.
    pub active: bool,
    /// Delivery health.
    pub state: Health,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// The current signing secret (never shown on read).
    pub secret: String,
    /// The rotated-out secret and when it stops signing.
    pub previous_secret: Option<(String, DateTime<Utc>)>,
    /// The stream version folded up to.
    pub version: u64,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("active", &self.active)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// The secrets that sign a delivery at `now`: the current one, and the previous one during
    /// the 24 hours after a rotation.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<WebhookSecret> {
        let mut out: Vec<WebhookSecret> = WebhookSecret::parse(&self.secret).into_iter().collect();
        if let Some((old, until)) = &self.previous_secret
            && now < *until
            && let Ok(s) = WebhookSecret::parse(old)
        {
            out.push(s);
        }
        out
    }

    /// Whether it wants deliveries of the catalogue name `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.active && self.state != Health::Disabled && self.events.iter().any(|e| e == event)
    }
}

/// A command on a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum WebhookCommand {
    /// Create it.
    Subscribe {
        /// Destination.
        url: String,
        /// Catalogue names.
        events: Vec<String>,
    },
    /// Delete it.
    Unsubscribe,
    /// Replace the secret; the old one signs for 24 more hours.
    RotateSecret,
    /// The delivery worker reports a change of health.
    SetHealth {
        /// The new health.
        state: Health,
        /// Why (shown in the event).
        reason: String,
    },
}

impl WebhookCommand {
    /// The scope needed.
    pub fn required_scope(&self) -> Scope {
        match self {
            WebhookCommand::SetHealth { .. } => Scope::Admin,
            _ => Scope::WebhookWrite,
        }
    }
}

/// Something that happened to a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum WebhookEvent {
    /// Created. Holds the secret: the log is the only place the delivery worker can read it from.
    #[serde(rename = "webhook.subscribed")]
    Subscribed(Subscribed),
    /// The secret was rotated.
    #[serde(rename = "webhook.secret_rotated")]
    SecretRotated(SecretRotated),
    /// Deleted.
    #[serde(rename = "webhook.unsubscribed")]
    Unsubscribed(Unsubscribed),
    /// Health changed.
    #[serde(rename = "webhook.health_changed")]
    HealthChanged(HealthChanged),
}

/// Payload of `webhook.subscribed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribed {
    /// The subscription.
    pub webhook_id: WebhookId,
    /// Its account.
    pub account_id: AccountId,
    /// Its owner.
    pub owner: Name,
    /// Destination.
    pub url: String,
    /// Catalogue names.
    pub events: Vec<String>,
    /// The signing secret.
    pub secret: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Payload of `webhook.secret_rotated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRotated {
    /// The subscription.
    pub webhook_id: WebhookId,
    /// The new secret.
    pub secret: String,
    /// Until when the previous one keeps signing.
    pub previous_valid_until: DateTime<Utc>,
    /// When.
    pub rotated_at: DateTime<Utc>,
}

/// Payload of `webhook.unsubscribed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscribed {
    /// The subscription.
    pub webhook_id: WebhookId,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `webhook.health_changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthChanged {
    /// The subscription.
    pub webhook_id: WebhookId,
    /// The new health.
    pub state: Health,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Decides a subscription command. `allow` is the deployment's allow-list for destinations.
///
/// # Errors
/// A [`DomainError`]: bad URL or event names (400), not found (404), missing scope (403).
pub fn decide(
    id: &WebhookId,
    state: Option<&Subscription>,
    command: &WebhookCommand,
    principal: &Principal,
    now: DateTime<Utc>,
    entropy: &dyn Entropy,
    allow: &address::AllowList,
) -> Result<Vec<WebhookEvent>, DomainError> {
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

/// Applies one event. Total and panic-free, like every fold.
pub fn apply(state: &mut Option<Subscription>, event: &WebhookEvent, version: u64) {
    if let WebhookEvent::Subscribed(e) = event
        && state.is_none()
    {
        {
            *state = Some(Subscription {
                id: e.webhook_id.clone(),
                account_id: e.account_id.clone(),
                owner: e.owner.clone(),
                url: e.url.clone(),
                events: e.events.clone(),
                active: true,
                state: Health::Healthy,
                created_at: e.created_at,
                secret: e.secret.clone(),
                previous_secret: None,
                version,
            });
        }
    }
    let Some(s) = state.as_mut() else { return };
    s.version = version;
    match event {
        WebhookEvent::Subscribed(_) => {}
        WebhookEvent::SecretRotated(e) => {
            let old = std::mem::replace(&mut s.secret, e.secret.clone());
            s.previous_secret = Some((old, e.previous_valid_until));
        }
        WebhookEvent::Unsubscribed(_) => s.active = false,
        WebhookEvent::HealthChanged(e) => s.state = e.state,
    }
}
