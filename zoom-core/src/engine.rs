//! The engine: runs commands against a store and answers queries.
//!
//! A command runs as *load state → decide → append → return*. Within one process, commands on the
//! same stream are serialised by a per-stream async lock, so concurrent callers on one meeting
//! queue instead of storming the store with conflicts; across processes, optimistic concurrency
//! (the expected version) decides, and a conflict is retried a bounded number of times.
//!
//! Loading costs the same however long a meeting's history is: states are cached in memory at a
//! known version and caught up with the stream's tail, and a snapshot is stored every
//! [`EngineConfig::snapshot_every`] events for cold loads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::{Clock, Entropy};
use crate::error::DomainError;
use crate::event::{DecodeError, Event, Metadata, NewEvent, RecordedEvent, StreamId};
use crate::files::FileUrlSigner;
use crate::id::{EventId, MeetingId, ParticipantId, RecordingId, TokenId, WebhookId};
use crate::meeting::{
    self, JoinRequest, Meeting, MeetingCommand, MeetingEvent, MeetingState, ParticipantStatus, Recording,
};
use crate::principal::{Principal, Scope};
use crate::store::{AppendRequest, IdempotencyRecord, IndexEntry, IndexQuery, Snapshot, Store, StoreError};
use crate::system::{JOIN_KEYS_STREAM, SigningKeyAdded, SystemEvent};
use crate::token::{self, JoinClaims, KeyRing, SigningKey};
use crate::webhook::{self, Subscription, WebhookCommand, WebhookEvent, address::AllowList};

/// The format of stored snapshots; a snapshot in another format is ignored and the stream replayed.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// Why the engine refused or failed a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// A business rule refused it; see [`DomainError`] for handling.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The `Idempotency-Key` was used before with a different request. HTTP 422.
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyMismatch,
    /// Other writers kept winning the race for this stream. Retry later; HTTP 503.
    #[error("too much contention on {0}; retry")]
    Contention(String),
    /// A stored event could not be decoded (corrupt or from a newer version). Operator attention.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The store failed. Retry when `Unavailable`; operator attention otherwise.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Deployment settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `iss` of join tokens: the server's public URL.
    pub issuer: String,
    /// `aud` of join tokens.
    pub audience: String,
    /// Where clients take their join tokens.
    pub sfu_url: String,
    /// Webhook destinations allowed even though not public.
    pub webhook_allow: AllowList,
    /// Signs recording file URLs.
    pub file_urls: FileUrlSigner,
    /// A snapshot is stored when a stream's version crosses a multiple of this.
    pub snapshot_every: u64,
    /// How many times a command is re-decided after losing an optimistic-concurrency race.
    pub max_conflict_retries: u32,
    /// How many states the in-memory cache keeps.
    pub cache_capacity: usize,
    /// This engine is the only writer of its store (one process owns it). Queries are then
    /// answered from the cache without asking the store for newer events, which saves a store
    /// round trip per read. Commands are unaffected: optimistic concurrency still catches another
    /// writer, and a conflict drops the cached state. Leave it off when several processes write
    /// to one store, or reads may miss the other processes' latest events. Default off.
    pub exclusive: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            audience: "sfu".into(),
            sfu_url: "wss://sfu.invalid".into(),
            webhook_allow: AllowList::default(),
            file_urls: FileUrlSigner::new("https://files.invalid/recordings", b"change-me".to_vec()),
            snapshot_every: 64,
            max_conflict_retries: 8,
            cache_capacity: 100_000,
            exclusive: false,
        }
    }
}

/// A page of results and the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Opaque cursor of the next page, `None` at the end.
    pub next_cursor: Option<String>,
}

/// Paging parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageRequest {
    /// 1 to 300; default 50.
    pub page_size: Option<i64>,
    /// A cursor from a previous page.
    pub cursor: Option<String>,
}

/// The largest page.
pub const MAX_PAGE_SIZE: usize = 300;
/// The page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: usize = 50;

impl PageRequest {
    fn size(&self) -> Result<usize, DomainError> {
        match self.page_size {
            None => Ok(DEFAULT_PAGE_SIZE),
            Some(n) if (1..=MAX_PAGE_SIZE as i64).contains(&n) => Ok(n as usize),
            Some(_) => Err(DomainError::invalid("page_size", "must be between 1 and 300")),
        }
    }

    fn offset(&self) -> Result<u64, DomainError> {
        match &self.cursor {
            None => Ok(0),
            Some(c) => {
                decode_cursor(c).ok_or_else(|| DomainError::invalid("cursor", "is not a cursor this API issued"))
            }
        }
    }
}

fn encode_cursor(n: u64) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("c1:{n}"))
}

fn decode_cursor(c: &str) -> Option<u64> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok()?;
    std::str::from_utf8(&raw).ok()?.strip_prefix("c1:")?.parse().ok()
}

/// Filters of the meeting list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeetingQuery {
    /// Only meetings this user hosts.
    pub host_id: Option<String>,
    /// Only meetings starting at or after.
    pub from: Option<DateTime<Utc>>,
    /// Only meetings starting before.
    pub to: Option<DateTime<Utc>>,
    /// Only meetings in this state.
    pub state: Option<MeetingState>,
}

/// An issued join token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinToken {
    /// The signed JWT.
    pub jwt: String,
    /// Where to present it.
    pub sfu_url: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Its claims.
    pub claims: JoinClaims,
}

/// The outcome of a subscription command. `secret` is only set when a secret was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookOutcome {
    /// The subscription after the command.
    pub subscription: Subscription,
    /// The new secret, shown once (subscribe, rotate).
    pub secret: Option<String>,
}

/// An aggregate the engine can load, cache and snapshot.
trait Aggregate: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    type Event;
    fn apply(state: &mut Option<Self>, event: &Self::Event, version: u64);
    fn narrow(event: Event) -> Option<Self::Event>;
    fn widen(event: Self::Event) -> Event;
    fn index(&self) -> IndexEntry;
    fn version(&self) -> u64;
}

impl Aggregate for Meeting {
    type Event = MeetingEvent;
    fn apply(state: &mut Option<Self>, event: &MeetingEvent, version: u64) {
        meeting::apply(state, event, version);
    }
    fn narrow(event: Event) -> Option<MeetingEvent> {
        match event {
            Event::Meeting(e) => Some(e),
            _ => None,
        }
    }
    fn widen(event: MeetingEvent) -> Event {
        Event::Meeting(event)
    }
    fn index(&self) -> IndexEntry {
        IndexEntry {
            stream_id: StreamId::from(&self.id),
            kind: "meeting".into(),
            account_id: self.account_id.clone(),
            owner: self.host_id.as_str().to_owned(),
            state: self.state.as_str().to_owned(),
            time: self.start_time,
            seq: 0,
        }
    }
    fn version(&self) -> u64 {
        self.version
    }
}

impl Aggregate for Subscription {
    type Event = WebhookEvent;
    fn apply(state: &mut Option<Self>, event: &WebhookEvent, version: u64) {
        webhook::apply(state, event, version);
    }
    fn narrow(event: Event) -> Option<WebhookEvent> {
        match event {
            Event::Webhook(e) => Some(e),
            _ => None,
        }
    }
    fn widen(event: WebhookEvent) -> Event {
        Event::Webhook(event)
    }
    fn index(&self) -> IndexEntry {
        IndexEntry {
            stream_id: StreamId::from(&self.id),
            kind: "webhook".into(),
            account_id: self.account_id.clone(),
            owner: self.owner.as_str().to_owned(),
            state: if self.active {
                self.state.as_str().to_owned()
            } else {
                "deleted".to_owned()
            },
            time: self.created_at,
            seq: 0,
        }
    }
    fn version(&self) -> u64 {
        self.version
    }
}

/// A bounded map of folded states. Eviction drops an arbitrary entry: a miss only costs a
/// snapshot load, and meetings have no useful recency order to protect.
struct Cache<A> {
    map: Mutex<HashMap<StreamId, A>>,
    capacity: usize,
}

impl<A: Clone> Cache<A> {
    fn new(capacity: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StreamId, A>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn get(&self, id: &StreamId) -> Option<A> {
        self.lock().get(id).cloned()
    }
    fn put(&self, id: StreamId, state: A) {
        let mut map = self.lock();
        if map.len() >= self.capacity
            && !map.contains_key(&id)
            && let Some(victim) = map.keys().next().cloned()
        {
            map.remove(&victim);
        }
        map.insert(id, state);
    }
    fn forget(&self, id: &StreamId) {
        self.lock().remove(id);
    }
}

/// The meeting engine. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    config: EngineConfig,
    join_keys: RwLock<KeyRing>,
    locks: Mutex<HashMap<StreamId, Arc<futures::lock::Mutex<()>>>>,
    meetings: Cache<Meeting>,
    webhooks: Cache<Subscription>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens an engine on a store, loading (or, on an empty store, creating) the join-token keys.
    ///
    /// # Errors
    /// A store failure, or a stored key that does not decode.
    pub async fn open(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        config: EngineConfig,
    ) -> Result<Self, EngineError> {
        let ring = load_or_create_ring(store.as_ref(), clock.as_ref(), entropy.as_ref(), JOIN_KEYS_STREAM).await?;
        Ok(Self {
            meetings: Cache::new(config.cache_capacity.max(1)),
            webhooks: Cache::new(config.cache_capacity.max(1)),
            store,
            clock,
            entropy,
            config,
            join_keys: RwLock::new(ring),
            locks: Mutex::new(HashMap::new()),
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The entropy source.
    pub fn entropy(&self) -> &Arc<dyn Entropy> {
        &self.entropy
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The join-token public keys (current and previous) as a JWKS document.
    pub fn jwks(&self) -> serde_json::Value {
        self.join_keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .jwks()
    }

    /// Creates a new join-token signing key; the previous one keeps verifying.
    ///
    /// # Errors
    /// A store failure.
    pub async fn rotate_join_key(&self) -> Result<(), EngineError> {
        let stream = system_stream(JOIN_KEYS_STREAM)?;
        let version = self.store.stream_version(&stream).await?;
        let key = new_key(self.clock.as_ref(), self.entropy.as_ref());
        append_key(
            self.store.as_ref(),
            &stream,
            version,
            &key,
            self.clock.now(),
            self.entropy.as_ref(),
        )
        .await?;
        self.join_keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .rotate(key)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(())
    }

    fn lock_for(&self, stream: &StreamId) -> Arc<futures::lock::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Drop locks nobody holds so the map does not grow with every meeting ever touched.
        if locks.len() > 4096 {
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        locks.entry(stream.clone()).or_default().clone()
    }

    /// Loads a state for a query: from the cache alone when this engine is the store's only
    /// writer, caught up with the stream's tail otherwise.
    async fn read<A: Aggregate>(&self, cache: &Cache<A>, stream: &StreamId) -> Result<Option<A>, EngineError> {
        if self.config.exclusive
            && let Some(state) = cache.get(stream)
        {
            return Ok(Some(state));
        }
        self.load(cache, stream).await
    }

    async fn load<A: Aggregate>(&self, cache: &Cache<A>, stream: &StreamId) -> Result<Option<A>, EngineError> {
        let mut state = cache.get(stream);
        if state.is_none()
            && let Some(snap) = self.store.load_snapshot(stream).await?
            && snap.format == SNAPSHOT_FORMAT
        {
            // A snapshot that does not decode is ignored: it is an optimisation, the log is the truth.
            state = serde_json::from_str::<A>(&snap.state)
                .ok()
                .filter(|s| s.version() == snap.version);
        }
        let mut from = state.as_ref().map_or(0, A::version) + 1;
        loop {
            let rows = self.store.read_stream(stream, from, 1000).await?;
            let Some(last) = rows.last() else { break };
            from = last.version + 1;
            for row in &rows {
                if let Some(event) = A::narrow(row.decode()?) {
                    A::apply(&mut state, &event, row.version);
                }
            }
        }
        if let Some(s) = &state {
            cache.put(stream.clone(), s.clone());
        }
        Ok(state)
    }

    /// Runs a decision against a stream with the lock held, retrying lost races.
    #[allow(clippy::too_many_arguments)]
    async fn run<A, F>(
        &self,
        cache: &Cache<A>,
        stream: &StreamId,
        principal: &Principal,
        causation: &str,
        links: impl Fn(&A::Event) -> Option<String>,
        idempotency: Option<(String, String)>,
        decide: F,
    ) -> Result<(Option<A>, Vec<A::Event>), EngineError>
    where
        A: Aggregate,
        A::Event: Clone,
        F: Fn(Option<&A>) -> Result<Vec<A::Event>, EngineError>,
    {
        let lock = self.lock_for(stream);
        let _guard = lock.lock().await;
        for _ in 0..=self.config.max_conflict_retries {
            let state = self.load(cache, stream).await?;
            let events = decide(state.as_ref())?;
            let version = state.as_ref().map_or(0, A::version);
            let mut next = state.clone();
            for (i, e) in events.iter().enumerate() {
                A::apply(&mut next, e, version + 1 + i as u64);
            }
            let record = match (&idempotency, &next) {
                (Some((key, fingerprint)), Some(n)) => Some(IdempotencyRecord {
                    key: key.clone(),
                    fingerprint: fingerprint.clone(),
                    reply: serde_json::to_string(n).map_err(|e| StoreError::Invalid(e.to_string()))?,
                    created_at: self.clock.now(),
                }),
                _ => None,
            };
            if events.is_empty() {
                if let Some(r) = record {
                    self.store.put_idempotency(r).await?;
                }
                return Ok((next, events));
            }
            let now = self.clock.now();
            let account = next.as_ref().map(|n| n.index().account_id);
            let metadata = Metadata {
                account_id: account,
                subject: Some(principal.subject.clone()),
                kind: Some(principal.kind),
                idempotency_key: idempotency.as_ref().map(|(k, _)| k.clone()),
                causation: Some(causation.to_owned()),
            };
            let mut new_events = Vec::with_capacity(events.len());
            for e in &events {
                let id = EventId::from_entropy(self.entropy.id_bytes());
                new_events.push(
                    NewEvent::encode(id, &A::widen(e.clone()), &metadata, now)
                        .map_err(|e| StoreError::Invalid(e.to_string()))?,
                );
            }
            let new_version = version + events.len() as u64;
            let every = self.config.snapshot_every.max(1);
            let snapshot = match &next {
                Some(n) if new_version / every > version / every => Some(Snapshot {
                    stream_id: stream.clone(),
                    version: new_version,
                    state: serde_json::to_string(n).map_err(|e| StoreError::Invalid(e.to_string()))?,
                    format: SNAPSHOT_FORMAT,
                }),
                _ => None,
            };
            let request = AppendRequest {
                stream_id: stream.clone(),
                expected_version: version,
                events: new_events,
                index: next.as_ref().map(A::index),
                snapshot,
                links: events.iter().filter_map(&links).collect(),
                idempotency: record,
            };
            match self.store.append(request).await {
                Ok(_) => {
                    if let Some(n) = &next {
                        cache.put(stream.clone(), n.clone());
                    }
                    return Ok((next, events));
                }
                Err(StoreError::Conflict { .. }) => cache.forget(stream),
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Contention(stream.to_string()))
    }

    /// Looks up a replayable first result for `key`, or `None` when the request is new.
    async fn replay<T: DeserializeOwned>(&self, key: &Option<(String, String)>) -> Result<Option<T>, EngineError> {
        let Some((key, fingerprint)) = key else { return Ok(None) };
        match self.store.get_idempotency(key).await? {
            None => Ok(None),
            Some(r) if &r.fingerprint == fingerprint => serde_json::from_str(&r.reply).map(Some).map_err(|e| {
                StoreError::Corrupt {
                    row: format!("idempotency {key}"),
                    reason: e.to_string(),
                }
                .into()
            }),
            Some(_) => Err(EngineError::IdempotencyMismatch),
        }
    }

    /// Runs a meeting command. `meeting_id` is `None` only for `Schedule` (the engine picks the id).
    /// With an idempotency key, a repeat returns the first result and a different request with the
    /// same key is [`EngineError::IdempotencyMismatch`].
    ///
    /// # Errors
    /// [`EngineError`]: a refused rule, a mismatched key, contention, or a store failure.
    pub async fn execute(
        &self,
        principal: &Principal,
        meeting_id: Option<&MeetingId>,
        command: MeetingCommand,
        idempotency_key: Option<&str>,
    ) -> Result<Meeting, EngineError> {
        require(principal, command.required_scope())?;
        let idem =
            idempotency_key.map(|k| idempotency(principal, "meeting", meeting_id.map(MeetingId::as_str), &command, k));
        if let Some(first) = self.replay::<Meeting>(&idem).await? {
            return Ok(first);
        }
        let id = match meeting_id {
            Some(id) => id.clone(),
            None => MeetingId::from_entropy(self.entropy.id_bytes()),
        };
        let stream = StreamId::from(&id);
        let causation = format!("meeting.{}", command_name(&command));
        let result = self
            .run(
                &self.meetings,
                &stream,
                principal,
                &causation,
                |e: &MeetingEvent| match e {
                    MeetingEvent::RecordingStarted(r) => Some(r.recording_id.as_str().to_owned()),
                    _ => None,
                },
                idem.clone(),
                |state| {
                    let ctx = meeting::Context {
                        now: self.clock.now(),
                        principal,
                        entropy: self.entropy.as_ref(),
                    };
                    Ok(meeting::decide(&id, state, &command, &ctx)?)
                },
            )
            .await;
        match result {
            Ok((Some(m), _)) => Ok(m),
            Ok((None, _)) => Err(DomainError::not_found("meeting", &id).into()),
            Err(EngineError::Store(StoreError::DuplicateIdempotencyKey)) => self
                .replay::<Meeting>(&idem)
                .await?
                .ok_or_else(|| StoreError::Invalid("idempotency record vanished".into()).into()),
            Err(e) => Err(e),
        }
    }

    /// Redeems a join token presented at the media seam: verifies it, then joins or waits.
    /// Returns the meeting after the join and the new participant's id.
    ///
    /// # Errors
    /// `Unauthorized` for a bad, expired or reused token; the join rules otherwise.
    pub async fn redeem(&self, principal: &Principal, jwt: &str) -> Result<(Meeting, ParticipantId), EngineError> {
        require(principal, Scope::Media)?;
        let claims = {
            let ring = self.join_keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            token::verify_join_token(
                &ring,
                jwt,
                &self.config.issuer,
                &self.config.audience,
                self.clock.now().timestamp(),
            )
        }
        .map_err(|e| DomainError::Unauthorized {
            code: "invalid_token",
            message: format!("the join token is not valid: {e}"),
        })?;
        let id = MeetingId::parse(&claims.mid).map_err(|_| DomainError::Unauthorized {
            code: "invalid_token",
            message: "the join token names no meeting".into(),
        })?;
        let pid = ParticipantId::parse(&claims.pid).map_err(|_| DomainError::Unauthorized {
            code: "invalid_token",
            message: "the join token names no participant".into(),
        })?;
        let m = self
            .execute(principal, Some(&id), MeetingCommand::Redeem { claims }, None)
            .await?;
        Ok((m, pid))
    }

    /// Issues a join token for a meeting (docs/api.md, join tokens).
    ///
    /// # Errors
    /// The join rules ([`meeting::authorize_join`]), a mismatched idempotency key, a store failure.
    pub async fn issue_join_token(
        &self,
        principal: &Principal,
        meeting_id: &MeetingId,
        request: &JoinRequest,
        idempotency_key: Option<&str>,
    ) -> Result<JoinToken, EngineError> {
        require(principal, Scope::MeetingJoin)?;
        let idem = idempotency_key.map(|k| idempotency(principal, "join", Some(meeting_id.as_str()), request, k));
        if let Some(first) = self.replay::<JoinToken>(&idem).await? {
            return Ok(first);
        }
        let meeting = self.meeting_visible(principal, meeting_id).await?;
        let now = self.clock.now();
        let ctx = meeting::Context {
            now,
            principal,
            entropy: self.entropy.as_ref(),
        };
        let grant = meeting::authorize_join(&meeting, request, &ctx)?;
        let iat = now.timestamp();
        let claims = JoinClaims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            sub: grant.subject,
            iat,
            nbf: iat,
            exp: iat + token::JOIN_TOKEN_TTL_SECS,
            jti: TokenId::from_entropy(self.entropy.id_bytes()).as_str().to_owned(),
            mid: meeting_id.as_str().to_owned(),
            pid: ParticipantId::from_entropy(self.entropy.id_bytes()).as_str().to_owned(),
            role: grant.role.as_str().to_owned(),
            name: grant.display_name,
        };
        let jwt = {
            let ring = self.join_keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            token::mint_join_token(&ring, &claims)
        }
        .map_err(|e| StoreError::Invalid(format!("signing failed: {e}")))?;
        let issued = JoinToken {
            jwt,
            sfu_url: self.config.sfu_url.clone(),
            expires_in: token::JOIN_TOKEN_TTL_SECS as u64,
            claims,
        };
        if let Some((key, fingerprint)) = idem {
            let record = IdempotencyRecord {
                key,
                fingerprint,
                reply: serde_json::to_string(&issued).map_err(|e| StoreError::Invalid(e.to_string()))?,
                created_at: now,
            };
            if let Err(StoreError::DuplicateIdempotencyKey) = self.store.put_idempotency(record.clone()).await {
                return self
                    .replay::<JoinToken>(&Some((record.key, record.fingerprint)))
                    .await?
                    .ok_or_else(|| StoreError::Invalid("idempotency record vanished".into()).into());
            }
        }
        Ok(issued)
    }

    async fn meeting_visible(&self, principal: &Principal, id: &MeetingId) -> Result<Meeting, EngineError> {
        let m = self
            .read(&self.meetings, &StreamId::from(id))
            .await?
            .ok_or_else(|| DomainError::not_found("meeting", id))?;
        meeting::visible(&m, principal)?;
        Ok(m)
    }

    /// Reads a meeting.
    ///
    /// # Errors
    /// `NotFound` (also for another account's), `InsufficientScope`, a store failure.
    pub async fn meeting(&self, principal: &Principal, id: &MeetingId) -> Result<Meeting, EngineError> {
        require(principal, Scope::MeetingRead)?;
        self.meeting_visible(principal, id).await
    }

    /// Lists the account's meetings, oldest scheduled first, with filters.
    ///
    /// # Errors
    /// `Invalid` page parameters, `InsufficientScope`, a store failure.
    pub async fn meetings(
        &self,
        principal: &Principal,
        query: &MeetingQuery,
        page: &PageRequest,
    ) -> Result<Page<Meeting>, EngineError> {
        require(principal, Scope::MeetingRead)?;
        let size = page.size()?;
        let rows = self
            .store
            .query_index(&IndexQuery {
                kind: "meeting".into(),
                account_id: Some(principal.account_id.clone()),
                owner: query.host_id.clone(),
                state: query.state.map(|s| s.as_str().to_owned()),
                from: query.from,
                to: query.to,
                after_seq: page.offset()?,
                limit: size + 1,
            })
            .await?;
        let next_cursor = (rows.len() > size).then(|| encode_cursor(rows[size - 1].seq));
        let mut items = Vec::with_capacity(size);
        for row in rows.into_iter().take(size) {
            if let Some(m) = self.read(&self.meetings, &row.stream_id).await? {
                items.push(m);
            }
        }
        Ok(Page { items, next_cursor })
    }

    /// Lists a meeting's participants in redemption order, optionally by status.
    ///
    /// # Errors
    /// `NotFound`, `Invalid` page parameters, `InsufficientScope`, a store failure.
    pub async fn participants(
        &self,
        principal: &Principal,
        id: &MeetingId,
        status: Option<ParticipantStatus>,
        page: &PageRequest,
    ) -> Result<Page<meeting::Participant>, EngineError> {
        require(principal, Scope::MeetingRead)?;
        let m = self.meeting_visible(principal, id).await?;
        paginate(m.participants, page, |p| status.is_none_or(|s| p.status == s))
    }

    /// Lists a meeting's recordings in start order.
    ///
    /// # Errors
    /// `NotFound`, `Invalid` page parameters, `InsufficientScope`, a store failure.
    pub async fn recordings(
        &self,
        principal: &Principal,
        id: &MeetingId,
        page: &PageRequest,
    ) -> Result<Page<Recording>, EngineError> {
        require(principal, Scope::RecordingRead)?;
        let m = self.meeting_visible(principal, id).await?;
        paginate(m.recordings, page, |_| true)
    }

    /// Reads a recording and the meeting it belongs to.
    ///
    /// # Errors
    /// `NotFound` (also for another account's), `InsufficientScope`, a store failure.
    pub async fn recording(
        &self,
        principal: &Principal,
        id: &RecordingId,
    ) -> Result<(Meeting, Recording), EngineError> {
        require(principal, Scope::RecordingRead)?;
        let not_found = || EngineError::from(DomainError::not_found("recording", id));
        let stream = self.store.resolve_link(id.as_str()).await?.ok_or_else(not_found)?;
        let m = self.read(&self.meetings, &stream).await?.ok_or_else(not_found)?;
        if meeting::visible(&m, principal).is_err() {
            return Err(not_found());
        }
        let r = m.recording(id).cloned().ok_or_else(not_found)?;
        Ok((m, r))
    }

    /// Runs a recording command that arrives with only a recording id (the media seam).
    ///
    /// # Errors
    /// As [`Engine::execute`]; `NotFound` for an unknown recording.
    pub async fn execute_on_recording(
        &self,
        principal: &Principal,
        recording_id: &RecordingId,
        command: MeetingCommand,
    ) -> Result<Meeting, EngineError> {
        require(principal, command.required_scope())?;
        let stream = self
            .store
            .resolve_link(recording_id.as_str())
            .await?
            .ok_or_else(|| DomainError::not_found("recording", recording_id))?;
        let id = MeetingId::parse(stream.as_str()).map_err(|_| DomainError::not_found("recording", recording_id))?;
        // The caller named a recording: another account's is not found as that recording, so
        // the answer names nothing of the other account (its meeting id included).
        self.execute(principal, Some(&id), command, None)
            .await
            .map_err(|e| match e {
                EngineError::Domain(DomainError::NotFound { .. }) => {
                    DomainError::not_found("recording", recording_id).into()
                }
                other => other,
            })
    }

    /// A meeting's stored events with `version > after_version` (for Server-Sent Events).
    ///
    /// # Errors
    /// `NotFound`, `InsufficientScope`, a store failure.
    pub async fn meeting_events(
        &self,
        principal: &Principal,
        id: &MeetingId,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, EngineError> {
        require(principal, Scope::MeetingRead)?;
        self.meeting_visible(principal, id).await?;
        Ok(self
            .store
            .read_stream(&StreamId::from(id), after_version + 1, limit)
            .await?)
    }

    /// Runs a webhook-subscription command. `id` is `None` only for `Subscribe`.
    ///
    /// # Errors
    /// As [`Engine::execute`].
    pub async fn execute_webhook(
        &self,
        principal: &Principal,
        id: Option<&WebhookId>,
        command: WebhookCommand,
        idempotency_key: Option<&str>,
    ) -> Result<WebhookOutcome, EngineError> {
        require(principal, command.required_scope())?;
        let idem = idempotency_key.map(|k| idempotency(principal, "webhook", id.map(WebhookId::as_str), &command, k));
        if let Some(first) = self.replay::<Subscription>(&idem).await? {
            return Ok(outcome(first, &command));
        }
        let id = match id {
            Some(id) => id.clone(),
            None => WebhookId::from_entropy(self.entropy.id_bytes()),
        };
        let stream = StreamId::from(&id);
        let result = self
            .run(
                &self.webhooks,
                &stream,
                principal,
                "webhook",
                |_: &WebhookEvent| None,
                idem.clone(),
                |state| {
                    let ctx = webhook::Context {
                        now: self.clock.now(),
                        principal,
                        entropy: self.entropy.as_ref(),
                        allow: &self.config.webhook_allow,
                    };
                    Ok(webhook::decide(&id, state, &command, &ctx)?)
                },
            )
            .await;
        match result {
            Ok((Some(s), _)) => Ok(outcome(s, &command)),
            Ok((None, _)) => Err(DomainError::not_found("webhook", &id).into()),
            Err(EngineError::Store(StoreError::DuplicateIdempotencyKey)) => {
                let s = self
                    .replay::<Subscription>(&idem)
                    .await?
                    .ok_or_else(|| StoreError::Invalid("idempotency record vanished".into()))?;
                Ok(outcome(s, &command))
            }
            Err(e) => Err(e),
        }
    }

    /// A subscription, with no visibility check: for the delivery worker.
    ///
    /// # Errors
    /// A store or decode failure.
    pub async fn subscription(&self, id: &WebhookId) -> Result<Option<Subscription>, EngineError> {
        self.read(&self.webhooks, &StreamId::from(id)).await
    }

    /// A subscription visible to `principal` (its own, or any of the account's for an admin).
    ///
    /// # Errors
    /// `NotFound`, `InsufficientScope`, a store failure.
    pub async fn webhook(&self, principal: &Principal, id: &WebhookId) -> Result<Subscription, EngineError> {
        require(principal, Scope::WebhookRead)?;
        match self.subscription(id).await? {
            Some(s) if s.active && webhook::visible(&s, principal) => Ok(s),
            _ => Err(DomainError::not_found("webhook", id).into()),
        }
    }

    /// Lists the caller's subscriptions (an admin sees the account's).
    ///
    /// # Errors
    /// `Invalid` page parameters, `InsufficientScope`, a store failure.
    pub async fn webhooks(&self, principal: &Principal, page: &PageRequest) -> Result<Page<Subscription>, EngineError> {
        require(principal, Scope::WebhookRead)?;
        let size = page.size()?;
        let rows = self
            .store
            .query_index(&IndexQuery {
                kind: "webhook".into(),
                account_id: Some(principal.account_id.clone()),
                owner: (!principal.has(Scope::Admin)).then(|| principal.subject.as_str().to_owned()),
                after_seq: page.offset()?,
                limit: size + 1,
                ..IndexQuery::default()
            })
            .await?;
        let next_cursor = (rows.len() > size).then(|| encode_cursor(rows[size - 1].seq));
        let mut items = Vec::with_capacity(size);
        for row in rows.into_iter().take(size) {
            if row.state == "deleted" {
                continue;
            }
            if let Some(s) = self
                .subscription(
                    &WebhookId::parse(row.stream_id.as_str()).map_err(|e| StoreError::Corrupt {
                        row: format!("index {}", row.stream_id),
                        reason: e.to_string(),
                    })?,
                )
                .await?
            {
                items.push(s);
            }
        }
        Ok(Page { items, next_cursor })
    }
}

fn outcome(subscription: Subscription, command: &WebhookCommand) -> WebhookOutcome {
    let secret = matches!(command, WebhookCommand::Subscribe { .. } | WebhookCommand::RotateSecret)
        .then(|| subscription.secret.clone());
    WebhookOutcome { subscription, secret }
}

fn require(principal: &Principal, scope: Scope) -> Result<(), DomainError> {
    if principal.has(scope) {
        Ok(())
    } else {
        Err(DomainError::InsufficientScope(scope))
    }
}

/// The scoped key and the request fingerprint of an idempotent request.
fn idempotency(
    principal: &Principal,
    op: &str,
    target: Option<&str>,
    request: &impl Serialize,
    key: &str,
) -> (String, String) {
    let body = serde_json::to_string(request).unwrap_or_default();
    let mut hash = Sha256::new();
    hash.update(op.as_bytes());
    hash.update([0]);
    hash.update(target.unwrap_or("").as_bytes());
    hash.update([0]);
    hash.update(body.as_bytes());
    (
        format!("{}/{}/{}", principal.account_id, principal.subject, key),
        hex::encode(hash.finalize()),
    )
}

fn command_name(c: &MeetingCommand) -> &'static str {
    match c {
        MeetingCommand::Schedule(_) => "schedule",
        MeetingCommand::Update(_) => "update",
        MeetingCommand::Cancel => "cancel",
        MeetingCommand::End => "end",
        MeetingCommand::Admit { .. } => "admit",
        MeetingCommand::Remove { .. } => "remove",
        MeetingCommand::Mute { .. } => "mute",
        MeetingCommand::ChangeRole { .. } => "change_role",
        MeetingCommand::StartRecording => "start_recording",
        MeetingCommand::StopRecording => "stop_recording",
        MeetingCommand::Redeem { .. } => "redeem",
        MeetingCommand::Leave { .. } => "leave",
        MeetingCommand::CompleteRecording { .. } => "complete_recording",
        MeetingCommand::FailRecording { .. } => "fail_recording",
    }
}

fn paginate<T>(items: Vec<T>, page: &PageRequest, keep: impl Fn(&T) -> bool) -> Result<Page<T>, EngineError> {
    let size = page.size()?;
    let offset = page.offset()? as usize;
    // The cursor is a position in the append-only list, so later additions never shift a page.
    let mut out = Vec::with_capacity(size);
    let mut next_cursor = None;
    for (i, item) in items.into_iter().enumerate().skip(offset) {
        if !keep(&item) {
            continue;
        }
        if out.len() == size {
            next_cursor = Some(encode_cursor(i as u64));
            break;
        }
        out.push(item);
    }
    Ok(Page {
        items: out,
        next_cursor,
    })
}

fn system_stream(name: &str) -> Result<StreamId, StoreError> {
    StreamId::new(name).map_err(StoreError::Invalid)
}

fn new_key(clock: &dyn Clock, entropy: &dyn Entropy) -> SigningKey {
    let kid = format!("k{}", &EventId::from_entropy(entropy.id_bytes()).as_str()[4..16]);
    SigningKey::ed25519(kid, entropy.key_bytes(), clock.now())
}

async fn append_key(
    store: &dyn Store,
    stream: &StreamId,
    version: u64,
    key: &SigningKey,
    now: DateTime<Utc>,
    entropy: &dyn Entropy,
) -> Result<(), EngineError> {
    let event = Event::System(SystemEvent::SigningKeyAdded(SigningKeyAdded { key: key.to_stored() }));
    let new = NewEvent::encode(
        EventId::from_entropy(entropy.id_bytes()),
        &event,
        &Metadata::default(),
        now,
    )
    .map_err(|e| StoreError::Invalid(e.to_string()))?;
    store
        .append(AppendRequest {
            stream_id: stream.clone(),
            expected_version: version,
            events: vec![new],
            index: None,
            snapshot: None,
            links: vec![],
            idempotency: None,
        })
        .await?;
    Ok(())
}

/// Loads the key ring kept in a system stream, creating its first Ed25519 key on an empty store.
/// Used for join tokens here and for access tokens by the server.
///
/// # Errors
/// A store failure or a stored key that does not decode.
pub async fn load_or_create_ring(
    store: &dyn Store,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    stream_name: &str,
) -> Result<KeyRing, EngineError> {
    let stream = system_stream(stream_name)?;
    for _ in 0..3 {
        let rows = store.read_stream(&stream, 1, usize::MAX).await?;
        let mut keys = Vec::new();
        for row in &rows {
            if let Event::System(SystemEvent::SigningKeyAdded(k)) = row.decode()? {
                let key = SigningKey::from_stored(&k.key).map_err(|e| StoreError::Corrupt {
                    row: format!("{}@{}", row.stream_id, row.version),
                    reason: e.to_string(),
                })?;
                keys.push(key);
            }
        }
        let mut keys = keys.into_iter();
        if let Some(first) = keys.next() {
            let mut ring = KeyRing::new(first);
            for k in keys {
                // A duplicate kid can only come from a replayed row; the first copy is kept.
                let _ = ring.rotate(k);
            }
            return Ok(ring);
        }
        let key = new_key(clock, entropy);
        match append_key(store, &stream, 0, &key, clock.now(), entropy).await {
            Ok(()) => return Ok(KeyRing::new(key)),
            // Another process created the first key at the same moment: load theirs.
            Err(EngineError::Store(StoreError::Conflict { .. })) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(EngineError::Contention(stream.to_string()))
}
