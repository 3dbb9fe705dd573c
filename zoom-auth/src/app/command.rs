//! The commands of an app.

use serde::Serialize;
use zoom_core::id::AccountId;
use zoom_core::principal::Scope;

use super::state::AppKind;
use crate::secret::SecretHash;

/// A command on an app's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AppCommand {
    /// Creates the app (`POST /v1/apps`).
    Create(NewApp),
    /// Changes it (`PATCH /v1/apps/{client_id}`).
    Update(AppPatch),
    /// Replaces its client secret; the old one stops at once.
    RotateSecret {
        /// The new secret's hash. Never part of an idempotency fingerprint.
        #[serde(skip)]
        secret: Option<SecretHash>,
    },
    /// Disables it (`DELETE /v1/apps/{client_id}`); a no-op when already disabled.
    Disable,
    /// Creates the app, or brings it in line with this one: the server's bootstrap, run at every
    /// start. Nothing is written when the secret, account and scopes are already these.
    Register(NewApp),
}

/// A new app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewApp {
    /// The account it belongs to.
    pub account_id: AccountId,
    /// A human-readable name, 1 to 200 characters.
    pub name: String,
    /// Server or user.
    pub kind: AppKind,
    /// Redirect URIs; a user app needs at least one.
    pub redirect_uris: Vec<String>,
    /// The scopes it may be granted.
    pub scopes: Vec<Scope>,
    /// Listed to every account.
    pub published: bool,
    /// A public client (user apps only): no secret.
    pub public: bool,
    /// The hash of its first client secret; required exactly when it is not public. Never part
    /// of an idempotency fingerprint.
    #[serde(skip)]
    pub secret: Option<SecretHash>,
}

/// The changes of an update; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AppPatch {
    /// A new name.
    pub name: Option<String>,
    /// New redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// New scopes.
    pub scopes: Option<Vec<Scope>>,
    /// Listed or not.
    pub published: Option<bool>,
}
