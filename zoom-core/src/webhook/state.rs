//! The folded state of a subscription and its health.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{AccountId, Name, WebhookId};
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
