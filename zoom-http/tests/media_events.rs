//! What a media server follows: the `/mute` body variants, `participants:muteAll`, the host who
//! cannot be removed, and the meeting's event stream carrying `participant.admitted`,
//! `participant.muted` and `participant.role_changed` with consecutive ids.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A LIVE meeting without a waiting room or mute upon entry, with alice hosting and bob and
/// carol attending: (meeting, host, bob, carol).
async fn open_meeting(app: &TestApp) -> (String, String, String, String) {
    let id = schedule(
        app,
        "alice",
        json!({"waiting_room": false, "settings": {"mute_upon_entry": false}}),
    )
    .await;
    let host = join(app, &id, "alice", json!({})).await;
    let bob = join(app, &id, "bob", json!({"display_name": "Bob"})).await;
    let carol = join(app, &id, "admin", json!({"user_id": "carol", "display_name": "Carol"})).await;
    (id, host, bob, carol)
}

async fn media_of(app: &TestApp, id: &str, pid: &str) -> (bool, bool) {
    let a = get(format!("/v1/meetings/{id}/participants"))
        .token("alice")
        .send(app)
        .await;
    let p = a.body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["participant_id"] == pid)
        .unwrap()
        .clone();
    (p["audio_muted"].as_bool().unwrap(), p["video_off"].as_bool().unwrap())
}

/// `/mute`: no body, `{}`, `{audio}`, `{video}` and both; `{audio: false}` alone mutes nothing (400).
#[tokio::test]
async fn mute_body_variants() {
    let app = app().await;
    let (id, _, bob, carol) = open_meeting(&app).await;
    let mute = |pid: &str| post(format!("/v1/meetings/{id}/participants/{pid}/mute")).token("alice");

    // Video only: the camera goes off, the microphone stays on.
    let a = mute(&bob).json(json!({"video": true})).send(&app).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        (a.body["audio_muted"].as_bool(), a.body["video_off"].as_bool()),
        (Some(false), Some(true))
    );
    // Audio only, explicitly.
    let a = mute(&bob).json(json!({"audio": true, "video": false})).send(&app).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(media_of(&app, &id, &bob).await, (true, true));

    // The empty body and `{}` still mute audio, as before.
    let a = mute(&carol).send(&app).await;
    assert_eq!(
        (a.status, a.body["audio_muted"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    assert_eq!(a.body["video_off"], false);
    let a = mute(&carol).json(json!({})).send(&app).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(media_of(&app, &id, &carol).await, (true, false));
    // Both at once.
    let a = mute(&carol)
        .json(json!({"audio": true, "video": true}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(media_of(&app, &id, &carol).await, (true, true));

    // Nothing to mute, a wrong type and an unknown member are 400s naming the field.
    let a = mute(&carol).json(json!({"audio": false})).send(&app).await;
    assert_eq!(
        (a.status, a.code(), a.field()),
        (StatusCode::BAD_REQUEST, "invalid_field", "audio")
    );
    let a = mute(&carol).json(json!({"video": "yes"})).send(&app).await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "video"));
    let a = mute(&carol).json(json!({"audio": null})).send(&app).await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "audio"));
    let a = mute(&carol).json(json!({"unmute": true})).send(&app).await;
    assert_eq!(a.code(), "unknown_field");
}

/// `participants:muteAll`: every attendee, not the host, not a co-host; answers `{muted: n}`;
/// a repeat answers the same; another user is 403; the path takes POST only.
#[tokio::test]
async fn mute_all_mutes_attendees() {
    let app = app().await;
    let (id, host, bob, carol) = open_meeting(&app).await;
    let a = patch(format!("/v1/meetings/{id}/participants/{carol}"))
        .token("alice")
        .json(json!({"role": "co_host"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let dave = join(&app, &id, "admin", json!({"user_id": "dave", "display_name": "Dave"})).await;

    let a = post(format!("/v1/meetings/{id}/participants:muteAll"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!((a.status, a.body.clone()), (StatusCode::OK, json!({"muted": 2})));
    assert_eq!(media_of(&app, &id, &bob).await, (true, false));
    assert_eq!(media_of(&app, &id, &dave).await, (true, false));
    assert_eq!(media_of(&app, &id, &host).await, (false, false), "the host");
    assert_eq!(media_of(&app, &id, &carol).await, (false, false), "a co-host");

    // Again, now with video: the same two attendees, cameras off too.
    let a = post(format!("/v1/meetings/{id}/participants:muteAll"))
        .token("alice")
        .json(json!({"video": true}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.body.clone()), (StatusCode::OK, json!({"muted": 2})));
    assert_eq!(media_of(&app, &id, &dave).await, (true, true));

    let a = post(format!("/v1/meetings/{id}/participants:muteAll"))
        .token("bob")
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "not_host"));
    let a = post(format!("/v1/meetings/{id}/participants:muteAll"))
        .token("alice")
        .json(json!({"audio": false}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "audio"));
    let a = get(format!("/v1/meetings/{id}/participants:muteAll"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    let a = post("/v1/meetings/mtg_nope/participants:muteAll")
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// The host cannot be removed (409 `host_cannot_be_removed`) and keeps hosting; others can.
#[tokio::test]
async fn the_host_cannot_be_removed() {
    let app = app().await;
    let (id, host, bob, _) = open_meeting(&app).await;
    let a = delete(format!("/v1/meetings/{id}/participants/{host}"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "host_cannot_be_removed"));
    assert_eq!(
        a.headers.get("content-type").unwrap().to_str().unwrap(),
        "application/problem+json"
    );
    let a = get(format!("/v1/meetings/{id}/participants?status=joined"))
        .token("alice")
        .send(&app)
        .await;
    assert!(
        a.body["participants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["participant_id"] == host.as_str()),
        "the host is still in"
    );
    // An app of the account cannot remove the host either.
    let a = delete(format!("/v1/meetings/{id}/participants/{host}"))
        .token("admin")
        .send(&app)
        .await;
    assert_eq!(a.code(), "host_cannot_be_removed");
    let a = delete(format!("/v1/meetings/{id}/participants/{bob}"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
}

/// One parsed server-sent event.
#[derive(Debug)]
struct Sse {
    id: u64,
    event: String,
    data: Value,
}

fn parse(text: &str) -> Vec<Sse> {
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let mut out = Vec::new();
    for block in body.split("\n\n").filter(|b| !b.is_empty()) {
        let (mut id, mut event, mut data) = (None, None, None);
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("id: ") {
                id = v.parse().ok();
            } else if let Some(v) = line.strip_prefix("event: ") {
                event = Some(v.to_owned());
            } else if let Some(v) = line.strip_prefix("data: ") {
                data = serde_json::from_str(v).ok();
            }
        }
        if let (Some(id), Some(event), Some(data)) = (id, event, data) {
            out.push(Sse { id, event, data });
        }
    }
    out
}

/// Reads until `want` events arrived, the connection closed or 10 s passed.
async fn read_events(conn: &mut TcpStream, buffer: &mut String, want: usize) -> Vec<Sse> {
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 4096];
        while parse(buffer).len() < want {
            let n = conn.read(&mut chunk).await.unwrap();
            if n == 0 {
                return;
            }
            buffer.push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    })
    .await;
    parse(buffer)
}

/// Over a socket, resuming after `meeting.scheduled`: the stream carries every event of the
/// meeting, now including admissions, mutes and role changes, with ids 2, 3, 4… and no gap,
/// each `data` the webhook body.
#[tokio::test]
async fn the_meeting_stream_carries_mutes_admissions_and_role_changes() {
    let app = app_with(zoom_http::ApiConfig {
        sse_keep_alive: Duration::from_millis(50),
        sse_poll: Duration::from_millis(20),
        ..Default::default()
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, app.router.clone()).into_future());

    // Waiting room on: bob waits, then is admitted.
    let id = schedule(&app, "alice", json!({"settings": {"mute_upon_entry": false}})).await;
    join(&app, &id, "alice", json!({})).await;
    let bob = join(&app, &id, "bob", json!({"display_name": "Bob"})).await;
    let a = post(format!("/v1/meetings/{id}/participants/{bob}:admit"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = post(format!("/v1/meetings/{id}/participants/{bob}/mute"))
        .token("alice")
        .json(json!({"video": true}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = patch(format!("/v1/meetings/{id}/participants/{bob}"))
        .token("alice")
        .json(json!({"role": "co_host"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK);

    let mut conn = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /v1/meetings/{id}/events HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer alice\r\nAccept: text/event-stream\r\nLast-Event-ID: 1\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = String::new();
    let events = read_events(&mut conn, &mut buffer, 7).await;
    let seen: Vec<(u64, &str)> = events.iter().map(|e| (e.id, e.event.as_str())).collect();
    assert_eq!(
        seen,
        vec![
            (2, "meeting.started"),
            (3, "participant.joined"),
            (4, "participant.waiting"),
            (5, "participant.admitted"),
            (6, "participant.joined"),
            (7, "participant.muted"),
            (8, "participant.role_changed"),
        ],
        "{buffer}"
    );
    let data = |n: usize| events[n].data["data"].clone();
    assert_eq!(data(3)["by"], "alice");
    assert_eq!(data(3)["participant_id"], bob.as_str());
    assert_eq!(
        data(5),
        json!({"audio_muted": false, "by": "alice", "meeting_id": id, "participant_id": bob, "video_off": true})
    );
    assert_eq!(
        data(6),
        json!({"meeting_id": id, "participant_id": bob, "role": "co_host"})
    );
    assert!(events.iter().all(|e| e.data["event"] == e.event.as_str()));

    // Live: a mute-all after the replay arrives as the next id.
    let carol = join(&app, &id, "admin", json!({"user_id": "carol", "display_name": "Carol"})).await;
    let a = post(format!("/v1/meetings/{id}/participants/{carol}:admit"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = post(format!("/v1/meetings/{id}/participants:muteAll"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!((a.status, a.body.clone()), (StatusCode::OK, json!({"muted": 1})));
    let events = read_events(&mut conn, &mut buffer, 11).await;
    let tail: Vec<(u64, &str)> = events.iter().skip(7).map(|e| (e.id, e.event.as_str())).collect();
    assert_eq!(
        tail,
        vec![
            (9, "participant.waiting"),
            (10, "participant.admitted"),
            (11, "participant.joined"),
            (12, "participant.muted"),
        ],
        "{buffer}"
    );
    assert_eq!(events[10].data["data"]["participant_id"], carol.as_str());
    server.abort();
}

/// The OpenAPI document describes both mute bodies as optional objects of two plain booleans,
/// and `participants:muteAll`'s answer.
#[test]
fn the_document_describes_the_mute_bodies() {
    let doc = doc();
    let schema = &doc["components"]["schemas"]["MuteInput"];
    for field in ["audio", "video"] {
        assert_eq!(schema["properties"][field]["type"], "boolean", "{schema}");
    }
    assert!(!schema.to_string().contains("null"), "{schema}");
    for path in [
        "/v1/meetings/{id}/participants/{pid}/mute",
        "/v1/meetings/{id}/participants:muteAll",
    ] {
        let body = &doc["paths"][path]["post"]["requestBody"];
        assert_eq!(body["required"], false, "{path}");
        assert_eq!(
            body["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/MuteInput"
        );
    }
    let answer = &doc["paths"]["/v1/meetings/{id}/participants:muteAll"]["post"]["responses"]["200"];
    assert_eq!(
        answer["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/MuteAllView"
    );
}
