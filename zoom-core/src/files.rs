//! Signed, expiring URLs for recording files.
//!
//! The recording pipeline reports an object-store key per file; readers get a URL under the
//! deployment's file base with `expires` and `signature` query parameters, where the signature is
//! HMAC-SHA256 over `key:expires`. The file server (or a CDN edge function) checks it with
//! [`FileUrlSigner::verify`].

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Signs and verifies file URLs.
#[derive(Clone)]
pub struct FileUrlSigner {
    base_url: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for FileUrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileUrlSigner")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl FileUrlSigner {
    /// A signer for URLs under `base_url` (`https://files.example.com/recordings`).
    pub fn new(base_url: impl Into<String>, key: Vec<u8>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            key,
        }
    }

    fn mac(&self, storage_key: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(storage_key.as_bytes());
        mac.update(b":");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// The URL of `storage_key`, valid until `expires_at`.
    pub fn sign(&self, storage_key: &str, expires_at: DateTime<Utc>) -> String {
        let expires = expires_at.timestamp();
        let sig = hex::encode(self.mac(storage_key, expires).finalize().into_bytes());
        let path: String = url::form_urlencoded::byte_serialize(storage_key.as_bytes()).collect();
        format!("{}/{path}?expires={expires}&signature={sig}", self.base_url)
    }

    /// Whether `signature` is valid for `storage_key` and `expires`, and not expired at `now`.
    pub fn verify(&self, storage_key: &str, expires: i64, signature: &str, now: DateTime<Utc>) -> bool {
        let Ok(sig) = hex::decode(signature) else { return false };
        now.timestamp() <= expires && self.mac(storage_key, expires).verify_slice(&sig).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_urls_verify_until_they_expire() {
        let s = FileUrlSigner::new("https://files.test/rec/", b"k".to_vec());
        let at = DateTime::from_timestamp(1_000, 0).unwrap();
        let url = s.sign("a/b c.mp4", at);
        assert!(url.starts_with("https://files.test/rec/a%2Fb+c.mp4?expires=1000&signature="));
        let sig = url.rsplit('=').next().unwrap();
        assert!(s.verify("a/b c.mp4", 1000, sig, DateTime::from_timestamp(999, 0).unwrap()));
        assert!(!s.verify("a/b c.mp4", 1000, sig, DateTime::from_timestamp(1001, 0).unwrap()));
        assert!(!s.verify("other", 1000, sig, DateTime::from_timestamp(0, 0).unwrap()));
        assert!(!s.verify("a/b c.mp4", 1000, "zz", DateTime::from_timestamp(0, 0).unwrap()));
    }
}
