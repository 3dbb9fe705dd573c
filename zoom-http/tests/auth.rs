//! Cross-cutting refusals, route by route: every `/v1` route answers 401 without a valid token,
//! 403 `insufficient_scope` to a principal without its scope, and every JSON route refuses
//! another content type (415) and malformed JSON (400 `invalid_json`).
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};

/// Every `/v1` route with real ids and a body it would accept.
async fn routes(app: &TestApp) -> Vec<(Method, String, Option<Value>)> {
    let (m, p) = live(app).await;
    let r = post(format!("/v1/meetings/{m}/recordings:start"))
        .token("alice")
        .send(app)
        .await
        .body["recording_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = post("/v1/webhooks")
        .token("hooks")
        .json(json!({"url": "https://h.example.com", "events": ["meeting.ended"]}))
        .send(app)
        .await
        .id();
    let (get, post_, patch_, delete_) = (Method::GET, Method::POST, Method::PATCH, Method::DELETE);
    vec![
        (post_.clone(), "/v1/meetings".into(), Some(schedule_body())),
        (get.clone(), "/v1/meetings".into(), None),
        (get.clone(), format!("/v1/meetings/{m}"), None),
        (patch_.clone(), format!("/v1/meetings/{m}"), Some(json!({"topic": "x"}))),
        (delete_.clone(), format!("/v1/meetings/{m}"), None),
        (post_.clone(), format!("/v1/meetings/{m}:end"), Some(json!({}))),
        (post_.clone(), format!("/v1/meetings/{m}/joinToken"), Some(json!({}))),
        (get.clone(), format!("/v1/meetings/{m}/participants"), None),
        (
            patch_.clone(),
            format!("/v1/meetings/{m}/participants/{p}"),
            Some(json!({"role": "attendee"})),
        ),
        (
            post_.clone(),
            format!("/v1/meetings/{m}/participants/{p}:admit"),
            Some(json!({})),
        ),
        (
            post_.clone(),
            format!("/v1/meetings/{m}/participants/{p}/mute"),
            Some(json!({})),
        ),
        (delete_.clone(), format!("/v1/meetings/{m}/participants/{p}"), None),
        (
            post_.clone(),
            format!("/v1/meetings/{m}/recordings:start"),
            Some(json!({})),
        ),
        (
            post_.clone(),
            format!("/v1/meetings/{m}/recordings:stop"),
            Some(json!({})),
        ),
        (get.clone(), format!("/v1/meetings/{m}/recordings"), None),
        (get.clone(), format!("/v1/recordings/{r}"), None),
        (get.clone(), format!("/v1/meetings/{m}/events"), None),
        (
            post_.clone(),
            "/v1/webhooks".into(),
            Some(json!({"url": "https://h.example.com", "events": ["meeting.ended"]})),
        ),
        (get.clone(), "/v1/webhooks".into(), None),
        (delete_, format!("/v1/webhooks/{w}"), None),
        (post_.clone(), format!("/v1/webhooks/{w}:rotateSecret"), Some(json!({}))),
        (get, format!("/v1/webhooks/{w}/deliveries"), None),
        (post_.clone(), "/v1/media/joins".into(), Some(json!({"token": "x.y.z"}))),
        (
            post_.clone(),
            "/v1/media/leaves".into(),
            Some(json!({"meeting_id": m, "participant_id": p})),
        ),
        (
            post_.clone(),
            format!("/v1/media/recordings/{r}:complete"),
            Some(json!({"duration_seconds": 1, "files": []})),
        ),
        (
            post_,
            format!("/v1/media/recordings/{r}:fail"),
            Some(json!({"error_code": "x", "message": "y"})),
        ),
    ]
}

fn call(method: &Method, path: &str, body: &Option<Value>) -> Call {
    let c = Call::new(method.clone(), path);
    match body {
        Some(b) => c.json(b.clone()),
        None => c,
    }
}

/// 401 without a token or with a refused one, 403 without the scope: on every route.
#[tokio::test]
async fn every_route_needs_a_token_and_its_scope() {
    let app = app().await;
    let routes = routes(&app).await;
    assert_eq!(routes.len(), 26);
    for (method, path, body) in &routes {
        let a = call(method, path, body).send(&app).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{method} {path}"
        );
        let a = call(method, path, body).token("forged").send(&app).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNAUTHORIZED, "invalid_token"),
            "{method} {path}"
        );
        let a = call(method, path, body).token("none").send(&app).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "insufficient_scope"),
            "{method} {path}"
        );
    }
}

/// Every route that takes a body refuses text/plain (415) and broken JSON (400 invalid_json).
#[tokio::test]
async fn every_body_route_refuses_other_types_and_broken_json() {
    let app = app().await;
    for (method, path, body) in routes(&app).await {
        if body.is_none() {
            continue;
        }
        let a = Call::new(method.clone(), &path)
            .token("admin")
            .raw(b"{\"a\":1}", Some("text/plain"))
            .send(&app)
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            "{method} {path}"
        );
        let a = Call::new(method.clone(), &path)
            .token("admin")
            .raw(b"{\"a\":", Some("application/json"))
            .send(&app)
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "invalid_json"),
            "{method} {path}"
        );
    }
}
