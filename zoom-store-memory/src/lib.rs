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

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use zoom_core::event::{NewEvent, RecordedEvent, StreamId};
use zoom_core::id::{EventId, WebhookId};
use zoom_core::store::*;

/// An event as the log keeps it: the row of a [`RecordedEvent`] with the stream id shared
/// with the stream's other rows, and the type and metadata texts shared with every row that has
/// the same (a command's events, and every command of one caller, write the same metadata). Its
/// position is its place in the log.
struct Row {
    event_id: EventId,
    stream_id: StreamId,
    version: u64,
    recorded_at: DateTime<Utc>,
    event_type: Arc<str>,
    schema_version: u32,
    payload: Box<str>,
    metadata: Arc<str>,
}

impl Row {
    fn recorded(&self, position: u64) -> RecordedEvent {
        RecordedEvent {
            event_id: self.event_id.clone(),
            stream_id: self.stream_id.clone(),
            version: self.version,
            position,
            recorded_at: self.recorded_at,
            event_type: self.event_type.as_ref().to_owned(),
            schema_version: self.schema_version,
            payload: self.payload.as_ref().to_owned(),
            metadata: self.metadata.as_ref().to_owned(),
        }
    }
}

/// The log in chunks of fixed size: appending never moves the rows already stored (one growing
/// vector would copy the whole log at every doubling), and a position is found in O(1).
#[derive(Default)]
struct Log {
    chunks: Vec<Vec<Row>>,
    len: usize,
    /// The distinct type and metadata texts of the rows, each kept once.
    texts: HashSet<Arc<str>>,
}

/// Rows per chunk of the log.
const CHUNK: usize = 4096;

/// Distinct texts kept before the table is cleared: metadata names callers and idempotency keys,
/// so a long-running store could see unboundedly many. Rows keep the texts they share.
const MAX_TEXTS: usize = 1 << 16;

impl Log {
    fn len(&self) -> usize {
        self.len
    }

    /// The shared copy of `text`.
    fn text(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.texts.get(text) {
            return shared.clone();
        }
        if self.texts.len() >= MAX_TEXTS {
            self.texts.clear();
        }
        let shared: Arc<str> = Arc::from(text);
        self.texts.insert(shared.clone());
        shared
    }

    fn push(&mut self, stream_id: StreamId, version: u64, event: NewEvent) {
        let row = Row {
            event_type: self.text(&event.event_type),
            metadata: self.text(&event.metadata),
            event_id: event.event_id,
            stream_id,
            version,
            recorded_at: event.recorded_at,
            schema_version: event.schema_version,
            payload: event.payload.into_boxed_str(),
        };
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(row),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(row);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// The event at `index` (its position is `index + 1`).
    fn get(&self, index: usize) -> Option<RecordedEvent> {
        let row = self.chunks.get(index / CHUNK)?.get(index % CHUNK)?;
        Some(row.recorded(index as u64 + 1))
    }

    /// The events from `index` on, in order.
    fn iter_from(&self, index: usize) -> impl Iterator<Item = RecordedEvent> + '_ {
        let (first, offset) = (index / CHUNK, index % CHUNK);
        self.chunks.iter().enumerate().skip(first).flat_map(move |(c, chunk)| {
            let from = if c == first { offset.min(chunk.len()) } else { 0 };
            chunk[from..]
                .iter()
                .enumerate()
                .map(move |(i, row)| row.recorded((c * CHUNK + from + i) as u64 + 1))
        })
    }
}

#[derive(Default)]
struct Inner {
    log: Log,
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
        let inner = &mut *inner;
        let first_position = inner.log.len() as u64 + 1;
        let mut version = current;
        if !request.events.is_empty() {
            let versions = inner.streams.entry(request.stream_id.clone()).or_default();
            versions.reserve(request.events.len());
            for e in request.events {
                version += 1;
                let idx = inner.log.len();
                inner.log.push(request.stream_id.clone(), version, e);
                versions.push(idx);
            }
        }
        let last_position = if version > current { inner.log.len() as u64 } else { 0 };
        if let Some(mut entry) = request.index {
            match inner.index.entry(request.stream_id.clone()) {
                Entry::Occupied(mut row) => {
                    entry.seq = row.get().seq;
                    row.insert(entry);
                }
                Entry::Vacant(row) => {
                    entry.seq = first_position;
                    row.insert(entry);
                }
            }
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
            .filter_map(|&i| inner.log.get(i))
            .collect())
    }

    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let inner = self.lock();
        let from = usize::try_from(after_position).unwrap_or(usize::MAX);
        Ok(inner.log.iter_from(from).take(limit).collect())
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

#[cfg(test)]
mod tests {
    use zoom_core::event::NewEvent;

    use super::*;

    fn event(n: usize, metadata: &str) -> NewEvent {
        NewEvent {
            event_id: EventId::from_entropy((n as u128).to_le_bytes()),
            event_type: "meeting.started".into(),
            schema_version: 1,
            payload: format!("{{\"n\":{n}}}"),
            metadata: metadata.into(),
            recorded_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    /// Past a chunk's end, positions, versions and texts read back as they were appended, from
    /// any position, and rows share their metadata text with no change to what is read.
    #[tokio::test]
    async fn the_log_reads_back_across_chunks() {
        let store = MemoryStore::new();
        let streams: Vec<StreamId> = (0..3)
            .map(|i| StreamId::new(format!("mtg_{i}")).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let total = CHUNK * 2 + 7;
        let mut versions = [0u64; 3];
        let mut n = 0;
        while n < total {
            let s = n % 3;
            let batch: Vec<NewEvent> = (n..(n + 2).min(total))
                .map(|k| event(k, &format!("{{\"m\":{}}}", k % 5)))
                .collect();
            let len = batch.len() as u64;
            let request = AppendRequest {
                stream_id: streams[s].clone(),
                expected_version: versions[s],
                events: batch,
                index: None,
                snapshot: None,
                links: vec![],
                idempotency: None,
            };
            let done = store.append(request).await.unwrap_or_else(|e| panic!("{e}"));
            versions[s] += len;
            assert_eq!(done.version, versions[s]);
            n += len as usize;
        }
        assert_eq!(store.head_position().await.ok(), Some(total as u64));
        for from in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            2 * CHUNK,
            total - 1,
            total,
            total + 5,
        ] {
            let rows = store.read_all(from as u64, 10).await.unwrap_or_default();
            assert_eq!(rows.len(), 10.min(total.saturating_sub(from)), "from {from}");
            for (i, row) in rows.iter().enumerate() {
                let k = from + i;
                assert_eq!(row.position, k as u64 + 1);
                assert_eq!(row.payload, format!("{{\"n\":{k}}}"));
                assert_eq!(row.metadata, format!("{{\"m\":{}}}", k % 5));
                assert_eq!(row.event_id, EventId::from_entropy((k as u128).to_le_bytes()));
            }
        }
        let all = store.read_all(0, total).await.unwrap_or_default();
        assert_eq!(all.len(), total);
        for (s, stream) in streams.iter().enumerate() {
            let rows = store.read_stream(stream, 1, total).await.unwrap_or_default();
            assert_eq!(rows.len() as u64, versions[s]);
            assert!(
                rows.iter()
                    .enumerate()
                    .all(|(i, r)| r.version == i as u64 + 1 && &r.stream_id == stream)
            );
            let tail = store.read_stream(stream, versions[s], 5).await.unwrap_or_default();
            assert_eq!(tail.len(), 1);
            assert_eq!(tail[0], rows[rows.len() - 1]);
            assert_eq!(all[tail[0].position as usize - 1], tail[0]);
        }
    }
}
