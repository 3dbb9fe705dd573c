#![allow(clippy::unwrap_used)]
//! Crash safety under SIGKILL: a child process appends in a loop with the default durability
//! (`synchronous = NORMAL`) and prints each acknowledged append; the parent kills it at a random
//! moment, reopens the file and checks that every acknowledged append is there, that versions
//! are gap-free and that no append was torn. Many rounds on the same file, so recovery itself is
//! recovered from.
//!
//! The child is this test binary run again with `ZOOM_SQLITE_CRASH_CHILD` set to the database
//! path. `ZOOM_SQLITE_CRASH_SEED` replays a run's random choices (the seed is printed).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures::executor::block_on;
use zoom_core::event::{NewEvent, StreamId};
use zoom_core::id::{EventId, Name};
use zoom_core::store::{AppendRequest, EventStore, IndexEntry, IndexQuery};
use zoom_store_sqlite::SqliteStore;

const CHILD_ENV: &str = "ZOOM_SQLITE_CRASH_CHILD";
const SEED_ENV: &str = "ZOOM_SQLITE_CRASH_SEED";
const ROUNDS: usize = 24;
const WRITERS: u64 = 4;
/// Each append writes this many events: a torn append would leave a version count that is not a
/// multiple of it.
const EVENTS_PER_APPEND: u64 = 2;
/// The child stops by itself after this many appends per writer, so an orphan cannot run forever.
const CHILD_LIMIT: u64 = 200_000;

fn main() {
    match std::env::var(CHILD_ENV) {
        Ok(path) => child(&path),
        Err(_) => parent(),
    }
}

fn stream(writer: u64) -> StreamId {
    StreamId::new(format!("mtg_crash{writer}")).unwrap()
}

fn event(writer: u64, version: u64) -> NewEvent {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&writer.to_be_bytes());
    id[8..].copy_from_slice(&version.to_be_bytes());
    NewEvent {
        event_id: EventId::from_entropy(id),
        event_type: "meeting.cancelled".into(),
        schema_version: 1,
        payload: format!(r#"{{"writer":{writer},"version":{version}}}"#),
        metadata: "{}".into(),
        recorded_at: Utc.timestamp_opt(1_900_000_000 + version as i64, 0).unwrap(),
    }
}

fn index(writer: u64, version: u64) -> IndexEntry {
    IndexEntry {
        stream_id: stream(writer),
        kind: "meeting".into(),
        account_id: Name::parse("acme").unwrap(),
        owner: format!("v{version}"),
        state: "LIVE".into(),
        time: Utc.timestamp_opt(1_900_000_000, 0).unwrap(),
        seq: 0,
    }
}

/// Appends forever on `WRITERS` threads, one stream each, and prints `writer version` after each
/// acknowledged append.
fn child(path: &str) {
    let store = Arc::new(SqliteStore::open(path).unwrap());
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                let s = stream(w);
                let mut version = block_on(store.stream_version(&s)).unwrap();
                for _ in 0..CHILD_LIMIT {
                    let events = (1..=EVENTS_PER_APPEND).map(|i| event(w, version + i)).collect();
                    let appended = block_on(store.append(AppendRequest {
                        stream_id: s.clone(),
                        expected_version: version,
                        events,
                        index: Some(index(w, version + EVENTS_PER_APPEND)),
                        snapshot: None,
                        links: vec![],
                        idempotency: None,
                    }))
                    .unwrap();
                    version = appended.version;
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{w} {version}").unwrap();
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// xorshift64*: enough randomness for kill moments, and replayable from a printed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn parent() {
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("crash test: {ROUNDS} rounds, {SEED_ENV}={seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
    let mut total_acks = 0usize;
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(CHILD_ENV, &path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let target = 1 + rng.below(400);
        let mut lines = Vec::new();
        while (lines.len() as u64) < target {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => lines.push(line),
                Err(e) => {
                    let _ = child.kill();
                    let out = child.wait_with_output().unwrap();
                    panic!(
                        "round {round}: the child stopped acknowledging ({e}) after {} acks; stderr:\n{}",
                        lines.len(),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
        }
        // A little more time so the kill lands anywhere in an append, not just after an ack.
        std::thread::sleep(Duration::from_micros(rng.below(3000)));
        child.kill().unwrap(); // SIGKILL on Unix.
        child.wait().unwrap();
        reader.join().unwrap();
        // Every line the child printed before it died is an acknowledged append.
        lines.extend(rx.try_iter());
        total_acks += lines.len();
        for line in &lines {
            let (w, v) = line.split_once(' ').unwrap();
            let (w, v): (u64, u64) = (w.parse().unwrap(), v.parse().unwrap());
            let max = acked.entry(w).or_default();
            *max = (*max).max(v);
        }
        verify(&path, &acked, round);
    }
    println!("crash test: ok, {total_acks} acknowledged appends over {ROUNDS} kills");
}

/// Reopens the file after a kill and checks the log against what was acknowledged.
fn verify(path: &std::path::Path, acked: &BTreeMap<u64, u64>, round: usize) {
    let store = SqliteStore::open(path).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
    let mut total = 0u64;
    // Every writer, acknowledged or not: an append may commit just before the kill that would
    // have printed its acknowledgement, even a writer's first.
    for w in 0..WRITERS {
        let max_acked = acked.get(&w).copied().unwrap_or(0);
        let rows = block_on(store.read_stream(&stream(w), 1, usize::MAX)).unwrap();
        let n = rows.len() as u64;
        assert!(
            n >= max_acked,
            "round {round}: writer {w} had version {max_acked} acknowledged but the log has {n}"
        );
        assert_eq!(
            n % EVENTS_PER_APPEND,
            0,
            "round {round}: writer {w}: a torn append ({n} events)"
        );
        for (i, row) in rows.iter().enumerate() {
            let version = i as u64 + 1;
            assert_eq!(row.version, version, "round {round}: writer {w}: versions have a gap");
            assert_eq!(
                row.event_id,
                event(w, version).event_id,
                "round {round}: writer {w}@{version}"
            );
            assert_eq!(
                row.payload,
                event(w, version).payload,
                "round {round}: writer {w}@{version}"
            );
        }
        total += n;
    }
    let all = block_on(store.read_all(0, usize::MAX)).unwrap();
    assert_eq!(
        all.len() as u64,
        total,
        "round {round}: read_all agrees with the streams"
    );
    assert!(
        all.windows(2).all(|p| p[0].position < p[1].position),
        "round {round}: positions strictly increase"
    );
    // The index row was written in the same transaction as the events it describes.
    let rows = block_on(store.query_index(&IndexQuery {
        kind: "meeting".into(),
        limit: 100,
        ..IndexQuery::default()
    }))
    .unwrap();
    for row in rows {
        let n = block_on(store.stream_version(&row.stream_id)).unwrap();
        assert_eq!(
            row.owner,
            format!("v{n}"),
            "round {round}: index row of {} is stale",
            row.stream_id
        );
    }
}
