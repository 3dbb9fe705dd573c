//! Live streams over a real loopback socket with a real WebSocket client (tokio-tungstenite):
//! replay with `?after=`, live frames, pings, the end of a stream whose token is revoked (4001,
//! and the SSE end), and a client that cannot keep up (4008).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use futures::StreamExt;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use zoom_core::principal::Principal;
use zoom_http::{ApiConfig, AuthError, Authenticator};

/// The fixed tokens, any of which a test may revoke.
#[derive(Clone)]
struct Revocable(Arc<Mutex<HashMap<String, Principal>>>);

#[async_trait::async_trait]
impl Authenticator for Revocable {
    async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        self.0
            .lock()
            .unwrap()
            .get(token)
            .cloned()
            .ok_or_else(|| AuthError::invalid_token("unknown, expired or revoked access token"))
    }
}

impl Revocable {
    fn revoke(&self, token: &str) {
        self.0.lock().unwrap().remove(token);
    }
}

/// A server on 127.0.0.1 over the test app's engine, with revocable tokens.
async fn serve(config: ApiConfig) -> (TestApp, SocketAddr, Revocable) {
    let app = app_with(ApiConfig::default()).await;
    let tokens = Revocable(Arc::new(Mutex::new(tokens().0)));
    let router = zoom_http::router(app.engine.clone(), Arc::new(tokens.clone()), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, router.clone()).into_future());
    // Calls through `app` reach the served router's state (its tickets) too.
    let app = TestApp {
        router,
        engine: app.engine,
        clock: app.clock,
    };
    (app, addr, tokens)
}

fn fast() -> ApiConfig {
    ApiConfig {
        sse_poll: Duration::from_millis(10),
        stream_reauth: Duration::from_millis(50),
        ..Default::default()
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn connect(addr: SocketAddr, path: &str, token: &str) -> Ws {
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws
}

/// What arrived: data frames (parsed) until `want` of them, or a close frame, or the deadline.
#[derive(Debug, Default)]
struct Got {
    frames: Vec<Value>,
    pings: usize,
    close: Option<(u16, String)>,
}

async fn read(ws: &mut Ws, want: usize, deadline: Duration) -> Got {
    let mut got = Got::default();
    let _ = tokio::time::timeout(deadline, async {
        while got.frames.len() < want {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => got.frames.push(serde_json::from_str(t.as_str()).unwrap()),
                Some(Ok(Message::Ping(_))) => got.pings += 1,
                Some(Ok(Message::Close(frame))) => {
                    got.close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            }
        }
    })
    .await;
    got
}

fn ids(frames: &[Value]) -> Vec<u64> {
    frames
        .iter()
        .map(|f| f["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// `?after=` replays what came after that version, then frames follow live; each frame is
/// `{id, event, data}` with `data` the webhook body. Without `?after=` the stream starts at now.
#[tokio::test]
async fn websocket_replays_after_and_goes_live() {
    let (app, addr, _) = serve(fast()).await;
    let (id, _) = live(&app).await;
    let mut replay = connect(addr, &format!("/v1/meetings/{id}/events?after=1"), "alice").await;
    let mut now = connect(addr, &format!("/v1/meetings/{id}/events"), "alice").await;
    let got = read(&mut replay, 2, Duration::from_secs(10)).await;
    assert_eq!(ids(&got.frames), vec![2, 3], "{got:?}");
    assert_eq!(got.frames[0]["event"], "meeting.started");
    assert_eq!(got.frames[1]["event"], "participant.joined");
    assert_eq!(got.frames[1]["data"]["event"], "participant.joined");
    assert_eq!(got.frames[1]["data"]["data"]["meeting_id"], id.as_str());
    assert!(got.frames[1]["data"]["event_id"].as_str().unwrap().starts_with("evt_"));
    // Nothing old on the stream that started at now.
    let idle = read(&mut now, 1, Duration::from_millis(200)).await;
    assert!(idle.frames.is_empty(), "{idle:?}");

    let a = post(format!("/v1/meetings/{id}:end")).token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::OK);
    // Ending sends the host's participant.left, then meeting.ended, to both.
    for ws in [&mut replay, &mut now] {
        let got = read(ws, 2, Duration::from_secs(10)).await;
        let names: Vec<&str> = got.frames.iter().map(|f| f["event"].as_str().unwrap()).collect();
        assert_eq!(names, ["participant.left", "meeting.ended"], "{got:?}");
        assert_eq!(ids(&got.frames), vec![4, 5]);
    }
    // Resume after a disconnect: from the last id received, nothing lost or doubled.
    drop(replay);
    let mut again = connect(addr, &format!("/v1/meetings/{id}/events?after=3"), "alice").await;
    let got = read(&mut again, 2, Duration::from_secs(10)).await;
    assert_eq!(ids(&got.frames), vec![4, 5], "{got:?}");
    let more = read(&mut again, 1, Duration::from_millis(100)).await;
    assert!(more.frames.is_empty(), "{more:?}");
    again.close(None).await.unwrap();
}

/// Errors come before the upgrade: 401 without a token, 400 for a bad or too-large `after`.
#[tokio::test]
async fn websocket_errors_are_answered_before_the_upgrade() {
    let (app, addr, _) = serve(fast()).await;
    let id = schedule(&app, "alice", json!({})).await;
    for (path, token, status) in [
        (format!("/v1/meetings/{id}/events"), "nobody", 401),
        (format!("/v1/meetings/{id}/events?after=x"), "alice", 400),
        (format!("/v1/meetings/{id}/events?after=9"), "alice", 400),
        (format!("/v1/meetings/{id}/events?since=1"), "alice", 400),
    ] {
        let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), status, "{path}"),
            other => panic!("{path}: {other:?}"),
        }
    }
}

/// Pings flow on an idle stream.
#[tokio::test]
async fn websocket_pings() {
    let (app, addr, _) = serve(ApiConfig {
        ws_ping: Duration::from_millis(50),
        ..fast()
    })
    .await;
    let id = schedule(&app, "alice", json!({})).await;
    let mut ws = connect(addr, &format!("/v1/meetings/{id}/events"), "alice").await;
    let got = read(&mut ws, 1, Duration::from_millis(400)).await;
    assert!(got.pings >= 2, "{got:?}");
}

/// A revoked (or expired) token ends the stream: close code 4001 on a WebSocket, the end of the
/// body on SSE.
#[tokio::test]
async fn a_revoked_token_ends_both_streams() {
    let (app, addr, tokens) = serve(fast()).await;
    let id = schedule(&app, "alice", json!({})).await;
    let mut ws = connect(addr, &format!("/v1/meetings/{id}/events"), "alice").await;
    let mut sse = TcpStream::connect(addr).await.unwrap();
    sse.write_all(
        format!("GET /v1/meetings/{id}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let idle = read(&mut ws, 1, Duration::from_millis(200)).await;
    assert!(idle.close.is_none(), "{idle:?}");
    tokens.revoke("alice");
    let got = read(&mut ws, 1, Duration::from_secs(5)).await;
    assert_eq!(got.close.as_ref().map(|c| c.0), Some(4001), "{got:?}");
    // The SSE response ends: the chunked body's last chunk arrives and reading reaches its end.
    let mut seen = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 4096];
        loop {
            let n = sse.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
            if seen.ends_with(b"0\r\n\r\n") {
                return;
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the SSE stream did not end: {}",
        String::from_utf8_lossy(&seen)
    );
    assert!(String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"));
}

/// A client that does not read while events pile up is closed with 4008; the close reason names
/// the last id sent, and `?after=` with the last id it received resumes with nothing lost.
#[tokio::test]
async fn a_client_that_cannot_keep_up_is_closed_with_4008() {
    const COUNT: u64 = 12_000;
    let (app, addr, _) = serve(ApiConfig {
        ws_send_timeout: Duration::from_millis(50),
        ..fast()
    })
    .await;
    let id = schedule(&app, "alice", json!({})).await;
    // More than the loopback socket buffers hold (the kernel lets a send buffer grow to 4 MiB).
    let meeting = zoom_core::id::MeetingId::parse(&id).unwrap();
    let host = zoom_core::testing::kit::host_user();
    let topic = "t".repeat(190);
    for i in 0..COUNT {
        let patch = zoom_core::meeting::MeetingPatch {
            topic: Some(format!("{i:06} {topic}")),
            ..Default::default()
        };
        app.engine
            .execute(
                &host,
                Some(&meeting),
                zoom_core::meeting::MeetingCommand::Update(patch),
                None,
            )
            .await
            .unwrap();
    }
    // A small receive window, so a client that does not read stalls the server soon.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let mut request = format!("ws://{addr}/v1/meetings/{id}/events?after=0")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", "Bearer alice".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream))
        .await
        .unwrap();
    // Not reading for a while: the server gives up on this client.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = read(&mut ws, usize::MAX, Duration::from_secs(10)).await;
    let Some((code, reason)) = got.close.clone() else {
        panic!("no close frame after {:?}", ids(&got.frames).last());
    };
    assert_eq!(code, 4008, "{reason}");
    let received = ids(&got.frames);
    assert!(received.windows(2).all(|w| w[1] == w[0] + 1), "no gap: {received:?}");
    let last = *received.last().unwrap();
    assert!(last <= COUNT, "the client was closed before the end: {last}");
    if let Some(named) = reason.strip_prefix("cannot keep up; last id ") {
        assert!(named.parse::<u64>().unwrap() <= last, "{reason} vs {last}");
    }
    // Resuming after the last id received continues with the next one.
    let mut again = connect(addr, &format!("/v1/meetings/{id}/events?after={last}"), "alice").await;
    let next = read(&mut again, 1, Duration::from_secs(10)).await;
    assert_eq!(ids(&next.frames), vec![last + 1]);
}

/// A server whose platform account is acme (so acme's `media` token may follow every account).
async fn serve_platform() -> (TestApp, SocketAddr, Revocable) {
    serve(ApiConfig {
        platform_account: Some(zoom_core::id::AccountId::parse("acme").unwrap()),
        ..fast()
    })
    .await
}

/// `GET /v1/events` over WebSocket: the caller's account only, in commit order, opaque cursors;
/// `?after=<cursor>` resumes with nothing lost or doubled; `events=` and `meeting_id=` filter.
#[tokio::test]
async fn the_account_stream_follows_one_account_and_resumes_by_cursor() {
    let (app, addr, _) = serve_platform().await;
    let mut all = connect(addr, "/v1/events", "reader").await;
    let mut ends = connect(addr, "/v1/events?events=meeting.ended,meeting.started", "reader").await;
    let (one, _) = live(&app).await;
    let mut only_one = connect(addr, &format!("/v1/events?meeting_id={one}"), "reader").await;
    let foreign = schedule(&app, "foreign", json!({})).await;
    let (two, _) = live(&app).await;
    for m in [&one, &two] {
        let a = post(format!("/v1/meetings/{m}:end")).token("alice").send(&app).await;
        assert_eq!(a.status, StatusCode::OK);
    }
    // one: created, started, joined | two: created, started, joined | left, ended (x2)
    let got = read(&mut all, 10, Duration::from_secs(10)).await;
    let names: Vec<&str> = got.frames.iter().map(|f| f["event"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 10, "{names:?}");
    assert!(
        got.frames
            .iter()
            .all(|f| f["data"]["data"]["meeting_id"] != foreign.as_str())
    );
    assert_eq!(names.iter().filter(|n| **n == "meeting.ended").count(), 2, "{names:?}");
    let cursors: Vec<String> = got
        .frames
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(cursors.iter().all(|c| c.parse::<u64>().is_err()), "opaque: {cursors:?}");
    let extra = read(&mut all, 1, Duration::from_millis(200)).await;
    assert!(extra.frames.is_empty(), "{extra:?}");

    let got = read(&mut ends, 4, Duration::from_secs(10)).await;
    let names: Vec<&str> = got.frames.iter().map(|f| f["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["meeting.started", "meeting.started", "meeting.ended", "meeting.ended"],
        "{got:?}"
    );
    // It opened after the first meeting went live: what follows, of that meeting alone.
    let got = read(&mut only_one, 2, Duration::from_secs(10)).await;
    assert!(
        got.frames
            .iter()
            .all(|f| f["data"]["data"]["meeting_id"] == one.as_str()),
        "{got:?}"
    );
    let names: Vec<&str> = got.frames.iter().map(|f| f["event"].as_str().unwrap()).collect();
    assert_eq!(names, ["participant.left", "meeting.ended"]);

    // Resume from the fourth message: the six after it, in the same order, with the same ids.
    let mut again = connect(addr, &format!("/v1/events?after={}", cursors[3]), "reader").await;
    let resumed = read(&mut again, 7, Duration::from_millis(800)).await;
    let resumed_ids: Vec<&str> = resumed.frames.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(resumed_ids, cursors[4..].iter().map(String::as_str).collect::<Vec<_>>());
}

/// The same stream over SSE resumes with Last-Event-ID; bad cursors and filters are 400 before
/// the stream opens; `account=*` is for the platform's media credential alone, and it sees every
/// account.
#[tokio::test]
async fn the_account_stream_over_sse_and_every_account_for_the_platform() {
    let (app, addr, _) = serve_platform().await;
    let mut every = connect(addr, "/v1/events?account=*", "media").await;
    let (one, _) = live(&app).await;
    let foreign = schedule(&app, "foreign", json!({})).await;
    let got = read(&mut every, 4, Duration::from_secs(10)).await;
    let meetings: Vec<&str> = got
        .frames
        .iter()
        .map(|f| f["data"]["data"]["meeting_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        meetings,
        [one.as_str(), one.as_str(), one.as_str(), foreign.as_str()],
        "{got:?}"
    );
    let first = got.frames[0]["id"].as_str().unwrap().to_owned();

    // SSE from the first cursor: the two of acme after it, not globex's.
    let mut sse = TcpStream::connect(addr).await.unwrap();
    sse.write_all(
        format!("GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer reader\r\nLast-Event-ID: {first}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut text = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 4096];
        while text.matches("\nid: ").count() + usize::from(text.contains("\r\n\r\nid: ")) < 2 {
            let n = sse.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(100), sse.read(&mut buf)).await {
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains(&format!("id: {}", got.frames[1]["id"].as_str().unwrap())),
        "{text}"
    );
    assert!(
        text.contains(&format!("id: {}", got.frames[2]["id"].as_str().unwrap())),
        "{text}"
    );
    assert!(!text.contains(&foreign), "{text}");
    assert_eq!(text.matches("event: ").count(), 2, "{text}");

    for (path, token, status, code) in [
        ("/v1/events?account=*", "reader", 403, "insufficient_scope"),
        ("/v1/events?account=*", "foreign", 403, "insufficient_scope"),
        ("/v1/events?account=acme", "media", 400, "invalid_field"),
        ("/v1/events", "media", 403, "insufficient_scope"),
        ("/v1/events?events=meeting.nope", "reader", 400, "invalid_field"),
        ("/v1/events?meeting_id=nope", "reader", 400, "invalid_field"),
        ("/v1/events?after=42", "reader", 400, "invalid_field"),
        ("/v1/events?after=cDE6OTk5OTk", "reader", 400, "invalid_field"),
        ("/v1/events?page=1", "reader", 400, "unknown_field"),
    ] {
        let a = get(path).token(token).send(&app).await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (status, code),
            "{path} as {token}: {}",
            a.body
        );
    }
}

/// A stream ticket opens either stream once, without an Authorization header, and stands for
/// the token it was taken with (revoking that token ends the stream it opened).
#[tokio::test]
async fn a_stream_ticket_opens_one_stream_once() {
    let (app, addr, tokens) = serve(fast()).await;
    let id = schedule(&app, "alice", json!({})).await;
    let a = post("/v1/stream-tickets").token("none").send(&app).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let take = || async {
        let a = post("/v1/stream-tickets").token("alice").send(&app).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        assert_eq!(a.body["expires_in"], 60);
        a.body["ticket"].as_str().unwrap().to_owned()
    };
    // WebSocket with a ticket: works once.
    let ticket = take().await;
    let url = format!("ws://{addr}/v1/meetings/{id}/events?ticket={ticket}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 401),
        other => panic!("a ticket used twice: {other:?}"),
    }
    // SSE with a ticket, on the account stream: works once.
    let ticket = take().await;
    let a = get(format!("/v1/events?ticket={ticket}&after=")).send(&app).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "a bad cursor is still checked");
    let a = get(format!("/v1/events?ticket={ticket}")).send(&app).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNAUTHORIZED, "invalid_ticket"),
        "used by the call before"
    );
    let a = get("/v1/events?ticket=stk_nope").send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::UNAUTHORIZED, "invalid_ticket"));
    // The stream a ticket opened ends when the token behind it is revoked.
    tokens.revoke("alice");
    let got = read(&mut ws, 1, Duration::from_secs(5)).await;
    assert_eq!(got.close.map(|c| c.0), Some(4001));
}

/// With `cors_origins`, a browser preflight from an allowed origin is answered with the CORS
/// headers; another origin gets none; without origins there is no CORS at all.
#[tokio::test]
async fn cors_preflight_answers_allowed_origins_only() {
    use tower::ServiceExt;
    let app = app_with(ApiConfig {
        cors_origins: vec!["https://app.example.com".parse().unwrap()],
        ..Default::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        axum::http::Request::builder()
            .method("OPTIONS")
            .uri("/v1/events")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization,last-event-id")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let r = app
        .router
        .clone()
        .oneshot(preflight("https://app.example.com"))
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    let allowed = h["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("last-event-id"),
        "{allowed}"
    );
    let r = app
        .router
        .clone()
        .oneshot(preflight("https://evil.example"))
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // A plain GET from the allowed origin carries the header too.
    let a = get("/healthz")
        .header("origin", "https://app.example.com")
        .send(&app)
        .await;
    assert_eq!(a.headers["access-control-allow-origin"], "https://app.example.com");
    let plain = app_with(ApiConfig::default()).await;
    let r = plain
        .router
        .clone()
        .oneshot(preflight("https://app.example.com"))
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}
