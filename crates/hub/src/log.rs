//! The event log port and its first adapter, SQLite.
//!
//! The log is append-only: events get sequence numbers 1, 2, 3… with no gaps, assigned by
//! the log itself inside the transaction that stores them (a duplicate callback takes no
//! number). Retention deletes the oldest events in small batches; the numbering goes on
//! from the high-water mark kept in `log_meta`, so it never restarts.
//!
//! The port is object-safe (boxed futures) so that a second adapter (NATS JetStream, for
//! several hub replicas) can sit behind the same `Arc<dyn EventLog>`.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use domain::event::Event;
use domain::ids::{Seq, TaskId};
use sqlx::{Row, SqlitePool};

/// A boxed future, for an object-safe async trait.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An event to append, with what the log needs besides the event.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event: Event,
    /// The callback's source key ([`Event::dedup_key`]); `None` for the hub's own facts.
    pub dedup_key: Option<String>,
    /// When the hub received it (Unix ms), for retention.
    pub received_ms: u64,
}

/// What became of one appended event.
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    /// Stored under its new sequence number.
    Stored(Box<Event>),
    /// Its dedup key was already in the log: nothing stored.
    Duplicate,
}

/// Why the log could not do something. The message names the operation; the database's
/// own error is kept as text (it never contains secrets: the log holds none).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event log: cannot {operation}: {cause}")]
pub struct LogError {
    pub operation: &'static str,
    pub cause: String,
}

impl LogError {
    pub(crate) fn new(operation: &'static str, cause: impl std::fmt::Display) -> LogError {
        LogError { operation, cause: cause.to_string() }
    }
}

/// The durable, ordered log of every event the hub accepted.
pub trait EventLog: Send + Sync + std::fmt::Debug {
    /// Appends events in order, in one transaction: all of them or none.
    fn append(&self, events: Vec<NewEvent>) -> BoxFuture<'_, Result<Vec<Appended>, LogError>>;

    /// Up to `limit` events with a sequence number above `after`, in order.
    fn read_after(&self, after: Seq, limit: usize) -> BoxFuture<'_, Result<Vec<Event>, LogError>>;

    /// The sequence number of the last event appended (0 for an empty log).
    fn last_seq(&self) -> BoxFuture<'_, Result<Seq, LogError>>;

    /// The oldest sequence number still held (retention deletes older ones); `None` when
    /// the log holds no event.
    fn first_seq(&self) -> BoxFuture<'_, Result<Option<Seq>, LogError>>;

    /// Deletes up to `batch` of the oldest events received before `received_before_ms`;
    /// returns how many went. Callers repeat until it returns less than `batch`.
    fn purge_before(&self, received_before_ms: u64, batch: usize) -> BoxFuture<'_, Result<u64, LogError>>;
}

/// The SQLite adapter (tables in `migrations/hub`).
#[derive(Debug, Clone)]
pub struct SqliteLog {
    pool: SqlitePool,
}

impl SqliteLog {
    pub fn new(pool: SqlitePool) -> SqliteLog {
        SqliteLog { pool }
    }

    async fn append_all(&self, events: Vec<NewEvent>) -> Result<Vec<Appended>, LogError> {
        // A retry can arrive twice in one batch: only its first copy goes to the database.
        let mut offered = vec![false; events.len()];
        let mut rows = Vec::with_capacity(events.len());
        {
            let mut keys = HashSet::with_capacity(events.len());
            for (index, new) in events.iter().enumerate() {
                if new.dedup_key.as_deref().is_some_and(|key| !keys.insert(key)) {
                    continue;
                }
                offered[index] = true;
                let body = serde_json::to_string(&new.event).map_err(|e| LogError::new("encode an event", e))?;
                let task = new.event.call.task.as_ref().map(TaskId::as_str);
                rows.push((
                    new.dedup_key.as_deref(),
                    task,
                    to_i64(new.event.source_ms.0),
                    to_i64(new.received_ms),
                    body,
                ));
            }
        }
        let rows = serde_json::to_string(&rows).map_err(|e| LogError::new("encode events", e))?;

        // IMMEDIATE: the write lock is taken up front (waiting out the busy timeout), so the
        // transaction never has to upgrade a read snapshot — which fails at once with
        // SQLITE_BUSY when another connection (commands, audit) wrote in between.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(|e| LogError::new("begin an append", e))?;
        let stored: Vec<(i64, Option<String>)> = sqlx::query_as(INSERT_NEW)
            .bind(rows)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| LogError::new("append events", e))?;
        let mut seqs: Vec<i64> = stored.iter().map(|(seq, _)| *seq).collect();
        seqs.sort_unstable();
        if let Some(last) = seqs.last() {
            sqlx::query("UPDATE log_meta SET value = ? WHERE key = 'next_seq'")
                .bind(last + 1)
                .execute(&mut *tx)
                .await
                .map_err(|e| LogError::new("advance the sequence number", e))?;
        }

        // The database numbered the new events in the order they were offered.
        let new_keys: HashSet<&str> = stored.iter().filter_map(|(_, key)| key.as_deref()).collect();
        let mut seqs = seqs.into_iter();
        let mut out = Vec::with_capacity(events.len());
        for (new, offered) in events.into_iter().zip(offered) {
            if offered && new.dedup_key.as_deref().is_none_or(|key| new_keys.contains(key)) {
                let seq =
                    seqs.next().ok_or_else(|| LogError::new("append events", "fewer rows stored than offered"))?;
                out.push(Appended::Stored(Box::new(new.event.with_seq(Seq(seq as u64)))));
            } else {
                out.push(Appended::Duplicate);
            }
        }
        if seqs.next().is_some() {
            // Dropping `tx` rolls back: nothing half-numbered is ever committed.
            return Err(LogError::new("append events", "more rows stored than offered"));
        }
        tx.commit().await.map_err(|e| LogError::new("commit an append", e))?;
        Ok(out)
    }
}

/// Stores a batch in one statement, whatever its size: the rows come as one JSON array of
/// `[dedup_key, task_id, source_ms, received_ms, body]`; those whose key is already in the
/// log are skipped, the others numbered on from `next_seq` in the order given. Every
/// statement is a round trip to SQLite's worker thread, and on a busy machine each round
/// trip can wait milliseconds for a core, so an append is four of them (BEGIN, this,
/// advancing `next_seq`, COMMIT) rather than one per event. No `ON CONFLICT`: a conflict
/// here would mean a numbering gap, so it fails the append instead.
const INSERT_NEW: &str = "INSERT INTO events (seq, dedup_key, task_id, source_ms, received_ms, body) \
    SELECT (SELECT value FROM log_meta WHERE key = 'next_seq') - 1 + row_number() OVER (ORDER BY item.key), \
        item.value ->> 0, item.value ->> 1, item.value ->> 2, item.value ->> 3, item.value ->> 4 \
    FROM json_each(?1) AS item \
    WHERE item.value ->> 0 IS NULL OR NOT EXISTS (SELECT 1 FROM events WHERE dedup_key = item.value ->> 0) \
    ORDER BY item.key \
    RETURNING seq, dedup_key";

/// SQLite integers are signed; times and sequence numbers stay far below `i64::MAX`.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl EventLog for SqliteLog {
    fn append(&self, events: Vec<NewEvent>) -> BoxFuture<'_, Result<Vec<Appended>, LogError>> {
        Box::pin(self.append_all(events))
    }

    fn read_after(&self, after: Seq, limit: usize) -> BoxFuture<'_, Result<Vec<Event>, LogError>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?")
                .bind(to_i64(after.0))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| LogError::new("read the log", e))?;
            rows.into_iter()
                .map(|row| {
                    let seq: i64 = row.get(0);
                    let body: String = row.get(1);
                    let event: Event = serde_json::from_str(&body)
                        .map_err(|e| LogError::new("decode a stored event", format!("seq {seq}: {e}")))?;
                    Ok(event.with_seq(Seq(seq as u64)))
                })
                .collect()
        })
    }

    fn last_seq(&self) -> BoxFuture<'_, Result<Seq, LogError>> {
        Box::pin(async move {
            let next: i64 = sqlx::query_scalar("SELECT value FROM log_meta WHERE key = 'next_seq'")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| LogError::new("read the last sequence number", e))?;
            Ok(Seq(next.saturating_sub(1).max(0) as u64))
        })
    }

    fn first_seq(&self) -> BoxFuture<'_, Result<Option<Seq>, LogError>> {
        Box::pin(async move {
            let first: Option<i64> = sqlx::query_scalar("SELECT MIN(seq) FROM events")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| LogError::new("read the first sequence number", e))?;
            Ok(first.map(|seq| Seq(seq as u64)))
        })
    }

    fn purge_before(&self, received_before_ms: u64, batch: usize) -> BoxFuture<'_, Result<u64, LogError>> {
        Box::pin(async move {
            // Only a prefix of the log goes (everything before the first event young
            // enough to keep), so what is left is always a contiguous tail.
            let done = sqlx::query(
                "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq < \
                 COALESCE((SELECT MIN(seq) FROM events WHERE received_ms >= ?1), 9223372036854775807) \
                 ORDER BY seq LIMIT ?2)",
            )
            .bind(to_i64(received_before_ms))
            .bind(i64::try_from(batch).unwrap_or(i64::MAX))
            .execute(&self.pool)
            .await
            .map_err(|e| LogError::new("delete old events", e))?;
            Ok(done.rows_affected())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    /// A robot's sentence in `task` at `ms`, keyed as ingest keys it.
    fn sentence(task: &str, ms: u64) -> NewEvent {
        let body = json!({
            "EventGroupId": 9, "EventType": 903, "CallbackTs": ms,
            "EventInfo": {"EventMsTs": ms, "TaskId": task, "RoomId": "8801", "RoomIdType": 0,
                "Payload": {"UserId": "robot", "Text": format!("line at {ms}"), "StartTimeMs": ms - 500,
                    "EndTimeMs": ms, "RoundId": "round-1"}}
        });
        let event = Event::from_callback(body.to_string().as_bytes(), None).unwrap();
        NewEvent { dedup_key: event.dedup_key(), event, received_ms: ms }
    }

    fn seqs(appended: &[Appended]) -> Vec<Option<u64>> {
        appended
            .iter()
            .map(|result| match result {
                Appended::Stored(event) => Some(event.seq.unwrap().0),
                Appended::Duplicate => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn repeats_in_a_batch_and_earlier_duplicates_take_no_number_and_leave_no_gap() {
        let dir = tempfile::tempdir().unwrap();
        let log = SqliteLog::new(crate::store::open(dir.path()).await.unwrap());
        let (a, b, c, d) = (sentence("t1", 1_000), sentence("t2", 1_001), sentence("t1", 1_002), sentence("t2", 1_003));
        let keyless = NewEvent { dedup_key: None, ..sentence("t3", 1_004) };

        assert_eq!(seqs(&log.append(vec![a.clone(), b.clone()]).await.unwrap()), [Some(1), Some(2)]);
        let mixed = vec![c.clone(), a.clone(), c.clone(), keyless.clone(), keyless.clone(), d.clone()];
        assert_eq!(
            seqs(&log.append(mixed).await.unwrap()),
            [Some(3), None, None, Some(4), Some(5), Some(6)],
            "an earlier duplicate and a repeat within the batch are skipped; events without a key always go in"
        );
        assert_eq!(seqs(&log.append(vec![b.clone()]).await.unwrap()), [None], "a batch of duplicates stores nothing");
        assert_eq!(log.last_seq().await.unwrap(), Seq(6), "a batch of duplicates does not advance the numbering");
        assert_eq!(seqs(&log.append(vec![sentence("t1", 1_005)]).await.unwrap()), [Some(7)]);

        let stored = log.read_after(Seq(0), 100).await.unwrap();
        let expected = [&a, &b, &c, &keyless, &keyless, &d];
        assert_eq!(stored.len(), 7);
        for (at, (event, new)) in stored.iter().zip(expected).enumerate() {
            assert_eq!(event, &new.event.clone().with_seq(Seq(at as u64 + 1)), "event {} as stored", at + 1);
        }
    }
}
