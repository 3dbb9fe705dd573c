//! Rate limits per account and category, their headers and 429s, and the daily quota of meeting
//! writes per host counted from the log (docs/api.md, "Limits").
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use zoom_http::ApiConfig;
use zoom_http::limits::{Limits, RateLimits};

fn limited(rate: Option<RateLimits>, daily: Option<u32>) -> ApiConfig {
    ApiConfig {
        limits: Limits {
            rate,
            daily_meeting_writes: daily,
        },
        ..ApiConfig::default()
    }
}

fn header<'a>(a: &'a Answer, name: &str) -> &'a str {
    a.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn remaining(a: &Answer) -> u32 {
    header(a, "x-ratelimit-remaining").parse().unwrap()
}

/// Every `/v1` answer carries the category, the limit and what remains; reads, writes and the
/// heavy calls are counted in their own categories.
#[tokio::test]
async fn answers_carry_the_rate_limit_headers() {
    let app = app_with(limited(Some(RateLimits::default()), None)).await;
    let id = schedule(&app, "alice", json!({})).await;
    let read = get(format!("/v1/meetings/{id}")).token("alice").send(&app).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(header(&read, "x-ratelimit-category"), "Light");
    assert_eq!(header(&read, "x-ratelimit-limit"), "1000");
    // The burst is twice the rate; real time refills a little between calls.
    assert!((1997..=1999).contains(&remaining(&read)), "{}", remaining(&read));
    let write = patch(format!("/v1/meetings/{id}"))
        .token("alice")
        .json(json!({"topic": "Renamed"}))
        .send(&app)
        .await;
    assert_eq!(write.status, StatusCode::OK);
    assert_eq!(header(&write, "x-ratelimit-category"), "Medium");
    assert_eq!(header(&write, "x-ratelimit-limit"), "500");
    // The schedule above took one medium token already.
    assert!((996..=999).contains(&remaining(&write)), "{}", remaining(&write));
    let heavy = post(format!("/v1/meetings/{id}/joinToken"))
        .token("alice")
        .json(json!({"display_name": "Alice"}))
        .send(&app)
        .await;
    assert_eq!(header(&heavy, "x-ratelimit-category"), "Heavy");
    assert_eq!(header(&heavy, "x-ratelimit-limit"), "200");
    // Errors carry them too, and so do calls without a valid token.
    let missing = get("/v1/meetings/mtg_nope").token("alice").send(&app).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(header(&missing, "x-ratelimit-category"), "Light");
    let anonymous = get("/v1/meetings").send(&app).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(header(&anonymous, "x-ratelimit-category"), "Light");
    // Outside /v1 nothing is added.
    let health = get("/healthz").send(&app).await;
    assert!(health.headers.get("x-ratelimit-limit").is_none());
}

/// Past the burst (twice the rate) an account gets 429 `rate_limited` with `Retry-After` and
/// `X-RateLimit-Type: QPS`; the handler does not run; other accounts and other categories are
/// not affected.
#[tokio::test]
async fn over_the_limit_is_429_rate_limited() {
    let limits = RateLimits {
        light: 1000,
        medium: 2,
        heavy: 1,
    };
    let app = app_with(limited(Some(limits), None)).await;
    for i in 0..4 {
        let a = post("/v1/meetings")
            .token("alice")
            .json(schedule_body())
            .send(&app)
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "write {i}: {}", a.body);
        assert_eq!(header(&a, "x-ratelimit-remaining"), (3 - i).to_string());
    }
    let refused = post("/v1/meetings")
        .token("alice")
        .json(schedule_body())
        .send(&app)
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.code(), "rate_limited");
    assert_eq!(header(&refused, "content-type"), "application/problem+json");
    assert_eq!(header(&refused, "x-ratelimit-type"), "QPS");
    assert_eq!(header(&refused, "retry-after"), "1");
    assert_eq!(header(&refused, "x-ratelimit-category"), "Medium");
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    assert!(header(&refused, "x-request-id").len() > 3);
    // Four meetings exist, not five: the refused call never reached the engine.
    let list = get("/v1/meetings").token("alice").send(&app).await;
    assert_eq!(list.body["meetings"].as_array().unwrap().len(), 4);
    // `bob` is in alice's account (acme): the bucket is the account's.
    let bob = post("/v1/meetings").token("bob").json(schedule_body()).send(&app).await;
    assert_eq!(bob.status, StatusCode::TOO_MANY_REQUESTS);
    // Another account has its own bucket.
    let other = post("/v1/meetings")
        .token("foreign")
        .json(schedule_body())
        .send(&app)
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
}

/// `--rate-limit off` (no rate limits) adds no headers and refuses nothing.
#[tokio::test]
async fn off_means_no_headers_and_no_refusal() {
    let app = app_with(limited(None, None)).await;
    for _ in 0..5 {
        let a = get("/v1/meetings").token("alice").send(&app).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.headers.get("x-ratelimit-category").is_none());
    }
}

/// A host's creates and updates of the UTC day are counted from the log: past the quota they
/// are 429 `daily_limit` with `X-RateLimit-Type: Daily-limit` and a `Retry-After` up to 00:00
/// UTC; other hosts are not affected, reads are not counted, and the quota resets at midnight.
#[tokio::test]
async fn daily_quota_counts_creates_and_updates_per_host() {
    let app = app_with(limited(None, Some(3))).await;
    // kit::t0() is 2030-01-01T09:00:00Z or thereabouts: move to a known instant.
    let start = chrono::DateTime::parse_from_rfc3339("2030-03-10T23:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    app.clock.set(start);
    let id = schedule(&app, "alice", json!({})).await;
    schedule(&app, "admin", json!({"host_id": "alice"})).await;
    assert_eq!(
        get(format!("/v1/meetings/{id}")).token("alice").send(&app).await.status,
        StatusCode::OK
    );
    let update = patch(format!("/v1/meetings/{id}"))
        .token("alice")
        .json(json!({"topic": "Third write"}))
        .send(&app)
        .await;
    assert_eq!(update.status, StatusCode::OK);
    // The fourth write of alice's meetings today, by her or by an app for her, is refused.
    for call in [
        post("/v1/meetings").token("alice").json(schedule_body()),
        post("/v1/meetings").token("admin").json(
            json!({"topic": "t", "start_time": "2030-04-01T10:00:00Z", "duration_minutes": 5, "host_id": "alice"}),
        ),
        patch(format!("/v1/meetings/{id}"))
            .token("admin")
            .json(json!({"topic": "Fourth"})),
    ] {
        let refused = call.send(&app).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
        assert_eq!(refused.code(), "daily_limit");
        assert_eq!(header(&refused, "x-ratelimit-type"), "Daily-limit");
        assert_eq!(header(&refused, "retry-after"), "3600");
    }
    // bob is another host of the same account.
    schedule(&app, "bob", json!({})).await;
    // An unknown meeting is still the handler's 404, not a quota answer.
    let missing = patch("/v1/meetings/mtg_nope")
        .token("alice")
        .json(json!({"topic": "x"}))
        .send(&app)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // After 00:00 UTC the quota starts again.
    app.clock.advance(chrono::Duration::hours(1));
    schedule(&app, "alice", json!({})).await;
    let again = patch(format!("/v1/meetings/{id}"))
        .token("alice")
        .json(json!({"topic": "Next day"}))
        .send(&app)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}

/// A second router on the same store (another instance) sees the writes the first one made.
#[tokio::test]
async fn daily_quota_is_shared_by_instances_on_one_store() {
    let first = app_with(limited(None, Some(2))).await;
    schedule(&first, "alice", json!({})).await;
    let second = TestApp {
        router: zoom_http::router(
            first.engine.clone(),
            std::sync::Arc::new(tokens()),
            limited(None, Some(2)),
        ),
        engine: first.engine.clone(),
        clock: first.clock.clone(),
    };
    schedule(&second, "alice", json!({})).await;
    let refused = post("/v1/meetings")
        .token("alice")
        .json(schedule_body())
        .send(&first)
        .await;
    assert_eq!(refused.code(), "daily_limit");
    let refused = post("/v1/meetings")
        .token("alice")
        .json(schedule_body())
        .send(&second)
        .await;
    assert_eq!(refused.code(), "daily_limit");
}

/// The OpenAPI document lists the 429 answer on `/v1` operations.
#[test]
fn the_document_lists_429() {
    let d = doc();
    let op = &d["paths"]["/v1/meetings"]["post"]["responses"]["429"];
    assert!(op["headers"]["Retry-After"].is_object(), "{op}");
    assert!(op["headers"]["X-RateLimit-Type"].is_object());
    assert!(!d["paths"]["/v1/meetings/{id}"]["get"]["responses"]["429"].is_null());
    assert!(d["paths"]["/healthz"]["get"]["responses"]["429"].is_null());
}
