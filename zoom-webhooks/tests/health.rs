#![allow(clippy::unwrap_used)]
//! Subscription health under an injected clock: degraded after a day of failures, disabled after
//! a week, reset by one success.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use common::*;
use zoom_core::Engine;
use zoom_core::clock::ManualClock;
use zoom_core::id::WebhookId;
use zoom_core::webhook::Health;
use zoom_webhooks::{Worker, WorkerConfig};

async fn health(engine: &Engine, id: &WebhookId) -> Health {
    engine.subscription(id).await.unwrap().unwrap().state
}

async fn wait_health(engine: &Engine, id: &WebhookId, wanted: Health) {
    eventually(&format!("{id} to be {}", wanted.as_str()), || async {
        health(engine, id).await == wanted
    })
    .await;
}

/// A day of failures degrades, one success heals, a week of failures disables, and a disabled
/// subscription is sent nothing more.
#[tokio::test]
async fn health_follows_the_failure_run() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let engine = engine_with(clock.clone()).await;
    let up = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&up);
    let receiver = Receiver::start(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            Reply::ok()
        } else {
            Reply::status(500)
        }
    })
    .await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let config = WorkerConfig {
        jitter: 0.0,
        ..config("")
    };
    let worker = Worker::spawn(Arc::clone(&engine), config).unwrap();

    // Failing for less than a day: still healthy.
    schedule(&engine, "first").await;
    worker.notify();
    wait_log(&engine, &sub, 1).await;
    clock.advance(chrono::Duration::hours(23));
    schedule(&engine, "second").await;
    worker.notify();
    wait_log(&engine, &sub, 2).await;
    assert_eq!(health(&engine, &sub).await, Health::Healthy);

    // A day after the first failure: degraded.
    clock.advance(chrono::Duration::hours(2));
    schedule(&engine, "third").await;
    worker.notify();
    wait_log(&engine, &sub, 3).await;
    wait_health(&engine, &sub, Health::Degraded).await;

    // One success heals.
    up.store(true, Ordering::SeqCst);
    schedule(&engine, "fourth").await;
    worker.notify();
    wait_log(&engine, &sub, 4).await;
    wait_health(&engine, &sub, Health::Healthy).await;

    // A new run of failures counts from its own start: a week of it disables.
    up.store(false, Ordering::SeqCst);
    schedule(&engine, "fifth").await;
    worker.notify();
    wait_log(&engine, &sub, 5).await;
    clock.advance(chrono::Duration::days(2));
    schedule(&engine, "sixth").await;
    worker.notify();
    wait_log(&engine, &sub, 6).await;
    wait_health(&engine, &sub, Health::Degraded).await;
    clock.advance(chrono::Duration::days(5));
    schedule(&engine, "seventh").await;
    worker.notify();
    wait_log(&engine, &sub, 7).await;
    wait_health(&engine, &sub, Health::Disabled).await;

    // Disabled: events are no longer matched, nothing more is sent.
    up.store(true, Ordering::SeqCst);
    schedule(&engine, "eighth").await;
    worker.notify();
    let head = engine.store().head_position().await.unwrap();
    eventually("the worker to pass every event", || async {
        engine.store().checkpoint("zoom-webhooks").await.unwrap() >= head
    })
    .await;
    worker.shutdown().await;
    assert_eq!(receiver.count(), 7);
}

/// After a restart, the failure run is read back from the delivery log.
#[tokio::test]
async fn the_failure_run_survives_a_restart() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let engine = engine_with(clock.clone()).await;
    let receiver = Receiver::start(|_, _| Reply::status(503)).await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("")).unwrap();
    schedule(&engine, "before").await;
    worker.notify();
    wait_log(&engine, &sub, 1).await;
    worker.shutdown().await;

    clock.advance(chrono::Duration::hours(30));
    let worker = Worker::spawn(Arc::clone(&engine), config("")).unwrap();
    schedule(&engine, "after").await;
    worker.notify();
    wait_log(&engine, &sub, 2).await;
    wait_health(&engine, &sub, Health::Degraded).await;
    worker.shutdown().await;
}
