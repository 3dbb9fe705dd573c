//! Sealing private key material at rest: XChaCha20-Poly1305 under an operator's 32-byte secret
//! key. The store keeps signing keys in its log; with a [`SecretBox`] they are written sealed, so
//! the store file alone (a backup, a copied file) does not yield a key that signs tokens.
//!
//! The sealed form is text, `zsk1.<check>.<base64 of nonce ‖ ciphertext ‖ tag>`: a version, the
//! [check](SecretBox::check) of the secret key that sealed it (so a wrong key is named as such,
//! before any decryption is tried), and standard base64 of the 24-byte nonce followed by the
//! ciphertext. The additional data binds the ciphertext to the record that holds it (a key's id
//! and algorithm), so a sealed value moved to another record does not open. `.` is not in the
//! base64 alphabet, so a sealed value is never mistaken for plaintext base64.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// The prefix of a sealed value: the format version.
pub const SEALED_PREFIX: &str = "zsk1.";

/// Length of a secret key in bytes.
pub const SECRET_KEY_LEN: usize = 32;

const NONCE_LEN: usize = 24;

/// Why a secret key could not be read or a sealed value not opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The secret key text is neither 64 hex digits nor standard base64 of 32 bytes.
    #[error("a secret key must be 32 bytes written as 64 hex digits or as standard base64 (44 characters); got {0}")]
    MalformedKey(String),
    /// The value was sealed under another secret key (its check differs). Start with the key that
    /// sealed it.
    #[error("sealed under another secret key (check {found}; the given key's check is {expected})")]
    WrongKey {
        /// The check recorded in the sealed value.
        found: String,
        /// The check of the given key.
        expected: String,
    },
    /// The value is sealed but no secret key was given.
    #[error("sealed under a secret key (check {0}), and none was given")]
    NoKey(String),
    /// The sealed value is malformed or was altered (the AEAD tag does not verify).
    #[error("the sealed value is malformed or was altered")]
    Tampered,
}

/// An operator's secret key, which seals and opens key material. Its [`fmt::Debug`] shows only
/// its check.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    check: String,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretBox")
            .field("check", &self.check)
            .finish_non_exhaustive()
    }
}

impl SecretBox {
    /// A box over 32 key bytes.
    pub fn new(key: [u8; SECRET_KEY_LEN]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"zoom secret key check v1\0")
            .chain_update(key)
            .finalize();
        let cipher = XChaCha20Poly1305::new(&key.into());
        Self {
            cipher,
            check: hex::encode(&digest[..8]),
        }
    }

    /// Reads a secret key written as 64 hex digits or as standard base64 of 32 bytes;
    /// surrounding white space (a trailing newline) is ignored.
    ///
    /// # Errors
    /// [`SealError::MalformedKey`] for anything else (a shorter key, other characters).
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        let bytes = if text.len() == 2 * SECRET_KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).ok()
        } else {
            STANDARD.decode(text).ok()
        };
        let described = match &bytes {
            Some(b) => format!("{} bytes", b.len()),
            None => format!("{} characters that are neither hex nor base64", text.chars().count()),
        };
        let key: [u8; SECRET_KEY_LEN] = bytes
            .and_then(|b| b.try_into().ok())
            .ok_or(SealError::MalformedKey(described))?;
        Ok(Self::new(key))
    }

    /// Sixteen hex digits derived from the key (not the key itself): recorded in every sealed
    /// value, so a wrong key is told apart from a damaged value.
    pub fn check(&self) -> &str {
        &self.check
    }

    /// Seals `plaintext` under this key with a fresh 24-byte `nonce`, bound to `aad`.
    pub fn seal(&self, nonce: [u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> String {
        let nonce_arr = XNonce::from(nonce);
        // Encryption fails only on a message longer than the cipher's limit (256 GiB).
        let ciphertext = self
            .cipher
            .encrypt(&nonce_arr, Payload { msg: plaintext, aad })
            .unwrap_or_default();
        let mut body = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}.{}", self.check, STANDARD.encode(body))
    }

    /// Opens a value [sealed](SecretBox::seal) under this key with the same `aad`.
    ///
    /// # Errors
    /// [`SealError::WrongKey`] when another key sealed it; [`SealError::Tampered`] when it is
    /// malformed or altered.
    pub fn open(&self, aad: &[u8], sealed: &str) -> Result<Vec<u8>, SealError> {
        let (check, body) = split(sealed).ok_or(SealError::Tampered)?;
        if check != self.check {
            return Err(SealError::WrongKey {
                found: check.to_owned(),
                expected: self.check.clone(),
            });
        }
        let body = STANDARD.decode(body).map_err(|_| SealError::Tampered)?;
        if body.len() < NONCE_LEN {
            return Err(SealError::Tampered);
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| SealError::Tampered)?;
        self.cipher
            .decrypt(&nonce, Payload { msg: ciphertext, aad })
            .map_err(|_| SealError::Tampered)
    }
}

/// Whether `value` is in the sealed form (rather than plaintext).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED_PREFIX)
}

/// The check of the key that sealed `value`, if it is sealed.
pub fn sealed_check(value: &str) -> Option<&str> {
    split(value).map(|(check, _)| check)
}

fn split(sealed: &str) -> Option<(&str, &str)> {
    sealed.strip_prefix(SEALED_PREFIX)?.split_once('.')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn keys_parse_from_hex_and_base64_and_nothing_else() {
        let hex_key = "00".repeat(16) + &"ab".repeat(16);
        let a = SecretBox::parse(&format!("{hex_key}\n")).unwrap();
        let b = SecretBox::parse(&STANDARD.encode(hex::decode(&hex_key).unwrap())).unwrap();
        assert_eq!(a.check(), b.check());
        assert!(matches!(SecretBox::parse("abcd"), Err(SealError::MalformedKey(_))));
        assert!(
            matches!(SecretBox::parse(&STANDARD.encode([1u8; 16])), Err(SealError::MalformedKey(m)) if m.contains("16 bytes"))
        );
        assert!(matches!(SecretBox::parse(""), Err(SealError::MalformedKey(_))));
        assert!(matches!(
            SecretBox::parse(&"zz".repeat(32)),
            Err(SealError::MalformedKey(_))
        ));
    }

    #[test]
    fn a_wrong_key_is_named() {
        let sealed = SecretBox::new([1; 32]).seal([2; 24], b"k1", b"secret");
        assert!(is_sealed(&sealed));
        let err = SecretBox::new([3; 32]).open(b"k1", &sealed).unwrap_err();
        assert!(matches!(err, SealError::WrongKey { .. }), "{err}");
    }

    proptest! {
        #[test]
        fn seal_open_round_trips(key in any::<[u8; 32]>(), nonce in any::<[u8; 24]>(),
                                 aad in proptest::collection::vec(any::<u8>(), 0..40),
                                 msg in proptest::collection::vec(any::<u8>(), 0..80)) {
            let secret = SecretBox::new(key);
            let sealed = secret.seal(nonce, &aad, &msg);
            prop_assert!(is_sealed(&sealed));
            prop_assert_eq!(secret.open(&aad, &sealed).unwrap(), msg);
        }

        /// Any change to any byte of the sealed body (nonce, ciphertext or tag), or to the
        /// additional data, is refused.
        #[test]
        fn any_tampered_byte_is_refused(key in any::<[u8; 32]>(), nonce in any::<[u8; 24]>(),
                                        msg in proptest::collection::vec(any::<u8>(), 1..64),
                                        at in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let secret = SecretBox::new(key);
            let sealed = secret.seal(nonce, b"kid", &msg);
            let (check, body) = split(&sealed).unwrap();
            let mut bytes = STANDARD.decode(body).unwrap();
            let i = at.index(bytes.len());
            bytes[i] ^= flip;
            let altered = format!("{SEALED_PREFIX}{check}.{}", STANDARD.encode(&bytes));
            prop_assert_eq!(secret.open(b"kid", &altered), Err(SealError::Tampered));
            prop_assert_eq!(secret.open(b"kie", &sealed), Err(SealError::Tampered));
            let truncated = format!("{SEALED_PREFIX}{check}.{}", STANDARD.encode(&bytes[..i]));
            prop_assert!(secret.open(b"kid", &truncated).is_err());
        }
    }
}
