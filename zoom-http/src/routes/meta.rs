//! The service's own routes: liveness, the join-token key set and the OpenAPI document.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::Api;
use crate::extract::NoQuery;
use crate::views::{Health200, Jwks};

/// Liveness.
#[utoipa::path(get, path = "/healthz", operation_id = "meta.healthz", tag = "meta",
    responses((status = 200, description = "Serving", body = Health200)))]
pub(crate) async fn healthz(_: NoQuery) -> Response {
    (StatusCode::OK, axum::Json(Health200 { status: "ok".into() })).into_response()
}

/// The join-token public keys (current and previous).
#[utoipa::path(get, path = "/.well-known/jwks.json", operation_id = "meta.jwks", tag = "meta",
    responses((status = 200, description = "A JWKS", body = Jwks)))]
pub(crate) async fn jwks(State(api): State<Api>, _: NoQuery) -> Response {
    (StatusCode::OK, axum::Json(api.engine.jwks())).into_response()
}

/// `GET /openapi.json`: the document, serialized once.
pub(crate) async fn openapi_json() -> Response {
    static DOC: OnceLock<Vec<u8>> = OnceLock::new();
    let body = DOC.get_or_init(|| serde_json::to_vec(&crate::openapi::openapi()).unwrap_or_default());
    let mut r = (StatusCode::OK, body.clone()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}
