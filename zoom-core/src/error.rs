//! The errors a decision can return.

use crate::principal::Scope;

/// Why a command or query was refused. Each variant says how a caller handles it; the stable
/// `code` strings are part of the HTTP contract (problem+json `code`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field is missing or malformed. Fix the input; HTTP 400 with `field`.
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault, as spelled in JSON.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A paging cursor that is malformed, or was issued for another list, other filters or
    /// another account. HTTP 400 `invalid_cursor` with `field` `cursor`.
    #[error("cursor: {message}")]
    InvalidCursor {
        /// What is wrong with it.
        message: String,
    },
    /// The principal lacks a scope. HTTP 403 `insufficient_scope`.
    #[error("this call needs the `{0}` scope")]
    InsufficientScope(Scope),
    /// The principal may not do this to this resource (not the host, removed, wrong passcode…).
    /// HTTP 403 with `code`.
    #[error("{message}")]
    Forbidden {
        /// Stable machine-readable reason.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// No such resource in the principal's account (another account's resource is also this).
    /// HTTP 404.
    #[error("{resource} {id} not found")]
    NotFound {
        /// `meeting`, `participant`, `recording`, `webhook`.
        resource: &'static str,
        /// The id that was asked for.
        id: String,
    },
    /// The resource's state forbids the change (ended meeting, recording not processing…).
    /// HTTP 409 with `code`; retrying will not help until the state changes.
    #[error("{message}")]
    Conflict {
        /// Stable machine-readable reason.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// The resource is gone for good (a cancelled meeting). HTTP 410.
    #[error("{message}")]
    Gone {
        /// Stable machine-readable reason.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// A presented credential (join token) is invalid, expired or already used. HTTP 401.
    #[error("{message}")]
    Unauthorized {
        /// Stable machine-readable reason.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
}

impl DomainError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Invalid { .. } => "invalid_field",
            DomainError::InvalidCursor { .. } => "invalid_cursor",
            DomainError::InsufficientScope(_) => "insufficient_scope",
            DomainError::NotFound { .. } => "not_found",
            DomainError::Forbidden { code, .. }
            | DomainError::Conflict { code, .. }
            | DomainError::Gone { code, .. }
            | DomainError::Unauthorized { code, .. } => code,
        }
    }

    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(resource: &'static str, id: impl ToString) -> Self {
        DomainError::NotFound {
            resource,
            id: id.to_string(),
        }
    }
}
