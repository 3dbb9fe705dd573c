#![allow(clippy::unwrap_used)]
//! `GET /v1/events` resumes across a server restart on one SQLite file: what was committed while
//! the client was away (before and after the restart) arrives once, in order.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap};

async fn start(db: &std::path::Path) -> (SocketAddr, tokio::task::JoinHandle<()>, Server) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let args = Args::try_parse_from([
        "zoom-server",
        "--listen",
        &addr.to_string(),
        "--store",
        &format!("sqlite://{}", db.display()),
    ])
    .unwrap();
    let bootstrap =
        Bootstrap::from_values(Some("admin".into()), Some("s3cret-admin".into()), Some("acme".into())).unwrap();
    let server = Server::start(&args, &bootstrap).await.unwrap();
    let app = server.router();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task, server)
}

async fn token(client: &reqwest::Client, addr: SocketAddr) -> String {
    let resp = client
        .post(format!("http://{addr}/oauth/token"))
        .basic_auth("admin", Some("s3cret-admin"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn schedule(client: &reqwest::Client, addr: SocketAddr, token: &str, topic: &str) -> String {
    let resp = client
        .post(format!("http://{addr}/v1/meetings"))
        .bearer_auth(token)
        .json(&json!({"topic": topic, "start_time": "2030-01-01T10:00:00Z", "duration_minutes": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// Reads SSE messages `(id, meeting_id)` from `/v1/events` until `want` of them or the deadline.
async fn follow(addr: SocketAddr, token: &str, last: Option<&str>, want: usize) -> Vec<(String, String)> {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let resume = last.map(|c| format!("Last-Event-ID: {c}\r\n")).unwrap_or_default();
    conn.write_all(
        format!(
            "GET /v1/events?events=meeting.created HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n{resume}\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut text = String::new();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 8192];
        while out.len() < want {
            let n = conn.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            out = parse(&text);
        }
    })
    .await;
    // Nothing more than wanted arrives.
    let mut buf = [0u8; 8192];
    if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(500), conn.read(&mut buf)).await {
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    parse(&text)
}

fn parse(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut id = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("data: ")
            && let (Some(id), Ok(body)) = (id.take(), serde_json::from_str::<Value>(v))
        {
            out.push((id, body["data"]["meeting_id"].as_str().unwrap_or("").to_owned()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_stream_resumes_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zoom.db");
    let client = reqwest::Client::new();

    let (addr, task, server) = start(&db).await;
    let t = token(&client, addr).await;
    let first = schedule(&client, addr, &t, "one").await;
    // Without a cursor the stream starts at now; from the log's start it holds the first creation.
    let at_now = follow(addr, &t, None, 0).await;
    assert!(at_now.is_empty(), "a stream without a cursor starts at now: {at_now:?}");
    let zero = "cDE6MA"; // the cursor of position 0, before every event
    let seen = follow(addr, &t, Some(zero), 1).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].1, first);
    let cursor = seen[0].0.clone();
    // Away: one meeting before the restart, one after.
    let second = schedule(&client, addr, &t, "two").await;
    task.abort();
    let _ = task.await;
    drop(server);

    let (addr, _task, _server) = start(&db).await;
    let t = token(&client, addr).await;
    let third = schedule(&client, addr, &t, "three").await;
    let resumed = follow(addr, &t, Some(&cursor), 2).await;
    let meetings: Vec<&str> = resumed.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        meetings,
        [second.as_str(), third.as_str()],
        "nothing lost, nothing doubled"
    );
}
