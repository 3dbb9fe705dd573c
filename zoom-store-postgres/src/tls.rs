//! TLS for every connection of the store (pooled, migration, leader lock): the URL's `sslmode`
//! and `sslrootcert` turned into tokio-postgres' own mode and a `native-tls` connector that
//! verifies what the mode asks for, as libpq does:
//!
//! | `sslmode` | encrypted | certificate chain verified | host name verified |
//! |---|---|---|---|
//! | `disable` | never | – | – |
//! | `prefer` | if the server offers TLS | only when `sslrootcert` is given | no |
//! | `require` | always | only when `sslrootcert` is given | no |
//! | `verify-ca` | always | yes | no |
//! | `verify-full` | always | yes | yes |
//!
//! The trusted CAs are the file named by `sslrootcert` alone when it is given (libpq trusts
//! nothing else then), the system's trust store when it is absent or `system`.

use native_tls::{Certificate, TlsConnector};
use postgres_native_tls::MakeTlsConnector;
use tokio_postgres::config::SslMode as WireMode;

use crate::conninfo::SslMode;
use crate::error::Error;

/// The value of `sslrootcert` that names the system's trust store (as in libpq 16).
const SYSTEM_ROOTS: &str = "system";

/// The mode to give tokio-postgres and the connector to connect with, for `mode` and
/// `rootcert`.
///
/// # Errors
/// [`Error::Tls`] when the `sslrootcert` file cannot be read or holds no PEM certificate, or the
/// TLS library cannot build a connector.
pub(crate) fn connector(mode: SslMode, rootcert: Option<&str>) -> Result<(WireMode, MakeTlsConnector), Error> {
    let wire = match mode {
        SslMode::Disable => WireMode::Disable,
        SslMode::Prefer => WireMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
    };
    let mut builder = TlsConnector::builder();
    // A plain session never reaches the connector: do not read the CA file for it.
    let rootcert = if mode == SslMode::Disable { None } else { rootcert };
    let roots = match rootcert {
        Some(path) if path != SYSTEM_ROOTS => Some(read_roots(path)?),
        _ => None,
    };
    let given_ca = roots.is_some();
    if let Some(roots) = roots {
        builder.disable_built_in_roots(true);
        for root in roots {
            builder.add_root_certificate(root);
        }
    }
    match mode {
        // libpq encrypts without verifying in these modes, unless a root CA file is given:
        // then it verifies the chain (not the host name), as `verify-ca` does.
        SslMode::Disable | SslMode::Prefer | SslMode::Require if !given_ca => {
            builder.danger_accept_invalid_certs(true);
        }
        SslMode::Disable | SslMode::Prefer | SslMode::Require | SslMode::VerifyCa => {
            builder.danger_accept_invalid_hostnames(true);
        }
        SslMode::VerifyFull => {}
    }
    let connector = builder
        .build()
        .map_err(|e| Error::Tls(format!("cannot build a TLS connector: {e}")))?;
    Ok((wire, MakeTlsConnector::new(connector)))
}

/// The certificates of the PEM file at `path`.
fn read_roots(path: &str) -> Result<Vec<Certificate>, Error> {
    let pem = std::fs::read(path).map_err(|e| Error::Tls(format!("cannot read sslrootcert {path}: {e}")))?;
    let roots = Certificate::stack_from_pem(&pem)
        .map_err(|e| Error::Tls(format!("sslrootcert {path} is not a PEM certificate file: {e}")))?;
    if roots.is_empty() {
        return Err(Error::Tls(format!("sslrootcert {path} holds no PEM certificate")));
    }
    Ok(roots)
}
