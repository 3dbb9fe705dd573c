//! System streams: signing keys and registered apps, kept in the log like everything else so
//! they persist with whichever store is in use and survive a restart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{AccountId, Name};
use crate::principal::Scope;
use crate::token::StoredKey;

/// The stream of join-token signing keys.
pub const JOIN_KEYS_STREAM: &str = "sys_keys_join";
/// The stream of access-token signing keys.
pub const ACCESS_KEYS_STREAM: &str = "sys_keys_access";

/// The stream of the key that signs recording file URLs.
pub const FILE_KEYS_STREAM: &str = "sys_keys_files";

/// The stream of an app (OAuth client).
pub fn app_stream(client_id: &Name) -> String {
    format!("sys_app_{client_id}")
}

/// An event of a system stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum SystemEvent {
    /// A signing key was created; the newest is current, older ones still verify.
    #[serde(rename = "signing_key.added")]
    SigningKeyAdded(SigningKeyAdded),
    /// An app (OAuth client) was registered.
    #[serde(rename = "app.registered")]
    AppRegistered(AppRegistered),
}

impl SystemEvent {
    /// The stored type name.
    pub fn event_type(&self) -> &'static str {
        match self {
            SystemEvent::SigningKeyAdded(_) => "signing_key.added",
            SystemEvent::AppRegistered(_) => "app.registered",
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

/// Payload of `app.registered`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRegistered {
    /// The OAuth client id.
    pub client_id: Name,
    /// The account it acts for.
    pub account_id: AccountId,
    /// A human-readable name.
    pub name: String,
    /// SHA-256 of the client secret, hex; the secret itself is never stored.
    pub secret_sha256: String,
    /// The scopes it may be granted.
    pub scopes: Vec<Scope>,
    /// When.
    pub registered_at: DateTime<Utc>,
}
