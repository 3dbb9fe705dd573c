//! Every statement the store runs after opening, and the mapping between rows and store types.
//!
//! Each function takes a connection and runs on the store's writer thread (writes, inside the
//! batch's transaction and the job's savepoint) or on a reader thread (reads). Rows are checked
//! column by column: a value of the wrong type, text that is not UTF-8 or an id that does not
//! parse is [`StoreError::Corrupt`] naming the row, never a panic.

use chrono::{DateTime, Utc};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, params};
use zoom_core::event::{RecordedEvent, StreamId};
use zoom_core::id::{AccountId, EventId, Name, WebhookId};
use zoom_core::store::*;

use crate::error::{Constraint, constraint, store_error};

/// A `u64` as an SQLite integer; values past `i64::MAX` (limits like `usize::MAX`) saturate.
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// How a row failed to decode; the caller adds the row's name.
type Reason = String;

fn text<'a>(row: &'a Row<'_>, i: usize, name: &str) -> Result<&'a str, Reason> {
    match row.get_ref(i).map_err(|e| e.to_string())? {
        ValueRef::Text(b) => std::str::from_utf8(b).map_err(|_| format!("{name} is not UTF-8")),
        ValueRef::Null => Err(format!("{name} is NULL")),
        _ => Err(format!("{name} is not text")),
    }
}

fn opt_text<'a>(row: &'a Row<'_>, i: usize, name: &str) -> Result<Option<&'a str>, Reason> {
    match row.get_ref(i).map_err(|e| e.to_string())? {
        ValueRef::Null => Ok(None),
        _ => text(row, i, name).map(Some),
    }
}

fn integer(row: &Row<'_>, i: usize, name: &str) -> Result<i64, Reason> {
    match row.get_ref(i).map_err(|e| e.to_string())? {
        ValueRef::Integer(v) => Ok(v),
        ValueRef::Null => Err(format!("{name} is NULL")),
        _ => Err(format!("{name} is not an integer")),
    }
}

fn opt_integer(row: &Row<'_>, i: usize, name: &str) -> Result<Option<i64>, Reason> {
    match row.get_ref(i).map_err(|e| e.to_string())? {
        ValueRef::Null => Ok(None),
        _ => integer(row, i, name).map(Some),
    }
}

fn unsigned<T: TryFrom<i64>>(row: &Row<'_>, i: usize, name: &str) -> Result<T, Reason> {
    let v = integer(row, i, name)?;
    T::try_from(v).map_err(|_| format!("{name} {v} is out of range"))
}

fn time(row: &Row<'_>, i: usize, name: &str) -> Result<DateTime<Utc>, Reason> {
    let v = integer(row, i, name)?;
    DateTime::from_timestamp_micros(v).ok_or_else(|| format!("{name} {v} is not a time"))
}

fn opt_time(row: &Row<'_>, i: usize, name: &str) -> Result<Option<DateTime<Utc>>, Reason> {
    match opt_integer(row, i, name)? {
        None => Ok(None),
        Some(v) => DateTime::from_timestamp_micros(v)
            .map(Some)
            .ok_or_else(|| format!("{name} {v} is not a time")),
    }
}

/// A loose rendering of a column for naming a row whose column may itself be damaged.
fn lossy(row: &Row<'_>, i: usize) -> String {
    match row.get_ref(i) {
        Ok(ValueRef::Text(b)) => String::from_utf8_lossy(b).chars().take(128).collect(),
        Ok(ValueRef::Integer(v)) => v.to_string(),
        Ok(ValueRef::Real(v)) => v.to_string(),
        Ok(ValueRef::Null) => "NULL".into(),
        Ok(ValueRef::Blob(_)) => "<blob>".into(),
        Err(_) => "?".into(),
    }
}

fn corrupt(row: String, reason: Reason) -> StoreError {
    StoreError::Corrupt { row, reason }
}

const EVENT_COLUMNS: &str =
    "position, stream_id, version, event_id, event_type, schema_version, recorded_at, payload, metadata";

fn event_row(row: &Row<'_>) -> Result<RecordedEvent, StoreError> {
    let decode = || -> Result<RecordedEvent, Reason> {
        Ok(RecordedEvent {
            position: unsigned(row, 0, "position")?,
            stream_id: StreamId::new(text(row, 1, "stream_id")?)?,
            version: unsigned(row, 2, "version")?,
            event_id: EventId::parse(text(row, 3, "event_id")?).map_err(|e| e.to_string())?,
            event_type: text(row, 4, "event_type")?.to_owned(),
            schema_version: unsigned(row, 5, "schema_version")?,
            recorded_at: time(row, 6, "recorded_at")?,
            payload: text(row, 7, "payload")?.to_owned(),
            metadata: text(row, 8, "metadata")?.to_owned(),
        })
    };
    decode().map_err(|reason| {
        corrupt(
            format!("{}@{} (position {})", lossy(row, 1), lossy(row, 2), lossy(row, 0)),
            reason,
        )
    })
}

/// Collects event rows until `limit`. A corrupt row ends the page just before it, so everything
/// in front of it stays readable; a page that would start with it is the error naming it.
fn collect_events(mut rows: rusqlite::Rows<'_>, what: &str) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut out = Vec::new();
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => return Ok(out),
            Err(e) if out.is_empty() => return Err(store_error(what, &e)),
            Err(_) => return Ok(out),
        };
        match event_row(row) {
            Ok(event) => out.push(event),
            Err(e) if out.is_empty() => return Err(e),
            Err(_) => return Ok(out),
        }
    }
}

/// The current version of a stream (0 when it does not exist).
pub(crate) fn stream_version(conn: &Connection, stream: &StreamId) -> Result<u64, StoreError> {
    let what = || format!("version of {stream}");
    let v: i64 = conn
        .prepare_cached("SELECT coalesce(max(version), 0) FROM events WHERE stream_id = ?1")
        .and_then(|mut s| s.query_row([stream.as_str()], |r| r.get(0)))
        .map_err(|e| store_error(&what(), &e))?;
    u64::try_from(v).map_err(|_| corrupt(what(), format!("negative version {v}")))
}

/// The newest position (0 for an empty log).
pub(crate) fn head_position(conn: &Connection) -> Result<u64, StoreError> {
    let v: i64 = conn
        .prepare_cached("SELECT coalesce(max(position), 0) FROM events")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(|e| store_error("head position", &e))?;
    u64::try_from(v).map_err(|_| corrupt("head position".into(), format!("negative position {v}")))
}

/// Writes everything one command produced. Runs inside the job's savepoint: on `Err` the writer
/// rolls it back, so a failure here never leaves part of the request behind.
pub(crate) fn append(conn: &Connection, request: AppendRequest) -> Result<Appended, StoreError> {
    let AppendRequest {
        stream_id,
        expected_version,
        events,
        index,
        snapshot,
        links,
        idempotency,
    } = request;
    if events.is_empty() && idempotency.is_none() {
        return Err(StoreError::Invalid(
            "an append needs events or an idempotency record".into(),
        ));
    }
    let what = || format!("append to {stream_id}");
    let err = |e: rusqlite::Error| store_error(&what(), &e);
    let current = stream_version(conn, &stream_id)?;
    if current != expected_version {
        return Err(StoreError::Conflict {
            stream_id: stream_id.to_string(),
            expected: expected_version,
            actual: current,
        });
    }
    if let Some(record) = idempotency {
        insert_idempotency(conn, &record)?;
    }
    let mut version = current;
    let mut first_position = 0u64;
    let mut last_position = 0u64;
    if !events.is_empty() {
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO events (stream_id, version, event_id, event_type, schema_version, recorded_at, payload, metadata)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(err)?;
        for e in &events {
            version += 1;
            insert
                .execute(params![
                    stream_id.as_str(),
                    int(version),
                    e.event_id.as_str(),
                    e.event_type,
                    e.schema_version,
                    micros(e.recorded_at),
                    e.payload,
                    e.metadata,
                ])
                .map_err(|x| match constraint(&x) {
                    // The events table has two unique keys, (stream, version) and the event
                    // id; the version was checked above under the write lock, so a unique
                    // violation is the event id.
                    Some(Constraint::Unique) => StoreError::Invalid(format!("event {} is already stored", e.event_id)),
                    _ => err(x),
                })?;
            last_position = u64::try_from(conn.last_insert_rowid()).unwrap_or(0);
            if first_position == 0 {
                first_position = last_position;
            }
        }
    }
    if let Some(entry) = index {
        if first_position == 0 {
            first_position = head_position(conn)? + 1;
        }
        // Most commands (a join, a leave) leave the list row as it was: the `WHERE` skips the
        // update then, so the commit writes no page of the index table or its indexes.
        conn.prepare_cached(
            "INSERT INTO stream_index (stream_id, kind, account_id, owner, state, time, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (stream_id) DO UPDATE SET
                kind = excluded.kind, account_id = excluded.account_id, owner = excluded.owner,
                state = excluded.state, time = excluded.time
             WHERE kind IS NOT excluded.kind OR account_id IS NOT excluded.account_id
                OR owner IS NOT excluded.owner OR state IS NOT excluded.state OR time IS NOT excluded.time",
        )
        .and_then(|mut s| {
            s.execute(params![
                stream_id.as_str(),
                entry.kind,
                entry.account_id.as_str(),
                entry.owner,
                entry.state,
                micros(entry.time),
                int(first_position),
            ])
        })
        .map_err(err)?;
    }
    if let Some(s) = snapshot {
        conn.prepare_cached(
            "INSERT INTO snapshots (stream_id, version, state, format) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (stream_id) DO UPDATE SET
                version = excluded.version, state = excluded.state, format = excluded.format",
        )
        .and_then(|mut st| st.execute(params![stream_id.as_str(), int(s.version), s.state, s.format]))
        .map_err(err)?;
    }
    if !links.is_empty() {
        let mut insert = conn
            .prepare_cached("INSERT INTO links (key, stream_id) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING")
            .map_err(err)?;
        for key in &links {
            insert.execute(params![key, stream_id.as_str()]).map_err(err)?;
        }
    }
    Ok(Appended { version, last_position })
}

fn insert_idempotency(conn: &Connection, record: &IdempotencyRecord) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO idempotency (key, fingerprint, reply, created_at) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut s| {
            s.execute(params![
                record.key,
                record.fingerprint,
                record.reply,
                micros(record.created_at)
            ])
        })
        .map(|_| ())
        .map_err(|e| match constraint(&e) {
            Some(Constraint::Unique) => StoreError::DuplicateIdempotencyKey,
            _ => store_error("idempotency record", &e),
        })
}

/// Stores an idempotency record for a request that appended nothing.
pub(crate) fn put_idempotency(conn: &Connection, record: &IdempotencyRecord) -> Result<(), StoreError> {
    insert_idempotency(conn, record)
}

/// Deletes the idempotency records created before `before`.
pub(crate) fn prune_idempotency(conn: &Connection, before: DateTime<Utc>) -> Result<u64, StoreError> {
    conn.prepare_cached("DELETE FROM idempotency WHERE created_at < ?1")
        .and_then(|mut s| s.execute([micros(before)]))
        .map(|n| n as u64)
        .map_err(|e| store_error("prune idempotency records", &e))
}

/// Up to `limit` events of a stream from `from_version`, in version order.
pub(crate) fn read_stream(
    conn: &Connection,
    stream: &StreamId,
    from_version: u64,
    limit: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let what = format!("events of {stream} from version {from_version}");
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = ?1 AND version >= ?2 ORDER BY version LIMIT ?3"
        ))
        .map_err(|e| store_error(&what, &e))?;
    let rows = stmt
        .query(params![stream.as_str(), int(from_version), int(limit as u64)])
        .map_err(|e| store_error(&what, &e))?;
    collect_events(rows, &what)
}

/// Up to `limit` events after `after_position`, in position order.
pub(crate) fn read_all(conn: &Connection, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
    let what = format!("events after position {after_position}");
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE position > ?1 ORDER BY position LIMIT ?2"
        ))
        .map_err(|e| store_error(&what, &e))?;
    let rows = stmt
        .query(params![int(after_position), int(limit as u64)])
        .map_err(|e| store_error(&what, &e))?;
    collect_events(rows, &what)
}

/// The snapshot of a stream, if any.
pub(crate) fn load_snapshot(conn: &Connection, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
    let what = format!("snapshot of {stream}");
    let mut stmt = conn
        .prepare_cached("SELECT version, state, format FROM snapshots WHERE stream_id = ?1")
        .map_err(|e| store_error(&what, &e))?;
    let mut rows = stmt.query([stream.as_str()]).map_err(|e| store_error(&what, &e))?;
    let Some(row) = rows.next().map_err(|e| store_error(&what, &e))? else {
        return Ok(None);
    };
    let decode = || -> Result<Snapshot, Reason> {
        Ok(Snapshot {
            stream_id: stream.clone(),
            version: unsigned(row, 0, "version")?,
            state: text(row, 1, "state")?.to_owned(),
            format: unsigned(row, 2, "format")?,
        })
    };
    decode().map(Some).map_err(|reason| corrupt(what, reason))
}

/// Index rows matching a query, in `seq` order.
pub(crate) fn query_index(conn: &Connection, q: &IndexQuery) -> Result<Vec<IndexEntry>, StoreError> {
    let what = format!("{} index", q.kind);
    let mut sql = String::from(
        "SELECT stream_id, kind, account_id, owner, state, time, seq FROM stream_index WHERE kind = ?1 AND seq > ?2",
    );
    let mut args: Vec<Value> = vec![Value::Text(q.kind.clone()), Value::Integer(int(q.after_seq))];
    let mut filter = |column: &str, op: &str, value: Value| {
        args.push(value);
        sql.push_str(&format!(" AND {column} {op} ?{}", args.len()));
    };
    if let Some(a) = &q.account_id {
        filter("account_id", "=", Value::Text(a.as_str().to_owned()));
    }
    if let Some(o) = &q.owner {
        filter("owner", "=", Value::Text(o.clone()));
    }
    if let Some(s) = &q.state {
        filter("state", "=", Value::Text(s.clone()));
    }
    if let Some(f) = q.from {
        filter("time", ">=", Value::Integer(micros(f)));
    }
    if let Some(t) = q.to {
        filter("time", "<", Value::Integer(micros(t)));
    }
    args.push(Value::Integer(int(q.limit as u64)));
    sql.push_str(&format!(" ORDER BY seq LIMIT ?{}", args.len()));
    let mut stmt = conn.prepare_cached(&sql).map_err(|e| store_error(&what, &e))?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(args))
        .map_err(|e| store_error(&what, &e))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| store_error(&what, &e))? {
        let decode = || -> Result<IndexEntry, Reason> {
            Ok(IndexEntry {
                stream_id: StreamId::new(text(row, 0, "stream_id")?)?,
                kind: text(row, 1, "kind")?.to_owned(),
                account_id: AccountId::parse(text(row, 2, "account_id")?).map_err(|e| e.to_string())?,
                owner: text(row, 3, "owner")?.to_owned(),
                state: text(row, 4, "state")?.to_owned(),
                time: time(row, 5, "time")?,
                seq: unsigned(row, 6, "seq")?,
            })
        };
        out.push(decode().map_err(|reason| corrupt(format!("index row {}", lossy(row, 0)), reason))?);
    }
    Ok(out)
}

/// The stream a secondary key links to.
pub(crate) fn resolve_link(conn: &Connection, key: &str) -> Result<Option<StreamId>, StoreError> {
    let what = format!("link {key}");
    let stream: Option<String> = conn
        .prepare_cached("SELECT stream_id FROM links WHERE key = ?1")
        .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
        .map_err(|e| store_error(&what, &e))?;
    stream
        .map(StreamId::new)
        .transpose()
        .map_err(|reason| corrupt(what, reason))
}

/// The idempotency record under `key`.
pub(crate) fn get_idempotency(conn: &Connection, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
    let what = format!("idempotency record {key}");
    let mut stmt = conn
        .prepare_cached("SELECT fingerprint, reply, created_at FROM idempotency WHERE key = ?1")
        .map_err(|e| store_error(&what, &e))?;
    let mut rows = stmt.query([key]).map_err(|e| store_error(&what, &e))?;
    let Some(row) = rows.next().map_err(|e| store_error(&what, &e))? else {
        return Ok(None);
    };
    let decode = || -> Result<IdempotencyRecord, Reason> {
        Ok(IdempotencyRecord {
            key: key.to_owned(),
            fingerprint: text(row, 0, "fingerprint")?.to_owned(),
            reply: text(row, 1, "reply")?.to_owned(),
            created_at: time(row, 2, "created_at")?,
        })
    };
    decode().map(Some).map_err(|reason| corrupt(what, reason))
}

/// A consumer's checkpoint (0 initially).
pub(crate) fn checkpoint(conn: &Connection, consumer: &str) -> Result<u64, StoreError> {
    let what = format!("checkpoint {consumer}");
    let v: Option<i64> = conn
        .prepare_cached("SELECT position FROM checkpoints WHERE consumer = ?1")
        .and_then(|mut s| s.query_row([consumer], |r| r.get(0)).optional())
        .map_err(|e| store_error(&what, &e))?;
    let v = v.unwrap_or(0);
    u64::try_from(v).map_err(|_| corrupt(what, format!("negative position {v}")))
}

/// Inserts new deliveries and moves the checkpoint forward, in the caller's transaction.
pub(crate) fn enqueue(
    conn: &Connection,
    consumer: &str,
    position: u64,
    deliveries: &[NewDelivery],
) -> Result<(), StoreError> {
    let err = |e: rusqlite::Error| store_error("enqueue deliveries", &e);
    if !deliveries.is_empty() {
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO deliveries (subscription_id, account_id, event_id, event_type, position, body, attempts, state, next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 'pending', ?7, ?7)
                 ON CONFLICT (subscription_id, event_id) DO NOTHING",
            )
            .map_err(err)?;
        for d in deliveries {
            insert
                .execute(params![
                    d.subscription_id.as_str(),
                    d.account_id.as_str(),
                    d.event_id.as_str(),
                    d.event_type,
                    int(d.position),
                    d.body,
                    micros(d.next_attempt_at),
                ])
                .map_err(err)?;
        }
    }
    conn.prepare_cached(
        "INSERT INTO checkpoints (consumer, position) VALUES (?1, ?2)
         ON CONFLICT (consumer) DO UPDATE SET position = max(position, excluded.position)",
    )
    .and_then(|mut s| s.execute(params![consumer, int(position)]))
    .map_err(err)?;
    Ok(())
}

const DELIVERY_COLUMNS: &str = "id, subscription_id, account_id, event_id, event_type, position, body, attempts, state, next_attempt_at, created_at";

fn delivery_row(row: &Row<'_>) -> Result<Delivery, StoreError> {
    let decode = || -> Result<Delivery, Reason> {
        let state = text(row, 8, "state")?;
        Ok(Delivery {
            id: unsigned(row, 0, "id")?,
            subscription_id: WebhookId::parse(text(row, 1, "subscription_id")?).map_err(|e| e.to_string())?,
            account_id: Name::parse(text(row, 2, "account_id")?).map_err(|e| e.to_string())?,
            event_id: EventId::parse(text(row, 3, "event_id")?).map_err(|e| e.to_string())?,
            event_type: text(row, 4, "event_type")?.to_owned(),
            position: unsigned(row, 5, "position")?,
            body: text(row, 6, "body")?.to_owned(),
            attempts: unsigned(row, 7, "attempts")?,
            state: DeliveryState::parse(state).ok_or_else(|| format!("unknown state {state:?}"))?,
            next_attempt_at: opt_time(row, 9, "next_attempt_at")?,
            created_at: time(row, 10, "created_at")?,
        })
    };
    decode().map_err(|reason| corrupt(format!("delivery {}", lossy(row, 0)), reason))
}

/// Pending deliveries due at `now`, earliest first.
pub(crate) fn due(conn: &Connection, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
    let what = "due deliveries";
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries
             WHERE state = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2"
        ))
        .map_err(|e| store_error(what, &e))?;
    let mut rows = stmt
        .query(params![micros(now), int(limit as u64)])
        .map_err(|e| store_error(what, &e))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| store_error(what, &e))? {
        out.push(delivery_row(row)?);
    }
    Ok(out)
}

/// When the earliest pending delivery is due.
pub(crate) fn next_due(conn: &Connection) -> Result<Option<DateTime<Utc>>, StoreError> {
    let what = "next due delivery";
    let v: Option<i64> = conn
        .prepare_cached("SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(|e| store_error(what, &e))?;
    v.map(|v| DateTime::from_timestamp_micros(v).ok_or_else(|| corrupt(what.into(), format!("{v} is not a time"))))
        .transpose()
}

/// Records an attempt and the delivery's new state.
pub(crate) fn record_attempt(
    conn: &Connection,
    a: &DeliveryAttempt,
    state: DeliveryState,
    next_attempt_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let what = format!("attempt on delivery {}", a.delivery_id);
    let err = |e: rusqlite::Error| store_error(&what, &e);
    let changed = conn
        .prepare_cached("UPDATE deliveries SET attempts = ?2, state = ?3, next_attempt_at = ?4 WHERE id = ?1")
        .and_then(|mut s| {
            s.execute(params![
                int(a.delivery_id),
                a.attempt,
                state.as_str(),
                next_attempt_at.map(micros)
            ])
        })
        .map_err(err)?;
    if changed == 0 {
        return Err(StoreError::Invalid(format!("no delivery {}", a.delivery_id)));
    }
    conn.prepare_cached(
        "INSERT INTO delivery_attempts (delivery_id, subscription_id, event_id, event_type, attempt, attempted_at, status_code, latency_ms, error, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![
            int(a.delivery_id),
            a.subscription_id.as_str(),
            a.event_id.as_str(),
            a.event_type,
            a.attempt,
            micros(a.attempted_at),
            a.status_code,
            int(a.latency_ms),
            a.error,
            a.next_attempt_at.map(micros),
        ])
    })
    .map_err(err)?;
    Ok(())
}

/// A subscription's attempts, newest first.
pub(crate) fn attempts(
    conn: &Connection,
    subscription: &WebhookId,
    before: Option<u64>,
    limit: usize,
) -> Result<Vec<(u64, DeliveryAttempt)>, StoreError> {
    let what = format!("attempts of {subscription}");
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, delivery_id, event_id, event_type, attempt, attempted_at, status_code, latency_ms, error, next_attempt_at
             FROM delivery_attempts WHERE subscription_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
        )
        .map_err(|e| store_error(&what, &e))?;
    let mut rows = stmt
        .query(params![
            subscription.as_str(),
            int(before.unwrap_or(u64::MAX)),
            int(limit as u64)
        ])
        .map_err(|e| store_error(&what, &e))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| store_error(&what, &e))? {
        let decode = || -> Result<(u64, DeliveryAttempt), Reason> {
            Ok((
                unsigned(row, 0, "seq")?,
                DeliveryAttempt {
                    delivery_id: unsigned(row, 1, "delivery_id")?,
                    subscription_id: subscription.clone(),
                    event_id: EventId::parse(text(row, 2, "event_id")?).map_err(|e| e.to_string())?,
                    event_type: text(row, 3, "event_type")?.to_owned(),
                    attempt: unsigned(row, 4, "attempt")?,
                    attempted_at: time(row, 5, "attempted_at")?,
                    status_code: opt_integer(row, 6, "status_code")?
                        .map(|v| u16::try_from(v).map_err(|_| format!("status_code {v} is out of range")))
                        .transpose()?,
                    latency_ms: unsigned(row, 7, "latency_ms")?,
                    error: opt_text(row, 8, "error")?.map(str::to_owned),
                    next_attempt_at: opt_time(row, 9, "next_attempt_at")?,
                },
            ))
        };
        out.push(decode().map_err(|reason| corrupt(format!("delivery attempt {}", lossy(row, 0)), reason))?);
    }
    Ok(out)
}

/// A delivery by id.
pub(crate) fn delivery(conn: &Connection, id: u64) -> Result<Option<Delivery>, StoreError> {
    let what = format!("delivery {id}");
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?1"))
        .map_err(|e| store_error(&what, &e))?;
    let mut rows = stmt.query([int(id)]).map_err(|e| store_error(&what, &e))?;
    match rows.next().map_err(|e| store_error(&what, &e))? {
        Some(row) => delivery_row(row).map(Some),
        None => Ok(None),
    }
}

/// Makes a subscription's deliveries in a position range pending again.
pub(crate) fn requeue(
    conn: &Connection,
    subscription: &WebhookId,
    from_position: u64,
    to_position: u64,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    conn.prepare_cached(
        "UPDATE deliveries SET state = 'pending', next_attempt_at = ?4
         WHERE subscription_id = ?1 AND position BETWEEN ?2 AND ?3",
    )
    .and_then(|mut s| {
        s.execute(params![
            subscription.as_str(),
            int(from_position),
            int(to_position),
            micros(at)
        ])
    })
    .map(|n| n as u64)
    .map_err(|e| store_error(&format!("requeue deliveries of {subscription}"), &e))
}

/// Deletes attempt rows older than `before`.
pub(crate) fn prune_attempts(conn: &Connection, before: DateTime<Utc>) -> Result<u64, StoreError> {
    conn.prepare_cached("DELETE FROM delivery_attempts WHERE attempted_at < ?1")
        .and_then(|mut s| s.execute([micros(before)]))
        .map(|n| n as u64)
        .map_err(|e| store_error("prune attempts", &e))
}

/// Applies the per-connection settings. `journal_mode` is persistent and set once by the writer
/// before migrating; everything here is per connection.
pub(crate) fn configure(conn: &Connection, options: &crate::Options, reader: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(options.busy_timeout)?;
    conn.pragma_update(None, "synchronous", options.synchronous.as_str())?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Negative: a size in KiB rather than pages.
    let cache = if reader {
        options.reader_cache_kib
    } else {
        options.writer_cache_kib
    };
    conn.pragma_update(None, "cache_size", -i64::from(cache))?;
    if reader {
        // Readers can never write, even by a bug: writes go through the one writer thread.
        conn.pragma_update(None, "query_only", "ON")?;
    } else {
        // Commits never checkpoint: the checkpointer thread does, beside the writer.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    }
    // The query planner stability guarantee: a plan never depends on a bound value. Without it
    // SQLite (3.47 on) reads a bound `LIMIT ?` while planning and marks the statement to be
    // re-prepared whenever that parameter is bound again, so every cached `read_stream` (the
    // read of every command) was parsed and planned anew: a fifth of a busy store's CPU in the
    // profile of issue 9. No statement of this store has a plan that a value would improve.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Switches the file to write-ahead logging (persistent in the file). Returns the mode SQLite
/// reports, which is not `wal` for a database it cannot put in WAL mode.
pub(crate) fn enable_wal(conn: &Connection) -> rusqlite::Result<String> {
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cached statement with a bound `LIMIT` is prepared once: binding the limit again (every
    /// command reads its stream's tail with it) does not make SQLite parse and plan it anew.
    #[test]
    fn a_bound_limit_does_not_reprepare_the_read() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("zoom.db");
        drop(crate::SqliteStore::open(&path).unwrap_or_else(|e| panic!("{e}")));
        let conn = Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        configure(&conn, &crate::Options::default(), true).unwrap_or_else(|e| panic!("{e}"));
        let stream = StreamId::new("mtg_a").unwrap_or_else(|e| panic!("{e}"));
        for (from, limit) in [(1, 1000), (2, 1000), (3, 10), (1, 1000)] {
            assert_eq!(read_stream(&conn, &stream, from, limit).map(|e| e.len()), Ok(0));
        }
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = ?1 AND version >= ?2 ORDER BY version LIMIT ?3"
        );
        let stmt = conn.prepare_cached(&sql).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}
