//! The crate's error boundary: [`Error`] for opening a store, and the mapping from native
//! SQLite error kinds to the portable [`StoreError`] for everything after.

use std::path::PathBuf;

use rusqlite::{ErrorCode, ffi};
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
    /// The file (or its directory, or the file system) cannot be written, and the store must
    /// write it (its write-ahead log, its migrations, its signing keys). Nothing was changed;
    /// make it writable (permissions, the immutable attribute, a read-only mount) and open again.
    #[error("{} is read-only: {source}", path.display())]
    ReadOnly {
        /// The file.
        path: PathBuf,
        /// The native error.
        #[source]
        source: rusqlite::Error,
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
            Some(ErrorCode::ReadOnly) => Error::ReadOnly { path, source },
            _ => Error::Sqlite { path, source },
        }
    }
}

/// Maps a native error of a store call to the portable kind, by its result code (as sqlx
/// maps SQLite errors, never by message):
///
/// | SQLite | `StoreError` |
/// |---|---|
/// | `SQLITE_CORRUPT`, `SQLITE_NOTADB` | `Corrupt` (`what` names what was read or written) |
/// | `SQLITE_BUSY`, `SQLITE_LOCKED` (another connection or process held the lock past the busy timeout), `SQLITE_NOMEM`, `SQLITE_INTERRUPT` | `Unavailable`: retry |
/// | `SQLITE_FULL` | `Full` |
/// | `SQLITE_READONLY` (any extended code: a read-only file, directory or mount, a moved database file), `SQLITE_PERM` | `ReadOnly` |
/// | `SQLITE_IOERR` (any extended code), `SQLITE_CANTOPEN` (a journal or temporary file cannot be created) | `Io` |
/// | `SQLITE_CONSTRAINT` | `Invalid`, naming the [`Constraint`] kind; call sites that expect one (a duplicate idempotency key) map it first with [`constraint`] |
/// | `SQLITE_TOOBIG`, `SQLITE_RANGE`, `SQLITE_MISMATCH` | `Invalid` |
/// | anything else | `Unavailable` |
pub(crate) fn store_error(what: &str, e: &rusqlite::Error) -> StoreError {
    let Some(code) = e.sqlite_error_code() else {
        // Not an error of SQLite itself: a value of the wrong type in a column is a bad row.
        return match e {
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..) => StoreError::Corrupt {
                row: what.to_owned(),
                reason: e.to_string(),
            },
            _ => StoreError::Unavailable(format!("{what}: {e}")),
        };
    };
    let reason = format!("{what}: {e}");
    match code {
        ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt {
            row: what.to_owned(),
            reason: e.to_string(),
        },
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Unavailable(format!(
            "{what}: the database stayed locked by another connection or process past the busy timeout ({e})"
        )),
        ErrorCode::DiskFull => StoreError::Full(reason),
        ErrorCode::ReadOnly | ErrorCode::PermissionDenied => StoreError::ReadOnly(reason),
        ErrorCode::SystemIoFailure | ErrorCode::CannotOpen => StoreError::Io(reason),
        ErrorCode::ConstraintViolation => StoreError::Invalid(format!(
            "{what}: {} constraint failed ({e})",
            constraint(e).map_or("a", Constraint::name)
        )),
        ErrorCode::TooBig | ErrorCode::ParameterOutOfRange | ErrorCode::TypeMismatch => StoreError::Invalid(reason),
        _ => StoreError::Unavailable(reason),
    }
}

/// The kind of a constraint violation, from its extended result code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Constraint {
    /// A `UNIQUE` index or a `PRIMARY KEY` (`SQLITE_CONSTRAINT_UNIQUE`, `_PRIMARYKEY`).
    Unique,
    /// `SQLITE_CONSTRAINT_NOTNULL`.
    NotNull,
    /// `SQLITE_CONSTRAINT_CHECK`.
    Check,
    /// `SQLITE_CONSTRAINT_FOREIGNKEY`.
    ForeignKey,
    /// Any other (a trigger, a data type of a strict table, …).
    Other,
}

impl Constraint {
    fn name(self) -> &'static str {
        match self {
            Constraint::Unique => "a UNIQUE",
            Constraint::NotNull => "a NOT NULL",
            Constraint::Check => "a CHECK",
            Constraint::ForeignKey => "a FOREIGN KEY",
            Constraint::Other => "a",
        }
    }
}

/// The kind of constraint a native error violated, or `None` when it is no constraint
/// violation.
pub(crate) fn constraint(e: &rusqlite::Error) -> Option<Constraint> {
    let native = e.sqlite_error()?;
    if native.code != ErrorCode::ConstraintViolation {
        return None;
    }
    Some(match native.extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => Constraint::Unique,
        ffi::SQLITE_CONSTRAINT_NOTNULL => Constraint::NotNull,
        ffi::SQLITE_CONSTRAINT_CHECK => Constraint::Check,
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Constraint::ForeignKey,
        _ => Constraint::Other,
    })
}

/// The error of a call made after the store's threads have stopped.
pub(crate) fn closed() -> StoreError {
    StoreError::Unavailable("the sqlite store is closed".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native(extended: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(extended), None)
    }

    /// Each result code maps to its kind, whatever its extended code.
    #[test]
    fn result_codes_map_by_kind() {
        let kind = |code| match store_error("x", &native(code)) {
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Full(_) => "full",
            StoreError::ReadOnly(_) => "read-only",
            StoreError::Io(_) => "io",
            StoreError::Corrupt { .. } => "corrupt",
            StoreError::Invalid(_) => "invalid",
            StoreError::Conflict { .. } | StoreError::DuplicateIdempotencyKey => "other",
        };
        for (code, expected) in [
            (ffi::SQLITE_BUSY, "unavailable"),
            (ffi::SQLITE_BUSY_SNAPSHOT, "unavailable"),
            (ffi::SQLITE_LOCKED, "unavailable"),
            (ffi::SQLITE_LOCKED_SHAREDCACHE, "unavailable"),
            (ffi::SQLITE_FULL, "full"),
            (ffi::SQLITE_READONLY, "read-only"),
            (ffi::SQLITE_READONLY_DBMOVED, "read-only"),
            (ffi::SQLITE_READONLY_CANTLOCK, "read-only"),
            (ffi::SQLITE_PERM, "read-only"),
            (ffi::SQLITE_IOERR, "io"),
            (ffi::SQLITE_IOERR_WRITE, "io"),
            (ffi::SQLITE_IOERR_FSYNC, "io"),
            (ffi::SQLITE_CANTOPEN, "io"),
            (ffi::SQLITE_CORRUPT, "corrupt"),
            (ffi::SQLITE_NOTADB, "corrupt"),
            (ffi::SQLITE_CONSTRAINT_NOTNULL, "invalid"),
            (ffi::SQLITE_TOOBIG, "invalid"),
        ] {
            assert_eq!(kind(code), expected, "extended code {code}");
        }
    }

    /// A constraint's kind comes from its extended code.
    #[test]
    fn constraint_kinds_come_from_the_extended_code() {
        assert_eq!(
            constraint(&native(ffi::SQLITE_CONSTRAINT_UNIQUE)),
            Some(Constraint::Unique)
        );
        assert_eq!(
            constraint(&native(ffi::SQLITE_CONSTRAINT_PRIMARYKEY)),
            Some(Constraint::Unique)
        );
        assert_eq!(
            constraint(&native(ffi::SQLITE_CONSTRAINT_NOTNULL)),
            Some(Constraint::NotNull)
        );
        assert_eq!(
            constraint(&native(ffi::SQLITE_CONSTRAINT_CHECK)),
            Some(Constraint::Check)
        );
        assert_eq!(
            constraint(&native(ffi::SQLITE_CONSTRAINT_FOREIGNKEY)),
            Some(Constraint::ForeignKey)
        );
        assert_eq!(
            constraint(&native(ffi::SQLITE_CONSTRAINT_TRIGGER)),
            Some(Constraint::Other)
        );
        assert_eq!(constraint(&native(ffi::SQLITE_FULL)), None);
    }

    /// The messages say what a caller needs: a full disk is never called retryable.
    #[test]
    fn a_full_disk_says_full() {
        let e = store_error("append to mtg_a", &native(ffi::SQLITE_FULL));
        assert!(e.to_string().starts_with("store full: append to mtg_a"), "{e}");
    }
}
