//! Review data the supervisors write themselves: notes, tags and a QA score per call.
//!
//! These exist only in this cache (the hub does not hold them); they are deleted with their
//! call by retention. A call must be in the cache before it can be annotated.

use domain::ids::{RoundId, SourceMs, TaskId};
use serde::{Deserialize, Serialize};
use sqlx::{Connection, SqliteConnection};

use super::error::{to_i64, to_u64, CacheError};
use super::Cache;

/// The longest note, in characters.
const MAX_NOTE_CHARS: usize = 10_000;
/// The longest tag, author or reviewer name, in characters.
const MAX_NAME_CHARS: usize = 64;
/// The most tags one call carries.
const MAX_TAGS: usize = 32;
/// The longest QA comment, in characters.
const MAX_COMMENT_CHARS: usize = 2_000;

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
    pub id: i64,
    pub task: TaskId,
    pub round: Option<RoundId>,
    pub author: String,
    pub at: SourceMs,
    pub text: String,
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

impl Cache {
    /// Adds a note to a call; answers it as stored.
    ///
    /// # Errors
    /// [`CacheError::BadInput`] for an empty or over-long text or author;
    /// [`CacheError::UnknownCall`]; [`CacheError::Full`] / [`CacheError::Database`].
    pub async fn add_note(&self, note: NewNote) -> Result<Note, CacheError> {
        let author = checked_name("note author", &note.author, MAX_NAME_CHARS)?;
        let text = note.text.trim().to_owned();
        if text.is_empty() {
            return Err(CacheError::BadInput { what: "note", reason: "it is empty".into() });
        }
        if text.chars().count() > MAX_NOTE_CHARS {
            return Err(CacheError::BadInput {
                what: "note",
                reason: format!("it is longer than {MAX_NOTE_CHARS} characters"),
            });
        }
        self.write("add a note", move |conn| {
            Box::pin(async move {
                let mut tx = conn.begin().await.map_err(|e| CacheError::db("add a note", e))?;
                require_call(&mut tx, &note.task).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO notes (task_id, round_id, author, at_ms, text) VALUES (?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(note.task.as_str())
                .bind(note.round.as_ref().map(RoundId::as_str))
                .bind(&author)
                .bind(to_i64(note.at.0))
                .bind(&text)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| CacheError::db("add a note", e))?;
                tx.commit().await.map_err(|e| CacheError::db("add a note", e))?;
                Ok(Note { id, task: note.task, round: note.round, author, at: note.at, text })
            })
        })
        .await
    }

    /// A call's notes, oldest first.
    ///
    /// # Errors
    /// [`CacheError::Database`] when the query fails.
    pub async fn notes(&self, task: &TaskId) -> Result<Vec<Note>, CacheError> {
        let rows: Vec<(i64, Option<String>, String, i64, String)> =
            sqlx::query_as("SELECT id, round_id, author, at_ms, text FROM notes WHERE task_id = ? ORDER BY at_ms, id")
                .bind(task.as_str())
                .fetch_all(self.reader())
                .await
                .map_err(|e| CacheError::db("read notes", e))?;
        Ok(rows
            .into_iter()
            .map(|(id, round, author, at, text)| Note {
                id,
                task: task.clone(),
                round: round.map(RoundId::new),
                author,
                at: SourceMs(to_u64(at)),
                text,
            })
            .collect())
    }

    /// Replaces a call's tags (trimmed, without duplicates); answers them sorted.
    ///
    /// # Errors
    /// [`CacheError::BadInput`] for an empty or over-long tag or more than 32 tags;
    /// [`CacheError::UnknownCall`]; [`CacheError::Full`] / [`CacheError::Database`].
    pub async fn set_tags(&self, task: &TaskId, tags: &[String]) -> Result<Vec<String>, CacheError> {
        let mut clean =
            tags.iter().map(|tag| checked_name("tag", tag, MAX_NAME_CHARS)).collect::<Result<Vec<_>, _>>()?;
        clean.sort();
        clean.dedup();
        if clean.len() > MAX_TAGS {
            return Err(CacheError::BadInput { what: "tags", reason: format!("a call carries at most {MAX_TAGS}") });
        }
        let task = task.clone();
        let json = serde_json::to_string(&clean)
            .map_err(|e| CacheError::Database { operation: "set tags", cause: e.to_string() })?;
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
                    .bind(json)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| CacheError::db("set tags", e))?;
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

    /// Sets (or replaces) a call's QA score.
    ///
    /// # Errors
    /// [`CacheError::BadInput`] for a score above 100, an empty reviewer or an over-long
    /// comment; [`CacheError::UnknownCall`]; [`CacheError::Full`] / [`CacheError::Database`].
    pub async fn set_qa_score(&self, task: &TaskId, score: QaScore) -> Result<(), CacheError> {
        if score.score > 100 {
            return Err(CacheError::BadInput { what: "QA score", reason: format!("{} is above 100", score.score) });
        }
        let reviewer = checked_name("QA reviewer", &score.reviewer, MAX_NAME_CHARS)?;
        let comment = score.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
        if comment.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
            return Err(CacheError::BadInput {
                what: "QA comment",
                reason: format!("it is longer than {MAX_COMMENT_CHARS} characters"),
            });
        }
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
                .bind(i64::from(score.score))
                .bind(reviewer)
                .bind(comment)
                .bind(to_i64(score.at.0))
                .execute(&mut *tx)
                .await
                .map_err(|e| CacheError::db("set a QA score", e))?;
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
}
