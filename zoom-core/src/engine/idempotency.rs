//! Idempotency keys: the one path by which a repeated request gets its first answer back.
//!
//! A record is keyed by account, subject and the client's key, and holds a fingerprint of the
//! request (kind, target, body) and a small reply: for a command, the stream and the version it
//! left the stream at (a replay folds the stream up to that version, so the record stays small
//! however large the state is); for a join token, the token itself. Records carry a format
//! version, as snapshots do, and expire after [`EngineConfig::idempotency_ttl`](super::EngineConfig)
//! (24 hours by default); expired records are pruned from the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::EngineError;
use crate::clock::Clock;
use crate::event::StreamId;
use crate::principal::Principal;
use crate::store::{IdempotencyRecord, Store, StoreError};

/// The format of the replies this engine writes. Format 1 (before versions) was the reply's bare
/// JSON; it is still read.
pub const IDEMPOTENCY_FORMAT: u32 = 2;

/// The default lifetime of an idempotency record.
pub const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::hours(24);

/// An idempotent request: its scoped key and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) key: String,
    pub(crate) fingerprint: String,
}

impl Request {
    /// The request `key` of `principal` (none: the system) doing `op` on `target` with `body`.
    pub(crate) fn new(
        principal: Option<&Principal>,
        op: &str,
        target: Option<&str>,
        body: &impl Serialize,
        key: &str,
    ) -> Result<Self, EngineError> {
        let body = serde_json::to_string(body).map_err(|e| EngineError::internal("fingerprinting a request", e))?;
        let mut hash = Sha256::new();
        hash.update(op.as_bytes());
        hash.update([0]);
        hash.update(target.unwrap_or("").as_bytes());
        hash.update([0]);
        hash.update(body.as_bytes());
        let scope = match principal {
            Some(p) => format!("{}/{}", p.account_id, p.subject),
            None => "system/system".to_owned(),
        };
        Ok(Self {
            key: format!("{scope}/{key}"),
            fingerprint: hex::encode(hash.finalize()),
        })
    }
}

/// What a record says the first answer was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Reply {
    /// A command: the stream it ran on and the version it left it at.
    Stream {
        /// The stream.
        stream: StreamId,
        /// Its version after the command.
        version: u64,
    },
    /// Another answer (a join token), as JSON.
    Value {
        /// The answer.
        value: serde_json::Value,
    },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    format: u32,
    #[serde(flatten)]
    reply: Reply,
}

/// A found record's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// A reply of the current format.
    Reply(Reply),
    /// A format-1 record: the first answer's bare JSON.
    Legacy(String),
}

/// Looks records up, writes them and prunes the expired ones.
pub(crate) struct Idempotency {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    last_prune: AtomicI64,
}

impl Idempotency {
    pub(crate) fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        Self {
            store,
            clock,
            ttl,
            last_prune: AtomicI64::new(i64::MIN),
        }
    }

    fn expired(&self, created_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        created_at + self.ttl <= now
    }

    /// The first answer to `request`, or `None` when it is new (or its record expired).
    ///
    /// # Errors
    /// [`EngineError::IdempotencyMismatch`] when the key was used with another request; a store
    /// failure.
    pub(crate) async fn lookup(&self, request: &Request) -> Result<Option<Found>, EngineError> {
        let now = self.clock.now();
        self.prune_now_and_then(now).await?;
        let Some(record) = self.store.get_idempotency(&request.key).await? else {
            return Ok(None);
        };
        if self.expired(record.created_at, now) {
            // The key may be used again: clear the expired record (and any other) out of its way.
            self.prune(now).await?;
            return Ok(None);
        }
        if record.fingerprint != request.fingerprint {
            return Err(EngineError::IdempotencyMismatch);
        }
        Ok(Some(decode(&record)?))
    }

    /// The record of `request`'s first answer.
    pub(crate) fn record(&self, request: &Request, reply: Reply) -> Result<IdempotencyRecord, EngineError> {
        let text = serde_json::to_string(&Envelope {
            format: IDEMPOTENCY_FORMAT,
            reply,
        })
        .map_err(|e| EngineError::internal("encoding an idempotency record", e))?;
        Ok(IdempotencyRecord {
            key: request.key.clone(),
            fingerprint: request.fingerprint.clone(),
            reply: text,
            created_at: self.clock.now(),
        })
    }

    /// Stores the record of a request that appended nothing.
    ///
    /// # Errors
    /// As [`crate::store::EventStore::put_idempotency`].
    pub(crate) async fn put(&self, record: IdempotencyRecord) -> Result<(), StoreError> {
        self.store.put_idempotency(record).await
    }

    /// Prunes at most once per hundredth of the lifetime, so pruning costs nothing per request.
    async fn prune_now_and_then(&self, now: DateTime<Utc>) -> Result<(), EngineError> {
        let every = (self.ttl.num_seconds() / 100).max(1);
        let last = self.last_prune.load(Ordering::Relaxed);
        if last != i64::MIN && now.timestamp() - last < every {
            return Ok(());
        }
        self.prune(now).await
    }

    async fn prune(&self, now: DateTime<Utc>) -> Result<(), EngineError> {
        self.last_prune.store(now.timestamp(), Ordering::Relaxed);
        self.store.prune_idempotency(now - self.ttl).await?;
        Ok(())
    }
}

fn decode(record: &IdempotencyRecord) -> Result<Found, EngineError> {
    let corrupt = |reason: String| {
        EngineError::Store(StoreError::Corrupt {
            row: format!("idempotency {}", record.key),
            reason,
        })
    };
    let value: serde_json::Value = serde_json::from_str(&record.reply).map_err(|e| corrupt(e.to_string()))?;
    match value.get("format").and_then(serde_json::Value::as_u64) {
        Some(f) if f == u64::from(IDEMPOTENCY_FORMAT) => serde_json::from_value::<Envelope>(value)
            .map(|e| Found::Reply(e.reply))
            .map_err(|e| corrupt(e.to_string())),
        Some(f) if f > u64::from(IDEMPOTENCY_FORMAT) => Err(corrupt(format!(
            "idempotency format {f} is newer than this engine's {IDEMPOTENCY_FORMAT}"
        ))),
        _ => Ok(Found::Legacy(record.reply.clone())),
    }
}
