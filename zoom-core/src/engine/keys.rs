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
use crate::seal::{SealError, SecretBox, is_sealed, sealed_check};
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

/// What [`EngineError::Internal`] says it was doing when a sealed key did not open (a wrong or
/// missing secret key, or an altered value); its source is the [`SealError`].
pub const OPEN_SEALED_KEY: &str = "opening a sealed signing key";

fn aad(kid: &str) -> Vec<u8> {
    format!("zoom signing key\0{kid}").into_bytes()
}

/// The form of `key` to write to the log: with `seal`, its material sealed (bound to its kid)
/// under a nonce drawn from `entropy`; without, as it is.
pub(crate) fn sealed(key: &SigningKey, seal: Option<&SecretBox>, entropy: &dyn Entropy) -> StoredKey {
    let mut stored = key.to_stored();
    if let Some(secret) = seal {
        let mut nonce = [0u8; 24];
        nonce.copy_from_slice(&entropy.key_bytes()[..24]);
        stored.material_b64 = secret.seal(nonce, &aad(&stored.kid), stored.material_b64.as_bytes());
    }
    stored
}

/// The plaintext form of a stored key: a sealed one opened with `seal`, a plaintext one (written
/// without a secret key) as it is.
fn opened(stored: &StoredKey, seal: Option<&SecretBox>) -> Result<StoredKey, SealError> {
    if !is_sealed(&stored.material_b64) {
        return Ok(stored.clone());
    }
    let secret = seal.ok_or_else(|| SealError::NoKey(sealed_check(&stored.material_b64).unwrap_or("?").to_owned()))?;
    let plain = secret.open(&aad(&stored.kid), &stored.material_b64)?;
    let material_b64 = String::from_utf8(plain).map_err(|_| SealError::Tampered)?;
    Ok(StoredKey {
        material_b64,
        ..stored.clone()
    })
}

/// The ring of a key list (sealed keys opened with `seal`), or a corrupt-row error naming the key
/// that does not decode, or [`EngineError::Internal`] with context [`OPEN_SEALED_KEY`].
pub(crate) fn ring_of(
    stream: &StreamId,
    list: &KeyList,
    seal: Option<&SecretBox>,
) -> Result<Option<KeyRing>, EngineError> {
    let mut keys = Vec::with_capacity(list.keys.len());
    for (stored, version) in list.keys.iter().zip(&list.versions) {
        let stored = opened(stored, seal).map_err(|e| EngineError::internal(OPEN_SEALED_KEY, e))?;
        let key = SigningKey::from_stored(&stored).map_err(|e| StoreError::Corrupt {
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
    seal: Option<&SecretBox>,
) -> Result<KeyRing, EngineError> {
    let list = runner.read_stream(stream).await?;
    if let Some(ring) = ring_of(stream, &list, seal)? {
        return Ok(ring);
    }
    let key = new_key(clock, entropy);
    let done = runner
        .execute(
            Some(stream),
            None,
            &KeyCommand::CreateFirst(sealed(&key, seal, entropy)),
            None,
        )
        .await?;
    ring_of(stream, &done.state, seal)?.ok_or_else(|| EngineError::Contention(stream.to_string()))
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
    load_or_create_sealed_ring(store, clock, entropy, stream_name, None).await
}

/// As [`load_or_create_ring`], with a new key sealed under `seal` and sealed keys opened with it.
/// Keys written in plaintext before (by a store without a secret key) still load; see
/// [`plaintext_keys`].
///
/// # Errors
/// A store failure, a stored key that does not decode, or [`EngineError::Internal`] with context
/// [`OPEN_SEALED_KEY`] when a sealed key does not open: sealed under another secret key, sealed
/// while `seal` is `None`, or altered.
pub async fn load_or_create_sealed_ring(
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    entropy: &Arc<dyn Entropy>,
    stream_name: &str,
    seal: Option<&SecretBox>,
) -> Result<KeyRing, EngineError> {
    let stream = key_stream(stream_name)?;
    let runner = runner(store.clone(), clock.clone(), entropy.clone());
    load_or_create(&runner, clock.as_ref(), entropy.as_ref(), &stream, seal).await
}

/// How many keys of the ring in `stream_name` are stored in plaintext (written without a secret
/// key). An append-only log cannot re-seal them in place; the server reports them at start-up.
///
/// # Errors
/// A store failure or a row that does not decode.
pub async fn plaintext_keys(
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    entropy: &Arc<dyn Entropy>,
    stream_name: &str,
) -> Result<usize, EngineError> {
    let stream = key_stream(stream_name)?;
    let list = runner(store.clone(), clock.clone(), entropy.clone())
        .read_stream(&stream)
        .await?;
    Ok(list.keys.iter().filter(|k| !is_sealed(&k.material_b64)).count())
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
    stored_sealed_file_url_signer(store, clock, entropy, base_url, None).await
}

/// As [`stored_file_url_signer`], with the key sealed under `seal` (see
/// [`load_or_create_sealed_ring`]).
///
/// # Errors
/// As [`load_or_create_sealed_ring`].
pub async fn stored_sealed_file_url_signer(
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    entropy: &Arc<dyn Entropy>,
    base_url: impl Into<String>,
    seal: Option<&SecretBox>,
) -> Result<crate::files::FileUrlSigner, EngineError> {
    let ring = load_or_create_sealed_ring(store, clock, entropy, crate::system::FILE_KEYS_STREAM, seal).await?;
    Ok(crate::files::FileUrlSigner::new(
        base_url,
        ring.current().to_stored().material_b64.into_bytes(),
    ))
}
