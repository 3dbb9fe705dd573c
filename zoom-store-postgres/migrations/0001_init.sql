-- 0001: the event log, its side tables and the webhook outbox.
-- Released migrations are never edited: the store records a checksum of each file and refuses
-- to connect to a schema whose recorded checksum differs. Add 0002_*.sql instead.
--
-- Every statement is unqualified: the store runs it with `search_path` set to its schema.
-- Integers are BIGINT throughout (the store's u32 and u64 values fit). Payload and metadata are
-- nullable at the SQL level only so that a damaged row can be reported as corrupt (naming it)
-- rather than being impossible to represent; they are TEXT, not JSONB, because the stored form
-- is pinned byte for byte.

-- The log's head: one row whose `position` is the newest committed position. An append takes
-- its positions with `UPDATE head SET position = position + n RETURNING position` inside its
-- transaction. The row lock that UPDATE takes is held until COMMIT, so appenders take positions
-- one after another in commit order, and a rolled-back append gives its positions back: the
-- positions of `events` are gap-free and strictly increasing in commit order, across every
-- connection and every process. (A SEQUENCE would not do: its values are taken before commit,
-- so a reader could see position 8 committed before position 7.)
CREATE TABLE head (
    id       SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
    position BIGINT   NOT NULL CHECK (position >= 0)
);
INSERT INTO head (id, position) VALUES (1, 0);

-- The log. `UNIQUE (stream_id, version)` is the backstop of optimistic concurrency: of two
-- appenders that both checked the same version, the second to insert fails and is a Conflict.
CREATE TABLE events (
    position       BIGINT      NOT NULL PRIMARY KEY,
    stream_id      TEXT        NOT NULL,
    version        BIGINT      NOT NULL CHECK (version >= 1),
    event_id       TEXT        NOT NULL,
    event_type     TEXT        NOT NULL,
    schema_version BIGINT      NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL,
    payload        TEXT,
    metadata       TEXT,
    CONSTRAINT events_stream_version UNIQUE (stream_id, version),
    CONSTRAINT events_event_id UNIQUE (event_id)
);

-- One list row per stream (IndexEntry). `seq` is fixed at the first insert.
CREATE TABLE stream_index (
    stream_id  TEXT        NOT NULL PRIMARY KEY,
    kind       TEXT        NOT NULL,
    account_id TEXT        NOT NULL,
    owner      TEXT        NOT NULL,
    state      TEXT        NOT NULL,
    time       TIMESTAMPTZ NOT NULL,
    seq        BIGINT      NOT NULL
);
CREATE INDEX stream_index_kind_account_seq ON stream_index (kind, account_id, seq);
CREATE INDEX stream_index_kind_seq ON stream_index (kind, seq);

-- The newest snapshot of a stream.
CREATE TABLE snapshots (
    stream_id TEXT   NOT NULL PRIMARY KEY,
    version   BIGINT NOT NULL,
    state     TEXT   NOT NULL,
    format    BIGINT NOT NULL
);

-- Secondary keys (recording ids) that resolve to a stream. First writer wins.
CREATE TABLE links (
    key       TEXT NOT NULL PRIMARY KEY,
    stream_id TEXT NOT NULL
);

-- The first result of a request made with an Idempotency-Key.
CREATE TABLE idempotency (
    key         TEXT        NOT NULL PRIMARY KEY,
    fingerprint TEXT        NOT NULL,
    reply       TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

-- Outbox: how far each consumer has enqueued from the log.
CREATE TABLE checkpoints (
    consumer TEXT   NOT NULL PRIMARY KEY,
    position BIGINT NOT NULL
);

-- Outbox: one delivery per (subscription, event).
CREATE TABLE deliveries (
    id              BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id TEXT        NOT NULL,
    account_id      TEXT        NOT NULL,
    event_id        TEXT        NOT NULL,
    event_type      TEXT        NOT NULL,
    position        BIGINT      NOT NULL,
    body            TEXT        NOT NULL,
    attempts        BIGINT      NOT NULL DEFAULT 0,
    state           TEXT        NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    next_attempt_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT deliveries_subscription_event UNIQUE (subscription_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_subscription_position ON deliveries (subscription_id, position);

-- Outbox: one row per attempt, newest first by `seq` (never reused, so cursors stay stable).
CREATE TABLE delivery_attempts (
    seq             BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id     BIGINT      NOT NULL REFERENCES deliveries (id),
    subscription_id TEXT        NOT NULL,
    event_id        TEXT        NOT NULL,
    event_type      TEXT        NOT NULL,
    attempt         BIGINT      NOT NULL,
    attempted_at    TIMESTAMPTZ NOT NULL,
    status_code     BIGINT,
    latency_ms      BIGINT      NOT NULL,
    error           TEXT,
    next_attempt_at TIMESTAMPTZ
);
CREATE INDEX delivery_attempts_subscription ON delivery_attempts (subscription_id, seq);
CREATE INDEX delivery_attempts_attempted_at ON delivery_attempts (attempted_at);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);
