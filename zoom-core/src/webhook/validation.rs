//! Endpoint validation as Zoom does it: the challenge a subscription's URL must answer before
//! anything is sent to it, and the check of the answer. Sending the challenge is I/O and lives
//! with the caller; everything here is pure.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `event` of the challenge body.
pub const VALIDATION_EVENT: &str = "endpoint.url_validation";

/// The challenge body POSTed to the URL:
/// `{"event": "endpoint.url_validation", "payload": {"plainToken": "…"}}`.
pub fn challenge_body(plain_token: &str) -> String {
    serde_json::json!({
        "event": VALIDATION_EVENT,
        "payload": { "plainToken": plain_token },
    })
    .to_string()
}

/// The answer a receiver holding `secret` gives: hex(HMAC-SHA256(key = the secret string as
/// UTF-8 bytes, message = `plain_token`)).
pub fn encrypted_token(secret: &str, plain_token: &str) -> String {
    match <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(plain_token.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; an empty answer matches nothing a receiver sends.
        Err(_) => String::new(),
    }
}

/// Whether `answer` is the right encrypted token for `plain_token` under `secret` (compared in
/// constant time, case-insensitively as hex).
pub fn answer_matches(secret: &str, plain_token: &str, answer: &str) -> bool {
    let Ok(answer) = hex::decode(answer) else {
        return false;
    };
    match <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(plain_token.as_bytes());
            mac.verify_slice(&answer).is_ok()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_the_hex_hmac_of_the_token() {
        // HMAC-SHA256(key = "key", "The quick brown fox jumps over the lazy dog"), RFC 4231 style
        // published test vector.
        assert_eq!(
            encrypted_token("key", "The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        let t = encrypted_token("whsec_x", "abc");
        assert!(answer_matches("whsec_x", "abc", &t));
        assert!(answer_matches("whsec_x", "abc", &t.to_uppercase()));
        assert!(!answer_matches("whsec_y", "abc", &t));
        assert!(!answer_matches("whsec_x", "abd", &t));
        assert!(!answer_matches("whsec_x", "abc", "not hex"));
        assert_eq!(
            challenge_body("tok"),
            r#"{"event":"endpoint.url_validation","payload":{"plainToken":"tok"}}"#
        );
    }
}
