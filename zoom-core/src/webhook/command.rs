//! The closed set of commands on a subscription.

use serde::{Deserialize, Serialize};

use super::state::Health;
use crate::principal::Scope;

/// A command on a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum WebhookCommand {
    /// Create it.
    Subscribe {
        /// Destination.
        url: String,
        /// Catalogue names.
        events: Vec<String>,
        /// Send nothing until the URL passed the validation challenge.
        #[serde(default)]
        url_validation: bool,
    },
    /// Change its URL, its events or whether it is enabled; absent fields stay as they are.
    Update(WebhookPatch),
    /// Record that the receiver at `url` answered a validation challenge: `encrypted_token`
    /// must be the HMAC of `plain_token` under the newest secret. The challenge itself is sent
    /// by the caller (it is I/O); the decision checks the answer.
    RecordValidation {
        /// The URL the challenge was sent to (the validation is for this URL only).
        url: String,
        /// The random token sent.
        plain_token: String,
        /// What the receiver answered.
        encrypted_token: String,
    },
    /// Ask for a `webhook.ping` delivery to this subscription alone.
    Ping,
    /// Delete it.
    Unsubscribe,
    /// Replace the secret; the old one signs for 24 more hours.
    RotateSecret,
    /// The delivery worker reports a change of health.
    SetHealth {
        /// The new health.
        state: Health,
        /// Why (shown in the event).
        reason: String,
    },
}

/// The fields of [`WebhookCommand::Update`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPatch {
    /// A new destination (a subscription with `url_validation` must be validated again).
    pub url: Option<String>,
    /// New catalogue names.
    pub events: Option<Vec<String>>,
    /// `true` re-enables a disabled subscription (health `healthy`); `false` disables it.
    pub active: Option<bool>,
}

impl WebhookCommand {
    /// The scope needed.
    pub fn required_scope(&self) -> Scope {
        match self {
            WebhookCommand::SetHealth { .. } => Scope::Admin,
            _ => Scope::WebhookWrite,
        }
    }
}
