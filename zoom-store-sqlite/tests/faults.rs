#![allow(clippy::unwrap_used)]
//! Environmental faults at the store's own seam: each gives its own error kind, writes
//! nothing half-way, and the store serves again once the fault is gone. (Through HTTP, the
//! server's `tests/faults.rs` covers a full disk, a file turning read-only and PostgreSQL
//! sessions killed under load.)

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{TimeZone, Utc};
use futures::executor::block_on;
use zoom_core::event::{NewEvent, StreamId};
use zoom_core::id::EventId;
use zoom_core::store::{AppendRequest, EventStore};
use zoom_store_sqlite::{Error, SqliteStore};

fn append(stream: &str, expected: u64, n: u64) -> AppendRequest {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    AppendRequest {
        stream_id: StreamId::new(stream).unwrap(),
        expected_version: expected,
        events: vec![NewEvent {
            event_id: EventId::from_entropy(id),
            event_type: "meeting.cancelled".into(),
            schema_version: 1,
            payload: format!(r#"{{"n":{n}}}"#),
            metadata: "{}".into(),
            recorded_at: Utc.timestamp_opt(1_900_000_000, 0).unwrap(),
        }],
        index: None,
        snapshot: None,
        links: vec![],
        idempotency: None,
    }
}

fn chattr(flag: &str, path: &Path) -> Result<(), String> {
    let out = Command::new("chattr")
        .arg(flag)
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run chattr: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Clears the immutable attribute when the test ends, so the directory can be removed.
struct Immutable(PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = chattr("-i", &self.0);
    }
}

/// A database file that cannot be written when the store opens it (immutable: even root
/// cannot write it) is refused with `Error::ReadOnly`, untouched; once it is writable again it
/// opens with everything in it.
#[test]
fn a_read_only_file_is_refused_untouched_and_opens_once_writable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zoom.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        block_on(store.append(append("mtg_a", 0, 1))).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    if let Err(why) = chattr("+i", &path) {
        eprintln!(
            "skipped a_read_only_file_is_refused_untouched_and_opens_once_writable: cannot make the file immutable ({why})"
        );
        return;
    }
    let guard = Immutable(path.clone());
    match SqliteStore::open(&path) {
        Err(Error::ReadOnly { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected Error::ReadOnly, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file is untouched");
    drop(guard);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(block_on(store.read_all(0, 10)).unwrap().len(), 1);
    block_on(store.append(append("mtg_b", 0, 2))).unwrap();
}
