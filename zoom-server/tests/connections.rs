#![allow(clippy::unwrap_used)]
//! The connection limits over real loopback sockets: header-read and idle timeouts, the cap on
//! open connections, the cap on concurrent requests, and idle sockets that cannot stop the
//! server from answering others. Every wait is bounded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zoom_core::clock::{SystemClock, SystemEntropy};
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap, StoreSpec};
use zoom_server::serve::{ConnectionLimits, serve};

async fn start(limits: ConnectionLimits) -> SocketAddr {
    let args = Args::try_parse_from(["zoom-server", "--store", "memory"]).unwrap();
    let bootstrap = Bootstrap::from_values(Some("admin".into()), Some("pw-123".into()), None).unwrap();
    let server = Server::start_with(
        &args,
        &bootstrap,
        StoreSpec::Memory,
        Arc::new(zoom_store_memory::MemoryStore::new()),
        Arc::new(SystemClock),
        Arc::new(SystemEntropy),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server.router();
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    addr
}

/// Reads until the server closes the connection; returns what it sent and when it closed.
async fn until_closed(conn: &mut TcpStream, within: Duration) -> (Vec<u8>, Instant) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, Instant::now()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open for {within:?}"),
        }
    }
}

/// Reads one whole response with a content-length.
async fn one_response(conn: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed before the response ended");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

fn limits(header: u64, idle: u64) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_millis(header),
        idle_timeout: Duration::from_millis(idle),
        ..ConnectionLimits::default()
    }
}

/// A client that sends half a request head (slowloris) is dropped at the header-read timeout,
/// and so is one that connects and sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_head_is_dropped_at_the_header_read_timeout() {
    let addr = start(limits(300, 10_000)).await;
    let opened = Instant::now();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Trickling bytes does not extend the deadline.
        let _ = slow.write_all(b"X-Slow: 1\r\n").await;
    }
    let (sent, closed) = until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(sent.is_empty(), "no answer to an unfinished head");
    let after = closed - opened;
    assert!(after >= Duration::from_millis(290), "closed after {after:?}");
    assert!(after < Duration::from_secs(2), "closed after {after:?}");
    let (_, closed) = until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(closed - opened < Duration::from_secs(2));
}

/// A keep-alive connection is kept between requests for the idle timeout, not the (shorter)
/// header timeout, and closed once it has been idle that long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let addr = start(limits(200, 900)).await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(HEALTH).await.unwrap();
    assert!(one_response(&mut conn).await.starts_with("HTTP/1.1 200"));
    let answered = Instant::now();
    // Well past the header timeout, the connection still serves.
    tokio::time::sleep(Duration::from_millis(500)).await;
    conn.write_all(HEALTH).await.unwrap();
    assert!(one_response(&mut conn).await.starts_with("HTTP/1.1 200"));
    let answered_again = Instant::now();
    assert!(answered_again - answered >= Duration::from_millis(500));
    let (_, closed) = until_closed(&mut conn, Duration::from_secs(5)).await;
    let idle = closed - answered_again;
    assert!(idle >= Duration::from_millis(850), "closed after {idle:?} idle");
    assert!(idle < Duration::from_secs(3), "closed after {idle:?} idle");
}

/// 300 idle sockets do not stop the server from answering another client at once, and are all
/// dropped at the header-read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_idle_sockets_do_not_stop_the_server() {
    let addr = start(limits(500, 60_000)).await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let asked = Instant::now();
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(HEALTH).await.unwrap();
    assert!(one_response(&mut conn).await.starts_with("HTTP/1.1 200"));
    assert!(
        asked.elapsed() < Duration::from_millis(400),
        "answered after {:?}",
        asked.elapsed()
    );
    for socket in &mut idle {
        until_closed(socket, Duration::from_secs(5)).await;
    }
}

/// Past `max_connections`, a new connection is not accepted (it waits in the backlog) until a
/// slot frees; then it is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_connections_new_ones_wait_in_the_backlog() {
    let addr = start(ConnectionLimits {
        max_connections: 2,
        ..limits(400, 60_000)
    })
    .await;
    let _a = TcpStream::connect(addr).await.unwrap();
    let _b = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let asked = Instant::now();
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(HEALTH).await.unwrap();
    let answer = one_response(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200"));
    // Served only once the two silent ones were dropped at the header timeout.
    let waited = asked.elapsed();
    assert!(waited >= Duration::from_millis(300), "served after {waited:?}");
}

/// Past `max_concurrent_requests`, a request is answered 503 problem+json `overloaded` with
/// `Retry-After`; once the slot frees, requests are served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_concurrent_requests_the_answer_is_503() {
    let addr = start(ConnectionLimits {
        max_concurrent_requests: 1,
        ..limits(5_000, 5_000)
    })
    .await;
    // A token request whose body never finishes holds the one slot.
    let mut holder = TcpStream::connect(addr).await.unwrap();
    holder
        .write_all(b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(HEALTH).await.unwrap();
    let answer = one_response(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("content-type: application/problem+json"), "{answer}");
    assert!(lower.contains("retry-after: 1"), "{answer}");
    assert!(lower.contains("x-request-id:"), "{answer}");
    assert!(answer.contains("\"code\":\"overloaded\""), "{answer}");
    drop(holder);
    tokio::time::sleep(Duration::from_millis(100)).await;
    conn.write_all(HEALTH).await.unwrap();
    assert!(one_response(&mut conn).await.starts_with("HTTP/1.1 200"));
}

/// A request whose body stalls is dropped after the idle timeout with no byte moving, freeing
/// its slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_dropped_at_the_idle_timeout() {
    let addr = start(limits(5_000, 400)).await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let opened = Instant::now();
    conn.write_all(b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant")
        .await
        .unwrap();
    let (_, closed) = until_closed(&mut conn, Duration::from_secs(5)).await;
    let after = closed - opened;
    assert!(after >= Duration::from_millis(350), "{after:?}");
    assert!(after < Duration::from_secs(3), "{after:?}");
}

/// An event stream outlives the idle timeout: its keep-alive comments are bytes moving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_is_exempt_from_the_idle_timeout() {
    use tower::ServiceExt;
    let args = Args::try_parse_from(["zoom-server", "--store", "memory"]).unwrap();
    let bootstrap = Bootstrap::from_values(Some("admin".into()), Some("pw-123".into()), None).unwrap();
    let server = Server::start_with(
        &args,
        &bootstrap,
        StoreSpec::Memory,
        Arc::new(zoom_store_memory::MemoryStore::new()),
        Arc::new(SystemClock),
        Arc::new(SystemEntropy),
    )
    .await
    .unwrap();
    let app = server.router_with(zoom_http::ApiConfig {
        sse_keep_alive: Duration::from_millis(100),
        ..zoom_http::ApiConfig::default()
    });
    let token_request = axum::http::Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(
            "grant_type=client_credentials&client_id=admin&client_secret=pw-123",
        ))
        .unwrap();
    let resp = app.clone().oneshot(token_request).await.unwrap();
    let body: serde_json::Value =
        serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap()).unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    let schedule = axum::http::Request::post("/v1/meetings")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::from(
            r#"{"topic":"Stream","start_time":"2030-01-01T09:00:00Z","duration_minutes":30,"host_id":"alice"}"#,
        ))
        .unwrap();
    let resp = app.clone().oneshot(schedule).await.unwrap();
    let body: serde_json::Value =
        serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap()).unwrap();
    let id = body["id"].as_str().unwrap().to_owned();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app, limits(300, 400), std::future::pending()));
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(
        format!("GET /v1/meetings/{id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let opened = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while opened.elapsed() < Duration::from_millis(1_500) {
        match tokio::time::timeout(Duration::from_millis(500), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => panic!("the stream was closed after {:?}", opened.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("no keep-alive within 500 ms"),
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("text/event-stream"), "{text}");
}
