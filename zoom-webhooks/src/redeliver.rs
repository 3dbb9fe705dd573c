//! Redelivery on request: by log range, by delivery, or every failed delivery of a time range.
//!
//! Redelivery works from the log, not only from the outbox: every event of the range that the
//! subscription asks for is made pending, whether it was delivered, failed, or never had a
//! delivery at all (it happened before the subscription existed, or while it was disabled). That
//! is how a subscriber repairs a gap on its side after an outage of its own.

use chrono::{DateTime, Utc};
use zoom_core::Engine;
use zoom_core::id::WebhookId;
use zoom_core::store::{Delivery, DeliveryState};
use zoom_core::webhook::catalogue;

use crate::error::WebhookError;
use crate::log::{self, DeliveryFilter};
use crate::policy::deliveries_for;

/// The checkpoint name redelivery enqueues under. Its own name, so that it never moves the
/// worker's checkpoint (it passes position 0, which moves nothing anyway).
const REDELIVERY_CONSUMER: &str = "zoom-webhooks:redeliver";

/// How many log rows are read per batch while scanning a range.
const SCAN_BATCH: usize = 1000;

/// Which events to send again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// Events at log positions `from..=to`.
    Positions {
        /// First position (inclusive).
        from: u64,
        /// Last position (inclusive).
        to: u64,
    },
    /// Events committed at `from <= recorded_at < to`.
    Time {
        /// Start (inclusive).
        from: DateTime<Utc>,
        /// End (exclusive).
        to: DateTime<Utc>,
    },
}

/// Makes a subscription's events in `range` pending again, due now (see the module doc). Returns
/// how many deliveries are now pending. Wake the worker afterwards
/// ([`WorkerHandle::redeliver`](crate::WorkerHandle::redeliver) does both).
///
/// # Errors
/// [`WebhookError::NotFound`] for an unknown or deleted subscription, [`WebhookError::Config`]
/// for an empty range, a store failure.
pub async fn redeliver(engine: &Engine, subscription: &WebhookId, range: Range) -> Result<u64, WebhookError> {
    let sub = match engine.subscription(subscription).await? {
        Some(s) if s.active => s,
        _ => return Err(WebhookError::NotFound(format!("webhook {subscription}"))),
    };
    let (start_after, last) = match range {
        Range::Positions { from, to } if from <= to => (from.saturating_sub(1), to),
        Range::Time { from, to } if from < to => (0, u64::MAX),
        _ => return Err(WebhookError::Config("the redelivery range is empty".into())),
    };
    let store = engine.store();
    let now = engine.clock().now();
    // Position 0 stands for "before everything": the subscription takes any event of the range,
    // even from before it was created.
    let subs = [(0, sub.clone())];
    let mut matched = Vec::new();
    let mut after = start_after;
    'scan: loop {
        let rows = store.read_all(after, SCAN_BATCH).await?;
        let Some(tail) = rows.last().map(|r| r.position) else {
            break;
        };
        let mut fresh = Vec::new();
        for row in &rows {
            if row.position > last {
                store
                    .enqueue(REDELIVERY_CONSUMER, 0, std::mem::take(&mut fresh))
                    .await?;
                break 'scan;
            }
            if let Range::Time { from, to } = range
                && !(from..to).contains(&row.recorded_at)
            {
                continue;
            }
            let Some(name) = catalogue::webhook_name(&row.event_type) else {
                continue;
            };
            if row.account_id().as_ref() != Some(&sub.account_id) {
                continue;
            }
            let new = deliveries_for(row, name, &subs, &engine.config().file_urls, now);
            if !new.is_empty() {
                matched.push(row.position);
                fresh.extend(new);
            }
        }
        // Deliveries that never existed are created (existing ones are skipped by the store);
        // all of them are made pending below.
        store.enqueue(REDELIVERY_CONSUMER, 0, fresh).await?;
        after = tail;
    }
    let mut pending = 0;
    match range {
        Range::Positions { from, to } => {
            pending += store.requeue(subscription, from, to, now).await?;
        }
        Range::Time { .. } => {
            for position in matched {
                pending += store.requeue(subscription, position, position, now).await?;
            }
        }
    }
    Ok(pending)
}

/// Makes one delivery pending again, due now.
///
/// # Errors
/// [`WebhookError::NotFound`] for an unknown delivery, a store failure.
pub async fn retry_delivery(engine: &Engine, delivery_id: u64) -> Result<(), WebhookError> {
    let d = engine
        .store()
        .delivery(delivery_id)
        .await?
        .ok_or_else(|| WebhookError::NotFound(format!("delivery {delivery_id}")))?;
    requeue(engine, &d).await
}

/// Makes a subscription's deliveries that are `failed` now, and whose failing attempt passes
/// `filter` (its time range), pending again, due now. At most `max` deliveries, newest first;
/// returns how many. Deliveries made pending by an earlier call are no longer failed, so calling
/// again goes on where the bound stopped.
///
/// # Errors
/// A store failure.
pub async fn redeliver_failed(
    engine: &Engine,
    subscription: &WebhookId,
    filter: &DeliveryFilter,
    max: usize,
) -> Result<u64, WebhookError> {
    let filter = DeliveryFilter {
        status: Some(DeliveryState::Failed),
        ..*filter
    };
    let ids = log::delivery_ids(engine, subscription, &filter, SCAN_ROWS).await?;
    let mut n = 0;
    for id in ids {
        if n >= max as u64 {
            break;
        }
        match engine.store().delivery(id).await? {
            Some(d) if d.state == DeliveryState::Failed && d.subscription_id == *subscription => {
                requeue(engine, &d).await?;
                n += 1;
            }
            _ => {}
        }
    }
    Ok(n)
}

/// How many log rows a redelivery by status reads at most.
const SCAN_ROWS: usize = 100_000;

async fn requeue(engine: &Engine, d: &Delivery) -> Result<(), WebhookError> {
    // A subscription has one delivery per event, so its position names exactly this delivery.
    engine
        .store()
        .requeue(&d.subscription_id, d.position, d.position, engine.clock().now())
        .await?;
    Ok(())
}
