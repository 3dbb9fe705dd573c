//! Generated ids (`acc_…`, `usr_…`, `app_…`) and the stream ids of the identity aggregates.
//!
//! Account, user and app ids are [`Name`]s: given by the caller (`alice`, as today's `host_id`s)
//! or generated here. Names may hold `@`, which stream ids may not, and a user's stream must not
//! be confused with another's whatever the names, so streams are named by a hash of their key.

use sha2::{Digest, Sha256};
use zoom_core::DomainError;
use zoom_core::clock::Entropy;
use zoom_core::event::StreamId;
use zoom_core::id::Name;

/// A fresh id: `prefix` and 26 characters of lower-case Crockford base32 (128 random bits).
pub fn fresh(prefix: &str, entropy: &dyn Entropy) -> Option<Name> {
    Name::parse(&zoom_core::id::prefixed(prefix, &entropy.id_bytes())).ok()
}

/// The stream `auth_{kind}_{hash}` of a key made of `parts` (each part length-prefixed, so no
/// two keys share a stream).
///
/// # Errors
/// Never for the kinds of this crate (short ASCII words); `Invalid` otherwise.
pub fn hashed_stream(kind: &str, parts: &[&str]) -> Result<StreamId, DomainError> {
    let mut hash = Sha256::new();
    hash.update(kind.as_bytes());
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    StreamId::new(format!("auth_{kind}_{}", hex::encode(&digest[..16]))).map_err(|message| DomainError::Invalid {
        field: "id".into(),
        message,
    })
}

/// A refusal naming `field`.
pub(crate) fn invalid(field: &str, message: impl Into<String>) -> DomainError {
    DomainError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// A name of 1 to 200 characters after trimming, without control characters.
pub(crate) fn display_text(field: &str, raw: &str) -> Result<String, DomainError> {
    let text = raw.trim();
    let count = text.chars().count();
    if count == 0 || count > 200 {
        return Err(invalid(field, "must be 1 to 200 characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}
