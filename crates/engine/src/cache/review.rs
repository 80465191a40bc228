//! Review data: notes, tags and a QA score per call — what this console wrote, and what
//! other supervisors wrote as it arrives from the hub.
//!
//! Two ways in, one set of tables (`notes`, `call_tags`, `qa_scores`):
//! - **This console's writes** ([`Cache::add_note`], [`Cache::set_tags`],
//!   [`Cache::set_qa_score`]) go in at once, so reviewing works offline, and are marked as
//!   not yet pushed: a note carries `pushed = 0`, a tag set or score has a `review_outbox`
//!   row with what to push and when it was written. The console pushes them
//!   ([`Cache::unpushed_notes`], [`Cache::outbox`]) and records the hub's answer
//!   ([`Cache::note_pushed`], [`Cache::outbox_pushed`], or the `…_refused` twins when the
//!   hub refuses for good).
//! - **The hub's review events** (`NoteAdded`, `TagsSet`, `QaScored`, from every supervisor
//!   including this one) are projected by the writer in the same transaction as the events
//!   (`project.rs`): a note is upserted by its id, so this console's own note coming back is
//!   the same row, now pushed; the call's latest tag set and score replace the local ones
//!   unless this console wrote a later one it has not pushed yet (then that one stands, and
//!   is pushed); a pending change the hub's events have caught up with leaves the outbox.
//!
//! The rules for what a note, tag set or score may be are `domain::call::review`'s, the same
//! the hub applies. A call must be in the cache before it can be annotated; everything here
//! is deleted with its call by retention.

use domain::call::review::{self as rules, ReviewInputError};
use domain::ids::{RoundId, SourceMs, TaskId};
use serde::{Deserialize, Serialize};
use sqlx::{Connection, SqliteConnection};

use super::error::{to_i64, to_u64, CacheError};
use super::Cache;

/// The longest author or reviewer name, in characters.
const MAX_NAME_CHARS: usize = 64;
/// The most unpushed items read for one push round.
const PUSH_BATCH: i64 = 500;

/// A note to add to a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNote {
    pub task: TaskId,
    /// The turn the note is about, if any.
    pub round: Option<RoundId>,
    pub author: String,
    pub at: SourceMs,
    pub text: String,
}

/// A stored note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// This cache's row id.
    pub id: i64,
    /// The note's id everywhere (a UUID chosen by the console that wrote it).
    pub uid: String,
    pub task: TaskId,
    pub round: Option<RoundId>,
    pub author: String,
    pub at: SourceMs,
    pub text: String,
    /// The hub has it (it answered the push, or the note came from the hub).
    pub pushed: bool,
    /// Why the hub refused it for good; it is not pushed again.
    pub push_error: Option<String>,
}

/// A call's QA score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QaScore {
    /// 0–100.
    pub score: u8,
    pub reviewer: String,
    pub comment: Option<String>,
    pub at: SourceMs,
}

/// A tag and how many calls carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    pub tag: String,
    pub calls: usize,
}

/// A tag set or QA score this console wrote and the hub has not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub task: TaskId,
    pub change: ReviewChange,
    /// When it was written; the hub keeps it as the change's time.
    pub written: SourceMs,
    /// Why the hub refused it for good; it is not pushed again.
    pub push_error: Option<String>,
}

/// What an [`Outgoing`] change sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewChange {
    /// The call's whole tag set.
    Tags(Vec<String>),
    /// The call's QA score.
    Qa { score: u8, comment: Option<String> },
}

/// Which of a call's pending changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReviewKind {
    Tags,
    Qa,
}

impl ReviewKind {
    fn as_str(self) -> &'static str {
        match self {
            ReviewKind::Tags => "tags",
            ReviewKind::Qa => "qa",
        }
    }
}

impl ReviewChange {
    pub fn kind(&self) -> ReviewKind {
        match self {
            ReviewChange::Tags(_) => ReviewKind::Tags,
            ReviewChange::Qa { .. } => ReviewKind::Qa,
        }
    }
}

/// The stored form of an outbox QA body.
#[derive(Debug, Serialize, Deserialize)]
struct QaBody {
    score: u8,
    comment: Option<String>,
}

fn bad_input(error: ReviewInputError) -> CacheError {
    let what = match error.field {
        "text" => "note",
        "tags" => "tags",
        "score" => "QA score",
        "comment" => "QA comment",
        "round" => "note round",
        _ => "review input",
    };
    CacheError::BadInput { what, reason: error.reason }
}

/// `text` trimmed, if it is 1–`max` characters with no control characters.
fn checked_name(what: &'static str, text: &str, max: usize) -> Result<String, CacheError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(CacheError::BadInput { what, reason: "it is empty".into() });
    }
    if trimmed.chars().count() > max {
        return Err(CacheError::BadInput { what, reason: format!("it is longer than {max} characters") });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(CacheError::BadInput { what, reason: "it contains control characters".into() });
    }
    Ok(trimmed.to_owned())
}

/// Fails with [`CacheError::UnknownCall`] unless the cache holds `task`.
async fn require_call(conn: &mut SqliteConnection, task: &TaskId) -> Result<(), CacheError> {
    let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM calls WHERE task_id = ?")
        .bind(task.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| CacheError::db("find a call", e))?;
    known.map(|_| ()).ok_or_else(|| CacheError::UnknownCall { task: task.clone() })
}

fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

type NoteRow = (i64, String, String, Option<String>, String, i64, String, i64, Option<String>);

const NOTE_COLUMNS: &str = "id, note_id, task_id, round_id, author, at_ms, text, pushed, push_error";

fn note_of(row: NoteRow) -> Note {
    let (id, uid, task, round, author, at, text, pushed, push_error) = row;
    Note {
        id,
        uid,
        task: TaskId::new(task),
        round: round.map(RoundId::new),
        author,
        at: SourceMs(to_u64(at)),
        text,
        pushed: pushed != 0,
        push_error,
    }
}

impl Cache {
    /// Adds this console's note to a call, not yet pushed, under a fresh UUID; answers it
    /// as stored.
    ///
    /// # Errors
    /// [`CacheError::BadInput`] for an empty or over-long text, author or round;
    /// [`CacheError::UnknownCall`]; [`CacheError::Full`] / [`CacheError::Database`].
    pub async fn add_note(&self, note: NewNote) -> Result<Note, CacheError> {
        let author = checked_name("note author", &note.author, MAX_NAME_CHARS)?;
        let text = rules::note_text(&note.text).map_err(bad_input)?;
        if let Some(round) = &note.round {
            rules::note_round(round.as_str()).map_err(bad_input)?;
        }
        let uid = uuid::Uuid::new_v4().to_string();
        self.write("add a note", move |conn| {
            Box::pin(async move {
                let mut tx = conn.begin().await.map_err(|e| CacheError::db("add a note", e))?;
                require_call(&mut tx, &note.task).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO notes (note_id, task_id, round_id, author, at_ms, text, pushed) \
                     VALUES (?, ?, ?, ?, ?, ?, 0) RETURNING id",
                )
                .bind(&uid)
                .bind(note.task.as_str())
                .bind(note.round.as_ref().map(RoundId::as_str))
                .bind(&author)
                .bind(to_i64(note.at.0))
                .bind(&text)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| CacheError::db("add a note", e))?;
                tx.commit().await.map_err(|e| CacheError::db("add a note", e))?;
                Ok(Note {
                    id,
                    uid,
                    task: note.task,
                    round: note.round,
                    author,
                    at: note.at,
                    text,
                    pushed: false,
                    push_error: None,
                })
            })
        })
        .await
    }

    /// A call's notes, oldest first: this console's and those that came from the hub.
    ///
    /// # Errors
    /// [`CacheError::Database`] when the query fails.
    pub async fn notes(&self, task: &TaskId) -> Result<Vec<Note>, CacheError> {
        let rows: Vec<NoteRow> =
            sqlx::query_as(&format!("SELECT {NOTE_COLUMNS} FROM notes WHERE task_id = ? ORDER BY at_ms, note_id"))
                .bind(task.as_str())
                .fetch_all(self.reader())
                .await
                .map_err(|e| CacheError::db("read notes", e))?;
        Ok(rows.into_iter().map(note_of).collect())
    }

    /// Replaces a call's tags (trimmed, without duplicates) with this console's set, to be
    /// pushed; answers them sorted.
    ///
    /// # Errors
    /// [`CacheError::BadInput`] for an empty or over-long tag or more than 32 tags;
    /// [`CacheError::UnknownCall`]; [`CacheError::Full`] / [`CacheError::Database`].
    pub async fn set_tags(&self, task: &TaskId, tags: &[String]) -> Result<Vec<String>, CacheError> {
        let clean = rules::tag_set(tags).map_err(bad_input)?;
        let task = task.clone();
        let json = serde_json::to_string(&clean)
            .map_err(|e| CacheError::Database { operation: "set tags", cause: e.to_string() })?;
        let written = now_ms();
        self.write("set tags", move |conn| {
            Box::pin(async move {
                let mut tx = conn.begin().await.map_err(|e| CacheError::db("set tags", e))?;
                require_call(&mut tx, &task).await?;
                sqlx::query("DELETE FROM call_tags WHERE task_id = ?")
                    .bind(task.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| CacheError::db("set tags", e))?;
                sqlx::query("INSERT INTO call_tags (task_id, tag) SELECT ?1, value FROM json_each(?2)")
                    .bind(task.as_str())
                    .bind(&json)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| CacheError::db("set tags", e))?;
                queue(&mut tx, &task, ReviewKind::Tags, &json, written).await?;
                tx.commit().await.map_err(|e| CacheError::db("set tags", e))?;
                Ok(clean)
            })
        })
        .await
    }

    /// A call's tags, sorted.
    ///
    /// # Errors
    /// [`CacheError::Database`] when the query fails.
    pub async fn tags(&self, task: &TaskId) -> Result<Vec<String>, CacheError> {
        sqlx::query_scalar("SELECT tag FROM call_tags WHERE task_id = ? ORDER BY tag")
            .bind(task.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(|e| CacheError::db("read tags", e))
    }

    /// Every tag in use, with how many calls carry it, most used first.
    ///
    /// # Errors
    /// [`CacheError::Database`] when the query fails.
    pub async fn all_tags(&self) -> Result<Vec<TagCount>, CacheError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT tag, count(*) AS n FROM call_tags GROUP BY tag ORDER BY n DESC, tag")
                .fetch_all(self.reader())
                .await
                .map_err(|e| CacheError::db("read tags", e))?;
        Ok(rows.into_iter().map(|(tag, n)| TagCount { tag, calls: usize::try_from(n).unwrap_or(0) }).collect())
    }

    /// Sets (or replaces) a call's QA score with this console's, to be pushed (`score.at`
    /// is when it was written).
    ///
    /// # Errors
    /// [`CacheError::BadInput`] for a score above 100, an empty reviewer or an over-long
    /// comment; [`CacheError::UnknownCall`]; [`CacheError::Full`] / [`CacheError::Database`].
    pub async fn set_qa_score(&self, task: &TaskId, score: QaScore) -> Result<(), CacheError> {
        let (value, comment) = rules::qa_score(i64::from(score.score), score.comment.as_deref()).map_err(bad_input)?;
        let reviewer = checked_name("QA reviewer", &score.reviewer, MAX_NAME_CHARS)?;
        let body = serde_json::to_string(&QaBody { score: value, comment: comment.clone() })
            .map_err(|e| CacheError::Database { operation: "set a QA score", cause: e.to_string() })?;
        let task = task.clone();
        self.write("set a QA score", move |conn| {
            Box::pin(async move {
                let mut tx = conn.begin().await.map_err(|e| CacheError::db("set a QA score", e))?;
                require_call(&mut tx, &task).await?;
                sqlx::query(
                    "INSERT INTO qa_scores (task_id, score, reviewer, comment, at_ms) VALUES (?, ?, ?, ?, ?) \
                     ON CONFLICT (task_id) DO UPDATE SET score = excluded.score, reviewer = excluded.reviewer, \
                     comment = excluded.comment, at_ms = excluded.at_ms",
                )
                .bind(task.as_str())
                .bind(i64::from(value))
                .bind(reviewer)
                .bind(comment)
                .bind(to_i64(score.at.0))
                .execute(&mut *tx)
                .await
                .map_err(|e| CacheError::db("set a QA score", e))?;
                queue(&mut tx, &task, ReviewKind::Qa, &body, score.at.0).await?;
                tx.commit().await.map_err(|e| CacheError::db("set a QA score", e))
            })
        })
        .await
    }

    /// A call's QA score, if it has one.
    ///
    /// # Errors
    /// [`CacheError::Database`] when the query fails.
    pub async fn qa_score(&self, task: &TaskId) -> Result<Option<QaScore>, CacheError> {
        let row: Option<(i64, String, Option<String>, i64)> =
            sqlx::query_as("SELECT score, reviewer, comment, at_ms FROM qa_scores WHERE task_id = ?")
                .bind(task.as_str())
                .fetch_optional(self.reader())
                .await
                .map_err(|e| CacheError::db("read a QA score", e))?;
        row.map(|(score, reviewer, comment, at)| {
            let score = u8::try_from(score)
                .map_err(|_| CacheError::unreadable(format!("QA score of {task}"), format!("{score} is not 0–100")))?;
            Ok(QaScore { score, reviewer, comment, at: SourceMs(to_u64(at)) })
        })
        .transpose()
    }

    /// This console's notes the hub does not have yet and has not refused, oldest first
    /// (at most 500 at a time).
    ///
    /// # Errors
    /// [`CacheError::Database`] when the query fails.
    pub async fn unpushed_notes(&self) -> Result<Vec<Note>, CacheError> {
        let rows: Vec<NoteRow> = sqlx::query_as(&format!(
            "SELECT {NOTE_COLUMNS} FROM notes WHERE pushed = 0 AND push_error IS NULL ORDER BY id LIMIT ?"
        ))
        .bind(PUSH_BATCH)
        .fetch_all(self.reader())
        .await
        .map_err(|e| CacheError::db("read unpushed notes", e))?;
        Ok(rows.into_iter().map(note_of).collect())
    }

    /// The tag sets and QA scores this console wrote that the hub has not acknowledged: of
    /// one call, or of every call (at most 500, those still to push first); refused ones
    /// included, with their reason.
    ///
    /// # Errors
    /// [`CacheError::Unreadable`] for a damaged row; [`CacheError::Database`].
    pub async fn outbox(&self, task: Option<&TaskId>) -> Result<Vec<Outgoing>, CacheError> {
        let rows: Vec<(String, String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT task_id, kind, body, written_ms, push_error FROM review_outbox \
             WHERE ?1 IS NULL OR task_id = ?1 ORDER BY push_error IS NOT NULL, written_ms, task_id, kind LIMIT ?2",
        )
        .bind(task.map(TaskId::as_str))
        .bind(PUSH_BATCH)
        .fetch_all(self.reader())
        .await
        .map_err(|e| CacheError::db("read the review outbox", e))?;
        rows.into_iter()
            .map(|(task, kind, body, written, push_error)| {
                let unreadable = |cause: String| CacheError::unreadable(format!("{kind} to push for {task}"), cause);
                let change = match kind.as_str() {
                    "tags" => ReviewChange::Tags(serde_json::from_str(&body).map_err(|e| unreadable(e.to_string()))?),
                    "qa" => {
                        let qa: QaBody = serde_json::from_str(&body).map_err(|e| unreadable(e.to_string()))?;
                        ReviewChange::Qa { score: qa.score, comment: qa.comment }
                    }
                    other => return Err(unreadable(format!("unknown kind {other:?}"))),
                };
                Ok(Outgoing { task: TaskId::new(task), change, written: SourceMs(to_u64(written)), push_error })
            })
            .collect()
    }

    /// Marks one of this console's notes as having reached the hub.
    ///
    /// # Errors
    /// [`CacheError::Full`] / [`CacheError::Database`].
    pub async fn note_pushed(&self, task: &TaskId, uid: &str) -> Result<(), CacheError> {
        self.mark_note(task, uid, None).await
    }

    /// Marks one of this console's notes as refused by the hub for good (`reason` says
    /// why); it is not pushed again.
    ///
    /// # Errors
    /// [`CacheError::Full`] / [`CacheError::Database`].
    pub async fn note_refused(&self, task: &TaskId, uid: &str, reason: &str) -> Result<(), CacheError> {
        self.mark_note(task, uid, Some(reason.to_owned())).await
    }

    async fn mark_note(&self, task: &TaskId, uid: &str, refused: Option<String>) -> Result<(), CacheError> {
        let (task, uid) = (task.clone(), uid.to_owned());
        self.write("mark a note pushed", move |conn| {
            Box::pin(async move {
                // A refusal never overrides the hub's own word that it has the note.
                let query = match refused {
                    Some(reason) => sqlx::query(
                        "UPDATE notes SET push_error = ?3 WHERE task_id = ?1 AND note_id = ?2 AND pushed = 0",
                    )
                    .bind(task.as_str())
                    .bind(uid)
                    .bind(reason),
                    None => sqlx::query(
                        "UPDATE notes SET pushed = 1, push_error = NULL WHERE task_id = ?1 AND note_id = ?2",
                    )
                    .bind(task.as_str())
                    .bind(uid),
                };
                query.execute(&mut *conn).await.map_err(|e| CacheError::db("mark a note pushed", e))?;
                Ok(())
            })
        })
        .await
    }

    /// The hub acknowledged the change of `kind` written at `written`: it leaves the
    /// outbox (a later change written since stays).
    ///
    /// # Errors
    /// [`CacheError::Full`] / [`CacheError::Database`].
    pub async fn outbox_pushed(&self, task: &TaskId, kind: ReviewKind, written: SourceMs) -> Result<(), CacheError> {
        self.mark_outbox(task, kind, written, None).await
    }

    /// The hub refused the change of `kind` written at `written` for good (`reason` says
    /// why); it stays, marked, and is not pushed again.
    ///
    /// # Errors
    /// [`CacheError::Full`] / [`CacheError::Database`].
    pub async fn outbox_refused(
        &self,
        task: &TaskId,
        kind: ReviewKind,
        written: SourceMs,
        reason: &str,
    ) -> Result<(), CacheError> {
        self.mark_outbox(task, kind, written, Some(reason.to_owned())).await
    }

    async fn mark_outbox(
        &self,
        task: &TaskId,
        kind: ReviewKind,
        written: SourceMs,
        refused: Option<String>,
    ) -> Result<(), CacheError> {
        let task = task.clone();
        self.write("update the review outbox", move |conn| {
            Box::pin(async move {
                let query = match refused {
                    Some(reason) => sqlx::query(
                        "UPDATE review_outbox SET push_error = ?4 WHERE task_id = ?1 AND kind = ?2 AND written_ms = ?3",
                    )
                    .bind(task.as_str())
                    .bind(kind.as_str())
                    .bind(to_i64(written.0))
                    .bind(reason),
                    None => {
                        sqlx::query("DELETE FROM review_outbox WHERE task_id = ?1 AND kind = ?2 AND written_ms = ?3")
                            .bind(task.as_str())
                            .bind(kind.as_str())
                            .bind(to_i64(written.0))
                    }
                };
                query.execute(&mut *conn).await.map_err(|e| CacheError::db("update the review outbox", e))?;
                Ok(())
            })
        })
        .await
    }
}

/// Queues this console's change of `kind` for the hub, replacing an older one not yet
/// pushed.
async fn queue(
    conn: &mut SqliteConnection,
    task: &TaskId,
    kind: ReviewKind,
    body: &str,
    written: u64,
) -> Result<(), CacheError> {
    sqlx::query(
        "INSERT INTO review_outbox (task_id, kind, body, written_ms) VALUES (?, ?, ?, ?) \
         ON CONFLICT (task_id, kind) DO UPDATE SET body = excluded.body, written_ms = excluded.written_ms, \
         push_error = NULL",
    )
    .bind(task.as_str())
    .bind(kind.as_str())
    .bind(body)
    .bind(to_i64(written))
    .execute(&mut *conn)
    .await
    .map_err(|e| CacheError::db("queue a review change", e))?;
    Ok(())
}
