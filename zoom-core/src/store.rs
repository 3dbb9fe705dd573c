//! The storage seam: what a store must do, and nothing about how.
//!
//! Adapters (`zoom-store-memory`, `zoom-store-sqlite`, `zoom-store-postgres`) implement
//! [`EventStore`] and [`DeliveryStore`]; the conformance suite (`testing::conformance`, feature
//! `testing`) checks any implementation against the contract written on each method.
//!
//! Stores keep plain rows: event envelopes with JSON text, a small index row and an optional
//! snapshot per stream, links from secondary keys to streams, idempotency records, and the webhook
//! outbox. They never interpret payloads.

pub mod migration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{NewEvent, RecordedEvent, StreamId};
use crate::id::{AccountId, EventId, WebhookId};

/// Why a store call failed. Each variant says how the caller handles it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The stream is not at the expected version: someone else appended first. Nothing was
    /// written. Reload the stream and decide again.
    #[error("stream {stream_id} is at version {actual}, not the expected {expected}")]
    Conflict {
        /// The stream.
        stream_id: String,
        /// What the caller expected.
        expected: u64,
        /// What it is.
        actual: u64,
    },
    /// An idempotency record with this key already exists. Nothing was written. Read the record
    /// and replay it.
    #[error("idempotency key already used")]
    DuplicateIdempotencyKey,
    /// A stored row cannot be read (corrupt JSON, bad column). Names the row; other rows stay
    /// readable. Not retryable: an operator must look.
    #[error("corrupt row {row}: {reason}")]
    Corrupt {
        /// Which row (`stream@version`, `delivery 42`, …).
        row: String,
        /// What is wrong.
        reason: String,
    },
    /// The store is briefly unreachable: the database is locked or busy past its timeout, the
    /// connection was lost or refused, the server is shutting down or restarting, a pool is
    /// exhausted, the store is closed. Nothing was written (a write's outcome is never half
    /// done). Retryable: retry later, with backoff.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store's disk (or its quota) is full. Nothing was written; reads still work. Not
    /// fixed by retrying soon: writes fail until an operator frees space.
    #[error("store full: {0}")]
    Full(String),
    /// The store accepts no writes: its file, directory or mount is read-only, or the database
    /// server is a read-only replica or in a read-only transaction. Nothing was written; reads
    /// still work. An operator must make it writable (or point the service at the primary).
    #[error("store read-only: {0}")]
    ReadOnly(String),
    /// The storage device reported an I/O error. Nothing was acknowledged; what was committed
    /// before is intact. An operator must check the disk; a retry may succeed if the fault was
    /// transient.
    #[error("store I/O error: {0}")]
    Io(String),
    /// The request itself is invalid (a bug in the caller): it breaks the store's contract (an
    /// event id stored twice, an empty append). Nothing was written. Not retryable.
    #[error("invalid store request: {0}")]
    Invalid(String),
}

/// The list row of a stream, rewritten on every append that passes one: what list queries filter
/// and page on without loading states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The stream.
    pub stream_id: StreamId,
    /// `meeting` or `webhook`.
    pub kind: String,
    /// Owning account.
    pub account_id: AccountId,
    /// Host id (meetings) or owner (webhooks).
    pub owner: String,
    /// State name (`LIVE`, `healthy`…).
    pub state: String,
    /// The time lists filter on (a meeting's start time, a webhook's creation).
    pub time: DateTime<Utc>,
    /// Set by the store: the position of the stream's first indexed append. Immutable, so
    /// paging by it is stable while rows change.
    #[serde(default)]
    pub seq: u64,
}

/// A list query over [`IndexEntry`] rows. Results are ordered by `seq` ascending, starting after
/// `after_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexQuery {
    /// `meeting` or `webhook`.
    pub kind: String,
    /// Only this account.
    pub account_id: Option<AccountId>,
    /// Only this owner.
    pub owner: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Only `time >= from`.
    pub from: Option<DateTime<Utc>>,
    /// Only `time < to`.
    pub to: Option<DateTime<Utc>>,
    /// Only `seq > after_seq` (the cursor).
    pub after_seq: u64,
    /// At most this many rows.
    pub limit: usize,
}

impl IndexQuery {
    /// Whether `entry` matches every filter (stores without SQL use this).
    pub fn matches(&self, e: &IndexEntry) -> bool {
        e.kind == self.kind
            && e.seq > self.after_seq
            && self.account_id.as_ref().is_none_or(|a| a == &e.account_id)
            && self.owner.as_ref().is_none_or(|o| o == &e.owner)
            && self.state.as_ref().is_none_or(|s| s == &e.state)
            && self.from.is_none_or(|f| e.time >= f)
            && self.to.is_none_or(|t| e.time < t)
    }
}

/// A folded state saved at a version, so loading does not replay the whole stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The stream.
    pub stream_id: StreamId,
    /// The version it was folded up to.
    pub version: u64,
    /// The state as JSON text (the engine's format; see `engine::SNAPSHOT_FORMAT`).
    pub state: String,
    /// The engine's snapshot format; a mismatch means "ignore and replay".
    pub format: u32,
}

/// The first result of a request made with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Scoped key: account, subject and the client's key.
    pub key: String,
    /// Hash of the request, to tell a replay from a different request with the same key.
    pub fingerprint: String,
    /// The first result, as JSON text.
    pub reply: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Everything one command writes, atomically: all of it or none of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendRequest {
    /// The stream.
    pub stream_id: StreamId,
    /// The version the stream must be at (0: it must not exist yet).
    pub expected_version: u64,
    /// The events; may be empty only when `idempotency` is set.
    pub events: Vec<NewEvent>,
    /// The stream's new list row, if it changed.
    pub index: Option<IndexEntry>,
    /// A snapshot at the new version, if the engine decided to take one.
    pub snapshot: Option<Snapshot>,
    /// Secondary keys (a recording id) that resolve to this stream. Existing links are kept.
    pub links: Vec<String>,
    /// The idempotency record of this request. An existing key fails the whole append with
    /// [`StoreError::DuplicateIdempotencyKey`].
    pub idempotency: Option<IdempotencyRecord>,
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The stream's version after the append.
    pub version: u64,
    /// The position of the last appended event (0 when none were).
    pub last_position: u64,
}

/// An append-only event log with per-stream optimistic concurrency.
///
/// Contract (checked by the conformance suite):
/// - `append` is atomic: all events, the index row, the snapshot, the links and the idempotency
///   record are written, or nothing is. A stale `expected_version` is [`StoreError::Conflict`].
/// - Versions are 1, 2, 3… per stream without gaps; positions are globally strictly increasing in
///   commit order, and a reader of [`EventStore::read_all`] never sees a position go backwards
///   (nor, later, an event appear behind one it already saw).
/// - Snapshots never change what a fold returns; a store may drop them at any time.
/// - A corrupt row is [`StoreError::Corrupt`] naming it, never a panic.
/// - All methods are safe to call concurrently from many tasks.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends events to a stream at an expected version.
    ///
    /// # Errors
    /// `Conflict` (stale version), `DuplicateIdempotencyKey`, `Unavailable`, `Invalid`.
    async fn append(&self, request: AppendRequest) -> Result<Appended, StoreError>;

    /// Reads up to `limit` events of a stream with `version >= from_version`, in version order.
    ///
    /// # Errors
    /// `Corrupt`, `Unavailable`.
    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Reads up to `limit` events with `position > after_position`, in position order.
    ///
    /// # Errors
    /// `Corrupt`, `Unavailable`.
    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The current version of a stream (0 when it does not exist).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError>;

    /// The position of the newest event (0 for an empty log).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn head_position(&self) -> Result<u64, StoreError>;

    /// The newest snapshot of a stream, if the store keeps one.
    ///
    /// # Errors
    /// `Corrupt`, `Unavailable`.
    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError>;

    /// List rows matching a query, ordered by `seq`.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn query_index(&self, query: &IndexQuery) -> Result<Vec<IndexEntry>, StoreError>;

    /// The stream a secondary key links to.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn resolve_link(&self, key: &str) -> Result<Option<StreamId>, StoreError>;

    /// The idempotency record under `key`.
    ///
    /// # Errors
    /// `Corrupt`, `Unavailable`.
    async fn get_idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Stores an idempotency record for a request that appended nothing.
    ///
    /// # Errors
    /// `DuplicateIdempotencyKey` when the key exists, `Unavailable`.
    async fn put_idempotency(&self, record: IdempotencyRecord) -> Result<(), StoreError>;

    /// Deletes the idempotency records created before `before` (they have expired): their keys
    /// may then be used again. Returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn prune_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer was received.
    Succeeded,
    /// Every retry failed, or the subscription is gone; can be sent again on request.
    Failed,
}

impl DeliveryState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Succeeded => "succeeded",
            DeliveryState::Failed => "failed",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A delivery to create: one catalogue event for one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// The subscription.
    pub subscription_id: WebhookId,
    /// Its account.
    pub account_id: AccountId,
    /// The event (also `webhook-id`).
    pub event_id: EventId,
    /// The catalogue name.
    pub event_type: String,
    /// The event's log position.
    pub position: u64,
    /// The exact body to POST on every attempt.
    pub body: String,
    /// When to try first.
    pub next_attempt_at: DateTime<Utc>,
}

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Store-assigned id.
    pub id: u64,
    /// The subscription.
    pub subscription_id: WebhookId,
    /// Its account.
    pub account_id: AccountId,
    /// The event.
    pub event_id: EventId,
    /// The catalogue name.
    pub event_type: String,
    /// The event's log position.
    pub position: u64,
    /// The body.
    pub body: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Its state.
    pub state: DeliveryState,
    /// When to try next (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
}

/// One attempt to deliver, as shown by `GET /v1/webhooks/{id}/deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// The delivery.
    pub delivery_id: u64,
    /// The subscription.
    pub subscription_id: WebhookId,
    /// The event.
    pub event_id: EventId,
    /// The catalogue name.
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it was sent.
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status code, if it answered.
    pub status_code: Option<u16>,
    /// Time to the answer or the error.
    pub latency_ms: u64,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// When the next attempt is due, if any.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl DeliveryAttempt {
    /// The state this attempt left its delivery in: `succeeded` on a 2xx answer, `pending`
    /// when another attempt is due, `failed` after the last retry (or when nothing could be
    /// sent). This is the `status` of a row of the delivery log.
    pub fn status(&self) -> DeliveryState {
        match (self.status_code, self.next_attempt_at) {
            (Some(200..=299), _) => DeliveryState::Succeeded,
            (_, Some(_)) => DeliveryState::Pending,
            _ => DeliveryState::Failed,
        }
    }
}

/// The webhook outbox: deliveries derived from the log, recorded durably, attempted and logged.
///
/// The log itself is the outbox's source: the delivery worker reads events after its checkpoint,
/// and [`DeliveryStore::enqueue`] writes the resulting deliveries and the new checkpoint in one
/// transaction. A crash between commit and enqueue loses nothing (the checkpoint did not move);
/// a crash after enqueue loses nothing (the deliveries are stored).
#[async_trait]
pub trait DeliveryStore: Send + Sync + 'static {
    /// The log position up to which `consumer` has enqueued (0 initially).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn checkpoint(&self, consumer: &str) -> Result<u64, StoreError>;

    /// Atomically inserts deliveries (skipping any whose `(subscription_id, event_id)` exists) and
    /// moves `consumer`'s checkpoint to `position` (never backwards).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn enqueue(&self, consumer: &str, position: u64, deliveries: Vec<NewDelivery>) -> Result<(), StoreError>;

    /// Up to `limit` pending deliveries due at `now`, earliest first.
    ///
    /// # Errors
    /// `Corrupt`, `Unavailable`.
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError>;

    /// When the earliest pending delivery is due, if any.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Records an attempt and sets the delivery's state and next attempt, atomically. The
    /// delivery's attempt count becomes `attempt.attempt`.
    ///
    /// # Errors
    /// `Invalid` for an unknown delivery, `Unavailable`.
    async fn record_attempt(
        &self,
        attempt: DeliveryAttempt,
        state: DeliveryState,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// A subscription's attempts, newest first, with a store-assigned sequence number per row;
    /// only rows with `seq < before` when given.
    ///
    /// # Errors
    /// `Corrupt`, `Unavailable`.
    async fn attempts(
        &self,
        subscription_id: &WebhookId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, DeliveryAttempt)>, StoreError>;

    /// A delivery by id.
    ///
    /// # Errors
    /// `Corrupt`, `Unavailable`.
    async fn delivery(&self, id: u64) -> Result<Option<Delivery>, StoreError>;

    /// Makes a subscription's deliveries with `from_position <= position <= to_position` pending
    /// again, due at `at`, whatever their state. Returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn requeue(
        &self,
        subscription_id: &WebhookId,
        from_position: u64,
        to_position: u64,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Deletes attempt rows older than `before`. Returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn prune_attempts(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// A complete store: the log and the outbox.
pub trait Store: EventStore + DeliveryStore {}

impl<T: EventStore + DeliveryStore> Store for T {}
