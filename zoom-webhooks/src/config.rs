//! The worker's settings and the retry-schedule syntax.

use std::time::Duration;

use std::sync::Arc;

use zoom_core::webhook::address::AllowList;

use crate::guard::{Resolver, SystemResolver};

use crate::error::WebhookError;

/// The default retry schedule of docs/webhooks.md: the delays after the first, second, …
/// failed attempt.
pub const DEFAULT_RETRY_SCHEDULE: &str = "1s,5s,30s,5m,30m,6h,24h";

/// The `User-Agent` every delivery carries.
pub const USER_AGENT: &str = concat!("zoom-webhooks/", env!("CARGO_PKG_VERSION"));

/// Settings of a [`Worker`](crate::Worker). Start from [`WorkerConfig::default`] (the defaults of
/// docs/webhooks.md) and change what the deployment needs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Delays before each retry: a delivery gets `1 + retry_schedule.len()` attempts per round.
    /// Default `1s,5s,30s,5m,30m,6h,24h` (see [`parse_schedule`]).
    pub retry_schedule: Vec<Duration>,
    /// How much each retry delay is jittered either way, as a fraction: 0.2 spreads a 5 s delay
    /// over 4 s to 6 s, so receivers that fail together are not retried together. Default 0.2.
    pub jitter: f64,
    /// Non-public blocks that may receive webhooks (checked on literal addresses and on every
    /// resolved address at connect time). Default: empty, so loopback and private ranges are
    /// refused.
    pub allow: AllowList,
    /// The whole-request timeout (connect, send, answer, capped body). Default 10 s.
    pub timeout: Duration,
    /// How many requests one subscription may have in flight at once, so a slow receiver cannot
    /// take the whole pool. Default 4.
    pub max_in_flight_per_subscription: usize,
    /// How many requests may be in flight in total (the global pool). Default 64.
    pub pool_size: usize,
    /// How long attempt rows are kept in the delivery log. Default 30 days.
    pub prune_after: chrono::Duration,
    /// How often old attempt rows are pruned. Default 1 hour.
    pub prune_every: chrono::Duration,
    /// The longest `Retry-After` honoured on 429 and 503; longer values are cut to this.
    /// Default 1 hour.
    pub max_retry_after: Duration,
    /// A subscription whose deliveries have all failed for this long is `degraded`. Default 24 h.
    pub degraded_after: chrono::Duration,
    /// A subscription whose deliveries have all failed for this long is `disabled`. Default 7 days.
    pub disabled_after: chrono::Duration,
    /// How often the worker looks at the log and the outbox when nothing wakes it. Default
    /// 50 ms, so a commit made without calling
    /// [`WorkerHandle::notify`](crate::WorkerHandle::notify) is still attempted well within a second.
    pub poll_interval: Duration,
    /// How many response-body bytes are read (and quoted in the delivery log on failure) before
    /// the rest is dropped. Default 4096.
    pub max_response_bytes: usize,
    /// How many log events are read per batch when following the log. Default 512.
    pub batch_size: usize,
    /// The checkpoint name in the outbox; two workers with different names deliver everything
    /// twice. Default `zoom-webhooks`.
    pub consumer: String,
    /// Resolves host names at connect time (the SSRF rules apply to every answer). Default
    /// [`SystemResolver`].
    pub resolver: Arc<dyn Resolver>,
    /// Rules that change subscriptions because of an event, run before the deliveries of the
    /// events after it are planned ([`Reaction`](crate::Reaction)). Default: none.
    pub reactions: crate::Reactions,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            retry_schedule: default_schedule(),
            jitter: 0.2,
            allow: AllowList::default(),
            timeout: Duration::from_secs(10),
            max_in_flight_per_subscription: 4,
            pool_size: 64,
            prune_after: chrono::Duration::days(30),
            prune_every: chrono::Duration::hours(1),
            max_retry_after: Duration::from_secs(3600),
            degraded_after: chrono::Duration::hours(24),
            disabled_after: chrono::Duration::days(7),
            poll_interval: Duration::from_millis(50),
            max_response_bytes: 4096,
            batch_size: 512,
            consumer: "zoom-webhooks".to_owned(),
            resolver: Arc::new(SystemResolver),
            reactions: Vec::new(),
        }
    }
}

impl WorkerConfig {
    /// Checks the settings that would make the worker stall or misbehave.
    ///
    /// # Errors
    /// [`WebhookError::Config`] naming the setting.
    pub fn validate(&self) -> Result<(), WebhookError> {
        let bad = |m: &str| Err(WebhookError::Config(m.to_owned()));
        if !(0.0..1.0).contains(&self.jitter) {
            return bad("jitter must be at least 0 and below 1");
        }
        if self.max_in_flight_per_subscription == 0 || self.pool_size == 0 {
            return bad("max_in_flight_per_subscription and pool_size must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1");
        }
        if self.poll_interval.is_zero() || self.timeout.is_zero() {
            return bad("poll_interval and timeout must be above zero");
        }
        if self.consumer.is_empty() {
            return bad("consumer must not be empty");
        }
        Ok(())
    }
}

fn default_schedule() -> Vec<Duration> {
    [1, 5, 30, 5 * 60, 30 * 60, 6 * 3600, 24 * 3600]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

/// Parses a retry schedule such as `"1s,5s,30s,5m,30m,6h,24h"`: comma-separated whole numbers
/// with a unit of `ms`, `s`, `m`, `h` or `d`. An empty string is an empty schedule (one attempt
/// only).
///
/// # Errors
/// [`WebhookError::Schedule`] naming the entry that does not parse.
///
/// ```
/// use std::time::Duration;
/// let s = zoom_webhooks::parse_schedule("250ms, 5s,2m").unwrap();
/// assert_eq!(s, [Duration::from_millis(250), Duration::from_secs(5), Duration::from_secs(120)]);
/// ```
pub fn parse_schedule(s: &str) -> Result<Vec<Duration>, WebhookError> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    s.split(',').map(|entry| parse_duration(entry.trim())).collect()
}

fn parse_duration(entry: &str) -> Result<Duration, WebhookError> {
    let bad = || {
        WebhookError::Schedule(format!(
            "`{}` is not a delay like 500ms, 5s, 30m, 6h or 1d",
            entry.chars().take(40).collect::<String>()
        ))
    };
    let split = entry.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = entry.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(unit_ms).map(Duration::from_millis).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_the_documented_one() {
        assert_eq!(parse_schedule(DEFAULT_RETRY_SCHEDULE), Ok(default_schedule()));
        assert_eq!(WorkerConfig::default().retry_schedule.len(), 7);
    }

    #[test]
    fn schedules_parse_and_bad_entries_are_named() {
        assert_eq!(parse_schedule(""), Ok(vec![]));
        assert_eq!(parse_schedule("1d"), Ok(vec![Duration::from_secs(86_400)]));
        for bad in ["5", "s", "5x", "1.5s", "-1s", "5s,,6s", "99999999999999999999d"] {
            let err = parse_schedule(bad).expect_err(bad).to_string();
            assert!(err.contains('`'), "{err}");
        }
    }

    fn unit(ms: u64) -> &'static str {
        match ms {
            1 => "ms",
            1000 => "s",
            60_000 => "m",
            3_600_000 => "h",
            _ => "d",
        }
    }

    proptest::proptest! {
        #[test]
        fn written_schedules_parse_back(entries in proptest::collection::vec(
            (0u64..100_000, proptest::sample::select(vec![1u64, 1000, 60_000, 3_600_000, 86_400_000])), 0..10),
            spaces in proptest::bool::ANY,
        ) {
            let text: Vec<String> = entries.iter().map(|(n, u)| format!("{n}{}", unit(*u))).collect();
            let sep = if spaces { ", " } else { "," };
            let parsed = parse_schedule(&text.join(sep)).expect("a written schedule parses");
            let expected: Vec<Duration> = entries.iter().map(|(n, u)| Duration::from_millis(n * u)).collect();
            proptest::prop_assert_eq!(parsed, expected);
        }

        #[test]
        fn any_text_is_an_answer_not_a_panic(text in ".{0,64}") {
            let _ = parse_schedule(&text);
        }
    }
}
