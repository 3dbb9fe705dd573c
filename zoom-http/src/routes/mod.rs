//! The handlers, one module per resource. Each public route has one function annotated with
//! `#[utoipa::path]`, so the OpenAPI document is generated from the code that serves it; its
//! extractors (`crate::extract`) parse the caller, the ids, the query and the body and refuse
//! with the problem, so a handler only calls the engine and shapes the answer.

pub(crate) mod events;
pub(crate) mod media;
pub(crate) mod meetings;
pub(crate) mod meta;
pub(crate) mod participants;
pub(crate) mod recordings;
pub(crate) mod webhooks;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub(crate) use crate::extract::webhook_id;
use crate::problem::Problem;

/// A JSON answer with a status.
pub(crate) fn reply<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, Json(body)).into_response()
}

// The helpers below serve `webhooks`, which still reads its requests by hand; the other
// modules use the extractors.

/// Splits `id:action` into its halves. A segment without a colon names the resource itself,
/// which has no handler for this method on these routes: 405.
pub(crate) fn split_action(segment: &str) -> Result<(&str, &str), Problem> {
    segment.split_once(':').ok_or_else(|| {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this method is not allowed on this path",
        )
    })
}

/// 404 for an unknown colon action on a known resource path.
pub(crate) fn unknown_action(action: &str) -> Problem {
    Problem::not_found(format!(
        "no action `:{}` here",
        action.chars().take(64).collect::<String>()
    ))
}

/// A path parameter that axum could not decode (invalid UTF-8 after percent-decoding) names no
/// resource: 404, like any unknown id.
pub(crate) fn path<T>(p: Result<axum::extract::Path<T>, PathRejection>) -> Result<T, Problem> {
    p.map(|axum::extract::Path(v)| v)
        .map_err(|_| Problem::not_found("no such resource"))
}
