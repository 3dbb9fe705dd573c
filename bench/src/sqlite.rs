//! The SQLite store against SQLite itself, in the same run (issues 3 and 9).
//!
//! - Append: `concurrency` tasks on a 2-worker tokio runtime each append one event at a time to
//!   their own stream, through the store with one transaction per command (`max_batch(1)`) and
//!   with group commit; the floor is raw rusqlite INSERTs of the same rows into the same schema
//!   with the same pragmas, one thread, grouped the same way (one row per transaction, and the
//!   average group size the store formed). Once with `synchronous = NORMAL` (the default) and
//!   once with `FULL`.
//! - 64 concurrent meetings: the meeting workload through the engine from 64 tasks, against a
//!   raw rusqlite program that inserts one event row per command from 64 concurrent writers with
//!   a group commit of its own (one writer thread commits every row queued in one transaction),
//!   so the floor groups as well as a hand-written program for 64 writers does, not as badly as
//!   the store may.
//! - Replay: `read_all` in pages of 10 000 over the whole log, against a raw rusqlite SELECT of
//!   the same columns into owned rows.
//! - Reopen: opening the store on the log, reading its head and opening the engine on it.
//!
//! Each figure is the best of three alternating rounds of the store and its floor.
//! `ZOOM_BENCH_MEETINGS`, `ZOOM_BENCH_APPENDS` and `ZOOM_BENCH_EVENTS` change the sizes;
//! `ZOOM_BENCH_ENGINE_ONLY=1` measures the engine workload's figures alone.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use futures::executor::block_on;
use rusqlite::{Connection, params};
use zoom_core::Engine;
use zoom_core::clock::{SystemClock, SystemEntropy};
use zoom_core::event::{NewEvent, StreamId};
use zoom_core::id::{EventId, Name};
use zoom_core::store::{AppendRequest, EventStore, IndexEntry};
use zoom_store_sqlite::{Options, SqliteStore, Synchronous};

const CONCURRENCY: u64 = 64;
const PAGE: usize = 10_000;

pub(crate) fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A realistic event: a participant join, with metadata, about 300 bytes.
fn event(n: u64) -> NewEvent {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    id[8..].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    NewEvent {
        event_id: EventId::from_entropy(id),
        event_type: "participant.joined".into(),
        schema_version: 1,
        payload: format!(
            r#"{{"meeting_id":"mtg_bench{}","participant_id":"par_{n:020}","user_id":"user{}","display_name":"Participant {n}","role":"attendee","joined_at":"2030-01-01T09:00:00Z","audio_muted":true,"video_off":false}}"#,
            n % 1000,
            n % 97
        ),
        metadata: r#"{"account_id":"acme","subject":"app1","kind":"app","causation":"media.join"}"#.into(),
        recorded_at: Utc.timestamp_opt(1_900_000_000, 0).single().unwrap_or_default()
            + chrono::Duration::microseconds(n as i64),
    }
}

fn stream(i: u64) -> StreamId {
    StreamId::new(format!("mtg_bench{i}")).unwrap_or_else(|e| panic!("{e}"))
}

fn request(s: StreamId, expected: u64, events: Vec<NewEvent>, index: Option<IndexEntry>) -> AppendRequest {
    AppendRequest {
        stream_id: s,
        expected_version: expected,
        events,
        index,
        snapshot: None,
        links: vec![],
        idempotency: None,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}

fn open(path: &Path, options: Options) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open_with(path, options).unwrap_or_else(|e| panic!("open: {e}")))
}

/// Appends `total` one-event commands from `CONCURRENCY` tasks; returns appends/s and the
/// average number of appends per transaction.
fn append_through_store(rt: &tokio::runtime::Runtime, path: &Path, options: Options, total: u64) -> (f64, f64) {
    let store = open(path, options);
    let per_task = total / CONCURRENCY;
    let started = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..CONCURRENCY)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    for v in 0..per_task {
                        store
                            .append(request(stream(t), v, vec![event(t * per_task + v)], None))
                            .await
                            .unwrap_or_else(|e| panic!("append: {e}"));
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("task: {e}"));
        }
    });
    let elapsed = started.elapsed();
    let stats = store.write_stats();
    (
        (per_task * CONCURRENCY) as f64 / elapsed.as_secs_f64(),
        stats.writes as f64 / stats.transactions.max(1) as f64,
    )
}

fn raw_connection(path: &Path, synchronous: &str) -> Connection {
    // The schema comes from the store itself, so the floor writes into identical tables and
    // indexes; then the same pragmas the store's writer sets. With `wal_autocheckpoint = 0` no
    // commit of the floor pays for a checkpoint either (the store checkpoints on a thread of its
    // own): the floor is a commit's own cost.
    drop(open(path, Options::default()));
    let conn = Connection::open(path).unwrap_or_else(|e| panic!("raw open: {e}"));
    conn.busy_timeout(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 0;"
    ))
    .unwrap_or_else(|e| panic!("pragmas: {e}"));
    conn
}

/// Runs a cached statement: the floor prepares `BEGIN` and `COMMIT` once, as the store does, so
/// it is the best raw rusqlite does rather than a parse per transaction.
fn exec_cached(conn: &Connection, sql: &str) {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The floor: the same rows as [`append_through_store`] inserted directly, `group` per
/// transaction. Returns rows/s.
fn raw_insert(path: &Path, synchronous: &str, total: u64, group: u64) -> f64 {
    let conn = raw_connection(path, synchronous);
    let per_task = total / CONCURRENCY;
    // Interleave the streams as concurrent tasks would.
    let rows: Vec<(StreamId, u64, NewEvent)> = (0..per_task)
        .flat_map(|v| (0..CONCURRENCY).map(move |t| (stream(t), v + 1, event(t * per_task + v))))
        .collect();
    let started = Instant::now();
    for chunk in rows.chunks(group.max(1) as usize) {
        commit_rows(&conn, chunk.iter());
    }
    rows.len() as f64 / started.elapsed().as_secs_f64()
}

/// Inserts `rows` into the events table in one transaction, as the floors of raw rusqlite do.
fn commit_rows<'a>(conn: &Connection, rows: impl Iterator<Item = &'a (StreamId, u64, NewEvent)>) {
    exec_cached(conn, "BEGIN IMMEDIATE");
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO events (stream_id, version, event_id, event_type, schema_version, recorded_at, payload, metadata)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    for (s, v, e) in rows {
        insert
            .execute(params![
                s.as_str(),
                *v as i64,
                e.event_id.as_str(),
                e.event_type,
                e.schema_version,
                e.recorded_at.timestamp_micros(),
                e.payload,
                e.metadata
            ])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    drop(insert);
    exec_cached(conn, "COMMIT");
}

/// One row of the concurrent floor, and where to say it committed.
type RawJob = ((StreamId, u64, NewEvent), futures::channel::oneshot::Sender<()>);

/// The floor of 64 concurrent meetings: a raw rusqlite program with group commit, as one would
/// write it by hand for 64 concurrent writers. `CONCURRENCY` tasks on the same runtime each
/// insert the rows of their meetings (21 per meeting, one per command of the workload) one at
/// a time, each waiting until its row is committed before sending the next, as a meeting's
/// commands do; one writer thread takes every row queued, inserts them in one transaction and
/// answers them after the commit. Returns rows/s and the average rows per transaction.
fn raw_concurrent(rt: &tokio::runtime::Runtime, path: &Path, meetings: u64) -> (f64, f64) {
    let conn = raw_connection(path, "NORMAL");
    let (tx, rx) = std::sync::mpsc::channel::<RawJob>();
    let writer = std::thread::spawn(move || {
        let mut transactions = 0u64;
        let mut batch: Vec<RawJob> = Vec::new();
        while let Ok(first) = rx.recv() {
            batch.push(first);
            batch.extend(rx.try_iter());
            commit_rows(&conn, batch.iter().map(|(row, _)| row));
            transactions += 1;
            for (_, done) in batch.drain(..) {
                let _ = done.send(());
            }
        }
        transactions
    });
    let started = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..CONCURRENCY)
            .map(|t| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut m = t;
                    while m < meetings {
                        for v in 0..workload::COMMANDS {
                            let (done, committed) = futures::channel::oneshot::channel();
                            let row = (stream(m), v + 1, event(m * workload::COMMANDS + v));
                            tx.send((row, done)).unwrap_or_else(|e| panic!("send: {e}"));
                            committed.await.unwrap_or_else(|e| panic!("commit: {e}"));
                        }
                        m += CONCURRENCY;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("task: {e}"));
        }
    });
    let elapsed = started.elapsed();
    drop(tx);
    let transactions = writer.join().unwrap_or_else(|_| panic!("raw writer panicked"));
    let rows = meetings * workload::COMMANDS;
    (
        rows as f64 / elapsed.as_secs_f64(),
        rows as f64 / transactions.max(1) as f64,
    )
}

/// Fills a log with `total` events: 100-event appends over `total / 100` streams, each with an
/// index row, as the engine writes them. Returns events/s.
fn build_log(rt: &tokio::runtime::Runtime, path: &Path, total: u64) -> f64 {
    let store = open(path, Options::default());
    let appends = total / 100;
    let started = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..16u64)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut a = t;
                    while a < appends {
                        let events = (0..100).map(|i| event(a * 100 + i)).collect();
                        let index = IndexEntry {
                            stream_id: stream(a),
                            kind: "meeting".into(),
                            account_id: Name::parse("acme").unwrap_or_else(|e| panic!("{e}")),
                            owner: "alice".into(),
                            state: "ENDED".into(),
                            time: Utc.timestamp_opt(1_900_000_000, 0).single().unwrap_or_default(),
                            seq: 0,
                        };
                        store
                            .append(request(stream(a), 0, events, Some(index)))
                            .await
                            .unwrap_or_else(|e| panic!("append: {e}"));
                        a += 16;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("task: {e}"));
        }
    });
    (appends * 100) as f64 / started.elapsed().as_secs_f64()
}

fn replay_store(path: &Path) -> (f64, u64) {
    let store = open(path, Options::default());
    let started = Instant::now();
    let mut after = 0;
    let mut n = 0u64;
    loop {
        let page = block_on(store.read_all(after, PAGE)).unwrap_or_else(|e| panic!("read: {e}"));
        let Some(last) = page.last() else { break };
        after = last.position;
        n += page.len() as u64;
    }
    (n as f64 / started.elapsed().as_secs_f64(), n)
}

type RawRow = (i64, String, i64, String, String, i64, i64, String, String);

fn replay_raw(path: &Path) -> f64 {
    let conn = Connection::open(path).unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let mut after = 0i64;
    let mut n = 0u64;
    loop {
        let mut stmt = conn
            .prepare_cached(
                "SELECT position, stream_id, version, event_id, event_type, schema_version, recorded_at, payload, metadata
                 FROM events WHERE position > ?1 ORDER BY position LIMIT ?2",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let page: Vec<RawRow> = stmt
            .query_map(params![after, PAGE as i64], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })
            .and_then(|rows| rows.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        let Some(last) = page.last() else { break };
        after = last.0;
        n += page.len() as u64;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn reopen(path: &Path) -> (Duration, u64) {
    let started = Instant::now();
    let store = open(path, Options::default());
    let head = block_on(store.head_position()).unwrap_or_else(|e| panic!("{e}"));
    block_on(Engine::open(
        store,
        Arc::new(SystemClock),
        Arc::new(SystemEntropy),
        crate::engine_config(),
    ))
    .unwrap_or_else(|e| panic!("engine: {e}"));
    (started.elapsed(), head)
}

use crate::figure::{Benchmark, Figure, Mode};

const FAMILY: &str = "sqlite";

/// The SQLite store against raw rusqlite.
pub const BENCH: Benchmark = Benchmark {
    family: FAMILY,
    title: "SQLite store",
    about: "zoom-store-sqlite against raw rusqlite on the same schema and pragmas, one thread, \
grouped as the store grouped itself (the physical floor); the 64 concurrent meetings against a \
raw rusqlite program of 64 concurrent writers with its own group commit (one event row per \
command, one writer thread committing every row queued). The engine is configured as zoom-server \
runs it on SQLite, the one writer of its store (`EngineConfig::exclusive`). Appends are ~300-byte \
`participant.joined` events from 64 concurrent tasks on a 2-worker tokio runtime; replay is \
`read_all` in pages of 10,000; reopen is opening the store on a 1M-event log, reading its head \
and opening the engine. Best of three alternating rounds.",
    command: "cargo bench -p zoom-bench --bench sqlite",
    run,
};

fn run(mode: Mode) -> Vec<Figure> {
    let appends = env("ZOOM_BENCH_APPENDS", mode.pick(640, 20_000));
    let events = env("ZOOM_BENCH_EVENTS", mode.pick(10_000, 1_000_000));
    let rounds = mode.pick(1, 3);
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = |name: &str| dir.path().join(name);
    let mut figures = Vec::new();

    // A lone caller: the engine workload, the store alone, and the floor, alternating.
    let meetings = env("ZOOM_BENCH_MEETINGS", mode.pick(10, 300));
    let total = meetings * workload::COMMANDS;
    let (mut through_engine, mut through_store, mut floor, mut on_memory) = (0f64, 0f64, 0f64, 0f64);
    for round in 0..rounds {
        let path = file(&format!("seq-engine-{round}.db"));
        through_engine = through_engine.max(engine_sequential(&rt, Some(&path), meetings));
        on_memory = on_memory.max(engine_sequential(&rt, None, meetings));
        through_store = through_store.max(store_sequential(&rt, &file(&format!("seq-store-{round}.db")), total));
        floor = floor.max(raw_sequential(&file(&format!("seq-raw-{round}.db")), total));
    }
    figures.push(
        Figure::new(
            FAMILY,
            "one caller, sequential engine commands (meeting workload)",
            through_engine,
            "commands/s",
        )
        .peer("raw rusqlite one-row commits", floor)
        .at_least(0.25)
        .note(format!("{meetings} meetings of 21 commands, NORMAL")),
    );
    figures.push(
        Figure::new(
            FAMILY,
            "one caller, sequential engine commands on SQLite vs on the memory store",
            through_engine,
            "commands/s",
        )
        .peer("the same engine on the memory store", on_memory)
        .note("the share of a command's cost that is the SQLite store's"),
    );
    figures.push(
        Figure::new(
            FAMILY,
            "one caller, sequential one-event appends (store alone)",
            through_store,
            "appends/s",
        )
        .peer("raw rusqlite one-row commits", floor)
        .note(format!("{total} appends, NORMAL")),
    );

    // 64 concurrent meetings through the engine against a raw rusqlite program that groups the
    // same rows from 64 concurrent writers by itself (not as the store grouped: a store that
    // groups badly must not get a floor that groups as badly).
    let concurrent_meetings = mode.pick(64, 640);
    let (mut engine_grouped, mut raw_floor, mut group, mut raw_group, mut concurrent_memory) =
        (0f64, 0f64, 0f64, 0f64, 0f64);
    for round in 0..rounds {
        concurrent_memory = concurrent_memory.max(engine_concurrent(&rt, None, concurrent_meetings).0);
        let (rate, size) = engine_concurrent(
            &rt,
            Some(&file(&format!("conc-engine-{round}.db"))),
            concurrent_meetings,
        );
        engine_grouped = engine_grouped.max(rate);
        group += size / rounds as f64;
        let (rate, size) = raw_concurrent(&rt, &file(&format!("conc-raw-{round}.db")), concurrent_meetings);
        raw_floor = raw_floor.max(rate);
        raw_group += size / rounds as f64;
    }
    figures.push(
        Figure::new(
            FAMILY,
            "64 concurrent meetings, engine commands (meeting workload)",
            engine_grouped,
            "commands/s",
        )
        .peer(
            "raw rusqlite, 64 concurrent writers, group commit (one event row per command)",
            raw_floor,
        )
        .at_least(0.5)
        .note(format!(
            "{concurrent_meetings} meetings, 64 at a time, NORMAL; the store's average group {group:.1} \
             writes/tx, the raw program's {raw_group:.1} rows/tx"
        )),
    );
    figures.push(
        Figure::new(
            FAMILY,
            "64 concurrent meetings, engine on SQLite vs on the memory store",
            engine_grouped,
            "commands/s",
        )
        .peer("the same engine on the memory store", concurrent_memory)
        .note("the share of a command's cost that is the SQLite store's"),
    );

    // `ZOOM_BENCH_ENGINE_ONLY` stops here: the figures above are the engine workload's.
    if std::env::var_os("ZOOM_BENCH_ENGINE_ONLY").is_some() {
        return figures;
    }

    for (mode, name, total) in [
        (Synchronous::Normal, "NORMAL", appends),
        (Synchronous::Full, "FULL", (appends / 4).max(CONCURRENCY)),
    ] {
        let options = Options::default().synchronous(mode);
        // Best of alternating rounds of each, each on fresh files, so a noisy neighbour (this
        // machine is shared) hurts the store and its floor alike.
        let (mut per_command, mut raw_single, mut grouped, mut raw_grouped, mut group) = (0f64, 0f64, 0f64, 0f64, 0f64);
        for round in 0..rounds {
            let f = |kind: &str| file(&format!("{kind}-{name}-{round}.db"));
            per_command = per_command.max(append_through_store(&rt, &f("cmd"), options.clone().max_batch(1), total).0);
            raw_single = raw_single.max(raw_insert(&f("raw1"), name, total, 1));
            // The floor is grouped as this round's store grouped itself.
            let (rate, size) = append_through_store(&rt, &f("group"), options.clone(), total);
            grouped = grouped.max(rate);
            raw_grouped = raw_grouped.max(raw_insert(&f("rawg"), name, total, size.round() as u64));
            group += size / rounds as f64;
        }
        figures.push(
            Figure::new(
                FAMILY,
                format!("append, {CONCURRENCY} tasks, one tx per command, {name}"),
                per_command,
                "appends/s",
            )
            .peer("raw rusqlite, 1 row/tx", raw_single)
            .note(format!("{total} appends")),
        );
        let grouped_figure = Figure::new(
            FAMILY,
            format!("append, {CONCURRENCY} tasks, group commit, {name}"),
            grouped,
            "appends/s",
        )
        .peer(format!("raw rusqlite, {} rows/tx", group.round()), raw_grouped)
        .note(format!("{total} appends, average group {group:.1}"));
        figures.push(if name == "NORMAL" {
            grouped_figure.at_least(0.5)
        } else {
            grouped_figure
        });
    }

    let log = file("log.db");
    let built = build_log(&rt, &log, events);
    figures.push(
        Figure::new(
            FAMILY,
            "build log: 100-event appends with index rows",
            built,
            "events/s",
        )
        .note(format!("{events} events")),
    );
    let (reopened, head) = reopen(&log);
    figures.push(
        Figure::new(
            FAMILY,
            "reopen: open + head + Engine::open",
            reopened.as_secs_f64() * 1000.0,
            "ms",
        )
        .peer("budget", 2000.0)
        .at_most(1.0)
        .note(format!("{head} events")),
    );
    let (mut raw, mut replayed, mut n) = (0f64, 0f64, 0);
    for _ in 0..rounds {
        raw = raw.max(replay_raw(&log));
        let (r, count) = replay_store(&log);
        replayed = replayed.max(r);
        n = count;
    }
    figures.push(
        Figure::new(
            FAMILY,
            format!("replay: read_all, pages of {PAGE}"),
            replayed,
            "events/s",
        )
        .peer("raw rusqlite SELECT", raw)
        .note(format!("{n} events")),
    );
    figures
}

/// The plain meeting workload of issue 9 through the engine: schedule; 10 joins (redeemed at
/// the media seam with already-verified claims, the host first, waiting room and muting off);
/// 10 leaves. 21 commands per meeting.
pub(crate) mod workload {
    use std::sync::Arc;

    use zoom_core::Engine;
    use zoom_core::id::{MeetingId, Name, ParticipantId, TokenId};
    use zoom_core::meeting::{MeetingCommand, MeetingSettings, ScheduleMeeting};
    use zoom_core::principal::{Principal, Scope};
    use zoom_core::token::JoinClaims;

    /// Commands per meeting.
    pub(crate) const COMMANDS: u64 = 21;

    /// The principal: an app of account `acme` with every scope the workload needs.
    pub(crate) fn principal() -> Principal {
        let name = |s: &str| Name::parse(s).unwrap_or_else(|e| panic!("{e}"));
        Principal::app(name("acme"), name("bench"), [Scope::Admin])
    }

    fn id_bytes(meeting: u64, n: u64, kind: u8) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0] = kind;
        b[1..9].copy_from_slice(&meeting.to_be_bytes());
        b[9..].copy_from_slice(&n.to_be_bytes()[1..]);
        b
    }

    /// Runs meeting number `m`'s 21 commands, one after the other.
    pub(crate) async fn meeting(engine: &Arc<Engine>, who: &Principal, m: u64) {
        let fail = |what: &str, e: &dyn std::fmt::Display| -> ! { panic!("meeting {m}: {what}: {e}") };
        let created = engine
            .execute(
                who,
                None,
                MeetingCommand::Schedule(ScheduleMeeting {
                    topic: format!("Bench {m}"),
                    start_time: "2030-01-01T09:00:00Z".into(),
                    duration_minutes: 30,
                    timezone: None,
                    passcode: None,
                    waiting_room: Some(false),
                    settings: Some(MeetingSettings {
                        mute_upon_entry: false,
                        ..MeetingSettings::default()
                    }),
                    host_id: Some("alice".into()),
                }),
                None,
            )
            .await
            .unwrap_or_else(|e| fail("schedule", &e));
        let id: MeetingId = created.id.clone();
        let mut pids = Vec::with_capacity(10);
        for j in 0..10u64 {
            let pid = ParticipantId::from_entropy(id_bytes(m, j, 1));
            let claims = JoinClaims {
                iss: "bench".into(),
                aud: "bench".into(),
                sub: if j == 0 { "alice".into() } else { format!("user{j}") },
                iat: 0,
                nbf: 0,
                exp: i64::MAX / 2,
                jti: TokenId::from_entropy(id_bytes(m, j, 2)).as_str().to_owned(),
                mid: id.as_str().to_owned(),
                pid: pid.as_str().to_owned(),
                role: if j == 0 { "host" } else { "attendee" }.into(),
                name: format!("Participant {j}"),
            };
            engine
                .execute(who, Some(&id), MeetingCommand::Redeem { claims }, None)
                .await
                .unwrap_or_else(|e| fail("join", &e));
            pids.push(pid);
        }
        for pid in pids {
            engine
                .execute(who, Some(&id), MeetingCommand::Leave { participant_id: pid }, None)
                .await
                .unwrap_or_else(|e| fail("leave", &e));
        }
    }
}

/// One caller runs `meetings` meetings of the workload, sequentially, through the engine on a
/// fresh SQLite store (or, without a path, on the memory store: the engine's own ceiling).
/// Returns commands/s.
/// The engine as zoom-server runs it on SQLite (and on the memory store): the one writer of its
/// store, so commands decide on the cached state without a catch-up read.
fn server_engine_config() -> zoom_core::EngineConfig {
    zoom_core::EngineConfig {
        exclusive: true,
        ..crate::engine_config()
    }
}

fn engine_sequential(rt: &tokio::runtime::Runtime, path: Option<&Path>, meetings: u64) -> f64 {
    let store: Arc<dyn zoom_core::store::Store> = match path {
        Some(path) => open(path, Options::default()),
        None => Arc::new(zoom_store_memory::MemoryStore::new()),
    };
    rt.block_on(async {
        let engine = Arc::new(
            Engine::open(
                store,
                Arc::new(SystemClock),
                Arc::new(SystemEntropy),
                server_engine_config(),
            )
            .await
            .unwrap_or_else(|e| panic!("engine: {e}")),
        );
        let who = workload::principal();
        let started = Instant::now();
        for m in 0..meetings {
            workload::meeting(&engine, &who, m).await;
        }
        (meetings * workload::COMMANDS) as f64 / started.elapsed().as_secs_f64()
    })
}

/// `meetings` meetings of the workload, 64 at a time, through the engine on a fresh SQLite
/// store (or, without a path, on the memory store). Returns commands/s and the average number of
/// writes per transaction (0 on the memory store).
fn engine_concurrent(rt: &tokio::runtime::Runtime, path: Option<&Path>, meetings: u64) -> (f64, f64) {
    let sqlite = path.map(|p| open(p, Options::default()));
    let store: Arc<dyn zoom_core::store::Store> = match &sqlite {
        Some(s) => s.clone(),
        None => Arc::new(zoom_store_memory::MemoryStore::new()),
    };
    let rate = rt.block_on(async {
        let engine = Arc::new(
            Engine::open(
                store,
                Arc::new(SystemClock),
                Arc::new(SystemEntropy),
                server_engine_config(),
            )
            .await
            .unwrap_or_else(|e| panic!("engine: {e}")),
        );
        let started = Instant::now();
        let tasks: Vec<_> = (0..CONCURRENCY)
            .map(|t| {
                let engine = engine.clone();
                tokio::spawn(async move {
                    let who = workload::principal();
                    let mut m = t;
                    while m < meetings {
                        workload::meeting(&engine, &who, m).await;
                        m += CONCURRENCY;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("task: {e}"));
        }
        (meetings * workload::COMMANDS) as f64 / started.elapsed().as_secs_f64()
    });
    let group = sqlite.map_or(0.0, |s| {
        let stats = s.write_stats();
        stats.writes as f64 / stats.transactions.max(1) as f64
    });
    (rate, group)
}

/// One caller appends `total` one-event commands sequentially straight to the store (no
/// engine): the store's own share of a lone caller's command. Returns appends/s.
fn store_sequential(rt: &tokio::runtime::Runtime, path: &Path, total: u64) -> f64 {
    let store = open(path, Options::default());
    rt.block_on(async {
        let started = Instant::now();
        for v in 0..total {
            store
                .append(request(stream(v / 21), v % 21, vec![event(v)], None))
                .await
                .unwrap_or_else(|e| panic!("append: {e}"));
        }
        total as f64 / started.elapsed().as_secs_f64()
    })
}

/// The floor of a lone caller: raw rusqlite one-row commits, one after the other.
fn raw_sequential(path: &Path, total: u64) -> f64 {
    let conn = raw_connection(path, "NORMAL");
    let started = Instant::now();
    for v in 0..total {
        let row = (stream(v / 21), v % 21 + 1, event(v));
        commit_rows(&conn, std::iter::once(&row));
    }
    total as f64 / started.elapsed().as_secs_f64()
}
