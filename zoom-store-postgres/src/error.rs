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

/// Maps a native error of a store call to the portable kind, by its SQLSTATE (never by
/// message):
///
/// | SQLSTATE | `StoreError` |
/// |---|---|
/// | class 08 (connection lost, refused, protocol), 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 57014 query cancelled, 40001 serialization failure, 40P01 deadlock, 55P03 lock not available, 53200 out of memory, 53300 too many connections; and a connection that closed with no SQLSTATE | `Unavailable`: retry |
/// | 53100 disk full | `Full` |
/// | 25006 read-only SQL transaction (a hot standby, `default_transaction_read_only`) | `ReadOnly` |
/// | class 58 (58030 I/O error, 58P01 undefined file, …) | `Io` |
/// | XX001 data corrupted, XX002 index corrupted | `Corrupt` (`what` names what was read or written) |
/// | 22021, 22P05 (text PostgreSQL cannot store, such as a NUL character) | `Invalid` |
/// | anything else | `Unavailable` |
///
/// Unique violations are mapped at their call sites ([`unique_violation`]), where the
/// constraint's name says which key was taken.
pub(crate) fn store_error(what: &str, e: &tokio_postgres::Error) -> StoreError {
    let reason = || format!("{what}: {}", detail(e));
    let Some(code) = e.code() else {
        return StoreError::Unavailable(reason());
    };
    let is = |states: &[SqlState]| states.contains(code);
    if is(&[SqlState::DATA_CORRUPTED, SqlState::INDEX_CORRUPTED]) {
        StoreError::Corrupt {
            row: what.to_owned(),
            reason: e.to_string(),
        }
    } else if is(&[
        SqlState::CHARACTER_NOT_IN_REPERTOIRE,
        SqlState::UNTRANSLATABLE_CHARACTER,
    ]) {
        StoreError::Invalid(reason())
    } else if is(&[SqlState::DISK_FULL]) {
        StoreError::Full(reason())
    } else if is(&[SqlState::READ_ONLY_SQL_TRANSACTION]) {
        StoreError::ReadOnly(reason())
    } else if is(&[
        SqlState::SYSTEM_ERROR,
        SqlState::IO_ERROR,
        SqlState::UNDEFINED_FILE,
        SqlState::DUPLICATE_FILE,
    ]) {
        StoreError::Io(reason())
    } else {
        // Connection exceptions (class 08), shutdowns (57P01–57P03), cancellations,
        // serialization failures and deadlocks, resource limits other than the disk: the
        // statement did not take effect, and a retry after a moment may well succeed.
        StoreError::Unavailable(reason())
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

#[cfg(test)]
mod tests {
    /// The SQLSTATEs the mapping names are the ones PostgreSQL documents.
    #[test]
    fn the_named_sqlstates_are_the_documented_codes() {
        use tokio_postgres::error::SqlState;
        for (state, code) in [
            (SqlState::DISK_FULL, "53100"),
            (SqlState::READ_ONLY_SQL_TRANSACTION, "25006"),
            (SqlState::IO_ERROR, "58030"),
            (SqlState::SYSTEM_ERROR, "58000"),
            (SqlState::ADMIN_SHUTDOWN, "57P01"),
            (SqlState::DATA_CORRUPTED, "XX001"),
        ] {
            assert_eq!(state.code(), code);
        }
    }
}
