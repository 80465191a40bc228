-- Review data reaches the hub. Notes, tags and QA scores are no longer this console's
-- alone: the hub records them as events, every console's cache projects those events into
-- `notes`, `call_tags` and `qa_scores` (in the same transaction as the events), and what
-- this console wrote itself is kept until the hub has it.

-- Notes get the id they are known by everywhere (a UUID chosen by the console that wrote
-- the note, sent to the hub with it) and whether the hub has them yet.
CREATE TABLE notes_v2 (
    id         INTEGER PRIMARY KEY,
    note_id    TEXT NOT NULL,
    task_id    TEXT NOT NULL REFERENCES calls (task_id) ON DELETE CASCADE,
    round_id   TEXT,
    author     TEXT NOT NULL,
    at_ms      INTEGER NOT NULL,
    text       TEXT NOT NULL,
    -- 1 once the hub has the note (it answered the push, or its event came back).
    pushed     INTEGER NOT NULL CHECK (pushed IN (0, 1)),
    -- Why the hub refused the note for good (it is not pushed again); NULL otherwise.
    push_error TEXT,
    UNIQUE (task_id, note_id)
) STRICT;

-- Notes written before this migration never reached the hub: each gets a fresh UUID (v4
-- form) and waits to be pushed.
INSERT INTO notes_v2 (id, note_id, task_id, round_id, author, at_ms, text, pushed)
SELECT id,
       lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
             || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-'
             || hex(randomblob(6))),
       task_id, round_id, author, at_ms, text, 0
FROM notes;

DROP TABLE notes;
ALTER TABLE notes_v2 RENAME TO notes;
CREATE INDEX notes_by_call ON notes (task_id, at_ms);
CREATE INDEX notes_unpushed ON notes (id) WHERE pushed = 0 AND push_error IS NULL;

-- A tag set or QA score this console wrote that the hub has not acknowledged yet, at most
-- one of each per call (a newer write replaces an older one). `body` is what to push:
-- the tags as a JSON array, or {"score", "comment"}. `written_ms` is when it was written:
-- the hub keeps it as the change's time, and it tells this change from a later one.
-- A row goes when the hub answers the push, when the change's own event comes back, or
-- when someone's later change supersedes it.
CREATE TABLE review_outbox (
    task_id    TEXT NOT NULL REFERENCES calls (task_id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('tags', 'qa')),
    body       TEXT NOT NULL CHECK (json_valid(body)),
    written_ms INTEGER NOT NULL,
    -- Why the hub refused it for good (it is not pushed again); NULL otherwise.
    push_error TEXT,
    PRIMARY KEY (task_id, kind)
) STRICT, WITHOUT ROWID;

-- Tags and scores set before this migration wait to be pushed too.
INSERT INTO review_outbox (task_id, kind, body, written_ms)
SELECT task_id, 'tags', json_group_array(tag), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
FROM (SELECT task_id, tag FROM call_tags ORDER BY task_id, tag)
GROUP BY task_id;

INSERT INTO review_outbox (task_id, kind, body, written_ms)
SELECT task_id, 'qa', json_object('score', score, 'comment', comment), at_ms
FROM qa_scores;
