//! An in-memory [`EventStore`] and [`DeliveryStore`]: fast, for tests and single-process use.
//!
//! Everything lives behind one mutex that is held only for the few instructions of each call and
//! never across an `.await`, so it is safe under many concurrent tokio tasks and never blocks the
//! runtime for long. Nothing survives the process.
//!
//! ```
//! # tokio_test_block_on(async {
//! use std::sync::Arc;
//! use zoom_core::{Engine, EngineConfig, clock::{SystemClock, SystemEntropy}};
//! let store = Arc::new(zoom_store_memory::MemoryStore::new());
//! let engine = Engine::open(store, Arc::new(SystemClock), Arc::new(SystemEntropy), zoom_core::EngineConfig::new(zoom_core::files::FileUrlSigner::new("https://files.example.com/recordings", zoom_core::clock::Entropy::key_bytes(&zoom_core::clock::SystemEntropy).to_vec())))
//!     .await
//!     .unwrap();
//! assert!(engine.jwks()["keys"].as_array().is_some());
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use zoom_core::event::{RecordedEvent, StreamId};
use zoom_core::id::{EventId, WebhookId};
use zoom_core::store::*;

#[derive(Default)]
struct Inner {
    log: Vec<RecordedEvent>,
    streams: HashMap<StreamId, Vec<usize>>,
    index: HashMap<StreamId, IndexEntry>,
    snapshots: HashMap<StreamId, Snapshot>,
    links: HashMap<String, StreamId>,
    idempotency: HashMap<String, IdempotencyRecord>,
    checkpoints: HashMap<String, u64>,
    deliveries: BTreeMap<u64, Delivery>,
    /// `(next_attempt_at, id)` of every pending delivery with a next attempt: `due` reads a
    /// window off its front instead of scanning and sorting the whole outbox.
    due_index: BTreeSet<(DateTime<Utc>, u64)>,
    delivery_keys: HashSet<(WebhookId, EventId)>,
    attempts: BTreeMap<u64, DeliveryAttempt>,
}

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("events", &self.lock().log.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied append (every mutation is
        // prepared before the first write), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn append(&self, request: AppendRequest) -> Result<Appended, StoreError> {
        if request.events.is_empty() && request.idempotency.is_none() {
            return Err(StoreError::Invalid(
                "an append needs events or an idempotency record".into(),
            ));
        }
        let mut inner = self.lock();
        let current = inner.streams.get(&request.stream_id).map_or(0, |v| v.len() as u64);
        if current != request.expected_version {
            return Err(StoreError::Conflict {
                stream_id: request.stream_id.to_string(),
                expected: request.expected_version,
                actual: current,
            });
        }
        if let Some(r) = &request.idempotency
            && inner.idempotency.contains_key(&r.key)
        {
            return Err(StoreError::DuplicateIdempotencyKey);
        }
        let first_position = inner.log.len() as u64 + 1;
        let mut version = current;
        for e in request.events {
            version += 1;
            let idx = inner.log.len();
            inner.log.push(RecordedEvent {
                event_id: e.event_id,
                stream_id: request.stream_id.clone(),
                version,
                position: idx as u64 + 1,
                recorded_at: e.recorded_at,
                event_type: e.event_type,
                schema_version: e.schema_version,
                payload: e.payload,
                metadata: e.metadata,
            });
            inner.streams.entry(request.stream_id.clone()).or_default().push(idx);
        }
        let last_position = if version > current { inner.log.len() as u64 } else { 0 };
        if let Some(mut entry) = request.index {
            entry.seq = inner
                .index
                .get(&request.stream_id)
                .map_or(first_position, |old| old.seq);
            inner.index.insert(request.stream_id.clone(), entry);
        }
        if let Some(s) = request.snapshot {
            inner.snapshots.insert(request.stream_id.clone(), s);
        }
        for key in request.links {
            inner.links.entry(key).or_insert_with(|| request.stream_id.clone());
        }
        if let Some(r) = request.idempotency {
            inner.idempotency.insert(r.key.clone(), r);
        }
        Ok(Appended { version, last_position })
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let inner = self.lock();
        let Some(indices) = inner.streams.get(stream_id) else {
            return Ok(vec![]);
        };
        let skip = from_version.saturating_sub(1) as usize;
        Ok(indices
            .iter()
            .skip(skip)
            .take(limit)
            .map(|&i| inner.log[i].clone())
            .collect())
    }

    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .log
            .iter()
            .skip(after_position as usize)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        Ok(self.lock().streams.get(stream_id).map_or(0, |v| v.len() as u64))
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        Ok(self.lock().log.len() as u64)
    }

    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.lock().snapshots.get(stream_id).cloned())
    }

    async fn query_index(&self, query: &IndexQuery) -> Result<Vec<IndexEntry>, StoreError> {
        let inner = self.lock();
        let mut rows: Vec<IndexEntry> = inner.index.values().filter(|e| query.matches(e)).cloned().collect();
        rows.sort_by_key(|e| e.seq);
        rows.truncate(query.limit);
        Ok(rows)
    }

    async fn resolve_link(&self, key: &str) -> Result<Option<StreamId>, StoreError> {
        Ok(self.lock().links.get(key).cloned())
    }

    async fn get_idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(self.lock().idempotency.get(key).cloned())
    }

    async fn prune_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let n = inner.idempotency.len();
        inner.idempotency.retain(|_, r| r.created_at >= before);
        Ok((n - inner.idempotency.len()) as u64)
    }

    async fn put_idempotency(&self, record: IdempotencyRecord) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.idempotency.contains_key(&record.key) {
            return Err(StoreError::DuplicateIdempotencyKey);
        }
        inner.idempotency.insert(record.key.clone(), record);
        Ok(())
    }
}

#[async_trait]
impl DeliveryStore for MemoryStore {
    async fn checkpoint(&self, consumer: &str) -> Result<u64, StoreError> {
        Ok(self.lock().checkpoints.get(consumer).copied().unwrap_or(0))
    }

    async fn enqueue(&self, consumer: &str, position: u64, deliveries: Vec<NewDelivery>) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for d in deliveries {
            if !inner
                .delivery_keys
                .insert((d.subscription_id.clone(), d.event_id.clone()))
            {
                continue;
            }
            let id = inner.deliveries.keys().next_back().map_or(1, |k| k + 1);
            let created_at = d.next_attempt_at;
            inner.due_index.insert((d.next_attempt_at, id));
            inner.deliveries.insert(
                id,
                Delivery {
                    id,
                    subscription_id: d.subscription_id,
                    account_id: d.account_id,
                    event_id: d.event_id,
                    event_type: d.event_type,
                    position: d.position,
                    body: d.body,
                    attempts: 0,
                    state: DeliveryState::Pending,
                    next_attempt_at: Some(d.next_attempt_at),
                    created_at,
                },
            );
        }
        let cp = inner.checkpoints.entry(consumer.to_owned()).or_insert(0);
        *cp = (*cp).max(position);
        Ok(())
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .due_index
            .range(..=(now, u64::MAX))
            .take(limit)
            .filter_map(|(_, id)| inner.deliveries.get(id).cloned())
            .collect())
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.lock().due_index.first().map(|(at, _)| *at))
    }

    async fn record_attempt(
        &self,
        attempt: DeliveryAttempt,
        state: DeliveryState,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let Some(d) = inner.deliveries.get_mut(&attempt.delivery_id) else {
            return Err(StoreError::Invalid(format!("no delivery {}", attempt.delivery_id)));
        };
        reschedule(&mut inner.due_index, d, state, next_attempt_at);
        d.attempts = attempt.attempt;
        let seq = inner.attempts.keys().next_back().map_or(1, |k| k + 1);
        inner.attempts.insert(seq, attempt);
        Ok(())
    }

    async fn attempts(
        &self,
        subscription_id: &WebhookId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, DeliveryAttempt)>, StoreError> {
        let inner = self.lock();
        let upper = before.unwrap_or(u64::MAX);
        Ok(inner
            .attempts
            .range(..upper)
            .rev()
            .filter(|(_, a)| &a.subscription_id == subscription_id)
            .take(limit)
            .map(|(k, a)| (*k, a.clone()))
            .collect())
    }

    async fn delivery(&self, id: u64) -> Result<Option<Delivery>, StoreError> {
        Ok(self.lock().deliveries.get(&id).cloned())
    }

    async fn requeue(
        &self,
        subscription_id: &WebhookId,
        from_position: u64,
        to_position: u64,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let mut n = 0;
        for d in inner.deliveries.values_mut() {
            if &d.subscription_id == subscription_id && (from_position..=to_position).contains(&d.position) {
                reschedule(&mut inner.due_index, d, DeliveryState::Pending, Some(at));
                n += 1;
            }
        }
        Ok(n)
    }

    async fn prune_attempts(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let old = inner.attempts.len();
        inner.attempts.retain(|_, a| a.attempted_at >= before);
        Ok((old - inner.attempts.len()) as u64)
    }
}

/// Moves a delivery to `state` and `next_attempt_at`, keeping the due index in step.
fn reschedule(
    due_index: &mut BTreeSet<(DateTime<Utc>, u64)>,
    d: &mut Delivery,
    state: DeliveryState,
    next_attempt_at: Option<DateTime<Utc>>,
) {
    if d.state == DeliveryState::Pending
        && let Some(at) = d.next_attempt_at
    {
        due_index.remove(&(at, d.id));
    }
    d.state = state;
    d.next_attempt_at = next_attempt_at;
    if state == DeliveryState::Pending
        && let Some(at) = next_attempt_at
    {
        due_index.insert((at, d.id));
    }
}
