//! A store on a fresh file in its own temporary directory, removed when the store is dropped.

use std::ops::Deref;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use zoom_core::event::{RecordedEvent, StreamId};
use zoom_core::id::WebhookId;
use zoom_core::store::*;
use zoom_store_sqlite::{Options, SqliteStore};

/// A [`SqliteStore`] that owns its temporary directory. Field order matters: the store closes
/// its file before the directory is removed.
pub struct TempStore {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl TempStore {
    /// A fresh, empty store.
    pub fn new() -> Self {
        Self::with(Options::default())
    }

    /// A fresh, empty store opened with `options`.
    pub fn with(options: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_with(dir.path().join("zoom.db"), options).unwrap();
        Self { store, _dir: dir }
    }
}

impl Deref for TempStore {
    type Target = SqliteStore;
    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

#[async_trait]
impl EventStore for TempStore {
    async fn append(&self, request: AppendRequest) -> Result<Appended, StoreError> {
        self.store.append(request).await
    }
    async fn read_stream(&self, s: &StreamId, from: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.store.read_stream(s, from, limit).await
    }
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.store.read_all(after, limit).await
    }
    async fn stream_version(&self, s: &StreamId) -> Result<u64, StoreError> {
        self.store.stream_version(s).await
    }
    async fn head_position(&self) -> Result<u64, StoreError> {
        self.store.head_position().await
    }
    async fn load_snapshot(&self, s: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        self.store.load_snapshot(s).await
    }
    async fn query_index(&self, q: &IndexQuery) -> Result<Vec<IndexEntry>, StoreError> {
        self.store.query_index(q).await
    }
    async fn resolve_link(&self, key: &str) -> Result<Option<StreamId>, StoreError> {
        self.store.resolve_link(key).await
    }
    async fn get_idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.store.get_idempotency(key).await
    }
    async fn put_idempotency(&self, record: IdempotencyRecord) -> Result<(), StoreError> {
        self.store.put_idempotency(record).await
    }
    async fn prune_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.prune_idempotency(before).await
    }
}

#[async_trait]
impl DeliveryStore for TempStore {
    async fn checkpoint(&self, consumer: &str) -> Result<u64, StoreError> {
        self.store.checkpoint(consumer).await
    }
    async fn enqueue(&self, consumer: &str, position: u64, d: Vec<NewDelivery>) -> Result<(), StoreError> {
        self.store.enqueue(consumer, position, d).await
    }
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.store.due(now, limit).await
    }
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.store.next_due().await
    }
    async fn record_attempt(
        &self,
        a: DeliveryAttempt,
        state: DeliveryState,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.store.record_attempt(a, state, next).await
    }
    async fn attempts(
        &self,
        s: &WebhookId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, DeliveryAttempt)>, StoreError> {
        self.store.attempts(s, before, limit).await
    }
    async fn delivery(&self, id: u64) -> Result<Option<Delivery>, StoreError> {
        self.store.delivery(id).await
    }
    async fn requeue(&self, s: &WebhookId, from: u64, to: u64, at: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.requeue(s, from, to, at).await
    }
    async fn prune_attempts(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.prune_attempts(before).await
    }
}
