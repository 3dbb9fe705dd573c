#![allow(clippy::unwrap_used)]
//! Delivery against real loopback receivers: signing, retries, status-code rules, limits,
//! redelivery, restart and the delivery log.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use common::*;
use zoom_core::clock::{Clock, ManualClock};
use zoom_core::engine::PageRequest;
use zoom_core::signature::{Verifier, WebhookSecret};
use zoom_core::store::DeliveryState;
use zoom_core::testing::kit;
use zoom_core::webhook::{Health, WebhookCommand};
use zoom_webhooks::{DeliveryFilter, Range, WebhookError, Worker, WorkerConfig, delivery_log};

fn verify(received: &Received, secret: &str, now: i64) -> Result<(), String> {
    let verifier = Verifier::new(WebhookSecret::parse(secret).unwrap());
    verifier
        .verify_zoom(
            received.header("x-zoom-timestamp"),
            received.header("x-zoom-signature"),
            received.body.as_bytes(),
            now,
        )
        .map_err(|e| format!("zoom: {e}"))?;
    verifier
        .verify_standard(
            received.header("webhook-id"),
            received.header("webhook-timestamp"),
            received.header("webhook-signature"),
            received.body.as_bytes(),
            now,
        )
        .map_err(|e| format!("standard: {e}"))
}

fn manual() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc::now()))
}

/// A commit becomes one POST whose body is the catalogue envelope, signed with both schemes.
#[tokio::test]
async fn a_commit_is_delivered_signed_with_both_schemes() {
    let engine = engine().await;
    let receiver = Receiver::ok().await;
    let (sub, secret) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("1s")).unwrap();
    let meeting = schedule(&engine, "Standup").await;
    worker.notify();

    let got = receiver.wait_for(1).await;
    let r = &got[0];
    assert_eq!(r.path, "/hook");
    let body = r.json();
    assert_eq!(body["event"], "meeting.created");
    assert_eq!(body["data"]["meeting_id"], meeting.as_str());
    assert_eq!(body["data"]["topic"], "Standup");
    let event_id = body["event_id"].as_str().unwrap();
    assert!(event_id.starts_with("evt_"));
    assert_eq!(r.header("webhook-id"), event_id);
    assert_eq!(r.header("x-zoom-timestamp"), r.header("webhook-timestamp"));
    assert_eq!(r.header("content-type"), "application/json");
    assert!(r.header("user-agent").starts_with("zoom-webhooks/"));
    verify(r, &secret, Utc::now().timestamp()).unwrap();
    assert!(
        verify(
            r,
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            Utc::now().timestamp()
        )
        .is_err()
    );

    let log = wait_log(&engine, &sub, 1).await;
    assert_eq!(log[0].status_code, Some(200));
    assert_eq!(log[0].attempt, 1);
    assert_eq!(log[0].error, None);
    assert_eq!(log[0].next_attempt_at, None);
    assert_eq!(log[0].event_type, "meeting.created");
    let d = engine.store().delivery(log[0].delivery_id).await.unwrap().unwrap();
    assert_eq!(d.state, DeliveryState::Succeeded);
    worker.shutdown().await;
}

/// Every retry carries the same event id and body with a fresh timestamp, on the jittered
/// schedule, and the log shows each attempt.
#[tokio::test]
async fn retries_keep_the_id_and_re_sign_with_a_fresh_timestamp() {
    let clock = manual();
    let engine = engine_with(clock.clone()).await;
    let receiver = Receiver::start(|n, _| if n < 2 { Reply::status(500) } else { Reply::ok() }).await;
    let (sub, secret) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("10s,10s")).unwrap();
    schedule(&engine, "Retry me").await;
    worker.notify();

    for n in 1..=3 {
        let log = wait_log(&engine, &sub, n).await;
        let last = log.last().unwrap();
        if n < 3 {
            let next = last.next_attempt_at.unwrap();
            let delay = (next - last.attempted_at).num_milliseconds();
            assert!((8000..=12000).contains(&delay), "10 s ± 20%, got {delay} ms");
            clock.advance(chrono::Duration::seconds(13));
        }
    }
    let got = receiver.wait_for(3).await;
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert!(got.iter().all(|r| r.body == got[0].body));
    let stamps: Vec<i64> = got
        .iter()
        .map(|r| r.header("webhook-timestamp").parse().unwrap())
        .collect();
    assert!(stamps[0] < stamps[1] && stamps[1] < stamps[2], "{stamps:?}");
    for (r, ts) in got.iter().zip(&stamps) {
        verify(r, &secret, *ts).unwrap();
    }
    let log = log(&engine, &sub).await;
    let statuses: Vec<Option<u16>> = log.iter().map(|a| a.status_code).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(200)]);
    assert_eq!(log.iter().map(|a| a.attempt).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(log[0].error.as_deref().unwrap().contains("HTTP 500"));
    worker.shutdown().await;
}

/// During a rotation both secrets sign; after the overlap only the new one does.
#[tokio::test]
async fn rotation_signs_with_both_secrets_for_a_day() {
    let clock = manual();
    let engine = engine_with(clock.clone()).await;
    let receiver = Receiver::ok().await;
    let (sub, old) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let new = engine
        .execute_webhook(&admin(), Some(&sub), WebhookCommand::RotateSecret, None)
        .await
        .unwrap()
        .secret
        .unwrap();
    let worker = Worker::spawn(Arc::clone(&engine), config("1s")).unwrap();
    schedule(&engine, "During").await;
    worker.notify();
    let r = receiver.wait_for(1).await.remove(0);
    let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
    assert_eq!(r.header("x-zoom-signature").matches(",v1=").count(), 2);
    assert_eq!(r.header("webhook-signature").split(' ').count(), 2);
    verify(&r, &old, ts).unwrap();
    verify(&r, &new, ts).unwrap();

    clock.advance(chrono::Duration::hours(25));
    schedule(&engine, "After").await;
    worker.notify();
    let r = receiver.wait_for(2).await.remove(1);
    let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
    assert_eq!(r.header("x-zoom-signature").matches(",v1=").count(), 1);
    verify(&r, &new, ts).unwrap();
    assert!(verify(&r, &old, ts).is_err());
    worker.shutdown().await;
}

/// After the last retry a delivery is failed; it can be sent again one by one or by range.
#[tokio::test]
async fn exhausted_deliveries_fail_and_can_be_sent_again() {
    let engine = engine().await;
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&healthy);
    let receiver = Receiver::start(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            Reply::ok()
        } else {
            Reply::status(500)
        }
    })
    .await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("20ms")).unwrap();
    schedule(&engine, "Doomed").await;
    worker.notify();
    let log = wait_log(&engine, &sub, 2).await;
    let id = log[0].delivery_id;
    eventually("the delivery to fail", || async {
        engine.store().delivery(id).await.unwrap().unwrap().state == DeliveryState::Failed
    })
    .await;
    assert_eq!(log[1].next_attempt_at, None);

    healthy.store(true, Ordering::SeqCst);
    worker.retry_delivery(id).await.unwrap();
    let log = wait_log(&engine, &sub, 3).await;
    assert_eq!(log[2].status_code, Some(200));
    assert_eq!(log[2].attempt, 3);

    // By position range: the one event again.
    let position = engine.store().delivery(id).await.unwrap().unwrap().position;
    let n = worker
        .redeliver(
            &sub,
            Range::Positions {
                from: position,
                to: position,
            },
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    receiver.wait_for(4).await;
    // By time range.
    let n = worker
        .redeliver(
            &sub,
            Range::Time {
                from: Utc::now() - chrono::Duration::hours(1),
                to: Utc::now() + chrono::Duration::hours(1),
            },
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let got = receiver.wait_for(5).await;
    assert!(got.iter().all(|r| r.body == got[0].body));
    assert!(matches!(
        worker.retry_delivery(999_999).await,
        Err(WebhookError::NotFound(_))
    ));
    worker.shutdown().await;
}

/// Redelivery also backfills events from before the subscription existed.
#[tokio::test]
async fn redelivery_backfills_events_the_subscription_never_had() {
    let engine = engine().await;
    let receiver = Receiver::ok().await;
    let worker = Worker::spawn(Arc::clone(&engine), config("1s")).unwrap();
    let early = schedule(&engine, "Before").await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let late = schedule(&engine, "After").await;
    worker.notify();
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].json()["data"]["meeting_id"], late.as_str());
    let head = engine.store().head_position().await.unwrap();
    let n = worker
        .redeliver(&sub, Range::Positions { from: 1, to: head })
        .await
        .unwrap();
    assert_eq!(n, 2);
    let got = receiver.wait_for(3).await;
    let ids: Vec<String> = got
        .iter()
        .map(|r| r.json()["data"]["meeting_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&early.to_string()), "{ids:?}");
    assert!(matches!(
        worker.redeliver(&sub, Range::Positions { from: 5, to: 4 }).await,
        Err(WebhookError::Config(_))
    ));
    worker.shutdown().await;
}

/// A 3xx is a failure and is never followed.
#[tokio::test]
async fn redirects_are_failures_and_never_followed() {
    let engine = engine().await;
    let receiver = Receiver::start(|_, r| {
        if r.path == "/hook" {
            Reply::status(302).with_header("location", "/elsewhere")
        } else {
            Reply::ok()
        }
    })
    .await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("20ms")).unwrap();
    schedule(&engine, "Moved").await;
    worker.notify();
    let log = wait_log(&engine, &sub, 2).await;
    assert_eq!(log[0].status_code, Some(302));
    assert!(log[0].error.as_deref().unwrap().contains("redirects are not followed"));
    assert!(log[0].next_attempt_at.is_some());
    worker.shutdown().await;
    assert!(receiver.seen().iter().all(|r| r.path == "/hook"));
}

/// 410 Gone disables the subscription: nothing more is sent.
#[tokio::test]
async fn gone_disables_the_subscription() {
    let engine = engine().await;
    let receiver = Receiver::start(|_, _| Reply::status(410)).await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created", "meeting.updated"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("20ms")).unwrap();
    let m = schedule(&engine, "Gone").await;
    worker.notify();
    let log = wait_log(&engine, &sub, 1).await;
    assert_eq!(log[0].status_code, Some(410));
    assert_eq!(log[0].next_attempt_at, None);
    eventually("the subscription to be disabled", || async {
        engine.subscription(&sub).await.unwrap().unwrap().state == Health::Disabled
    })
    .await;
    let d = engine.store().delivery(log[0].delivery_id).await.unwrap().unwrap();
    assert_eq!(d.state, DeliveryState::Failed);

    rename(&engine, &m, "Still gone").await;
    worker.notify();
    let head = engine.store().head_position().await.unwrap();
    eventually("the worker to pass the rename", || async {
        engine.store().checkpoint("zoom-webhooks").await.unwrap() >= head
    })
    .await;
    worker.shutdown().await;
    assert_eq!(receiver.count(), 1);
    assert_eq!(log_len(&engine, &sub).await, 1);
}

async fn log_len(engine: &zoom_core::Engine, sub: &zoom_core::id::WebhookId) -> usize {
    log(engine, sub).await.len()
}

/// 429 and 503 honour `Retry-After` (seconds or a date), cut to the configured maximum.
#[tokio::test]
async fn retry_after_is_honoured_within_bounds() {
    let clock = manual();
    let engine = engine_with(clock.clone()).await;
    // Later than the third attempt (at +720 s), so the date names a future moment.
    let at = clock.now() + chrono::Duration::seconds(900);
    let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let receiver = Receiver::start(move |n, _| match n {
        0 => Reply::status(503).with_header("retry-after", "120"),
        1 => Reply::status(429).with_header("retry-after", "86400"),
        2 => Reply::status(503).with_header("retry-after", date.clone()),
        _ => Reply::ok(),
    })
    .await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let config = WorkerConfig {
        max_retry_after: Duration::from_secs(600),
        ..config("1s,1s,1s,1s")
    };
    let worker = Worker::spawn(Arc::clone(&engine), config).unwrap();
    schedule(&engine, "Busy").await;
    worker.notify();

    let log = wait_log(&engine, &sub, 1).await;
    assert_eq!(
        log[0].next_attempt_at,
        Some(log[0].attempted_at + chrono::Duration::seconds(120))
    );
    clock.advance(chrono::Duration::seconds(120));
    let log = wait_log(&engine, &sub, 2).await;
    assert_eq!(log[1].status_code, Some(429));
    assert_eq!(
        log[1].next_attempt_at,
        Some(log[1].attempted_at + chrono::Duration::seconds(600))
    );
    // Not due yet: nothing is sent before the receiver's moment.
    clock.advance(chrono::Duration::seconds(590));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.count(), 2);
    clock.advance(chrono::Duration::seconds(10));
    let log = wait_log(&engine, &sub, 3).await;
    let wanted = (at - log[2].attempted_at).num_seconds();
    let got = (log[2].next_attempt_at.unwrap() - log[2].attempted_at).num_seconds();
    assert!(
        (wanted - 1..=wanted).contains(&got),
        "date form: wanted {wanted} s, got {got} s"
    );
    worker.shutdown().await;
}

/// A receiver slower than the timeout is a failed attempt with no status.
#[tokio::test]
async fn slow_answers_time_out() {
    let engine = engine().await;
    let receiver = Receiver::start(|_, _| Reply::ok().after(Duration::from_secs(3))).await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let config = WorkerConfig {
        timeout: Duration::from_millis(200),
        ..config("1h")
    };
    let worker = Worker::spawn(Arc::clone(&engine), config).unwrap();
    schedule(&engine, "Slow").await;
    worker.notify();
    let log = wait_log(&engine, &sub, 1).await;
    assert_eq!(log[0].status_code, None);
    assert!(
        log[0].error.as_deref().unwrap().contains("timed out"),
        "{:?}",
        log[0].error
    );
    assert!(log[0].next_attempt_at.is_some());
    worker.shutdown().await;
}

/// A huge error body is read only up to the cap, and quoted briefly in the log.
#[tokio::test]
async fn response_bodies_are_capped() {
    let engine = engine().await;
    let receiver = Receiver::start(|_, _| Reply::status(500).with_body("x".repeat(4 << 20))).await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("1h")).unwrap();
    schedule(&engine, "Chatty").await;
    worker.notify();
    let log = wait_log(&engine, &sub, 1).await;
    let error = log[0].error.clone().unwrap();
    assert!(error.starts_with("HTTP 500: xxx"), "{error}");
    assert!(error.len() < 300, "{} bytes", error.len());
    worker.shutdown().await;
}

/// A subscription gets only the names it asked for, only of its account, only after it existed.
#[tokio::test]
async fn only_matching_events_of_the_account_are_sent() {
    let engine = engine().await;
    let mine = Receiver::ok().await;
    let foreign = Receiver::ok().await;
    let m = schedule(&engine, "Before anyone listened").await;
    let (updates, _) = subscribe(&engine, &mine.url("/updates"), &["meeting.updated"]).await;
    let (other, _) = subscribe_as(
        &engine,
        &kit::foreign_app(),
        &foreign.url("/foreign"),
        &["meeting.created", "meeting.updated"],
    )
    .await;
    let worker = Worker::spawn(Arc::clone(&engine), config("1s")).unwrap();
    schedule(&engine, "Created after").await;
    rename(&engine, &m, "Renamed").await;
    worker.notify();
    let got = mine.wait_for(1).await;
    assert_eq!(got[0].json()["event"], "meeting.updated");
    assert_eq!(got[0].json()["data"]["topic"], "Renamed");
    let head = engine.store().head_position().await.unwrap();
    eventually("the worker to pass every event", || async {
        engine.store().checkpoint("zoom-webhooks").await.unwrap() >= head
    })
    .await;
    worker.shutdown().await;
    assert_eq!(mine.count(), 1);
    assert_eq!(foreign.count(), 0);
    let far = Utc::now() + chrono::Duration::days(365);
    let pending = engine.store().due(far, 100).await.unwrap();
    assert!(pending.iter().all(|d| d.subscription_id != other), "{pending:?}");
    assert_eq!(log(&engine, &updates).await.len(), 1);
}

/// One slow receiver holds at most its own in-flight limit; the others are served meanwhile.
#[tokio::test]
async fn a_slow_receiver_does_not_starve_the_others() {
    let engine = engine().await;
    let slow = Receiver::start(|_, _| Reply::ok().after(Duration::from_secs(10))).await;
    let fast = Receiver::start(|_, _| Reply::ok().after(Duration::from_millis(50))).await;
    subscribe(&engine, &slow.url("/slow"), &["meeting.created"]).await;
    subscribe(&engine, &fast.url("/fast"), &["meeting.created"]).await;
    let config = WorkerConfig {
        max_in_flight_per_subscription: 2,
        pool_size: 4,
        timeout: Duration::from_secs(20),
        ..config("1h")
    };
    let worker = Worker::spawn(Arc::clone(&engine), config).unwrap();
    for i in 0..8 {
        schedule(&engine, &format!("Meeting {i}")).await;
    }
    worker.notify();
    fast.wait_for(8).await;
    slow.wait_for(2).await;
    // The slow receiver holds two requests (its limit), unanswered, while the fast one got all.
    assert_eq!(slow.count(), 2);
    assert_eq!(fast.max_concurrency(), 2, "the fast one uses its whole limit, no more");
    drop(worker);
}

/// Commits made while no worker runs are sent when one starts; a restart sends nothing twice.
#[tokio::test]
async fn a_restart_resumes_and_sends_each_event_once() {
    let engine = engine().await;
    let receiver = Receiver::ok().await;
    subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    for i in 0..3 {
        schedule(&engine, &format!("Offline {i}")).await;
    }
    let worker = Worker::spawn(Arc::clone(&engine), config("1s")).unwrap();
    receiver.wait_for(3).await;
    worker.shutdown().await;
    for i in 0..2 {
        schedule(&engine, &format!("Between {i}")).await;
    }
    let worker = Worker::spawn(Arc::clone(&engine), config("1s")).unwrap();
    let got = receiver.wait_for(5).await;
    let head = engine.store().head_position().await.unwrap();
    eventually("the worker to pass every event", || async {
        engine.store().checkpoint("zoom-webhooks").await.unwrap() >= head
    })
    .await;
    worker.shutdown().await;
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    assert_eq!(receiver.count(), 5);
}

/// Pending deliveries survive a stop and are attempted by the next worker.
#[tokio::test]
async fn pending_retries_survive_a_restart() {
    let clock = manual();
    let engine = engine_with(clock.clone()).await;
    let receiver = Receiver::start(|n, _| if n == 0 { Reply::status(500) } else { Reply::ok() }).await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("1m")).unwrap();
    schedule(&engine, "Interrupted").await;
    worker.notify();
    wait_log(&engine, &sub, 1).await;
    worker.shutdown().await;
    clock.advance(chrono::Duration::minutes(2));
    let worker = Worker::spawn(Arc::clone(&engine), config("1m")).unwrap();
    let log = wait_log(&engine, &sub, 2).await;
    assert_eq!(log[1].status_code, Some(200));
    assert_eq!(log[1].attempt, 2);
    assert_eq!(log[1].event_id, log[0].event_id);
    worker.shutdown().await;
}

/// The delivery log is visible to the subscription's owner only and pruned by age.
#[tokio::test]
async fn the_delivery_log_is_scoped_and_pruned_by_age() {
    let clock = manual();
    let engine = engine_with(clock.clone()).await;
    let receiver = Receiver::ok().await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("1s")).unwrap();
    schedule(&engine, "Logged").await;
    worker.notify();
    wait_log(&engine, &sub, 1).await;
    let all = DeliveryFilter::default();
    let page = delivery_log(&engine, &admin(), &sub, &all, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(
        delivery_log(&engine, &kit::foreign_app(), &sub, &all, &PageRequest::default())
            .await
            .is_err()
    );

    clock.advance(chrono::Duration::days(29));
    assert_eq!(worker.prune().await.unwrap(), 0);
    // Past the retention, the worker's own periodic pruning removes the row.
    clock.advance(chrono::Duration::days(2));
    eventually("the old attempt to be pruned", || async {
        log(&engine, &sub).await.is_empty()
    })
    .await;
    worker.shutdown().await;
}

/// Settings that cannot work are refused at spawn.
#[tokio::test]
async fn bad_settings_are_refused() {
    let engine = engine().await;
    for bad in [
        WorkerConfig {
            pool_size: 0,
            ..WorkerConfig::default()
        },
        WorkerConfig {
            jitter: 1.5,
            ..WorkerConfig::default()
        },
        WorkerConfig {
            poll_interval: Duration::ZERO,
            ..WorkerConfig::default()
        },
    ] {
        assert!(matches!(
            Worker::spawn(Arc::clone(&engine), bad),
            Err(WebhookError::Config(_))
        ));
    }
}

/// With polling far away, the commit notifier alone wakes the worker after each commit.
#[tokio::test]
async fn the_commit_notifier_wakes_the_worker() {
    let engine = engine().await;
    let receiver = Receiver::ok().await;
    subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let config = WorkerConfig {
        poll_interval: Duration::from_secs(3600),
        ..config("1s")
    };
    let worker = Worker::spawn(Arc::clone(&engine), config).unwrap();
    let commits = worker.commit_notifier();
    for n in 1..=3 {
        schedule(&engine, &format!("Woken {n}")).await;
        commits.notify_one();
        receiver.wait_for(n).await;
    }
    worker.shutdown().await;
}

/// A backlog of one stuck subscription larger than the dispatcher's window does not hide the
/// deliveries of others queued behind it in the outbox.
#[tokio::test]
async fn a_backlog_wider_than_the_window_does_not_starve_the_others() {
    let engine = engine().await;
    let stuck = Receiver::start(|_, _| Reply::ok().after(Duration::from_secs(30))).await;
    let fast = Receiver::ok().await;
    subscribe(&engine, &stuck.url("/stuck"), &["meeting.created"]).await;
    // More than the window (1024 for a small pool): all of them due before the others'.
    for i in 0..1100 {
        schedule(&engine, &format!("Backlog {i}")).await;
    }
    let config = WorkerConfig {
        max_in_flight_per_subscription: 1,
        pool_size: 2,
        timeout: Duration::from_secs(60),
        ..config("1h")
    };
    let worker = Worker::spawn(Arc::clone(&engine), config).unwrap();
    let head = engine.store().head_position().await.unwrap();
    eventually("the backlog to be enqueued", || async {
        engine.store().checkpoint("zoom-webhooks").await.unwrap() >= head
    })
    .await;
    subscribe(&engine, &fast.url("/fast"), &["meeting.created"]).await;
    for i in 0..3 {
        schedule(&engine, &format!("Behind {i}")).await;
    }
    worker.notify();
    fast.wait_for(3).await;
    assert_eq!(stuck.count(), 1);
    drop(worker);
}

/// Rotating a secret, adding a subscription and deleting one while the worker runs (after it
/// has read and parsed the subscriptions for earlier events) all apply to the next events.
#[tokio::test]
async fn subscription_changes_apply_while_the_worker_runs() {
    let engine = engine().await;
    let first = Receiver::ok().await;
    let second = Receiver::ok().await;
    let (sub, old) = subscribe(&engine, &first.url("/first"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("1s")).unwrap();
    schedule(&engine, "One").await;
    worker.notify();
    let r = first.wait_for(1).await.remove(0);
    assert_eq!(r.header("x-zoom-signature").matches(",v1=").count(), 1);

    let new = engine
        .execute_webhook(&admin(), Some(&sub), WebhookCommand::RotateSecret, None)
        .await
        .unwrap()
        .secret
        .unwrap();
    let (added, _) = subscribe(&engine, &second.url("/second"), &["meeting.created"]).await;
    schedule(&engine, "Two").await;
    worker.notify();
    let r = first.wait_for(2).await.remove(1);
    assert_eq!(r.json()["data"]["topic"], "Two");
    let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
    assert_eq!(r.header("x-zoom-signature").matches(",v1=").count(), 2);
    verify(&r, &old, ts).unwrap();
    verify(&r, &new, ts).unwrap();
    let got = second.wait_for(1).await;
    assert_eq!(got[0].json()["data"]["topic"], "Two");

    engine
        .execute_webhook(&admin(), Some(&sub), WebhookCommand::Unsubscribe, None)
        .await
        .unwrap();
    schedule(&engine, "Three").await;
    worker.notify();
    let got = second.wait_for(2).await;
    assert_eq!(got[1].json()["data"]["topic"], "Three");
    let head = engine.store().head_position().await.unwrap();
    eventually("the worker to pass every event", || async {
        engine.store().checkpoint("zoom-webhooks").await.unwrap() >= head
    })
    .await;
    worker.shutdown().await;
    assert_eq!(first.count(), 2);
    assert_eq!(second.count(), 2);
    assert_eq!(log(&engine, &added).await.len(), 2);
    assert_eq!(log(&engine, &sub).await.len(), 2);
    let far = Utc::now() + chrono::Duration::days(365);
    let pending = engine.store().due(far, 100).await.unwrap();
    assert!(pending.iter().all(|d| d.subscription_id != sub), "{pending:?}");
}
