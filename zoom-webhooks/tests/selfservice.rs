#![allow(clippy::unwrap_used)]
//! Webhook self-service against a real loopback receiver: endpoint validation, redelivery,
//! pings, re-enabling after a 410, rotations, and the SSRF rules at subscribe time.

mod common;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use common::*;
use zoom_core::clock::{ManualClock, SeededEntropy, SystemClock};
use zoom_core::engine::PageRequest;
use zoom_core::id::WebhookId;
use zoom_core::store::DeliveryState;
use zoom_core::webhook::address::AllowList;
use zoom_core::webhook::validation::encrypted_token;
use zoom_core::webhook::{Health, WebhookCommand, WebhookPatch};
use zoom_core::{Engine, EngineError};
use zoom_store_memory::MemoryStore;
use zoom_webhooks::guard::{GuardError, Lookup, Resolver, SystemResolver, check_subscription_url};
use zoom_webhooks::{DeliveryFilter, Redelivery, SelfService, SelfServiceConfig, WebhookError, Worker, WorkerConfig};

/// A resolver that answers from a table: the seam, pointed at the addresses a test needs.
#[derive(Debug, Default)]
struct TableResolver(HashMap<String, Vec<IpAddr>>);

impl TableResolver {
    fn with(name: &str, ip: &str) -> Arc<Self> {
        let mut t = HashMap::new();
        t.insert(name.to_owned(), vec![ip.parse().unwrap()]);
        Arc::new(Self(t))
    }
}

impl Resolver for TableResolver {
    fn lookup(&self, host: &str) -> Lookup {
        let found = self.0.get(host).cloned();
        Box::pin(async move { found.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such name")) })
    }
}

fn service(engine: &Arc<Engine>) -> SelfService {
    SelfService::new(
        Arc::clone(engine),
        SelfServiceConfig {
            validation_timeout: Duration::from_millis(300),
            ..SelfServiceConfig::default()
        },
    )
}

async fn subscribe_validated(s: &SelfService, url: &str) -> (WebhookId, String) {
    let out = s
        .subscribe(&admin(), url.to_owned(), vec!["meeting.created".into()], true, None)
        .await
        .unwrap();
    (out.subscription.id, out.secret.unwrap())
}

/// A receiver that answers the challenge with the HMAC under the secret it is given.
async fn crc_receiver(secret: Arc<Mutex<String>>) -> Receiver {
    Receiver::start(move |_, r| {
        let body = r.json();
        if body["event"] == "endpoint.url_validation" {
            let plain = body["payload"]["plainToken"].as_str().unwrap_or("").to_owned();
            let key = secret.lock().unwrap().clone();
            let answer = serde_json::json!({
                "plainToken": plain,
                "encryptedToken": encrypted_token(&key, &plain),
            });
            Reply::ok().with_body(answer.to_string())
        } else {
            Reply::ok()
        }
    })
    .await
}

/// A subscription with `url_validation` is sent nothing until its receiver answers the
/// challenge; the challenge is signed like a delivery; a right answer validates the URL and
/// deliveries begin; a new URL must be validated again.
#[tokio::test]
async fn validation_handshake_succeeds_and_gates_deliveries() {
    let engine = engine().await;
    let s = service(&engine);
    let secret = Arc::new(Mutex::new(String::new()));
    let receiver = crc_receiver(Arc::clone(&secret)).await;
    let (sub, key) = subscribe_validated(&s, &receiver.url("/crc")).await;
    *secret.lock().unwrap() = key.clone();
    let worker = Worker::spawn(Arc::clone(&engine), config("")).unwrap();

    // Before validation: the event is not delivered, and a ping is refused.
    schedule(&engine, "Before").await;
    worker.notify();
    // The follower has passed the event (and made no delivery of it) before validation starts.
    let head = engine.store().head_position().await.unwrap();
    eventually("the follower to pass the event", || async {
        engine.store().checkpoint("zoom-webhooks").await.unwrap() >= head
    })
    .await;
    match s.ping(&admin(), &sub, None).await {
        Err(WebhookError::Engine(EngineError::Domain(e))) => assert_eq!(e.code(), "url_not_validated"),
        other => panic!("{other:?}"),
    }

    let validated = s.validate(&admin(), &sub, None).await.unwrap();
    assert!(validated.validated);
    let seen = receiver.wait_for(1).await;
    let challenge = &seen[0];
    assert_eq!(challenge.json()["event"], "endpoint.url_validation");
    assert!(challenge.header("x-zoom-signature").contains("v1="));
    assert!(challenge.header("webhook-signature").starts_with("v1,"));
    let plain = challenge.json()["payload"]["plainToken"].as_str().unwrap().to_owned();

    schedule(&engine, "After").await;
    worker.notify();
    let seen = receiver.wait_for(2).await;
    assert_eq!(
        seen[1].json()["data"]["topic"],
        "After",
        "the event before validation was not sent"
    );

    // A second challenge carries a fresh token.
    s.validate(&admin(), &sub, None).await.unwrap();
    let seen = receiver.wait_for(3).await;
    assert_ne!(seen[2].json()["payload"]["plainToken"].as_str().unwrap(), plain);

    let changed = s
        .update(
            &admin(),
            &sub,
            WebhookPatch {
                url: Some(receiver.url("/moved")),
                ..WebhookPatch::default()
            },
        )
        .await
        .unwrap();
    assert!(!changed.validated);
    worker.shutdown().await;
}

/// A wrong answer, an error status and no answer within the timeout each fail the validation
/// with a detail saying what came back, and leave the subscription unvalidated.
#[tokio::test]
async fn validation_fails_on_a_wrong_answer_an_error_or_silence() {
    let engine = engine().await;
    let s = service(&engine);

    let wrong = Receiver::start(|_, r| {
        let plain = r.json()["payload"]["plainToken"].as_str().unwrap_or("").to_owned();
        let answer = serde_json::json!({"plainToken": plain, "encryptedToken": encrypted_token("whsec_wrong", &plain)});
        Reply::ok().with_body(answer.to_string())
    })
    .await;
    let (sub, _) = subscribe_validated(&s, &wrong.url("/wrong")).await;
    match s.validate(&admin(), &sub, None).await {
        Err(WebhookError::Validation(detail)) => assert!(detail.contains("encryptedToken"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert!(!engine.subscription(&sub).await.unwrap().unwrap().validated);

    let teapot = Receiver::start(|_, _| Reply::status(418).with_body("short and stout")).await;
    let (sub, _) = subscribe_validated(&s, &teapot.url("/t")).await;
    match s.validate(&admin(), &sub, None).await {
        Err(WebhookError::Validation(detail)) => {
            assert!(detail.contains("418") && detail.contains("short and stout"), "{detail}");
        }
        other => panic!("{other:?}"),
    }

    let plain_text = Receiver::start(|_, _| Reply::ok().with_body("ok")).await;
    let (sub, _) = subscribe_validated(&s, &plain_text.url("/p")).await;
    match s.validate(&admin(), &sub, None).await {
        Err(WebhookError::Validation(detail)) => assert!(detail.contains("not JSON"), "{detail}"),
        other => panic!("{other:?}"),
    }

    // The receiver never answers within the (shortened) timeout.
    let silent = Receiver::start(|_, _| Reply::ok().after(Duration::from_secs(30))).await;
    let (sub, _) = subscribe_validated(&s, &silent.url("/s")).await;
    let started = std::time::Instant::now();
    match s.validate(&admin(), &sub, None).await {
        Err(WebhookError::Validation(detail)) => assert!(detail.contains("timed out"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));

    // Someone else's subscription is not found, and a reader may not validate.
    assert!(matches!(
        s.validate(&zoom_core::testing::kit::foreign_app(), &sub, None).await,
        Err(WebhookError::Engine(EngineError::Domain(
            zoom_core::error::DomainError::NotFound { .. }
        )))
    ));
}

/// Failed deliveries are sent again, with the same event id, by delivery id and by status
/// within a time range; the log shows each row's delivery id and status, and filters by status.
#[tokio::test]
async fn failed_deliveries_are_redelivered_by_id_and_by_status() {
    let engine = engine().await;
    let s = service(&engine);
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
    // No retries: the first failure is final.
    let worker = Worker::spawn(Arc::clone(&engine), config("")).unwrap();
    let start = Utc::now();
    for topic in ["one", "two", "three"] {
        schedule(&engine, topic).await;
    }
    worker.notify();
    let failed_rows = wait_log(&engine, &sub, 3).await;
    assert!(failed_rows.iter().all(|a| a.status() == DeliveryState::Failed));
    let only_failed = DeliveryFilter {
        status: Some(DeliveryState::Failed),
        ..DeliveryFilter::default()
    };
    let page = s
        .deliveries(&admin(), &sub, &only_failed, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    up.store(true, Ordering::SeqCst);

    // By id: that delivery alone, with its event id.
    let first = failed_rows[0].clone();
    assert_eq!(
        s.redeliver(&admin(), &sub, Redelivery::Delivery(first.delivery_id), None)
            .await
            .unwrap(),
        1
    );
    let rows = wait_log(&engine, &sub, 4).await;
    assert_eq!(rows[3].event_id, first.event_id);
    assert_eq!(rows[3].status(), DeliveryState::Succeeded);
    let seen = receiver.wait_for(4).await;
    assert_eq!(seen[3].header("webhook-id"), first.event_id.as_str());

    // By status in a range: the two still failed, not the one now delivered.
    let n = s
        .redeliver(
            &admin(),
            &sub,
            Redelivery::Failed {
                from: Some(start),
                to: Some(Utc::now() + chrono::Duration::seconds(1)),
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    let rows = wait_log(&engine, &sub, 6).await;
    let mut resent: Vec<_> = rows[4..].iter().map(|a| a.event_id.clone()).collect();
    resent.sort();
    let mut expected = vec![failed_rows[1].event_id.clone(), failed_rows[2].event_id.clone()];
    expected.sort();
    assert_eq!(resent, expected);
    // A range that holds no failure redelivers nothing; nothing failed is left anyway.
    let none = Redelivery::Failed {
        from: None,
        to: Some(start),
    };
    assert_eq!(s.redeliver(&admin(), &sub, none, None).await.unwrap(), 0);
    let page = s
        .deliveries(
            &admin(),
            &sub,
            &DeliveryFilter {
                status: Some(DeliveryState::Succeeded),
                ..DeliveryFilter::default()
            },
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);

    // A delivery of another subscription is not found through this one.
    let (other, _) = subscribe(&engine, &receiver.url("/other"), &["meeting.ended"]).await;
    assert!(matches!(
        s.redeliver(&admin(), &other, Redelivery::Delivery(first.delivery_id), None)
            .await,
        Err(WebhookError::Engine(EngineError::Domain(
            zoom_core::error::DomainError::NotFound {
                resource: "delivery",
                ..
            }
        )))
    ));
    worker.shutdown().await;
}

/// A ping is delivered to its subscription alone, as `webhook.ping`, even though no
/// subscription asks for that name.
#[tokio::test]
async fn a_ping_reaches_that_subscription_only() {
    let engine = engine().await;
    let s = service(&engine);
    let a = Receiver::ok().await;
    let b = Receiver::ok().await;
    let (sub_a, _) = subscribe(&engine, &a.url("/a"), &["meeting.created"]).await;
    let (_sub_b, _) = subscribe(&engine, &b.url("/b"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("")).unwrap();
    s.ping(&admin(), &sub_a, None).await.unwrap();
    worker.notify();
    let seen = a.wait_for(1).await;
    let body = seen[0].json();
    assert_eq!(body["event"], "webhook.ping");
    assert_eq!(body["data"]["webhook_id"], sub_a.as_str());
    assert_eq!(seen[0].header("webhook-id"), body["event_id"].as_str().unwrap());
    // The next event both subscribe to is B's first request: B never saw the ping.
    schedule(&engine, "After the ping").await;
    worker.notify();
    let seen_b = b.wait_for(1).await;
    assert_eq!(seen_b[0].json()["event"], "meeting.created");
    assert_eq!(a.wait_for(2).await[1].json()["event"], "meeting.created");
    assert_eq!(b.count(), 1);
    let log_a = log(&engine, &sub_a).await;
    assert_eq!(log_a[0].event_type, "webhook.ping");
    worker.shutdown().await;
}

/// A 410 disables the subscription (it reads `active: false`); `active: true` re-enables it,
/// healthy, and deliveries flow again.
#[tokio::test]
async fn gone_disables_and_patch_re_enables() {
    let engine = engine().await;
    let s = service(&engine);
    let status = Arc::new(AtomicU16::new(410));
    let answer = Arc::clone(&status);
    let receiver = Receiver::start(move |_, _| Reply::status(answer.load(Ordering::SeqCst))).await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("")).unwrap();
    schedule(&engine, "Gone").await;
    worker.notify();
    eventually("the 410 to disable the subscription", || async {
        engine.subscription(&sub).await.unwrap().unwrap().state == Health::Disabled
    })
    .await;
    let (read, _) = s.read(&admin(), &sub).await.unwrap();
    assert!(!read.enabled());
    // Disabled: nothing can be redelivered or pinged.
    assert!(matches!(
        s.ping(&admin(), &sub, None).await,
        Err(WebhookError::Engine(EngineError::Domain(e))) if e.code() == "webhook_disabled"
    ));

    status.store(200, Ordering::SeqCst);
    let enabled = s
        .update(
            &admin(),
            &sub,
            WebhookPatch {
                active: Some(true),
                ..WebhookPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(enabled.state, Health::Healthy);
    assert!(enabled.enabled());
    schedule(&engine, "Back").await;
    worker.notify();
    let seen = receiver.wait_for(2).await;
    assert_eq!(seen[1].json()["data"]["topic"], "Back");
    let (_, summary) = s.read(&admin(), &sub).await.unwrap();
    assert_eq!((summary.attempts, summary.succeeded, summary.failed), (2, 1, 1));
    assert!(summary.last_success_at.is_some());
    worker.shutdown().await;
}

/// After two rotations a delivery carries three signatures; each rotated secret stops signing
/// 24 hours after its own rotation.
#[tokio::test]
async fn two_rotations_each_keep_their_24_hours() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let engine = engine_with(clock.clone()).await;
    let receiver = Receiver::ok().await;
    let (sub, _) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("")).unwrap();
    let rotate = || async {
        engine
            .execute_webhook(&admin(), Some(&sub), WebhookCommand::RotateSecret, None)
            .await
            .unwrap();
    };
    rotate().await;
    clock.advance(chrono::Duration::hours(12));
    rotate().await;
    let count = |r: &Received| r.header("x-zoom-signature").matches("v1=").count();
    schedule(&engine, "Three secrets").await;
    worker.notify();
    assert_eq!(count(&receiver.wait_for(1).await[0]), 3);
    // 24 h after the first rotation: that one has stopped, the second still signs.
    clock.advance(chrono::Duration::hours(12));
    schedule(&engine, "Two secrets").await;
    worker.notify();
    assert_eq!(count(&receiver.wait_for(2).await[1]), 2);
    clock.advance(chrono::Duration::hours(12));
    schedule(&engine, "One secret").await;
    worker.notify();
    assert_eq!(count(&receiver.wait_for(3).await[2]), 1);
    worker.shutdown().await;
}

/// At subscribe time, a host name resolving to a non-public address is refused, through the
/// resolver seam and, for real, with `localhost`; the refusal does not name the address.
#[tokio::test]
async fn subscribe_time_resolution_refuses_internal_names() {
    // Default allow-list: nothing non-public may be reached.
    let engine = Arc::new(
        Engine::open(
            Arc::new(MemoryStore::new()),
            Arc::new(SystemClock),
            Arc::new(SeededEntropy::new(5)),
            zoom_core::testing::kit::engine_config(),
        )
        .await
        .unwrap(),
    );
    let s = SelfService::new(
        Arc::clone(&engine),
        SelfServiceConfig {
            resolver: TableResolver::with("hooks.internal.test", "127.0.0.1"),
            ..SelfServiceConfig::default()
        },
    );
    let refused = s
        .subscribe(
            &admin(),
            "https://hooks.internal.test/x".into(),
            vec!["meeting.created".into()],
            false,
            None,
        )
        .await;
    match refused {
        Err(WebhookError::Engine(EngineError::Domain(zoom_core::error::DomainError::Invalid { field, message }))) => {
            assert_eq!(field, "url");
            assert!(message.contains("non-public"), "{message}");
            assert!(!message.contains("127.0.0.1"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // A name the resolver does not know is let through (it is checked again at connect time).
    assert!(
        s.subscribe(
            &admin(),
            "https://unknown.test/x".into(),
            vec!["meeting.created".into()],
            false,
            None
        )
        .await
        .is_ok()
    );
    // The same check through PATCH.
    let (sub, _) = subscribe(&engine, "https://hooks.example.com/x", &["meeting.created"]).await;
    assert!(
        s.update(
            &admin(),
            &sub,
            WebhookPatch {
                url: Some("https://hooks.internal.test/y".into()),
                ..WebhookPatch::default()
            }
        )
        .await
        .is_err()
    );
    // The real resolver, with a name that resolves to loopback on every machine.
    let url = url::Url::parse("http://localhost:9/").unwrap();
    match check_subscription_url(&url, &AllowList::default(), &SystemResolver).await {
        Err(GuardError::Forbidden { host, .. }) => assert_eq!(host, "localhost"),
        other => panic!("{other:?}"),
    }
    // 6to4 and Teredo literals carrying loopback are refused like loopback itself.
    for literal in ["http://[2002:7f00:1::1]/", "http://[2001:0:808:808::80ff:fffe]/"] {
        assert!(
            s.subscribe(&admin(), literal.into(), vec!["meeting.created".into()], false, None)
                .await
                .is_err(),
            "{literal}"
        );
    }
}

/// A delivery's logged error never names the address a host name resolved to: not when the
/// address is refused, and not when the connection to an allowed one fails.
#[tokio::test]
async fn logged_errors_do_not_name_resolved_addresses() {
    let engine = engine().await;
    // A port with nothing listening: bind, learn it, close.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut table = HashMap::new();
    table.insert("internal.test".to_owned(), vec!["10.9.8.7".parse().unwrap()]);
    table.insert("closed.test".to_owned(), vec!["127.0.0.1".parse().unwrap()]);
    let resolver: Arc<dyn Resolver> = Arc::new(TableResolver(table));
    let (refused, _) = subscribe(
        &engine,
        &format!("http://internal.test:{closed}/"),
        &["meeting.created"],
    )
    .await;
    let (unreachable, _) = subscribe(&engine, &format!("http://closed.test:{closed}/"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), WorkerConfig { resolver, ..config("") }).unwrap();
    schedule(&engine, "Probe").await;
    worker.notify();
    let error = wait_log(&engine, &refused, 1).await[0].error.clone().unwrap();
    assert!(error.contains("destination refused"), "{error}");
    assert!(!error.contains("10.9.8.7"), "{error}");
    let error = wait_log(&engine, &unreachable, 1).await[0].error.clone().unwrap();
    assert!(!error.contains("127.0.0.1"), "{error}");
    worker.shutdown().await;
}
