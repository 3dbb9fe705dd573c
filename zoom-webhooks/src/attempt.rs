//! One attempt of one delivery: send it, record it, and move the subscription's health.
//!
//! A delivery leaves `pending` only in the transaction that records its attempt, so a crash
//! mid-attempt causes at most a re-send.

use std::sync::{Arc, PoisonError};

use chrono::{DateTime, Utc};
use zoom_core::Engine;
use zoom_core::event::StreamId;
use zoom_core::id::{AccountId, Name, WebhookId};
use zoom_core::principal::{Principal, Scope};
use zoom_core::store::{Delivery, DeliveryAttempt, DeliveryState};
use zoom_core::webhook::{Health, Subscription, WebhookCommand};

use crate::error::WebhookError;
use crate::policy::{self, Verdict};
use crate::prepared::Prepared;
use crate::send::{self, Request};
use crate::shared::Shared;

/// The subject the worker acts as when it records a subscription's health.
const SYSTEM_SUBJECT: &str = "system:zoom-webhooks";

/// The principal the worker records health changes as.
fn system_principal(account: &AccountId) -> Result<Principal, WebhookError> {
    let subject = Name::parse(SYSTEM_SUBJECT).map_err(|e| WebhookError::Config(e.to_string()))?;
    Ok(Principal::app(account.clone(), subject, [Scope::Admin]))
}

/// The subscription as it is now, parsed: from the cache when its stream has not moved since it
/// was read (one version lookup), else read again and parsed once for every later attempt.
async fn prepared(shared: &Shared, id: &WebhookId) -> Result<Option<Arc<Prepared>>, WebhookError> {
    let store = shared.engine.store();
    let version = store.stream_version(&StreamId::from(id)).await?;
    let cached = shared
        .prepared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(id)
        .filter(|p| p.sub.version == version)
        .cloned();
    if cached.is_some() {
        return Ok(cached);
    }
    let Some(sub) = shared.engine.subscription(id).await? else {
        shared
            .prepared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        return Ok(None);
    };
    let p = Arc::new(Prepared::new(sub));
    shared
        .prepared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id.clone(), Arc::clone(&p));
    Ok(Some(p))
}

/// Makes one attempt of a delivery and records it.
pub(crate) async fn deliver(shared: &Shared, mut d: Delivery) -> Result<(), WebhookError> {
    let engine = &shared.engine;
    let attempted_at = engine.clock().now();
    let number = d.attempts.saturating_add(1);
    let body = std::mem::take(&mut d.body);
    // The delivery's strings move into its attempt row: it is recorded once, at the end.
    let record =
        |d: Delivery, status: Option<u16>, latency_ms: u64, error: Option<String>, next: Option<DateTime<Utc>>| {
            DeliveryAttempt {
                delivery_id: d.id,
                subscription_id: d.subscription_id,
                event_id: d.event_id,
                event_type: d.event_type,
                attempt: number,
                attempted_at,
                status_code: status,
                latency_ms,
                error,
                next_attempt_at: next,
            }
        };
    let prepared = match prepared(shared, &d.subscription_id).await? {
        Some(p) if p.sub.receives() => p,
        other => {
            let why = match other {
                Some(p) if p.sub.enabled() => "not sent: the subscription's URL is not validated",
                Some(p) if p.sub.active => "not sent: the subscription is disabled",
                _ => "not sent: the subscription was deleted",
            };
            engine
                .store()
                .record_attempt(record(d, None, 0, Some(why.into()), None), DeliveryState::Failed, None)
                .await?;
            return Ok(());
        }
    };
    let sub = &prepared.sub;
    let answer = send::attempt(
        &shared.client,
        &shared.config.allow,
        shared.config.max_response_bytes,
        Request {
            url: prepared.url.as_ref().map_err(String::as_str),
            event_id: d.event_id.as_str(),
            body,
            secrets: prepared.signing_secrets(attempted_at),
        },
        attempted_at,
    )
    .await;
    let finished = engine.clock().now();
    // Randomness is drawn only when a retry needs jitter: on the success path it would be a
    // system call per delivery for nothing.
    let unit = match answer.status {
        Some(200..=299 | 410) => 0.5,
        _ => policy::unit_from(engine.entropy().id_bytes()),
    };
    let verdict = policy::judge(
        answer.status,
        answer.retry_after,
        number,
        &shared.config,
        finished,
        unit,
    );
    let (state, next) = verdict.state();
    let latency_ms = u64::try_from(answer.latency.as_millis()).unwrap_or(u64::MAX);
    engine
        .store()
        .record_attempt(record(d, answer.status, latency_ms, answer.error, next), state, next)
        .await?;
    match verdict {
        Verdict::Succeeded => {
            shared
                .failing_since
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&sub.id);
            if sub.state != Health::Healthy {
                set_health(engine, sub, Health::Healthy, "a delivery succeeded").await?;
            }
        }
        Verdict::Gone => {
            set_health(engine, sub, Health::Disabled, "the receiver answered 410 Gone").await?;
        }
        Verdict::Retry(_) | Verdict::Exhausted => {
            let since = failing_since(shared, &sub.id, attempted_at).await?;
            if let Some(h) = policy::health_after_failure(sub.state, since, finished, &shared.config) {
                let reason = format!(
                    "every delivery has failed since {}",
                    since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                set_health(engine, sub, h, &reason).await?;
            }
        }
    }
    if let Verdict::Retry(_) = verdict {
        shared.due_wake.notify_one();
    }
    Ok(())
}

/// When the subscription's current run of failures began: remembered, or read back from the
/// delivery log (newest first, back to the last success) after a restart.
async fn failing_since(
    shared: &Shared,
    id: &WebhookId,
    attempted_at: DateTime<Utc>,
) -> Result<DateTime<Utc>, WebhookError> {
    if let Some(t) = shared
        .failing_since
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(id)
    {
        return Ok(*t);
    }
    let mut since = attempted_at;
    let mut before = None;
    // Bounded: a log longer than this is old enough that the oldest failure seen already says
    // "failing for days".
    'pages: for _ in 0..20 {
        let rows = shared.engine.store().attempts(id, before, 500).await?;
        let Some((last_seq, _)) = rows.last() else { break };
        before = Some(*last_seq);
        for (_, a) in &rows {
            if a.status_code.is_some_and(|s| (200..300).contains(&s)) {
                break 'pages;
            }
            since = since.min(a.attempted_at);
        }
    }
    let mut map = shared.failing_since.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(*map.entry(id.clone()).or_insert(since))
}

async fn set_health(engine: &Engine, sub: &Subscription, state: Health, reason: &str) -> Result<(), WebhookError> {
    let principal = system_principal(&sub.account_id)?;
    engine
        .execute_webhook(
            &principal,
            Some(&sub.id),
            WebhookCommand::SetHealth {
                state,
                reason: reason.to_owned(),
            },
            None,
        )
        .await?;
    tracing::info!(subscription = %sub.id, health = state.as_str(), reason, "webhooks: health changed");
    Ok(())
}
