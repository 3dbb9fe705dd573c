#![allow(clippy::unwrap_used)]
//! Store faults through the server's router: a full disk, a database file that turns
//! read-only, and PostgreSQL sessions killed under load. Each answers 503 problem+json with
//! code `store_unavailable`, leaves nothing half-written, and the service recovers by itself
//! once the fault is gone, with no restart.
//!
//! The first two need root (CI runs as root): a small tmpfs mounted in a temporary directory,
//! and the immutable attribute (`chattr +i`) on an ext4 (or similar) file. When the machine
//! refuses either, the test says it was skipped. The third needs `ZOOM_TEST_POSTGRES_URL`.

mod common;

use common::fresh_schema;

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap};

async fn start(store: &str) -> Server {
    let args = Args::try_parse_from(["zoom-server", "--listen", "127.0.0.1:9", "--store", store]).unwrap();
    let bootstrap =
        Bootstrap::from_values(Some("admin".into()), Some("s3cret-admin".into()), Some("acme".into())).unwrap();
    Server::start(&args, &bootstrap).await.unwrap()
}

/// Sends one request through the router; returns the status, the content type and the JSON body.
async fn call(
    app: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn token(app: &Router) -> String {
    let req = Request::post("/oauth/token")
        .header(header::AUTHORIZATION, "Basic YWRtaW46czNjcmV0LWFkbWlu")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn meeting(topic: &str) -> Value {
    json!({"topic": topic, "start_time": "2030-01-01T09:00:00Z", "duration_minutes": 30, "host_id": "alice"})
}

/// Schedules a meeting; returns the status and body.
async fn schedule(app: &Router, token: &str, topic: &str) -> (StatusCode, String, Value) {
    call(app, "POST", "/v1/meetings", Some(token), Some(meeting(topic))).await
}

/// Every meeting's topic, through the list (all pages).
async fn topics(app: &Router, token: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/meetings?page_size=300&cursor={c}"),
            None => "/v1/meetings?page_size=300".to_owned(),
        };
        let (status, _, body) = call(app, "GET", &path, Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for m in body["meetings"].as_array().unwrap() {
            out.push(m["topic"].as_str().unwrap().to_owned());
        }
        match body["next_cursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = Some(c.to_owned()),
            _ => break,
        }
    }
    out
}

/// Asserts a 503 problem+json `store_unavailable`; returns its detail.
fn assert_store_unavailable((status, content_type, body): &(StatusCode, String, Value)) -> String {
    assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["code"], "store_unavailable", "{body}");
    assert_eq!(body["status"], 503);
    body["detail"].as_str().unwrap().to_owned()
}

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mount(PathBuf);

impl Mount {
    /// Mounts a tmpfs of `size` on `dir`, or says why not.
    fn tmpfs(dir: &Path, size: &str) -> Result<Self, String> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if out.status.success() {
            Ok(Self(dir.to_owned()))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system of `dir` with a ballast file until it is full.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("ballast");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    // The last partial chunk too: a tmpfs is full to the page.
    while f.write_all(&[0u8; 512]).is_ok() {}
    while f.write_all(&[0u8]).is_ok() {}
    path
}

/// A full disk: scheduling answers 503 `store_unavailable` saying the disk is full (never
/// "retry"), reads go on, nothing of the refused writes appears, and once space is freed the
/// next write succeeds on the same running server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_503_and_recovers_when_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let _mount = match Mount::tmpfs(dir.path(), "8m") {
        Ok(m) => m,
        Err(why) => {
            eprintln!("skipped a_full_disk_is_503_and_recovers_when_space_is_freed: cannot mount a tmpfs ({why})");
            return;
        }
    };
    let db = dir.path().join("zoom.db");
    let server = start(&format!("sqlite://{}", db.display())).await;
    let app = server.router();
    let token = token(&app).await;
    let (status, _, first) = schedule(&app, &token, "before").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");

    let ballast = fill(dir.path());
    let mut refused = 0;
    let mut detail = String::new();
    for i in 0..20 {
        let answer = schedule(&app, &token, &format!("refused {i}")).await;
        if answer.0 == StatusCode::CREATED {
            // Pages SQLite had already allocated may take a few more rows.
            continue;
        }
        detail = assert_store_unavailable(&answer);
        refused += 1;
    }
    assert!(refused > 0, "a full disk refused no write");
    eprintln!("full disk: {refused} of 20 writes refused: {detail}");
    assert!(detail.contains("disk is full"), "{detail}");
    assert!(!detail.to_lowercase().contains("retry"), "{detail}");
    let id = first["id"].as_str().unwrap();
    let (status, _, read) = call(&app, "GET", &format!("/v1/meetings/{id}"), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "reads go on: {read}");

    std::fs::remove_file(&ballast).unwrap();
    let (status, _, after) = schedule(&app, &token, "after").await;
    assert_eq!(status, StatusCode::CREATED, "recovers without a restart: {after}");
    let all = topics(&app, &token).await;
    assert!(all.contains(&"before".to_owned()) && all.contains(&"after".to_owned()));
    let stored_refusals = all.iter().filter(|t| t.starts_with("refused")).count();
    assert_eq!(stored_refusals, 20 - refused, "a refused write left nothing behind");
}

/// Sets or clears the immutable attribute; `Err` says why it cannot be set here.
fn immutable(paths: &[PathBuf], on: bool) -> Result<(), String> {
    let out = Command::new("chattr")
        .arg(if on { "+i" } else { "-i" })
        .args(paths)
        .output()
        .map_err(|e| format!("cannot run chattr: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Clears the immutable attribute when the test ends, so the directory can be removed.
struct Immutable(Vec<PathBuf>);

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = immutable(&self.0, false);
    }
}

/// The database file and its write-ahead log turn read-only (immutable, which even root cannot
/// write) while the server runs: writes answer 503 `store_unavailable`, reads go on, nothing of
/// the refused writes appears, and once the files are writable again writes succeed with no
/// restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_file_is_503_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zoom.db");
    let server = start(&format!("sqlite://{}", db.display())).await;
    let app = server.router();
    let token = token(&app).await;
    let (status, _, first) = schedule(&app, &token, "before").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");

    let files = vec![db.clone(), dir.path().join("zoom.db-wal")];
    if let Err(why) = immutable(&files, true) {
        eprintln!("skipped a_read_only_database_file_is_503_and_recovers: cannot make the files immutable ({why})");
        return;
    }
    let guard = Immutable(files.clone());
    for i in 0..3 {
        let detail = assert_store_unavailable(&schedule(&app, &token, &format!("refused {i}")).await);
        assert!(!detail.contains("zoom.db"), "the detail names no file: {detail}");
        eprintln!("read-only file: {detail}");
    }
    let id = first["id"].as_str().unwrap();
    let (status, _, read) = call(&app, "GET", &format!("/v1/meetings/{id}"), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "reads go on: {read}");

    immutable(&files, false).unwrap();
    drop(guard);
    let (status, _, after) = schedule(&app, &token, "after").await;
    assert_eq!(status, StatusCode::CREATED, "recovers without a restart: {after}");
    let all = topics(&app, &token).await;
    assert_eq!(all, ["before", "after"], "a refused write left nothing behind");
}

/// PostgreSQL sessions of the server's pool are terminated (`pg_terminate_backend`, as a
/// server restart or an administrator would) while four clients schedule meetings: every
/// answer is 201 or 503 `store_unavailable` (never a 500 or a hang), every acknowledged
/// meeting is stored, and once the terminations stop every write succeeds again with no
/// restart. Only this test's sessions are terminated (they carry their own
/// `application_name`), so other tests on the same server are not disturbed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sessions_killed_under_load_are_503_and_recover() {
    let Ok(url) = std::env::var("ZOOM_TEST_POSTGRES_URL") else {
        eprintln!("skipped postgres_sessions_killed_under_load_are_503_and_recover: ZOOM_TEST_POSTGRES_URL is not set");
        return;
    };
    let (guard, store) = fresh_schema(&url, "fault");
    let tag = guard.schema.clone();
    let server = start(&format!("{store}&application_name={tag}")).await;
    let app = server.router();
    let token = token(&app).await;

    let (admin, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (app, token, stop) = (app.clone(), token.clone(), stop.clone());
            tokio::spawn(async move {
                let (mut created, mut refused) = (Vec::new(), 0usize);
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let topic = format!("load {c} {i}");
                    i += 1;
                    let answer = schedule(&app, &token, &topic).await;
                    if answer.0 == StatusCode::CREATED {
                        created.push(topic);
                    } else {
                        assert_store_unavailable(&answer);
                        refused += 1;
                    }
                }
                (created, refused, i)
            })
        })
        .collect();
    let mut terminated = 0i64;
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        let row = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                &[&tag],
            )
            .await
            .unwrap();
        terminated += row.get::<_, i64>(0);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut created, mut refused, mut sent) = (Vec::new(), 0, 0);
    for c in clients {
        let (ok, no, n) = c.await.unwrap();
        created.extend(ok);
        refused += no;
        sent += n;
    }
    eprintln!(
        "{sent} requests: {} created, {refused} refused, {terminated} sessions terminated",
        created.len()
    );
    assert!(terminated > 0, "no session of the pool was terminated");
    assert!(refused > 0, "no request met a terminated session");

    // Recovered: every write succeeds again, on the same running server.
    for i in 0..10 {
        let (status, _, body) = schedule(&app, &token, &format!("after {i}")).await;
        assert_eq!(status, StatusCode::CREATED, "recovers without a restart: {body}");
    }
    let all = topics(&app, &token).await;
    for topic in &created {
        assert!(all.contains(topic), "acknowledged {topic} was lost");
    }
    // A refused write may have committed just before its session died (its answer was lost),
    // never more than that.
    let load = all.iter().filter(|t| t.starts_with("load")).count();
    assert!(
        load >= created.len() && load <= created.len() + refused,
        "{load} stored of {} acknowledged",
        created.len()
    );
    drop(guard);
}
