//! `GET /v1/meetings/{id}/events`: errors through the router, and the stream itself over a real
//! loopback socket (keep-alive, live events, Last-Event-ID resume).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Errors come before the stream opens: 401, 403, 404, and 400 for a bad Last-Event-ID.
#[tokio::test]
async fn stream_errors_are_problems() {
    let app = app().await;
    let id = schedule(&app, "alice", json!({})).await;
    let a = get(format!("/v1/meetings/{id}/events")).send(&app).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = get(format!("/v1/meetings/{id}/events")).token("media").send(&app).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = get(format!("/v1/meetings/{id}/events"))
        .token("foreign")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get("/v1/meetings/oops/events").token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get(format!("/v1/meetings/{id}/events"))
        .token("alice")
        .header("last-event-id", "abc")
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "Last-Event-ID"));
    for beyond in ["2", "18446744073709551615"] {
        let a = get(format!("/v1/meetings/{id}/events"))
            .token("alice")
            .header("last-event-id", beyond)
            .send(&app)
            .await;
        assert_eq!(
            (a.status, a.field()),
            (StatusCode::BAD_REQUEST, "Last-Event-ID"),
            "{beyond}"
        );
    }
}

/// One parsed server-sent event.
#[derive(Debug)]
struct Sse {
    id: u64,
    event: String,
    data: Value,
}

/// Reads from an open HTTP/1.0 event-stream connection until `want` events arrived or
/// `deadline` passed; returns the events and whether a keep-alive comment was seen.
async fn read_events(conn: &mut TcpStream, buffer: &mut String, want: usize, deadline: Duration) -> (Vec<Sse>, bool) {
    let parse = |text: &str| -> (Vec<Sse>, bool) {
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let mut out = Vec::new();
        let mut comment = false;
        for block in body.split("\n\n").filter(|b| !b.is_empty()) {
            let (mut id, mut event, mut data) = (None, None, None);
            for line in block.lines() {
                if line.starts_with(':') {
                    comment = true;
                } else if let Some(v) = line.strip_prefix("id: ") {
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
        (out, comment)
    };
    let _ = tokio::time::timeout(deadline, async {
        let mut chunk = [0u8; 4096];
        loop {
            if parse(buffer).0.len() >= want {
                return;
            }
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

async fn open(addr: std::net::SocketAddr, id: &str, last_event_id: Option<u64>) -> (TcpStream, String) {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let resume = last_event_id
        .map(|v| format!("Last-Event-ID: {v}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET /v1/meetings/{id}/events HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer alice\r\nAccept: text/event-stream\r\n{resume}\r\n"
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    (conn, String::new())
}

/// Over a socket: the stream starts at now, delivers new events live with `id` = version,
/// `event` = catalogue name and `data` = the webhook body, sends keep-alives, and resumes
/// after Last-Event-ID.
#[tokio::test]
async fn stream_over_a_socket_delivers_live_events_and_resumes() {
    let app = app_with(zoom_http::ApiConfig {
        sse_keep_alive: Duration::from_millis(50),
        sse_poll: Duration::from_millis(20),
        ..Default::default()
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, app.router.clone()).into_future());

    let id = schedule(&app, "alice", json!({"waiting_room": false})).await;
    let (mut live_conn, mut buffer) = open(addr, &id, None).await;
    // Keep-alives flow while nothing happens; the scheduling event (before the stream) is not sent.
    let (events, keep_alive) = read_events(&mut live_conn, &mut buffer, 1, Duration::from_millis(400)).await;
    assert!(
        buffer.starts_with("HTTP/1.1 200") || buffer.starts_with("HTTP/1.0 200"),
        "{buffer}"
    );
    assert!(buffer.to_ascii_lowercase().contains("content-type: text/event-stream"));
    assert!(events.is_empty(), "{events:?}");
    assert!(keep_alive, "no keep-alive comment in {buffer}");

    join(&app, &id, "alice", json!({})).await;
    let (events, _) = read_events(&mut live_conn, &mut buffer, 2, Duration::from_secs(10)).await;
    let names: Vec<(u64, &str)> = events.iter().map(|e| (e.id, e.event.as_str())).collect();
    assert_eq!(names, vec![(2, "meeting.started"), (3, "participant.joined")]);
    assert_eq!(events[1].data["event"], "participant.joined");
    assert!(events[1].data["event_id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(events[1].data["data"]["meeting_id"], id.as_str());
    drop(live_conn);

    // Resume: everything after version 1 is replayed first, then the stream goes on live.
    let (mut conn, mut buffer) = open(addr, &id, Some(1)).await;
    let (events, _) = read_events(&mut conn, &mut buffer, 2, Duration::from_secs(10)).await;
    let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![2, 3]);
    let a = post(format!("/v1/meetings/{id}:end")).token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::OK);
    let (events, _) = read_events(&mut conn, &mut buffer, 4, Duration::from_secs(10)).await;
    let tail: Vec<&str> = events.iter().skip(2).map(|e| e.event.as_str()).collect();
    assert!(tail.contains(&"meeting.ended"), "{events:?}");
    assert!(events.windows(2).all(|w| w[0].id < w[1].id), "ids increase: {events:?}");
    server.abort();
}

/// A shutdown signal ends an open stream, so graceful shutdown does not wait on it forever.
#[tokio::test]
async fn shutdown_ends_open_streams() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let app = app_with(zoom_http::ApiConfig {
        sse_poll: Duration::from_millis(10),
        shutdown: Some(rx),
        ..Default::default()
    })
    .await;
    let id = schedule(&app, "alice", json!({})).await;
    let response = app
        .router
        .clone()
        .oneshot(get(format!("/v1/meetings/{id}/events")).token("alice").request())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    // Open and idle: no frame arrives while the server runs.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), body.frame())
            .await
            .is_err()
    );
    tx.send(true).unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), body.collect()).await;
    assert!(end.is_ok(), "the stream did not end after shutdown");
}
