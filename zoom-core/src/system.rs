//! System streams: signing keys, kept in the log like everything else so they persist with
//! whichever store is in use and survive a restart. (Apps, and the `app.registered` events the
//! server once wrote here, belong to zoom-auth.)

use serde::{Deserialize, Serialize};

use crate::token::StoredKey;

/// The stream of join-token signing keys.
pub const JOIN_KEYS_STREAM: &str = "sys_keys_join";
/// The stream of access-token signing keys.
pub const ACCESS_KEYS_STREAM: &str = "sys_keys_access";

/// The stream of the key that signs recording file URLs.
pub const FILE_KEYS_STREAM: &str = "sys_keys_files";

/// An event of a system stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum SystemEvent {
    /// A signing key was created; the newest is current, older ones still verify.
    #[serde(rename = "signing_key.added")]
    SigningKeyAdded(SigningKeyAdded),
}

impl SystemEvent {
    /// The stored type name.
    pub fn event_type(&self) -> &'static str {
        match self {
            SystemEvent::SigningKeyAdded(_) => "signing_key.added",
        }
    }
}

/// Payload of `signing_key.added`. Holds private key material: the store is as sensitive as the
/// keys it keeps (see docs/operations.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyAdded {
    /// The key, in its stored form.
    pub key: StoredKey,
}
