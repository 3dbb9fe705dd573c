#![allow(clippy::unwrap_used)]
//! The SSRF guard at send time: literal addresses and resolved names, refused unless the
//! worker's allow-list names them, whatever the subscription check let through.

mod common;

use std::sync::Arc;

use common::*;
use zoom_core::clock::{SeededEntropy, SystemClock};
use zoom_core::webhook::address::{AllowList, Cidr};
use zoom_core::{Engine, EngineConfig};
use zoom_store_memory::MemoryStore;
use zoom_webhooks::{Worker, WorkerConfig};

/// An engine that accepts any subscription URL, so that only the worker's guard stands between
/// a subscription and a forbidden address (as when a host name is re-pointed after subscribing).
async fn permissive_engine() -> Arc<Engine> {
    let everything = AllowList::new(vec![Cidr::parse("0.0.0.0/0").unwrap(), Cidr::parse("::/0").unwrap()]);
    let config = EngineConfig {
        webhook_allow: everything,
        ..zoom_core::testing::kit::engine_config()
    };
    Arc::new(
        Engine::open(
            Arc::new(MemoryStore::new()),
            Arc::new(SystemClock),
            Arc::new(SeededEntropy::new(3)),
            config,
        )
        .await
        .unwrap(),
    )
}

/// Every non-public destination is refused before a byte is sent, by literal address or by name.
#[tokio::test]
async fn the_ssrf_table_is_enforced_at_send_time() {
    let engine = permissive_engine().await;
    let receiver = Receiver::ok().await;
    let port = receiver.addr.port();
    let refused = [
        format!("http://127.0.0.1:{port}/literal"),
        format!("http://[::ffff:127.0.0.1]:{port}/mapped"),
        format!("http://localhost:{port}/by-name"),
        format!("http://2130706433:{port}/integer"),
        "http://10.0.0.1/".to_owned(),
        "http://172.16.0.1/".to_owned(),
        "http://192.168.1.1/".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://100.64.0.1/".to_owned(),
        "http://0.0.0.0/".to_owned(),
        "http://224.0.0.1/".to_owned(),
        "http://192.0.2.1/".to_owned(),
        "https://[::1]/".to_owned(),
        "http://[fe80::1]/".to_owned(),
        "http://[fd00::1]/".to_owned(),
        "http://[2001:db8::1]/".to_owned(),
        "http://[::ffff:10.0.0.1]/".to_owned(),
    ];
    let mut subs = Vec::new();
    for url in &refused {
        subs.push(subscribe(&engine, url, &["meeting.created"]).await.0);
    }
    // The worker's own allow-list is empty: the defaults.
    let config = WorkerConfig {
        allow: AllowList::default(),
        ..config("")
    };
    let worker = Worker::spawn(Arc::clone(&engine), config).unwrap();
    schedule(&engine, "Probe").await;
    worker.notify();
    for (sub, url) in subs.iter().zip(&refused) {
        let log = wait_log(&engine, sub, 1).await;
        assert_eq!(log[0].status_code, None, "{url}");
        let error = log[0].error.as_deref().unwrap();
        assert!(error.contains("destination refused"), "{url}: {error}");
        assert!(error.contains("non-public"), "{url}: {error}");
    }
    worker.shutdown().await;
    assert_eq!(receiver.count(), 0, "no request reached the loopback receiver");
}

/// The allow-list opens a block, for literal addresses and for names resolving into it.
#[tokio::test]
async fn the_allow_list_opens_loopback() {
    let engine = permissive_engine().await;
    let receiver = Receiver::ok().await;
    let port = receiver.addr.port();
    let (by_ip, _) = subscribe(&engine, &format!("http://127.0.0.1:{port}/ip"), &["meeting.created"]).await;
    let (by_name, _) = subscribe(&engine, &format!("http://localhost:{port}/name"), &["meeting.created"]).await;
    let worker = Worker::spawn(Arc::clone(&engine), config("")).unwrap();
    schedule(&engine, "Allowed").await;
    worker.notify();
    for sub in [&by_ip, &by_name] {
        let log = wait_log(&engine, sub, 1).await;
        assert_eq!(log[0].status_code, Some(200), "{:?}", log[0].error);
    }
    worker.shutdown().await;
    let mut paths: Vec<String> = receiver.seen().into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(paths, ["/ip", "/name"]);
}

/// https is spoken (and certificates checked) when the URL says so: a plain-HTTP port answers
/// garbage to a TLS handshake and the attempt fails without a status.
#[tokio::test]
async fn https_urls_use_tls() {
    let engine = permissive_engine().await;
    let receiver = Receiver::ok().await;
    let (sub, _) = subscribe(
        &engine,
        &format!("https://127.0.0.1:{}/tls", receiver.addr.port()),
        &["meeting.created"],
    )
    .await;
    let worker = Worker::spawn(Arc::clone(&engine), config("")).unwrap();
    schedule(&engine, "Secure").await;
    worker.notify();
    let log = wait_log(&engine, &sub, 1).await;
    assert_eq!(log[0].status_code, None);
    assert!(log[0].error.is_some());
    worker.shutdown().await;
    assert_eq!(receiver.count(), 0);
}
