//! Webhook signatures: signing a delivery and verifying one on the receiving side.
//!
//! # Design
//!
//! Every delivery carries two signature schemes at once, so a receiver can use whichever its
//! tooling understands:
//!
//! - **Zoom**: `x-zoom-timestamp: <ts>` and `x-zoom-signature: t=<ts>,v1=<hex>`, where the
//!   signature is `hex(HMAC-SHA256(key = the whole secret string, "v1:" + ts + ":" + body))`.
//! - **Standard Webhooks**: `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64>`,
//!   where the signature is `base64(HMAC-SHA256(key = base64-decoded part after "whsec_",
//!   id + "." + ts + "." + body))`.
//!
//! During a secret rotation both the old and the new secret sign: one `v1=` entry per secret in
//! the Zoom header, one space-separated `v1,` entry per secret in the Standard header. A receiver
//! accepts a request when any entry matches any of its secrets.
//!
//! Signing sits on the delivery hot path, so each [`WebhookSecret`] keeps both HMAC states already
//! keyed: a signature costs the hashing of the message and nothing else, and the message is fed to
//! the MAC in pieces rather than concatenated into a buffer.
//!
//! Verification is constant-time in the signature comparison, checks the timestamp against the
//! caller's `now` (this module never reads a clock) within a tolerance, and never panics: the
//! header parsers are public so they can be fuzzed directly.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// Header carrying the Zoom-scheme timestamp (unix seconds).
pub const X_ZOOM_TIMESTAMP: &str = "x-zoom-timestamp";
/// Header carrying the Zoom-scheme signatures: `t=<ts>,v1=<hex>[,v1=<hex>…]`.
pub const X_ZOOM_SIGNATURE: &str = "x-zoom-signature";
/// Standard Webhooks header carrying the message id (the event id).
pub const WEBHOOK_ID: &str = "webhook-id";
/// Standard Webhooks header carrying the timestamp (unix seconds).
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// Standard Webhooks header carrying the signatures: `v1,<base64>[ v1,<base64>…]`.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// The prefix of every webhook secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// How far a request's timestamp may be from the receiver's clock by default: 5 minutes.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// The length in bytes of an HMAC-SHA256 signature.
const SIGNATURE_LEN: usize = 32;

/// The SHA-256 block size; HMAC keys are padded (or first hashed) to this length.
const BLOCK_LEN: usize = 64;

/// Standard base64 that accepts input with or without padding, since secrets and signatures are
/// copied around by hand and some tools strip the `=`.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook secret or a signed request was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is empty or has the wrong syntax. Answer 400: the sender does not follow the scheme
    /// (or the request was mangled in transit); do not process the body.
    #[error("malformed `{header}` header: {reason}")]
    MalformedHeader {
        /// The header at fault.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The `t=` in `x-zoom-signature` differs from `x-zoom-timestamp`. Answer 400; do not process.
    #[error("the t= in x-zoom-signature differs from x-zoom-timestamp")]
    TimestampMismatch,
    /// The timestamp is further from `now` than the tolerance, in the past (a replay, or a very
    /// late retry) or the future (a skewed clock). Answer 400 without processing; a genuine sender
    /// re-signs its retries with a fresh timestamp.
    #[error("timestamp {timestamp} is more than {tolerance_secs} s away from now ({now})")]
    TimestampOutOfTolerance {
        /// The request's timestamp.
        timestamp: i64,
        /// The receiver's time.
        now: i64,
        /// The tolerance in force.
        tolerance_secs: u64,
    },
    /// No signature in the header matches any of the receiver's secrets: forged, altered, or
    /// signed with a secret the receiver does not hold (check the rotation). Answer 401.
    #[error("no signature matches")]
    NoMatchingSignature,
    /// A secret string is not `whsec_` followed by non-empty base64. A configuration error: fix
    /// the secret; nothing can be verified with it.
    #[error("bad webhook secret: {0}")]
    BadSecret(&'static str),
}

fn malformed(header: &'static str, reason: &'static str) -> SignatureError {
    SignatureError::MalformedHeader { header, reason }
}

/// A webhook signing secret: `whsec_` followed by standard base64 of the key bytes.
///
/// Both schemes' HMAC keys are derived once, at construction. `Debug` never shows the secret, and
/// equality is compared in constant time.
#[derive(Clone)]
pub struct WebhookSecret {
    text: String,
    key: Vec<u8>,
    /// Keyed with the whole secret string, for the Zoom scheme.
    zoom_mac: HmacSha256,
    /// Keyed with the decoded bytes, for the Standard Webhooks scheme.
    standard_mac: HmacSha256,
}

impl WebhookSecret {
    /// A new secret from 32 bytes the caller draws from a secure random source.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut text = String::with_capacity(SECRET_PREFIX.len() + 44);
        text.push_str(SECRET_PREFIX);
        STANDARD.encode_string(bytes, &mut text);
        Self::build(text, bytes.to_vec())
    }

    /// Parses a secret string, as stored or as configured on a receiver.
    ///
    /// Any non-empty base64 key is accepted (padded or not), not only the 32 bytes this crate
    /// generates, so secrets from other Standard Webhooks senders work too.
    ///
    /// # Errors
    /// [`SignatureError::BadSecret`] when the prefix is missing or the rest is not non-empty
    /// standard base64.
    pub fn parse(secret: &str) -> Result<Self, SignatureError> {
        let encoded = secret
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SignatureError::BadSecret("a webhook secret starts with whsec_"))?;
        let key = LENIENT_BASE64
            .decode(encoded)
            .map_err(|_| SignatureError::BadSecret("the part after whsec_ is not base64"))?;
        if key.is_empty() {
            return Err(SignatureError::BadSecret("the key after whsec_ is empty"));
        }
        Ok(Self::build(secret.to_owned(), key))
    }

    fn build(text: String, key: Vec<u8>) -> Self {
        WebhookSecret {
            zoom_mac: keyed_mac(text.as_bytes()),
            standard_mac: keyed_mac(&key),
            text,
            key,
        }
    }

    /// The full secret string, `whsec_…`: show it once, store it, never log it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The decoded key bytes after `whsec_` (the Standard Webhooks HMAC key).
    pub fn key_bytes(&self) -> &[u8] {
        &self.key
    }

    fn zoom_tag(&self, timestamp: &str, body: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut mac = self.zoom_mac.clone();
        mac.update(b"v1:");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    fn standard_tag(&self, id: &str, timestamp: &str, body: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut mac = self.standard_mac.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// An HMAC-SHA256 keyed with `key` of any length.
///
/// This is RFC 2104's key preparation done by hand (hash a key longer than a block, then zero-pad
/// to a block), so the MAC is built from a full block, which cannot fail, instead of going through
/// `new_from_slice`, whose `Result` would have to be unwrapped.
fn keyed_mac(key: &[u8]) -> HmacSha256 {
    let mut block = [0u8; BLOCK_LEN];
    if key.len() > BLOCK_LEN {
        block[..SIGNATURE_LEN].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    <HmacSha256 as KeyInit>::new(&block.into())
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(whsec_[redacted])")
    }
}

impl PartialEq for WebhookSecret {
    fn eq(&self, other: &Self) -> bool {
        self.text.as_bytes().ct_eq(other.text.as_bytes()).into()
    }
}

impl Eq for WebhookSecret {}

/// The five signature headers of one delivery, both schemes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// The timestamp, shared by `x-zoom-timestamp` and `webhook-timestamp`.
    timestamp: String,
    zoom_signature: String,
    webhook_id: String,
    webhook_signature: String,
}

impl SignatureHeaders {
    /// The value of `x-zoom-timestamp`.
    pub fn x_zoom_timestamp(&self) -> &str {
        &self.timestamp
    }

    /// The value of `x-zoom-signature`.
    pub fn x_zoom_signature(&self) -> &str {
        &self.zoom_signature
    }

    /// The value of `webhook-id`.
    pub fn webhook_id(&self) -> &str {
        &self.webhook_id
    }

    /// The value of `webhook-timestamp`.
    pub fn webhook_timestamp(&self) -> &str {
        &self.timestamp
    }

    /// The value of `webhook-signature`.
    pub fn webhook_signature(&self) -> &str {
        &self.webhook_signature
    }

    /// All five headers as (lower-case name, value) pairs, ready to attach to a request.
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            (X_ZOOM_TIMESTAMP, &self.timestamp),
            (X_ZOOM_SIGNATURE, &self.zoom_signature),
            (WEBHOOK_ID, &self.webhook_id),
            (WEBHOOK_TIMESTAMP, &self.timestamp),
            (WEBHOOK_SIGNATURE, &self.webhook_signature),
        ]
    }

    /// The five headers as owned `(name, value)` pairs, in the order of [`SignatureHeaders::pairs`]:
    /// for a client that takes ownership of header values rather than copying them.
    pub fn into_pairs(self) -> [(&'static str, String); 5] {
        [
            (X_ZOOM_TIMESTAMP, self.timestamp.clone()),
            (X_ZOOM_SIGNATURE, self.zoom_signature),
            (WEBHOOK_ID, self.webhook_id),
            (WEBHOOK_TIMESTAMP, self.timestamp),
            (WEBHOOK_SIGNATURE, self.webhook_signature),
        ]
    }
}

/// Signs a delivery of `body` for event `event_id` at unix time `ts`, with every secret in
/// `secrets` (the current one, plus the previous one during a rotation), in both schemes.
///
/// Each secret costs one HMAC per scheme. With no secrets, the headers carry no signature at all
/// and every receiver rejects them; callers always pass at least the current secret.
pub fn sign_request(secrets: &[WebhookSecret], event_id: &str, ts: i64, body: &[u8]) -> SignatureHeaders {
    let timestamp = ts.to_string();
    let mut zoom_signature = String::with_capacity(2 + timestamp.len() + secrets.len() * (4 + 2 * SIGNATURE_LEN));
    zoom_signature.push_str("t=");
    zoom_signature.push_str(&timestamp);
    // "v1," + 44 base64 characters + a separating space.
    let mut webhook_signature = String::with_capacity(secrets.len() * 48);
    for secret in secrets {
        zoom_signature.push_str(",v1=");
        push_hex(&mut zoom_signature, &secret.zoom_tag(&timestamp, body));

        if !webhook_signature.is_empty() {
            webhook_signature.push(' ');
        }
        webhook_signature.push_str("v1,");
        STANDARD.encode_string(secret.standard_tag(event_id, &timestamp, body), &mut webhook_signature);
    }
    SignatureHeaders {
        timestamp,
        zoom_signature,
        webhook_id: event_id.to_owned(),
        webhook_signature,
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// A parsed `x-zoom-signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoomSignatureHeader {
    timestamp: i64,
    signatures: Vec<[u8; SIGNATURE_LEN]>,
}

impl ZoomSignatureHeader {
    /// The `t=` timestamp.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The `v1=` signatures, in header order (possibly none).
    pub fn signatures(&self) -> &[[u8; SIGNATURE_LEN]] {
        &self.signatures
    }
}

/// A parsed `webhook-signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardSignatureHeader {
    signatures: Vec<[u8; SIGNATURE_LEN]>,
}

impl StandardSignatureHeader {
    /// The `v1,` signatures, in header order (possibly none, when only other versions appear).
    pub fn signatures(&self) -> &[[u8; SIGNATURE_LEN]] {
        &self.signatures
    }
}

/// Parses `t=<ts>,v1=<hex>[,v1=<hex>…]`.
///
/// `t` must appear exactly once. Entries with other keys (a future `v2=`) are skipped, so a
/// sender can add schemes without breaking receivers. Spaces around entries are tolerated.
///
/// # Errors
/// [`SignatureError::MalformedHeader`] for an entry without `=`, a missing or repeated or
/// non-canonical `t`, or a `v1` that is not 64 hex digits.
pub fn parse_zoom_signature(header: &str) -> Result<ZoomSignatureHeader, SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for entry in header.split(',') {
        let (key, value) = entry
            .trim_matches(' ')
            .split_once('=')
            .ok_or(malformed(X_ZOOM_SIGNATURE, "an entry lacks `=`"))?;
        match key {
            "t" => {
                if timestamp.is_some() {
                    return Err(malformed(X_ZOOM_SIGNATURE, "`t=` appears twice"));
                }
                timestamp = Some(parse_timestamp(X_ZOOM_SIGNATURE, value)?);
            }
            "v1" => {
                let mut signature = [0u8; SIGNATURE_LEN];
                hex::decode_to_slice(value, &mut signature)
                    .map_err(|_| malformed(X_ZOOM_SIGNATURE, "a v1 is not 64 hex digits"))?;
                signatures.push(signature);
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(malformed(X_ZOOM_SIGNATURE, "`t=` is missing"))?;
    Ok(ZoomSignatureHeader { timestamp, signatures })
}

/// Parses `v1,<base64>[ v1,<base64>…]`.
///
/// Entries of other versions (such as `v1a`, asymmetric signatures) are skipped, as the Standard
/// Webhooks specification asks.
///
/// # Errors
/// [`SignatureError::MalformedHeader`] for an empty header, an entry without `,`, or a `v1`
/// signature that is not base64 of 32 bytes.
pub fn parse_standard_signature(header: &str) -> Result<StandardSignatureHeader, SignatureError> {
    let mut signatures = Vec::new();
    let mut entries = 0usize;
    for entry in header.split_ascii_whitespace() {
        entries += 1;
        let (version, encoded) = entry
            .split_once(',')
            .ok_or(malformed(WEBHOOK_SIGNATURE, "an entry lacks `,`"))?;
        if version != "v1" {
            continue;
        }
        // Base64's length estimate rounds up, so the buffer has room for more than 32 bytes.
        let mut buf = [0u8; SIGNATURE_LEN + 3];
        let bad = || malformed(WEBHOOK_SIGNATURE, "a v1 is not base64 of 32 bytes");
        let len = LENIENT_BASE64.decode_slice(encoded, &mut buf).map_err(|_| bad())?;
        let signature: [u8; SIGNATURE_LEN] = buf.get(..len).and_then(|s| s.try_into().ok()).ok_or_else(bad)?;
        signatures.push(signature);
    }
    if entries == 0 {
        return Err(malformed(WEBHOOK_SIGNATURE, "the header is empty"));
    }
    Ok(StandardSignatureHeader { signatures })
}

/// Parses a unix timestamp in canonical decimal: an optional `-`, then digits without leading
/// zeros. Canonical form means the parsed number and the header text are interchangeable, so
/// the signed message does not depend on which of the two a sender formatted.
fn parse_timestamp(header: &'static str, value: &str) -> Result<i64, SignatureError> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && value != "-0";
    if !canonical {
        return Err(malformed(header, "the timestamp is not a decimal integer"));
    }
    value
        .parse()
        .map_err(|_| malformed(header, "the timestamp is out of range"))
}

/// True when `tag` equals any of `candidates`, comparing all of them in constant time.
fn matches_any(tag: &[u8; SIGNATURE_LEN], candidates: &[[u8; SIGNATURE_LEN]]) -> bool {
    candidates
        .iter()
        .fold(Choice::from(0), |found, candidate| found | tag.ct_eq(candidate))
        .into()
}

/// Checks signed webhook requests on the receiving side.
///
/// Holds one or more secrets (several during a rotation) and a timestamp tolerance,
/// [`DEFAULT_TOLERANCE_SECS`] unless set.
#[derive(Debug, Clone)]
pub struct Verifier {
    secrets: Vec<WebhookSecret>,
    tolerance_secs: u64,
}

impl Verifier {
    /// A verifier for one secret, with the default tolerance.
    pub fn new(secret: WebhookSecret) -> Self {
        Verifier {
            secrets: vec![secret],
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
        }
    }

    /// Also accepts signatures made with `secret`, for a rotation window.
    pub fn with_secret(mut self, secret: WebhookSecret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Sets how far a request's timestamp may be from `now`, either way (whole seconds).
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance_secs = tolerance.as_secs();
        self
    }

    /// The timestamp tolerance.
    pub fn tolerance(&self) -> Duration {
        Duration::from_secs(self.tolerance_secs)
    }

    /// Verifies a request signed with the Zoom scheme, at unix time `now_unix`.
    ///
    /// # Errors
    /// [`SignatureError::MalformedHeader`], [`SignatureError::TimestampMismatch`],
    /// [`SignatureError::TimestampOutOfTolerance`] or [`SignatureError::NoMatchingSignature`].
    pub fn verify_zoom(
        &self,
        timestamp_header: &str,
        signature_header: &str,
        body: &[u8],
        now_unix: i64,
    ) -> Result<(), SignatureError> {
        let timestamp = parse_timestamp(X_ZOOM_TIMESTAMP, timestamp_header)?;
        let parsed = parse_zoom_signature(signature_header)?;
        if parsed.timestamp != timestamp {
            return Err(SignatureError::TimestampMismatch);
        }
        self.check_tolerance(timestamp, now_unix)?;
        let found = self
            .secrets
            .iter()
            .any(|s| matches_any(&s.zoom_tag(timestamp_header, body), &parsed.signatures));
        if found {
            Ok(())
        } else {
            Err(SignatureError::NoMatchingSignature)
        }
    }

    /// Verifies a request signed with the Standard Webhooks scheme, at unix time `now_unix`.
    ///
    /// # Errors
    /// [`SignatureError::MalformedHeader`], [`SignatureError::TimestampOutOfTolerance`] or
    /// [`SignatureError::NoMatchingSignature`].
    pub fn verify_standard(
        &self,
        id: &str,
        timestamp_header: &str,
        signature_header: &str,
        body: &[u8],
        now_unix: i64,
    ) -> Result<(), SignatureError> {
        let timestamp = parse_timestamp(WEBHOOK_TIMESTAMP, timestamp_header)?;
        let parsed = parse_standard_signature(signature_header)?;
        self.check_tolerance(timestamp, now_unix)?;
        let found = self
            .secrets
            .iter()
            .any(|s| matches_any(&s.standard_tag(id, timestamp_header, body), &parsed.signatures));
        if found {
            Ok(())
        } else {
            Err(SignatureError::NoMatchingSignature)
        }
    }

    fn check_tolerance(&self, timestamp: i64, now: i64) -> Result<(), SignatureError> {
        if now.abs_diff(timestamp) > self.tolerance_secs {
            return Err(SignatureError::TimestampOutOfTolerance {
                timestamp,
                now,
                tolerance_secs: self.tolerance_secs,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TS: i64 = 1_700_000_000;
    const ID: &str = "evt_1";
    const BODY: &[u8] = br#"{"event":"meeting.started","event_id":"evt_1"}"#;

    fn secret(byte: u8) -> WebhookSecret {
        WebhookSecret::from_bytes([byte; 32])
    }

    fn raw_hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("any key length");
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }

    #[test]
    fn standard_webhooks_reference_vector() {
        let secret = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("parse");
        assert_eq!(secret.key_bytes().len(), 24);
        let id = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let headers = sign_request(std::slice::from_ref(&secret), id, 1_649_367_553, body);
        assert_eq!(
            headers.webhook_signature(),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
        assert_eq!(headers.webhook_id(), id);
        assert_eq!(headers.webhook_timestamp(), "1649367553");
        let verifier = Verifier::new(secret);
        assert_eq!(
            verifier.verify_standard(
                id,
                "1649367553",
                "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
                body,
                1_649_367_553
            ),
            Ok(())
        );
    }

    #[test]
    fn zoom_scheme_matches_an_independent_hmac() {
        let secret = secret(9);
        let headers = sign_request(std::slice::from_ref(&secret), ID, TS, BODY);
        let mut message = format!("v1:{TS}:").into_bytes();
        message.extend_from_slice(BODY);
        let expected = hex::encode(raw_hmac(secret.as_str().as_bytes(), &message));
        assert_eq!(headers.x_zoom_timestamp(), TS.to_string());
        assert_eq!(headers.x_zoom_signature(), format!("t={TS},v1={expected}"));
    }

    #[test]
    fn standard_scheme_matches_an_independent_hmac() {
        let secret = secret(9);
        let headers = sign_request(std::slice::from_ref(&secret), ID, TS, BODY);
        let mut message = format!("{ID}.{TS}.").into_bytes();
        message.extend_from_slice(BODY);
        let expected = STANDARD.encode(raw_hmac(&[9; 32], &message));
        assert_eq!(headers.webhook_signature(), format!("v1,{expected}"));
    }

    #[test]
    fn keys_longer_than_a_block_are_hashed_as_rfc_2104_says() {
        let long = format!("whsec_{}", STANDARD.encode([5u8; 100]));
        let secret = WebhookSecret::parse(&long).expect("parse");
        let headers = sign_request(std::slice::from_ref(&secret), ID, TS, BODY);
        let mut message = format!("v1:{TS}:").into_bytes();
        message.extend_from_slice(BODY);
        let zoom = hex::encode(raw_hmac(long.as_bytes(), &message));
        assert_eq!(headers.x_zoom_signature(), format!("t={TS},v1={zoom}"));
        let mut message = format!("{ID}.{TS}.").into_bytes();
        message.extend_from_slice(BODY);
        let standard = STANDARD.encode(raw_hmac(&[5; 100], &message));
        assert_eq!(headers.webhook_signature(), format!("v1,{standard}"));
    }

    #[test]
    fn pairs_name_all_five_headers() {
        let headers = sign_request(&[secret(1)], ID, TS, BODY);
        let names: Vec<&str> = headers.pairs().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "x-zoom-timestamp",
                "x-zoom-signature",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature"
            ]
        );
    }

    #[test]
    fn generated_secret_has_the_documented_shape() {
        let s = secret(0xab);
        assert!(s.as_str().starts_with("whsec_"));
        assert_eq!(s.as_str().len(), 6 + 44);
        assert_eq!(s.key_bytes(), &[0xab; 32]);
        assert_eq!(WebhookSecret::parse(s.as_str()), Ok(s));
    }

    #[test]
    fn parse_accepts_unpadded_base64() {
        let padded = secret(3);
        let unpadded = padded.as_str().trim_end_matches('=');
        assert_ne!(unpadded, padded.as_str());
        let parsed = WebhookSecret::parse(unpadded).expect("parse");
        assert_eq!(parsed.key_bytes(), padded.key_bytes());
    }

    #[test]
    fn parse_rejects_bad_secrets() {
        for bad in [
            "",
            "whsec_",
            "C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "whsec_!!!",
            "WHSEC_AAAA",
            "whsec_A",
        ] {
            assert!(
                matches!(WebhookSecret::parse(bad), Err(SignatureError::BadSecret(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let s = secret(7);
        let text = format!("{s:?} {:?}", Verifier::new(s.clone()));
        assert!(!text.contains(&s.as_str()[6..]), "{text}");
        assert!(text.contains("redacted"));
    }

    #[test]
    fn both_schemes_verify() {
        let s = secret(1);
        let h = sign_request(std::slice::from_ref(&s), ID, TS, BODY);
        let v = Verifier::new(s);
        assert_eq!(
            v.verify_zoom(h.x_zoom_timestamp(), h.x_zoom_signature(), BODY, TS),
            Ok(())
        );
        assert_eq!(
            v.verify_standard(h.webhook_id(), h.webhook_timestamp(), h.webhook_signature(), BODY, TS),
            Ok(())
        );
    }

    #[test]
    fn rotation_signs_with_both_secrets() {
        let (old, new) = (secret(1), secret(2));
        let h = sign_request(&[new.clone(), old.clone()], ID, TS, BODY);
        assert_eq!(h.x_zoom_signature().matches(",v1=").count(), 2);
        assert_eq!(h.webhook_signature().split(' ').count(), 2);
        for s in [old, new] {
            let v = Verifier::new(s);
            assert_eq!(
                v.verify_zoom(h.x_zoom_timestamp(), h.x_zoom_signature(), BODY, TS),
                Ok(())
            );
            assert_eq!(
                v.verify_standard(ID, h.webhook_timestamp(), h.webhook_signature(), BODY, TS),
                Ok(())
            );
        }
        let stranger = Verifier::new(secret(3));
        assert_eq!(
            stranger.verify_zoom(h.x_zoom_timestamp(), h.x_zoom_signature(), BODY, TS),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            stranger.verify_standard(ID, h.webhook_timestamp(), h.webhook_signature(), BODY, TS),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn a_verifier_with_two_secrets_accepts_either() {
        let v = Verifier::new(secret(1)).with_secret(secret(2));
        for s in [secret(1), secret(2)] {
            let h = sign_request(&[s], ID, TS, BODY);
            assert_eq!(
                v.verify_zoom(h.x_zoom_timestamp(), h.x_zoom_signature(), BODY, TS),
                Ok(())
            );
            assert_eq!(
                v.verify_standard(ID, h.webhook_timestamp(), h.webhook_signature(), BODY, TS),
                Ok(())
            );
        }
    }

    #[test]
    fn tolerance_edges() {
        let s = secret(1);
        let h = sign_request(std::slice::from_ref(&s), ID, TS, BODY);
        let v = Verifier::new(s);
        let tol = i64::try_from(DEFAULT_TOLERANCE_SECS).expect("small");
        for now in [TS - tol, TS + tol] {
            assert_eq!(
                v.verify_zoom(h.x_zoom_timestamp(), h.x_zoom_signature(), BODY, now),
                Ok(())
            );
            assert_eq!(
                v.verify_standard(ID, h.webhook_timestamp(), h.webhook_signature(), BODY, now),
                Ok(())
            );
        }
        for now in [TS - tol - 1, TS + tol + 1, i64::MIN, i64::MAX] {
            let out_of_tolerance = Err(SignatureError::TimestampOutOfTolerance {
                timestamp: TS,
                now,
                tolerance_secs: DEFAULT_TOLERANCE_SECS,
            });
            assert_eq!(
                v.verify_zoom(h.x_zoom_timestamp(), h.x_zoom_signature(), BODY, now),
                out_of_tolerance
            );
            assert_eq!(
                v.verify_standard(ID, h.webhook_timestamp(), h.webhook_signature(), BODY, now),
                out_of_tolerance
            );
        }
        let strict = Verifier::new(secret(1)).with_tolerance(Duration::from_secs(0));
        assert_eq!(strict.tolerance(), Duration::ZERO);
        assert!(
            strict
                .verify_zoom(h.x_zoom_timestamp(), h.x_zoom_signature(), BODY, TS)
                .is_ok()
        );
        assert!(
            strict
                .verify_zoom(h.x_zoom_timestamp(), h.x_zoom_signature(), BODY, TS + 1)
                .is_err()
        );
    }

    #[test]
    fn tampering_is_detected() {
        let s = secret(1);
        let h = sign_request(std::slice::from_ref(&s), ID, TS, BODY);
        let v = Verifier::new(s);
        let tampered = br#"{"event":"meeting.started","event_id":"evt_2"}"#;
        assert_eq!(
            v.verify_zoom(h.x_zoom_timestamp(), h.x_zoom_signature(), tampered, TS),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            v.verify_standard(ID, h.webhook_timestamp(), h.webhook_signature(), tampered, TS),
            Err(SignatureError::NoMatchingSignature)
        );
        // The id is signed too: a replay under another id fails.
        assert_eq!(
            v.verify_standard("evt_2", h.webhook_timestamp(), h.webhook_signature(), BODY, TS),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn a_moved_timestamp_is_detected() {
        let s = secret(1);
        let h = sign_request(std::slice::from_ref(&s), ID, TS, BODY);
        let v = Verifier::new(s);
        let later = (TS + 10).to_string();
        assert_eq!(
            v.verify_zoom(&later, h.x_zoom_signature(), BODY, TS),
            Err(SignatureError::TimestampMismatch)
        );
        let moved = h.x_zoom_signature().replace(&format!("t={TS}"), &format!("t={later}"));
        assert_eq!(
            v.verify_zoom(&later, &moved, BODY, TS),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            v.verify_standard(ID, &later, h.webhook_signature(), BODY, TS),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn timestamps_must_be_canonical_integers() {
        let s = secret(1);
        let h = sign_request(std::slice::from_ref(&s), ID, TS, BODY);
        let v = Verifier::new(s);
        for bad in [
            "",
            " 1700000000",
            "01700000000",
            "+1700000000",
            "1.7e9",
            "-0",
            "-",
            "99999999999999999999",
        ] {
            assert!(
                matches!(
                    v.verify_standard(ID, bad, h.webhook_signature(), BODY, TS),
                    Err(SignatureError::MalformedHeader {
                        header: WEBHOOK_TIMESTAMP,
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        let negative = sign_request(&[secret(1)], ID, -5, BODY);
        assert_eq!(negative.x_zoom_timestamp(), "-5");
        assert!(
            Verifier::new(secret(1))
                .verify_zoom("-5", negative.x_zoom_signature(), BODY, 0)
                .is_ok()
        );
    }

    #[test]
    fn zoom_header_parsing() {
        let sig = "ab".repeat(32);
        let parsed = parse_zoom_signature(&format!("t=5, v1={sig},v2=whatever,v1={}", "CD".repeat(32))).expect("parse");
        assert_eq!(parsed.timestamp(), 5);
        assert_eq!(parsed.signatures(), &[[0xab; 32], [0xcd; 32]]);
        assert_eq!(parse_zoom_signature("t=5").expect("parse").signatures().len(), 0);
        for bad in [
            "",
            "v1=00",
            &format!("v1={sig}"),
            "t=5,t=5",
            "t=5,v1=zz",
            "t=5,garbage",
            &format!("t=5,v1={sig}00"),
        ] {
            assert!(
                matches!(parse_zoom_signature(bad), Err(SignatureError::MalformedHeader { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn standard_header_parsing() {
        let a = STANDARD.encode([1u8; 32]);
        let b = STANDARD.encode([2u8; 32]);
        let parsed =
            parse_standard_signature(&format!("v1,{a}  v1a,xyz v1,{}", b.trim_end_matches('='))).expect("parse");
        assert_eq!(parsed.signatures(), &[[1; 32], [2; 32]]);
        assert_eq!(
            parse_standard_signature("v1a,xyz").expect("parse").signatures().len(),
            0
        );
        for bad in [
            "",
            "   ",
            "v1",
            "v1,!!!",
            &format!("v1,{}", STANDARD.encode([1u8; 31])),
            &format!("v1,{}", STANDARD.encode([1u8; 33])),
        ] {
            assert!(
                matches!(
                    parse_standard_signature(bad),
                    Err(SignatureError::MalformedHeader { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn only_other_versions_means_no_match() {
        let v = Verifier::new(secret(1));
        assert_eq!(
            v.verify_standard(ID, &TS.to_string(), "v1a,abc", BODY, TS),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            v.verify_zoom(&TS.to_string(), &format!("t={TS}"), BODY, TS),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    proptest! {
        #[test]
        fn parsers_never_panic(input in any::<String>()) {
            let _ = parse_zoom_signature(&input);
            let _ = parse_standard_signature(&input);
            let _ = WebhookSecret::parse(&input);
        }

        #[test]
        fn parsers_never_panic_on_near_miss_input(
            input in "(t=-?[0-9]{0,20}|v1=[0-9a-fA-F]{0,66}|v1,[A-Za-z0-9+/=]{0,46}|[ ,=]){0,6}",
        ) {
            let _ = parse_zoom_signature(&input);
            let _ = parse_standard_signature(&input);
        }

        #[test]
        fn verifiers_never_panic(
            id in any::<String>(),
            ts in any::<String>(),
            sig in any::<String>(),
            body in prop::collection::vec(any::<u8>(), 0..64),
            now in any::<i64>(),
        ) {
            let v = Verifier::new(secret(1));
            let _ = v.verify_zoom(&ts, &sig, &body, now);
            let _ = v.verify_standard(&id, &ts, &sig, &body, now);
        }

        #[test]
        fn sign_then_verify_round_trips(
            body in prop::collection::vec(any::<u8>(), 0..512),
            ts in any::<i64>(),
            id in "[A-Za-z0-9_]{1,40}",
            key in any::<[u8; 32]>(),
            skew in -300i64..=300,
        ) {
            let s = WebhookSecret::from_bytes(key);
            let h = sign_request(std::slice::from_ref(&s), &id, ts, &body);
            let now = ts.saturating_add(skew);
            let v = Verifier::new(s);
            prop_assert_eq!(v.verify_zoom(h.x_zoom_timestamp(), h.x_zoom_signature(), &body, now), Ok(()));
            prop_assert_eq!(
                v.verify_standard(h.webhook_id(), h.webhook_timestamp(), h.webhook_signature(), &body, now),
                Ok(())
            );
        }

        #[test]
        fn a_flipped_body_bit_is_detected(
            body in prop::collection::vec(any::<u8>(), 1..256),
            index in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let s = secret(1);
            let h = sign_request(std::slice::from_ref(&s), ID, TS, &body);
            let mut tampered = body.clone();
            tampered[index.index(body.len())] ^= 1 << bit;
            let v = Verifier::new(s);
            prop_assert_eq!(
                v.verify_zoom(h.x_zoom_timestamp(), h.x_zoom_signature(), &tampered, TS),
                Err(SignatureError::NoMatchingSignature)
            );
            prop_assert_eq!(
                v.verify_standard(ID, h.webhook_timestamp(), h.webhook_signature(), &tampered, TS),
                Err(SignatureError::NoMatchingSignature)
            );
        }
    }
}
