//! The console's local cache: one SQLite file per hub holding every event the console has
//! received, what the domain fold makes of them, and the supervisors' own review data.
//!
//! What lives here:
//! - [`Cache::open`]: WAL, synchronous NORMAL, foreign keys, busy timeout, migrations from
//!   `migrations/*.sql`. At start `PRAGMA quick_check` runs; a file that is not a database,
//!   fails the check or has a schema this build cannot migrate is renamed to
//!   `<name>.corrupt-<unix ms>` (with its `-wal`/`-shm`) and a fresh cache is created —
//!   [`Opened::moved_aside`] says so, and the caller tells the supervisor and subscribes to
//!   the hub from seq 0 to rebuild it (see `file.rs`).
//! - [`Cache::append`]: events from the hub's stream, in sequence order. One writer task owns
//!   the only read-write connection and commits in batches: the events (table `events`, so
//!   a call can be folded again offline — [`Cache::events_of`]), the rows derived from them
//!   with the domain fold (`calls`, `turns` with the seven metrics as columns, final
//!   `sentences` with their full-text index, `interventions`, `recordings`) and the stream
//!   cursor go in the same transaction, so a crash never skips or repeats an event; an event
//!   at or below the cursor is skipped (see `writer.rs`, `project.rs`).
//! - Reads through a separate pool of read-only connections: the history list with filters
//!   ([`Cache::calls`]), one call's summary, turns and interventions, full-text search over
//!   final sentences in Chinese and English with highlighted snippets ([`Cache::search`],
//!   `fts.rs` says how and why), recordings and their local files.
//! - Review data: notes, tags, QA scores — this console's own writes, kept until pushed to
//!   the hub, and every supervisor's as projected from the hub's events (`review.rs`).
//! - The supervisors' own data: alert rules kept as opaque JSON and fired alerts
//!   de-duplicated per call and rule (`alerts.rs`), local recording files with their sizes
//!   for resuming downloads (`recordings.rs`), the hub's audit entries (`history.rs`).
//! - Retention by age in small batches ([`Cache::purge_older_than`], `retention.rs`), the
//!   file's size and an optional size limit.
//!
//! One cache file belongs to one hub: the cursor is that hub's sequence number. A caller
//! that switches hubs opens another file.
//!
//! What deliberately does not live here: the hub client (it calls [`Cache::cursor`] and
//! [`Cache::append`]), alert evaluation (the alerts module stores rules and fired alerts
//! here), downloading recordings (that module records its files here and deletes the files
//! a purge names), and anything about the UI.

mod alerts;
mod error;
mod file;
pub mod fts;
mod history;
mod project;
mod recordings;
mod retention;
mod review;
mod search;
mod writer;

pub use alerts::{Acknowledgement, FiredAlert, FiredQuery, NewFiredAlert, StoredAlertRule};
pub use error::CacheError;
pub use file::MovedAside;
pub use history::{
    AuditRecord, CallPage, CallQuery, CallSummary, Intervention, InterventionKind, PageCursor, StatusFilter,
    TurnMetrics, TurnSummary,
};
pub use recordings::{CachedRecording, RecordingFile};
pub use retention::Purged;
pub use review::{NewNote, Note, Outgoing, QaScore, ReviewChange, ReviewKind, TagCount};
pub use search::{SearchFilter, SearchHit};
pub use writer::Appended;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use domain::event::Event;
use domain::ids::Seq;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use error::to_u64;
use writer::{BoxFuture, Job, Op, Writer};

/// Read-only connections in the read pool.
const READERS: u32 = 4;

/// The cache of one hub's events, for one console. Cheap to clone; every clone talks to the
/// same writer task and read pool.
#[derive(Debug, Clone)]
pub struct Cache {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    read: SqlitePool,
    jobs: mpsc::Sender<Job>,
}

/// An opened cache, and whether a damaged file had to be moved aside to open it.
#[derive(Debug)]
pub struct Opened {
    pub cache: Cache,
    /// `Some` when the file was damaged: it was renamed, and this cache is new and empty —
    /// tell the supervisor, and subscribe to the hub from seq 0.
    pub moved_aside: Option<MovedAside>,
}

impl Cache {
    /// Opens (creating if needed) the cache at `path`, checks its integrity, migrates it
    /// and starts its writer task (on the current tokio runtime).
    ///
    /// # Errors
    /// [`CacheError::Io`] when the folder cannot be created or a damaged file cannot be
    /// moved aside; [`CacheError::Open`] when SQLite cannot open, check or migrate the file
    /// for a reason that is not the file's own (permissions, a full disk).
    pub async fn open(path: impl AsRef<Path>) -> Result<Opened, CacheError> {
        let path = path.as_ref().to_path_buf();
        let (mut conn, moved_aside) = file::open_checked(&path).await?;
        let cursor: i64 = sqlx::query_scalar("SELECT seq FROM stream_cursor WHERE id = 1")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| CacheError::db("read the cursor", e))?;
        let read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(file::reader_options(&path)?)
            .await
            .map_err(|e| CacheError::Open {
            operation: "open the cache for reading",
            path: path.clone(),
            cause: e.to_string(),
        })?;
        let (jobs, receiver) = mpsc::channel(writer::QUEUE);
        tokio::spawn(Writer::new(path.clone(), conn, to_u64(cursor), receiver).run());
        Ok(Opened { cache: Cache { shared: Arc::new(Shared { path, read, jobs }) }, moved_aside })
    }

    /// The file this cache lives in.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Closes the read pool and stops the writer after the jobs queued before this call;
    /// the last connection to close folds the WAL back into the file. Every clone of this
    /// cache answers [`CacheError::Closed`] afterwards.
    pub async fn close(&self) {
        self.shared.read.close().await;
        let (reply, done) = oneshot::channel();
        if self.shared.jobs.send(Job::Close { reply }).await.is_ok() {
            let _ = done.await;
        }
    }

    /// The hub sequence number of the last stored event (0 for an empty cache): subscribe
    /// to the hub's stream after it.
    ///
    /// # Errors
    /// [`CacheError::Database`] when it cannot be read.
    pub async fn cursor(&self) -> Result<Seq, CacheError> {
        let seq: i64 = sqlx::query_scalar("SELECT seq FROM stream_cursor WHERE id = 1")
            .fetch_one(&self.shared.read)
            .await
            .map_err(|e| CacheError::db("read the cursor", e))?;
        Ok(Seq(to_u64(seq)))
    }

    /// Stores events from the hub's stream and everything derived from them, with the
    /// cursor, in one transaction; answers once it is committed. Events at or below the
    /// cursor are skipped (a re-delivery stores nothing twice).
    ///
    /// # Errors
    /// [`CacheError::MissingSeq`] / [`CacheError::OutOfOrder`] for an event without a
    /// sequence number or not after the one before it, [`CacheError::Full`] when the disk or
    /// the size limit is full, [`CacheError::Database`] otherwise. On any error nothing of
    /// the batch is stored and the cursor is unchanged.
    pub async fn append(&self, events: Vec<Event>) -> Result<Appended, CacheError> {
        if events.is_empty() {
            return Ok(Appended { stored: 0, skipped: 0, cursor: self.cursor().await? });
        }
        let (reply, answer) = oneshot::channel();
        self.send(Job::Append { events, reply }, "append events").await?;
        answer.await.map_err(|_| CacheError::Closed { operation: "append events" })?
    }

    /// The size of the cache on disk, WAL included, in bytes.
    ///
    /// # Errors
    /// [`CacheError::Io`] when the file's size cannot be read.
    pub fn size_bytes(&self) -> Result<u64, CacheError> {
        let mut total = 0;
        for path in [self.shared.path.clone(), file::sibling(&self.shared.path, "-wal")] {
            match std::fs::metadata(&path) {
                Ok(meta) => total += meta.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(CacheError::io("read the cache's size", &path, &e)),
            }
        }
        Ok(total)
    }

    /// Limits the database to about `bytes` (never below what it already holds; `None`
    /// lifts the limit). A write that would go beyond it fails with [`CacheError::Full`]
    /// and stores nothing. Answers the limit now in force, in bytes.
    ///
    /// # Errors
    /// [`CacheError::Database`] when SQLite refuses.
    pub async fn set_size_limit(&self, bytes: Option<u64>) -> Result<u64, CacheError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::SizeLimit { bytes, reply }, "set the cache's size limit").await?;
        answer.await.map_err(|_| CacheError::Closed { operation: "set the cache's size limit" })?
    }

    async fn send(&self, job: Job, operation: &'static str) -> Result<(), CacheError> {
        self.shared.jobs.send(job).await.map_err(|_| CacheError::Closed { operation })
    }

    /// Runs `f` on the writer's connection, after the writes queued before it.
    async fn write<T, F>(&self, operation: &'static str, f: F) -> Result<T, CacheError>
    where
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, CacheError>> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Write(Box::new(Op { f, reply })), operation).await?;
        answer.await.map_err(|_| CacheError::Closed { operation })?
    }

    fn reader(&self) -> &SqlitePool {
        &self.shared.read
    }
}
