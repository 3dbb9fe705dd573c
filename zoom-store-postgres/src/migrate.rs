//! Schema migrations: numbered SQL files under `migrations/`, embedded at build time, applied in
//! order in one transaction and recorded with a SHA-256 checksum in the store's schema.
//!
//! Several instances may start at once against a new database: each takes a transaction-level
//! advisory lock keyed by the schema name (`pg_advisory_xact_lock`) before looking, so one
//! migrates while the others wait, then find the schema up to date. PostgreSQL's DDL is
//! transactional, so a failed migration leaves nothing behind.
//!
//! Invariant: a released migration file is never edited (the checksum check refuses the schema),
//! and a schema that records a migration this build does not ship is refused rather than
//! written.

use tokio_postgres::Client;
use zoom_core::store::migration::{self, Mismatch};

use crate::error::Error;

pub use zoom_core::store::migration::Migration;

/// Every migration this build ships, in order.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "0001_init",
    sql: include_str!("../migrations/0001_init.sql"),
}];

/// The newest migration this build ships.
pub fn latest_version() -> u32 {
    migration::latest(MIGRATIONS)
}

/// The advisory-lock key of migrations of `schema`: the same for every process, different per
/// schema, so tests on their own schemas never wait for each other.
fn lock_key(schema: &str) -> String {
    format!("zoom-store-postgres migrate {schema}")
}

/// Brings `schema` up to date in one transaction, or refuses it without changing anything.
/// `client`'s `search_path` must be `schema`.
pub(crate) async fn migrate(client: &mut Client, schema: &str) -> Result<(), Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&lock_key(schema)])
        .await?;
    let current = inspect(&tx, schema).await?;
    if current == latest_version() {
        // Nothing to do; ending the transaction releases the lock.
        tx.rollback().await?;
        return Ok(());
    }
    // The schema name was checked to be a plain identifier, so it needs no quoting.
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT      NOT NULL PRIMARY KEY,
             name       TEXT        NOT NULL,
             checksum   TEXT        NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )"
    ))
    .await?;
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch_execute(m.sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&i64::from(m.version), &m.name, &m.checksum()],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Checks, without writing anything, that `schema` is missing, empty or ours and not from a
/// newer build. Returns the newest migration it records (0 for a missing or empty schema).
async fn inspect(tx: &tokio_postgres::Transaction<'_>, schema: &str) -> Result<u32, Error> {
    let tables: Vec<String> = tx
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
            &[&schema],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    if tables.is_empty() {
        return Ok(0);
    }
    if !tables.iter().any(|t| t == "schema_migrations") {
        return Err(Error::ForeignSchema {
            schema: schema.to_owned(),
            reason: format!("it has a table `{}` but no schema_migrations", tables[0]),
        });
    }
    let applied = tx
        .query("SELECT version, checksum FROM schema_migrations ORDER BY version", &[])
        .await?;
    let applied: Vec<(i64, String)> = applied
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()?;
    migration::check_applied(MIGRATIONS, applied).map_err(|m| match m {
        Mismatch::Newer { found, supported } => Error::NewerSchema {
            schema: schema.to_owned(),
            found,
            supported,
        },
        Mismatch::Checksum {
            version,
            recorded,
            expected,
        } => Error::MigrationChecksum {
            schema: schema.to_owned(),
            version,
            recorded,
            expected,
        },
    })
}
