#![allow(clippy::unwrap_used)]
//! The request contract every route shares: strict JSON, bounded queries, problems from the
//! framework itself, and answers that name nothing of another account.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::json;

/// A key given twice is 400 `duplicate_field` naming it, at the top level and nested, even
/// when the first value was invalid (the last one would otherwise win silently).
#[tokio::test]
async fn duplicate_keys_are_refused() {
    let app = app().await;
    let bodies = [
        (
            r#"{"topic":"a","topic":"b","start_time":"2030-01-01T10:00:00Z","duration_minutes":30}"#,
            "topic",
        ),
        (
            r#"{"topic":"a","start_time":"2030-01-01T10:00:00Z","duration_minutes":"bad","duration_minutes":30}"#,
            "duration_minutes",
        ),
        (
            r#"{"topic":"a","start_time":"2030-01-01T10:00:00Z","duration_minutes":30,"settings":{"mute_upon_entry":true,"mute_upon_entry":false}}"#,
            "settings.mute_upon_entry",
        ),
    ];
    for (body, field) in bodies {
        let a = post("/v1/meetings")
            .token("admin")
            .raw(body.as_bytes(), Some("application/json"))
            .send(&app)
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.body);
        assert_eq!((a.code(), a.field()), ("duplicate_field", field), "{body}");
    }
}

/// A JSON array never stands in for an object: not for the body, not for `settings`, not for
/// a recording file.
#[tokio::test]
async fn arrays_never_stand_in_for_objects() {
    let app = app().await;
    let mut body = schedule_body();
    body["settings"] = json!(["cloud", false, true]);
    let a = post("/v1/meetings").token("admin").json(body).send(&app).await;
    assert_eq!(
        (a.status, a.code(), a.field()),
        (StatusCode::BAD_REQUEST, "invalid_field", "settings")
    );
    let a = post("/v1/meetings")
        .token("admin")
        .json(json!(["Standup", "2030-01-01T10:00:00Z", 30]))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "invalid_json"));
    let a = post("/v1/media/recordings/rec_1:complete")
        .token("media")
        .json(json!({"duration_seconds": 1, "files": [["video", "k", 1]]}))
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.code(), a.field()),
        (StatusCode::BAD_REQUEST, "invalid_field", "files[0]")
    );
}

/// Control characters are refused in a topic and a display name.
#[tokio::test]
async fn control_characters_are_invalid_fields() {
    let app = app().await;
    let mut body = schedule_body();
    body["topic"] = json!("Stand\u{0}up");
    let a = post("/v1/meetings").token("admin").json(body).send(&app).await;
    assert_eq!(
        (a.status, a.code(), a.field()),
        (StatusCode::BAD_REQUEST, "invalid_field", "topic")
    );
    let id = schedule(&app, "alice", json!({})).await;
    let a = post(format!("/v1/meetings/{id}/joinToken"))
        .token("admin")
        .json(json!({"guest": true, "display_name": "Eve\u{1b}[2J"}))
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.code(), a.field()),
        (StatusCode::BAD_REQUEST, "invalid_field", "display_name")
    );
}

/// PATCH `settings` changes the members sent and keeps the others.
#[tokio::test]
async fn settings_patches_merge() {
    let app = app().await;
    let id = schedule(
        &app,
        "alice",
        json!({"settings": {"auto_recording": "cloud", "mute_upon_entry": false}}),
    )
    .await;
    let a = patch(format!("/v1/meetings/{id}"))
        .token("alice")
        .json(json!({"settings": {"allow_join_before_host": true}}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["settings"],
        json!({"auto_recording": "cloud", "mute_upon_entry": false, "allow_join_before_host": true})
    );
}

/// The documented operations, with concrete paths: (method, template, path).
fn operations() -> Vec<(Method, String, String)> {
    let mut out = Vec::new();
    for (template, item) in doc()["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let path = template
                .replace("{id}", "mtg_nothere")
                .replace("{pid}", "par_nothere")
                .replace("{rec_id}", "rec_nothere")
                .replace("{client_id}", "app_nothere");
            let path = if template.starts_with("/v1/webhooks/") {
                path.replace("mtg_nothere", "whk_nothere")
            } else {
                path
            };
            out.push((
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                template.clone(),
                path,
            ));
        }
    }
    out
}

/// An unknown query parameter is 400 on every route, not only on lists.
#[tokio::test]
async fn unknown_query_parameters_are_refused_everywhere() {
    let app = app().await;
    for (method, template, path) in operations() {
        if template.starts_with("/oauth/") {
            // Served by zoom-server, not by this router.
            continue;
        }
        let a = Call::new(method.clone(), format!("{path}?surprise=1"))
            .token("admin")
            .json(json!({}))
            .send(&app)
            .await;
        assert_eq!(
            (a.status, a.code(), a.field()),
            (StatusCode::BAD_REQUEST, "unknown_field", "surprise"),
            "{method} {template}: {}",
            a.body
        );
    }
}

/// Every answer carries `x-request-id`: routed, unknown paths, wrong methods, refused heads.
#[tokio::test]
async fn every_answer_has_a_request_id() {
    let app = app().await;
    for (method, template, path) in operations() {
        if template.starts_with("/oauth/") {
            // zoom-server's own test checks its token endpoint.
            continue;
        }
        let a = Call::new(method.clone(), path.clone()).send(&app).await;
        assert!(a.headers.contains_key("x-request-id"), "{method} {path}");
    }
    for call in [
        get("/nowhere"),
        Call::new(Method::PUT, "/v1/meetings"),
        get(format!("/v1/meetings?{}", "a".repeat(9000))),
    ] {
        let a = call.send(&app).await;
        assert!(a.headers.contains_key("x-request-id"), "{}", a.status);
    }
}

/// The framework's own refusals are problems: 404 for an unknown path, 405 with `Allow`, 413,
/// 414 and 431.
#[tokio::test]
async fn framework_errors_are_problems() {
    let app = app_with(zoom_http::ApiConfig {
        body_limit: 1024,
        ..Default::default()
    })
    .await;
    let problem = |a: &Answer, status: StatusCode, code: &str| {
        assert_eq!(a.status, status, "{}", a.body);
        assert_eq!(a.headers["content-type"], "application/problem+json");
        assert_eq!(a.code(), code);
        assert_eq!(a.body["status"], status.as_u16());
    };
    problem(&get("/v2/nothing").send(&app).await, StatusCode::NOT_FOUND, "not_found");
    problem(
        &get("/v1/meetings/mtg_1:explode").token("admin").send(&app).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let a = Call::new(Method::PUT, "/v1/meetings").token("admin").send(&app).await;
    problem(&a, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(a.headers["allow"], "POST,GET,HEAD");
    let a = post("/v1/meetings/mtg_1").token("admin").send(&app).await;
    problem(&a, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(a.headers["allow"], "GET,HEAD,PATCH,DELETE");
    let a = get("/v1/meetings/mtg_1:end").token("admin").send(&app).await;
    problem(&a, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(a.headers["allow"], "POST");
    let big = json!({"topic": "x".repeat(2000)});
    problem(
        &post("/v1/meetings").token("admin").json(big).send(&app).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    problem(
        &get(format!("/v1/meetings?cursor={}", "c".repeat(9000)))
            .token("admin")
            .send(&app)
            .await,
        StatusCode::URI_TOO_LONG,
        "uri_too_long",
    );
    problem(
        &get("/v1/meetings")
            .token("admin")
            .header("x-padding", &"p".repeat(40 * 1024))
            .send(&app)
            .await,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
    );
}

/// A path that reaches an action route other than through its colon form names nothing.
#[tokio::test]
async fn action_routes_are_reached_only_by_their_colon_form() {
    let app = app().await;
    let (id, _) = live(&app).await;
    let a = post(format!("/v1/meetings/{id}/:end")).token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    let a = post(format!("/v1/meetings/{id}:end")).token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

/// A 404 for another account's recording names neither the recording's meeting nor anything
/// else of that account.
#[tokio::test]
async fn foreign_recordings_are_not_found_without_a_trace() {
    let app = app().await;
    let (id, _) = live(&app).await;
    let a = post(format!("/v1/meetings/{id}/recordings:start"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    let rec = a.body["recording_id"].as_str().unwrap().to_owned();
    post(format!("/v1/meetings/{id}/recordings:stop"))
        .token("alice")
        .send(&app)
        .await;
    for call in [
        get(format!("/v1/recordings/{rec}")).token("foreign"),
        post(format!("/v1/media/recordings/{rec}:complete"))
            .token("foreign")
            .json(json!({"duration_seconds": 1, "files": []})),
        post(format!("/v1/media/recordings/{rec}:fail"))
            .token("foreign")
            .json(json!({"error_code": "E", "message": "m"})),
    ] {
        let a = call.send(&app).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
        assert!(!a.raw.windows(id.len()).any(|w| w == id.as_bytes()), "{}", a.body);
        assert!(!String::from_utf8_lossy(&a.raw).contains("acme"), "{}", a.body);
    }
}

/// A recording report with more than 100 files is refused, naming `files`.
#[tokio::test]
async fn recording_reports_are_bounded() {
    let app = app().await;
    let (id, _) = live(&app).await;
    let a = post(format!("/v1/meetings/{id}/recordings:start"))
        .token("alice")
        .send(&app)
        .await;
    let rec = a.body["recording_id"].as_str().unwrap().to_owned();
    post(format!("/v1/meetings/{id}/recordings:stop"))
        .token("alice")
        .send(&app)
        .await;
    let files: Vec<_> = (0..101)
        .map(|i| json!({"type": "chat", "storage_key": format!("k{i}"), "size_bytes": 1}))
        .collect();
    let a = post(format!("/v1/media/recordings/{rec}:complete"))
        .token("media")
        .json(json!({"duration_seconds": 1, "files": files}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "files"), "{}", a.body);
}
