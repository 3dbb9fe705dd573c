//! Schema migrations: numbered SQL files under `migrations/`, embedded at build time, applied in
//! order in one transaction and recorded with a SHA-256 checksum.
//!
//! Invariant: a released migration file is never edited (the checksum check refuses the
//! database), and a database that records a migration this build does not ship is refused
//! rather than written.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use zoom_core::store::migration::{self, Mismatch};

use crate::error::Error;

pub use zoom_core::store::migration::Migration;

/// Every migration this build ships, in order.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "0001_init",
    sql: include_str!("../migrations/0001_init.sql"),
}];

/// `application_id` in the database header: "ZOOM" in ASCII, so `file(1)` and this crate can tell
/// the store's databases from other SQLite files.
pub const APPLICATION_ID: i32 = 0x5A4F_4F4D;

/// The newest migration this build ships.
pub fn latest_version() -> u32 {
    migration::latest(MIGRATIONS)
}

/// Checks, without writing anything, that the database is empty or ours and not from a newer
/// build. Returns the newest migration it records (0 for an empty database).
pub(crate) fn inspect(conn: &Connection, path: &Path) -> Result<u32, Error> {
    let sql_err = |e| Error::from_sqlite(path, e);
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(sql_err)?;
    if app_id != 0 && app_id != APPLICATION_ID {
        return Err(Error::ForeignDatabase {
            path: path.to_owned(),
            reason: format!("application_id is {app_id:#x}"),
        });
    }
    let has_record: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations')",
            [],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    if !has_record {
        let other_table: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)?;
        if let Some(name) = other_table {
            return Err(Error::ForeignDatabase {
                path: path.to_owned(),
                reason: format!("it has a table `{name}` but no schema_migrations"),
            });
        }
        return Ok(0);
    }
    let applied: Vec<(i64, String)> = {
        let mut stmt = conn
            .prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .map_err(sql_err)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(sql_err)?;
        rows.collect::<Result<_, _>>().map_err(sql_err)?
    };
    migration::check_applied(MIGRATIONS, applied).map_err(|m| match m {
        Mismatch::Newer { found, supported } => Error::NewerSchema {
            path: path.to_owned(),
            found,
            supported,
        },
        Mismatch::Checksum {
            version,
            recorded,
            expected,
        } => Error::MigrationChecksum {
            path: path.to_owned(),
            version,
            recorded,
            expected,
        },
    })
}

/// Brings the database up to date in one transaction, or refuses it without changing anything.
/// The checks run again inside the write lock, so two processes opening a new file at once do
/// not both migrate it.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), Error> {
    let sql_err = |e| Error::from_sqlite(path, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let current = inspect(&tx, path)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER NOT NULL PRIMARY KEY,
            name       TEXT    NOT NULL,
            checksum   TEXT    NOT NULL,
            applied_at INTEGER NOT NULL
        )",
    )
    .map_err(sql_err)?;
    let now = chrono::Utc::now().timestamp_micros();
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(m.sql).map_err(sql_err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![m.version, m.name, m.checksum(), now],
        )
        .map_err(sql_err)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(sql_err)?;
    tx.commit().map_err(sql_err)
}
