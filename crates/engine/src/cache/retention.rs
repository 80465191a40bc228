//! Retention: finished calls older than a cut-off are deleted with everything that hangs on
//! them, in small transactions so that appends never wait long behind a purge.
//!
//! A purge is a series of steps, each one writer job and one transaction touching about
//! [`BATCH_ROWS`] rows (a single call with more events is still deleted whole); the caller
//! yields between steps, so appends queued meanwhile run in between. In order:
//! 1. calls that are not live and whose latest source time is before the cut-off — their
//!    events, turns, sentences (and search index), interventions, notes, tags, QA scores
//!    and fired alerts;
//! 2. room, media and recording events before the cut-off in rooms no remaining call uses,
//!    and AI events that were never folded into a call;
//! 3. recordings in such rooms whose last callback is before the cut-off, with their local
//!    file rows;
//! 4. local file rows of recordings the cache no longer knows, untouched since the cut-off;
//! 5. audit entries before the cut-off;
//! 6. free pages given back to the file system (`PRAGMA incremental_vacuum`).
//!
//! Live calls are kept however old: a call is only purged once its 902 (or failed 901) is
//! in. Local recording files are not deleted here: their paths are answered in
//! [`Purged::local_files`] for the recordings module, which owns the folder.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::ids::{SourceMs, TaskId};
use sqlx::{Connection, SqliteConnection};
use tokio::sync::oneshot;

use super::error::{to_i64, to_u64, CacheError};
use super::project::WorkingSet;
use super::writer::Job;
use super::Cache;

/// Rows deleted per transaction, about.
pub(super) const BATCH_ROWS: i64 = 500;
/// Pages given back per vacuum step.
const VACUUM_PAGES: i64 = 2_000;
/// Calls looked at per step (their events are counted towards [`BATCH_ROWS`]).
const CALLS_PER_STEP: i64 = 64;

/// One kind of purge step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PurgeStep {
    Calls,
    RoomEvents,
    Recordings,
    OrphanFiles,
    Audit,
    Vacuum,
}

impl PurgeStep {
    const ALL: [PurgeStep; 6] = [
        PurgeStep::Calls,
        PurgeStep::RoomEvents,
        PurgeStep::Recordings,
        PurgeStep::OrphanFiles,
        PurgeStep::Audit,
        PurgeStep::Vacuum,
    ];
}

/// What one step did.
#[derive(Debug, Default)]
pub(super) struct StepOutcome {
    rows: u64,
    events: u64,
    files: Vec<PathBuf>,
    done: bool,
}

/// What a purge deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    pub calls: u64,
    /// Events of those calls, and room events no call needs any more.
    pub events: u64,
    pub recordings: u64,
    pub audit_entries: u64,
    /// Local recording files whose rows were deleted: the caller deletes the files.
    pub local_files: Vec<PathBuf>,
    /// Transactions the purge took.
    pub steps: u64,
}

impl Cache {
    /// Deletes finished calls whose latest event is older than `age` (by the system clock),
    /// and what only they needed; see the module header for what goes and in what order.
    ///
    /// # Errors
    /// [`CacheError`] when a step fails; the steps before it stay done, the failed one
    /// leaves nothing half-deleted.
    pub async fn purge_older_than(&self, age: Duration) -> Result<Purged, CacheError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis());
        let now = u64::try_from(now).unwrap_or(u64::MAX);
        let age = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
        self.purge_finished_before(SourceMs(now.saturating_sub(age))).await
    }

    /// Deletes finished calls whose latest event's source time is before `cutoff`, and what
    /// only they needed.
    ///
    /// # Errors
    /// As [`Cache::purge_older_than`].
    pub async fn purge_finished_before(&self, cutoff: SourceMs) -> Result<Purged, CacheError> {
        let cutoff_ms = to_i64(cutoff.0);
        let mut purged = Purged::default();
        for step in PurgeStep::ALL {
            loop {
                let (reply, answer) = oneshot::channel();
                self.send(Job::Purge { step, cutoff_ms, reply }, "purge old calls").await?;
                let outcome = answer.await.map_err(|_| CacheError::Closed { operation: "purge old calls" })??;
                purged.steps += 1;
                purged.events += outcome.events;
                purged.local_files.extend(outcome.files);
                match step {
                    PurgeStep::Calls => purged.calls += outcome.rows,
                    PurgeStep::RoomEvents => purged.events += outcome.rows,
                    PurgeStep::Recordings => purged.recordings += outcome.rows,
                    PurgeStep::Audit => purged.audit_entries += outcome.rows,
                    PurgeStep::OrphanFiles | PurgeStep::Vacuum => {}
                }
                if outcome.done {
                    break;
                }
                // Let queued appends and reads run between the small transactions.
                tokio::task::yield_now().await;
            }
        }
        Ok(purged)
    }
}

/// Runs one step on the writer's connection (called by the writer task).
pub(super) async fn run_step(
    conn: &mut SqliteConnection,
    ws: &mut WorkingSet,
    step: PurgeStep,
    cutoff_ms: i64,
) -> Result<StepOutcome, CacheError> {
    match step {
        PurgeStep::Calls => purge_calls(conn, ws, cutoff_ms).await,
        PurgeStep::RoomEvents => {
            let deleted = sqlx::query(
                "DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e WHERE e.task_id IS NULL \
                 AND e.source_ms < ?1 AND (e.room_id IS NULL OR NOT EXISTS \
                 (SELECT 1 FROM calls c WHERE c.room_id = e.room_id)) LIMIT ?2)",
            )
            .bind(cutoff_ms)
            .bind(BATCH_ROWS)
            .execute(&mut *conn)
            .await
            .map_err(|e| CacheError::db("purge old room events", e))?
            .rows_affected();
            if deleted > 0 {
                ws.forget_rooms();
            }
            Ok(StepOutcome { rows: deleted, done: deleted < to_u64(BATCH_ROWS), ..StepOutcome::default() })
        }
        PurgeStep::Recordings => purge_recordings(conn, ws, cutoff_ms).await,
        PurgeStep::OrphanFiles => {
            let paths: Vec<String> = sqlx::query_scalar(
                "DELETE FROM recording_files WHERE (recording_id, name) IN (SELECT f.recording_id, f.name \
                 FROM recording_files f WHERE f.updated_ms < ?1 AND NOT EXISTS \
                 (SELECT 1 FROM recordings r WHERE r.recording_id = f.recording_id) LIMIT ?2) RETURNING local_path",
            )
            .bind(cutoff_ms)
            .bind(BATCH_ROWS)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| CacheError::db("purge old recording files", e))?;
            let done = paths.len() < usize::try_from(BATCH_ROWS).unwrap_or(usize::MAX);
            Ok(StepOutcome { files: paths.into_iter().map(PathBuf::from).collect(), done, ..StepOutcome::default() })
        }
        PurgeStep::Audit => {
            let deleted = sqlx::query(
                "DELETE FROM audit_entries WHERE id IN (SELECT id FROM audit_entries WHERE at_ms < ?1 LIMIT ?2)",
            )
            .bind(cutoff_ms)
            .bind(BATCH_ROWS)
            .execute(&mut *conn)
            .await
            .map_err(|e| CacheError::db("purge old audit entries", e))?
            .rows_affected();
            Ok(StepOutcome { rows: deleted, done: deleted < to_u64(BATCH_ROWS), ..StepOutcome::default() })
        }
        PurgeStep::Vacuum => {
            let before = free_pages(conn).await?;
            sqlx::query(&format!("PRAGMA incremental_vacuum({VACUUM_PAGES})"))
                .execute(&mut *conn)
                .await
                .map_err(|e| CacheError::db("give free pages back", e))?;
            let after = free_pages(conn).await?;
            // Done when nothing is left, or when nothing moved: a file made without
            // incremental auto-vacuum (an old or foreign one) never gives pages back here,
            // and must not keep the purge looping.
            Ok(StepOutcome { done: after == 0 || after >= before, ..StepOutcome::default() })
        }
    }
}

async fn purge_calls(
    conn: &mut SqliteConnection,
    ws: &mut WorkingSet,
    cutoff_ms: i64,
) -> Result<StepOutcome, CacheError> {
    let candidates: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.task_id, (SELECT count(*) FROM events e WHERE e.task_id = c.task_id) FROM calls c \
         WHERE c.live = 0 AND c.last_ms < ?1 ORDER BY c.last_ms, c.task_id LIMIT ?2",
    )
    .bind(cutoff_ms)
    .bind(CALLS_PER_STEP)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| CacheError::db("find old calls", e))?;
    let mut tasks = Vec::new();
    let mut events = 0;
    for (task, count) in &candidates {
        if !tasks.is_empty() && events + count > BATCH_ROWS {
            break;
        }
        tasks.push(task.clone());
        events += count;
    }
    let done = tasks.len() == candidates.len() && candidates.len() < usize::try_from(CALLS_PER_STEP).unwrap_or(0);
    if tasks.is_empty() {
        return Ok(StepOutcome { done: true, ..StepOutcome::default() });
    }
    let list = serde_json::to_string(&tasks)
        .map_err(|e| CacheError::Database { operation: "purge old calls", cause: e.to_string() })?;
    let mut tx = conn.begin().await.map_err(|e| CacheError::db("purge old calls", e))?;
    let mut deleted = [0u64; 4];
    for (index, sql) in [
        "DELETE FROM events WHERE task_id IN (SELECT value FROM json_each(?1))",
        // Explicitly, so the search index's trigger sees every sentence go.
        "DELETE FROM sentences WHERE task_id IN (SELECT value FROM json_each(?1))",
        "DELETE FROM fired_alerts WHERE task_id IN (SELECT value FROM json_each(?1))",
        // Turns, interventions, notes, tags and QA scores go with the call (ON DELETE CASCADE).
        "DELETE FROM calls WHERE task_id IN (SELECT value FROM json_each(?1))",
    ]
    .into_iter()
    .enumerate()
    {
        deleted[index] = sqlx::query(sql)
            .bind(&list)
            .execute(&mut *tx)
            .await
            .map_err(|e| CacheError::db("purge old calls", e))?
            .rows_affected();
    }
    tx.commit().await.map_err(|e| CacheError::db("purge old calls", e))?;
    let tasks: Vec<TaskId> = tasks.into_iter().map(TaskId::new).collect();
    ws.forget_calls(&tasks);
    Ok(StepOutcome { rows: deleted[3], events: deleted[0], files: Vec::new(), done })
}

async fn purge_recordings(
    conn: &mut SqliteConnection,
    ws: &mut WorkingSet,
    cutoff_ms: i64,
) -> Result<StepOutcome, CacheError> {
    let mut tx = conn.begin().await.map_err(|e| CacheError::db("purge old recordings", e))?;
    let ids: Vec<String> = sqlx::query_scalar(
        "DELETE FROM recordings WHERE recording_id IN (SELECT r.recording_id FROM recordings r \
         WHERE r.last_ms < ?1 AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.room_id = r.room_id) LIMIT ?2) \
         RETURNING recording_id",
    )
    .bind(cutoff_ms)
    .bind(BATCH_ROWS)
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| CacheError::db("purge old recordings", e))?;
    let mut files = Vec::new();
    if !ids.is_empty() {
        let list = serde_json::to_string(&ids)
            .map_err(|e| CacheError::Database { operation: "purge old recordings", cause: e.to_string() })?;
        let paths: Vec<String> = sqlx::query_scalar(
            "DELETE FROM recording_files WHERE recording_id IN (SELECT value FROM json_each(?1)) RETURNING local_path",
        )
        .bind(list)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| CacheError::db("purge old recordings", e))?;
        files.extend(paths.into_iter().map(PathBuf::from));
    }
    tx.commit().await.map_err(|e| CacheError::db("purge old recordings", e))?;
    if !ids.is_empty() {
        ws.forget_rooms();
    }
    let done = ids.len() < usize::try_from(BATCH_ROWS).unwrap_or(usize::MAX);
    Ok(StepOutcome { rows: ids.len() as u64, events: 0, files, done })
}

/// The file's free pages (`PRAGMA freelist_count`).
async fn free_pages(conn: &mut SqliteConnection) -> Result<i64, CacheError> {
    sqlx::query_scalar("PRAGMA freelist_count")
        .fetch_one(conn)
        .await
        .map_err(|e| CacheError::db("give free pages back", e))
}
