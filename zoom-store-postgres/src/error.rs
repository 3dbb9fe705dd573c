//! The crate's error boundary: [`Error`] for connecting, and the mapping from native PostgreSQL
//! error kinds (SQLSTATE classes) to the portable [`StoreError`] for everything after.

use tokio_postgres::error::SqlState;
use zoom_core::store::StoreError;

/// Why a store could not be connected. Each variant says how the caller handles it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection URL (or a parameter of it, such as `schema`) cannot be used. Nothing was
    /// contacted; fix the URL.
    #[error("invalid PostgreSQL URL: {0}")]
    InvalidUrl(String),
    /// The options make no sense (a pool of zero, a schema name that is not a plain
    /// identifier). Fix the caller.
    #[error("invalid store options: {0}")]
    InvalidOptions(String),
    /// The schema was migrated by a newer version of this crate. Nothing was changed; upgrade
    /// the binary (downgrading a schema is not supported).
    #[error("schema {schema} has version {found}, newer than the {supported} this build knows; upgrade first")]
    NewerSchema {
        /// The schema.
        schema: String,
        /// The newest migration recorded in it.
        found: u32,
        /// The newest migration this build ships.
        supported: u32,
    },
    /// A migration recorded in the schema differs from the file this build ships with the same
    /// number: a released migration was edited. Nothing was changed; a developer must look.
    #[error(
        "migration {version} of schema {schema} was applied with checksum {recorded}, but this build has {expected}"
    )]
    MigrationChecksum {
        /// The schema.
        schema: String,
        /// The migration number.
        version: u32,
        /// The checksum recorded when it was applied.
        recorded: String,
        /// The checksum of this build's file.
        expected: String,
    },
    /// The schema holds tables but no record of our migrations: it belongs to another
    /// application. Nothing was changed; name another schema.
    #[error("schema {schema} belongs to another application ({reason})")]
    ForeignSchema {
        /// The schema.
        schema: String,
        /// What gave it away.
        reason: String,
    },
    /// The TLS settings cannot be used: the `sslrootcert` file cannot be read or holds no PEM
    /// certificate, or the TLS library failed to set up. Nothing was contacted; fix the file or
    /// the URL. (A failed handshake, an untrusted certificate or a host name it does not match,
    /// is [`Error::Postgres`].)
    #[error("TLS: {0}")]
    Tls(String),
    /// PostgreSQL could not be reached or refused a statement (server down, authentication,
    /// permissions to create the schema). Retry or fix the environment.
    #[error("postgres: {}", detail(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// The connection pool could not be built or gave no connection.
    #[error("connection pool: {0}")]
    Pool(String),
    /// Connecting needs a tokio runtime (the connections' tasks run on it) and there is none.
    #[error("PostgresStore::connect must be called inside a tokio runtime")]
    NoRuntime,
}

/// Maps a native error of a store call to the portable kind, by kind: data that PostgreSQL
/// reports as damaged (SQLSTATE class XX, data corrupted or index corrupted) is `Corrupt` (an
/// operator must look; `what` names what was being read or written); text PostgreSQL cannot
/// store (a NUL character) is `Invalid`; anything else (connection lost, server shutting down,
/// serialization or deadlock failure, disk full) is `Unavailable` (retry later). Unique
/// violations are mapped at their call sites, where it is known which constraint a statement can
/// break.
pub(crate) fn store_error(what: &str, e: &tokio_postgres::Error) -> StoreError {
    match e.code() {
        Some(c) if *c == SqlState::DATA_CORRUPTED || *c == SqlState::INDEX_CORRUPTED => StoreError::Corrupt {
            row: what.to_owned(),
            reason: e.to_string(),
        },
        Some(c) if *c == SqlState::CHARACTER_NOT_IN_REPERTOIRE || *c == SqlState::UNTRANSLATABLE_CHARACTER => {
            StoreError::Invalid(format!("{what}: {}", detail(e)))
        }
        _ => StoreError::Unavailable(format!("{what}: {}", detail(e))),
    }
}

/// The server's message when there is one (the `Display` of a `db error` says only "db error"),
/// else the error and its causes: tokio-postgres' `Display` leaves out why a handshake or a
/// connection failed ("error performing TLS handshake"), which is what an operator needs (the
/// certificate is not trusted, or does not name the host; the connection was refused).
pub(crate) fn detail(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{e}: {}", db.message());
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let said = c.to_string();
        // native-tls repeats OpenSSL's message in its source; say each part once.
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}

/// The name of the unique constraint a statement broke, if that is what failed.
pub(crate) fn unique_violation(e: &tokio_postgres::Error) -> Option<&str> {
    let db = e.as_db_error()?;
    (*db.code() == SqlState::UNIQUE_VIOLATION).then(|| db.constraint().unwrap_or(""))
}

/// A pool that gave no connection (server unreachable, pool exhausted past its wait timeout).
pub(crate) fn pool_error(e: &deadpool_postgres::PoolError) -> StoreError {
    StoreError::Unavailable(format!("no PostgreSQL connection: {e}"))
}
