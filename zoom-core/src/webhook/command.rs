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
    },
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

impl WebhookCommand {
    /// The scope needed.
    pub fn required_scope(&self) -> Scope {
        match self {
            WebhookCommand::SetHealth { .. } => Scope::Admin,
            _ => Scope::WebhookWrite,
        }
    }
}
