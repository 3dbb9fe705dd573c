//! Webhook subscriptions and their delivery log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zoom_core::store::DeliveryAttempt;
use zoom_core::webhook::{Health, Subscription};

use super::instant;

/// A webhook subscription's delivery health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = WebhookHealth)]
pub enum HealthView {
    /// Deliveries succeed.
    Healthy,
    /// Failing for 24 hours.
    Degraded,
    /// Failing for 7 days or answered 410: nothing more is sent.
    Disabled,
}

impl From<Health> for HealthView {
    fn from(h: Health) -> Self {
        match h {
            Health::Healthy => Self::Healthy,
            Health::Degraded => Self::Degraded,
            Health::Disabled => Self::Disabled,
        }
    }
}

/// `POST /v1/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// A public `https` or `http` URL.
    pub url: String,
    /// Catalogue names, at least one (no wildcard).
    pub events: Vec<String>,
}

/// A webhook subscription (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookView {
    /// `whk_…`.
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// The app or user that created it.
    pub owner: String,
    /// Where deliveries go.
    pub url: String,
    /// Catalogue names it receives.
    pub events: Vec<String>,
    /// False once deleted.
    pub active: bool,
    /// `healthy`, `degraded` or `disabled`.
    pub state: HealthView,
    /// When created.
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
}

impl From<&Subscription> for WebhookView {
    fn from(s: &Subscription) -> Self {
        Self {
            id: s.id.as_str().to_owned(),
            account_id: s.account_id.as_str().to_owned(),
            owner: s.owner.as_str().to_owned(),
            url: s.url.clone(),
            events: s.events.clone(),
            active: s.active,
            state: s.state.into(),
            created_at: s.created_at,
        }
    }
}

/// A new subscription, with its secret (shown this once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookCreated {
    /// `whk_…`.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// Catalogue names it receives.
    pub events: Vec<String>,
    /// `whsec_…`: the signing secret, never shown again.
    pub secret: String,
    /// `healthy`.
    pub state: HealthView,
    /// When created.
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
}

/// A rotated secret (the previous one keeps signing for 24 hours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = SecretRotated)]
pub struct SecretRotatedView {
    /// `whk_…`.
    pub id: String,
    /// The new `whsec_…` secret, never shown again.
    pub secret: String,
}

/// A page of subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookList {
    /// The caller's subscriptions (an admin sees the account's).
    pub webhooks: Vec<WebhookView>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Delivery)]
pub struct DeliveryView {
    /// The event (also `webhook-id`).
    pub event_id: String,
    /// The catalogue name.
    pub event: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it was sent.
    #[serde(serialize_with = "instant::one")]
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status code, `null` when it did not answer.
    pub status_code: Option<u16>,
    /// Time to the answer or the error.
    pub latency_ms: u64,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// When the next attempt is due; `null` after success or the last retry.
    #[serde(serialize_with = "instant::maybe")]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<&DeliveryAttempt> for DeliveryView {
    fn from(a: &DeliveryAttempt) -> Self {
        Self {
            event_id: a.event_id.as_str().to_owned(),
            event: a.event_type.clone(),
            attempt: a.attempt,
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error.clone(),
            next_attempt_at: a.next_attempt_at,
        }
    }
}

/// A page of delivery attempts, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    /// One row per attempt.
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}
