#![allow(clippy::unwrap_used)]
//! The server on PostgreSQL through the same path as `--store postgres://…`, over real HTTP on
//! loopback: a token, a scheduled meeting, a restart, the meeting read back; the webhook worker
//! runs under the leader lock; two instances on one database, where a stream on one carries what
//! the other commits (LISTEN/NOTIFY). Each run uses a fresh schema (the URL's `schema`
//! parameter), dropped at the end. Skipped, saying so, when `ZOOM_TEST_POSTGRES_URL` is unset.

mod common;

use common::fresh_schema;

use clap::Parser;
use serde_json::{Value, json};
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap, StoreSpec};

/// Starts a server on `store` with its socket and webhook worker, as `main` does.
async fn start(store: &str) -> (String, Server, zoom_server::delivery::Webhooks) {
    start_with(store, zoom_http::ApiConfig::default()).await
}

/// [`start`] with these API settings.
async fn start_with(store: &str, api: zoom_http::ApiConfig) -> (String, Server, zoom_server::delivery::Webhooks) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let args = Args::try_parse_from(["zoom-server", "--listen", &addr.to_string(), "--store", store]).unwrap();
    let bootstrap =
        Bootstrap::from_values(Some("admin".into()), Some("s3cret-admin".into()), Some("acme".into())).unwrap();
    let server = Server::start(&args, &bootstrap).await.unwrap();
    let webhooks = zoom_server::delivery::Webhooks::start(&server).unwrap();
    let app = server.router_with(api);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), server, webhooks)
}

async fn access_token(client: &reqwest::Client, base: &str) -> String {
    let resp = client
        .post(format!("{base}/oauth/token"))
        .basic_auth("admin", Some("s3cret-admin"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Schedule over HTTP on PostgreSQL, restart, and read the meeting back with a fresh token
/// (signing keys live in the store too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_survives_a_restart_on_postgres() {
    let Ok(url) = std::env::var("ZOOM_TEST_POSTGRES_URL") else {
        eprintln!("skipped a_meeting_survives_a_restart_on_postgres: ZOOM_TEST_POSTGRES_URL is not set");
        return;
    };
    let (guard, store) = fresh_schema(&url, "server");
    let client = reqwest::Client::new();

    let (base, server, webhooks) = start(&store).await;
    assert!(matches!(server.store_spec, StoreSpec::Postgres(_)));
    assert!(
        webhooks.is_elected(),
        "on PostgreSQL the worker runs under the leader lock"
    );
    let token = access_token(&client, &base).await;
    let resp = client
        .post(format!("{base}/v1/meetings"))
        .bearer_auth(&token)
        .json(&json!({"topic": "On PostgreSQL", "start_time": "2030-01-01T09:00:00Z", "duration_minutes": 30, "host_id": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let meeting: Value = resp.json().await.unwrap();
    let id = meeting["id"].as_str().unwrap().to_owned();
    webhooks.shutdown().await;
    drop(server);

    let (base, _server, webhooks) = start(&store).await;
    let token = access_token(&client, &base).await;
    let resp = client
        .get(format!("{base}/v1/meetings/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let read: Value = resp.json().await.unwrap();
    assert_eq!(read["topic"], "On PostgreSQL");
    assert_eq!(read["state"], "SCHEDULED");
    webhooks.shutdown().await;
    drop(guard);
}

/// One SSE message of `/v1/events` as it arrived: its cursor, its meeting, when.
type Arrival = (String, String, std::time::Instant);

/// Follows `/v1/events?events=meeting.created` on `base` with `token`, telling `open` when the
/// response has begun (the stream is subscribed before its headers are sent) and sending each
/// message as it arrives, until the connection ends.
async fn follow(
    base: &str,
    token: &str,
    open: tokio::sync::oneshot::Sender<()>,
    out: tokio::sync::mpsc::UnboundedSender<Arrival>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(
        format!("GET /v1/events?events=meeting.created HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut pending = String::new();
    let mut id = None;
    let mut buf = [0u8; 16 * 1024];
    let mut open = Some(open);
    loop {
        let n = conn.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        let at = std::time::Instant::now();
        pending.push_str(&String::from_utf8_lossy(&buf[..n]));
        if pending.starts_with("HTTP/1.1 200")
            && let Some(open) = open.take()
        {
            let _ = open.send(());
        }
        // Complete lines only; chunk-size lines of the chunked body match neither prefix.
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            let line = line.trim_end();
            if let Some(v) = line.strip_prefix("id: ") {
                id = Some(v.to_owned());
            } else if let Some(v) = line.strip_prefix("data: ")
                && let (Some(id), Ok(body)) = (id.take(), serde_json::from_str::<Value>(v))
            {
                let meeting = body["data"]["meeting_id"].as_str().unwrap_or("").to_owned();
                if out.send((id, meeting, at)).is_err() {
                    return;
                }
            }
        }
    }
}

/// Two instances with engines, pools and commit listeners of their own on one database: every
/// meeting created on A reaches a stream opened on B, all of them, in order, none twice. B's hub
/// polls once an hour, so only A's NOTIFY, relayed by B's listener, can bring them. Prints the
/// latency from the request sent to A to the message read from B (never asserted beyond a
/// generous bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_one_instance_carries_what_another_commits() {
    const MEETINGS: usize = 60;
    let Ok(url) = std::env::var("ZOOM_TEST_POSTGRES_URL") else {
        eprintln!("skipped a_stream_on_one_instance_carries_what_another_commits: ZOOM_TEST_POSTGRES_URL is not set");
        return;
    };
    let (guard, store) = fresh_schema(&url, "two");
    let client = reqwest::Client::new();
    let (base_a, _a, webhooks_a) = start(&store).await;
    let (base_b, b, webhooks_b) = start_with(
        &store,
        zoom_http::ApiConfig {
            sse_poll: std::time::Duration::from_secs(3600),
            ..zoom_http::ApiConfig::default()
        },
    )
    .await;
    let listener = b.commit_listener.as_ref().expect("a commit listener on PostgreSQL");
    tokio::time::timeout(std::time::Duration::from_secs(10), listener.listening())
        .await
        .expect("B's listener is listening");
    let token_a = access_token(&client, &base_a).await;
    let token_b = access_token(&client, &base_b).await;
    let (tx, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    let (opened, open) = tokio::sync::oneshot::channel();
    let follower = {
        let base_b = base_b.clone();
        tokio::spawn(async move { follow(&base_b, &token_b, opened, tx).await })
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), open)
        .await
        .expect("the stream on B opens")
        .unwrap();
    let mut sent = Vec::new();
    for i in 0..MEETINGS {
        let at = std::time::Instant::now();
        let resp = client
            .post(format!("{base_a}/v1/meetings"))
            .bearer_auth(&token_a)
            .json(&json!({"topic": format!("on A {i}"), "start_time": "2030-01-01T09:00:00Z", "duration_minutes": 30}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let meeting: Value = resp.json().await.unwrap();
        sent.push((
            meeting["id"].as_str().unwrap().to_owned(),
            at,
            std::time::Instant::now(),
        ));
    }
    let mut got: Vec<Arrival> = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while got.last().map(|(_, m, _)| m.as_str()) != sent.last().map(|(m, _, _)| m.as_str()) {
            match arrivals.recv().await {
                Some(a) => got.push(a),
                None => return,
            }
        }
    })
    .await;
    // Nothing more arrives after the last one.
    if let Ok(Some(extra)) = tokio::time::timeout(std::time::Duration::from_millis(300), arrivals.recv()).await {
        got.push(extra);
    }
    follower.abort();

    let meetings: Vec<&str> = got.iter().map(|(_, m, _)| m.as_str()).collect();
    let expected: Vec<&str> = sent.iter().map(|(m, _, _)| m.as_str()).collect();
    assert_eq!(meetings, expected, "all of them, in order, none twice");
    let mut cursors: Vec<&str> = got.iter().map(|(c, _, _)| c.as_str()).collect();
    cursors.dedup();
    assert_eq!(cursors.len(), got.len(), "no cursor twice");

    let quantiles = |mut samples: Vec<std::time::Duration>| {
        samples.sort();
        let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        (pick(0.5), pick(0.99), pick(1.0))
    };
    let (p50, p99, max) = quantiles(
        got.iter()
            .zip(&sent)
            .map(|((_, _, arrived), (_, at, _))| arrived.saturating_duration_since(*at))
            .collect(),
    );
    let (a50, a99, amax) = quantiles(
        got.iter()
            .zip(&sent)
            .map(|((_, _, arrived), (_, _, answered))| arrived.saturating_duration_since(*answered))
            .collect(),
    );
    println!(
        "{} meetings created on A, read from a stream on B (LISTEN/NOTIFY): request sent to message \
         p50 {p50:?} p99 {p99:?} max {max:?}; A's answer to message p50 {a50:?} p99 {a99:?} max {amax:?}",
        got.len()
    );
    assert!(
        max < std::time::Duration::from_secs(5),
        "far beyond any polling delay: {max:?}"
    );
    webhooks_a.shutdown().await;
    webhooks_b.shutdown().await;
    drop(guard);
}
