//! Redirect URIs: absolute, without a fragment, `https`, or `http` only for
//! the loopback hosts `127.0.0.1`, `[::1]` and `localhost` (RFC 8252 native apps). A request's
//! URI matches a registered one only when the two are the same text (no normalisation).

use zoom_core::DomainError;

use crate::ids::invalid;

/// The most redirect URIs an app may register.
pub const MAX_REDIRECT_URIS: usize = 20;

/// The longest redirect URI, in bytes.
pub const MAX_REDIRECT_URI_BYTES: usize = 2000;

/// Checks one redirect URI.
///
/// # Errors
/// `Invalid` `redirect_uris` saying which rule it breaks.
pub fn check(uri: &str) -> Result<(), DomainError> {
    let bad = |why: &str| {
        Err(invalid(
            "redirect_uris",
            format!("`{}` {why}", uri.chars().take(100).collect::<String>()),
        ))
    };
    if uri.len() > MAX_REDIRECT_URI_BYTES {
        return bad("is too long");
    }
    if uri.contains('#') {
        return bad("must not have a fragment");
    }
    // A URI is visible ASCII (RFC 3986); anything else is percent-encoded by the client, so a
    // raw control character, space or non-ASCII character is refused, never encoded here.
    if !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return bad("must be visible ASCII (percent-encode anything else)");
    }
    let Ok(url) = url::Url::parse(uri) else {
        return bad("is not an absolute URI");
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" => match url.host() {
            Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip == std::net::Ipv6Addr::LOCALHOST => Ok(()),
            Some(url::Host::Domain("localhost")) => Ok(()),
            _ => bad("may use http only for 127.0.0.1, [::1] or localhost"),
        },
        _ => bad("must use https"),
    }
}

/// Checks a list of redirect URIs: each valid, at most [`MAX_REDIRECT_URIS`], no duplicates.
///
/// # Errors
/// `Invalid` `redirect_uris`.
pub fn check_all(uris: &[String]) -> Result<(), DomainError> {
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(invalid("redirect_uris", format!("at most {MAX_REDIRECT_URIS}")));
    }
    for (i, uri) in uris.iter().enumerate() {
        check(uri)?;
        if uris[..i].contains(uri) {
            return Err(invalid("redirect_uris", "must not repeat a URI"));
        }
    }
    Ok(())
}

/// Whether `requested` is one of `registered`, exactly.
pub fn matches(registered: &[String], requested: &str) -> bool {
    registered.iter().any(|r| r == requested)
}
