//! The handlers, one module per resource. Each public route has one function annotated with
//! `#[utoipa::path]`, so the OpenAPI document is generated from the code that serves it; its
//! extractors (`crate::extract`) parse the caller, the ids, the query and the body and refuse
//! with the problem, so a handler only calls the engine and shapes the answer.

pub(crate) mod accounts;
pub(crate) mod apps;
pub(crate) mod authorizations;
pub(crate) mod events;
pub(crate) mod media;
pub(crate) mod meetings;
pub(crate) mod meta;
pub(crate) mod participants;
pub(crate) mod recordings;
pub(crate) mod users;
pub(crate) mod webhooks;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON answer with a status.
pub(crate) fn reply<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, Json(body)).into_response()
}
