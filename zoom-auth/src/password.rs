//! Password hashes: Argon2id (RFC 9106) through the RustCrypto `argon2` crate, written in the PHC
//! string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) so each hash carries the parameters it
//! was made with and old hashes keep verifying after the defaults change.
//!
//! The defaults are OWASP's second recommendation for Argon2id: 19 MiB of memory, 2 passes, one
//! lane, a 16-byte random salt and a 32-byte tag. A login is slow on purpose (tens of
//! milliseconds in a release build); nothing else hashes passwords.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zoom_core::clock::Entropy;

/// The cost parameters of new hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordParams {
    /// The cheapest parameters the algorithm allows (8 KiB, one pass): for tests only, where
    /// the cost of a real hash would dominate the run.
    pub fn insecure_for_tests() -> Self {
        Self {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        }
    }
}

/// The longest password accepted, in bytes (a bound on the work an attacker can ask for).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A stored password hash (PHC string). Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(…)")
    }
}

impl PasswordHash {
    /// The PHC string, for storing it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A hash read back from storage (not checked until it is verified).
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }
}

/// Why a password was not hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// The password is empty or longer than [`MAX_PASSWORD_BYTES`]: a 400 on `password`.
    #[error("password must be 1 to {MAX_PASSWORD_BYTES} bytes")]
    Length,
    /// The parameters are outside what Argon2 allows: a configuration bug, fix the settings.
    #[error("argon2 parameters: {0}")]
    Params(String),
}

fn argon2(params: PasswordParams) -> Result<argon2::Argon2<'static>, PasswordError> {
    let p = argon2::Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32))
        .map_err(|e| PasswordError::Params(e.to_string()))?;
    Ok(argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        p,
    ))
}

/// Hashes `password` with a fresh salt.
///
/// # Errors
/// [`PasswordError`]: a password of a bad length, or parameters Argon2 refuses.
pub fn hash(password: &str, params: PasswordParams, entropy: &dyn Entropy) -> Result<PasswordHash, PasswordError> {
    if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::Length);
    }
    let salt = entropy.id_bytes();
    let mut tag = [0u8; 32];
    argon2(params)?
        .hash_password_into(password.as_bytes(), &salt, &mut tag)
        .map_err(|e| PasswordError::Params(e.to_string()))?;
    Ok(PasswordHash(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(tag)
    )))
}

/// Whether `password` matches `hash`, comparing the tags in constant time. A malformed hash or
/// an over-long password never matches.
pub fn verify(password: &str, hash: &PasswordHash) -> bool {
    let Some((params, salt, tag)) = parse(&hash.0) else {
        return false;
    };
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let Ok(argon) = argon2(params) else { return false };
    let mut computed = vec![0u8; tag.len()];
    if argon
        .hash_password_into(password.as_bytes(), &salt, &mut computed)
        .is_err()
    {
        return false;
    }
    computed.ct_eq(&tag).into()
}

fn parse(phc: &str) -> Option<(PasswordParams, Vec<u8>, Vec<u8>)> {
    let mut parts = phc.strip_prefix("$argon2id$v=19$")?.split('$');
    let (costs, salt, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let mut params = PasswordParams::default();
    for cost in costs.split(',') {
        let (key, value) = cost.split_once('=')?;
        let value: u32 = value.parse().ok()?;
        match key {
            "m" => params.memory_kib = value,
            "t" => params.iterations = value,
            "p" => params.parallelism = value,
            _ => return None,
        }
    }
    let salt = STANDARD_NO_PAD.decode(salt).ok()?;
    let tag = STANDARD_NO_PAD.decode(tag).ok()?;
    if tag.len() < 16 || tag.len() > 64 {
        return None;
    }
    Some((params, salt, tag))
}
