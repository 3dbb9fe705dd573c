//! The connection URL: `postgres://` or `postgresql://` as libpq and tokio-postgres take it, plus
//! one parameter of ours, `schema`, that names the PostgreSQL schema the store lives in, and
//! libpq's TLS parameters `sslmode` and `sslrootcert`, read here because tokio-postgres knows only
//! part of them.
//!
//! ```text
//! postgres://zoom:secret@db.internal:5432/zoom?schema=tenant_a&sslmode=verify-full&sslrootcert=/etc/zoom/ca.pem
//! ```
//!
//! `schema`, `sslmode` and `sslrootcert` are taken out before the rest goes to
//! [`tokio_postgres::Config`], which refuses parameters it does not know (and `sslmode` values
//! beyond `disable`, `prefer` and `require`). Everything else (hosts, port, user, password,
//! `dbname`, `connect_timeout`, `application_name`, `options`, …) means what it means to libpq.

use crate::error::Error;

/// The most bytes PostgreSQL keeps of an identifier (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER: usize = 63;

/// The URL's `sslmode`, with libpq's meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Plain TCP; never TLS.
    Disable,
    /// TLS when the server offers it, else plain (tokio-postgres' and libpq's default). The
    /// certificate is not verified unless `sslrootcert` is given.
    #[default]
    Prefer,
    /// TLS or no connection. The certificate is not verified unless `sslrootcert` is given
    /// (then it must chain to that CA, as libpq does).
    Require,
    /// TLS, and the server's certificate must chain to a trusted CA; its host name is not
    /// checked.
    VerifyCa,
    /// TLS, the certificate must chain to a trusted CA and name the host of the URL.
    VerifyFull,
}

impl SslMode {
    /// Reads a value of `sslmode` as libpq spells it (`allow` is not supported: tokio-postgres
    /// cannot fall back from plain to TLS).
    ///
    /// # Errors
    /// A message naming the value and the accepted ones.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify-ca" => Ok(Self::VerifyCa),
            "verify-full" => Ok(Self::VerifyFull),
            other => Err(format!(
                "sslmode {other:?} is not one of disable, prefer, require, verify-ca, verify-full"
            )),
        }
    }

    /// The value as libpq spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// A URL split into what tokio-postgres reads and the parameters the store reads itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// The URL without the `schema`, `sslmode` and `sslrootcert` parameters.
    pub url: String,
    /// The schema the URL names, if any.
    pub schema: Option<String>,
    /// The URL's `sslmode` (default [`SslMode::Prefer`]).
    pub sslmode: SslMode,
    /// The URL's `sslrootcert`: a PEM file of trusted CA certificates, or `system` for the
    /// system's trust store. Not read here.
    pub sslrootcert: Option<String>,
}

/// Splits the `schema`, `sslmode` and `sslrootcert` parameters off a `postgres://` or
/// `postgresql://` URL and checks them.
///
/// # Errors
/// [`Error::InvalidUrl`] for another scheme; a repeated one of these parameters; an empty
/// `schema` or `sslrootcert`; a `schema` that is not a plain lower-case identifier; an `sslmode`
/// that is not one of `disable`, `prefer`, `require`, `verify-ca`, `verify-full`; or a bad
/// percent escape in one of them.
pub fn split(raw: &str) -> Result<ConnInfo, Error> {
    if !(raw.starts_with("postgres://") || raw.starts_with("postgresql://")) {
        return Err(Error::InvalidUrl(
            "a PostgreSQL URL starts with postgres:// or postgresql://".into(),
        ));
    }
    let mut info = ConnInfo {
        url: raw.to_owned(),
        schema: None,
        sslmode: SslMode::default(),
        sslrootcert: None,
    };
    let Some((base, query)) = raw.split_once('?') else {
        return Ok(info);
    };
    let mut sslmode = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !matches!(key, "schema" | "sslmode" | "sslrootcert") {
            kept.push(pair);
            continue;
        }
        let value = percent_decode(value).ok_or_else(|| Error::InvalidUrl(format!("`{key}` has a bad % escape")))?;
        let twice = || Error::InvalidUrl(format!("`{key}` is given twice"));
        match key {
            "schema" => {
                if info.schema.is_some() {
                    return Err(twice());
                }
                check_schema(&value).map_err(Error::InvalidUrl)?;
                info.schema = Some(value);
            }
            "sslmode" => {
                if sslmode.is_some() {
                    return Err(twice());
                }
                sslmode = Some(SslMode::parse(&value).map_err(Error::InvalidUrl)?);
            }
            _ => {
                if info.sslrootcert.is_some() {
                    return Err(twice());
                }
                if value.is_empty() {
                    return Err(Error::InvalidUrl("`sslrootcert` is empty".into()));
                }
                info.sslrootcert = Some(value);
            }
        }
    }
    info.sslmode = sslmode.unwrap_or_default();
    info.url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(info)
}

/// Checks that `name` is a schema name the store can use unquoted: 1 to 63 bytes of `a-z`,
/// `0-9` and `_`, not starting with a digit, and not one of PostgreSQL's reserved `pg_` names.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_schema(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_IDENTIFIER
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
        && !name.starts_with("pg_");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "schema {name:?} is not a plain identifier (1 to {MAX_IDENTIFIER} of a-z, 0-9 and _, \
             not starting with a digit or pg_)"
        ))
    }
}

/// Decodes `%XX` escapes; `None` for a truncated or non-hex escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn schema_is_taken_out_and_the_rest_kept_in_order() {
        let c = split("postgres://u:p@h:5432/db?application_name=z&schema=tenant_a&connect_timeout=5").unwrap();
        assert_eq!(c.url, "postgres://u:p@h:5432/db?application_name=z&connect_timeout=5");
        assert_eq!(c.schema.as_deref(), Some("tenant_a"));
        let c = split("postgresql://h/db?schema=t%5F1").unwrap();
        assert_eq!(
            (c.url.as_str(), c.schema.as_deref()),
            ("postgresql://h/db", Some("t_1"))
        );
        let c = split("postgres://h/db").unwrap();
        assert_eq!((c.url.as_str(), c.schema), ("postgres://h/db", None));
    }

    #[test]
    fn bad_schemas_and_schemes_are_refused() {
        for bad in [
            "postgres://h/db?schema=",
            "postgres://h/db?schema",
            "postgres://h/db?schema=a&schema=a",
            "postgres://h/db?schema=Upper",
            "postgres://h/db?schema=1abc",
            "postgres://h/db?schema=pg_catalog",
            "postgres://h/db?schema=a;drop",
            "postgres://h/db?schema=a%2",
            "postgres://h/db?schema=%ff",
            "mysql://h/db",
            "host=h dbname=db",
        ] {
            assert!(matches!(split(bad), Err(Error::InvalidUrl(_))), "{bad} is refused");
        }
        assert!(check_schema(&"a".repeat(63)).is_ok());
        assert!(check_schema(&"a".repeat(64)).is_err());
    }

    #[test]
    fn tls_parameters_are_taken_out() {
        let c = split("postgres://h/db?sslmode=verify-full&application_name=z&sslrootcert=/etc/ca%20file.pem").unwrap();
        assert_eq!(c.url, "postgres://h/db?application_name=z");
        assert_eq!(c.sslmode, SslMode::VerifyFull);
        assert_eq!(c.sslrootcert.as_deref(), Some("/etc/ca file.pem"));
        for (value, mode) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
        ] {
            let c = split(&format!("postgres://h/db?sslmode={value}")).unwrap();
            assert_eq!(
                (c.url.as_str(), c.sslmode, mode.as_str()),
                ("postgres://h/db", mode, value)
            );
        }
        let c = split("postgres://h/db").unwrap();
        assert_eq!((c.sslmode, c.sslrootcert), (SslMode::Prefer, None), "libpq's default");
    }

    #[test]
    fn bad_tls_parameters_are_refused_and_named() {
        for (bad, says) in [
            ("postgres://h/db?sslmode=verify_full", "\"verify_full\" is not one of"),
            ("postgres://h/db?sslmode=allow", "\"allow\" is not one of"),
            ("postgres://h/db?sslmode=Require", "\"Require\" is not one of"),
            ("postgres://h/db?sslmode=", "\"\" is not one of"),
            (
                "postgres://h/db?sslmode=require&sslmode=disable",
                "`sslmode` is given twice",
            ),
            ("postgres://h/db?sslrootcert=", "`sslrootcert` is empty"),
            (
                "postgres://h/db?sslrootcert=a&sslrootcert=b",
                "`sslrootcert` is given twice",
            ),
            ("postgres://h/db?sslrootcert=%zz", "`sslrootcert` has a bad % escape"),
        ] {
            match split(bad) {
                Err(Error::InvalidUrl(m)) => assert!(m.contains(says), "{bad}: {m}"),
                other => panic!("{bad} is refused, not {other:?}"),
            }
        }
    }

    fn schema_name() -> impl Strategy<Value = String> {
        "[a-oq-z_][a-z0-9_]{0,62}"
    }

    fn param() -> impl Strategy<Value = String> {
        "(application_name|connect_timeout|options|sslcert|sslkey)=[a-zA-Z0-9%_-]{0,12}"
    }

    fn sslmode() -> impl Strategy<Value = SslMode> {
        prop_oneof![
            Just(SslMode::Disable),
            Just(SslMode::Prefer),
            Just(SslMode::Require),
            Just(SslMode::VerifyCa),
            Just(SslMode::VerifyFull),
        ]
    }

    /// Every byte of `s` that is not unreserved, percent-encoded.
    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_./".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    proptest! {
        /// Any string: an answer, never a panic.
        #[test]
        fn never_panics(raw in "\\PC{0,80}", tail in "(postgres://)?[ -~]{0,60}") {
            let _ = split(&raw);
            let _ = split(&tail);
        }

        /// A schema put anywhere among other parameters comes back out, and the other parameters
        /// stay exactly as they were, in order, so tokio-postgres reads the same URL.
        #[test]
        fn schema_round_trips(
            schema in schema_name(),
            before in proptest::collection::vec(param(), 0..3),
            after in proptest::collection::vec(param(), 0..3),
            scheme in "postgres|postgresql",
        ) {
            let base = format!("{scheme}://user:pw@host:5432/db");
            let mut params = before.clone();
            params.push(format!("schema={schema}"));
            params.extend(after.iter().cloned());
            let c = split(&format!("{base}?{}", params.join("&"))).unwrap();
            prop_assert_eq!(c.schema.as_deref(), Some(schema.as_str()));
            let others: Vec<String> = before.into_iter().chain(after).collect();
            let expected = if others.is_empty() { base } else { format!("{base}?{}", others.join("&")) };
            prop_assert_eq!(c.url, expected);
        }

        /// `sslmode` and `sslrootcert`, anywhere among other parameters and in either order, come
        /// back out (the path percent-decoded), and the other parameters stay as they were.
        #[test]
        fn tls_parameters_round_trip(
            mode in sslmode(),
            rootcert in proptest::option::of("/[ -~]{1,30}"),
            before in proptest::collection::vec(param(), 0..3),
            after in proptest::collection::vec(param(), 0..3),
            rootcert_first in any::<bool>(),
        ) {
            let base = "postgres://user:pw@host:5432/db".to_owned();
            let mut ours = vec![format!("sslmode={}", mode.as_str())];
            if let Some(path) = &rootcert {
                ours.push(format!("sslrootcert={}", encode(path)));
            }
            if rootcert_first {
                ours.reverse();
            }
            let mut params = before.clone();
            params.extend(ours);
            params.extend(after.iter().cloned());
            let c = split(&format!("{base}?{}", params.join("&"))).unwrap();
            prop_assert_eq!(c.sslmode, mode);
            prop_assert_eq!(c.sslrootcert, rootcert);
            prop_assert_eq!(c.schema, None);
            let others: Vec<String> = before.into_iter().chain(after).collect();
            let expected = if others.is_empty() { base } else { format!("{base}?{}", others.join("&")) };
            prop_assert_eq!(c.url, expected);
        }

        /// Any value of `sslmode`: one of the five modes, or a refusal naming the value.
        #[test]
        fn any_sslmode_is_a_mode_or_a_clear_refusal(value in "[ -~]{0,16}") {
            match split(&format!("postgres://h/db?sslmode={}", encode(&value))) {
                Ok(c) => prop_assert_eq!(c.sslmode.as_str(), value.as_str()),
                Err(Error::InvalidUrl(m)) => prop_assert!(m.contains(&format!("{value:?}")), "{}", m),
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        /// Percent-encoding every byte of a valid schema decodes to the same schema.
        #[test]
        fn encoded_schema_decodes(schema in schema_name()) {
            let encoded: String = schema.bytes().map(|b| format!("%{b:02X}")).collect();
            let c = split(&format!("postgres://h/db?schema={encoded}")).unwrap();
            prop_assert_eq!(c.schema, Some(schema));
        }
    }
}
