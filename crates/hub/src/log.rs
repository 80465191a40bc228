//! The event log port and its first adapter, SQLite.
//!
//! The log is append-only: events get sequence numbers 1, 2, 3… with no gaps, assigned by
//! the log itself inside the transaction that stores them (a duplicate callback takes no
//! number). Retention deletes the oldest events in small batches; the numbering goes on
//! from the high-water mark kept in `log_meta`, so it never restarts.
//!
//! The port is object-safe (boxed futures) so that a second adapter (NATS JetStream, for
//! several hub replicas) can sit behind the same `Arc<dyn EventLog>`.

use std::future::Future;
use std::pin::Pin;

use domain::event::Event;
use domain::ids::Seq;
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
        // IMMEDIATE: the write lock is taken up front (waiting out the busy timeout), so the
        // transaction never has to upgrade a read snapshot — which fails at once with
        // SQLITE_BUSY when another connection (commands, audit) wrote in between.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(|e| LogError::new("begin an append", e))?;
        let mut next: i64 = sqlx::query_scalar("SELECT value FROM log_meta WHERE key = 'next_seq'")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| LogError::new("read the next sequence number", e))?;
        let mut out = Vec::with_capacity(events.len());
        for new in events {
            let body = serde_json::to_string(&new.event).map_err(|e| LogError::new("encode an event", e))?;
            let task = new.event.call.task.as_ref().map(|task| task.as_str().to_owned());
            let done = sqlx::query(
                "INSERT INTO events (seq, dedup_key, task_id, source_ms, received_ms, body) VALUES (?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (dedup_key) DO NOTHING",
            )
            .bind(next)
            .bind(new.dedup_key.as_deref())
            .bind(task)
            .bind(to_i64(new.event.source_ms.0))
            .bind(to_i64(new.received_ms))
            .bind(body)
            .execute(&mut *tx)
            .await
            .map_err(|e| LogError::new("append an event", e))?;
            if done.rows_affected() == 1 {
                out.push(Appended::Stored(Box::new(new.event.with_seq(Seq(next as u64)))));
                next += 1;
            } else {
                out.push(Appended::Duplicate);
            }
        }
        sqlx::query("UPDATE log_meta SET value = ? WHERE key = 'next_seq'")
            .bind(next)
            .execute(&mut *tx)
            .await
            .map_err(|e| LogError::new("advance the sequence number", e))?;
        tx.commit().await.map_err(|e| LogError::new("commit an append", e))?;
        Ok(out)
    }
}

/// SQLite integers are signed; times and sequence numbers stay far below `i64::MAX`.
fn to_i64(value: u64) -> i64 {
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
