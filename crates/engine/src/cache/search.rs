//! Full-text search over final sentences, newest first, with highlighted snippets.
//!
//! Matching is `fts.rs`'s: Chinese by characters side by side (2-character queries such as
//! 投诉 included), English by words and word prefixes, every term required. Hits come newest
//! first by source time, read from the index in rowid order (sentences are keyed by source
//! time, see `project.rs`), so a page costs about the same however many sentences match; the
//! snippets are made in a second statement for just the hits on the page. [`SearchFilter`]
//! narrows the hits by their call (start time, tag, errors, a supervisor stepped in) and
//! by their turn (slow LLM first token).

use std::collections::HashMap;

use domain::event::Speaker;
use domain::ids::{RoundId, SourceMs, TaskId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::{Connection, QueryBuilder, Sqlite};

use super::error::{to_u64, CacheError};
use super::fts::{display_form, match_expression, ELLIPSIS, HIGHLIGHT_END, HIGHLIGHT_START};
use super::Cache;

/// The most hits one search answers.
const MAX_HITS: u32 = 200;
/// Tokens around a hit in a snippet (a CJK character is one token, an English word one).
const SNIPPET_TOKENS: i64 = 24;

/// A final sentence that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub task: TaskId,
    pub round: RoundId,
    /// Who spoke: `None` when the fold could not tell the customer from the robot.
    pub speaker: Option<Speaker>,
    pub user: UserId,
    /// When the sentence was final (source time).
    pub at: SourceMs,
    /// When the call started (source time).
    pub call_started_ms: SourceMs,
    /// The sentence (or the part of it around the hits, with [`ELLIPSIS`] where text was
    /// left out), each hit between [`HIGHLIGHT_START`] and [`HIGHLIGHT_END`]; split it with
    /// [`super::fts::highlights`]. Plain text otherwise: render it as text, never as markup.
    pub snippet: String,
}

/// What a search is narrowed to; the default narrows nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchFilter {
    /// Calls that started at or after this source time.
    pub started_from: Option<SourceMs>,
    /// Calls that started before this source time.
    pub started_before: Option<SourceMs>,
    /// Calls carrying this tag (the scenario, the queue, anything a supervisor tags).
    pub tag: Option<String>,
    /// Calls with (or without) a pipeline error.
    pub has_error: Option<bool>,
    /// Sentences of turns whose LLM first token took longer than this, ms.
    pub slow_turn_ms: Option<f64>,
    /// Calls a supervisor intervened in (a command, a lock, a take-over), or not.
    pub intervened: Option<bool>,
}

#[derive(Debug, sqlx::FromRow)]
struct HitRow {
    id: i64,
    task_id: String,
    round_id: String,
    user_id: String,
    speaker: Option<String>,
    at_ms: i64,
    started_ms: i64,
}

impl Cache {
    /// Final sentences matching `query`, newest first, at most `limit` (1–200). A query
    /// with no letter, digit or CJK character finds nothing.
    ///
    /// # Errors
    /// [`CacheError::Database`] when the search fails.
    pub async fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>, CacheError> {
        self.search_with(query, &SearchFilter::default(), limit).await
    }

    /// As [`Cache::search`], narrowed by `filter`.
    ///
    /// # Errors
    /// [`CacheError::Database`] when the search fails.
    pub async fn search_with(
        &self,
        query: &str,
        filter: &SearchFilter,
        limit: u32,
    ) -> Result<Vec<SearchHit>, CacheError> {
        let Some(expression) = match_expression(query) else {
            return Ok(Vec::new());
        };
        let failed = |e| CacheError::db("search sentences", e);
        let mut conn = self.reader().acquire().await.map_err(failed)?;
        // One snapshot for both statements.
        let mut tx = conn.begin().await.map_err(failed)?;
        let mut sql = QueryBuilder::<Sqlite>::new(
            "SELECT s.id, s.task_id, s.round_id, s.user_id, s.speaker, s.at_ms, c.started_ms \
             FROM sentences_fts JOIN sentences s ON s.id = sentences_fts.rowid JOIN calls c ON c.task_id = s.task_id \
             WHERE sentences_fts MATCH ",
        );
        sql.push_bind(&expression);
        if let Some(from) = filter.started_from {
            sql.push(" AND c.started_ms >= ").push_bind(super::error::to_i64(from.0));
        }
        if let Some(before) = filter.started_before {
            sql.push(" AND c.started_ms < ").push_bind(super::error::to_i64(before.0));
        }
        if let Some(tag) = &filter.tag {
            sql.push(" AND EXISTS (SELECT 1 FROM call_tags t WHERE t.task_id = c.task_id AND t.tag = ")
                .push_bind(tag.clone())
                .push(")");
        }
        match filter.has_error {
            Some(true) => sql.push(" AND c.errors > 0"),
            Some(false) => sql.push(" AND c.errors = 0"),
            None => &mut sql,
        };
        match filter.intervened {
            Some(true) => sql.push(" AND (c.interventions > 0 OR c.taken_over = 1 OR EXISTS (SELECT 1 FROM interventions i WHERE i.task_id = c.task_id))"),
            Some(false) => sql.push(" AND c.interventions = 0 AND c.taken_over = 0 AND NOT EXISTS (SELECT 1 FROM interventions i WHERE i.task_id = c.task_id)"),
            None => &mut sql,
        };
        if let Some(slow) = filter.slow_turn_ms {
            sql.push(
                " AND EXISTS (SELECT 1 FROM turns r WHERE r.task_id = s.task_id AND r.round_id = s.round_id \
                 AND r.llm_first_token > ",
            )
            .push_bind(slow)
            .push(")");
        }
        // A sentence's id is keyed by its source time (`at_ms × 2^20 + n`, migration 0003), so
        // the index's rowid order is newest first: SQLite walks FTS5's matches in that order
        // and stops once the page is full, rather than sorting every match. Filters only
        // make the walk longer (it reads matches until enough pass), never change the answer:
        // at worst it reads every match, as the sort did.
        sql.push(" ORDER BY sentences_fts.rowid DESC LIMIT ").push_bind(i64::from(limit.clamp(1, MAX_HITS)));
        let rows: Vec<HitRow> = sql.build_query_as().fetch_all(&mut *tx).await.map_err(failed)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let ids = serde_json::to_string(&ids)
            .map_err(|e| CacheError::Database { operation: "search sentences", cause: e.to_string() })?;
        // `+rowid`: the hits filter the matches; without the `+`, FTS5 would run the whole
        // MATCH again for each hit (measured in benches/cache.rs: p95 135 → 89 ms at 1M).
        let snippets: HashMap<i64, String> = sqlx::query_as::<_, (i64, String)>(
            "SELECT rowid, snippet(sentences_fts, 0, ?2, ?3, ?4, ?5) FROM sentences_fts \
             WHERE sentences_fts MATCH ?1 AND +rowid IN (SELECT value FROM json_each(?6))",
        )
        .bind(&expression)
        .bind(HIGHLIGHT_START.to_string())
        .bind(HIGHLIGHT_END.to_string())
        .bind(ELLIPSIS)
        .bind(SNIPPET_TOKENS)
        .bind(ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(failed)?
        .into_iter()
        .collect();
        tx.commit().await.map_err(failed)?;
        rows.into_iter()
            .map(|row| {
                let speaker = match row.speaker.as_deref() {
                    None => None,
                    Some("user") => Some(Speaker::User),
                    Some("robot") => Some(Speaker::Robot),
                    Some(other) => {
                        return Err(CacheError::unreadable(
                            format!("sentence {}", row.id),
                            format!("speaker {other:?}"),
                        ))
                    }
                };
                Ok(SearchHit {
                    snippet: snippets.get(&row.id).map(|s| display_form(s)).unwrap_or_default(),
                    task: TaskId::new(row.task_id),
                    round: RoundId::new(row.round_id),
                    speaker,
                    user: UserId::new(row.user_id),
                    at: SourceMs(to_u64(row.at_ms)),
                    call_started_ms: SourceMs(to_u64(row.started_ms)),
                })
            })
            .collect()
    }
}
