//! The events of a subscription, past tense, with their payloads.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state::Health;
use crate::id::{AccountId, Name, WebhookId};

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
    /// The URL or the events changed.
    #[serde(rename = "webhook.updated")]
    Updated(Updated),
    /// The receiver answered the validation challenge for the current URL.
    #[serde(rename = "webhook.url_validated")]
    UrlValidated(UrlValidated),
    /// A ping was asked for: the delivery worker sends `webhook.ping` to this subscription.
    #[serde(rename = "webhook.pinged")]
    Pinged(Pinged),
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
    /// Whether nothing is sent until the URL is validated. Absent (false) in rows written
    /// before validation existed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub url_validation: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
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

/// Payload of `webhook.updated`: only the fields that changed are present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Updated {
    /// The subscription.
    pub webhook_id: WebhookId,
    /// The new destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The new catalogue names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `webhook.url_validated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlValidated {
    /// The subscription.
    pub webhook_id: WebhookId,
    /// The URL that answered the challenge.
    pub url: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `webhook.pinged`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pinged {
    /// The subscription.
    pub webhook_id: WebhookId,
    /// When.
    pub at: DateTime<Utc>,
}
