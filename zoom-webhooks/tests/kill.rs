#![allow(clippy::unwrap_used)]
//! Killing the process between commit and send loses nothing (SQLite store, SIGKILL).
//!
//! This file is its own `main` (`harness = false`): run plainly it is the parent test; with
//! `ZOOM_WH_CHILD_DB` set it is the child the parent starts and kills.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use zoom_core::clock::SystemClock;
use zoom_core::webhook::catalogue;
use zoom_store_sqlite::SqliteStore;
use zoom_webhooks::{Worker, WorkerConfig};

const CHILD_DB: &str = "ZOOM_WH_CHILD_DB";
const CHILD_URL: &str = "ZOOM_WH_CHILD_URL";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match (std::env::var(CHILD_DB), std::env::var(CHILD_URL)) {
        (Ok(db), Ok(url)) => runtime.block_on(child(db, url)),
        _ => {
            runtime.block_on(parent());
            println!("test killing_between_commit_and_send_loses_nothing ... ok");
            println!("1 passed, 0 failed");
        }
    }
}

/// The child: subscribes, commits three meetings and wakes its worker (whose requests hang at
/// the receiver), then commits three more without waking it, says so, and waits to be killed.
async fn child(db: String, url: String) {
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let engine = engine_on(store, Arc::new(SystemClock)).await;
    subscribe(&engine, &url, &["meeting.created"]).await;
    let config = WorkerConfig {
        // Only `notify` wakes it: the second three stay committed but not enqueued.
        poll_interval: Duration::from_secs(3600),
        timeout: Duration::from_secs(120),
        ..config("1s")
    };
    let worker = Worker::spawn(Arc::clone(&engine), config).unwrap();
    for i in 0..3 {
        schedule(&engine, &format!("in flight {i}")).await;
    }
    worker.notify();
    for i in 0..3 {
        schedule(&engine, &format!("not yet enqueued {i}")).await;
    }
    println!("committed");
    tokio::time::sleep(Duration::from_secs(600)).await;
}

async fn parent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zoom.db");
    let open = Arc::new(AtomicBool::new(false));
    let acknowledged: Arc<Mutex<HashSet<String>>> = Arc::default();
    let (flag, acks) = (Arc::clone(&open), Arc::clone(&acknowledged));
    let receiver = Receiver::start(move |_, r| {
        if flag.load(Ordering::SeqCst) {
            acks.lock().unwrap().insert(r.header("webhook-id").to_owned());
            Reply::ok()
        } else {
            // The child's requests never get an answer: it dies with them in flight.
            Reply::ok().after(Duration::from_secs(300))
        }
    })
    .await;

    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .env(CHILD_DB, &db)
        .env(CHILD_URL, receiver.url("/hook"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let said = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line == "committed" {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(said, Ok(true), "the child did not commit");
    receiver.wait_for(3).await;
    // SIGKILL: no destructor, no graceful shutdown, no flush.
    child.kill().await.unwrap();

    open.store(true, Ordering::SeqCst);
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let engine = engine_on(store, Arc::new(SystemClock)).await;
    let mut created = HashSet::new();
    for row in engine.store().read_all(0, 10_000).await.unwrap() {
        if catalogue::webhook_name(&row.event_type) == Some("meeting.created") {
            created.insert(row.event_id.to_string());
        }
    }
    assert_eq!(created.len(), 6);
    let worker = Worker::spawn(Arc::clone(&engine), config("100ms")).unwrap();
    eventually("every committed event to be acknowledged", || async {
        acknowledged.lock().unwrap().len() >= 6
    })
    .await;
    worker.shutdown().await;
    assert_eq!(*acknowledged.lock().unwrap(), created);
}
