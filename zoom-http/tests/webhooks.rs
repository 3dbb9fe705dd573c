//! Webhook subscriptions and the delivery log through the router.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use zoom_core::id::{AccountId, EventId, WebhookId};
use zoom_core::store::{DeliveryAttempt, DeliveryState, NewDelivery};

fn hook() -> serde_json::Value {
    json!({"url": "https://hooks.example.com/zoom", "events": ["meeting.started", "participant.joined"]})
}

/// Subscribe: 201 with the secret once; bad URLs and names are 400 naming the field.
#[tokio::test]
async fn subscribe() {
    let app = app().await;
    let a = post("/v1/webhooks").token("hooks").json(hook()).send(&app).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert!(a.id().starts_with("whk_"));
    assert!(a.body["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(a.body["events"], json!(["meeting.started", "participant.joined"]));
    for (body, field) in [
        (json!({"url": "https://hooks.example.com/x", "events": []}), "events"),
        (
            json!({"url": "https://hooks.example.com/x", "events": ["meeting.*"]}),
            "events",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "events": ["meeting.started"]}),
            "url",
        ),
        (json!({"url": "not a url", "events": ["meeting.started"]}), "url"),
        (json!({"events": ["meeting.started"]}), "url"),
        (
            json!({"url": "https://hooks.example.com/x", "events": "meeting.started"}),
            "events",
        ),
    ] {
        let a = post("/v1/webhooks").token("hooks").json(body.clone()).send(&app).await;
        assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, field), "{body}");
    }
    let a = post("/v1/webhooks")
        .token("hooks")
        .json(json!({"url": "https://a.example.com", "events": ["meeting.started"], "active": true}))
        .send(&app)
        .await;
    assert_eq!((a.code(), a.field()), ("unknown_field", "active"));
    let a = post("/v1/webhooks").token("reader").json(hook()).send(&app).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = post("/v1/webhooks")
        .token("hooks")
        .raw(b"url=x", Some("application/x-www-form-urlencoded"))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let k1 = post("/v1/webhooks")
        .token("hooks")
        .header("idempotency-key", "w")
        .json(hook())
        .send(&app)
        .await;
    let k2 = post("/v1/webhooks")
        .token("hooks")
        .header("idempotency-key", "w")
        .json(hook())
        .send(&app)
        .await;
    assert_eq!((k1.id(), &k1.body["secret"]), (k2.id(), &k2.body["secret"]));
    let a = post("/v1/webhooks")
        .token("hooks")
        .header("idempotency-key", "w")
        .json(json!({"url": "https://other.example.com", "events": ["meeting.ended"]}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Lists show the caller's own subscriptions and never a secret; pages have cursors.
#[tokio::test]
async fn list_shows_own_subscriptions_without_secrets() {
    let app = app().await;
    let mine = post("/v1/webhooks").token("hooks").json(hook()).send(&app).await.id();
    let second = post("/v1/webhooks").token("hooks").json(hook()).send(&app).await.id();
    let admins = post("/v1/webhooks").token("admin").json(hook()).send(&app).await.id();
    let a = get("/v1/webhooks").token("hooks").send(&app).await;
    assert_eq!(a.status, StatusCode::OK);
    let ids: Vec<&str> = a.body["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![mine.as_str(), second.as_str()]);
    assert!(!a.body.to_string().contains("whsec_"));
    let a = get("/v1/webhooks").token("admin").send(&app).await;
    assert_eq!(
        a.body["webhooks"].as_array().unwrap().len(),
        3,
        "an admin sees the account's"
    );
    let a = get("/v1/webhooks?page_size=1").token("hooks").send(&app).await;
    let cursor = a.body["next_cursor"].as_str().unwrap().to_owned();
    let a = get(format!("/v1/webhooks?page_size=1&cursor={cursor}"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!(a.body["webhooks"][0]["id"], second.as_str());
    let a = get("/v1/webhooks?page_size=301").token("hooks").send(&app).await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "page_size"));
    let a = get("/v1/webhooks").token("reader").send(&app).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = get("/v1/webhooks").token("foreign").send(&app).await;
    assert!(a.body["webhooks"].as_array().unwrap().is_empty());
    let _ = admins;
}

/// Delete: 204, then gone from lists and 404; another owner's is 404.
#[tokio::test]
async fn delete_subscription() {
    let app = app().await;
    let id = post("/v1/webhooks").token("hooks").json(hook()).send(&app).await.id();
    let a = delete(format!("/v1/webhooks/{id}")).token("foreign").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = delete(format!("/v1/webhooks/{id}")).token("reader").send(&app).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = delete(format!("/v1/webhooks/{id}")).token("hooks").send(&app).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = get("/v1/webhooks").token("hooks").send(&app).await;
    assert!(a.body["webhooks"].as_array().unwrap().is_empty());
    let a = delete(format!("/v1/webhooks/{id}")).token("hooks").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = delete("/v1/webhooks/nope").token("hooks").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// Rotation: 200 with a new secret; unknown ids and actions are 404.
#[tokio::test]
async fn rotate_secret() {
    let app = app().await;
    let created = post("/v1/webhooks").token("hooks").json(hook()).send(&app).await;
    let id = created.id();
    let a = post(format!("/v1/webhooks/{id}:rotateSecret"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["id"], id.as_str());
    let secret = a.body["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_ne!(secret, created.body["secret"].as_str().unwrap());
    let a = post(format!("/v1/webhooks/{id}:rotateSecret"))
        .token("hooks")
        .json(json!({"now": 1}))
        .send(&app)
        .await;
    assert_eq!(a.code(), "unknown_field");
    let a = post(format!("/v1/webhooks/{id}:rotate"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post("/v1/webhooks/whk_none:rotateSecret")
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post(format!("/v1/webhooks/{id}:rotateSecret"))
        .token("foreign")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post(format!("/v1/webhooks/{id}:rotateSecret"))
        .token("reader")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = post(format!("/v1/webhooks/{id}")).token("hooks").send(&app).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// The delivery log: one row per attempt, newest first, paged; others' logs are 404.
#[tokio::test]
async fn deliveries_list_attempts_newest_first() {
    let app = app().await;
    let id = post("/v1/webhooks").token("hooks").json(hook()).send(&app).await.id();
    let a = get(format!("/v1/webhooks/{id}/deliveries"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({"deliveries": [], "next_cursor": null}));

    let store = app.engine.store();
    let wid = WebhookId::parse(&id).unwrap();
    let event_id = EventId::parse("evt_one").unwrap();
    store
        .enqueue(
            "test",
            1,
            vec![NewDelivery {
                subscription_id: wid.clone(),
                account_id: AccountId::parse("acme").unwrap(),
                event_id: event_id.clone(),
                event_type: "meeting.started".into(),
                position: 1,
                body: "{}".into(),
                next_attempt_at: zoom_core::testing::kit::t0(),
            }],
        )
        .await
        .unwrap();
    let delivery = store.due(zoom_core::testing::kit::t0(), 10).await.unwrap().remove(0);
    for (n, status) in [(1, Some(500)), (2, None), (3, Some(200))] {
        let attempt = DeliveryAttempt {
            delivery_id: delivery.id,
            subscription_id: wid.clone(),
            event_id: event_id.clone(),
            event_type: "meeting.started".into(),
            attempt: n,
            attempted_at: zoom_core::testing::kit::t0() + chrono::Duration::seconds(i64::from(n)),
            status_code: status,
            latency_ms: 12,
            error: (status != Some(200)).then(|| "failed".to_owned()),
            next_attempt_at: (status != Some(200)).then(zoom_core::testing::kit::t0),
        };
        let state = if n == 3 {
            DeliveryState::Succeeded
        } else {
            DeliveryState::Pending
        };
        store.record_attempt(attempt, state, None).await.unwrap();
    }
    let a = get(format!("/v1/webhooks/{id}/deliveries?page_size=2"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let rows = a.body["deliveries"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["attempt"].as_u64(), rows[0]["status_code"].as_u64()),
        (Some(3), Some(200))
    );
    assert_eq!(rows[0]["event"], "meeting.started");
    assert_eq!(rows[0]["event_id"], "evt_one");
    assert!(rows[1]["status_code"].is_null());
    let cursor = a.body["next_cursor"].as_str().unwrap().to_owned();
    let a = get(format!("/v1/webhooks/{id}/deliveries?page_size=2&cursor={cursor}"))
        .token("hooks")
        .send(&app)
        .await;
    let rows = a.body["deliveries"].as_array().unwrap();
    assert_eq!((rows.len(), rows[0]["attempt"].as_u64()), (1, Some(1)));
    assert!(a.body["next_cursor"].is_null());

    let a = get(format!("/v1/webhooks/{id}/deliveries?cursor=zzz"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "cursor"));
    let a = get(format!("/v1/webhooks/{id}/deliveries?page_size=301"))
        .token("hooks")
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "page_size"));
    let a = get(format!("/v1/webhooks/{id}/deliveries"))
        .token("foreign")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get("/v1/webhooks/whk_none/deliveries").token("hooks").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get(format!("/v1/webhooks/{id}/deliveries"))
        .token("reader")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}
