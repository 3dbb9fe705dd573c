//! The form-encoded bodies of the token, revocation and introspection endpoints.

use axum::http::{HeaderMap, StatusCode, header};

use super::OAuthError;

/// The largest form accepted, in bytes.
pub const MAX_FORM: usize = 64 * 1024;

/// The parameters of the token, revocation and introspection requests.
const KNOWN: &[&str] = &[
    "grant_type",
    "scope",
    "account_id",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "client_id",
    "client_secret",
    "token",
    "token_type_hint",
];

/// A parsed `application/x-www-form-urlencoded` body whose parameters each appear once.
#[derive(Debug, Default)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    /// Parses `body`; the content type must say it is a form, and none of the parameters the
    /// endpoints know may repeat (RFC 6749 section 3.2). Others are ignored, repeated or not
    /// (section 3.1: unrecognized parameters are ignored).
    pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let mut form: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            if !KNOWN.contains(&k.as_ref()) {
                continue;
            }
            if form.iter().any(|(seen, _)| *seen == k) {
                return Err(OAuthError::invalid_request(format!("`{k}` is repeated")));
            }
            form.push((k.into_owned(), v.into_owned()));
        }
        Ok(Self(form))
    }

    /// The value of `name`, if given (an empty value counts as not given, RFC 6749 section 3.1).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or `invalid_request` naming it.
    pub(crate) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("`{name}` is required")))
    }
}

/// A request's head, its form and the caller's address.
pub(crate) struct FormRequest {
    pub(crate) headers: HeaderMap,
    pub(crate) form: Form,
    pub(crate) address: Option<std::net::IpAddr>,
}

/// Reads a form request of at most [`MAX_FORM`] bytes.
pub(crate) async fn read(request: axum::extract::Request) -> Result<FormRequest, OAuthError> {
    let (parts, body) = request.into_parts();
    let address = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let Ok(body) = axum::body::to_bytes(body, MAX_FORM).await else {
        return Err(OAuthError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the form is too large",
        ));
    };
    let form = Form::parse(&parts.headers, &body)?;
    Ok(FormRequest {
        headers: parts.headers,
        form,
        address,
    })
}
