//! The handlers, one module per resource. Each public route has one function annotated with
//! `#[utoipa::path]`, so the OpenAPI document is generated from the code that serves it.
//!
//! Colon actions (`/v1/meetings/{id}:end`) cannot be routed by axum, which allows no literal after
//! a parameter in one segment: the segment is routed whole and [`split_action`] dispatches it.

pub(crate) mod events;
pub(crate) mod media;
pub(crate) mod meetings;
pub(crate) mod participants;
pub(crate) mod recordings;
pub(crate) mod webhooks;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use zoom_core::id::{MeetingId, ParticipantId, RecordingId, WebhookId};

use crate::problem::Problem;

/// Splits `id:action` into its halves. A segment without a colon names the resource itself,
/// which has no handler for this method on these routes: 405.
pub(crate) fn split_action(segment: &str) -> Result<(&str, &str), Problem> {
    segment.split_once(':').ok_or_else(method_not_allowed)
}

/// 404 for an unknown colon action on a known resource path.
pub(crate) fn unknown_action(action: &str) -> Problem {
    Problem::not_found(format!(
        "no action `:{}` here",
        action.chars().take(64).collect::<String>()
    ))
}

/// 405 for a colon-less segment on a route that only has colon actions for this method.
pub(crate) fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not allowed on this path",
    )
}

/// A path parameter that axum could not decode (invalid UTF-8 after percent-decoding) names no
/// resource: 404, like any unknown id.
pub(crate) fn path<T>(p: Result<axum::extract::Path<T>, PathRejection>) -> Result<T, Problem> {
    p.map(|axum::extract::Path(v)| v)
        .map_err(|_| Problem::not_found("no such resource"))
}

macro_rules! id_parser {
    ($fn:ident, $ty:ty, $what:literal) => {
        /// Parses an id from a path; a malformed id names nothing, so it is a 404.
        pub(crate) fn $fn(raw: &str) -> Result<$ty, Problem> {
            <$ty>::parse(raw).map_err(|_| {
                Problem::not_found(format!(
                    concat!($what, " {} not found"),
                    raw.chars().take(80).collect::<String>()
                ))
            })
        }
    };
}

id_parser!(meeting_id, MeetingId, "meeting");
id_parser!(participant_id, ParticipantId, "participant");
id_parser!(recording_id, RecordingId, "recording");
id_parser!(webhook_id, WebhookId, "webhook");

/// A JSON answer with a status.
pub(crate) fn reply<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, Json(body)).into_response()
}
