//! Reading requests: the caller's principal, JSON bodies, query strings and headers, each
//! refused with a precise problem rather than axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use zoom_core::principal::Principal;

use crate::Api;
use crate::problem::Problem;

/// The longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Authenticates the request's bearer token.
pub(crate) async fn principal(api: &Api, headers: &HeaderMap) -> Result<Principal, Problem> {
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
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => token.trim(),
        _ => {
            return Err(unauthorized(
                "invalid_token",
                "the Authorization header must be `Bearer <access token>`",
            ));
        }
    };
    api.auth
        .authenticate(token)
        .await
        .map_err(|e| Problem::new(StatusCode::UNAUTHORIZED, e.code, e.detail))
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

/// The buffered body, or 413 when it is larger than the configured limit.
pub(crate) fn bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Problem> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than this server accepts",
            )
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

/// Parses a JSON object body into `T`, answering 415 for another content type, 400
/// `invalid_json` for malformed JSON or a non-object, 400 `unknown_field` and 400
/// `invalid_field` (with `field`) for fields `T` refuses.
pub(crate) fn json<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, Problem> {
    if !is_json(headers) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the request body must be `Content-Type: application/json`",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body must be a JSON object",
        ));
    }
    from_value(value)
}

/// Deserializes an object, naming the field at fault in the problem.
pub(crate) fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // The path names the field itself for an unknown field and its parent for a missing one.
        let join = |name: &str| {
            if path == "." || path.is_empty() {
                name.to_owned()
            } else if path == name || path.ends_with(&format!(".{name}")) {
                path.clone()
            } else {
                format!("{path}.{name}")
            }
        };
        // serde reports unknown and missing fields only through its message; its wording
        // (`unknown field `x``) is fixed by serde's `de::Error::unknown_field`.
        if let Some(name) = backticked(&message, "unknown field `") {
            let field = join(name);
            Problem::new(
                StatusCode::BAD_REQUEST,
                "unknown_field",
                format!("unknown field `{field}`"),
            )
            .with_field(field)
        } else if let Some(name) = backticked(&message, "missing field `") {
            let field = join(name);
            Problem::invalid_field(field.clone(), format!("`{field}` is required"))
        } else {
            Problem::invalid_field(path.clone(), format!("`{path}`: {message}"))
        }
    })
}

fn backticked<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// Accepts an empty body or `{}` (the action endpoints), any other body is a problem.
pub(crate) fn empty(headers: &HeaderMap, body: &Bytes) -> Result<(), Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Nothing {}
    json::<Nothing>(headers, body).map(|_| ())
}

/// A parsed query string: `name=value` pairs, refusing repeated and unknown names.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `raw`, accepting only `allowed` names, each at most once.
    pub(crate) fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, Problem> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !allowed.contains(&k.as_ref()) {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "unknown_field",
                    format!("unknown query parameter `{}`", k.chars().take(64).collect::<String>()),
                )
                .with_field(k.chars().take(64).collect::<String>()));
            }
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(Problem::invalid_field(
                    k.as_ref(),
                    format!("`{k}` is given more than once"),
                ));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Self(pairs))
    }

    /// The value of `name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `page_size` and `cursor`.
    pub(crate) fn page(&self) -> Result<zoom_core::engine::PageRequest, Problem> {
        let page_size = match self.get("page_size") {
            None => None,
            Some(raw) => Some(
                raw.parse::<i64>()
                    .map_err(|_| Problem::invalid_field("page_size", "page_size must be an integer from 1 to 300"))?,
            ),
        };
        Ok(zoom_core::engine::PageRequest {
            page_size,
            cursor: self.get("cursor").map(str::to_owned),
        })
    }
}

/// The names every list accepts.
pub(crate) const PAGE_PARAMS: [&str; 2] = ["page_size", "cursor"];

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
