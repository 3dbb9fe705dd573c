//! RFC 9457 problem details: every error this API answers.
//!
//! A [`Problem`] is the one error type of the HTTP layer. Engine errors map to it by kind
//! ([`From<EngineError>`]); internal failures are logged with their detail and answered with a
//! generic one, so a client never sees a store's message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zoom_core::store::StoreError;
use zoom_core::{DomainError, EngineError};

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem details document (`application/problem+json`, RFC 9457): the error answer of
/// every route. Build one with [`Problem::new`]; it serializes as a [`ProblemDocument`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    status: StatusCode,
    code: String,
    detail: String,
    field: Option<String>,
}

/// The wire form of a [`Problem`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDocument {
    /// A URI naming the kind of problem: `https://zoom.invalid/problems/<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem (the HTTP reason phrase).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for a person to read.
    pub detail: String,
    /// A stable machine-readable code (`invalid_field`, `not_found`, `insufficient_scope`, …).
    pub code: String,
    /// The request field at fault, when exactly one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    /// A problem with this status, code and detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            detail: detail.into(),
            field: None,
        }
    }

    /// The same problem, naming the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400 `invalid_field` naming `field`.
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_field", detail).with_field(field)
    }

    /// 404 `not_found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 413 `payload_too_large`: the body is larger than [`crate::ApiConfig::body_limit`].
    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than this server accepts",
        )
    }

    /// 500 `internal_error`. The cause is logged here and never shown to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed to answer this request; it has been logged",
        )
    }

    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The field at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The wire form.
    pub fn document(&self) -> ProblemDocument {
        ProblemDocument {
            problem_type: format!("https://zoom.invalid/problems/{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.clone(),
            field: self.field.clone(),
        }
    }
}

impl From<DomainError> for Problem {
    fn from(e: DomainError) -> Self {
        let status = match &e {
            DomainError::Invalid { .. } | DomainError::InvalidCursor { .. } => StatusCode::BAD_REQUEST,
            DomainError::InsufficientScope(_) | DomainError::Forbidden { .. } => StatusCode::FORBIDDEN,
            DomainError::NotFound { .. } => StatusCode::NOT_FOUND,
            DomainError::Conflict { .. } => StatusCode::CONFLICT,
            DomainError::Gone { .. } => StatusCode::GONE,
            DomainError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
        };
        let detail = match &e {
            DomainError::Invalid { message, .. } | DomainError::InvalidCursor { message } => message.clone(),
            other => other.to_string(),
        };
        let problem = Problem::new(status, e.code(), detail);
        match e {
            DomainError::Invalid { field, .. } => problem.with_field(field),
            DomainError::InvalidCursor { .. } => problem.with_field("cursor"),
            _ => problem,
        }
    }
}

impl From<EngineError> for Problem {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Domain(d) => d.into(),
            EngineError::IdempotencyMismatch => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request",
            )
            .with_field("Idempotency-Key"),
            EngineError::Contention(stream) => {
                tracing::warn!(%stream, "contention");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "contention",
                    "too many concurrent changes to this resource; retry",
                )
            }
            EngineError::Store(e) => match store_unavailable(&e) {
                Some(problem) => {
                    tracing::error!(error = %e, "store unavailable");
                    problem
                }
                None => Problem::internal(&e),
            },
            other => Problem::internal(&other),
        }
    }
}

/// 503 `store_unavailable` for a store that cannot serve now, with a detail that says which
/// way (the store's own message, which may name files or hosts, is logged, never shown); `None`
/// for the other store errors, which are internal (a corrupt row, a bug).
fn store_unavailable(e: &StoreError) -> Option<Problem> {
    let detail = match e {
        StoreError::Unavailable(_) => "the store is temporarily unavailable; retry later",
        StoreError::Full(_) => {
            "the store's disk is full: nothing was written, and changes are refused until an operator frees space"
        }
        StoreError::ReadOnly(_) => {
            "the store is read-only: nothing was written, and changes are refused until an operator makes it writable"
        }
        StoreError::Io(_) => {
            "the store's disk reported an I/O error: nothing was written; an operator has been alerted"
        }
        StoreError::Conflict { .. }
        | StoreError::DuplicateIdempotencyKey
        | StoreError::Corrupt { .. }
        | StoreError::Invalid(_) => return None,
    };
    Some(Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        detail,
    ))
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status;
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let body = serde_json::to_vec(&self.document()).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(e: StoreError) -> Problem {
        EngineError::Store(e).into()
    }

    /// Every way a store cannot serve is 503 `store_unavailable`; only a transient failure says
    /// to retry, and no detail leaks the store's own message.
    #[test]
    fn store_failures_are_503_store_unavailable_with_their_own_detail() {
        for (e, says) in [
            (
                StoreError::Unavailable("database is locked at /srv/x.db".into()),
                "retry later",
            ),
            (StoreError::Full("database or disk is full".into()), "disk is full"),
            (
                StoreError::ReadOnly("attempt to write a readonly database".into()),
                "read-only",
            ),
            (StoreError::Io("disk I/O error".into()), "I/O error"),
        ] {
            let full = matches!(e, StoreError::Full(_) | StoreError::ReadOnly(_));
            let p = problem(e);
            assert_eq!(p.status_code(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(p.code(), "store_unavailable");
            assert!(p.detail.contains(says), "{}", p.detail);
            assert!(
                !p.detail.contains("/srv") && !p.detail.contains("database"),
                "{}",
                p.detail
            );
            if full {
                assert!(!p.detail.contains("retry"), "{}", p.detail);
            }
        }
    }

    /// A corrupt row or a bad store request is an internal error, not a 503.
    #[test]
    fn other_store_errors_are_internal() {
        let corrupt = StoreError::Corrupt {
            row: "mtg_a@1".into(),
            reason: "bad json".into(),
        };
        for e in [corrupt, StoreError::Invalid("empty append".into())] {
            let p = problem(e);
            assert_eq!(p.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(p.code(), "internal_error");
        }
    }
}
