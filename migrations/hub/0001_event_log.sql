-- The hub's event log and its people. Sequence numbers are assigned by the hub's one
-- writer (never by SQLite), so they have no gaps; `log_meta.next_seq` remembers the
-- high-water mark even when retention has deleted every event.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    -- TRTC retries a callback for up to a minute: its source key is unique. NULL for the
    -- hub's own facts.
    dedup_key   TEXT UNIQUE,
    task_id     TEXT,
    source_ms   INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    -- The domain Event as JSON, without its seq.
    body        TEXT NOT NULL
) STRICT;
CREATE INDEX events_by_task ON events (task_id, seq);
CREATE INDEX events_by_received ON events (received_ms);

CREATE TABLE log_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO log_meta (key, value) VALUES ('next_seq', 1);

-- Supervisors. Only a SHA-256 of each token is kept; the token is shown once.
CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'supervisor', 'lead')),
    token_hash TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
) STRICT;

-- Commands by idempotency key: a retried command returns the first one's outcome.
CREATE TABLE commands (
    user_name       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    command_id      TEXT NOT NULL UNIQUE,
    task_id         TEXT NOT NULL,
    request         TEXT NOT NULL,
    -- NULL while the command runs; then the HTTP status and body it answered.
    status          INTEGER,
    response        TEXT,
    created_ms      INTEGER NOT NULL,
    PRIMARY KEY (user_name, idempotency_key)
) STRICT;

-- Every command and lock change: who, when, which call, the round in play, the outcome.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms     INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    role      TEXT NOT NULL,
    task_id   TEXT,
    round_id  TEXT,
    action    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    detail    TEXT
) STRICT;
CREATE INDEX audit_by_task ON audit (task_id, id);
