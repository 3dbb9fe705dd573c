//! Client secrets: `zsec_` and 43 base64url characters (256 random bits), shown once and kept
//! only as their SHA-256. A secret of 256 random bits cannot be guessed or searched for, so a
//! fast hash is enough (a slow one would only slow down every token request).

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zoom_core::clock::Entropy;

/// The prefix of every client secret this crate issues.
pub const SECRET_PREFIX: &str = "zsec_";

/// A new client secret, in plain text: hand it to the caller once and keep only its hash.
pub fn new_secret(entropy: &dyn Entropy) -> String {
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(entropy.key_bytes())
    )
}

/// The stored form of a client secret: its SHA-256, hex. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretHash(String);

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(…)")
    }
}

impl SecretHash {
    /// The hash of `secret`.
    pub fn of(secret: &str) -> Self {
        Self(hex::encode(Sha256::digest(secret.as_bytes())))
    }

    /// A hash read back from storage (hex SHA-256).
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The hex text, for storing it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `secret` hashes to this (constant time).
    pub fn matches(&self, secret: &str) -> bool {
        Self::of(secret).0.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}
