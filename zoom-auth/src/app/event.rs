//! The events of an app, past tense.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zoom_core::id::{AccountId, Name};
use zoom_core::principal::Scope;

use super::state::AppKind;
use crate::secret::SecretHash;

/// Every stored type of an app's stream.
pub const EVENT_TYPES: &[&str] = &[
    "app.registered",
    "app.created",
    "app.updated",
    "app.secret_rotated",
    "app.disabled",
];

/// An event of an app's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum AppEvent {
    /// An app registered by the server before this crate existed (zoom-core once held this
    /// type): a confidential server app. Never written any more; read so that stored apps keep
    /// working.
    #[serde(rename = "app.registered")]
    Registered(AppRegistered),
    /// The app was created, active.
    #[serde(rename = "app.created")]
    Created(AppCreated),
    /// Some of its fields changed.
    #[serde(rename = "app.updated")]
    Updated(AppUpdated),
    /// Its client secret was replaced; the old one stopped at once.
    #[serde(rename = "app.secret_rotated")]
    SecretRotated(AppSecretRotated),
    /// It was disabled.
    #[serde(rename = "app.disabled")]
    Disabled(AppDisabled),
}

/// Payload of `app.registered`, as the server wrote it: each one replaced the app whole.
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

/// Payload of `app.created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCreated {
    /// The client id.
    pub client_id: Name,
    /// The account.
    pub account_id: AccountId,
    /// Its name.
    pub name: String,
    /// Server or user.
    pub kind: AppKind,
    /// Its redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Its scopes.
    pub scopes: Vec<Scope>,
    /// Listed to every account.
    pub published: bool,
    /// A public client.
    pub public: bool,
    /// SHA-256 of its client secret, hex (none for a public client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_sha256: Option<SecretHash>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Payload of `app.updated`: the fields that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppUpdated {
    /// The client id.
    pub client_id: Name,
    /// A new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New redirect URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// New scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Scope>>,
    /// Listed or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<bool>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `app.secret_rotated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSecretRotated {
    /// The client id.
    pub client_id: Name,
    /// SHA-256 of the new secret, hex.
    pub secret_sha256: SecretHash,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `app.disabled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppDisabled {
    /// The client id.
    pub client_id: Name,
    /// When.
    pub at: DateTime<Utc>,
}
