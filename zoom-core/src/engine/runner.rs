//! The runner: the one way any aggregate's state changes.
//!
//! A command runs as *check scope → replay its idempotency key → lock the stream → load the
//! state → decide → apply → append → cache*, with a bounded retry when another writer won the
//! race for the stream. The state is changed in place (it is taken out of the cache for the
//! command and put back after the append), so a command costs the same whatever the size of the
//! state or the length of its history; a failed append drops the changed state, and the next
//! command reloads it from the store.

use std::sync::Arc;

use chrono::Duration;

use super::EngineError;
use super::cache::{Cache, Folded};
use super::idempotency::{self, Found, Idempotency, Reply};
use crate::aggregate::{self, Aggregate, Context};
use crate::clock::{Clock, Entropy};
use crate::event::{MetadataRef, NewEvent, StreamId};
use crate::id::EventId;
use crate::principal::Principal;
use crate::store::{AppendRequest, Snapshot, Store, StoreError};

/// The format of stored snapshots; a snapshot in another format is ignored and the stream replayed.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// How a runner caches, snapshots and retries.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The least number of events between two snapshots of a stream. The runner waits longer for
    /// large states (at least the state's [`Aggregate::weight`] events), so snapshots cost O(1)
    /// per command, amortised.
    pub snapshot_every: u64,
    /// How many times a command is re-decided after losing an optimistic-concurrency race.
    pub max_conflict_retries: u32,
    /// How many states the cache keeps (0: none).
    pub cache_capacity: usize,
    /// This process is the only writer of the store: reads are answered from the cache and a
    /// command decides on the cached state without asking the store for newer events first
    /// (optimistic concurrency still catches another writer). Leave it off when several
    /// processes write to one store.
    pub exclusive: bool,
    /// How long an idempotency record is replayed before its key may be used again.
    pub idempotency_ttl: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            snapshot_every: 64,
            max_conflict_retries: 8,
            cache_capacity: 100_000,
            exclusive: false,
            idempotency_ttl: idempotency::DEFAULT_IDEMPOTENCY_TTL,
        }
    }
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Executed<S> {
    /// The state after it (shared with the cache, not a copy, for states that share).
    pub state: S,
    /// The stream's version after it.
    pub version: u64,
    /// How many events it appended (0: a no-op, or a replay).
    pub appended: usize,
    /// Whether this is the replayed answer of an earlier request with the same idempotency key.
    pub replayed: bool,
}

/// Runs the commands of one aggregate against a store. Cheap to share; every method takes `&self`.
pub struct Runner<A: Aggregate> {
    aggregate: A,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    config: RunnerConfig,
    cache: Cache<A::State>,
    idempotency: Idempotency,
}

impl<A: Aggregate> std::fmt::Debug for Runner<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("kind", &A::KIND)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<A: Aggregate> Runner<A> {
    /// A runner of `aggregate` over a store.
    pub fn new(
        aggregate: A,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        config: RunnerConfig,
    ) -> Self {
        Self {
            cache: Cache::new(config.cache_capacity),
            idempotency: Idempotency::new(store.clone(), clock.clone(), config.idempotency_ttl),
            aggregate,
            store,
            clock,
            entropy,
            config,
        }
    }

    /// The aggregate.
    pub fn aggregate(&self) -> &A {
        &self.aggregate
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    pub(crate) fn idempotency(&self) -> &Idempotency {
        &self.idempotency
    }

    /// Runs `command` on the stream of `id` (`None`: a new stream with a fresh id, for aggregates
    /// that make one) as `principal` (`None`: the system itself). With an idempotency key, a
    /// repeat returns the first answer ([`Executed::replayed`]) and another request with the same
    /// key is [`EngineError::IdempotencyMismatch`].
    ///
    /// # Errors
    /// [`EngineError`]: a missing scope or a refused rule (`Domain`), a mismatched key,
    /// `Contention` after `max_conflict_retries` lost races, a store or decode failure.
    pub async fn execute(
        &self,
        id: Option<&A::Id>,
        principal: Option<&Principal>,
        command: &A::Command,
        idempotency_key: Option<&str>,
    ) -> Result<Executed<A::State>, EngineError> {
        aggregate::authorize(&self.aggregate, command, principal)?;
        let request = match idempotency_key {
            Some(key) => {
                let target = id.map(|id| self.aggregate.stream(id)).transpose()?;
                let request =
                    idempotency::Request::new(principal, A::KIND, target.as_ref().map(StreamId::as_str), command, key)?;
                if let Some(found) = self.idempotency.lookup(&request).await? {
                    return self.replay(found).await;
                }
                Some(request)
            }
            None => None,
        };
        let id = match id {
            Some(id) => id.clone(),
            None => self
                .aggregate
                .fresh_id(self.entropy.as_ref())
                .ok_or_else(|| crate::error::DomainError::invalid("id", "is required"))?,
        };
        let stream = self.aggregate.stream(&id)?;
        let slot = self.cache.slot(&stream);
        let mut cached = slot.lock().await;
        for _ in 0..=self.config.max_conflict_retries {
            let (mut folded, mut fresh) = self.load_locked(&stream, cached.take(), true).await?;
            let now = self.clock.now();
            let ctx = Context {
                id: &id,
                now,
                principal,
                entropy: self.entropy.as_ref(),
            };
            let events = loop {
                let decided = self.aggregate.decide(&folded.state, command, &ctx);
                // A refusal or a no-op appends nothing, so no expected version can catch a stale
                // state: decided on an unchecked cached state, it is checked against the store.
                let unchecked = matches!(&decided, Ok(events) if events.is_empty()) || decided.is_err();
                if unchecked && !fresh {
                    fresh = true;
                    if self.catch_up(&stream, &mut folded).await? {
                        continue;
                    }
                }
                match decided {
                    Ok(events) => break events,
                    Err(e) => {
                        self.keep(&mut cached, folded);
                        return Err(EngineError::Domain(e.into()));
                    }
                }
            };
            let version = folded.version;
            let record = match &request {
                Some(r) => Some(self.idempotency.record(
                    r,
                    Reply::Stream {
                        stream: stream.clone(),
                        version: version + events.len() as u64,
                    },
                )?),
                None => None,
            };
            if events.is_empty() {
                if let Some(record) = record {
                    match self.idempotency.put(record).await {
                        Ok(()) => {}
                        Err(StoreError::DuplicateIdempotencyKey) => {
                            self.keep(&mut cached, folded);
                            drop(cached);
                            return self.replay_request(request.as_ref()).await;
                        }
                        Err(e) => {
                            self.keep(&mut cached, folded);
                            return Err(e.into());
                        }
                    }
                }
                let state = folded.state.clone();
                self.keep(&mut cached, folded);
                return Ok(Executed {
                    state,
                    version,
                    appended: 0,
                    replayed: false,
                });
            }
            // Change the state in place; if the append fails it is dropped, never cached.
            for (i, e) in events.iter().enumerate() {
                A::apply(&mut folded.state, e, version + 1 + i as u64);
            }
            let new_version = version + events.len() as u64;
            // One metadata text for all of the command's events, written from borrowed names.
            let account = self.aggregate.account(&folded.state);
            let causation = self.aggregate.causation(command);
            let metadata = MetadataRef {
                account_id: account.as_ref(),
                subject: principal.map(|p| &p.subject),
                kind: principal.map(|p| p.kind),
                idempotency_key: request.as_ref().map(|r| r.key.as_str()),
                causation: Some(&causation),
            }
            .to_json()
            .map_err(|e| EngineError::internal("encoding metadata", e))?;
            let mut new_events = Vec::with_capacity(events.len());
            let mut metadata = Some(metadata);
            for (i, e) in events.iter().enumerate() {
                let event_id = EventId::from_entropy(self.entropy.id_bytes());
                // The last event takes the text; the others share copies of it.
                let text = if i + 1 == events.len() {
                    metadata.take().unwrap_or_default()
                } else {
                    metadata.clone().unwrap_or_default()
                };
                new_events.push(
                    NewEvent::encode_with_metadata_json(event_id, &A::widen(e), text, now)
                        .map_err(|e| EngineError::internal("encoding an event", e))?,
                );
            }
            let snapshot = self.snapshot_due(&folded, new_version)?.map(|state| Snapshot {
                stream_id: stream.clone(),
                version: new_version,
                state,
                format: SNAPSHOT_FORMAT,
            });
            let index = self.aggregate.index(&folded.state);
            let index_changed = index != folded.index;
            let request_row = AppendRequest {
                stream_id: stream.clone(),
                expected_version: version,
                events: new_events,
                index: if index_changed { index.clone() } else { None },
                snapshot,
                links: events.iter().filter_map(A::link).collect(),
                idempotency: record,
            };
            let snapshotted = request_row.snapshot.is_some();
            match self.store.append(request_row).await {
                Ok(_) => {
                    folded.version = new_version;
                    folded.index = index;
                    if snapshotted {
                        folded.snapshot_version = new_version;
                    }
                    let state = folded.state.clone();
                    self.keep(&mut cached, folded);
                    return Ok(Executed {
                        state,
                        version: new_version,
                        appended: events.len(),
                        replayed: false,
                    });
                }
                // Another writer was first: the changed state is dropped; reload and decide again.
                Err(StoreError::Conflict { .. }) => {}
                Err(StoreError::DuplicateIdempotencyKey) => {
                    drop(cached);
                    return self.replay_request(request.as_ref()).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Contention(stream.to_string()))
    }

    /// The state's JSON when a snapshot is due at `new_version`.
    fn snapshot_due(&self, folded: &Folded<A::State>, new_version: u64) -> Result<Option<String>, EngineError> {
        if !self.aggregate.snapshots() || !A::exists(&folded.state) {
            return Ok(None);
        }
        let interval = self.config.snapshot_every.max(1).max(A::weight(&folded.state));
        if new_version - folded.snapshot_version < interval {
            return Ok(None);
        }
        serde_json::to_string(&folded.state)
            .map(Some)
            .map_err(|e| EngineError::internal("encoding a snapshot", e))
    }

    /// A concurrent request with the same key won: answer with its reply.
    async fn replay_request(&self, request: Option<&idempotency::Request>) -> Result<Executed<A::State>, EngineError> {
        let vanished = || {
            EngineError::Store(StoreError::Corrupt {
                row: "idempotency".into(),
                reason: "the record a duplicate key named vanished".into(),
            })
        };
        let request = request.ok_or_else(vanished)?;
        let found = self.idempotency.lookup(request).await?.ok_or_else(vanished)?;
        self.replay(found).await
    }

    /// The first answer a record names: the stream folded up to the version it recorded.
    async fn replay(&self, found: Found) -> Result<Executed<A::State>, EngineError> {
        match found {
            Found::Reply(Reply::Stream { stream, version }) => {
                let state = self.state_at(&stream, version).await?;
                Ok(Executed {
                    state,
                    version,
                    appended: 0,
                    replayed: true,
                })
            }
            Found::Reply(Reply::Value { .. }) => Err(EngineError::IdempotencyMismatch),
            Found::Legacy(text) => {
                let state: A::State = serde_json::from_str(&text).map_err(|e| {
                    EngineError::Store(StoreError::Corrupt {
                        row: "idempotency (format 1)".into(),
                        reason: e.to_string(),
                    })
                })?;
                Ok(Executed {
                    state,
                    version: 0,
                    appended: 0,
                    replayed: true,
                })
            }
        }
    }

    /// The state of a stream as it was at `version`: the cached one when it is there, a fold of
    /// the stream's first `version` events otherwise (replays are rare; this costs the history).
    pub async fn state_at(&self, stream: &StreamId, version: u64) -> Result<A::State, EngineError> {
        if let Some(f) = self.cache.get(stream)
            && f.version == version
        {
            return Ok(f.state);
        }
        let mut state = A::State::default();
        let mut from = 1;
        while from <= version {
            let limit = usize::try_from((version - from + 1).min(1000)).unwrap_or(1000);
            let rows = self.store.read_stream(stream, from, limit).await?;
            let Some(last) = rows.last() else { break };
            from = last.version + 1;
            for row in &rows {
                if let Some(event) = A::decode(row)? {
                    A::apply(&mut state, &event, row.version);
                }
            }
        }
        Ok(state)
    }

    /// The state of a stream for a query: from the cache alone when this process is the store's
    /// only writer, caught up with the stream's tail otherwise.
    ///
    /// # Errors
    /// A store or decode failure.
    pub async fn read(&self, id: &A::Id) -> Result<A::State, EngineError> {
        self.read_stream(&self.aggregate.stream(id)?).await
    }

    /// [`Runner::read`] by stream id.
    ///
    /// # Errors
    /// A store or decode failure.
    pub async fn read_stream(&self, stream: &StreamId) -> Result<A::State, EngineError> {
        if self.config.exclusive
            && let Some(f) = self.cache.get(stream)
        {
            return Ok(f.state);
        }
        let slot = self.cache.slot(stream);
        let mut cached = slot.lock().await;
        let (folded, _) = self.load_locked(stream, cached.take(), false).await?;
        let state = folded.state.clone();
        self.keep(&mut cached, folded);
        Ok(state)
    }

    /// Puts a state back into its stream's slot (whose lock the caller holds), when the cache
    /// keeps states.
    fn keep(&self, slot: &mut Option<Folded<A::State>>, folded: Folded<A::State>) {
        if self.cache.keeps_states() {
            *slot = Some(folded);
        }
    }

    /// Loads a stream's state with its lock held: the cached one (`cached`, taken out of the
    /// stream's slot), or from the newest snapshot, and caught up with the stream's tail, unless
    /// this process is the only writer and the caller is a command (whose append checks the
    /// version anyway). Says whether the state was caught up.
    async fn load_locked(
        &self,
        stream: &StreamId,
        cached: Option<Folded<A::State>>,
        command: bool,
    ) -> Result<(Folded<A::State>, bool), EngineError> {
        let mut folded = match cached {
            Some(f) if command && self.config.exclusive => return Ok((f, false)),
            Some(f) => f,
            None => self.cold(stream).await?,
        };
        self.catch_up(stream, &mut folded).await?;
        Ok((folded, true))
    }

    /// Applies the stream's events after the folded version; says whether there were any.
    async fn catch_up(&self, stream: &StreamId, folded: &mut Folded<A::State>) -> Result<bool, EngineError> {
        let mut changed = false;
        loop {
            let rows = self.store.read_stream(stream, folded.version + 1, 1000).await?;
            let Some(last) = rows.last() else { break };
            let last_version = last.version;
            for row in &rows {
                if let Some(event) = A::decode(row)? {
                    A::apply(&mut folded.state, &event, row.version);
                }
            }
            folded.version = last_version;
            changed = true;
        }
        if changed {
            // Another writer's events: the list row it wrote is not the one remembered here.
            folded.index = None;
        }
        Ok(changed)
    }

    async fn cold(&self, stream: &StreamId) -> Result<Folded<A::State>, EngineError> {
        if self.aggregate.snapshots()
            && let Some(snap) = self.store.load_snapshot(stream).await?
            && snap.format == SNAPSHOT_FORMAT
            // A snapshot that does not decode is ignored: it is an optimisation, the log is the truth.
            && let Ok(state) = serde_json::from_str::<A::State>(&snap.state)
        {
            return Ok(Folded {
                state,
                version: snap.version,
                snapshot_version: snap.version,
                index: None,
            });
        }
        Ok(Folded {
            state: A::State::default(),
            version: 0,
            snapshot_version: 0,
            index: None,
        })
    }
}
