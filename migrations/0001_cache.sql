-- The console's local cache (crates/engine/src/cache). One file per hub: the cursor is that
-- hub's sequence number. Everything derived from events (calls, turns, sentences,
-- interventions, recordings) is written by the cache's one writer in the same transaction
-- as the events and the cursor that cover it; notes, tags, QA scores, alert rules, fired
-- alerts, local recording files and audit entries are the console's own writes.

-- The stream cursor: the last hub sequence number whose event is stored here.
CREATE TABLE stream_cursor (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL CHECK (seq >= 0)
) STRICT;
INSERT INTO stream_cursor (id, seq) VALUES (1, 0);

-- Every event as the hub sent it, so a call can be folded again offline.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    -- The AI call the event was folded into; NULL for room-scoped events (room, media,
    -- recording) and for an AI event that named no task and found no live call in its room.
    task_id     TEXT,
    sdk_app_id  INTEGER,
    room_id     TEXT,
    room_scoped INTEGER NOT NULL CHECK (room_scoped IN (0, 1)),
    -- The body's kind (`sentence`, `task_stopped`, …), for people reading the file.
    kind        TEXT NOT NULL,
    source_ms   INTEGER NOT NULL,
    -- The domain Event as JSON, seq included.
    body        TEXT NOT NULL
) STRICT;
CREATE INDEX events_by_task ON events (task_id, seq) WHERE task_id IS NOT NULL;
CREATE INDEX events_by_room ON events (room_id, seq) WHERE task_id IS NULL;

-- One row per AI call: the call-level view of the domain fold (`Call`).
CREATE TABLE calls (
    task_id           TEXT PRIMARY KEY,
    sdk_app_id        INTEGER,
    room_id           TEXT,
    room_numeric      INTEGER CHECK (room_numeric IN (0, 1)),
    status            TEXT NOT NULL CHECK (status IN ('starting', 'ready', 'in_progress', 'ended', 'start_failed')),
    leave_code        INTEGER,
    abnormal_end      INTEGER NOT NULL CHECK (abnormal_end IN (0, 1)),
    live              INTEGER NOT NULL CHECK (live IN (0, 1)),
    -- 901's source time, else the earliest source time of any of the call's events.
    started_ms        INTEGER NOT NULL,
    ready_ms          INTEGER,
    ended_ms          INTEGER,
    last_ms           INTEGER NOT NULL,
    turns             INTEGER NOT NULL,
    user_sentences    INTEGER NOT NULL,
    robot_sentences   INTEGER NOT NULL,
    interrupted_turns INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    -- Supervisors' commands (each counted once, at its latest stage).
    interventions     INTEGER NOT NULL,
    -- A take-over of this call was ever done.
    taken_over        INTEGER NOT NULL CHECK (taken_over IN (0, 1)),
    -- The last sequence number folded into this row.
    last_seq          INTEGER NOT NULL
) STRICT;
CREATE INDEX calls_newest_first ON calls (started_ms DESC, task_id DESC);
CREATE INDEX calls_by_room ON calls (room_id) WHERE room_id IS NOT NULL;
CREATE INDEX calls_finished_by_age ON calls (last_ms) WHERE live = 0;

-- One row per RoundId, with the seven documented metrics folded in (latest by source time).
CREATE TABLE turns (
    task_id                 TEXT NOT NULL REFERENCES calls (task_id) ON DELETE CASCADE,
    round_id                TEXT NOT NULL,
    first_ms                INTEGER NOT NULL,
    speech_started_ms       INTEGER,
    finished_ms             INTEGER,
    user_text               TEXT,
    user_final              INTEGER NOT NULL CHECK (user_final IN (0, 1)),
    robot_text              TEXT,
    robot_final             INTEGER NOT NULL CHECK (robot_final IN (0, 1)),
    interrupted             INTEGER NOT NULL CHECK (interrupted IN (0, 1)),
    errors                  INTEGER NOT NULL,
    asr_latency             REAL,
    llm_network_latency     REAL,
    llm_first_token         REAL,
    tts_network_latency     REAL,
    tts_first_frame_latency REAL,
    tts_discontinuity       REAL,
    interruption            REAL,
    PRIMARY KEY (task_id, round_id)
) STRICT, WITHOUT ROWID;

-- Final sentences, one per speaker per round. `body` is the sentence in its index form:
-- every CJK character a token of its own and a boundary token after punctuation, with
-- U+001F / U+F8FF as the only additions (see crates/engine/src/cache/fts.rs); the text a
-- person reads is `body` without them.
CREATE TABLE sentences (
    id       INTEGER PRIMARY KEY,
    task_id  TEXT NOT NULL REFERENCES calls (task_id) ON DELETE CASCADE,
    round_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    -- NULL: the fold could not tell whether the customer or the robot spoke.
    speaker  TEXT CHECK (speaker IN ('user', 'robot')),
    at_ms    INTEGER NOT NULL,
    body     TEXT NOT NULL,
    UNIQUE (task_id, round_id, user_id)
) STRICT;
CREATE INDEX sentences_newest_first ON sentences (at_ms DESC);

CREATE VIRTUAL TABLE sentences_fts USING fts5 (
    body,
    content = 'sentences',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER sentences_fts_insert AFTER INSERT ON sentences BEGIN
    INSERT INTO sentences_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER sentences_fts_delete AFTER DELETE ON sentences BEGIN
    INSERT INTO sentences_fts (sentences_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER sentences_fts_update AFTER UPDATE OF body ON sentences WHEN old.body IS NOT new.body BEGIN
    INSERT INTO sentences_fts (sentences_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO sentences_fts (rowid, body) VALUES (new.id, new.body);
END;

-- What supervisors did to a call: every stage of every command and every lock change, one
-- row per hub fact.
CREATE TABLE interventions (
    seq         INTEGER PRIMARY KEY,
    task_id     TEXT NOT NULL REFERENCES calls (task_id) ON DELETE CASCADE,
    at_ms       INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('command', 'lock')),
    actor       TEXT NOT NULL,
    -- The command's action (`say`, `take_over`…) or the lock change (`taken`, `broken`…).
    action      TEXT NOT NULL,
    stage       TEXT,
    command_id  TEXT,
    round_id    TEXT,
    summary     TEXT,
    error       TEXT,
    lock_holder TEXT
) STRICT;
CREATE INDEX interventions_by_call ON interventions (task_id, at_ms);

-- The hub's audit trail as fetched from `GET /v1/audit` (it also holds what never became
-- an event: denied commands, room tickets). `id` is the hub's.
CREATE TABLE audit_entries (
    id        INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    role      TEXT NOT NULL,
    task_id   TEXT,
    round_id  TEXT,
    action    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    detail    TEXT
) STRICT;
CREATE INDEX audit_entries_by_call ON audit_entries (task_id, id);
CREATE INDEX audit_entries_by_age ON audit_entries (at_ms);

-- Cloud recordings, folded from recording callbacks (301–312) by the domain's room fold.
CREATE TABLE recordings (
    recording_id TEXT PRIMARY KEY,
    sdk_app_id   INTEGER,
    room_id      TEXT NOT NULL,
    room_numeric INTEGER NOT NULL CHECK (room_numeric IN (0, 1)),
    status       TEXT NOT NULL CHECK (status IN ('starting', 'recording', 'start_failed', 'stopped')),
    leave_code   INTEGER,
    first_ms     INTEGER NOT NULL,
    last_ms      INTEGER NOT NULL,
    recorders    TEXT NOT NULL CHECK (json_valid(recorders)),
    files        TEXT NOT NULL CHECK (json_valid(files)),
    vod_files    TEXT NOT NULL CHECK (json_valid(vod_files))
) STRICT;
CREATE INDEX recordings_by_room ON recordings (room_id);

-- Recording files downloaded (or being downloaded) into the cache folder.
CREATE TABLE recording_files (
    recording_id     TEXT NOT NULL,
    name             TEXT NOT NULL,
    local_path       TEXT NOT NULL,
    expected_bytes   INTEGER CHECK (expected_bytes >= 0),
    downloaded_bytes INTEGER NOT NULL CHECK (downloaded_bytes >= 0),
    verified         INTEGER NOT NULL CHECK (verified IN (0, 1)),
    updated_ms       INTEGER NOT NULL,
    PRIMARY KEY (recording_id, name)
) STRICT, WITHOUT ROWID;

-- Review: notes, tags and a QA score per call.
CREATE TABLE notes (
    id       INTEGER PRIMARY KEY,
    task_id  TEXT NOT NULL REFERENCES calls (task_id) ON DELETE CASCADE,
    round_id TEXT,
    author   TEXT NOT NULL,
    at_ms    INTEGER NOT NULL,
    text     TEXT NOT NULL
) STRICT;
CREATE INDEX notes_by_call ON notes (task_id, at_ms);

CREATE TABLE call_tags (
    task_id TEXT NOT NULL REFERENCES calls (task_id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (task_id, tag)
) STRICT, WITHOUT ROWID;
CREATE INDEX call_tags_by_tag ON call_tags (tag, task_id);

CREATE TABLE qa_scores (
    task_id  TEXT PRIMARY KEY REFERENCES calls (task_id) ON DELETE CASCADE,
    score    INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    reviewer TEXT NOT NULL,
    comment  TEXT,
    at_ms    INTEGER NOT NULL
) STRICT;

-- Alert rules, kept as the JSON the alerts module writes.
CREATE TABLE alert_rules (
    id         TEXT PRIMARY KEY,
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    position   INTEGER NOT NULL,
    rule       TEXT NOT NULL CHECK (json_valid(rule)),
    updated_ms INTEGER NOT NULL
) STRICT;

-- Alerts that fired: at most one per call and rule.
CREATE TABLE fired_alerts (
    id              INTEGER PRIMARY KEY,
    task_id         TEXT NOT NULL,
    rule_id         TEXT NOT NULL,
    fired_ms        INTEGER NOT NULL,
    detail          TEXT NOT NULL CHECK (json_valid(detail)),
    acknowledged_ms INTEGER,
    acknowledged_by TEXT,
    UNIQUE (task_id, rule_id)
) STRICT;
CREATE INDEX fired_alerts_newest_first ON fired_alerts (fired_ms DESC, id DESC);
