//! The text of authorization codes and refresh tokens. Each names the grant and its place in
//! it, so that redeeming one reads one stream:
//!
//! - a code: `zac_{grant_id}.{code}.{secret}`;
//! - a refresh token: `zrt_{grant_id}.{family}.{generation}.{secret}`;
//!
//! where `secret` is 43 base64url characters (256 random bits), the only part the grant keeps
//! (as its SHA-256). Every part is of RFC 3986's unreserved set, so a code needs no escaping in
//! a redirect URI.

use base64::Engine as _;
use zoom_core::clock::Entropy;
use zoom_core::id::Name;

/// The prefix of every authorization code.
pub const CODE_PREFIX: &str = "zac_";

/// The prefix of every refresh token.
pub const REFRESH_PREFIX: &str = "zrt_";

/// The longest text either may have; anything longer is refused before it is parsed.
const MAX_LEN: usize = 300;

/// A fresh secret part: 43 base64url characters.
pub fn new_secret(entropy: &dyn Entropy) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(entropy.key_bytes())
}

/// What a code's text names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRef {
    /// The grant.
    pub grant_id: Name,
    /// The code's number in it.
    pub code: u64,
    /// The secret part.
    pub secret: String,
}

impl CodeRef {
    /// The text handed to the client.
    pub fn text(&self) -> String {
        format!("{CODE_PREFIX}{}.{}.{}", self.grant_id, self.code, self.secret)
    }

    /// Parses a code's text; `None` for anything that is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = bounded(text)?.strip_prefix(CODE_PREFIX)?;
        let mut parts = rest.split('.');
        let (grant_id, code, secret) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            grant_id: grant_id_part(grant_id)?,
            code: number(code)?,
            secret: secret_part(secret)?,
        })
    }
}

/// What a refresh token's text names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRef {
    /// The grant.
    pub grant_id: Name,
    /// The family's number in it.
    pub family: u64,
    /// The token's generation in the family.
    pub generation: u64,
    /// The secret part.
    pub secret: String,
}

impl RefreshRef {
    /// The text handed to the client.
    pub fn text(&self) -> String {
        format!(
            "{REFRESH_PREFIX}{}.{}.{}.{}",
            self.grant_id, self.family, self.generation, self.secret
        )
    }

    /// Parses a refresh token's text; `None` for anything that is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = bounded(text)?.strip_prefix(REFRESH_PREFIX)?;
        let mut parts = rest.split('.');
        let (grant_id, family, generation, secret) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            grant_id: grant_id_part(grant_id)?,
            family: number(family)?,
            generation: number(generation)?,
            secret: secret_part(secret)?,
        })
    }
}

fn bounded(text: &str) -> Option<&str> {
    (text.len() <= MAX_LEN).then_some(text)
}

fn grant_id_part(s: &str) -> Option<Name> {
    let ok = s.starts_with("grt_") && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then(|| Name::parse(s).ok()).flatten()
}

/// Decimal digits only (no sign, no leading zero), within `u64`.
fn number(s: &str) -> Option<u64> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    ok.then(|| s.parse().ok()).flatten()
}

fn secret_part(s: &str) -> Option<String> {
    let ok = s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Name {
        Name::parse("grt_0123456789abcdefghjkmnpqrs").unwrap_or_else(|_| unreachable!())
    }

    const SECRET: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn codes_and_refresh_tokens_read_back_what_they_name() {
        let code = CodeRef {
            grant_id: grant(),
            code: 7,
            secret: SECRET.into(),
        };
        assert_eq!(CodeRef::parse(&code.text()), Some(code.clone()));
        let refresh = RefreshRef {
            grant_id: grant(),
            family: 2,
            generation: 13,
            secret: SECRET.into(),
        };
        assert_eq!(RefreshRef::parse(&refresh.text()), Some(refresh.clone()));
        assert_eq!(RefreshRef::parse(&code.text()), None, "a code is no refresh token");
        assert_eq!(CodeRef::parse(&refresh.text()), None, "a refresh token is no code");
    }

    #[test]
    fn malformed_texts_name_nothing() {
        let g = grant();
        for bad in [
            String::new(),
            format!("zac_{g}.1"),
            format!("zac_{g}.+1.{SECRET}"),
            format!("zac_{g}.01.{SECRET}"),
            format!("zac_{g}.1.{SECRET}A"),
            format!("zac_{g}.1.{SECRET}.x"),
            format!("zac_app_1.1.{SECRET}"),
            format!("zac_{g}.99999999999999999999999.{SECRET}"),
            format!("zac_grt_é.1.{SECRET}"),
            format!("zrt_{g}.1.{SECRET}"),
            "zac_".repeat(100),
        ] {
            assert_eq!(CodeRef::parse(&bad), None, "{bad}");
            assert_eq!(RefreshRef::parse(&bad), None, "{bad}");
        }
    }
}
