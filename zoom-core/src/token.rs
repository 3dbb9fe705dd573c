//! Join tokens: the short-lived JWTs a media server (SFU) redeems, and the key ring that signs them.
//!
//! # Design
//!
//! A join token is a JWT whose header names the signing key (`kid`) and whose claims say who may
//! join which meeting as whom ([`JoinClaims`]). Tokens are signed with Ed25519 (`EdDSA`) by
//! default, so verifiers outside this process need only the public keys that [`KeyRing::jwks`]
//! publishes; HS256 is available for deployments where the SFU shares a secret instead.
//!
//! Keys rotate. A [`KeyRing`] holds the current key, which signs, and up to
//! [`MAX_PREVIOUS_KEYS`] previous keys, which still verify, so a token minted a moment before a
//! rotation stays redeemable until it expires. Keys persist in the event log as [`StoredKey`].
//!
//! This module does no I/O and owns no randomness source: key seeds, secrets and `jti` values come
//! from the caller, and so does the time. Verification therefore never reads the wall clock: the
//! caller passes `now` in [`VerifyOptions`], and this module checks `exp`, `nbf` and `iat` itself
//! against it. `jsonwebtoken` is used only to check the signature, with its own time checks off.
//!
//! Verification is strict, because a join token is a bearer credential:
//! - the key is chosen by the header `kid` alone, and an unknown `kid` is an error;
//! - the algorithm is pinned to that key's algorithm, so `alg: none` and algorithm confusion
//!   (an HS256 token "signed" with a published Ed25519 public key) are rejected;
//! - `exp`, `nbf`, `aud` and `iss` are required, and at most [`MAX_CLOCK_SKEW_SECS`] of clock skew
//!   is tolerated.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How long a join token lives: `exp` = `iat` + this many seconds.
pub const JOIN_TOKEN_TTL_SECS: i64 = 300;

/// The most clock skew, in seconds, that verification tolerates on `exp`, `nbf` and `iat`.
pub const MAX_CLOCK_SKEW_SECS: i64 = 30;

/// How many previous keys a [`KeyRing`] keeps verifying after rotations, however old.
///
/// Beyond these, a retired key is kept while tokens it signed may still be valid (see
/// [`RETIRED_KEY_LIFETIME_SECS`]), so even rotations faster than a token's lifetime never cut a
/// token short.
pub const MAX_PREVIOUS_KEYS: usize = 2;

/// How long after its retirement (the creation of the key that replaced it) a key still
/// verifies when the ring holds more than [`MAX_PREVIOUS_KEYS`] previous keys: a join token's
/// lifetime plus the clock skew verification allows.
pub const RETIRED_KEY_LIFETIME_SECS: i64 = JOIN_TOKEN_TTL_SECS + MAX_CLOCK_SKEW_SECS;

/// The most previous keys a ring holds at all, bounding memory and the JWKS whatever the
/// rotation rate.
pub const MAX_RETAINED_KEYS: usize = 64;

/// The shortest HS256 secret accepted, in bytes.
///
/// RFC 7518 section 3.2 requires an HMAC key at least as long as the hash output.
pub const MIN_HS256_SECRET_LEN: usize = 32;

/// The audience join tokens carry unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "sfu";

/// The roles a join token may carry in its `role` claim.
pub const JOIN_ROLES: [&str; 3] = ["host", "co_host", "attendee"];

/// The fixed PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410), followed by the 32-byte seed.
///
/// `jsonwebtoken` takes Ed25519 signing keys as PKCS#8 DER; building the DER from the seed here
/// avoids a PEM/PKCS#8 dependency.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A problem with key material: building a key, restoring a stored one, or rotating.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The stored key material is not standard base64. The stored key is corrupt; report the row.
    #[error("key material is not valid base64")]
    BadBase64,
    /// An Ed25519 seed that is not 32 bytes. The stored key is corrupt; report the row.
    #[error("an Ed25519 seed must be 32 bytes, got {0}")]
    BadSeedLength(usize),
    /// An HS256 secret shorter than [`MIN_HS256_SECRET_LEN`]. Generate a longer secret.
    #[error("an HS256 secret must be at least {MIN_HS256_SECRET_LEN} bytes, got {0}")]
    SecretTooShort(usize),
    /// A rotation to a `kid` the ring already holds. Choose a fresh `kid`; the ring is unchanged.
    #[error("the key ring already holds a key with kid `{0}`")]
    DuplicateKid(String),
}

/// Why a token could not be minted or verified.
///
/// Every verification error means "do not admit this bearer"; at the HTTP edge they all map to 401
/// `invalid_token`. The variants exist for logs, metrics and the client's next step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, undecodable base64 or JSON, an unsupported `alg` (including `none`), or claims
    /// of the wrong type or shape. Reject (401); the client must obtain a new token.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header has no `kid`, or names a key this ring does not hold (never issued, or rotated
    /// out). Reject (401); a remote verifier may refresh the JWKS once and retry.
    #[error("the token's key id is missing or unknown")]
    UnknownKid,
    /// The header `alg` differs from the algorithm of the key named by `kid`: an
    /// algorithm-confusion attempt or a misconfigured issuer. Reject (401) and log it.
    #[error("the token's algorithm does not match its key")]
    WrongAlgorithm,
    /// The signature does not verify: the token was forged or altered. Reject (401) and log it.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` is past, beyond the allowed skew. Reject (401); the client should request a new token.
    #[error("the token has expired")]
    Expired,
    /// `nbf` or `iat` is in the future beyond the allowed skew. Reject (401); a clock is wrong.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `aud` does not name this verifier: the token is meant for another service. Reject (401).
    #[error("the token is for another audience")]
    WrongAudience,
    /// `iss` is not the expected issuer. Reject (401).
    #[error("the token is from another issuer")]
    WrongIssuer,
    /// A required claim (`exp`, `nbf`, `aud` or `iss`) is absent. Reject (401).
    #[error("the token lacks the `{0}` claim")]
    MissingClaim(&'static str),
    /// Key material is unusable. A configuration or storage problem: 500, and an operator fixes it.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The claims could not be serialized or signed, or are not valid join claims. A bug in the
    /// caller: 500.
    #[error("could not mint token: {0}")]
    Encoding(String),
}

/// The signature algorithm of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyAlgorithm {
    /// Ed25519 signatures (`EdDSA`, RFC 8037): the default, because the public key can be published.
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// HMAC-SHA256 (`HS256`) with a shared secret; never published in the JWKS.
    #[serde(rename = "HS256")]
    Hs256,
}

impl KeyAlgorithm {
    /// The JOSE name (`EdDSA`, `HS256`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::EdDsa => "EdDSA",
            KeyAlgorithm::Hs256 => "HS256",
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            KeyAlgorithm::EdDsa => Algorithm::EdDSA,
            KeyAlgorithm::Hs256 => Algorithm::HS256,
        }
    }
}

/// One signing key: its id, algorithm, secret material and creation time.
///
/// The secret material never appears in `Debug` output; [`SigningKey::to_stored`] is the only way
/// to read it back, for persistence.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    algorithm: KeyAlgorithm,
    /// The Ed25519 seed or the HS256 secret.
    material: Vec<u8>,
    created_at: DateTime<Utc>,
    /// The Ed25519 public key; `None` for HS256.
    public_key: Option<[u8; 32]>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SigningKey {
    /// An Ed25519 key from a 32-byte seed, which the caller draws from a secure random source.
    pub fn ed25519(kid: impl Into<String>, seed: [u8; 32], created_at: DateTime<Utc>) -> Self {
        let mut der = Vec::with_capacity(ED25519_PKCS8_PREFIX.len() + seed.len());
        der.extend_from_slice(&ED25519_PKCS8_PREFIX);
        der.extend_from_slice(&seed);
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        SigningKey {
            kid: kid.into(),
            algorithm: KeyAlgorithm::EdDsa,
            material: seed.to_vec(),
            created_at,
            public_key: Some(public),
            encoding: EncodingKey::from_ed_der(&der),
            // `jsonwebtoken`'s Ed25519 verifier takes the raw 32-byte public key here, not DER.
            decoding: DecodingKey::from_ed_der(&public),
        }
    }

    /// An HS256 key from a shared secret of at least [`MIN_HS256_SECRET_LEN`] random bytes.
    ///
    /// # Errors
    /// [`KeyError::SecretTooShort`] for a shorter secret.
    pub fn hs256(kid: impl Into<String>, secret: Vec<u8>, created_at: DateTime<Utc>) -> Result<Self, TokenError> {
        if secret.len() < MIN_HS256_SECRET_LEN {
            return Err(KeyError::SecretTooShort(secret.len()).into());
        }
        Ok(SigningKey {
            kid: kid.into(),
            algorithm: KeyAlgorithm::Hs256,
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            material: secret,
            created_at,
            public_key: None,
        })
    }

    /// Restores a key persisted with [`SigningKey::to_stored`].
    ///
    /// # Errors
    /// [`KeyError::BadBase64`] when `material_b64` is not standard base64,
    /// [`KeyError::BadSeedLength`] for an Ed25519 seed that is not 32 bytes,
    /// [`KeyError::SecretTooShort`] for a short HS256 secret.
    pub fn from_stored(stored: &StoredKey) -> Result<Self, TokenError> {
        let material = STANDARD.decode(&stored.material_b64).map_err(|_| KeyError::BadBase64)?;
        match stored.alg {
            KeyAlgorithm::EdDsa => {
                let len = material.len();
                let seed: [u8; 32] = material.try_into().map_err(|_| KeyError::BadSeedLength(len))?;
                Ok(SigningKey::ed25519(stored.kid.clone(), seed, stored.created_at))
            }
            KeyAlgorithm::Hs256 => SigningKey::hs256(stored.kid.clone(), material, stored.created_at),
        }
    }

    /// The form to persist in the event log. It contains the secret material.
    pub fn to_stored(&self) -> StoredKey {
        StoredKey {
            kid: self.kid.clone(),
            alg: self.algorithm,
            material_b64: STANDARD.encode(&self.material),
            created_at: self.created_at,
        }
    }

    /// The key id, written in the JWT header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// When the key was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// The raw Ed25519 public key; `None` for an HS256 key, which has nothing public.
    pub fn public_key(&self) -> Option<[u8; 32]> {
        self.public_key
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created_at", &self.created_at)
            .field("material", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The persisted form of a [`SigningKey`], as stored in the event log.
///
/// `material_b64` is the standard base64 of the Ed25519 seed or the HS256 secret: treat the whole
/// value as a secret. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// The key id.
    pub kid: String,
    /// The algorithm (`"EdDSA"` or `"HS256"`).
    pub alg: KeyAlgorithm,
    /// Standard base64 of the seed or secret.
    pub material_b64: String,
    /// When the key was created.
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("material_b64", &"[redacted]")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// What a verifier expects of a token besides a good signature: issuer, audience, and the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions<'a> {
    issuer: &'a str,
    audience: &'a str,
    now: i64,
    leeway: i64,
}

impl<'a> VerifyOptions<'a> {
    /// Expects `iss` = `issuer` and `aud` = (or, for an array, containing) `audience`, at unix
    /// time `now`, with the full [`MAX_CLOCK_SKEW_SECS`] of leeway.
    pub fn new(issuer: &'a str, audience: &'a str, now: i64) -> Self {
        VerifyOptions {
            issuer,
            audience,
            now,
            leeway: MAX_CLOCK_SKEW_SECS,
        }
    }

    /// Sets the clock-skew leeway in seconds, clamped to `0..=MAX_CLOCK_SKEW_SECS`.
    pub fn with_leeway(mut self, secs: i64) -> Self {
        self.leeway = secs.clamp(0, MAX_CLOCK_SKEW_SECS);
        self
    }

    /// The expected issuer.
    pub fn issuer(&self) -> &'a str {
        self.issuer
    }

    /// The expected audience.
    pub fn audience(&self) -> &'a str {
        self.audience
    }

    /// The verification time, in unix seconds.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The clock-skew leeway, in seconds.
    pub fn leeway(&self) -> i64 {
        self.leeway
    }
}

/// The current signing key and the previous keys that still verify.
#[derive(Debug, Clone)]
pub struct KeyRing {
    current: SigningKey,
    /// Newest first: at most [`MAX_PREVIOUS_KEYS`], and more while their tokens may be valid.
    previous: Vec<SigningKey>,
}

impl KeyRing {
    /// A ring with one key, which signs.
    pub fn new(current: SigningKey) -> Self {
        KeyRing {
            current,
            previous: Vec::new(),
        }
    }

    /// Makes `new_key` the signing key. The old current key keeps verifying as a previous key.
    /// Beyond [`MAX_PREVIOUS_KEYS`], a previous key is dropped once it was retired more than
    /// [`RETIRED_KEY_LIFETIME_SECS`] before `new_key` was created (its tokens have all expired;
    /// they fail with [`TokenError::UnknownKid`]), and the ring never holds more than
    /// [`MAX_RETAINED_KEYS`] previous keys.
    ///
    /// # Errors
    /// [`KeyError::DuplicateKid`] when the ring already holds a key with that `kid`; a `kid`
    /// must name exactly one key. The ring is then unchanged.
    pub fn rotate(&mut self, new_key: SigningKey) -> Result<(), TokenError> {
        if self.key(new_key.kid()).is_some() {
            return Err(KeyError::DuplicateKid(new_key.kid).into());
        }
        let old = std::mem::replace(&mut self.current, new_key);
        self.previous.insert(0, old);
        // previous[i] was retired when the key before it in the ring (newer) was created.
        let now = self.current.created_at;
        let mut keep = self.previous.len().min(MAX_RETAINED_KEYS);
        for i in MAX_PREVIOUS_KEYS..keep {
            let retired = self.previous[i - 1].created_at;
            if (now - retired).num_seconds() > RETIRED_KEY_LIFETIME_SECS {
                keep = i;
                break;
            }
        }
        self.previous.truncate(keep);
        Ok(())
    }

    /// The key that signs.
    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// The `kid` of the key that signs.
    pub fn current_kid(&self) -> &str {
        &self.current.kid
    }

    /// The previous keys that still verify, newest first.
    pub fn previous(&self) -> &[SigningKey] {
        &self.previous
    }

    /// The key with this `kid`, current or previous.
    pub fn key(&self, kid: &str) -> Option<&SigningKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.kid == kid)
    }

    /// The JSON Web Key Set served at `/.well-known/jwks.json`: the Ed25519 public keys of the
    /// current and previous keys, current first. HS256 keys are secrets and never appear.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = std::iter::once(&self.current)
            .chain(&self.previous)
            .filter_map(|k| {
                let public = k.public_key?;
                Some(serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(public),
                    "kid": k.kid,
                    "alg": "EdDSA",
                    "use": "sig",
                }))
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Signs `claims` with the current key, naming it in the header `kid`.
    ///
    /// # Errors
    /// [`TokenError::Encoding`] when the claims do not serialize to JSON.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, TokenError> {
        let mut header = Header::new(self.current.algorithm.jwt());
        header.kid = Some(self.current.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.current.encoding).map_err(|e| TokenError::Encoding(e.to_string()))
    }

    /// Verifies `jwt` and returns its claims.
    ///
    /// The key is the one the header `kid` names, the algorithm is pinned to that key's, and the
    /// registered claims are checked against `options`: `exp`, `nbf`, `aud` and `iss` must be
    /// present; `exp`, `nbf` and (when present) `iat` must be integers that fit the time in
    /// `options`, give or take the leeway.
    ///
    /// # Errors
    /// Any [`TokenError`] verification variant; see each one for how to handle it.
    pub fn verify<T: DeserializeOwned>(&self, jwt: &str, options: &VerifyOptions<'_>) -> Result<T, TokenError> {
        let header =
            jsonwebtoken::decode_header(jwt).map_err(|_| TokenError::Malformed("the header is not a JOSE header"))?;
        let kid = header.kid.as_deref().ok_or(TokenError::UnknownKid)?;
        let key = self.key(kid).ok_or(TokenError::UnknownKid)?;
        let algorithm = key.algorithm.jwt();
        // Pinning the algorithm to the key, not to whatever the header claims, is what defeats
        // algorithm confusion.
        if header.alg != algorithm {
            return Err(TokenError::WrongAlgorithm);
        }

        // `jsonwebtoken` checks `exp`/`nbf` against the system clock, which would make verification
        // depend on something other than `now`; so it only checks the signature here, and
        // `check_registered_claims` does the rest.
        let mut validation = Validation::new(algorithm);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let data =
            jsonwebtoken::decode::<Value>(jwt, &key.decoding, &validation).map_err(|e| map_jwt_error(e.kind()))?;

        let claims = data
            .claims
            .as_object()
            .ok_or(TokenError::Malformed("the claims are not a JSON object"))?;
        check_registered_claims(claims, options)?;
        serde_json::from_value(data.claims)
            .map_err(|_| TokenError::Malformed("the claims do not have the expected shape"))
    }
}

fn map_jwt_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => TokenError::WrongAlgorithm,
        ErrorKind::Json(_) => TokenError::Malformed("the token is not valid JSON"),
        ErrorKind::Base64(_) => TokenError::Malformed("the token is not valid base64url"),
        ErrorKind::Utf8(_) => TokenError::Malformed("the token is not valid UTF-8"),
        _ => TokenError::Malformed("the token is not a valid JWT"),
    }
}

/// Reads a NumericDate claim. Only integers are accepted: fractional seconds are legal in
/// RFC 7519 but nothing here mints them, and rounding rules would be one more thing to get wrong.
fn time_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or(TokenError::Malformed("a time claim is not an integer")),
    }
}

fn check_registered_claims(claims: &Map<String, Value>, options: &VerifyOptions<'_>) -> Result<(), TokenError> {
    let exp = time_claim(claims, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
    let nbf = time_claim(claims, "nbf")?.ok_or(TokenError::MissingClaim("nbf"))?;
    let iat = time_claim(claims, "iat")?;
    let iss = claims.get("iss").ok_or(TokenError::MissingClaim("iss"))?;
    let aud = claims.get("aud").ok_or(TokenError::MissingClaim("aud"))?;

    // Saturating arithmetic: the claims are attacker-controlled and must not overflow.
    let now = options.now;
    let leeway = options.leeway;
    // RFC 7519: the token must not be accepted on or after `exp`.
    if now >= exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    if nbf > now.saturating_add(leeway) {
        return Err(TokenError::NotYetValid);
    }
    if let Some(iat) = iat
        && iat > now.saturating_add(leeway)
    {
        return Err(TokenError::NotYetValid);
    }

    match iss {
        Value::String(s) if s == options.issuer => {}
        Value::String(_) => return Err(TokenError::WrongIssuer),
        _ => return Err(TokenError::Malformed("`iss` is not a string")),
    }
    let audience_matches = match aud {
        Value::String(s) => s == options.audience,
        Value::Array(items) => {
            if !items.iter().all(Value::is_string) {
                return Err(TokenError::Malformed("`aud` is not a string or string array"));
            }
            items.iter().any(|v| v.as_str() == Some(options.audience))
        }
        _ => {
            return Err(TokenError::Malformed("`aud` is not a string or string array"));
        }
    };
    if !audience_matches {
        return Err(TokenError::WrongAudience);
    }
    Ok(())
}

/// The claims of a join token.
///
/// The caller fills every field: `iat` = `nbf` = now and `exp` = `iat` + [`JOIN_TOKEN_TTL_SECS`]
/// in the usual case, `jti` and `pid` from its entropy source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinClaims {
    /// Issuer: who minted the token (the control plane's base URL or name).
    pub iss: String,
    /// Audience: the media server, [`DEFAULT_AUDIENCE`] by default.
    pub aud: String,
    /// Subject: the user id, or `guest_…` for a guest.
    pub sub: String,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Not before, unix seconds.
    pub nbf: i64,
    /// Expires at, unix seconds.
    pub exp: i64,
    /// Token id; a token is redeemed at most once, by `jti`.
    pub jti: String,
    /// The meeting id.
    pub mid: String,
    /// The participant id the bearer becomes on redemption.
    pub pid: String,
    /// One of [`JOIN_ROLES`]: `host`, `co_host` or `attendee`.
    pub role: String,
    /// The display name.
    pub name: String,
}

/// Mints a join token for `claims` with the ring's current key.
///
/// # Errors
/// [`TokenError::Encoding`] when `role` is not one of [`JOIN_ROLES`] or signing fails.
pub fn mint_join_token(ring: &KeyRing, claims: &JoinClaims) -> Result<String, TokenError> {
    if !JOIN_ROLES.contains(&claims.role.as_str()) {
        return Err(TokenError::Encoding(
            "role must be host, co_host or attendee".to_owned(),
        ));
    }
    ring.sign(claims)
}

/// Verifies a join token at unix time `now` and returns its claims.
///
/// # Errors
/// Any [`TokenError`] verification variant from [`KeyRing::verify`]; also
/// [`TokenError::Malformed`] when a claim is missing from [`JoinClaims`] or `role` is not one of
/// [`JOIN_ROLES`].
pub fn verify_join_token(
    ring: &KeyRing,
    jwt: &str,
    expected_iss: &str,
    expected_aud: &str,
    now: i64,
) -> Result<JoinClaims, TokenError> {
    let claims: JoinClaims = ring.verify(jwt, &VerifyOptions::new(expected_iss, expected_aud, now))?;
    if !JOIN_ROLES.contains(&claims.role.as_str()) {
        return Err(TokenError::Malformed("`role` is not host, co_host or attendee"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use hmac::{Hmac, Mac};
    use proptest::prelude::*;
    use sha2::Sha256;

    const ISS: &str = "https://zoom.example";
    const NOW: i64 = 1_700_000_000;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().expect("valid time")
    }

    fn ed_key(kid: &str, byte: u8) -> SigningKey {
        SigningKey::ed25519(kid, [byte; 32], at(NOW))
    }

    fn hs_key(kid: &str, byte: u8) -> SigningKey {
        SigningKey::hs256(kid, vec![byte; 32], at(NOW)).expect("32-byte secret")
    }

    fn claims(iat: i64) -> JoinClaims {
        JoinClaims {
            iss: ISS.to_owned(),
            aud: DEFAULT_AUDIENCE.to_owned(),
            sub: "usr_alice".to_owned(),
            iat,
            nbf: iat,
            exp: iat + JOIN_TOKEN_TTL_SECS,
            jti: "tok_1".to_owned(),
            mid: "mtg_1".to_owned(),
            pid: "par_1".to_owned(),
            role: "host".to_owned(),
            name: "Alice".to_owned(),
        }
    }

    fn verify(ring: &KeyRing, jwt: &str, now: i64) -> Result<JoinClaims, TokenError> {
        verify_join_token(ring, jwt, ISS, DEFAULT_AUDIENCE, now)
    }

    fn b64url(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Builds a token by hand, signed with HMAC-SHA256 over `secret`, whatever the header says.
    fn forge_hs256(header: &Value, payload: &Value, secret: &[u8]) -> String {
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(payload.to_string().as_bytes())
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
        mac.update(signing_input.as_bytes());
        format!("{signing_input}.{}", b64url(&mac.finalize().into_bytes()))
    }

    fn payload_json(claims: &JoinClaims) -> Value {
        serde_json::to_value(claims).expect("claims serialize")
    }

    #[test]
    fn eddsa_round_trip() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let jwt = mint_join_token(&ring, &claims(NOW)).expect("mint");
        let header = jsonwebtoken::decode_header(&jwt).expect("header");
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some("k1"));
        assert_eq!(verify(&ring, &jwt, NOW), Ok(claims(NOW)));
    }

    #[test]
    fn hs256_round_trip() {
        let ring = KeyRing::new(hs_key("h1", 2));
        let jwt = mint_join_token(&ring, &claims(NOW)).expect("mint");
        let header = jsonwebtoken::decode_header(&jwt).expect("header");
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(verify(&ring, &jwt, NOW), Ok(claims(NOW)));
    }

    #[test]
    fn hs256_rejects_short_secret() {
        let err = SigningKey::hs256("h", vec![0; 31], at(NOW)).expect_err("too short");
        assert_eq!(err, TokenError::Key(KeyError::SecretTooShort(31)));
    }

    #[test]
    fn public_key_matches_rfc8032_test_vector() {
        // RFC 8032 section 7.1, TEST 1.
        let seed: [u8; 32] = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        let key = SigningKey::ed25519("k", seed, at(NOW));
        assert_eq!(
            key.public_key().map(hex::encode).as_deref(),
            Some("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        );
    }

    #[test]
    fn jwks_lists_ed25519_public_keys_only() {
        let mut ring = KeyRing::new(ed_key("k1", 1));
        ring.rotate(hs_key("h1", 2)).expect("rotate");
        ring.rotate(ed_key("k2", 3)).expect("rotate");
        let jwks = ring.jwks();
        let keys = jwks["keys"].as_array().expect("keys array");
        assert_eq!(keys.len(), 2, "HS256 keys are never published: {jwks}");
        let x2 = b64url(&ed_key("k2", 3).public_key().expect("ed25519"));
        assert_eq!(
            keys[0],
            serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "x": x2, "kid": "k2", "alg": "EdDSA", "use": "sig"
            })
        );
        assert_eq!(keys[1]["kid"], "k1");
        // The published key must be usable by a third-party verifier.
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(keys[0].clone()).expect("jwk");
        let decoding = DecodingKey::from_jwk(&jwk).expect("decoding key");
        let jwt = mint_join_token(&ring, &claims(NOW)).expect("mint");
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[DEFAULT_AUDIENCE]);
        validation.validate_exp = false;
        jsonwebtoken::decode::<JoinClaims>(&jwt, &decoding, &validation).expect("verifies with JWKS");
    }

    #[test]
    fn rotation_signs_with_new_key_and_still_verifies_old_tokens() {
        let mut ring = KeyRing::new(ed_key("k1", 1));
        let old = mint_join_token(&ring, &claims(NOW)).expect("mint");
        ring.rotate(ed_key("k2", 2)).expect("rotate");
        assert_eq!(ring.current_kid(), "k2");
        let new = mint_join_token(&ring, &claims(NOW)).expect("mint");
        let kid = jsonwebtoken::decode_header(&new).expect("header").kid;
        assert_eq!(kid.as_deref(), Some("k2"));
        assert!(verify(&ring, &old, NOW).is_ok());
        assert!(verify(&ring, &new, NOW).is_ok());
    }

    fn ed_key_at(kid: &str, byte: u8, created: i64) -> SigningKey {
        SigningKey::ed25519(kid, [byte; 32], at(created))
    }

    /// Beyond the previous keys always kept, a key goes once the tokens it signed have expired.
    #[test]
    fn rotation_drops_keys_beyond_the_limit_once_their_tokens_expired() {
        let day = 86_400;
        let mut ring = KeyRing::new(ed_key_at("k1", 1, NOW));
        let oldest = mint_join_token(&ring, &claims(NOW)).expect("mint");
        ring.rotate(ed_key_at("k2", 2, NOW + day)).expect("rotate");
        ring.rotate(ed_key_at("k3", 3, NOW + 2 * day)).expect("rotate");
        assert_eq!(ring.previous().len(), 2);
        ring.rotate(ed_key_at("k4", 4, NOW + 3 * day)).expect("rotate");
        assert_eq!(ring.previous().len(), MAX_PREVIOUS_KEYS);
        assert_eq!(verify(&ring, &oldest, NOW), Err(TokenError::UnknownKid));
    }

    /// Rotations faster than a token's lifetime keep every key whose tokens may still be valid.
    #[test]
    fn fast_rotations_keep_every_key_a_live_token_needs() {
        let mut ring = KeyRing::new(ed_key_at("k0", 1, NOW));
        let mut tokens = vec![(NOW, mint_join_token(&ring, &claims(NOW)).expect("mint"))];
        // One rotation a minute for ten minutes; a token minted just before each.
        for i in 1..=10u8 {
            let t = NOW + 60 * i64::from(i);
            ring.rotate(ed_key_at(&format!("k{i}"), i + 1, t)).expect("rotate");
            tokens.push((t, mint_join_token(&ring, &claims(t)).expect("mint")));
        }
        let now = NOW + 600;
        for (minted, jwt) in &tokens {
            let expected_valid = now - minted <= JOIN_TOKEN_TTL_SECS;
            assert_eq!(
                verify(&ring, jwt, now).is_ok(),
                expected_valid,
                "token minted at +{}",
                minted - NOW
            );
        }
        assert!(ring.previous().len() <= 7, "{} previous keys", ring.previous().len());
        // However fast the rotations, the ring stays bounded.
        for i in 0..200u32 {
            ring.rotate(ed_key_at(&format!("f{i}"), 7, now + 1)).expect("rotate");
        }
        assert_eq!(ring.previous().len(), MAX_RETAINED_KEYS);
    }

    #[test]
    fn rotation_to_a_held_kid_is_refused() {
        let mut ring = KeyRing::new(ed_key("k1", 1));
        ring.rotate(ed_key("k2", 2)).expect("rotate");
        assert_eq!(
            ring.rotate(ed_key("k1", 9)),
            Err(TokenError::Key(KeyError::DuplicateKid("k1".to_owned())))
        );
        assert_eq!(ring.current_kid(), "k2");
    }

    #[test]
    fn stored_key_round_trips() {
        for key in [ed_key("k1", 7), hs_key("h1", 8)] {
            let stored = key.to_stored();
            let json = serde_json::to_value(&stored).expect("serialize");
            assert_eq!(json["alg"], key.algorithm().as_str());
            let back: StoredKey = serde_json::from_value(json).expect("deserialize");
            let restored = SigningKey::from_stored(&back).expect("restore");
            assert_eq!(restored.to_stored(), stored);
            assert_eq!(restored.public_key(), key.public_key());
            // A token from the original key verifies with the restored one.
            let jwt = mint_join_token(&KeyRing::new(key), &claims(NOW)).expect("mint");
            assert!(verify(&KeyRing::new(restored), &jwt, NOW).is_ok());
        }
    }

    #[test]
    fn stored_key_errors_instead_of_panicking() {
        let mut stored = ed_key("k1", 7).to_stored();
        stored.material_b64 = "not base64!".to_owned();
        assert_eq!(
            SigningKey::from_stored(&stored).map(|_| ()),
            Err(TokenError::Key(KeyError::BadBase64))
        );
        stored.material_b64 = STANDARD.encode([1u8; 31]);
        assert_eq!(
            SigningKey::from_stored(&stored).map(|_| ()),
            Err(TokenError::Key(KeyError::BadSeedLength(31)))
        );
        stored.alg = KeyAlgorithm::Hs256;
        assert_eq!(
            SigningKey::from_stored(&stored).map(|_| ()),
            Err(TokenError::Key(KeyError::SecretTooShort(31)))
        );
    }

    #[test]
    fn debug_never_prints_key_material() {
        let key = hs_key("h1", b'A');
        let stored = key.to_stored();
        for text in [
            format!("{key:?}"),
            format!("{stored:?}"),
            format!("{:?}", KeyRing::new(key)),
        ] {
            assert!(!text.contains(&stored.material_b64), "{text}");
            assert!(text.contains("redacted"), "{text}");
        }
    }

    #[test]
    fn expiry_allows_thirty_seconds_of_skew() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let c = claims(NOW);
        let jwt = mint_join_token(&ring, &c).expect("mint");
        assert!(verify(&ring, &jwt, c.exp - 1).is_ok());
        assert!(verify(&ring, &jwt, c.exp + MAX_CLOCK_SKEW_SECS - 1).is_ok());
        assert_eq!(
            verify(&ring, &jwt, c.exp + MAX_CLOCK_SKEW_SECS),
            Err(TokenError::Expired)
        );
        assert_eq!(verify(&ring, &jwt, c.exp + 3600), Err(TokenError::Expired));
    }

    #[test]
    fn not_before_allows_thirty_seconds_of_skew() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let c = claims(NOW);
        let jwt = mint_join_token(&ring, &c).expect("mint");
        assert!(verify(&ring, &jwt, c.nbf - MAX_CLOCK_SKEW_SECS).is_ok());
        assert_eq!(
            verify(&ring, &jwt, c.nbf - MAX_CLOCK_SKEW_SECS - 1),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn issued_in_the_future_is_rejected() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let mut c = claims(NOW);
        c.nbf = NOW - 60;
        c.iat = NOW + MAX_CLOCK_SKEW_SECS + 1;
        let jwt = mint_join_token(&ring, &c).expect("mint");
        assert_eq!(verify(&ring, &jwt, NOW), Err(TokenError::NotYetValid));
    }

    #[test]
    fn leeway_is_capped_at_thirty_seconds() {
        let options = VerifyOptions::new(ISS, DEFAULT_AUDIENCE, NOW).with_leeway(3600);
        assert_eq!(options.leeway(), MAX_CLOCK_SKEW_SECS);
        let ring = KeyRing::new(ed_key("k1", 1));
        let c = claims(NOW);
        let jwt = mint_join_token(&ring, &c).expect("mint");
        let late = VerifyOptions::new(ISS, DEFAULT_AUDIENCE, c.exp + 31).with_leeway(3600);
        assert_eq!(ring.verify::<JoinClaims>(&jwt, &late), Err(TokenError::Expired));
        let strict = VerifyOptions::new(ISS, DEFAULT_AUDIENCE, c.exp).with_leeway(0);
        assert_eq!(ring.verify::<JoinClaims>(&jwt, &strict), Err(TokenError::Expired));
    }

    #[test]
    fn wrong_audience_and_issuer_are_rejected() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let jwt = mint_join_token(&ring, &claims(NOW)).expect("mint");
        assert_eq!(
            verify_join_token(&ring, &jwt, ISS, "api", NOW),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            verify_join_token(&ring, &jwt, "https://evil.example", DEFAULT_AUDIENCE, NOW),
            Err(TokenError::WrongIssuer)
        );
    }

    #[test]
    fn audience_array_is_accepted_when_it_names_us() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let mut payload = payload_json(&claims(NOW));
        payload["aud"] = serde_json::json!(["other", DEFAULT_AUDIENCE]);
        let jwt = ring.sign(&payload).expect("sign");
        let options = VerifyOptions::new(ISS, DEFAULT_AUDIENCE, NOW);
        assert!(ring.verify::<Value>(&jwt, &options).is_ok());
        payload["aud"] = serde_json::json!(["other"]);
        let jwt = ring.sign(&payload).expect("sign");
        assert_eq!(ring.verify::<Value>(&jwt, &options), Err(TokenError::WrongAudience));
    }

    #[test]
    fn required_claims_must_be_present() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let options = VerifyOptions::new(ISS, DEFAULT_AUDIENCE, NOW);
        for claim in ["exp", "nbf", "aud", "iss"] {
            let mut payload = payload_json(&claims(NOW));
            payload.as_object_mut().expect("object").remove(claim);
            let jwt = ring.sign(&payload).expect("sign");
            assert_eq!(
                ring.verify::<Value>(&jwt, &options),
                Err(TokenError::MissingClaim(claim))
            );
        }
    }

    #[test]
    fn non_integer_times_are_malformed() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let mut payload = payload_json(&claims(NOW));
        payload["exp"] = serde_json::json!("tomorrow");
        let jwt = ring.sign(&payload).expect("sign");
        assert!(matches!(verify(&ring, &jwt, NOW), Err(TokenError::Malformed(_))));
        payload["exp"] = serde_json::json!(u64::MAX);
        let jwt = ring.sign(&payload).expect("sign");
        assert!(matches!(verify(&ring, &jwt, NOW), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let mut c = claims(NOW);
        c.exp = i64::MAX;
        c.nbf = i64::MIN;
        c.iat = i64::MIN;
        let jwt = mint_join_token(&ring, &c).expect("mint");
        assert!(verify(&ring, &jwt, i64::MAX).is_err());
        assert!(verify(&ring, &jwt, NOW).is_ok());
        assert!(verify(&ring, &jwt, i64::MIN).is_ok());
    }

    #[test]
    fn unknown_role_is_refused_both_ways() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let mut c = claims(NOW);
        c.role = "admin".to_owned();
        assert!(matches!(mint_join_token(&ring, &c), Err(TokenError::Encoding(_))));
        let jwt = ring.sign(&c).expect("sign");
        assert!(matches!(verify(&ring, &jwt, NOW), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn alg_none_is_rejected() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let header = serde_json::json!({"alg": "none", "typ": "JWT", "kid": "k1"});
        let payload = payload_json(&claims(NOW));
        let unsigned = format!(
            "{}.{}.",
            b64url(header.to_string().as_bytes()),
            b64url(payload.to_string().as_bytes())
        );
        assert!(matches!(verify(&ring, &unsigned, NOW), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn algorithm_confusion_is_rejected() {
        // The classic attack: sign HS256 with the published Ed25519 public key as HMAC secret.
        let key = ed_key("k1", 1);
        let public = key.public_key().expect("ed25519");
        let ring = KeyRing::new(key);
        let header = serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "k1"});
        let payload = payload_json(&claims(NOW));
        for secret in [public.to_vec(), b64url(&public).into_bytes()] {
            let forged = forge_hs256(&header, &payload, &secret);
            assert_eq!(verify(&ring, &forged, NOW), Err(TokenError::WrongAlgorithm));
        }
    }

    #[test]
    fn an_eddsa_header_on_an_hs256_key_is_rejected() {
        let ring = KeyRing::new(hs_key("h1", 2));
        let eddsa = KeyRing::new(ed_key("h1", 1));
        let jwt = mint_join_token(&eddsa, &claims(NOW)).expect("mint");
        assert_eq!(verify(&ring, &jwt, NOW), Err(TokenError::WrongAlgorithm));
    }

    #[test]
    fn tampered_payload_is_rejected() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let jwt = mint_join_token(&ring, &claims(NOW)).expect("mint");
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let mut evil = claims(NOW);
        evil.role = "attendee".to_owned();
        evil.sub = "usr_mallory".to_owned();
        let evil_payload = b64url(payload_json(&evil).to_string().as_bytes());
        parts[1] = &evil_payload;
        assert_eq!(verify(&ring, &parts.join("."), NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_token_from_another_key_with_the_same_kid_is_rejected() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let impostor = KeyRing::new(ed_key("k1", 2));
        let jwt = mint_join_token(&impostor, &claims(NOW)).expect("mint");
        assert_eq!(verify(&ring, &jwt, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn unknown_or_missing_kid_is_rejected() {
        let ring = KeyRing::new(ed_key("k1", 1));
        let other = KeyRing::new(ed_key("k9", 1));
        let jwt = mint_join_token(&other, &claims(NOW)).expect("mint");
        assert_eq!(verify(&ring, &jwt, NOW), Err(TokenError::UnknownKid));

        let no_kid = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims(NOW), &ring.current().encoding)
            .expect("encode");
        assert_eq!(verify(&ring, &no_kid, NOW), Err(TokenError::UnknownKid));
    }

    #[test]
    fn garbage_is_malformed() {
        let ring = KeyRing::new(ed_key("k1", 1));
        for input in [
            "",
            ".",
            "..",
            "a.b.c",
            "a.b",
            "a.b.c.d",
            "ey.ey.ey",
            "\u{0}.\u{0}.\u{0}",
        ] {
            assert!(
                matches!(verify(&ring, input, NOW), Err(TokenError::Malformed(_))),
                "{input:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn verify_never_panics_on_arbitrary_strings(input in any::<String>()) {
            let ring = KeyRing::new(ed_key("k1", 1));
            prop_assert!(verify(&ring, &input, NOW).is_err());
        }

        #[test]
        fn verify_never_panics_on_dotted_strings(
            a in "[A-Za-z0-9_=+/-]{0,60}",
            b in "[A-Za-z0-9_=+/-]{0,120}",
            c in "[A-Za-z0-9_=+/-]{0,100}",
        ) {
            let ring = KeyRing::new(ed_key("k1", 1));
            let jwt = format!("{a}.{b}.{c}");
            prop_assert!(verify(&ring, &jwt, NOW).is_err());
        }

        #[test]
        fn verify_never_panics_on_a_valid_header_with_arbitrary_rest(
            alg in prop::sample::select(vec!["EdDSA", "HS256", "RS256", "none", "ES256"]),
            payload in prop::collection::vec(any::<u8>(), 0..200),
            signature in prop::collection::vec(any::<u8>(), 0..100),
        ) {
            let ring = KeyRing::new(ed_key("k1", 1));
            let header = serde_json::json!({"alg": alg, "kid": "k1"});
            let jwt = format!(
                "{}.{}.{}",
                b64url(header.to_string().as_bytes()),
                b64url(&payload),
                b64url(&signature)
            );
            prop_assert!(verify(&ring, &jwt, NOW).is_err());
        }

        #[test]
        fn any_single_character_change_is_rejected(index in any::<prop::sample::Index>(), replacement in "[A-Za-z0-9_.-]") {
            let ring = KeyRing::new(ed_key("k1", 1));
            let jwt = mint_join_token(&ring, &claims(NOW)).expect("mint");
            let i = index.index(jwt.len());
            prop_assume!(jwt[i..].chars().next() != replacement.chars().next());
            let tampered = format!("{}{}{}", &jwt[..i], replacement, &jwt[i + 1..]);
            prop_assert!(verify(&ring, &tampered, NOW).is_err());
        }

        #[test]
        fn round_trip_for_arbitrary_claims(
            iat in -1_000_000_000i64..4_000_000_000,
            sub in "\\PC{0,40}",
            name in "\\PC{0,40}",
            role in prop::sample::select(JOIN_ROLES.to_vec()),
            hs in any::<bool>(),
        ) {
            let ring = KeyRing::new(if hs { hs_key("h1", 3) } else { ed_key("k1", 3) });
            let c = JoinClaims { sub, name, role: role.to_owned(), ..claims(iat) };
            let jwt = mint_join_token(&ring, &c).expect("mint");
            prop_assert_eq!(verify(&ring, &jwt, iat), Ok(c));
        }
    }
}
