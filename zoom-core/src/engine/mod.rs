//! The engine: runs commands against a store and answers queries.
//!
//! Every state change goes through one generic [`Runner`] (the aggregate seam is
//! [`crate::aggregate::Aggregate`]): within one process, commands on the same stream are
//! serialised by a per-stream async lock, so concurrent callers on one meeting queue instead of
//! storming the store with conflicts; across processes, optimistic concurrency (the expected
//! version) decides, and a conflict is retried a bounded number of times. States are cached at a
//! known version and changed in place, and snapshots are taken at intervals that grow with the
//! state, so a command costs the same whatever a meeting's size or history.
//!
//! # Layout
//! - [`runner`]: the runner, the one path of every command (scope, idempotency, lock, decide,
//!   apply, append, conflict retries, snapshots).
//! - `cache`: the per-stream locks, each holding its stream's cached state.
//! - [`idempotency`]: idempotency keys, their records, format and expiry.
//! - `commands`: the engine's command methods (meetings, the media seam, join tokens, webhooks).
//! - `queries`: reads and lists.
//! - [`paging`]: pages and cursors bound to their list.
//! - [`keys`]: signing-key rings as an aggregate.

mod cache;
mod commands;
pub mod idempotency;
pub mod keys;
pub mod paging;
mod queries;
pub mod runner;

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, Entropy};
use crate::error::DomainError;
use crate::event::DecodeError;
use crate::files::FileUrlSigner;
use crate::meeting::{MeetingState, Meetings};
use crate::store::{Store, StoreError};
use crate::system::JOIN_KEYS_STREAM;
use crate::token::{JoinClaims, KeyRing};
use crate::webhook::aggregate::Subscriptions;
use crate::webhook::{Subscription, address::AllowList};

pub use commands::Idempotent;
pub use idempotency::{DEFAULT_IDEMPOTENCY_TTL, IDEMPOTENCY_FORMAT};
pub use keys::{
    KeyCommand, KeyList, OPEN_SEALED_KEY, SigningKeys, load_or_create_ring, load_or_create_sealed_ring, plaintext_keys,
    stored_file_url_signer, stored_sealed_file_url_signer,
};
pub use paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest, index_page, page_of};
pub use runner::{Executed, Runner, RunnerConfig, SNAPSHOT_FORMAT};

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
    /// The engine itself failed (signing a token, encoding an event or a record): a bug or a
    /// broken key, not the caller's fault nor the store's. HTTP 500; operator attention.
    #[error("internal failure while {context}: {source}")]
    Internal {
        /// What the engine was doing.
        context: &'static str,
        /// The underlying failure.
        #[source]
        source: InternalSource,
    },
}

impl EngineError {
    pub(crate) fn internal(context: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        EngineError::Internal {
            context,
            source: InternalSource(Arc::new(source)),
        }
    }
}

/// The cause of an [`EngineError::Internal`], shared so the error stays cheap to clone. Two
/// sources are equal when they say the same.
#[derive(Debug, Clone)]
pub struct InternalSource(Arc<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for InternalSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for InternalSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for InternalSource {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for InternalSource {}

/// Deployment settings of the engine. There is no default: the key that signs recording file
/// URLs must be given (the server generates one and keeps it in the store).
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
    /// The least number of events between two snapshots of a stream (larger states wait longer).
    pub snapshot_every: u64,
    /// How many times a command is re-decided after losing an optimistic-concurrency race.
    pub max_conflict_retries: u32,
    /// How many states the in-memory cache keeps.
    pub cache_capacity: usize,
    /// This engine is the only writer of its store (one process owns it). Queries are then
    /// answered from the cache without asking the store for newer events, and commands decide on
    /// the cached state, which saves a store round trip each. Optimistic concurrency still
    /// catches another writer, and a conflict drops the cached state. Leave it off when several
    /// processes write to one store, or reads may miss the other processes' latest events.
    /// Default off.
    pub exclusive: bool,
    /// How long an idempotency record answers repeats (default 24 hours); older ones are pruned.
    pub idempotency_ttl: chrono::Duration,
    /// Seals the join-token keys written to the store (see [`crate::seal`]); `None` (the default)
    /// writes them in plaintext.
    pub secret_box: Option<crate::seal::SecretBox>,
}

impl EngineConfig {
    /// The settings with their defaults, signing file URLs with `file_urls`.
    pub fn new(file_urls: FileUrlSigner) -> Self {
        let runner = RunnerConfig::default();
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            audience: "sfu".into(),
            sfu_url: "wss://sfu.invalid".into(),
            webhook_allow: AllowList::default(),
            file_urls,
            snapshot_every: runner.snapshot_every,
            max_conflict_retries: runner.max_conflict_retries,
            cache_capacity: runner.cache_capacity,
            exclusive: false,
            idempotency_ttl: runner.idempotency_ttl,
            secret_box: None,
        }
    }

    fn runner(&self) -> RunnerConfig {
        RunnerConfig {
            snapshot_every: self.snapshot_every,
            max_conflict_retries: self.max_conflict_retries,
            cache_capacity: self.cache_capacity.max(1),
            exclusive: self.exclusive,
            idempotency_ttl: self.idempotency_ttl,
        }
    }
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

/// The meeting engine. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    config: EngineConfig,
    join_keys: RwLock<KeyRing>,
    meetings: Runner<Meetings>,
    webhooks: Runner<Subscriptions>,
    keys: Runner<SigningKeys>,
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
        let keys = keys::runner(store.clone(), clock.clone(), entropy.clone());
        let stream = keys::key_stream(JOIN_KEYS_STREAM)?;
        let seal = config.secret_box.as_ref();
        let ring = keys::load_or_create(&keys, clock.as_ref(), entropy.as_ref(), &stream, seal).await?;
        let runner = config.runner();
        Ok(Self {
            meetings: Runner::new(Meetings, store.clone(), clock.clone(), entropy.clone(), runner.clone()),
            webhooks: Runner::new(
                Subscriptions {
                    allow: config.webhook_allow.clone(),
                },
                store.clone(),
                clock.clone(),
                entropy.clone(),
                runner,
            ),
            keys,
            store,
            clock,
            entropy,
            config,
            join_keys: RwLock::new(ring),
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

    /// The runner of meeting commands.
    pub fn meeting_runner(&self) -> &Runner<Meetings> {
        &self.meetings
    }

    /// The runner of webhook-subscription commands.
    pub fn webhook_runner(&self) -> &Runner<Subscriptions> {
        &self.webhooks
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
        let stream = keys::key_stream(JOIN_KEYS_STREAM)?;
        let key = keys::new_key(self.clock.as_ref(), self.entropy.as_ref());
        let seal = self.config.secret_box.as_ref();
        let stored = keys::sealed(&key, seal, self.entropy.as_ref());
        let done = self
            .keys
            .execute(Some(&stream), None, &KeyCommand::Add(stored), None)
            .await?;
        if let Some(ring) = keys::ring_of(&stream, &done.state, seal)? {
            *self
                .join_keys
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = ring;
        }
        Ok(())
    }

    /// Reloads the join-token keys from the store, where another instance may have rotated
    /// them, and returns when the signing key was created.
    ///
    /// # Errors
    /// A store failure or a stored key that does not decode.
    pub async fn reload_join_keys(&self) -> Result<chrono::DateTime<chrono::Utc>, EngineError> {
        let stream = keys::key_stream(JOIN_KEYS_STREAM)?;
        let seal = self.config.secret_box.as_ref();
        let ring = keys::load_or_create(&self.keys, self.clock.as_ref(), self.entropy.as_ref(), &stream, seal).await?;
        let created = ring.current().created_at();
        *self
            .join_keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = ring;
        Ok(created)
    }
}

fn require(principal: &crate::principal::Principal, scope: crate::principal::Scope) -> Result<(), DomainError> {
    if principal.has(scope) {
        Ok(())
    } else {
        Err(DomainError::InsufficientScope(scope))
    }
}
