//! The crate's error boundary: [`Error`] for opening a store, and the mapping from native
//! SQLite error kinds to the portable [`StoreError`] for everything after.

use std::path::PathBuf;

use rusqlite::ErrorCode;
use zoom_core::store::StoreError;

/// Why a store could not be opened. Each variant says how the caller handles it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file exists but is not a SQLite database (or its header is damaged). Nothing was
    /// changed; check the path.
    #[error("{} is not a SQLite database", path.display())]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is a SQLite database of another application (it has tables but no record of our
    /// migrations, or another `application_id`). Nothing was changed; check the path.
    #[error("{} is a SQLite database of another application ({reason})", path.display())]
    ForeignDatabase {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// The database was migrated by a newer version of this crate. Nothing was changed; upgrade
    /// the binary (downgrading a database is not supported).
    #[error(
        "{} has schema version {found}, newer than the {supported} this build knows; upgrade first",
        path.display()
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The newest migration recorded in the database.
        found: u32,
        /// The newest migration this build ships.
        supported: u32,
    },
    /// A migration recorded in the database differs from the file this build ships with the same
    /// number: a released migration was edited. Nothing was changed; a developer must look.
    #[error(
        "migration {version} of {} was applied with checksum {recorded}, but this build has {expected}",
        path.display()
    )]
    MigrationChecksum {
        /// The file.
        path: PathBuf,
        /// The migration number.
        version: u32,
        /// The checksum recorded when it was applied.
        recorded: String,
        /// The checksum of this build's file.
        expected: String,
    },
    /// The file is a SQLite database whose pages are damaged (`SQLITE_CORRUPT`). Nothing was
    /// changed; restore it from a backup.
    #[error("{} is damaged: {source}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The native error.
        #[source]
        source: rusqlite::Error,
    },
    /// SQLite could not put the file in write-ahead-log mode (some network or read-only file
    /// systems); the store relies on WAL for concurrent readers and its crash guarantees. Put
    /// the database on a local file system.
    #[error("{} cannot use write-ahead logging (journal mode stayed {mode})", path.display())]
    WalUnavailable {
        /// The file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// The options make no sense (zero readers, zero batch size). Fix the caller.
    #[error("invalid store options: {0}")]
    InvalidOptions(String),
    /// SQLite failed: the file cannot be created or opened (permissions, missing directory), the
    /// disk is full, or the database stayed locked past the busy timeout. Retry or fix the
    /// environment.
    #[error("sqlite error on {}: {source}", path.display())]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The native error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database file (or its `-wal`/`-shm`) could not be created owner-only, or an existing
    /// one could not be narrowed to owner-only (`0600`): the store holds signing keys. Check
    /// who owns the files.
    #[error("cannot make {} owner-only (0600): {source}", path.display())]
    Permissions {
        /// The file.
        path: PathBuf,
        /// The native error.
        #[source]
        source: std::io::Error,
    },
    /// The operating system refused to start one of the store's threads. Retry later.
    #[error("could not start the store's {what} thread: {source}")]
    Thread {
        /// Which thread.
        what: &'static str,
        /// The native error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Maps a native error met while opening `path`, by kind.
    pub(crate) fn from_sqlite(path: &std::path::Path, source: rusqlite::Error) -> Self {
        let path = path.to_owned();
        match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => Error::NotADatabase { path },
            Some(ErrorCode::DatabaseCorrupt) => Error::Damaged { path, source },
            _ => Error::Sqlite { path, source },
        }
    }
}

/// Maps a native error of a store call to the portable kind, by kind: damaged pages are
/// `Corrupt` (an operator must look; `what` names what was being read or written), anything else
/// is `Unavailable` (retry later). Constraint violations are mapped at their call sites, where it
/// is known which constraint a statement can break.
pub(crate) fn store_error(what: &str, e: &rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt {
            row: what.to_owned(),
            reason: e.to_string(),
        },
        _ => StoreError::Unavailable(format!("{what}: {e}")),
    }
}

/// The error of a call made after the store's threads have stopped.
pub(crate) fn closed() -> StoreError {
    StoreError::Unavailable("the sqlite store is closed".into())
}

/// Whether a native error is a constraint violation (unique, not null, check, foreign key).
pub(crate) fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}
