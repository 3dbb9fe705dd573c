//! The one error type of this crate.

use zoom_core::EngineError;
use zoom_core::store::StoreError;

/// Why a call of this crate failed. Each variant says how the caller handles it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A setting cannot work (zero pool, jitter of 1, empty range). Fix the configuration or the
    /// request; not retryable.
    #[error("invalid webhook worker setting: {0}")]
    Config(String),
    /// A retry schedule does not parse (`--webhook-retry-schedule`). Fix the flag.
    #[error("invalid retry schedule: {0}")]
    Schedule(String),
    /// The HTTP client (its TLS backend) could not be built. Operator attention.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The subscription or delivery does not exist (or was deleted). HTTP 404.
    #[error("{0} not found")]
    NotFound(String),
    /// The endpoint did not answer the validation challenge rightly; the message says what came
    /// back. HTTP 422 `url_validation_failed`; fix the receiver and validate again.
    #[error("url validation failed: {0}")]
    Validation(String),
    /// The engine refused or failed; see [`EngineError`] (scope, visibility, contention).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The store failed; retry when `Unavailable`.
    #[error(transparent)]
    Store(#[from] StoreError),
}
