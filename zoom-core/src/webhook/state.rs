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
    /// The app (client id) that created it, a user token's app for a user; lists show an app
    /// its own.
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
    /// Whether it was created with `url_validation`: then nothing is sent to a URL until the
    /// receiver answered the validation challenge for it.
    pub url_validation: bool,
    /// Whether its current URL may receive deliveries: always for a subscription without
    /// `url_validation`, and after a passed challenge for one with it.
    pub validated: bool,
    /// The current signing secret (never shown on read).
    pub secret: String,
    /// The rotated-out secrets, oldest first, each with the instant it stops signing (24 hours
    /// after its own rotation). Secrets already expired at a later rotation are dropped then.
    pub previous_secrets: Vec<(String, DateTime<Utc>)>,
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
            .field("validated", &self.validated)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// The secrets that sign a delivery at `now`: the current one, then every rotated-out one
    /// during the 24 hours after its own rotation, newest first.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<WebhookSecret> {
        let mut out: Vec<WebhookSecret> = WebhookSecret::parse(&self.secret).into_iter().collect();
        for (old, until) in self.previous_secrets.iter().rev() {
            if now < *until
                && let Ok(s) = WebhookSecret::parse(old)
            {
                out.push(s);
            }
        }
        out
    }

    /// Whether the subscription is enabled: not deleted and not disabled (by failures, a 410 or
    /// its owner). This is the `active` a subscriber reads.
    pub fn enabled(&self) -> bool {
        self.active && self.state != Health::Disabled
    }

    /// Whether anything may be sent to it now: enabled, and its URL validated when it asked for
    /// validation.
    pub fn receives(&self) -> bool {
        self.enabled() && self.validated
    }

    /// Whether it wants deliveries of the catalogue name `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.receives() && self.events.iter().any(|e| e == event)
    }
}
