//! Every statement the store runs after connecting, and the mapping between rows and store
//! types.
//!
//! Rows are checked column by column: NULL where a value must be, a time PostgreSQL holds but
//! chrono cannot (`infinity`), a negative count or an id that does not parse is
//! [`StoreError::Corrupt`] naming the row, never a panic.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use zoom_core::event::{RecordedEvent, StreamId};
use zoom_core::id::{AccountId, EventId, Name, WebhookId};
use zoom_core::store::*;

use crate::error::{store_error, unique_violation};

/// A `u64` as a PostgreSQL BIGINT; values past `i64::MAX` (limits like `usize::MAX`) saturate.
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// How a row failed to decode; the caller adds the row's name.
type Reason = String;

type Param<'a> = &'a (dyn ToSql + Sync);

fn opt_text(row: &Row, i: usize, name: &str) -> Result<Option<String>, Reason> {
    row.try_get::<_, Option<String>>(i).map_err(|e| format!("{name}: {e}"))
}

fn text(row: &Row, i: usize, name: &str) -> Result<String, Reason> {
    opt_text(row, i, name)?.ok_or_else(|| format!("{name} is NULL"))
}

fn opt_integer(row: &Row, i: usize, name: &str) -> Result<Option<i64>, Reason> {
    row.try_get::<_, Option<i64>>(i).map_err(|e| format!("{name}: {e}"))
}

fn unsigned<T: TryFrom<i64>>(row: &Row, i: usize, name: &str) -> Result<T, Reason> {
    let v = opt_integer(row, i, name)?.ok_or_else(|| format!("{name} is NULL"))?;
    T::try_from(v).map_err(|_| format!("{name} {v} is out of range"))
}

fn opt_time(row: &Row, i: usize, name: &str) -> Result<Option<DateTime<Utc>>, Reason> {
    row.try_get::<_, Option<DateTime<Utc>>>(i)
        .map_err(|e| format!("{name} is not a time: {e}"))
}

fn time(row: &Row, i: usize, name: &str) -> Result<DateTime<Utc>, Reason> {
    opt_time(row, i, name)?.ok_or_else(|| format!("{name} is NULL"))
}

/// A loose rendering of a column for naming a row whose column may itself be damaged.
fn lossy(row: &Row, i: usize) -> String {
    if let Ok(v) = row.try_get::<_, Option<String>>(i) {
        return v.map_or_else(|| "NULL".into(), |s| s.chars().take(128).collect());
    }
    match row.try_get::<_, Option<i64>>(i) {
        Ok(Some(v)) => v.to_string(),
        Ok(None) => "NULL".into(),
        Err(_) => "?".into(),
    }
}

fn corrupt(row: String, reason: Reason) -> StoreError {
    StoreError::Corrupt { row, reason }
}

async fn query<C: GenericClient>(c: &C, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.query(&stmt, params).await
}

async fn query_opt<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[Param<'_>],
) -> Result<Option<Row>, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.query_opt(&stmt, params).await
}

async fn execute<C: GenericClient>(c: &C, sql: &str, params: &[Param<'_>]) -> Result<u64, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.execute(&stmt, params).await
}

const EVENT_COLUMNS: &str =
    "position, stream_id, version, event_id, event_type, schema_version, recorded_at, payload, metadata";

fn event_row(row: &Row) -> Result<RecordedEvent, StoreError> {
    let decode = || -> Result<RecordedEvent, Reason> {
        Ok(RecordedEvent {
            position: unsigned(row, 0, "position")?,
            stream_id: StreamId::new(text(row, 1, "stream_id")?)?,
            version: unsigned(row, 2, "version")?,
            event_id: EventId::parse(&text(row, 3, "event_id")?).map_err(|e| e.to_string())?,
            event_type: text(row, 4, "event_type")?,
            schema_version: unsigned(row, 5, "schema_version")?,
            recorded_at: time(row, 6, "recorded_at")?,
            payload: text(row, 7, "payload")?,
            metadata: text(row, 8, "metadata")?,
        })
    };
    decode().map_err(|reason| {
        corrupt(
            format!("{}@{} (position {})", lossy(row, 1), lossy(row, 2), lossy(row, 0)),
            reason,
        )
    })
}

/// Decodes event rows in order. A corrupt row ends the page just before it, so everything in
/// front of it stays readable; a page that would start with it is the error naming it.
fn collect_events(rows: &[Row]) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        match event_row(row) {
            Ok(event) => out.push(event),
            Err(e) if out.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    Ok(out)
}

/// The current version of a stream (0 when it does not exist).
pub(crate) async fn stream_version<C: GenericClient>(c: &C, stream: &StreamId) -> Result<u64, StoreError> {
    let what = || format!("version of {stream}");
    let rows = query(
        c,
        "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1",
        &[&stream.as_str()],
    )
    .await
    .map_err(|e| store_error(&what(), &e))?;
    let v: i64 = rows
        .first()
        .and_then(|r| r.try_get(0).ok())
        .ok_or_else(|| corrupt(what(), "no answer".into()))?;
    u64::try_from(v).map_err(|_| corrupt(what(), format!("negative version {v}")))
}

/// The newest committed position (0 for an empty log): the head row.
pub(crate) async fn head_position<C: GenericClient>(c: &C) -> Result<u64, StoreError> {
    let what = "head position";
    let row = query_opt(c, "SELECT position FROM head WHERE id = 1", &[])
        .await
        .map_err(|e| store_error(what, &e))?
        .ok_or_else(|| corrupt("head row".into(), "the head row is missing".into()))?;
    unsigned(&row, 0, "position").map_err(|reason| corrupt("head row".into(), reason))
}

/// Takes `n` positions from the head row and inserts the events under them, in one statement.
/// The head row stays locked until the transaction ends, which is what orders positions by
/// commit (see the migration's comment on `head`).
const INSERT_EVENTS: &str = "
WITH h AS (UPDATE head SET position = position + $1 WHERE id = 1 RETURNING position),
ins AS (
    INSERT INTO events (position, stream_id, version, event_id, event_type, schema_version, recorded_at, payload, metadata)
    SELECT h.position - $1 + e.ord, $2, $3 + e.ord, e.event_id, e.event_type, e.schema_version, e.recorded_at, e.payload, e.metadata
    FROM h, unnest($4::text[], $5::text[], $6::bigint[], $7::timestamptz[], $8::text[], $9::text[])
         WITH ORDINALITY AS e(event_id, event_type, schema_version, recorded_at, payload, metadata, ord)
    RETURNING position
),
last AS (SELECT max(position) AS position FROM ins)
-- Told to every LISTEN of the channel when (and only if) the transaction commits, in commit
-- order: how the other instances' stream hubs and webhook workers learn of it at once.
SELECT last.position, pg_notify('zoom_log', current_schema() || ' ' || last.position::text) FROM last";

/// Writes everything one command produced, in one transaction. Row locks are taken in one
/// global order (idempotency key, snapshot, links sorted by key, then the head row, then the
/// events and the index row), so two appends never deadlock, and nothing another uncommitted
/// append could hold is touched after the head row.
pub(crate) async fn append(
    client: &mut deadpool_postgres::Object,
    request: AppendRequest,
) -> Result<Appended, StoreError> {
    let AppendRequest {
        stream_id,
        expected_version,
        events,
        index,
        snapshot,
        mut links,
        idempotency,
    } = request;
    if events.is_empty() && idempotency.is_none() {
        return Err(StoreError::Invalid(
            "an append needs events or an idempotency record".into(),
        ));
    }
    let what = format!("append to {stream_id}");
    let err = |e: tokio_postgres::Error| store_error(&what, &e);
    let tx = client.transaction().await.map_err(err)?;
    let current = stream_version(&tx, &stream_id).await?;
    if current != expected_version {
        return Err(StoreError::Conflict {
            stream_id: stream_id.to_string(),
            expected: expected_version,
            actual: current,
        });
    }
    if let Some(record) = idempotency {
        insert_idempotency(&tx, &record).await?;
    }
    if let Some(s) = snapshot {
        execute(
            &tx,
            "INSERT INTO snapshots (stream_id, version, state, format) VALUES ($1, $2, $3, $4)
             ON CONFLICT (stream_id) DO UPDATE SET
                version = excluded.version, state = excluded.state, format = excluded.format",
            &[&stream_id.as_str(), &int(s.version), &s.state, &i64::from(s.format)],
        )
        .await
        .map_err(err)?;
    }
    if !links.is_empty() {
        links.sort();
        links.dedup();
        execute(
            &tx,
            "INSERT INTO links (key, stream_id) SELECT k, $2 FROM unnest($1::text[]) AS k ORDER BY k
             ON CONFLICT (key) DO NOTHING",
            &[&links, &stream_id.as_str()],
        )
        .await
        .map_err(err)?;
    }
    let mut version = current;
    let mut last_position = 0u64;
    let mut first_position = 0u64;
    if !events.is_empty() {
        let n = events.len() as u64;
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        let schema_versions: Vec<i64> = events.iter().map(|e| i64::from(e.schema_version)).collect();
        let recorded: Vec<DateTime<Utc>> = events.iter().map(|e| e.recorded_at).collect();
        let payloads: Vec<&str> = events.iter().map(|e| e.payload.as_str()).collect();
        let metadata: Vec<&str> = events.iter().map(|e| e.metadata.as_str()).collect();
        let inserted = query_opt(
            &tx,
            INSERT_EVENTS,
            &[
                &int(n),
                &stream_id.as_str(),
                &int(current),
                &ids,
                &types,
                &schema_versions,
                &recorded,
                &payloads,
                &metadata,
            ],
        )
        .await;
        let row = match inserted {
            Ok(row) => row,
            Err(e) => {
                let constraint = unique_violation(&e).map(str::to_owned);
                drop(tx);
                return Err(match constraint.as_deref() {
                    // Another append took this version after our check: a lost race.
                    Some("events_stream_version") => StoreError::Conflict {
                        stream_id: stream_id.to_string(),
                        expected: expected_version,
                        actual: stream_version(&*client, &stream_id).await?,
                    },
                    Some("events_event_id") => StoreError::Invalid(format!(
                        "an event of this append is already stored: {}",
                        crate::error::detail(&e)
                    )),
                    _ => err(e),
                });
            }
        };
        let last: Option<i64> = row.and_then(|r| r.try_get(0).ok());
        let last = last.ok_or_else(|| corrupt("head row".into(), "the head row is missing".into()))?;
        last_position = u64::try_from(last).map_err(|_| corrupt("head row".into(), format!("position {last}")))?;
        first_position = last_position + 1 - n;
        version += n;
    }
    if let Some(entry) = index {
        if first_position == 0 {
            first_position = head_position(&tx).await? + 1;
        }
        execute(
            &tx,
            "INSERT INTO stream_index (stream_id, kind, account_id, owner, state, time, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (stream_id) DO UPDATE SET
                kind = excluded.kind, account_id = excluded.account_id, owner = excluded.owner,
                state = excluded.state, time = excluded.time",
            &[
                &stream_id.as_str(),
                &entry.kind,
                &entry.account_id.as_str(),
                &entry.owner,
                &entry.state,
                &entry.time,
                &int(first_position),
            ],
        )
        .await
        .map_err(err)?;
    }
    tx.commit().await.map_err(err)?;
    Ok(Appended { version, last_position })
}

async fn insert_idempotency<C: GenericClient>(c: &C, record: &IdempotencyRecord) -> Result<(), StoreError> {
    execute(
        c,
        "INSERT INTO idempotency (key, fingerprint, reply, created_at) VALUES ($1, $2, $3, $4)",
        &[&record.key, &record.fingerprint, &record.reply, &record.created_at],
    )
    .await
    .map(|_| ())
    .map_err(|e| {
        if unique_violation(&e).is_some() {
            StoreError::DuplicateIdempotencyKey
        } else {
            store_error("idempotency record", &e)
        }
    })
}

/// Stores an idempotency record for a request that appended nothing.
pub(crate) async fn put_idempotency<C: GenericClient>(c: &C, record: &IdempotencyRecord) -> Result<(), StoreError> {
    insert_idempotency(c, record).await
}

/// Deletes the idempotency records created before `before`.
pub(crate) async fn prune_idempotency<C: GenericClient>(c: &C, before: DateTime<Utc>) -> Result<u64, StoreError> {
    execute(c, "DELETE FROM idempotency WHERE created_at < $1", &[&before])
        .await
        .map_err(|e| store_error("prune idempotency records", &e))
}

/// Up to `limit` events of a stream from `from_version`, in version order.
pub(crate) async fn read_stream<C: GenericClient>(
    c: &C,
    stream: &StreamId,
    from_version: u64,
    limit: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let what = format!("events of {stream} from version {from_version}");
    let rows = query(
        c,
        &format!("SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3"),
        &[&stream.as_str(), &int(from_version), &int(limit as u64)],
    )
    .await
    .map_err(|e| store_error(&what, &e))?;
    collect_events(&rows)
}

/// Up to `limit` events after `after_position`, in position order.
pub(crate) async fn read_all<C: GenericClient>(
    c: &C,
    after_position: u64,
    limit: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let what = format!("events after position {after_position}");
    let rows = query(
        c,
        &format!("SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"),
        &[&int(after_position), &int(limit as u64)],
    )
    .await
    .map_err(|e| store_error(&what, &e))?;
    collect_events(&rows)
}

/// The snapshot of a stream, if any.
pub(crate) async fn load_snapshot<C: GenericClient>(c: &C, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
    let what = format!("snapshot of {stream}");
    let Some(row) = query_opt(
        c,
        "SELECT version, state, format FROM snapshots WHERE stream_id = $1",
        &[&stream.as_str()],
    )
    .await
    .map_err(|e| store_error(&what, &e))?
    else {
        return Ok(None);
    };
    let decode = || -> Result<Snapshot, Reason> {
        Ok(Snapshot {
            stream_id: stream.clone(),
            version: unsigned(&row, 0, "version")?,
            state: text(&row, 1, "state")?,
            format: unsigned(&row, 2, "format")?,
        })
    };
    decode().map(Some).map_err(|reason| corrupt(what, reason))
}

/// Index rows matching a query, in `seq` order.
pub(crate) async fn query_index<C: GenericClient>(c: &C, q: &IndexQuery) -> Result<Vec<IndexEntry>, StoreError> {
    let what = format!("{} index", q.kind);
    let mut sql = String::from(
        "SELECT stream_id, kind, account_id, owner, state, time, seq FROM stream_index WHERE kind = $1 AND seq > $2",
    );
    let after = int(q.after_seq);
    let limit = int(q.limit as u64);
    let account = q.account_id.as_ref().map(|a| a.as_str());
    let mut args: Vec<Param<'_>> = vec![&q.kind, &after];
    let filters: [(&str, &str, Option<Param<'_>>); 5] = [
        ("account_id", "=", account.as_ref().map(|a| a as Param<'_>)),
        ("owner", "=", q.owner.as_ref().map(|o| o as Param<'_>)),
        ("state", "=", q.state.as_ref().map(|s| s as Param<'_>)),
        ("time", ">=", q.from.as_ref().map(|f| f as Param<'_>)),
        ("time", "<", q.to.as_ref().map(|t| t as Param<'_>)),
    ];
    for (column, op, value) in filters {
        if let Some(value) = value {
            args.push(value);
            sql.push_str(&format!(" AND {column} {op} ${}", args.len()));
        }
    }
    args.push(&limit);
    sql.push_str(&format!(" ORDER BY seq LIMIT ${}", args.len()));
    let rows = query(c, &sql, &args).await.map_err(|e| store_error(&what, &e))?;
    rows.iter()
        .map(|row| {
            let decode = || -> Result<IndexEntry, Reason> {
                Ok(IndexEntry {
                    stream_id: StreamId::new(text(row, 0, "stream_id")?)?,
                    kind: text(row, 1, "kind")?,
                    account_id: AccountId::parse(&text(row, 2, "account_id")?).map_err(|e| e.to_string())?,
                    owner: text(row, 3, "owner")?,
                    state: text(row, 4, "state")?,
                    time: time(row, 5, "time")?,
                    seq: unsigned(row, 6, "seq")?,
                })
            };
            decode().map_err(|reason| corrupt(format!("index row {}", lossy(row, 0)), reason))
        })
        .collect()
}

/// The stream a secondary key links to.
pub(crate) async fn resolve_link<C: GenericClient>(c: &C, key: &str) -> Result<Option<StreamId>, StoreError> {
    let what = format!("link {key}");
    let Some(row) = query_opt(c, "SELECT stream_id FROM links WHERE key = $1", &[&key])
        .await
        .map_err(|e| store_error(&what, &e))?
    else {
        return Ok(None);
    };
    text(&row, 0, "stream_id")
        .and_then(StreamId::new)
        .map(Some)
        .map_err(|reason| corrupt(what, reason))
}

/// The idempotency record under `key`.
pub(crate) async fn get_idempotency<C: GenericClient>(
    c: &C,
    key: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let what = format!("idempotency record {key}");
    let Some(row) = query_opt(
        c,
        "SELECT fingerprint, reply, created_at FROM idempotency WHERE key = $1",
        &[&key],
    )
    .await
    .map_err(|e| store_error(&what, &e))?
    else {
        return Ok(None);
    };
    let decode = || -> Result<IdempotencyRecord, Reason> {
        Ok(IdempotencyRecord {
            key: key.to_owned(),
            fingerprint: text(&row, 0, "fingerprint")?,
            reply: text(&row, 1, "reply")?,
            created_at: time(&row, 2, "created_at")?,
        })
    };
    decode().map(Some).map_err(|reason| corrupt(what, reason))
}

/// A consumer's checkpoint (0 initially).
pub(crate) async fn checkpoint<C: GenericClient>(c: &C, consumer: &str) -> Result<u64, StoreError> {
    let what = format!("checkpoint {consumer}");
    match query_opt(c, "SELECT position FROM checkpoints WHERE consumer = $1", &[&consumer])
        .await
        .map_err(|e| store_error(&what, &e))?
    {
        None => Ok(0),
        Some(row) => unsigned(&row, 0, "position").map_err(|reason| corrupt(what, reason)),
    }
}

/// Inserts new deliveries and moves the checkpoint forward, in one transaction.
pub(crate) async fn enqueue(
    client: &mut deadpool_postgres::Object,
    consumer: &str,
    position: u64,
    deliveries: &[NewDelivery],
) -> Result<(), StoreError> {
    let err = |e: tokio_postgres::Error| store_error("enqueue deliveries", &e);
    let tx = client.transaction().await.map_err(err)?;
    if !deliveries.is_empty() {
        let subs: Vec<&str> = deliveries.iter().map(|d| d.subscription_id.as_str()).collect();
        let accounts: Vec<&str> = deliveries.iter().map(|d| d.account_id.as_str()).collect();
        let events: Vec<&str> = deliveries.iter().map(|d| d.event_id.as_str()).collect();
        let types: Vec<&str> = deliveries.iter().map(|d| d.event_type.as_str()).collect();
        let positions: Vec<i64> = deliveries.iter().map(|d| int(d.position)).collect();
        let bodies: Vec<&str> = deliveries.iter().map(|d| d.body.as_str()).collect();
        let due: Vec<DateTime<Utc>> = deliveries.iter().map(|d| d.next_attempt_at).collect();
        execute(
            &tx,
            "INSERT INTO deliveries (subscription_id, account_id, event_id, event_type, position, body, attempts, state, next_attempt_at, created_at)
             SELECT s, a, e, t, p, b, 0, 'pending', n, n
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::timestamptz[])
                  AS d(s, a, e, t, p, b, n)
             ON CONFLICT (subscription_id, event_id) DO NOTHING",
            &[&subs, &accounts, &events, &types, &positions, &bodies, &due],
        )
        .await
        .map_err(err)?;
    }
    execute(
        &tx,
        "INSERT INTO checkpoints (consumer, position) VALUES ($1, $2)
         ON CONFLICT (consumer) DO UPDATE SET position = greatest(checkpoints.position, excluded.position)",
        &[&consumer, &int(position)],
    )
    .await
    .map_err(err)?;
    tx.commit().await.map_err(err)
}

const DELIVERY_COLUMNS: &str = "id, subscription_id, account_id, event_id, event_type, position, body, attempts, state, next_attempt_at, created_at";

fn delivery_row(row: &Row) -> Result<Delivery, StoreError> {
    let decode = || -> Result<Delivery, Reason> {
        let state = text(row, 8, "state")?;
        Ok(Delivery {
            id: unsigned(row, 0, "id")?,
            subscription_id: WebhookId::parse(&text(row, 1, "subscription_id")?).map_err(|e| e.to_string())?,
            account_id: Name::parse(&text(row, 2, "account_id")?).map_err(|e| e.to_string())?,
            event_id: EventId::parse(&text(row, 3, "event_id")?).map_err(|e| e.to_string())?,
            event_type: text(row, 4, "event_type")?,
            position: unsigned(row, 5, "position")?,
            body: text(row, 6, "body")?,
            attempts: unsigned(row, 7, "attempts")?,
            state: DeliveryState::parse(&state).ok_or_else(|| format!("unknown state {state:?}"))?,
            next_attempt_at: opt_time(row, 9, "next_attempt_at")?,
            created_at: time(row, 10, "created_at")?,
        })
    };
    decode().map_err(|reason| corrupt(format!("delivery {}", lossy(row, 0)), reason))
}

/// Pending deliveries due at `now`, earliest first.
pub(crate) async fn due<C: GenericClient>(
    c: &C,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Delivery>, StoreError> {
    let rows = query(
        c,
        &format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries
             WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2"
        ),
        &[&now, &int(limit as u64)],
    )
    .await
    .map_err(|e| store_error("due deliveries", &e))?;
    rows.iter().map(delivery_row).collect()
}

/// When the earliest pending delivery is due.
pub(crate) async fn next_due<C: GenericClient>(c: &C) -> Result<Option<DateTime<Utc>>, StoreError> {
    let what = "next due delivery";
    let rows = query(
        c,
        "SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'",
        &[],
    )
    .await
    .map_err(|e| store_error(what, &e))?;
    match rows.first() {
        None => Ok(None),
        Some(row) => opt_time(row, 0, "next_attempt_at").map_err(|reason| corrupt(what.into(), reason)),
    }
}

/// Records an attempt and the delivery's new state, in one statement (so atomically).
pub(crate) async fn record_attempt<C: GenericClient>(
    c: &C,
    a: &DeliveryAttempt,
    state: DeliveryState,
    next_attempt_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let what = format!("attempt on delivery {}", a.delivery_id);
    let rows = query(
        c,
        "WITH d AS (
             UPDATE deliveries SET attempts = $2, state = $3, next_attempt_at = $4 WHERE id = $1 RETURNING id
         )
         INSERT INTO delivery_attempts (delivery_id, subscription_id, event_id, event_type, attempt, attempted_at, status_code, latency_ms, error, next_attempt_at)
         SELECT d.id, $5, $6, $7, $2, $8, $9, $10, $11, $12 FROM d
         RETURNING seq",
        &[
            &int(a.delivery_id),
            &i64::from(a.attempt),
            &state.as_str(),
            &next_attempt_at,
            &a.subscription_id.as_str(),
            &a.event_id.as_str(),
            &a.event_type,
            &a.attempted_at,
            &a.status_code.map(i64::from),
            &int(a.latency_ms),
            &a.error,
            &a.next_attempt_at,
        ],
    )
    .await
    .map_err(|e| store_error(&what, &e))?;
    if rows.is_empty() {
        return Err(StoreError::Invalid(format!("no delivery {}", a.delivery_id)));
    }
    Ok(())
}

/// A subscription's attempts, newest first.
pub(crate) async fn attempts<C: GenericClient>(
    c: &C,
    subscription: &WebhookId,
    before: Option<u64>,
    limit: usize,
) -> Result<Vec<(u64, DeliveryAttempt)>, StoreError> {
    let what = format!("attempts of {subscription}");
    let rows = query(
        c,
        "SELECT seq, delivery_id, event_id, event_type, attempt, attempted_at, status_code, latency_ms, error, next_attempt_at
         FROM delivery_attempts WHERE subscription_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
        &[
            &subscription.as_str(),
            &int(before.unwrap_or(u64::MAX)),
            &int(limit as u64),
        ],
    )
    .await
    .map_err(|e| store_error(&what, &e))?;
    rows.iter()
        .map(|row| {
            let decode = || -> Result<(u64, DeliveryAttempt), Reason> {
                Ok((
                    unsigned(row, 0, "seq")?,
                    DeliveryAttempt {
                        delivery_id: unsigned(row, 1, "delivery_id")?,
                        subscription_id: subscription.clone(),
                        event_id: EventId::parse(&text(row, 2, "event_id")?).map_err(|e| e.to_string())?,
                        event_type: text(row, 3, "event_type")?,
                        attempt: unsigned(row, 4, "attempt")?,
                        attempted_at: time(row, 5, "attempted_at")?,
                        status_code: opt_integer(row, 6, "status_code")?
                            .map(|v| u16::try_from(v).map_err(|_| format!("status_code {v} is out of range")))
                            .transpose()?,
                        latency_ms: unsigned(row, 7, "latency_ms")?,
                        error: opt_text(row, 8, "error")?,
                        next_attempt_at: opt_time(row, 9, "next_attempt_at")?,
                    },
                ))
            };
            decode().map_err(|reason| corrupt(format!("delivery attempt {}", lossy(row, 0)), reason))
        })
        .collect()
}

/// A delivery by id.
pub(crate) async fn delivery<C: GenericClient>(c: &C, id: u64) -> Result<Option<Delivery>, StoreError> {
    let what = format!("delivery {id}");
    query_opt(
        c,
        &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1"),
        &[&int(id)],
    )
    .await
    .map_err(|e| store_error(&what, &e))?
    .map(|row| delivery_row(&row))
    .transpose()
}

/// Makes a subscription's deliveries in a position range pending again.
pub(crate) async fn requeue<C: GenericClient>(
    c: &C,
    subscription: &WebhookId,
    from_position: u64,
    to_position: u64,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    execute(
        c,
        "UPDATE deliveries SET state = 'pending', next_attempt_at = $4
         WHERE subscription_id = $1 AND position BETWEEN $2 AND $3",
        &[&subscription.as_str(), &int(from_position), &int(to_position), &at],
    )
    .await
    .map_err(|e| store_error(&format!("requeue deliveries of {subscription}"), &e))
}

/// Deletes attempt rows older than `before`.
pub(crate) async fn prune_attempts<C: GenericClient>(c: &C, before: DateTime<Utc>) -> Result<u64, StoreError> {
    execute(c, "DELETE FROM delivery_attempts WHERE attempted_at < $1", &[&before])
        .await
        .map_err(|e| store_error("prune attempts", &e))
}
