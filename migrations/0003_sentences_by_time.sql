-- Sentences keyed by source time. A sentence's id (the rowid of `sentences` and of its
-- full-text index `sentences_fts`) becomes `at_ms × 2^20 + n`, n counting the sentences of
-- the same millisecond (a time past 2^43 ms, the year 2248, is keyed as that). Rowid order is
-- then source-time order, so search walks the index newest first and stops after a page
-- instead of sorting every match (crates/engine/src/cache/search.rs). The writer keeps the
-- ids so (`key_sentences` in crates/engine/src/cache/project.rs): a sentence whose time
-- changes is stored again under a new id.
--
-- The rows move to a new table with the new ids, and the index is rebuilt from them.

CREATE TABLE sentences_by_time (
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

INSERT INTO sentences_by_time (id, task_id, round_id, user_id, speaker, at_ms, body)
SELECT (ms << 20) + row_number() OVER (PARTITION BY ms ORDER BY id) - 1, task_id, round_id, user_id, speaker, at_ms, body
FROM (SELECT *, min(max(at_ms, 0), 8796093022207) AS ms FROM sentences);

DROP TABLE sentences_fts;
DROP TABLE sentences;
ALTER TABLE sentences_by_time RENAME TO sentences;
CREATE INDEX sentences_newest_first ON sentences (at_ms DESC);

CREATE VIRTUAL TABLE sentences_fts USING fts5 (
    body,
    content = 'sentences',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO sentences_fts (sentences_fts) VALUES ('rebuild');

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
