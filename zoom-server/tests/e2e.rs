#![allow(clippy::unwrap_used)]
//! The whole lifecycle over real sockets: a zoom-server on SQLite with its webhook worker, a client
//! speaking HTTP to it, and a loopback webhook receiver that verifies both signature schemes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use clap::Parser;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use zoom_core::signature::{Verifier, WebhookSecret};
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap, StoreSpec};

#[derive(Clone)]
struct Receiver {
    verifier: Arc<Mutex<Option<Verifier>>>,
    seen: mpsc::UnboundedSender<Value>,
}

/// Verifies both schemes; answers 401 to anything that does not verify.
async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let Some(verifier) = r.verifier.lock().unwrap().clone() else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    let now = chrono::Utc::now().timestamp();
    let zoom = verifier.verify_zoom(&h("x-zoom-timestamp"), &h("x-zoom-signature"), &body, now);
    let standard = verifier.verify_standard(
        &h("webhook-id"),
        &h("webhook-timestamp"),
        &h("webhook-signature"),
        &body,
        now,
    );
    if zoom.is_err() || standard.is_err() || h("x-zoom-timestamp") != h("webhook-timestamp") {
        return StatusCode::UNAUTHORIZED;
    }
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        event["event_id"].as_str().unwrap(),
        h("webhook-id"),
        "webhook-id is the event id"
    );
    let _ = r.seen.send(event);
    StatusCode::OK
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Schedule, join, record, end: every step over HTTP, every webhook delivered and verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_lifecycle_over_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let db = dir.path().join("zoom.db");
    let args = Args::try_parse_from([
        "zoom-server",
        "--listen",
        &addr.to_string(),
        "--store",
        &format!("sqlite://{}", db.display()),
        "--webhook-allow-cidr",
        "127.0.0.1/32",
        "--webhook-retry-schedule",
        "100ms,200ms,400ms",
    ])
    .unwrap();
    let bootstrap =
        Bootstrap::from_values(Some("admin".into()), Some("s3cret-admin".into()), Some("acme".into())).unwrap();
    let server = Server::start(&args, &bootstrap).await.unwrap();
    assert_eq!(server.store_spec, StoreSpec::Sqlite(db.clone()));
    let worker = zoom_webhooks::Worker::spawn(server.engine.clone(), server.webhooks.clone()).unwrap();
    let app = server.router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // The receiver.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let receiver = Receiver {
        verifier: Arc::new(Mutex::new(None)),
        seen: tx,
    };
    let rlistener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let raddr = rlistener.local_addr().unwrap();
    let rapp = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(rlistener, rapp).await.unwrap() });

    let client = reqwest::Client::new();
    // A token by client credentials.
    let resp = client
        .post(format!("{base}/oauth/token"))
        .basic_auth("admin", Some("s3cret-admin"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let token: Value = resp.json().await.unwrap();
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 3600);
    let token = token["access_token"].as_str().unwrap().to_owned();
    use reqwest::Method as M;

    let (status, hook) = call(
        &client,
        M::POST,
        format!("{base}/v1/webhooks"),
        &token,
        Some(json!({"url": format!("http://{raddr}/hook"), "events": ["meeting.created", "meeting.started", "participant.joined", "recording.completed", "meeting.ended"]})),
    )
    .await;
    assert_eq!(status, 201, "{hook}");
    let secret = WebhookSecret::parse(hook["secret"].as_str().unwrap()).unwrap();
    *receiver.verifier.lock().unwrap() = Some(Verifier::new(secret));

    let (status, meeting) = call(
        &client,
        M::POST,
        format!("{base}/v1/meetings"),
        &token,
        Some(json!({"topic": "E2E", "start_time": "2030-01-01T09:00:00Z", "duration_minutes": 30, "host_id": "alice"})),
    )
    .await;
    assert_eq!(status, 201, "{meeting}");
    let id = meeting["id"].as_str().unwrap().to_owned();
    let (status, join) = call(
        &client,
        M::POST,
        format!("{base}/v1/meetings/{id}/joinToken"),
        &token,
        Some(json!({"user_id": "alice", "display_name": "Alice"})),
    )
    .await;
    assert_eq!(status, 200, "{join}");
    let (status, joined) = call(
        &client,
        M::POST,
        format!("{base}/v1/media/joins"),
        &token,
        Some(json!({"token": join["jwt"]})),
    )
    .await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(joined["role"], "host");
    // A token is redeemed once.
    let (status, _) = call(
        &client,
        M::POST,
        format!("{base}/v1/media/joins"),
        &token,
        Some(json!({"token": join["jwt"]})),
    )
    .await;
    assert_eq!(status, 401);
    let (_, live) = call(&client, M::GET, format!("{base}/v1/meetings/{id}"), &token, None).await;
    assert_eq!(live["state"], "LIVE");
    assert_eq!(live["participant_count"], 1);

    let (status, rec) = call(
        &client,
        M::POST,
        format!("{base}/v1/meetings/{id}/recordings:start"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 202, "{rec}");
    let rec_id = rec["recording_id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &client,
        M::POST,
        format!("{base}/v1/meetings/{id}/recordings:stop"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 202);
    let (status, done) = call(
        &client,
        M::POST,
        format!("{base}/v1/media/recordings/{rec_id}:complete"),
        &token,
        Some(json!({"duration_seconds": 60, "files": [{"type": "video", "storage_key": "acme/e2e.mp4", "size_bytes": 1024}]})),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    let (status, ended) = call(&client, M::POST, format!("{base}/v1/meetings/{id}:end"), &token, None).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["state"], "ENDED");

    // Every subscribed event arrives, signed with both schemes, within a bounded time.
    let mut events = Vec::new();
    while events.len() < 5 {
        let next = tokio::time::timeout(Duration::from_secs(15), rx.recv()).await;
        let event = next.expect("a webhook within 15 s").expect("the receiver is alive");
        events.push(event["event"].as_str().unwrap().to_owned());
    }
    events.sort();
    assert_eq!(
        events,
        [
            "meeting.created",
            "meeting.ended",
            "meeting.started",
            "participant.joined",
            "recording.completed"
        ]
    );
    let hook_id = hook["id"].as_str().unwrap();
    let (status, log) = call(
        &client,
        M::GET,
        format!("{base}/v1/webhooks/{hook_id}/deliveries"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        log["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["status_code"] == 200),
        "{log}"
    );
    worker.shutdown().await;
}
