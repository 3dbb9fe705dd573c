//! Client ids, as the server reads them from flags and token requests. The apps themselves
//! (OAuth clients) are zoom-auth's app aggregate (`sys_app_{id}`), behind the server's
//! `Directory`; apps the server stored as `app.registered` before zoom-auth existed read as they
//! did.

use zoom_core::id::Name;

/// Parses a client id: 1 to 120 characters of `A-Z a-z 0-9 _ . : -`.
pub fn parse_client_id(raw: &str) -> Option<Name> {
    let ok =
        !raw.is_empty() && raw.len() <= 120 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
    if ok { Name::parse(raw).ok() } else { None }
}
