#![allow(clippy::unwrap_used)]
//! A [`Reaction`] runs on each event before the deliveries of the events after it are planned:
//! a subscription it disables in the middle of one batch has nothing planned after that.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use common::*;
use zoom_core::Engine;
use zoom_core::event::RecordedEvent;
use zoom_core::id::WebhookId;
use zoom_core::webhook::{Health, WebhookCommand};
use zoom_webhooks::{Reaction, WebhookError, Worker, WorkerConfig};

/// Disables `target` when it sees the first `meeting.updated`; counts the rows it saw.
#[derive(Debug)]
struct DisableOnUpdate {
    target: WebhookId,
    seen: AtomicUsize,
}

#[async_trait]
impl Reaction for DisableOnUpdate {
    async fn react(&self, engine: &Engine, row: &RecordedEvent) -> Result<bool, WebhookError> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        if row.event_type != "meeting.updated" {
            return Ok(false);
        }
        let sub = engine.subscription(&self.target).await?.unwrap();
        if sub.state == Health::Disabled {
            return Ok(false);
        }
        let disable = WebhookCommand::SetHealth {
            state: Health::Disabled,
            reason: "disabled by a reaction".into(),
        };
        engine
            .execute_webhook(&admin(), Some(&self.target), disable, None)
            .await?;
        Ok(true)
    }
}

#[tokio::test]
async fn a_reaction_comes_before_the_deliveries_of_later_events() {
    let engine = engine().await;
    let receiver = Receiver::ok().await;
    let events = ["meeting.created", "meeting.updated"];
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &events).await;
    let (other, _) = subscribe(&engine, &receiver.url("/other"), &events).await;
    // All in the log before the worker starts, so the follower reads them in one batch.
    let meeting = schedule(&engine, "Standup").await;
    rename(&engine, &meeting, "Standup (moved)").await;
    rename(&engine, &meeting, "Standup (moved again)").await;

    let reaction = Arc::new(DisableOnUpdate {
        target: sub.clone(),
        seen: AtomicUsize::new(0),
    });
    let config = WorkerConfig {
        reactions: vec![reaction.clone()],
        ..config("1s")
    };
    let worker = Worker::spawn(Arc::clone(&engine), config).unwrap();
    worker.notify();
    receiver.wait_for(3).await;
    wait_log(&engine, &sub, 1).await;
    let head = engine.store().head_position().await.unwrap();
    eventually("the follower reaches the head", || async {
        engine.store().checkpoint("zoom-webhooks").await.unwrap() >= head
    })
    .await;
    worker.shutdown().await;
    let far = chrono::Utc::now() + chrono::Duration::days(30);
    let pending = engine.store().due(far, 100).await.unwrap();
    assert!(pending.is_empty(), "{pending:?}");

    // Attempts in flight finished at shutdown and none is pending: this is everything.
    let sent = |path: &str| {
        receiver
            .seen()
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.json()["event"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        sent("/other"),
        ["meeting.created", "meeting.updated", "meeting.updated"]
    );
    // `sub` had only the delivery planned before the reaction; disabled by the time it was
    // due, it was not sent.
    let attempts = log(&engine, &sub).await;
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("not sent: the subscription is disabled")
    );
    assert!(sent("/hook").is_empty());
    assert_eq!(
        engine.subscription(&other).await.unwrap().unwrap().state,
        Health::Healthy
    );
    assert!(reaction.seen.load(Ordering::SeqCst) >= 5, "it saw every row");
}
