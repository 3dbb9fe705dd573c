#![allow(clippy::unwrap_used)]
//! The embedded migrations are exactly the numbered files in `migrations/`, in order, and a new
//! database records each of them with its checksum.

use rusqlite::Connection;
use zoom_store_sqlite::SqliteStore;
use zoom_store_sqlite::migrate::{APPLICATION_ID, MIGRATIONS, latest_version};

/// Every `NNNN_name.sql` file is embedded under its number, with the same text, and the numbers
/// run 1, 2, 3… without gaps, so a file cannot be added and forgotten.
#[test]
fn every_migration_file_is_embedded_in_order() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_str().unwrap().to_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        MIGRATIONS.len(),
        "files and embedded migrations differ in number"
    );
    for (i, ((name, sql), m)) in files.iter().zip(MIGRATIONS).enumerate() {
        assert_eq!(m.version as usize, i + 1, "migration numbers run without gaps");
        assert_eq!(name, m.name);
        assert!(
            name.starts_with(&format!("{:04}_", m.version)),
            "{name} starts with its number"
        );
        assert_eq!(sql, m.sql, "{name} is embedded as it is on disk");
    }
    assert_eq!(latest_version() as usize, files.len());
}

/// A new database records every migration with its checksum and carries our application id.
#[test]
fn a_new_database_records_its_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zoom.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let recorded: Vec<(u32, String, String)> = conn
        .prepare("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<(u32, String, String)> = MIGRATIONS
        .iter()
        .map(|m| (m.version, m.name.to_owned(), m.checksum()))
        .collect();
    assert_eq!(recorded, expected);
    let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    assert_eq!(app, APPLICATION_ID);
    let fk: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_foreign_key_list('delivery_attempts')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(fk, 1, "attempts reference their delivery");
}
