#![allow(clippy::unwrap_used)]
//! Bad files and bad rows: each is a clear error naming what is wrong, never a panic, and the
//! rest of the database stays readable.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::executor::block_on;
use proptest::prelude::*;
use rusqlite::Connection;
use zoom_core::Engine;
use zoom_core::clock::{ManualClock, SeededEntropy};
use zoom_core::engine::{EngineError, MeetingQuery, PageRequest};
use zoom_core::event::StreamId;
use zoom_core::id::MeetingId;
use zoom_core::meeting::{MeetingCommand, ScheduleMeeting};
use zoom_core::store::{EventStore, StoreError};
use zoom_core::testing::kit::{admin_app, t0};
use zoom_store_sqlite::{Error, SqliteStore};

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("zoom.db")
}

fn engine(store: Arc<SqliteStore>) -> Engine {
    block_on(Engine::open(
        store,
        Arc::new(ManualClock::new(t0())),
        Arc::new(SeededEntropy::new(7)),
        zoom_core::testing::kit::engine_config(),
    ))
    .unwrap()
}

fn schedule(engine: &Engine, topic: &str) -> MeetingId {
    let command = MeetingCommand::Schedule(ScheduleMeeting {
        topic: topic.into(),
        start_time: "2030-01-01T09:00:00Z".into(),
        duration_minutes: 30,
        timezone: None,
        passcode: None,
        waiting_room: None,
        settings: None,
        host_id: Some("alice".into()),
    });
    block_on(engine.execute(&admin_app(), None, command, None))
        .unwrap()
        .id
        .clone()
}

/// Writes a row behind the store's back, as a damaged disk or a newer build would.
fn insert_raw(path: &Path, stream: &str, version: i64, event_type: &str, schema: i64, payload: &str) {
    let conn = Connection::open(path).unwrap();
    conn.execute(
        "INSERT INTO events (stream_id, version, event_id, event_type, schema_version, recorded_at, payload, metadata)
         VALUES (?1, ?2, 'evt_raw' || ?1 || ?2, ?3, ?4, 0, ?5, '{}')",
        rusqlite::params![stream, version, event_type, schema, payload],
    )
    .unwrap();
}

/// A file that is not a SQLite database is refused by name and left as it was.
#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let junk = b"this is a text file, not a database\n".repeat(200);
    std::fs::write(&path, &junk).unwrap();
    match SqliteStore::open(&path) {
        Err(Error::NotADatabase { path: p }) => assert_eq!(p, path),
        other => panic!("expected NotADatabase, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), junk, "the file is untouched");
}

/// Another application's database is refused, and not switched to WAL or migrated.
#[test]
fn a_database_of_another_application_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        .unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, Error::ForeignDatabase { .. }), "{err:?}");
    assert!(err.to_string().contains("users"), "{err}");
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete", "the foreign file was not switched to WAL");
}

/// A database migrated by a newer build is refused with a message that says to upgrade.
#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    drop(SqliteStore::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (2, '0002_future', 'x', 0)",
            [],
        )
        .unwrap();
    match SqliteStore::open(&path) {
        Err(
            e @ Error::NewerSchema {
                found: 2, supported: 1, ..
            },
        ) => {
            assert!(e.to_string().contains("upgrade"), "{e}")
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}

/// A released migration edited after it was applied is caught by its checksum.
#[test]
fn an_edited_migration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    drop(SqliteStore::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1", [])
        .unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(&err, Error::MigrationChecksum { version: 1, recorded, .. } if recorded == "edited"),
        "{err:?}"
    );
}

/// Reopening keeps the data and applies nothing twice.
#[test]
fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let id = {
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        schedule(&engine(store), "Kept")
    };
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let engine = engine(store);
    assert_eq!(block_on(engine.meeting(&admin_app(), &id)).unwrap().topic, "Kept");
}

/// Corrupt JSON, an unknown event type and a future schema version each fail the read of their
/// own meeting with an error naming the stream and version; other meetings and lists still work.
#[test]
fn bad_rows_name_their_stream_and_version_and_leave_the_rest_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let (good, bad) = {
        let engine = engine(Arc::new(SqliteStore::open(&path).unwrap()));
        let good = schedule(&engine, "Good");
        let bad: Vec<MeetingId> = (0..3).map(|i| schedule(&engine, &format!("Bad {i}"))).collect();
        (good, bad)
    };
    let cases = [
        ("meeting.cancelled", 1, r#"{"meeting_id": "#, "does not match its type"),
        ("meeting.exploded", 1, "{}", "unknown event type"),
        ("meeting.cancelled", 99, "{}", "newer than this code"),
    ];
    for (id, (event_type, schema, payload, _)) in bad.iter().zip(&cases) {
        insert_raw(&path, id.as_str(), 2, event_type, *schema, payload);
    }
    let engine = engine(Arc::new(SqliteStore::open(&path).unwrap()));
    for (id, (_, _, _, reason)) in bad.iter().zip(&cases) {
        match block_on(engine.meeting(&admin_app(), id)) {
            Err(EngineError::Decode(e)) => {
                assert_eq!(e.stream_id, id.as_str());
                assert_eq!(e.version, 2);
                let message = e.to_string();
                assert!(message.contains(&format!("{id}@2")), "{message}");
                assert!(message.contains(reason) || e.reason.contains(reason), "{message}");
            }
            other => panic!("expected a decode error for {id}, got {other:?}"),
        }
    }
    assert_eq!(block_on(engine.meeting(&admin_app(), &good)).unwrap().topic, "Good");
    let store = engine.store();
    let first = block_on(store.read_stream(&StreamId::from(&bad[0]), 1, 10)).unwrap();
    assert_eq!(
        first.len(),
        2,
        "the store itself returns the rows; decoding is what fails"
    );
}

/// Columns the store cannot represent (NULL payload, text that is not UTF-8, an invalid id, a
/// text version) are `Corrupt` naming `stream@version`; reads stop just before such a row, so
/// everything around it stays readable.
#[test]
fn damaged_columns_are_corrupt_errors_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let id = {
        let engine = engine(Arc::new(SqliteStore::open(&path).unwrap()));
        schedule(&engine, "Damaged")
    };
    let damage = [
        "UPDATE events SET payload = NULL WHERE stream_id = ?1 AND version = 1",
        "UPDATE events SET payload = CAST(x'ff00fe' AS TEXT) WHERE stream_id = ?1 AND version = 1",
        "UPDATE events SET event_id = 'not an id' WHERE stream_id = ?1 AND version = 1",
        "UPDATE events SET recorded_at = 'yesterday' WHERE stream_id = ?1 AND version = 1",
        "UPDATE events SET schema_version = -3 WHERE stream_id = ?1 AND version = 1",
    ];
    for sql in damage {
        let copy = dir.path().join("copy.db");
        let _ = std::fs::remove_file(&copy);
        Connection::open(&path)
            .unwrap()
            .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
            .unwrap();
        Connection::open(&copy).unwrap().execute(sql, [id.as_str()]).unwrap();
        let store = SqliteStore::open(&copy).unwrap();
        let stream = StreamId::from(&id);
        match block_on(store.read_stream(&stream, 1, 10)) {
            Err(StoreError::Corrupt { row, reason }) => {
                assert!(row.starts_with(&format!("{id}@1")), "{sql}: {row}");
                assert!(!reason.is_empty());
            }
            other => panic!("{sql}: expected Corrupt, got {other:?}"),
        }
        // The log around the damaged row: the page before it ends short, the page at it fails
        // naming it, and the page after it reads.
        let bad = block_on(store.read_all(0, usize::MAX)).unwrap();
        let bad_position = bad.last().map_or(0, |e| e.position) + 1;
        assert!(block_on(store.read_all(bad_position - 1, 10)).is_err(), "{sql}");
        let after = block_on(store.read_all(bad_position, usize::MAX)).unwrap();
        let head = block_on(store.head_position()).unwrap();
        assert_eq!(
            bad.len() + after.len() + 1,
            head as usize,
            "{sql}: every other row is readable"
        );
        // The engine reports it as a store error naming the row, without panicking.
        let engine = engine(Arc::new(store));
        let listed = block_on(engine.meetings(&admin_app(), &MeetingQuery::default(), &PageRequest::default()));
        assert!(
            matches!(&listed, Err(EngineError::Store(StoreError::Corrupt { row, .. })) if row.starts_with(id.as_str())),
            "{sql}: {listed:?}"
        );
    }
}

/// A short file that is not a database (SQLite alone would take it for an empty one and write
/// over it) is refused as not a database, and left as it was.
#[test]
fn a_short_file_that_is_not_a_database_is_refused_untouched() {
    for bytes in [&b"\0"[..], b"hello", &[0u8; 99], b"SQLite format 2\0 and more"] {
        let dir = tempfile::tempdir().unwrap();
        let path = db(&dir);
        std::fs::write(&path, bytes).unwrap();
        assert!(
            matches!(
                SqliteStore::open(&path),
                Err(zoom_store_sqlite::Error::NotADatabase { .. })
            ),
            "{bytes:?}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file is unchanged");
    }
}

/// A copy of a small real store file with `flips` bytes overwritten (past the header, so SQLite
/// takes it for a database and meets the damage while reading).
fn damaged_copy(dir: &tempfile::TempDir, flips: &[(usize, u8)]) -> PathBuf {
    let source = dir.path().join("source.db");
    if !source.exists() {
        let engine = engine(Arc::new(SqliteStore::open(&source).unwrap()));
        for i in 0..20 {
            schedule(&engine, &format!("Meeting {i}"));
        }
    }
    let mut bytes = std::fs::read(&source).unwrap();
    for &(at, value) in flips {
        let len = bytes.len();
        bytes[100 + at % (len - 100)] = value;
    }
    let copy = dir.path().join("damaged.db");
    std::fs::write(&copy, bytes).unwrap();
    copy
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any bytes at all: opening is `Ok` or a clear `Err`, never a panic.
    #[test]
    fn opening_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let dir = tempfile::tempdir().unwrap();
        let path = db(&dir);
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(store) = SqliteStore::open(&path) {
            // Only an empty file is an empty database; it must then work.
            prop_assert!(bytes.is_empty());
            prop_assert_eq!(block_on(store.head_position()).unwrap(), 0);
        }
    }

    /// A real store file with damaged pages: opening and reading everything either works or
    /// fails with an error, never a panic.
    #[test]
    fn reading_a_damaged_file_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..64)) {
        let dir = tempfile::tempdir().unwrap();
        let path = damaged_copy(&dir, &flips);
        if let Ok(store) = SqliteStore::open(&path) {
            let _ = block_on(store.read_all(0, usize::MAX));
            let _ = block_on(store.head_position());
            let _ = block_on(store.read_stream(&StreamId::new("mtg_x").unwrap(), 1, 100));
        }
    }

    /// Any value in any column of an event row: reads return it or `Corrupt` naming the row.
    #[test]
    fn arbitrary_column_values_are_read_or_reported(
        values in proptest::collection::vec(
            prop_oneof![
                Just(rusqlite::types::Value::Null),
                any::<i64>().prop_map(rusqlite::types::Value::Integer),
                any::<f64>().prop_map(rusqlite::types::Value::Real),
                ".{0,12}".prop_map(rusqlite::types::Value::Text),
                proptest::collection::vec(any::<u8>(), 0..12).prop_map(rusqlite::types::Value::Blob),
            ],
            8,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = db(&dir);
        drop(SqliteStore::open(&path).unwrap());
        let inserted = Connection::open(&path).unwrap().execute(
            "INSERT INTO events (stream_id, version, event_id, event_type, schema_version, recorded_at, payload, metadata)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params_from_iter(values.iter()),
        );
        let store = SqliteStore::open(&path).unwrap();
        match block_on(store.read_all(0, 10)) {
            Ok(rows) => prop_assert_eq!(rows.len(), usize::from(inserted.is_ok())),
            Err(StoreError::Corrupt { row, .. }) => prop_assert!(row.contains("(position 1)"), "{}", row),
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }
}
