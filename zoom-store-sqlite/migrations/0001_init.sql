-- 0001: the event log, its side tables and the webhook outbox.
-- Released migrations are never edited: the store records a checksum of each file and refuses
-- to open a database whose recorded checksum differs. Add 0002_*.sql instead.
--
-- Timestamps are INTEGER microseconds since the Unix epoch (UTC), the precision of the pinned
-- stored form. Payload and metadata are nullable at the SQL level only so that a damaged row can
-- be reported as corrupt (naming it) rather than being impossible to represent.

-- The log. `position` is the rowid: a single writer assigns max + 1 inside each write
-- transaction, so positions are strictly increasing in commit order.
CREATE TABLE events (
    position       INTEGER PRIMARY KEY,
    stream_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    event_id       TEXT    NOT NULL,
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    recorded_at    INTEGER NOT NULL,
    payload        TEXT,
    metadata       TEXT,
    UNIQUE (stream_id, version)
);
CREATE UNIQUE INDEX events_event_id ON events (event_id);

-- One list row per stream (IndexEntry). `seq` is fixed at the first insert.
CREATE TABLE stream_index (
    stream_id  TEXT    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    account_id TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    time       INTEGER NOT NULL,
    seq        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX stream_index_kind_account_seq ON stream_index (kind, account_id, seq);
CREATE INDEX stream_index_kind_seq ON stream_index (kind, seq);

-- The newest snapshot of a stream.
CREATE TABLE snapshots (
    stream_id TEXT    NOT NULL PRIMARY KEY,
    version   INTEGER NOT NULL,
    state     TEXT    NOT NULL,
    format    INTEGER NOT NULL
) WITHOUT ROWID;

-- Secondary keys (recording ids) that resolve to a stream. First writer wins.
CREATE TABLE links (
    key       TEXT NOT NULL PRIMARY KEY,
    stream_id TEXT NOT NULL
) WITHOUT ROWID;

-- The first result of a request made with an Idempotency-Key.
CREATE TABLE idempotency (
    key         TEXT    NOT NULL PRIMARY KEY,
    fingerprint TEXT    NOT NULL,
    reply       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Outbox: how far each consumer has enqueued from the log.
CREATE TABLE checkpoints (
    consumer TEXT    NOT NULL PRIMARY KEY,
    position INTEGER NOT NULL
) WITHOUT ROWID;

-- Outbox: one delivery per (subscription, event).
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id TEXT    NOT NULL,
    account_id      TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    position        INTEGER NOT NULL,
    body            TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_subscription_position ON deliveries (subscription_id, position);

-- Outbox: one row per attempt, newest first by `seq` (never reused, so cursors stay stable).
CREATE TABLE delivery_attempts (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     INTEGER NOT NULL REFERENCES deliveries (id),
    subscription_id TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    attempt         INTEGER NOT NULL,
    attempted_at    INTEGER NOT NULL,
    status_code     INTEGER,
    latency_ms      INTEGER NOT NULL,
    error           TEXT,
    next_attempt_at INTEGER
);
CREATE INDEX delivery_attempts_subscription ON delivery_attempts (subscription_id, seq);
CREATE INDEX delivery_attempts_attempted_at ON delivery_attempts (attempted_at);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);
