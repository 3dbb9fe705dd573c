//! Meetings and join tokens through the router: every success and each documented error.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;

/// Scheduling answers 201 with the meeting, its defaults, join and start URLs.
#[tokio::test]
async fn schedule_answers_201_with_defaults() {
    let app = app().await;
    let a = post("/v1/meetings")
        .token("alice")
        .json(schedule_body())
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let m = &a.body;
    assert!(m["id"].as_str().unwrap().starts_with("mtg_"));
    assert_eq!(m["state"], "SCHEDULED");
    assert_eq!(m["host_id"], "alice");
    assert_eq!(m["timezone"], "UTC");
    assert_eq!(m["waiting_room"], true);
    assert_eq!(
        m["settings"],
        json!({"auto_recording": "none", "mute_upon_entry": true, "allow_join_before_host": false})
    );
    assert!(m["join_url"].as_str().unwrap().ends_with(m["id"].as_str().unwrap()));
    assert!(m["start_url"].is_string());
    assert!(m.get("participant_count").is_none());
    assert!(a.headers.get("x-request-id").is_some());
}

/// An app schedules for a named host; the start URL is hidden from other users.
#[tokio::test]
async fn apps_schedule_for_a_host_and_others_see_no_start_url() {
    let app = app().await;
    let id = schedule(&app, "admin", json!({"host_id": "carol", "passcode": "abc123"})).await;
    let a = get(format!("/v1/meetings/{id}")).token("bob").send(&app).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["host_id"], "carol");
    assert!(a.body.get("start_url").is_none());
    assert_eq!(a.body["passcode"], "abc123");
    let a = get(format!("/v1/meetings/{id}")).token("admin").send(&app).await;
    assert!(a.body["start_url"].is_string());
}

/// Bodies the server cannot accept: 400 with a code and the field, 415 for another type.
#[tokio::test]
async fn schedule_refuses_bad_bodies_precisely() {
    let app = app().await;
    let a = post("/v1/meetings")
        .token("alice")
        .raw(b"{not json", Some("application/json"))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "invalid_json"));
    let a = post("/v1/meetings")
        .token("alice")
        .raw(b"[1]", Some("application/json"))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "invalid_json"));
    let mut body = schedule_body();
    body["colour"] = json!("red");
    let a = post("/v1/meetings").token("alice").json(body).send(&app).await;
    assert_eq!(
        (a.status, a.code(), a.field()),
        (StatusCode::BAD_REQUEST, "unknown_field", "colour")
    );
    let mut body = schedule_body();
    body["settings"] = json!({"auto_recording": "cloud", "volume": 3});
    let a = post("/v1/meetings").token("alice").json(body).send(&app).await;
    assert_eq!((a.code(), a.field()), ("unknown_field", "settings.volume"));
    let mut body = schedule_body();
    body["duration_minutes"] = json!("thirty");
    let a = post("/v1/meetings").token("alice").json(body).send(&app).await;
    assert_eq!((a.code(), a.field()), ("invalid_field", "duration_minutes"));
    let mut body = schedule_body();
    body["duration_minutes"] = json!(2000);
    let a = post("/v1/meetings").token("alice").json(body).send(&app).await;
    assert_eq!((a.code(), a.field()), ("invalid_field", "duration_minutes"));
    let a = post("/v1/meetings")
        .token("alice")
        .json(json!({"topic": "x", "duration_minutes": 5}))
        .send(&app)
        .await;
    assert_eq!((a.code(), a.field()), ("invalid_field", "start_time"));
    let mut body = schedule_body();
    body["timezone"] = json!("Mars/Olympus");
    let a = post("/v1/meetings").token("alice").json(body).send(&app).await;
    assert_eq!((a.code(), a.field()), ("invalid_field", "timezone"));
    let a = post("/v1/meetings")
        .token("alice")
        .raw(
            serde_json::to_vec(&schedule_body()).unwrap().as_slice(),
            Some("text/plain"),
        )
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let a = post("/v1/meetings").token("alice").raw(b"{}", None).send(&app).await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(a.headers["content-type"], "application/problem+json");
}

/// No token, an unknown token, a malformed header: 401 with WWW-Authenticate.
#[tokio::test]
async fn missing_or_bad_tokens_are_401() {
    let app = app().await;
    let a = post("/v1/meetings").json(schedule_body()).send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    assert_eq!(a.headers["www-authenticate"], "Bearer");
    let a = get("/v1/meetings").token("nope").send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::UNAUTHORIZED, "invalid_token"));
    let a = get("/v1/meetings")
        .header("authorization", "Basic YTpi")
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::UNAUTHORIZED, "invalid_token"));
}

/// A missing scope is 403 insufficient_scope.
#[tokio::test]
async fn missing_scope_is_403() {
    let app = app().await;
    let a = post("/v1/meetings")
        .token("reader")
        .json(schedule_body())
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
    let a = get("/v1/meetings").token("media").send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
}

/// A replayed Idempotency-Key returns the first answer; another body with it is 422.
#[tokio::test]
async fn idempotency_keys_replay_and_refuse_other_bodies() {
    let app = app().await;
    let first = post("/v1/meetings")
        .token("alice")
        .header("idempotency-key", "k-1")
        .json(schedule_body())
        .send(&app)
        .await;
    let again = post("/v1/meetings")
        .token("alice")
        .header("idempotency-key", "k-1")
        .json(schedule_body())
        .send(&app)
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(first.body["id"], again.body["id"]);
    let mut other = schedule_body();
    other["topic"] = json!("Retro");
    let a = post("/v1/meetings")
        .token("alice")
        .header("idempotency-key", "k-1")
        .json(other)
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );
    let a = post("/v1/meetings")
        .token("alice")
        .header("idempotency-key", "")
        .json(schedule_body())
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "Idempotency-Key"));
    let list = get("/v1/meetings").token("alice").send(&app).await;
    assert_eq!(list.body["meetings"].as_array().unwrap().len(), 1);
}

/// Lists filter by host, state and time, page with a cursor, and refuse bad queries.
#[tokio::test]
async fn list_filters_and_pages() {
    let app = app().await;
    let a1 = schedule(&app, "alice", json!({})).await;
    let a2 = schedule(&app, "alice", json!({"start_time": "2030-02-01T10:00:00Z"})).await;
    let c1 = schedule(&app, "admin", json!({"host_id": "carol"})).await;
    schedule(&app, "foreign", json!({"host_id": "zed"})).await;
    let ids = |a: &Answer| -> Vec<String> {
        a.body["meetings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = get("/v1/meetings").token("admin").send(&app).await;
    assert_eq!(ids(&all), vec![a1.clone(), a2.clone(), c1.clone()]);
    assert!(all.body["next_cursor"].is_null());
    let carol = get("/v1/meetings?host_id=carol").token("admin").send(&app).await;
    assert_eq!(ids(&carol), vec![c1.clone()]);
    let feb = get("/v1/meetings?from=2030-01-15T00:00:00Z")
        .token("admin")
        .send(&app)
        .await;
    assert_eq!(ids(&feb), vec![a2.clone()]);
    let jan = get("/v1/meetings?to=2030-01-15T00:00:00Z&state=SCHEDULED")
        .token("admin")
        .send(&app)
        .await;
    assert_eq!(ids(&jan), vec![a1.clone(), c1.clone()]);
    let p1 = get("/v1/meetings?page_size=2").token("admin").send(&app).await;
    assert_eq!(ids(&p1), vec![a1, a2]);
    let cursor = p1.body["next_cursor"].as_str().unwrap().to_owned();
    let p2 = get(format!("/v1/meetings?page_size=2&cursor={cursor}"))
        .token("admin")
        .send(&app)
        .await;
    assert_eq!(ids(&p2), vec![c1]);
    assert!(p2.body["next_cursor"].is_null());
    for (q, field) in [
        ("page_size=301", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=ten", "page_size"),
        ("state=live", "state"),
        ("from=yesterday", "from"),
        ("to=2030", "to"),
    ] {
        let a = get(format!("/v1/meetings?{q}")).token("admin").send(&app).await;
        assert_eq!(
            (a.status, a.code(), a.field()),
            (StatusCode::BAD_REQUEST, "invalid_field", field),
            "{q}"
        );
    }
    // A cursor that is not one, or one of another list (here: other filters), is invalid_cursor.
    for q in ["cursor=bogus".to_owned(), format!("cursor={cursor}&host_id=alice")] {
        let a = get(format!("/v1/meetings?{q}")).token("admin").send(&app).await;
        assert_eq!(
            (a.status, a.code(), a.field()),
            (StatusCode::BAD_REQUEST, "invalid_cursor", "cursor"),
            "{q}"
        );
    }
    let a = get("/v1/meetings?colour=red").token("admin").send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "unknown_field"));
}

/// Reads: 200 with participant_count when LIVE; unknown, malformed and foreign ids are 404.
#[tokio::test]
async fn read_shows_live_count_and_hides_other_accounts() {
    let app = app().await;
    let (id, _) = live(&app).await;
    let a = get(format!("/v1/meetings/{id}")).token("alice").send(&app).await;
    assert_eq!(a.body["state"], "LIVE");
    assert_eq!(a.body["participant_count"], 1);
    for path in [
        "/v1/meetings/mtg_doesnotexist".to_owned(),
        "/v1/meetings/not-an-id".to_owned(),
        "/v1/meetings/%FF%FE".to_owned(),
    ] {
        let a = get(path.clone()).token("alice").send(&app).await;
        assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"), "{path}");
    }
    let a = get(format!("/v1/meetings/{id}")).token("foreign").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// PATCH edits a scheduled meeting; a LIVE one may only extend; a non-host user is 403.
#[tokio::test]
async fn patch_edits_and_refuses_by_state() {
    let app = app().await;
    let id = schedule(&app, "alice", json!({"passcode": "abc"})).await;
    let a = patch(format!("/v1/meetings/{id}"))
        .token("alice")
        .json(json!({"topic": "Planning", "passcode": null, "settings": {"auto_recording": "cloud"}}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["topic"], "Planning");
    assert!(a.body.get("passcode").is_none());
    assert_eq!(a.body["settings"]["auto_recording"], "cloud");
    let a = patch(format!("/v1/meetings/{id}"))
        .token("bob")
        .json(json!({"topic": "Mine"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = patch(format!("/v1/meetings/{id}"))
        .token("alice")
        .json(json!({"topik": "x"}))
        .send(&app)
        .await;
    assert_eq!((a.code(), a.field()), ("unknown_field", "topik"));
    let a = patch(format!("/v1/meetings/{id}"))
        .token("alice")
        .raw(b"topic=x", Some("application/x-www-form-urlencoded"))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let a = patch("/v1/meetings/mtg_nothere")
        .token("alice")
        .json(json!({"topic": "x"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let (live_id, _) = live(&app).await;
    let a = patch(format!("/v1/meetings/{live_id}"))
        .token("alice")
        .json(json!({"duration_minutes": 10}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let a = patch(format!("/v1/meetings/{live_id}"))
        .token("alice")
        .json(json!({"start_time": "2031-01-01T00:00:00Z"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let a = patch(format!("/v1/meetings/{live_id}"))
        .token("alice")
        .json(json!({"duration_minutes": 90}))
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.body["duration_minutes"].as_u64()),
        (StatusCode::OK, Some(90))
    );
}

/// DELETE cancels (204) and the meeting stays readable; a LIVE meeting cannot be cancelled.
#[tokio::test]
async fn delete_cancels_and_keeps_the_meeting_readable() {
    let app = app().await;
    let id = schedule(&app, "alice", json!({})).await;
    let a = delete(format!("/v1/meetings/{id}")).token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(a.raw.is_empty());
    let a = get(format!("/v1/meetings/{id}")).token("alice").send(&app).await;
    assert_eq!(a.body["state"], "CANCELLED");
    // Cancelling a cancelled meeting changes nothing and says so the same way.
    let a = delete(format!("/v1/meetings/{id}")).token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let (live_id, _) = live(&app).await;
    let a = delete(format!("/v1/meetings/{live_id}"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let a = delete("/v1/meetings/mtg_nothere").token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = delete(format!("/v1/meetings/{id}")).token("bob").send(&app).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

/// `:end` ends a LIVE meeting (200 ENDED); ending a scheduled one is 409; unknown actions 404.
#[tokio::test]
async fn end_action() {
    let app = app().await;
    let (id, _) = live(&app).await;
    let a = post(format!("/v1/meetings/{id}:end")).token("alice").send(&app).await;
    assert_eq!((a.status, a.body["state"].as_str()), (StatusCode::OK, Some("ENDED")));
    // Ending an ended meeting is a no-op that answers the same meeting.
    let a = post(format!("/v1/meetings/{id}:end"))
        .token("alice")
        .json(json!({}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.body["state"].as_str()), (StatusCode::OK, Some("ENDED")));
    let sched = schedule(&app, "alice", json!({})).await;
    let a = post(format!("/v1/meetings/{sched}:end"))
        .token("alice")
        .json(json!({}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let a = post(format!("/v1/meetings/{sched}:end"))
        .token("alice")
        .json(json!({"now": true}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "unknown_field"));
    let a = post(format!("/v1/meetings/{sched}:explode"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"));
    let a = post("/v1/meetings/mtg_nothere:end").token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post(format!("/v1/meetings/{sched}")).token("alice").send(&app).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let a = post(format!("/v1/meetings/{sched}:end")).token("bob").send(&app).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

/// Join tokens: 200 for the host; 403 passcode and not started; 410 cancelled; 409 ended.
#[tokio::test]
async fn join_token_rules() {
    let app = app().await;
    let id = schedule(&app, "alice", json!({"passcode": "s3cret"})).await;
    let a = post(format!("/v1/meetings/{id}/joinToken"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["expires_in"], 300);
    assert!(a.body["jwt"].as_str().unwrap().split('.').count() == 3);
    assert!(a.body["sfu_url"].is_string());
    let a = post(format!("/v1/meetings/{id}/joinToken"))
        .token("bob")
        .json(json!({"display_name": "Bob"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "invalid_passcode"));
    let a = post(format!("/v1/meetings/{id}/joinToken"))
        .token("bob")
        .json(json!({"display_name": "Bob", "passcode": "s3cret"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "meeting_not_started"));
    let a = post(format!("/v1/meetings/{id}/joinToken"))
        .token("admin")
        .json(json!({"guest": true}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "display_name"));
    let a = post(format!("/v1/meetings/{id}/joinToken"))
        .token("alice")
        .json(json!({"role": "host"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "unknown_field"));
    let a = post(format!("/v1/meetings/{id}/joinToken"))
        .token("reader")
        .json(json!({}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = post("/v1/meetings/mtg_gone/joinToken")
        .token("alice")
        .json(json!({}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post(format!("/v1/meetings/{id}/joinToken"))
        .token("alice")
        .raw(b"{}", Some("text/plain"))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let k1 = post(format!("/v1/meetings/{id}/joinToken"))
        .token("alice")
        .header("idempotency-key", "j")
        .json(json!({}))
        .send(&app)
        .await;
    let k2 = post(format!("/v1/meetings/{id}/joinToken"))
        .token("alice")
        .header("idempotency-key", "j")
        .json(json!({}))
        .send(&app)
        .await;
    assert_eq!(k1.body["jwt"], k2.body["jwt"]);
    let a = post(format!("/v1/meetings/{id}/joinToken"))
        .token("alice")
        .header("idempotency-key", "j")
        .json(json!({"display_name": "Al"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    delete(format!("/v1/meetings/{id}")).token("alice").send(&app).await;
    let a = post(format!("/v1/meetings/{id}/joinToken"))
        .token("alice")
        .json(json!({}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::GONE);
    let (live_id, _) = live(&app).await;
    post(format!("/v1/meetings/{live_id}:end"))
        .token("alice")
        .send(&app)
        .await;
    let a = post(format!("/v1/meetings/{live_id}/joinToken"))
        .token("alice")
        .json(json!({}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
}

/// Meta routes: health, JWKS, the OpenAPI document; unknown paths are 404 problems.
#[tokio::test]
async fn meta_routes_and_fallbacks() {
    let app = app().await;
    let a = get("/healthz").send(&app).await;
    assert_eq!((a.status, a.body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let a = get("/.well-known/jwks.json").send(&app).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["keys"][0]["crv"], "Ed25519");
    assert!(a.body["keys"][0]["kid"].is_string());
    let a = get("/openapi.json").send(&app).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["openapi"], "3.1.0");
    let a = get("/v2/nothing").token("alice").send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(a.headers["content-type"], "application/problem+json");
    let a = Call::new(axum::http::Method::PUT, "/v1/meetings")
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

/// Request ids: a client's is echoed, and one is made when absent.
#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = app().await;
    let a = get("/healthz").header("x-request-id", "req-123").send(&app).await;
    assert_eq!(a.headers["x-request-id"], "req-123");
    let a = get("/healthz").send(&app).await;
    let b = get("/healthz").send(&app).await;
    assert_ne!(a.headers["x-request-id"], b.headers["x-request-id"]);
}

/// Bodies over the limit are 413 problems.
#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = app_with(zoom_http::ApiConfig {
        body_limit: 64,
        ..Default::default()
    })
    .await;
    let mut body = schedule_body();
    body["topic"] = json!("x".repeat(100));
    let a = post("/v1/meetings").token("alice").json(body).send(&app).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

/// Successful writes wake every waiter of the commit signal (a webhook worker, the stream hub);
/// reads and refusals do not.
#[tokio::test]
async fn successful_writes_notify_the_commit_listener() {
    let signal = zoom_http::CommitSignal::new();
    let mut worker = signal.subscribe();
    let mut other = signal.subscribe();
    let app = app_with(zoom_http::ApiConfig {
        commits: Some(signal.clone()),
        ..Default::default()
    })
    .await;
    let id = schedule(&app, "alice", json!({})).await;
    for w in [&mut worker, &mut other] {
        tokio::time::timeout(std::time::Duration::from_secs(5), w.wait())
            .await
            .unwrap();
    }
    get(format!("/v1/meetings/{id}")).token("alice").send(&app).await;
    post("/v1/meetings").token("alice").json(json!({})).send(&app).await;
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(50), worker.wait()).await;
    assert!(quiet.is_err(), "a read or a refused write woke the listener");
    delete(format!("/v1/meetings/{id}")).token("alice").send(&app).await;
    for w in [&mut worker, &mut other] {
        tokio::time::timeout(std::time::Duration::from_secs(5), w.wait())
            .await
            .unwrap();
    }
}
