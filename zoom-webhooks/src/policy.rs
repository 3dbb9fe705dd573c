//! The delivery rules as pure functions: what an answer means for the delivery and for the
//! subscription's health. No I/O and no clock, so every rule is a plain unit test.

use std::time::Duration;

use chrono::{DateTime, Utc};
use zoom_core::event::RecordedEvent;
use zoom_core::files::FileUrlSigner;
use zoom_core::store::{DeliveryState, NewDelivery};
use zoom_core::webhook::{Health, Subscription};

use crate::config::WorkerConfig;

/// What one attempt's answer means for its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 2xx: done.
    Succeeded,
    /// A failure with retries left: try again at this instant.
    Retry(DateTime<Utc>),
    /// A failure after the last retry: the delivery is `failed` (it can be redelivered on request).
    Exhausted,
    /// 410 Gone: the receiver asked for no more deliveries; the subscription is disabled.
    Gone,
}

impl Verdict {
    /// The delivery's new state and next attempt.
    pub(crate) fn state(self) -> (DeliveryState, Option<DateTime<Utc>>) {
        match self {
            Verdict::Succeeded => (DeliveryState::Succeeded, None),
            Verdict::Retry(at) => (DeliveryState::Pending, Some(at)),
            Verdict::Exhausted | Verdict::Gone => (DeliveryState::Failed, None),
        }
    }
}

/// The place of attempt number `attempt` (1-based) in its round. A round is the first attempt
/// plus one per schedule entry; a delivery redelivered after its last retry starts a new round,
/// so it gets the whole schedule again.
fn place_in_round(attempt: u32, schedule_len: usize) -> usize {
    let round = schedule_len + 1;
    (attempt.saturating_sub(1) as usize) % round
}

/// Judges an answer. `status` is `None` when no answer came (refused, timed out, reset);
/// `retry_after` is the receiver's `Retry-After` on 429 and 503; `unit` is a uniform random
/// number in `[0, 1)` that places the jitter.
pub(crate) fn judge(
    status: Option<u16>,
    retry_after: Option<Duration>,
    attempt: u32,
    config: &WorkerConfig,
    now: DateTime<Utc>,
    unit: f64,
) -> Verdict {
    match status {
        Some(200..=299) => return Verdict::Succeeded,
        Some(410) => return Verdict::Gone,
        _ => {}
    }
    let place = place_in_round(attempt, config.retry_schedule.len());
    let Some(delay) = config.retry_schedule.get(place) else {
        return Verdict::Exhausted;
    };
    let delay = match (status, retry_after) {
        // The receiver said when it can take more: believe it, within bounds, instead of the
        // schedule. Its value is not jittered: it already names a moment.
        (Some(429 | 503), Some(asked)) => asked.min(config.max_retry_after),
        _ => jittered(*delay, config.jitter, unit),
    };
    let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::days(365));
    Verdict::Retry(now.checked_add_signed(delay).unwrap_or(DateTime::<Utc>::MAX_UTC))
}

/// `delay` scaled by a factor in `[1 - jitter, 1 + jitter)` chosen by `unit` in `[0, 1)`.
pub(crate) fn jittered(delay: Duration, jitter: f64, unit: f64) -> Duration {
    let factor = 1.0 - jitter + 2.0 * jitter * unit.clamp(0.0, 1.0);
    delay.mul_f64(factor.max(0.0))
}

/// A uniform number in `[0, 1)` from 16 random bytes (the engine's entropy source, so tests that
/// seed it get the same jitter every run).
pub(crate) fn unit_from(bytes: [u8; 16]) -> f64 {
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&bytes[..8]);
    // The top 53 bits fill an f64 mantissa exactly.
    (u64::from_le_bytes(eight) >> 11) as f64 / (1u64 << 53) as f64
}

/// The health a subscription moves to after a failed delivery, when it changes: failing since
/// `failing_since` is `degraded` after [`WorkerConfig::degraded_after`] and `disabled` after
/// [`WorkerConfig::disabled_after`].
pub(crate) fn health_after_failure(
    current: Health,
    failing_since: DateTime<Utc>,
    now: DateTime<Utc>,
    config: &WorkerConfig,
) -> Option<Health> {
    let failing_for = now - failing_since;
    let target = if failing_for >= config.disabled_after {
        Health::Disabled
    } else if failing_for >= config.degraded_after {
        Health::Degraded
    } else {
        Health::Healthy
    };
    let rank = |h: Health| match h {
        Health::Healthy => 0,
        Health::Degraded => 1,
        Health::Disabled => 2,
    };
    // Failures only ever make health worse; only a success makes it better.
    (rank(target) > rank(current)).then_some(target)
}

/// The deliveries of one log row to the subscriptions among `subs` that want it and existed
/// before it.
pub(crate) fn deliveries_for(
    row: &RecordedEvent,
    name: &str,
    subs: &[(u64, Subscription)],
    signer: &FileUrlSigner,
    now: DateTime<Utc>,
) -> Vec<NewDelivery> {
    let mut body: Option<Option<String>> = None;
    let mut out = Vec::new();
    for (created_at, sub) in subs {
        // A subscription receives what happens after it was created, not the history before.
        if *created_at >= row.position || !sub.wants(name) {
            continue;
        }
        let text =
            body.get_or_insert_with(|| zoom_core::webhook_body::body_text(row, signer, now).map(|(_, text)| text));
        if text.is_none() {
            // An event of the catalogue that does not decode cannot be sent; the store keeps it
            // for an operator, and the worker moves on rather than stall every subscriber.
            tracing::warn!(event_id = %row.event_id, "webhooks: event does not decode; not sent");
            return out;
        }
        out.push(NewDelivery {
            subscription_id: sub.id.clone(),
            account_id: sub.account_id.clone(),
            event_id: row.event_id.clone(),
            event_type: name.to_owned(),
            position: row.position,
            // Filled below: copies for all but the last, which takes the text itself.
            body: String::new(),
            next_attempt_at: now,
        });
    }
    if let (Some(Some(text)), Some((last, rest))) = (body, out.split_last_mut()) {
        for d in rest {
            d.body.clone_from(&text);
        }
        last.body = text;
    }
    out
}

/// The catalogue name of a ping delivery (never a subscription's choice).
pub(crate) const PING: &str = "webhook.ping";

/// The `webhook.ping` delivery of a `webhook.pinged` row to its subscription: the usual
/// envelope, `{"data": {"webhook_id"}, "event": "webhook.ping", "event_id", "ts"}`, with the
/// row's event id, so that a redelivery of it is recognisably the same ping.
pub(crate) fn ping_delivery(row: &RecordedEvent, sub: &Subscription, now: DateTime<Utc>) -> NewDelivery {
    let body = serde_json::json!({
        "data": { "webhook_id": sub.id.as_str() },
        "event": PING,
        "event_id": row.event_id.as_str(),
        "ts": row.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    NewDelivery {
        subscription_id: sub.id.clone(),
        account_id: sub.account_id.clone(),
        event_id: row.event_id.clone(),
        event_type: PING.to_owned(),
        position: row.position,
        body: body.to_string(),
        next_attempt_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).single().expect("time")
    }

    fn secs(s: i64) -> DateTime<Utc> {
        now() + chrono::Duration::seconds(s)
    }

    fn config() -> WorkerConfig {
        WorkerConfig {
            jitter: 0.0,
            ..WorkerConfig::default()
        }
    }

    #[test]
    fn two_hundreds_succeed_and_410_is_gone() {
        for s in [200, 201, 204, 299] {
            assert_eq!(judge(Some(s), None, 1, &config(), now(), 0.5), Verdict::Succeeded);
        }
        assert_eq!(judge(Some(410), None, 1, &config(), now(), 0.5), Verdict::Gone);
    }

    #[test]
    fn failures_follow_the_schedule_then_exhaust() {
        let c = config();
        let expected = [1, 5, 30, 300, 1800, 6 * 3600, 24 * 3600];
        for (i, delay) in expected.iter().enumerate() {
            let attempt = i as u32 + 1;
            for status in [None, Some(500), Some(302), Some(404), Some(429)] {
                assert_eq!(
                    judge(status, None, attempt, &c, now(), 0.5),
                    Verdict::Retry(secs(*delay)),
                    "attempt {attempt}, {status:?}"
                );
            }
        }
        assert_eq!(judge(Some(500), None, 8, &c, now(), 0.5), Verdict::Exhausted);
        // A redelivery after the last retry starts a new round.
        assert_eq!(judge(Some(500), None, 9, &c, now(), 0.5), Verdict::Retry(secs(1)));
        let single = WorkerConfig {
            retry_schedule: vec![],
            ..config()
        };
        assert_eq!(judge(None, None, 1, &single, now(), 0.5), Verdict::Exhausted);
    }

    #[test]
    fn retry_after_is_honoured_within_bounds_on_429_and_503_only() {
        let c = config();
        let asked = Some(Duration::from_secs(120));
        assert_eq!(judge(Some(429), asked, 1, &c, now(), 0.5), Verdict::Retry(secs(120)));
        assert_eq!(judge(Some(503), asked, 1, &c, now(), 0.5), Verdict::Retry(secs(120)));
        assert_eq!(judge(Some(500), asked, 1, &c, now(), 0.5), Verdict::Retry(secs(1)));
        let huge = Some(Duration::from_secs(10 * 86_400));
        assert_eq!(judge(Some(503), huge, 1, &c, now(), 0.5), Verdict::Retry(secs(3600)));
        // The last attempt stays the last, whatever the receiver asks.
        assert_eq!(judge(Some(429), asked, 8, &c, now(), 0.5), Verdict::Exhausted);
    }

    #[test]
    fn jitter_stays_within_its_band() {
        let d = Duration::from_secs(100);
        assert_eq!(jittered(d, 0.2, 0.0), Duration::from_secs(80));
        assert_eq!(jittered(d, 0.2, 0.5), Duration::from_secs(100));
        assert!(jittered(d, 0.2, 0.999_999) < Duration::from_secs(120));
        assert_eq!(unit_from([0; 16]), 0.0);
        assert!(unit_from([0xff; 16]) < 1.0);
    }

    #[test]
    fn health_degrades_after_a_day_and_disables_after_a_week() {
        let c = config();
        let day = chrono::Duration::hours(24);
        let h = |current, since_days: f64| {
            let since = now() - chrono::Duration::seconds((since_days * 86_400.0) as i64);
            health_after_failure(current, since, now(), &c)
        };
        assert_eq!(h(Health::Healthy, 0.5), None);
        assert_eq!(h(Health::Healthy, 1.0), Some(Health::Degraded));
        assert_eq!(h(Health::Degraded, 3.0), None);
        assert_eq!(h(Health::Degraded, 7.0), Some(Health::Disabled));
        assert_eq!(h(Health::Healthy, 8.0), Some(Health::Disabled));
        assert_eq!(h(Health::Disabled, 8.0), None);
        assert_eq!(
            health_after_failure(Health::Healthy, now() - day, now(), &c),
            Some(Health::Degraded)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_jitter_stays_in_band(ms in 0u64..100_000_000, unit in 0.0f64..1.0, jitter in 0.0f64..0.99) {
            let d = Duration::from_millis(ms);
            let j = jittered(d, jitter, unit);
            proptest::prop_assert!(j.as_secs_f64() >= d.as_secs_f64() * (1.0 - jitter) - 1e-6);
            proptest::prop_assert!(j.as_secs_f64() <= d.as_secs_f64() * (1.0 + jitter) + 1e-6);
        }
    }
}
