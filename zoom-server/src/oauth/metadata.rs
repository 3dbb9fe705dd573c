//! `GET /.well-known/oauth-authorization-server` (RFC 8414) and `GET /oauth/jwks`, the public
//! keys of access tokens as a JWK Set (RFC 7517).
//!
//! `/.well-known/jwks.json` is another key set: the join-token keys the media server checks.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use zoom_core::principal::Scope;

use super::OAuth;

/// The metadata document of the authorization server at `issuer` (its public URL).
pub fn metadata_document(issuer: &str) -> Value {
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "jwks_uri": format!("{issuer}/oauth/jwks"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "authorization_response_iss_parameter_supported": true,
    })
}

/// JSON that caches may keep for five minutes: the keys and endpoints change rarely, and a
/// client that sees an unknown `kid` fetches again.
fn cacheable(body: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"))],
        Json(body),
    )
        .into_response()
}

/// The handler of `GET /.well-known/oauth-authorization-server`.
pub async fn metadata(State(oauth): State<OAuth>) -> Response {
    cacheable(metadata_document(&oauth.public_url))
}

/// The handler of `GET /oauth/jwks`: the access-token key ring's Ed25519 public keys.
pub async fn jwks(State(oauth): State<OAuth>) -> Response {
    cacheable(oauth.access_jwks.as_ref().clone())
}
