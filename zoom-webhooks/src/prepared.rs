//! A subscription parsed once per version for the attempts that follow.

use chrono::{DateTime, Utc};
use zoom_core::signature::WebhookSecret;
use zoom_core::webhook::Subscription;

/// A subscription at one version, with what every attempt needs already parsed: the URL, and
/// both signing secrets with their HMAC keys set up.
pub(crate) struct Prepared {
    pub(crate) sub: Subscription,
    /// The parsed URL, or why it does not parse.
    pub(crate) url: Result<url::Url, String>,
    /// The current secret (when it parses), then the previous one (when it parses).
    secrets: Vec<WebhookSecret>,
    /// How many of `secrets` are the current one (0 or 1).
    current: usize,
    /// Until when the previous secret signs too.
    previous_until: Option<DateTime<Utc>>,
}

impl Prepared {
    pub(crate) fn new(sub: Subscription) -> Self {
        let url = url::Url::parse(&sub.url).map_err(|e| e.to_string());
        let mut secrets: Vec<WebhookSecret> = WebhookSecret::parse(&sub.secret).into_iter().collect();
        let current = secrets.len();
        let mut previous_until = None;
        if let Some((old, until)) = &sub.previous_secret
            && let Ok(s) = WebhookSecret::parse(old)
        {
            secrets.push(s);
            previous_until = Some(*until);
        }
        Self {
            sub,
            url,
            secrets,
            current,
            previous_until,
        }
    }

    /// The secrets that sign at `now`, as [`Subscription::signing_secrets`] gives them.
    pub(crate) fn signing_secrets(&self, now: DateTime<Utc>) -> &[WebhookSecret] {
        match self.previous_until {
            Some(until) if now < until => &self.secrets,
            _ => &self.secrets[..self.current],
        }
    }
}
