#![allow(clippy::unwrap_used)]
//! The store holds private signing keys: its database file and `-wal`/`-shm` are owner-only.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use futures::executor::block_on;
use zoom_core::event::{NewEvent, StreamId};
use zoom_core::id::EventId;
use zoom_core::store::{AppendRequest, EventStore};
use zoom_store_sqlite::SqliteStore;

fn append(store: &SqliteStore, stream: &str) {
    let request = AppendRequest {
        stream_id: StreamId::new(stream).unwrap(),
        expected_version: 0,
        events: vec![NewEvent {
            event_id: EventId::from_entropy([7; 16]),
            event_type: "meeting.cancelled".into(),
            schema_version: 1,
            payload: "{}".into(),
            metadata: "{}".into(),
            recorded_at: Utc.timestamp_opt(1_900_000_000, 0).unwrap(),
        }],
        index: None,
        snapshot: None,
        links: vec![],
        idempotency: None,
    };
    block_on(store.append(request)).unwrap();
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn files(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    [db.to_owned(), with("-wal"), with("-shm")]
}

/// A new store's three files are `0600` after open and a write, whatever the umask lets through.
#[test]
fn a_new_store_is_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zoom.db");
    let store = SqliteStore::open(&db).unwrap();
    append(&store, "mtg_a");
    for file in files(&db) {
        assert!(file.exists(), "{} missing", file.display());
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

/// A store left world-readable by an older build is narrowed to `0600` when opened.
#[test]
fn an_existing_world_readable_store_is_narrowed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zoom.db");
    drop(SqliteStore::open(&db).unwrap());
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(mode(&db), 0o644);
    let store = SqliteStore::open(&db).unwrap();
    append(&store, "mtg_b");
    for file in files(&db) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

/// A file that is not a database is refused and its mode left as it was.
#[test]
fn a_foreign_file_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "not a database at all, just some text").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(SqliteStore::open(&path).is_err());
    assert_eq!(mode(&path), 0o644);
}
