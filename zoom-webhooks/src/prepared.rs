//! A subscription parsed once per version for the attempts that follow.

use chrono::{DateTime, Utc};
use zoom_core::signature::WebhookSecret;
use zoom_core::webhook::Subscription;

/// A subscription at one version, with what every attempt needs already parsed: the URL, and
/// every signing secret with its HMAC keys set up.
pub(crate) struct Prepared {
    pub(crate) sub: Subscription,
    /// The parsed URL, or why it does not parse.
    pub(crate) url: Result<url::Url, String>,
    /// The current secret (when it parses), then the rotated-out ones (those that parse), the
    /// one that signs longest first.
    secrets: Vec<WebhookSecret>,
    /// How many of `secrets` are the current one (0 or 1).
    current: usize,
    /// Until when each rotated-out secret signs, in the order of `secrets[current..]`.
    until: Vec<DateTime<Utc>>,
}

impl Prepared {
    pub(crate) fn new(sub: Subscription) -> Self {
        let url = url::Url::parse(&sub.url).map_err(|e| e.to_string());
        let mut secrets: Vec<WebhookSecret> = WebhookSecret::parse(&sub.secret).into_iter().collect();
        let current = secrets.len();
        let mut previous: Vec<(WebhookSecret, DateTime<Utc>)> = sub
            .previous_secrets
            .iter()
            .filter_map(|(old, until)| WebhookSecret::parse(old).ok().map(|s| (s, *until)))
            .collect();
        // Longest-signing first, so the secrets signing at any instant are a prefix.
        previous.sort_by_key(|(_, until)| std::cmp::Reverse(*until));
        let until = previous.iter().map(|(_, u)| *u).collect();
        secrets.extend(previous.into_iter().map(|(s, _)| s));
        Self {
            sub,
            url,
            secrets,
            current,
            until,
        }
    }

    /// The secrets that sign at `now`, as [`Subscription::signing_secrets`] gives them.
    pub(crate) fn signing_secrets(&self, now: DateTime<Utc>) -> &[WebhookSecret] {
        let still = self.until.iter().take_while(|u| now < **u).count();
        &self.secrets[..self.current + still]
    }
}
