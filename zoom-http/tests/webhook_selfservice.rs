//! Webhook self-service through the router: read and patch a subscription, its delivery log's
//! ids and statuses, redelivery, pings, endpoint validation and the subscribe-time resolution.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use zoom_core::clock::{ManualClock, SeededEntropy};
use zoom_core::event::StreamId;
use zoom_core::id::{AccountId, EventId, WebhookId};
use zoom_core::store::{DeliveryAttempt, DeliveryState, NewDelivery};
use zoom_core::testing::kit;
use zoom_core::webhook::address::{AllowList, Cidr};
use zoom_core::webhook::validation::encrypted_token;
use zoom_core::webhook::{Health, WebhookCommand};
use zoom_core::{Engine, EngineConfig};
use zoom_http::ApiConfig;
use zoom_webhooks::SelfServiceConfig;
use zoom_webhooks::guard::{Lookup, Resolver};

fn hook() -> Value {
    json!({"url": "https://hooks.example.com/zoom", "events": ["meeting.started"]})
}

/// A router whose engine lets subscriptions reach 127.0.0.1 (for a real loopback receiver).
async fn loopback_app(webhooks: SelfServiceConfig) -> TestApp {
    let clock = Arc::new(ManualClock::new(kit::t0()));
    let config = EngineConfig {
        webhook_allow: AllowList::new(vec![Cidr::parse("127.0.0.1/32").unwrap()]),
        ..kit::engine_config()
    };
    let engine = Arc::new(
        Engine::open(
            Arc::new(zoom_store_memory::MemoryStore::new()),
            clock.clone(),
            Arc::new(SeededEntropy::new(42)),
            config,
        )
        .await
        .unwrap(),
    );
    let api = ApiConfig {
        webhooks,
        ..ApiConfig::default()
    };
    let router = zoom_http::router(engine.clone(), Arc::new(tokens()), api);
    TestApp { router, engine, clock }
}

/// A receiver on 127.0.0.1 that answers each request with `answer(body)` after `delay`.
async fn receiver(
    answer: impl Fn(&Value) -> (u16, String) + Send + Sync + 'static,
    delay: Duration,
) -> (String, tokio::task::JoinHandle<()>) {
    let answer = Arc::new(answer);
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let answer = Arc::clone(&answer);
        async move {
            tokio::time::sleep(delay).await;
            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let (status, text) = answer(&json);
            (StatusCode::from_u16(status).unwrap(), text)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

/// A failed delivery of `event` in the outbox of `sub`, as the worker leaves one after its last
/// retry; returns its id.
async fn failed_delivery(app: &TestApp, sub: &str, event: &str, position: u64) -> u64 {
    let store = app.engine.store();
    let wid = WebhookId::parse(sub).unwrap();
    let event_id = EventId::parse(event).unwrap();
    store
        .enqueue(
            "test",
            position,
            vec![NewDelivery {
                subscription_id: wid.clone(),
                account_id: AccountId::parse("acme").unwrap(),
                event_id: event_id.clone(),
                event_type: "meeting.started".into(),
                position,
                body: "{}".into(),
                next_attempt_at: kit::t0(),
            }],
        )
        .await
        .unwrap();
    let d = store
        .due(kit::t0() + chrono::Duration::days(1), 100)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.event_id == event_id)
        .unwrap();
    let attempt = DeliveryAttempt {
        delivery_id: d.id,
        subscription_id: wid,
        event_id,
        event_type: "meeting.started".into(),
        attempt: 1,
        attempted_at: kit::t0() + chrono::Duration::seconds(position as i64),
        status_code: Some(500),
        latency_ms: 3,
        error: Some("HTTP 500".into()),
        next_attempt_at: None,
    };
    store
        .record_attempt(attempt, DeliveryState::Failed, None)
        .await
        .unwrap();
    d.id
}

/// GET reads `state`, `active`, `validated` and the attempt summary; PATCH changes what it is
/// sent, disables and re-enables; another owner's subscription is 404, a reader may not patch.
#[tokio::test]
async fn get_and_patch_a_subscription() {
    let app = app().await;
    let id = post("/v1/webhooks").token("hooks").json(hook()).send(&app).await.id();
    let a = get(format!("/v1/webhooks/{id}")).token("hooks").send(&app).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        (&a.body["active"], &a.body["state"], &a.body["validated"]),
        (&json!(true), &json!("healthy"), &json!(true))
    );
    assert_eq!(a.body["last_attempts"]["attempts"], 0);
    assert!(!a.body.to_string().contains("whsec_"));

    let a = patch(format!("/v1/webhooks/{id}"))
        .token("hooks")
        .json(json!({"events": ["meeting.ended", "participant.joined"]}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["events"], json!(["meeting.ended", "participant.joined"]));
    assert_eq!(a.body["url"], "https://hooks.example.com/zoom");

    let a = patch(format!("/v1/webhooks/{id}"))
        .token("hooks")
        .json(json!({"active": false}))
        .send(&app)
        .await;
    assert_eq!(
        (&a.body["active"], &a.body["state"]),
        (&json!(false), &json!("disabled"))
    );
    let a = patch(format!("/v1/webhooks/{id}"))
        .token("hooks")
        .json(json!({"active": true}))
        .send(&app)
        .await;
    assert_eq!((&a.body["active"], &a.body["state"]), (&json!(true), &json!("healthy")));

    for (body, code, field) in [
        (json!({"url": "http://127.0.0.1:9/x"}), "invalid_field", "url"),
        (json!({"events": []}), "invalid_field", "events"),
        (json!({"events": ["webhook.ping"]}), "invalid_field", "events"),
        (json!({"active": "yes"}), "invalid_field", "active"),
        (json!({"secret": "whsec_x"}), "unknown_field", "secret"),
    ] {
        let a = patch(format!("/v1/webhooks/{id}"))
            .token("hooks")
            .json(body.clone())
            .send(&app)
            .await;
        assert_eq!(
            (a.status, a.code(), a.field()),
            (StatusCode::BAD_REQUEST, code, field),
            "{body}"
        );
    }
    let a = patch(format!("/v1/webhooks/{id}"))
        .token("foreign")
        .json(json!({"active": true}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get(format!("/v1/webhooks/{id}")).token("foreign").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = patch(format!("/v1/webhooks/{id}"))
        .token("reader")
        .json(json!({"active": true}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = get("/v1/webhooks/whk_nope").token("hooks").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get(format!("/v1/webhooks/{id}?x=1")).token("hooks").send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "unknown_field"));
}

/// A subscription the worker disabled (after a 410) reads `active: false` in the list and on
/// read, and `PATCH {"active": true}` makes it healthy again.
#[tokio::test]
async fn a_disabled_subscription_reads_inactive_until_re_enabled() {
    let app = app().await;
    let id = post("/v1/webhooks").token("hooks").json(hook()).send(&app).await.id();
    let system = zoom_core::principal::Principal::app(
        AccountId::parse("acme").unwrap(),
        zoom_core::id::Name::parse("system:zoom-webhooks").unwrap(),
        [zoom_core::principal::Scope::Admin],
    );
    app.engine
        .execute_webhook(
            &system,
            Some(&WebhookId::parse(&id).unwrap()),
            WebhookCommand::SetHealth {
                state: Health::Disabled,
                reason: "the receiver answered 410 Gone".into(),
            },
            None,
        )
        .await
        .unwrap();
    let a = get(format!("/v1/webhooks/{id}")).token("hooks").send(&app).await;
    assert_eq!(
        (&a.body["active"], &a.body["state"]),
        (&json!(false), &json!("disabled"))
    );
    let a = get("/v1/webhooks").token("hooks").send(&app).await;
    assert_eq!(a.body["webhooks"][0]["active"], false);
    let a = post(format!("/v1/webhooks/{id}:ping")).token("hooks").send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "webhook_disabled"));
    let a = patch(format!("/v1/webhooks/{id}"))
        .token("hooks")
        .json(json!({"active": true}))
        .send(&app)
        .await;
    assert_eq!((&a.body["active"], &a.body["state"]), (&json!(true), &json!("healthy")));
}

/// Each log row has its `delivery_id` and `status`; `?status=` filters; `:redeliver` by id or by
/// status makes deliveries pending again and answers 202 with the count; bad bodies are 400.
#[tokio::test]
async fn deliveries_show_ids_and_statuses_and_are_redelivered() {
    let app = app().await;
    let id = post("/v1/webhooks").token("hooks").json(hook()).send(&app).await.id();
    let first = failed_delivery(&app, &id, "evt_one", 1).await;
    let _second = failed_delivery(&app, &id, "evt_two", 2).await;
    let a = get(format!("/v1/webhooks/{id}/deliveries?status=failed"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let rows = a.body["deliveries"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["status"] == "failed"));
    assert_eq!(rows[1]["delivery_id"], first);
    let a = get(format!("/v1/webhooks/{id}/deliveries?status=succeeded"))
        .token("hooks")
        .send(&app)
        .await;
    assert!(a.body["deliveries"].as_array().unwrap().is_empty());
    let a = get(format!("/v1/webhooks/{id}/deliveries?status=lost"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "status"));
    // A cursor of the filtered list is refused by the unfiltered one.
    let a = get(format!("/v1/webhooks/{id}/deliveries?status=failed&page_size=1"))
        .token("hooks")
        .send(&app)
        .await;
    let cursor = a.body["next_cursor"].as_str().unwrap().to_owned();
    let a = get(format!("/v1/webhooks/{id}/deliveries?cursor={cursor}"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.code(), a.field()),
        (StatusCode::BAD_REQUEST, "invalid_cursor", "cursor")
    );

    let a = post(format!("/v1/webhooks/{id}:redeliver"))
        .token("hooks")
        .json(json!({"delivery_id": first}))
        .send(&app)
        .await;
    assert_eq!((a.status, &a.body), (StatusCode::ACCEPTED, &json!({"count": 1})));
    let d = app.engine.store().delivery(first).await.unwrap().unwrap();
    assert_eq!(d.state, DeliveryState::Pending);
    let a = post(format!("/v1/webhooks/{id}:redeliver"))
        .token("hooks")
        .json(json!({"status": "failed", "from": "2030-01-01T09:00:00Z", "to": "2030-01-02T00:00:00Z"}))
        .send(&app)
        .await;
    assert_eq!((a.status, &a.body), (StatusCode::ACCEPTED, &json!({"count": 1})));
    let a = post(format!("/v1/webhooks/{id}:redeliver"))
        .token("hooks")
        .json(json!({"status": "failed"}))
        .send(&app)
        .await;
    assert_eq!(a.body, json!({"count": 0}), "nothing failed is left");

    // With an Idempotency-Key, a repeat answers the first count and makes nothing pending again;
    // the same key with another body is 422.
    let third = failed_delivery(&app, &id, "evt_three", 3).await;
    let again = |body: serde_json::Value| {
        post(format!("/v1/webhooks/{id}:redeliver"))
            .token("hooks")
            .header("idempotency-key", "redeliver-1")
            .json(body)
    };
    let a = again(json!({"status": "failed"})).send(&app).await;
    assert_eq!((a.status, &a.body), (StatusCode::ACCEPTED, &json!({"count": 1})));
    let fourth = failed_delivery(&app, &id, "evt_four", 4).await;
    let a = again(json!({"status": "failed"})).send(&app).await;
    assert_eq!(
        (a.status, &a.body),
        (StatusCode::ACCEPTED, &json!({"count": 1})),
        "the first answer, not a second redelivery"
    );
    let store = app.engine.store();
    assert_eq!(
        store.delivery(third).await.unwrap().unwrap().state,
        DeliveryState::Pending
    );
    let fourth = store.delivery(fourth).await.unwrap().unwrap();
    assert_eq!(fourth.state, DeliveryState::Failed, "the replay sent nothing again");
    let a = again(json!({"delivery_id": first})).send(&app).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );

    for (body, field) in [
        (json!({}), "delivery_id"),
        (json!({"delivery_id": first, "status": "failed"}), "status"),
        (json!({"status": "pending"}), "status"),
        (json!({"status": "failed", "from": "yesterday"}), "from"),
        (
            json!({"status": "failed", "from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}),
            "to",
        ),
        (json!({"delivery_id": first, "from": "2030-01-01T00:00:00Z"}), "from"),
        (json!({"delivery_id": -1}), "delivery_id"),
    ] {
        let a = post(format!("/v1/webhooks/{id}:redeliver"))
            .token("hooks")
            .json(body.clone())
            .send(&app)
            .await;
        assert_eq!(
            (a.status, a.field()),
            (StatusCode::BAD_REQUEST, field),
            "{body}: {}",
            a.body
        );
    }
    let a = post(format!("/v1/webhooks/{id}:redeliver"))
        .token("hooks")
        .json(json!({"delivery_id": 999_999}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let other = post("/v1/webhooks").token("hooks").json(hook()).send(&app).await.id();
    let a = post(format!("/v1/webhooks/{other}:redeliver"))
        .token("hooks")
        .json(json!({"delivery_id": first}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "a delivery of another subscription");
    let a = post(format!("/v1/webhooks/{id}:redeliver"))
        .token("reader")
        .json(json!({"delivery_id": first}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

/// `:ping` answers 202 and records a ping for that subscription (the worker sends it); an
/// unvalidated subscription cannot be pinged.
#[tokio::test]
async fn ping_is_accepted_and_recorded() {
    let app = app().await;
    let id = post("/v1/webhooks").token("hooks").json(hook()).send(&app).await.id();
    let a = post(format!("/v1/webhooks/{id}:ping")).token("hooks").send(&app).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    assert_eq!(a.body, json!({"id": id, "event": "webhook.ping"}));
    let stream = app
        .engine
        .store()
        .read_stream(&StreamId::new(&id).unwrap(), 1, 10)
        .await
        .unwrap();
    assert_eq!(stream.last().unwrap().event_type, "webhook.pinged");
    // A replay with the same Idempotency-Key asks for no second ping.
    for _ in 0..2 {
        let a = post(format!("/v1/webhooks/{id}:ping"))
            .token("hooks")
            .header("idempotency-key", "ping-1")
            .send(&app)
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
    }
    let pings =
        |events: &[zoom_core::event::RecordedEvent]| events.iter().filter(|e| e.event_type == "webhook.pinged").count();
    let stream = app
        .engine
        .store()
        .read_stream(&StreamId::new(&id).unwrap(), 1, 10)
        .await
        .unwrap();
    assert_eq!(pings(&stream), 2);
    let a = post(format!("/v1/webhooks/{id}:ping"))
        .token("hooks")
        .json(json!({"x": 1}))
        .send(&app)
        .await;
    assert_eq!(a.code(), "unknown_field");
    // Whitespace is not "no body": it is no JSON document either.
    for blank in [&b"\r"[..], b" ", b"\n\t"] {
        let a = post(format!("/v1/webhooks/{id}:ping"))
            .token("hooks")
            .raw(blank, Some("application/json"))
            .send(&app)
            .await;
        assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "invalid_json"));
    }
    let gated = post("/v1/webhooks")
        .token("hooks")
        .json(json!({"url": "https://hooks.example.com/v", "events": ["meeting.started"], "url_validation": true}))
        .send(&app)
        .await;
    assert_eq!(
        (&gated.body["url_validation"], &gated.body["validated"]),
        (&json!(true), &json!(false))
    );
    let a = post(format!("/v1/webhooks/{}:ping", gated.id()))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "url_not_validated"));
    let a = post(format!("/v1/webhooks/{id}:ping"))
        .token("foreign")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// `:validate` against a real receiver: the right answer is 200 `{id, validated: true}`; a wrong
/// one, and silence past the timeout, are 422 `url_validation_failed` saying what came back.
#[tokio::test]
async fn validate_succeeds_fails_and_times_out() {
    let app = loopback_app(SelfServiceConfig {
        validation_timeout: Duration::from_millis(300),
        ..SelfServiceConfig::default()
    })
    .await;
    let secret = Arc::new(Mutex::new(String::new()));
    let key = Arc::clone(&secret);
    let (url, _good) = receiver(
        move |body| {
            let plain = body["payload"]["plainToken"].as_str().unwrap_or("").to_owned();
            let hmac = encrypted_token(&key.lock().unwrap(), &plain);
            (200, json!({"plainToken": plain, "encryptedToken": hmac}).to_string())
        },
        Duration::ZERO,
    )
    .await;
    let created = post("/v1/webhooks")
        .token("hooks")
        .json(json!({"url": url, "events": ["meeting.started"], "url_validation": true}))
        .send(&app)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    *secret.lock().unwrap() = created.body["secret"].as_str().unwrap().to_owned();
    let id = created.id();
    let a = post(format!("/v1/webhooks/{id}:validate"))
        .token("reader")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = post(format!("/v1/webhooks/{id}:validate"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!(
        (a.status, &a.body),
        (StatusCode::OK, &json!({"id": id, "validated": true}))
    );
    let a = get(format!("/v1/webhooks/{id}")).token("hooks").send(&app).await;
    assert_eq!(a.body["validated"], true);
    // With an Idempotency-Key, a repeat answers the first success without a new challenge: the
    // receiver, now holding a wrong secret, is not asked again.
    for round in 0..2 {
        let a = post(format!("/v1/webhooks/{id}:validate"))
            .token("hooks")
            .header("idempotency-key", "validate-1")
            .send(&app)
            .await;
        assert_eq!(
            (a.status, &a.body),
            (StatusCode::OK, &json!({"id": id, "validated": true})),
            "round {round}"
        );
        *secret.lock().unwrap() = "not the secret".into();
    }
    let a = post(format!("/v1/webhooks/{id}:validate"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!(
        a.code(),
        "url_validation_failed",
        "without the key, the challenge is sent again"
    );
    *secret.lock().unwrap() = created.body["secret"].as_str().unwrap().to_owned();

    let (wrong_url, _wrong) = receiver(
        |body| {
            let plain = body["payload"]["plainToken"].as_str().unwrap_or("").to_owned();
            (200, json!({"plainToken": plain, "encryptedToken": "00"}).to_string())
        },
        Duration::ZERO,
    )
    .await;
    let wrong = post("/v1/webhooks")
        .token("hooks")
        .json(json!({"url": wrong_url, "events": ["meeting.started"], "url_validation": true}))
        .send(&app)
        .await
        .id();
    let a = post(format!("/v1/webhooks/{wrong}:validate"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "url_validation_failed")
    );
    assert!(
        a.body["detail"].as_str().unwrap().contains("encryptedToken"),
        "{}",
        a.body
    );

    let (silent_url, _silent) = receiver(|_| (200, String::new()), Duration::from_secs(30)).await;
    let silent = post("/v1/webhooks")
        .token("hooks")
        .json(json!({"url": silent_url, "events": ["meeting.started"], "url_validation": true}))
        .send(&app)
        .await
        .id();
    let a = post(format!("/v1/webhooks/{silent}:validate"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "url_validation_failed")
    );
    assert!(a.body["detail"].as_str().unwrap().contains("timed out"), "{}", a.body);
    let a = get(format!("/v1/webhooks/{silent}")).token("hooks").send(&app).await;
    assert_eq!(a.body["validated"], false);
}

/// A resolver pointing one name at loopback, as an internal DNS name would.
#[derive(Debug)]
struct Internal;

impl Resolver for Internal {
    fn lookup(&self, host: &str) -> Lookup {
        let found: Option<Vec<IpAddr>> = (host == "hooks.corp.test").then(|| vec!["127.0.0.1".parse().unwrap()]);
        Box::pin(async move { found.ok_or_else(|| std::io::Error::other("no such name")) })
    }
}

/// A host name resolving to a non-public address is refused at subscribe time and on PATCH,
/// without naming the address.
#[tokio::test]
async fn names_resolving_inside_are_refused_at_subscribe_time() {
    let config = ApiConfig {
        webhooks: SelfServiceConfig {
            resolver: Arc::new(Internal),
            ..SelfServiceConfig::default()
        },
        ..ApiConfig::default()
    };
    let app = app_with(config).await;
    let a = post("/v1/webhooks")
        .token("hooks")
        .json(json!({"url": "https://hooks.corp.test/x", "events": ["meeting.started"]}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "url"), "{}", a.body);
    assert!(!a.body.to_string().contains("127.0.0.1"), "{}", a.body);
    let id = post("/v1/webhooks").token("hooks").json(hook()).send(&app).await.id();
    let a = patch(format!("/v1/webhooks/{id}"))
        .token("hooks")
        .json(json!({"url": "https://hooks.corp.test/y"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "url"));
}
