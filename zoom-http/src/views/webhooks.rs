//! Webhook subscriptions and their delivery log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zoom_core::store::{DeliveryAttempt, DeliveryState};
use zoom_core::webhook::{Health, Subscription, WebhookPatch};
use zoom_webhooks::Summary;

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
    /// A public `https` or `http` URL (a host name must resolve to public addresses only).
    #[schema(min_length = 1, max_length = 2048)]
    pub url: String,
    /// Catalogue names, at least one (no wildcard).
    #[schema(min_items = 1)]
    pub events: Vec<String>,
    /// Send nothing until the URL answers the validation challenge (`:validate`). Default false.
    #[serde(default)]
    pub url_validation: bool,
}

/// `PATCH /v1/webhooks/{id}`: the members sent change, the others stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatchInput {
    /// A new public URL; a subscription with `url_validation` must be validated again.
    #[schema(min_length = 1, max_length = 2048)]
    pub url: Option<String>,
    /// New catalogue names, at least one.
    #[schema(min_items = 1)]
    pub events: Option<Vec<String>>,
    /// `true` re-enables a disabled subscription (state `healthy`); `false` disables it.
    pub active: Option<bool>,
}

impl From<WebhookPatchInput> for WebhookPatch {
    fn from(p: WebhookPatchInput) -> Self {
        Self {
            url: p.url,
            events: p.events,
            active: p.active,
        }
    }
}

/// `POST /v1/webhooks/{id}:redeliver`: either `delivery_id`, or `status: "failed"` with an
/// optional range of attempt times.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverInput {
    /// One delivery (a `delivery_id` of the delivery log), whatever its status.
    #[schema(minimum = 1)]
    pub delivery_id: Option<u64>,
    /// `failed`: every delivery that is failed now.
    pub status: Option<DeliveryStatusView>,
    /// With `status`: failing attempts at or after this instant (RFC 3339).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// With `status`: failing attempts before this instant (RFC 3339).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
}

/// How many deliveries `:redeliver` made pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RedeliverView {
    /// Deliveries that will be sent again, with their first `event_id`.
    pub count: u64,
}

/// A `webhook.ping` was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PingView {
    /// `whk_…`.
    pub id: String,
    /// `webhook.ping`.
    pub event: String,
}

/// The URL answered the validation challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidatedView {
    /// `whk_…`.
    pub id: String,
    /// `true`.
    pub validated: bool,
}

/// The state a delivery attempt left its delivery in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = DeliveryStatus)]
pub enum DeliveryStatusView {
    /// Another attempt is due.
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// The last retry failed, or nothing could be sent; `:redeliver` sends it again.
    Failed,
}

impl From<DeliveryState> for DeliveryStatusView {
    fn from(s: DeliveryState) -> Self {
        match s {
            DeliveryState::Pending => Self::Pending,
            DeliveryState::Succeeded => Self::Succeeded,
            DeliveryState::Failed => Self::Failed,
        }
    }
}

impl From<DeliveryStatusView> for DeliveryState {
    fn from(s: DeliveryStatusView) -> Self {
        match s {
            DeliveryStatusView::Pending => Self::Pending,
            DeliveryStatusView::Succeeded => Self::Succeeded,
            DeliveryStatusView::Failed => Self::Failed,
        }
    }
}

/// The newest attempts of a subscription, summed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = AttemptSummary)]
pub struct AttemptSummaryView {
    /// How many of the newest attempts were looked at (at most 20).
    pub attempts: u32,
    /// Of those, how many succeeded.
    pub succeeded: u32,
    /// How many left their delivery waiting for a retry.
    pub pending: u32,
    /// How many left their delivery failed.
    pub failed: u32,
    /// When the newest attempt was made; `null` when there was none.
    #[serde(serialize_with = "instant::maybe")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The newest attempt's status code; `null` when it got no answer or there was none.
    pub last_status_code: Option<u16>,
    /// What went wrong with the newest attempt, if anything.
    pub last_error: Option<String>,
    /// When the newest successful attempt among them was made.
    #[serde(serialize_with = "instant::maybe")]
    pub last_success_at: Option<DateTime<Utc>>,
}

impl From<&Summary> for AttemptSummaryView {
    fn from(s: &Summary) -> Self {
        Self {
            attempts: s.attempts,
            succeeded: s.succeeded,
            pending: s.pending,
            failed: s.failed,
            last_attempt_at: s.last.as_ref().map(|a| a.attempted_at),
            last_status_code: s.last.as_ref().and_then(|a| a.status_code),
            last_error: s.last.as_ref().and_then(|a| a.error.clone()),
            last_success_at: s.last_success_at,
        }
    }
}

/// A webhook subscription (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookView {
    /// `whk_…`.
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// The app (client id) that created it; for a user token, the token's app.
    pub owner: String,
    /// Where deliveries go.
    pub url: String,
    /// Catalogue names it receives.
    pub events: Vec<String>,
    /// False while disabled (by failures, a 410, its owner, or its app's authorization revoked):
    /// nothing is sent.
    pub active: bool,
    /// `healthy`, `degraded` or `disabled`.
    pub state: HealthView,
    /// Whether it was created with `url_validation`.
    pub url_validation: bool,
    /// Whether its URL may receive deliveries: always without `url_validation`, after a passed
    /// challenge with it.
    pub validated: bool,
    /// When created.
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
    /// The newest attempts summed up (on `GET /v1/webhooks/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempts: Option<AttemptSummaryView>,
}

impl WebhookView {
    /// The view with the summary of the newest attempts.
    pub fn with_summary(s: &Subscription, summary: &Summary) -> Self {
        Self {
            last_attempts: Some(summary.into()),
            ..Self::from(s)
        }
    }
}

impl From<&Subscription> for WebhookView {
    fn from(s: &Subscription) -> Self {
        Self {
            id: s.id.as_str().to_owned(),
            account_id: s.account_id.as_str().to_owned(),
            owner: s.owner.as_str().to_owned(),
            url: s.url.clone(),
            events: s.events.clone(),
            active: s.enabled(),
            state: s.state.into(),
            url_validation: s.url_validation,
            validated: s.validated,
            created_at: s.created_at,
            last_attempts: None,
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
    /// Whether nothing is sent until the URL is validated.
    pub url_validation: bool,
    /// `false` with `url_validation` (call `:validate`), else `true`.
    pub validated: bool,
    /// When created.
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
}

/// A rotated secret (each previous one keeps signing for 24 hours from its own rotation).
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
    /// The delivery this attempt belongs to (pass it to `:redeliver`).
    pub delivery_id: u64,
    /// The state this attempt left the delivery in.
    pub status: DeliveryStatusView,
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
            delivery_id: a.delivery_id,
            status: a.status().into(),
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
