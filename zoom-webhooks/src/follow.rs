//! The follower: from the log to durable deliveries in the outbox.
//!
//! Its progress is the checkpoint that
//! [`DeliveryStore::enqueue`](zoom_core::store::DeliveryStore::enqueue) moves in the same
//! transaction that stores the deliveries, so a crash at any point loses nothing.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use zoom_core::Engine;
use zoom_core::event::RecordedEvent;
use zoom_core::id::{AccountId, WebhookId};
use zoom_core::store::{IndexQuery, NewDelivery};
use zoom_core::webhook::{Health, Subscription, catalogue};

use crate::error::WebhookError;
use crate::policy::{deliveries_for, ping_delivery};
use crate::shared::{ERROR_BACKOFF, Shared, pause};

/// How many subscriptions are read per index page when matching an account's events.
const SUBSCRIPTION_PAGE: usize = 1000;

/// The follower: reads the log from the checkpoint and enqueues one delivery per matching
/// (event, subscription) pair, moving the checkpoint in the same call.
pub(crate) async fn follow(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    let store = shared.engine.store();
    let mut checkpoint = loop {
        match store.checkpoint(&shared.config.consumer).await {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: cannot read the checkpoint; retrying");
                if !pause(&mut shutdown, &shared.log_wake, ERROR_BACKOFF).await {
                    return;
                }
            }
        }
    };
    // Each account's active subscriptions, kept from batch to batch until the log shows a
    // change to any subscription. See `plan`.
    let mut subscriptions: HashMap<AccountId, Vec<(u64, Subscription)>> = HashMap::new();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let step = async {
            let rows = store.read_all(checkpoint, shared.config.batch_size).await?;
            let Some(last) = rows.last().map(|r| r.position) else {
                return Ok::<_, WebhookError>(None);
            };
            let deliveries = plan(&shared, &rows, &mut subscriptions).await?;
            let any = !deliveries.is_empty();
            store.enqueue(&shared.config.consumer, last, deliveries).await?;
            Ok(Some((last, any)))
        };
        match step.await {
            Ok(Some((last, any))) => {
                checkpoint = last;
                if any {
                    shared.due_wake.notify_one();
                }
                // A full batch means more may be waiting: read on without pausing.
            }
            Ok(None) => {
                if !pause(&mut shutdown, &shared.log_wake, shared.config.poll_interval).await {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, checkpoint, "webhooks: cannot follow the log; retrying");
                if !pause(&mut shutdown, &shared.log_wake, ERROR_BACKOFF).await {
                    return;
                }
            }
        }
    }
}

/// The active subscriptions of an account, each with the log position it was created at.
pub(crate) async fn account_subscriptions(
    engine: &Engine,
    account: &AccountId,
) -> Result<Vec<(u64, Subscription)>, WebhookError> {
    let mut out = Vec::new();
    let mut after_seq = 0;
    loop {
        let rows = engine
            .store()
            .query_index(&IndexQuery {
                kind: "webhook".into(),
                account_id: Some(account.clone()),
                after_seq,
                limit: SUBSCRIPTION_PAGE,
                ..IndexQuery::default()
            })
            .await?;
        let full = rows.len() == SUBSCRIPTION_PAGE;
        for row in rows {
            after_seq = row.seq;
            if row.state == "deleted" || row.state == Health::Disabled.as_str() {
                continue;
            }
            let Ok(id) = WebhookId::parse(row.stream_id.as_str()) else {
                continue;
            };
            if let Some(sub) = engine.subscription(&id).await? {
                out.push((row.seq, sub));
            }
        }
        if !full {
            return Ok(out);
        }
    }
}

/// The stored type of a ping request.
const PINGED: &str = "webhook.pinged";

/// The `webhook.ping` delivery a `webhook.pinged` row asks for: to its own subscription alone,
/// when that subscription may receive anything now.
async fn ping(engine: &Engine, row: &RecordedEvent, now: DateTime<Utc>) -> Result<Option<NewDelivery>, WebhookError> {
    let Ok(id) = WebhookId::parse(row.stream_id.as_str()) else {
        return Ok(None);
    };
    Ok(match engine.subscription(&id).await? {
        Some(sub) if sub.receives() => Some(ping_delivery(row, &sub, now)),
        _ => None,
    })
}

/// The deliveries a batch of log rows causes, after running the reactions to each row.
///
/// `subscriptions` holds the accounts' subscriptions as read for an earlier batch. Every change
/// to a subscription (creation, deletion, health, rotation) is an event of its stream in the
/// log, so the list read then still holds for this batch unless the batch itself shows such an
/// event: then every list is read again, as of now. A subscription created after the list was
/// read sits after every row the list is used for, which it would not receive anyway.
async fn plan(
    shared: &Shared,
    rows: &[RecordedEvent],
    subscriptions: &mut HashMap<AccountId, Vec<(u64, Subscription)>>,
) -> Result<Vec<NewDelivery>, WebhookError> {
    let now = shared.engine.clock().now();
    if rows.iter().any(|r| r.stream_id.as_str().starts_with(WebhookId::PREFIX)) {
        subscriptions.clear();
    }
    let mut out = Vec::new();
    for row in rows {
        let mut changed = false;
        for reaction in &shared.config.reactions {
            changed |= reaction.react(&shared.engine, row).await?;
        }
        if changed {
            // The lists no longer hold for the rows after this one.
            subscriptions.clear();
        }
        if row.event_type == PINGED {
            out.extend(ping(&shared.engine, row, now).await?);
            continue;
        }
        let Some(name) = catalogue::webhook_name(&row.event_type) else {
            continue;
        };
        let Some(account) = row.account_id() else {
            continue;
        };
        if !subscriptions.contains_key(&account) {
            let subs = account_subscriptions(&shared.engine, &account).await?;
            subscriptions.insert(account.clone(), subs);
        }
        let subs = subscriptions.get(&account).map(Vec::as_slice).unwrap_or_default();
        out.extend(deliveries_for(row, name, subs, &shared.engine.config().file_urls, now));
    }
    Ok(out)
}
