//! Reading requests: typed extractors for the caller, the JSON body, the empty body,
//! `Idempotency-Key`, the path's ids and the query, each refusing with a precise [`Problem`]
//! rather than axum's plain-text rejections. A handler's signature states what it reads.
//!
//! # Layout
//! - this file: [`Caller`], [`Json`], [`JsonOrEmpty`], [`Empty`], [`IdempotencyKey`] and the
//!   path ids ([`MeetingPath`], [`ParticipantPath`], [`RecordingPath`], [`WebhookPath`],
//!   [`AccountPath`], [`UserPath`], [`AppPath`], [`AuthorizationPath`]).
//! - `body`: the strict JSON parse (no key twice, no array for an object).
//! - `query`: [`Params`] and [`NoQuery`]: only the names a route declares.

mod body;
mod query;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};
use zoom_core::id::{MeetingId, Name, ParticipantId, RecordingId, WebhookId};
use zoom_core::principal::Principal;

#[cfg(test)]
use body::from_value;
pub(crate) use body::{objects, optional_object};
pub(crate) use query::{NoQuery, PAGE_PARAMS, Page, Params, Query, QueryParams};

use crate::api::Api;
use crate::problem::Problem;

/// The longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

// ---------------------------------------------------------------- the caller

/// The authenticated caller: `Authorization: Bearer <token>` through the [`Api`]'s
/// authenticator; 401 without a valid one.
pub(crate) struct Caller(pub(crate) Principal);

impl FromRequestParts<Api> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, Problem> {
        principal(api, &parts.headers).await.map(Caller)
    }
}

/// Authenticates the request's bearer token.
pub(crate) async fn principal(api: &Api, headers: &HeaderMap) -> Result<Principal, Problem> {
    let token = bearer(headers)?;
    api.auth
        .authenticate(token)
        .await
        .map_err(|e| Problem::new(StatusCode::UNAUTHORIZED, e.code, e.detail))
}

/// The bearer token of `Authorization: Bearer <token>`; 401 without one.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, Problem> {
    let unauthorized = |code: &str, detail: &str| Problem::new(StatusCode::UNAUTHORIZED, code, detail);
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "unauthorized",
            "this call needs an `Authorization: Bearer <access token>` header",
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| unauthorized("invalid_token", "the Authorization header is not ASCII"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(unauthorized(
            "invalid_token",
            "the Authorization header must be `Bearer <access token>`",
        )),
    }
}

// ---------------------------------------------------------------- headers

/// The `Idempotency-Key` header, if sent: 1 to 255 visible ASCII characters, else 400
/// `invalid_field`.
pub(crate) struct IdempotencyKey(pub(crate) Option<String>);

impl IdempotencyKey {
    /// The key, for the engine.
    pub(crate) fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        idempotency_key(&parts.headers).map(IdempotencyKey)
    }
}

impl utoipa::IntoParams for IdempotencyKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_IDEMPOTENCY_KEY))
            .pattern(Some("^[!-~]+$"));
        vec![
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "A replay with the same key and body returns the first answer; the same key with another body is 422",
                ))
                .schema(Some(schema))
                .build(),
        ]
    }
}

/// The `Idempotency-Key` header, validated: 1 to 255 visible ASCII characters.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        Problem::invalid_field(
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
    };
    let s = value.to_str().map_err(|_| bad())?;
    if s.is_empty() || s.len() > MAX_IDEMPOTENCY_KEY || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(s.to_owned()))
}

// ---------------------------------------------------------------- bodies

/// A JSON object body parsed into `T`: 415 for another content type, 400 `invalid_json` for
/// malformed JSON or a non-object, 400 `duplicate_field`, `unknown_field` and `invalid_field`
/// (with `field`) for what `T` refuses, 413 past the body limit.
pub(crate) struct Json<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let json_type = is_json(req.headers());
        let body = bytes(Bytes::from_request(req, state).await)?;
        parse_json(json_type, &body).map(Json)
    }
}

/// Like [`Json`], but an empty body is `T::default()` (a request with no fields).
pub(crate) struct JsonOrEmpty<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for JsonOrEmpty<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let json_type = is_json(req.headers());
        let body = bytes(Bytes::from_request(req, state).await)?;
        if is_blank(&body) {
            return Ok(JsonOrEmpty(T::default()));
        }
        parse_json(json_type, &body).map(JsonOrEmpty)
    }
}

/// The body of an action that takes none: empty, or the JSON object `{}`.
pub(crate) struct Empty;

impl<S: Send + Sync> FromRequest<S> for Empty {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let json_type = is_json(req.headers());
        let body = bytes(Bytes::from_request(req, state).await)?;
        if is_blank(&body) {
            return Ok(Empty);
        }
        parse_json::<Nothing>(json_type, &body).map(|_| Empty)
    }
}

/// The only object an empty action accepts: `{}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Nothing {}

/// No body at all. Whitespace alone is not "no body": it is not a JSON document either, so it is
/// refused as `invalid_json` (a client that means nothing sends nothing).
fn is_blank(body: &[u8]) -> bool {
    body.is_empty()
}

fn parse_json<T: DeserializeOwned>(json_type: bool, body: &[u8]) -> Result<T, Problem> {
    if !json_type {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the request body must be `Content-Type: application/json`",
        ));
    }
    body::parse(body)
}

/// The buffered body, or 413 when it is larger than the configured limit.
pub(crate) fn bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Problem> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::payload_too_large()
        } else {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "the request body could not be read",
            )
        }
    })
}

/// Whether the request declares a JSON body (`application/json` or `application/*+json`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON object body into `T` (see [`Json`] for the problems).
#[cfg(test)]
pub(crate) fn json<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, Problem> {
    parse_json(is_json(headers), body)
}

// ---------------------------------------------------------------- path ids

/// The path parameter `name`. A parameter axum cannot decode (invalid UTF-8 after
/// percent-decoding) names no resource: 404, like any unknown id.
async fn param<S: Send + Sync>(parts: &mut Parts, state: &S, name: &str) -> Result<String, Problem> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| Problem::not_found("no such resource"))?;
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .ok_or_else(|| Problem::not_found("no such resource"))
}

/// A path id's OpenAPI parameter: a string of the id's prefix and alphabet.
fn id_param(name: &str, prefix: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(format!("`{prefix}…`")))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(format!("^{prefix}[A-Za-z0-9_]{{1,64}}$"))),
        ))
        .build()
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

macro_rules! one_id_path {
    ($(#[$doc:meta])* $name:ident, $ty:ty, $param:literal, $parse:ident) => {
        $(#[$doc])*
        pub(crate) struct $name(pub(crate) $ty);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = Problem;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
                $parse(&param(parts, state, $param).await?).map($name)
            }
        }

        impl utoipa::IntoParams for $name {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                vec![id_param($param, <$ty>::PREFIX)]
            }
        }
    };
}

one_id_path!(
    /// The meeting of `{id}`; a malformed id is 404.
    MeetingPath, MeetingId, "id", meeting_id
);
one_id_path!(
    /// The recording of `{rec_id}`; a malformed id is 404.
    RecordingPath, RecordingId, "rec_id", recording_id
);
one_id_path!(
    /// The subscription of `{id}`; a malformed id is 404.
    WebhookPath, WebhookId, "id", webhook_id
);

/// A path parameter that is a name (`zoom_core::id::Name`: an account, user or client id): a
/// string of 1 to 128 of `A-Z a-z 0-9 _ . @ : -`.
fn name_param(name: &str, what: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(format!("The {what}'s id")))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(crate::openapi::NAME_PATTERN)),
        ))
        .build()
}

macro_rules! name_path {
    ($(#[$doc:meta])* $name:ident, $param:literal, $what:literal) => {
        $(#[$doc])*
        pub(crate) struct $name(pub(crate) Name);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = Problem;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
                let raw = param(parts, state, $param).await?;
                Name::parse(&raw).map($name).map_err(|_| {
                    Problem::not_found(format!(
                        concat!($what, " {} not found"),
                        raw.chars().take(80).collect::<String>()
                    ))
                })
            }
        }

        impl utoipa::IntoParams for $name {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                vec![name_param($param, $what)]
            }
        }
    };
}

name_path!(
    /// The account of `{id}`; a malformed id is 404.
    AccountPath, "id", "account"
);
name_path!(
    /// The user of `{id}` (in the caller's account); a malformed id is 404.
    UserPath, "id", "user"
);
name_path!(
    /// The authorization of `{id}` (`grt_…`); a malformed id is 404.
    AuthorizationPath, "id", "authorization"
);
/// The app of `{client_id}`; a malformed id is 404. A client id is narrower than a name: 1 to
/// 120 of `A-Z a-z 0-9 _ . : -`, since it names the app's stream (`sys_app_{client_id}`).
pub(crate) struct AppPath(pub(crate) Name);

/// The pattern of a client id.
pub(crate) const CLIENT_ID_PATTERN: &str = "^[A-Za-z0-9_.:-]{1,120}$";

impl<S: Send + Sync> FromRequestParts<S> for AppPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let raw = param(parts, state, "client_id").await?;
        // The app's stream decides which names are client ids.
        let names_a_stream = |name: &Name| zoom_core::event::StreamId::new(zoom_auth::app::app_stream(name)).is_ok();
        match Name::parse(&raw) {
            Ok(name) if names_a_stream(&name) => Ok(Self(name)),
            _ => Err(Problem::not_found(format!(
                "app {} not found",
                raw.chars().take(80).collect::<String>()
            ))),
        }
    }
}

impl utoipa::IntoParams for AppPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name("client_id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("The app's client id"))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(CLIENT_ID_PATTERN)),
                ))
                .build(),
        ]
    }
}

/// The meeting of `{id}` and its participant `{pid}`; a malformed id is 404.
pub(crate) struct ParticipantPath(pub(crate) MeetingId, pub(crate) ParticipantId);

impl<S: Send + Sync> FromRequestParts<S> for ParticipantPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let meeting = meeting_id(&param(parts, state, "id").await?)?;
        let participant = participant_id(&param(parts, state, "pid").await?)?;
        Ok(ParticipantPath(meeting, participant))
    }
}

impl utoipa::IntoParams for ParticipantPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            id_param("id", MeetingId::PREFIX),
            id_param("pid", ParticipantId::PREFIX),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        size: u32,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    #[test]
    fn body_errors_name_their_field() {
        let h = json_headers();
        let e = json::<Sample>(
            &h,
            &Bytes::from_static(br#"{"name":"a","size":1,"inner":{"flag":true,"x":1}}"#),
        )
        .unwrap_err();
        assert_eq!((e.code(), e.field()), ("unknown_field", Some("inner.x")));
        let e = json::<Sample>(&h, &Bytes::from_static(br#"{"name":"a"}"#)).unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_field", Some("size")));
        let e = json::<Sample>(&h, &Bytes::from_static(br#"{"name":"a","size":-1}"#)).unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_field", Some("size")));
        let e = json::<Sample>(&h, &Bytes::from_static(br#"{"name":"a","size":1,"inner":{}}"#)).unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_field", Some("inner.flag")));
        let e = json::<Sample>(&HeaderMap::new(), &Bytes::from_static(b"{}")).unwrap_err();
        assert_eq!(e.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let mut odd = HeaderMap::new();
        odd.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/Merge-Patch+JSON; charset=utf-8"),
        );
        assert!(json::<Sample>(&odd, &Bytes::from_static(br#"{"name":"a","size":1}"#)).is_ok());
    }

    #[test]
    fn repeated_keys_are_refused_at_any_depth_and_integral_floats_are_integers() {
        let h = json_headers();
        let e = json::<Sample>(&h, &Bytes::from_static(br#"{"name":"a","name":"b","size":1}"#)).unwrap_err();
        assert_eq!((e.code(), e.field()), ("duplicate_field", Some("name")));
        let e = json::<Sample>(
            &h,
            &Bytes::from_static(br#"{"name":"a","size":1,"inner":{"flag":true,"flag":false}}"#),
        )
        .unwrap_err();
        assert_eq!((e.code(), e.field()), ("duplicate_field", Some("inner.flag")));
        // A repeated key inside a value nobody reads is still refused.
        let e = json::<serde_json::Value>(&h, &Bytes::from_static(br#"{"x":[{"k":1,"k":2}]}"#)).unwrap_err();
        assert_eq!(e.code(), "duplicate_field");
        let s = json::<Sample>(&h, &Bytes::from_static(br#"{"name":"a","size":30.0}"#)).unwrap();
        assert_eq!(s.size, 30);
        let e = json::<Sample>(&h, &Bytes::from_static(br#"{"name":"a","size":30.5}"#)).unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_field", Some("size")));
        let e = json::<Sample>(&h, &Bytes::from_static(br#"{"name":"a","size":1} x"#)).unwrap_err();
        assert_eq!(e.code(), "invalid_json");
    }

    #[test]
    fn queries_refuse_unknown_and_repeated_names() {
        let q = Query::parse(Some("page_size=5&cursor=a%2Bb"), &PAGE_PARAMS).unwrap();
        assert_eq!((q.get("page_size"), q.get("cursor")), (Some("5"), Some("a+b")));
        assert_eq!(
            Query::parse(Some("x=1"), &PAGE_PARAMS).unwrap_err().code(),
            "unknown_field"
        );
        assert_eq!(
            Query::parse(Some("cursor=1&cursor=2"), &PAGE_PARAMS)
                .unwrap_err()
                .field(),
            Some("cursor")
        );
        assert_eq!(
            Query::parse(Some("page_size=x"), &PAGE_PARAMS)
                .unwrap()
                .page()
                .unwrap_err()
                .field(),
            Some("page_size")
        );
    }

    #[test]
    fn idempotency_keys_are_bounded_visible_ascii() {
        let mut h = HeaderMap::new();
        assert_eq!(idempotency_key(&h).unwrap(), None);
        h.insert("idempotency-key", HeaderValue::from_static("abc-123"));
        assert_eq!(idempotency_key(&h).unwrap().as_deref(), Some("abc-123"));
        h.insert("idempotency-key", HeaderValue::from_static("has space"));
        assert!(idempotency_key(&h).is_err());
        h.insert("idempotency-key", HeaderValue::from_str(&"k".repeat(256)).unwrap());
        assert!(idempotency_key(&h).is_err());
    }

    proptest! {
        /// Any bytes as a body: a value or a 400 problem, never a panic.
        #[test]
        fn any_body_parses_or_is_a_400(body in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Err(e) = json::<Sample>(&json_headers(), &Bytes::from(body)) {
                prop_assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
            }
        }

        /// Any JSON object: a value or a 400 naming a field.
        #[test]
        fn any_object_parses_or_names_a_field(
            obj in prop::collection::btree_map("[a-z]{1,6}", prop_oneof![
                Just(serde_json::json!(1)), Just(serde_json::json!("s")), Just(serde_json::json!(null)),
                Just(serde_json::json!({"flag": true})), Just(serde_json::json!([]))], 0..5)
        ) {
            let value = serde_json::Value::Object(obj.into_iter().collect());
            if let Err(e) = from_value::<Sample>(value) {
                prop_assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
                prop_assert!(e.field().is_some_and(|f| !f.is_empty()), "{:?}", e);
            }
        }

        /// Any query string: pairs or a 400, never a panic.
        #[test]
        fn any_query_parses_or_is_a_400(raw in "[a-z_=&%0-9A-F+]{0,40}") {
            match Query::parse(Some(&raw), &PAGE_PARAMS) {
                Ok(q) => { let _ = q.page(); }
                Err(e) => prop_assert_eq!(e.status_code(), StatusCode::BAD_REQUEST),
            }
        }
    }
}
