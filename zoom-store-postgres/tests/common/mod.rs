//! What every PostgreSQL test shares: the server's URL from `ZOOM_TEST_POSTGRES_URL` (a test is
//! skipped, saying so, when it is unset), and stores on fresh, uniquely named schemas that are
//! dropped when their guard is.

#![allow(dead_code)]

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_postgres::NoTls;
use zoom_core::event::{NewEvent, StreamId};
use zoom_core::store::AppendRequest;
use zoom_store_postgres::{Options, PostgresStore};

/// The variable that names the test server.
pub const URL_VAR: &str = "ZOOM_TEST_POSTGRES_URL";

/// The test server's URL, or `None` after saying on stderr that `test` is skipped and why.
pub fn url(test: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            eprintln!("skipped {test}: {URL_VAR} is not set (e.g. postgres://postgres@127.0.0.1:5432/test)");
            None
        }
    }
}

/// A schema name no other test, test process or earlier run uses: `zt_<pid>_<counter>_<random>`.
pub fn unique_schema() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    format!("zt_{}_{n}_{:08x}", std::process::id(), h.finish() as u32)
}

/// Drops its schema (and everything in it) when dropped, from a thread of its own, so it works
/// inside or outside a runtime.
pub struct SchemaGuard {
    url: String,
    /// The schema.
    pub schema: String,
}

impl SchemaGuard {
    /// A guard for a new unique schema (not created yet: connecting creates it).
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            schema: unique_schema(),
        }
    }

    /// The URL with this schema as its `schema` parameter.
    pub fn url(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}schema={}", self.url, self.schema)
    }
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
                let conn = tokio::spawn(conn);
                client.batch_execute(&sql).await.unwrap();
                drop(client);
                let _ = conn.await;
            });
        })
        .join();
        if dropped.is_err() && !std::thread::panicking() {
            panic!("could not drop test schema {}", self.schema);
        }
    }
}

/// A store on a fresh schema, and the guard that drops the schema.
pub async fn fresh(url: &str) -> (PostgresStore, SchemaGuard) {
    fresh_with(url, Options::default().pool_size(4)).await
}

/// A store opened with `options` on a fresh schema, and the guard that drops the schema.
pub async fn fresh_with(url: &str, options: Options) -> (PostgresStore, SchemaGuard) {
    let guard = SchemaGuard::new(url);
    let store = PostgresStore::connect_with(&guard.url(), options).await.unwrap();
    (store, guard)
}

/// A plain connection with `search_path` set to `schema`, to look at or damage rows by hand.
pub async fn raw(url: &str, schema: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!("SET search_path = {schema}"))
        .await
        .unwrap();
    client
}

/// An append of `events` to `stream` at `expected`, with nothing else.
pub fn request(stream: &StreamId, expected: u64, events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest {
        stream_id: stream.clone(),
        expected_version: expected,
        events,
        index: None,
        snapshot: None,
        links: vec![],
        idempotency: None,
    }
}
