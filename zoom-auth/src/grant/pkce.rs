//! PKCE (RFC 7636), `S256` only: the challenge is base64url(SHA-256(verifier)) without padding,
//! 43 characters; the verifier is 43 to 128 characters of the unreserved set
//! `[A-Za-z0-9-._~]`. `plain` is refused (RFC 9700).

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `challenge` has the form of an `S256` challenge: 43 base64url characters.
pub fn is_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` is 43 to 128 characters of RFC 7636's unreserved set.
pub fn is_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The `S256` challenge of a verifier.
pub fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` is well formed and its `S256` challenge is `challenge` (compared in
/// constant time).
pub fn verify(verifier: &str, challenge: &str) -> bool {
    is_verifier(verifier) && bool::from(challenge_of(verifier).as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636, appendix B.
    #[test]
    fn the_rfc_example_verifies() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(challenge_of(verifier), challenge);
        assert!(is_challenge(challenge));
        assert!(verify(verifier, challenge));
        assert!(!verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj", challenge));
    }

    #[test]
    fn verifiers_outside_the_rfc_form_are_refused_even_when_they_hash_right() {
        for bad in [
            "a".repeat(42),
            "a".repeat(129),
            format!("{}+", "a".repeat(43)),
            format!("{} ", "a".repeat(43)),
        ] {
            assert!(!is_verifier(&bad), "{bad}");
            assert!(!verify(&bad, &challenge_of(&bad)), "{bad}");
        }
        assert!(is_verifier(&"~._-".repeat(32)));
        assert!(!is_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM="));
    }
}
