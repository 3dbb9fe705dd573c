#![allow(clippy::unwrap_used)]
//! The writer: group commit keeps each append's own expected-version check, options are
//! validated, and every durability mode works.

mod common;

use std::pin::pin;

use chrono::{TimeZone, Utc};
use common::TempStore;
use futures::executor::block_on;
use futures::future::join_all;
use rusqlite::Connection;
use zoom_core::event::{NewEvent, StreamId};
use zoom_core::id::EventId;
use zoom_core::store::{AppendRequest, EventStore, IdempotencyRecord, StoreError};
use zoom_store_sqlite::{Error, Options, SqliteStore, Synchronous};

fn event(n: u64) -> NewEvent {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    NewEvent {
        event_id: EventId::from_entropy(id),
        event_type: "meeting.cancelled".into(),
        schema_version: 1,
        payload: format!(r#"{{"n":{n}}}"#),
        metadata: "{}".into(),
        recorded_at: Utc.timestamp_opt(1_900_000_000, 0).unwrap(),
    }
}

fn append(stream: &str, expected: u64, n: u64) -> AppendRequest {
    AppendRequest {
        stream_id: StreamId::new(stream).unwrap(),
        expected_version: expected,
        events: vec![event(n)],
        index: None,
        snapshot: None,
        links: vec![],
        idempotency: None,
    }
}

/// Appends queued together commit in one transaction, and a conflicting append in the batch
/// fails alone: per stream exactly one of five racing appends wins, the others are conflicts,
/// and a duplicate idempotency key fails only its own append.
#[test]
fn a_conflicting_append_fails_alone_in_its_batch() {
    let store = TempStore::new();
    // Another connection holds the write lock, so the writer waits on its first job while all
    // the others queue up behind it; they must then go in at most two transactions.
    let blocker = Connection::open(store.path()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let before = store.write_stats();
    let mut requests = Vec::new();
    for s in 0..10u64 {
        for i in 0..5u64 {
            requests.push(append(&format!("mtg_s{s}"), 0, s * 10 + i));
        }
    }
    let key = |fp: &str| IdempotencyRecord {
        key: "acme/app/k".into(),
        fingerprint: fp.into(),
        reply: "{}".into(),
        created_at: Utc.timestamp_opt(1_900_000_000, 0).unwrap(),
    };
    let mut first = append("mtg_idem_a", 0, 900);
    first.idempotency = Some(key("a"));
    let mut second = append("mtg_idem_b", 0, 901);
    second.idempotency = Some(key("b"));
    requests.push(first);
    requests.push(second);
    let results = block_on(async {
        let mut all = pin!(join_all(requests.into_iter().map(|r| store.append(r))));
        // One poll sends every job to the writer.
        assert!(futures::poll!(&mut all).is_pending());
        blocker.execute_batch("COMMIT").unwrap();
        all.await
    });
    let after = store.write_stats();
    assert_eq!(after.writes - before.writes, 52);
    assert!(
        after.transactions - before.transactions <= 2,
        "52 queued appends took {} transactions",
        after.transactions - before.transactions
    );
    for (s, chunk) in results[..50].chunks(5).enumerate() {
        let wins = chunk.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "stream {s}: exactly one append at version 0 wins");
        for r in chunk.iter().filter(|r| r.is_err()) {
            assert!(
                matches!(
                    r,
                    Err(StoreError::Conflict {
                        expected: 0,
                        actual: 1,
                        ..
                    })
                ),
                "{r:?}"
            );
        }
        let v = block_on(store.stream_version(&StreamId::new(format!("mtg_s{s}")).unwrap())).unwrap();
        assert_eq!(v, 1);
    }
    assert!(results[50].is_ok());
    assert_eq!(results[51], Err(StoreError::DuplicateIdempotencyKey));
    let b = block_on(store.stream_version(&StreamId::new("mtg_idem_b").unwrap())).unwrap();
    assert_eq!(b, 0, "the append with the duplicate key wrote nothing");
    let all = block_on(store.read_all(0, usize::MAX)).unwrap();
    assert_eq!(all.len(), 11);
    assert!(
        all.windows(2).all(|w| w[1].position == w[0].position + 1),
        "no holes left by rolled-back appends"
    );
}

/// With `max_batch(1)` every write is its own transaction.
#[test]
fn max_batch_one_commits_each_write_alone() {
    let store = TempStore::with(Options::default().max_batch(1));
    let results = block_on(join_all(
        (0..20).map(|i| store.append(append(&format!("mtg_{i}"), 0, i))),
    ));
    assert!(results.iter().all(Result::is_ok));
    let stats = store.write_stats();
    assert_eq!(stats.transactions, stats.writes);
    assert_eq!(stats.writes, 20);
}

/// FULL and EXTRA durability open, write and read like NORMAL.
#[test]
fn every_durability_mode_works() {
    for mode in [Synchronous::Normal, Synchronous::Full, Synchronous::Extra] {
        let store = TempStore::with(Options::default().synchronous(mode));
        block_on(store.append(append("mtg_a", 0, 1))).unwrap();
        assert_eq!(block_on(store.head_position()).unwrap(), 1, "{mode:?}");
        let conn = Connection::open(store.path()).unwrap();
        let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(journal, "wal");
    }
}

/// Options that cannot work are refused before anything is opened.
#[test]
fn nonsense_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zoom.db");
    for options in [
        Options::default().readers(0),
        Options::default().max_batch(0),
        Options::default().checkpoint_interval(std::time::Duration::ZERO),
    ] {
        assert!(matches!(
            SqliteStore::open_with(&path, options),
            Err(Error::InvalidOptions(_))
        ));
    }
    assert!(!path.exists(), "nothing was created");
}

/// A directory that does not exist is a clear error, not a panic.
#[test]
fn a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteStore::open(dir.path().join("missing/zoom.db")).unwrap_err();
    assert!(matches!(err, Error::Sqlite { .. }), "{err:?}");
}

/// Concurrent readers see a consistent, growing log while a writer appends.
#[test]
fn readers_see_positions_only_grow_during_writes() {
    let store = std::sync::Arc::new(TempStore::new());
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..200u64 {
                block_on(store.append(append(&format!("mtg_w{}", i % 7), i / 7, i))).unwrap();
            }
        })
    };
    let mut seen = 0u64;
    let mut last_len = 0usize;
    loop {
        let finished = writer.is_finished();
        let rows = block_on(store.read_all(0, usize::MAX)).unwrap();
        assert!(rows.len() >= last_len, "a reader never sees the log shrink");
        assert!(rows.iter().enumerate().all(|(i, r)| r.position == i as u64 + 1));
        last_len = rows.len();
        let head = block_on(store.head_position()).unwrap();
        assert!(head >= seen);
        seen = head;
        if finished {
            break;
        }
    }
    writer.join().unwrap();
    assert_eq!(
        last_len, 200,
        "the last read, after the writer finished, sees everything"
    );
}

/// The backup recipe of docs/storage.md: `VACUUM INTO` from another connection while the store
/// is open and writing gives a consistent copy that opens as a store with every write acknowledged
/// before the backup started.
#[test]
fn vacuum_into_backs_up_a_live_store() {
    let store = std::sync::Arc::new(TempStore::new());
    for i in 0..50u64 {
        block_on(store.append(append("mtg_b", i, i))).unwrap();
    }
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 50..150u64 {
                block_on(store.append(append("mtg_b", i, i))).unwrap();
            }
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    Connection::open(store.path())
        .unwrap()
        .execute("VACUUM INTO ?1", [backup.to_str().unwrap()])
        .unwrap();
    writer.join().unwrap();
    let copy = SqliteStore::open(&backup).unwrap();
    let rows = block_on(copy.read_stream(&StreamId::new("mtg_b").unwrap(), 1, usize::MAX)).unwrap();
    assert!(rows.len() >= 50, "every append acknowledged before the backup is in it");
    assert!(rows.iter().enumerate().all(|(i, r)| r.version == i as u64 + 1));
    assert_eq!(block_on(copy.head_position()).unwrap(), rows.len() as u64);
}

/// Commits never checkpoint; the checkpointer thread copies the write-ahead log into the
/// database beside the writer: once it has passed after the last commit, the database file
/// alone (copied without its `-wal`) holds every committed event.
#[test]
fn the_checkpointer_copies_the_log_into_the_database_while_open() {
    let store = TempStore::with(Options::default().checkpoint_interval(std::time::Duration::from_millis(2)));
    for i in 0..300u64 {
        block_on(store.append(append("mtg_c", i, i))).unwrap();
    }
    // A pass may be under way now, begun before the last commit: wait for the second pass
    // from here, which began after it. A pass runs only after new commits, so keep committing
    // elsewhere meanwhile. Bounded: 5,000 rounds of 2 ms at most, whatever the machine does.
    let wanted = store.write_stats().checkpoints + 2;
    for i in 0..5_000u64 {
        if store.write_stats().checkpoints >= wanted {
            break;
        }
        block_on(store.append(append("mtg_d", i, 1_000 + i))).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(store.write_stats().checkpoints >= wanted, "the checkpointer ran");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    std::fs::copy(store.path(), &copy).unwrap();
    let conn = Connection::open(&copy).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM events WHERE stream_id = 'mtg_c'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 300, "every event committed before the pass is in the database file");
}

/// Many more concurrent reads than readers: every one is answered, from whichever reader frees
/// up, with the right result.
#[test]
fn reads_beyond_the_pool_size_queue_and_all_complete() {
    let store = TempStore::with(Options::default().readers(2));
    for s in 0..20u64 {
        for v in 0..s % 5 {
            block_on(store.append(append(&format!("mtg_q{s}"), v, s * 10 + v))).unwrap();
        }
    }
    let versions = block_on(join_all((0..400u64).map(|i| {
        let s = StreamId::new(format!("mtg_q{}", i % 20)).unwrap();
        let store = &store;
        async move { store.stream_version(&s).await }
    })));
    for (i, v) in versions.into_iter().enumerate() {
        assert_eq!(v.unwrap(), (i as u64 % 20) % 5);
    }
}

/// Two stores on one file (two processes, in effect) serialise on SQLite's write lock: racing
/// appends to one stream conflict instead of overwriting, and versions and positions stay
/// gap-free and in commit order.
#[test]
fn two_stores_on_one_file_serialise_their_writes() {
    let first = std::sync::Arc::new(TempStore::new());
    let second = std::sync::Arc::new(SqliteStore::open(first.path()).unwrap());
    let stream = StreamId::new("mtg_shared").unwrap();
    let racers: Vec<_> = (0..2u64)
        .map(|w| {
            let first = first.clone();
            let second = second.clone();
            let stream = stream.clone();
            std::thread::spawn(move || {
                let store: &dyn EventStore = if w == 0 { &**first } else { &*second };
                let mut acked = 0u64;
                for attempt in 0..10_000u64 {
                    if acked == 50 {
                        break;
                    }
                    let v = block_on(store.stream_version(&stream)).unwrap();
                    match block_on(store.append(append("mtg_shared", v, w * 100_000 + attempt))) {
                        Ok(_) => acked += 1,
                        Err(StoreError::Conflict { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                acked
            })
        })
        .collect();
    let acked: u64 = racers.into_iter().map(|r| r.join().unwrap()).sum();
    assert_eq!(acked, 100);
    let rows = block_on(second.read_stream(&stream, 1, usize::MAX)).unwrap();
    assert_eq!(rows.len(), 100);
    assert!(rows.iter().enumerate().all(|(i, r)| r.version == i as u64 + 1));
    assert!(rows.windows(2).all(|w| w[0].position < w[1].position));
}

/// A database that cannot be in WAL mode (SQLite's `:memory:`) is refused with a clear error
/// rather than run without the guarantees WAL gives.
#[test]
fn a_database_without_wal_is_refused() {
    match SqliteStore::open(":memory:") {
        Err(Error::WalUnavailable { mode, .. }) => assert_eq!(mode, "memory"),
        other => panic!("expected WalUnavailable, got {other:?}"),
    }
}

/// A lone caller's writes commit inline on its own thread, each in its own transaction; with
/// inline commits off (and by default in `FULL`) they all go through the writer thread.
#[test]
fn a_lone_caller_commits_inline_unless_turned_off() {
    for (options, inline) in [
        (Options::default(), true),
        (Options::default().inline_commits(false), false),
        (Options::default().synchronous(Synchronous::Full), false),
    ] {
        let store = TempStore::with(options.clone());
        for v in 0..10u64 {
            block_on(store.append(append("mtg_lone", v, v))).unwrap();
        }
        let stats = store.write_stats();
        assert_eq!((stats.writes, stats.transactions), (10, 10), "{options:?}");
        assert_eq!(stats.inline, if inline { 10 } else { 0 }, "{options:?}");
        let all = block_on(store.read_all(0, 100)).unwrap();
        let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
        assert_eq!(positions, (1..=10).collect::<Vec<_>>(), "{options:?}");
    }
}

/// An inline append that fails half-way (its second event's id is already stored) leaves
/// nothing behind, and so does a stale expected version; the next append goes on normally.
#[test]
fn a_failed_inline_append_leaves_nothing() {
    let store = TempStore::new();
    block_on(store.append(append("mtg_a", 0, 1))).unwrap();
    let mut torn = append("mtg_b", 0, 2);
    torn.events.push(event(1));
    assert!(matches!(block_on(store.append(torn)), Err(StoreError::Invalid(_))));
    assert!(matches!(
        block_on(store.append(append("mtg_a", 0, 3))),
        Err(StoreError::Conflict { actual: 1, .. })
    ));
    let b = StreamId::new("mtg_b").unwrap();
    assert_eq!(block_on(store.stream_version(&b)).unwrap(), 0);
    block_on(store.append(append("mtg_b", 0, 4))).unwrap();
    let all = block_on(store.read_all(0, 100)).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(store.write_stats().inline, 4);
}

/// While another process holds the write lock an append does not wait on the caller's thread:
/// it queues for the writer thread, and commits once the lock is released.
#[test]
fn a_write_locked_elsewhere_queues_instead_of_blocking_the_caller() {
    let store = TempStore::new();
    let blocker = Connection::open(store.path()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    block_on(async {
        let mut write = pin!(store.append(append("mtg_q", 0, 1)));
        // The first poll returns at once (pending) rather than waiting out the busy timeout.
        let started = std::time::Instant::now();
        assert!(futures::poll!(&mut write).is_pending());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        blocker.execute_batch("COMMIT").unwrap();
        write.await.unwrap();
    });
    let stats = store.write_stats();
    assert_eq!((stats.writes, stats.inline), (1, 0));
}

/// Once a write found the writer busy, the writes after it keep going through the writer thread
/// (concurrent writes share commits rather than taking a transaction each inline whenever the
/// connection is free for an instant), and once they stop overlapping (32 batches of one write
/// in a row) a lone caller commits inline again.
#[test]
fn after_a_busy_writer_writes_group_until_they_stop_overlapping() {
    let store = TempStore::new();
    let blocker = Connection::open(store.path()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    block_on(async {
        let mut write = pin!(store.append(append("mtg_g", 0, 0)));
        assert!(futures::poll!(&mut write).is_pending());
        blocker.execute_batch("COMMIT").unwrap();
        write.await.unwrap();
    });
    assert_eq!(store.write_stats().inline, 0);
    for v in 1..=100u64 {
        block_on(store.append(append("mtg_g", v, v))).unwrap();
    }
    let stats = store.write_stats();
    assert_eq!(stats.writes, 101);
    assert!(
        stats.inline < 100,
        "every write went inline right after the busy one: {stats:?}"
    );
    assert!(stats.inline >= 100 - 32, "grouping did not end: {stats:?}");
    let all = block_on(store.read_all(0, 200)).unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=101).collect::<Vec<_>>());
}
