//! The cache's one writer: a tokio task that owns the only read-write connection and runs
//! every write, fed by a bounded channel.
//!
//! Appends queued together are coalesced into one transaction (up to [`MAX_BATCH_EVENTS`]
//! events): their events, the rows projected from them (see `project.rs`) and the stream
//! cursor are committed together, so a crash leaves either all of it or none. Should the
//! coalesced transaction fail, each append is retried alone, so one caller's bad batch never
//! fails another's; each `append` answers after its own commit (or with its own error).
//!
//! An event whose sequence number is at or below the cursor (as it stood before its append)
//! is skipped: a re-delivered event is stored exactly once.
//!
//! After any failed write the connection is dropped and opened again for the next job —
//! SQLite may already have rolled the transaction back on its own (a full disk), and a fresh
//! connection is the one state known to be clean — and the folds the failed batch touched
//! are forgotten.
//!
//! What deliberately does not live here: SQL for reads (the read pool serves them), and the
//! statements of the individual write operations (each module brings its own as a closure).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use domain::event::Event;
use domain::ids::Seq;
use sqlx::{Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::error::{to_i64, CacheError};
use super::file::connect_writer;
use super::project::{Changes, Route, WorkingSet};
use super::retention::{self, PurgeStep, StepOutcome};

/// At most this many events are coalesced into one transaction (a single larger append is
/// still committed whole).
pub(super) const MAX_BATCH_EVENTS: usize = 2_000;

/// Jobs that may wait for the writer; a caller beyond that waits to enqueue.
pub(super) const QUEUE: usize = 64;

/// SQLite's largest page count (the default limit).
const UNLIMITED_PAGES: u64 = 4_294_967_294;

/// A boxed future, for write operations passed to the writer as closures.
pub(super) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What one append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Events stored now.
    pub stored: usize,
    /// Events skipped because the cursor already covered them (re-delivered).
    pub skipped: usize,
    /// The cursor after this append.
    pub cursor: Seq,
}

/// One write operation run by the writer on its connection; it answers its caller itself.
pub(super) trait WriteOp: Send {
    /// Runs the operation; true when it failed (the writer then renews its connection).
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool>;
    /// Answers the caller with `error` without running (no connection could be had).
    fn fail(self: Box<Self>, error: CacheError);
}

/// A write operation as a closure over the writer's connection.
pub(super) struct Op<F, T> {
    pub(super) f: F,
    pub(super) reply: oneshot::Sender<Result<T, CacheError>>,
}

impl<F, T> WriteOp for Op<F, T>
where
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, CacheError>> + Send + 'static,
    T: Send + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool> {
        let Op { f, reply } = *self;
        Box::pin(async move {
            let result = f(conn).await;
            let failed = result.is_err();
            // The caller may have given up waiting; the write stands either way.
            let _ = reply.send(result);
            failed
        })
    }

    fn fail(self: Box<Self>, error: CacheError) {
        let _ = self.reply.send(Err(error));
    }
}

/// Where an append's outcome goes.
pub(super) type AppendReply = oneshot::Sender<Result<Appended, CacheError>>;

/// What the writer is asked to do.
pub(super) enum Job {
    Append { events: Vec<Event>, reply: AppendReply },
    Write(Box<dyn WriteOp>),
    Purge { step: PurgeStep, cutoff_ms: i64, reply: oneshot::Sender<Result<StepOutcome, CacheError>> },
    SizeLimit { bytes: Option<u64>, reply: oneshot::Sender<Result<u64, CacheError>> },
    Close { reply: oneshot::Sender<()> },
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Append { .. } => "Append",
            Job::Write(_) => "Write",
            Job::Purge { .. } => "Purge",
            Job::SizeLimit { .. } => "SizeLimit",
            Job::Close { .. } => "Close",
        })
    }
}

/// The writer's connection, opened again after a failure, with the size limit it carries.
struct Link {
    path: PathBuf,
    conn: Option<SqliteConnection>,
    max_pages: Option<u64>,
}

impl Link {
    async fn conn(&mut self) -> Result<&mut SqliteConnection, CacheError> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => {
                let mut conn = connect_writer(&self.path, false).await?;
                if let Some(pages) = self.max_pages {
                    max_page_count(&mut conn, pages).await?;
                }
                conn
            }
        };
        Ok(self.conn.insert(conn))
    }

    fn renew(&mut self) {
        // Dropping the connection closes it; whatever SQLite had not committed is gone.
        self.conn = None;
    }

    async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            if let Err(error) = conn.close().await {
                tracing::warn!(%error, "closing the cache's writer connection failed");
            }
        }
    }

    /// Applies a size limit (`None`: none); answers the limit in bytes now in force.
    async fn set_limit(&mut self, bytes: Option<u64>) -> Result<u64, CacheError> {
        let conn = self.conn().await?;
        let page_size: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| CacheError::db("read the page size", e))?;
        let page_size = u64::try_from(page_size).unwrap_or(4_096).max(512);
        let pages = bytes.map_or(UNLIMITED_PAGES, |bytes| (bytes / page_size).max(1));
        let now = max_page_count(conn, pages).await?;
        self.max_pages = bytes.map(|_| pages);
        Ok(now.saturating_mul(page_size))
    }
}

/// Sets `PRAGMA max_page_count` (SQLite never sets it below the pages in use); answers the
/// value in force.
async fn max_page_count(conn: &mut SqliteConnection, pages: u64) -> Result<u64, CacheError> {
    let now: i64 = sqlx::query_scalar(&format!("PRAGMA max_page_count = {}", pages.min(UNLIMITED_PAGES)))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| CacheError::db("set the cache's size limit", e))?;
    Ok(u64::try_from(now).unwrap_or(0))
}

/// The writer task's state.
pub(super) struct Writer {
    link: Link,
    ws: WorkingSet,
    cursor: u64,
    jobs: mpsc::Receiver<Job>,
}

impl Writer {
    /// A writer over an open, migrated connection whose cursor is `cursor`.
    pub(super) fn new(path: PathBuf, conn: SqliteConnection, cursor: u64, jobs: mpsc::Receiver<Job>) -> Writer {
        Writer { link: Link { path, conn: Some(conn), max_pages: None }, ws: WorkingSet::default(), cursor, jobs }
    }

    /// Runs jobs until the cache is closed or every sender is gone.
    pub(super) async fn run(mut self) {
        let mut held: Option<Job> = None;
        loop {
            let job = match held.take() {
                Some(job) => job,
                None => match self.jobs.recv().await {
                    Some(job) => job,
                    None => break,
                },
            };
            match job {
                Job::Append { events, reply } => {
                    let mut batch = vec![(events, reply)];
                    let mut count = batch[0].0.len();
                    while count < MAX_BATCH_EVENTS {
                        match self.jobs.try_recv() {
                            Ok(Job::Append { events, reply }) => {
                                count += events.len();
                                batch.push((events, reply));
                            }
                            Ok(other) => {
                                held = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.append(batch).await;
                }
                Job::Write(op) => match self.link.conn().await {
                    Ok(conn) => {
                        if op.run(conn).await {
                            self.link.renew();
                        }
                    }
                    Err(error) => op.fail(error),
                },
                Job::Purge { step, cutoff_ms, reply } => {
                    let result = match self.link.conn().await {
                        Ok(conn) => retention::run_step(conn, &mut self.ws, step, cutoff_ms).await,
                        Err(error) => Err(error),
                    };
                    if result.is_err() {
                        self.link.renew();
                    }
                    let _ = reply.send(result);
                }
                Job::SizeLimit { bytes, reply } => {
                    let _ = reply.send(self.link.set_limit(bytes).await);
                }
                Job::Close { reply } => {
                    self.link.close().await;
                    let _ = reply.send(());
                    return;
                }
            }
        }
        self.link.close().await;
    }

    async fn append(&mut self, batch: Vec<(Vec<Event>, AppendReply)>) {
        let all: Vec<&[Event]> = batch.iter().map(|(events, _)| events.as_slice()).collect();
        match self.commit(&all).await {
            Ok(outcomes) => {
                for ((_, reply), outcome) in batch.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(error) if batch.len() == 1 => {
                tracing::warn!(%error, "cache append failed");
                for (_, reply) in batch {
                    let _ = reply.send(Err(error.clone()));
                }
            }
            Err(_) => {
                // Someone's batch failed the coalesced transaction: each on its own.
                for (events, reply) in batch {
                    let result = self.commit(&[events.as_slice()]).await;
                    if let Err(error) = &result {
                        tracing::warn!(%error, "cache append failed");
                    }
                    let _ = reply.send(result.map(|mut outcomes| outcomes.remove(0)));
                }
            }
        }
    }

    /// Commits `jobs` in one transaction; answers one outcome per job.
    async fn commit(&mut self, jobs: &[&[Event]]) -> Result<Vec<Appended>, CacheError> {
        self.ws.begin();
        let result = self.try_commit(jobs).await;
        match &result {
            Ok(_) => self.ws.settle(),
            Err(_) => {
                self.ws.discard();
                self.link.renew();
            }
        }
        result
    }

    async fn try_commit(&mut self, jobs: &[&[Event]]) -> Result<Vec<Appended>, CacheError> {
        let conn = self.link.conn().await?;
        let mut tx = conn.begin().await.map_err(|e| CacheError::db("begin an append", e))?;
        let mut cursor = self.cursor;
        let mut changes = Changes::default();
        let mut outcomes = Vec::with_capacity(jobs.len());
        for events in jobs {
            let start = cursor;
            let mut previous: Option<u64> = None;
            let (mut stored, mut skipped) = (0, 0);
            for (index, event) in events.iter().enumerate() {
                let seq = event.seq.ok_or(CacheError::MissingSeq { index })?.0;
                if let Some(previous) = previous.filter(|previous| seq <= *previous) {
                    return Err(CacheError::OutOfOrder { index, seq, previous });
                }
                previous = Some(seq);
                if seq <= start {
                    skipped += 1;
                    continue;
                }
                let route = self.ws.route(&mut tx, event).await?;
                match &route {
                    Route::Call(task) => self.ws.apply_to_call(&mut tx, task, event, seq, &mut changes).await?,
                    Route::Room(key) => self.ws.apply_to_room(&mut tx, key, event).await?,
                    Route::Nowhere => {}
                }
                changes.event(seq, event, &route)?;
                stored += 1;
                cursor = seq;
            }
            outcomes.push(Appended { stored, skipped, cursor: Seq(cursor) });
        }
        if cursor != self.cursor {
            self.ws.project(&mut changes);
            changes.write(&mut tx).await?;
            sqlx::query("UPDATE stream_cursor SET seq = ? WHERE id = 1")
                .bind(to_i64(cursor))
                .execute(&mut *tx)
                .await
                .map_err(|e| CacheError::db("advance the cursor", e))?;
        }
        tx.commit().await.map_err(|e| CacheError::db("commit an append", e))?;
        self.cursor = cursor;
        Ok(outcomes)
    }
}
