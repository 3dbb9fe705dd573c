#![allow(clippy::unwrap_used)]
//! Throttling of failed client authentications at `POST /oauth/token`, per client id and per
//! client address, through the Router with the client address the accept loop supplies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use clap::Parser;
use serde_json::Value;
use tower::ServiceExt;
use zoom_core::clock::{SystemClock, SystemEntropy};
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap, StoreSpec};

async fn server() -> Server {
    let args = Args::try_parse_from(["zoom-server", "--store", "memory"]).unwrap();
    let bootstrap = Bootstrap::from_values(Some("admin".into()), Some("right-secret".into()), None).unwrap();
    Server::start_with(
        &args,
        &bootstrap,
        StoreSpec::Memory,
        Arc::new(zoom_store_memory::MemoryStore::new()),
        Arc::new(SystemClock),
        Arc::new(SystemEntropy),
    )
    .await
    .unwrap()
}

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

async fn attempt(app: &axum::Router, from: &str, id: &str, secret: &str) -> Answer {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let mut req = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, format!("Basic {basic}"))
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();
    let addr: SocketAddr = format!("{from}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    Answer {
        status,
        retry_after,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// 300 wrong secrets from one address: the first ones are 401, the rest 429 in RFC 6749's
/// shape with `Retry-After`, without the secret being checked. The attacked client, from an
/// address that has not failed, still gets its token at once; another address is not affected.
#[tokio::test]
async fn failed_attempts_are_throttled_and_successes_are_not() {
    let server = server().await;
    let app = server.router();
    let started = Instant::now();
    let (mut unauthorized, mut throttled) = (0, 0);
    for i in 0..300 {
        let a = attempt(&app, "198.51.100.7", "admin", &format!("guess-{i}")).await;
        match a.status {
            StatusCode::UNAUTHORIZED => unauthorized += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                throttled += 1;
                assert_eq!(a.body["error"], "temporarily_unavailable");
                assert!(a.body["error_description"].is_string());
                let wait: u64 = a.retry_after.as_deref().unwrap().parse().unwrap();
                assert!((1..=2).contains(&wait), "{wait}");
            }
            other => panic!("attempt {i}: {other}"),
        }
    }
    // Ten failures use the client id's burst; the address then keeps failing against it.
    assert!(unauthorized <= 20, "{unauthorized} attempts were checked");
    assert!(throttled >= 280, "{throttled} refused");
    // Even the right secret from the failing address waits now.
    let blocked = attempt(&app, "198.51.100.7", "admin", "right-secret").await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    // The real client, elsewhere, is not slowed by the attacker's failures.
    let ok = attempt(&app, "192.0.2.10", "admin", "right-secret").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(ok.body["access_token"].is_string());
    // A wrong secret from a fresh address is checked (401), not refused outright.
    let fresh = attempt(&app, "203.0.113.9", "other-app", "nope").await;
    assert_eq!(fresh.status, StatusCode::UNAUTHORIZED);
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// Many failing addresses spend a client id's burst: each failing address is then refused for
/// that id, while an address that never failed is still checked and served.
#[tokio::test]
async fn a_distributed_guess_does_not_lock_out_the_client() {
    let server = server().await;
    let app = server.router();
    for i in 0..40 {
        let a = attempt(&app, &format!("198.51.100.{}", i + 1), "admin", "wrong").await;
        assert!(a.status == StatusCode::UNAUTHORIZED || a.status == StatusCode::TOO_MANY_REQUESTS);
    }
    let again = attempt(&app, "198.51.100.1", "admin", "wrong").await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    let ok = attempt(&app, "192.0.2.10", "admin", "right-secret").await;
    assert_eq!(ok.status, StatusCode::OK);
}
