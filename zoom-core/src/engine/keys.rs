//! Signing-key rings kept in system streams, changed through the runner like any aggregate.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::EngineError;
use super::runner::{Runner, RunnerConfig};
use crate::aggregate::{Aggregate, Context};
use crate::clock::{Clock, Entropy};
use crate::error::DomainError;
use crate::event::{Event, StreamId};
use crate::id::EventId;
use crate::principal::Scope;
use crate::store::{Store, StoreError};
use crate::system::{SigningKeyAdded, SystemEvent};
use crate::token::{KeyRing, SigningKey, StoredKey};

/// A key ring's stream: the keys in the order they were added.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyList {
    /// The stored keys, oldest first; the newest signs.
    pub keys: Vec<StoredKey>,
    /// The stream version of each key, in step with `keys` (names a bad row).
    pub versions: Vec<u64>,
}

/// A command on a key ring.
#[derive(Debug, Clone, Serialize)]
pub enum KeyCommand {
    /// Adds the ring's first key, unless another process already did (then nothing happens).
    CreateFirst(#[serde(skip)] StoredKey),
    /// Adds a key that becomes the current one.
    Add(#[serde(skip)] StoredKey),
}

/// The key-ring aggregate. Its streams are system streams (`sys_keys_…`); only the system writes
/// them, so no command needs a scope.
#[derive(Debug, Clone, Copy, Default)]
pub struct SigningKeys;

impl Aggregate for SigningKeys {
    type Id = StreamId;
    type State = KeyList;
    type Command = KeyCommand;
    type Event = SigningKeyAdded;
    type Error = DomainError;

    const KIND: &'static str = "signing_keys";

    fn stream(&self, id: &StreamId) -> Result<StreamId, DomainError> {
        Ok(id.clone())
    }

    fn scope(&self, _command: &KeyCommand) -> Option<Scope> {
        Some(Scope::Admin)
    }

    fn causation(&self, _command: &KeyCommand) -> String {
        "signing_key.add".into()
    }

    fn decide(
        &self,
        state: &KeyList,
        command: &KeyCommand,
        _ctx: &Context<'_, StreamId>,
    ) -> Result<Vec<SigningKeyAdded>, DomainError> {
        Ok(match command {
            KeyCommand::CreateFirst(_) if !state.keys.is_empty() => vec![],
            KeyCommand::CreateFirst(key) | KeyCommand::Add(key) => vec![SigningKeyAdded { key: key.clone() }],
        })
    }

    fn apply(state: &mut KeyList, event: &SigningKeyAdded, version: u64) {
        state.keys.push(event.key.clone());
        state.versions.push(version);
    }

    fn narrow(event: Event) -> Option<SigningKeyAdded> {
        match event {
            Event::System(SystemEvent::SigningKeyAdded(k)) => Some(k),
            _ => None,
        }
    }

    fn widen(event: &SigningKeyAdded) -> Event {
        Event::System(SystemEvent::SigningKeyAdded(event.clone()))
    }

    fn exists(state: &KeyList) -> bool {
        !state.keys.is_empty()
    }

    fn snapshots(&self) -> bool {
        // A ring holds a handful of keys, read once at start-up; snapshots would only copy
        // private keys into a second table.
        false
    }
}

/// The ring of a key list, or a corrupt-row error naming the key that does not decode.
pub(crate) fn ring_of(stream: &StreamId, list: &KeyList) -> Result<Option<KeyRing>, EngineError> {
    let mut keys = Vec::with_capacity(list.keys.len());
    for (stored, version) in list.keys.iter().zip(&list.versions) {
        let key = SigningKey::from_stored(stored).map_err(|e| StoreError::Corrupt {
            row: format!("{stream}@{version}"),
            reason: e.to_string(),
        })?;
        keys.push(key);
    }
    let mut keys = keys.into_iter();
    let Some(first) = keys.next() else { return Ok(None) };
    let mut ring = KeyRing::new(first);
    for k in keys {
        // A duplicate kid can only come from a replayed row; the first copy is kept.
        let _ = ring.rotate(k);
    }
    Ok(Some(ring))
}

pub(crate) fn new_key(clock: &dyn Clock, entropy: &dyn Entropy) -> SigningKey {
    let kid = format!("k{}", &EventId::from_entropy(entropy.id_bytes()).as_str()[4..16]);
    SigningKey::ed25519(kid, entropy.key_bytes(), clock.now())
}

pub(crate) fn key_stream(name: &str) -> Result<StreamId, EngineError> {
    StreamId::new(name).map_err(|e| EngineError::Domain(DomainError::invalid("stream", e)))
}

/// The runner of key rings over a store.
pub(crate) fn runner(store: Arc<dyn Store>, clock: Arc<dyn Clock>, entropy: Arc<dyn Entropy>) -> Runner<SigningKeys> {
    let config = RunnerConfig {
        cache_capacity: 0,
        ..RunnerConfig::default()
    };
    Runner::new(SigningKeys, store, clock, entropy, config)
}

/// Loads (or, on an empty stream, creates) a ring through `runner`.
pub(crate) async fn load_or_create(
    runner: &Runner<SigningKeys>,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    stream: &StreamId,
) -> Result<KeyRing, EngineError> {
    let list = runner.read_stream(stream).await?;
    if let Some(ring) = ring_of(stream, &list)? {
        return Ok(ring);
    }
    let key = new_key(clock, entropy);
    let done = runner
        .execute(Some(stream), None, &KeyCommand::CreateFirst(key.to_stored()), None)
        .await?;
    ring_of(stream, &done.state)?.ok_or_else(|| EngineError::Contention(stream.to_string()))
}

/// Loads the key ring kept in a system stream, creating its first Ed25519 key on an empty store.
/// Used for join tokens by the engine and for access tokens by the server.
///
/// # Errors
/// A store failure or a stored key that does not decode.
pub async fn load_or_create_ring(
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    entropy: &Arc<dyn Entropy>,
    stream_name: &str,
) -> Result<KeyRing, EngineError> {
    let stream = key_stream(stream_name)?;
    let runner = runner(store.clone(), clock.clone(), entropy.clone());
    load_or_create(&runner, clock.as_ref(), entropy.as_ref(), &stream).await
}

/// The signer of recording file URLs under `base_url`, with the key kept in the store's
/// [`FILE_KEYS_STREAM`](crate::system::FILE_KEYS_STREAM) (generated on an empty store), so URLs
/// signed before a restart still verify after it.
///
/// # Errors
/// A store failure or a stored key that does not decode.
pub async fn stored_file_url_signer(
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    entropy: &Arc<dyn Entropy>,
    base_url: impl Into<String>,
) -> Result<crate::files::FileUrlSigner, EngineError> {
    let ring = load_or_create_ring(store, clock, entropy, crate::system::FILE_KEYS_STREAM).await?;
    Ok(crate::files::FileUrlSigner::new(
        base_url,
        ring.current().to_stored().material_b64.into_bytes(),
    ))
}
