//! The review screen's use cases on [`Console`]: the history of cached calls.
//!
//! The cache's history query ([`crate::cache::CallQuery`]) filters by time, tag and errors
//! in SQL. "Slow turns" and "a supervisor intervened" are not columns it filters on, so
//! they are applied here, over the cache's pages, with a bounded scan: a page may then
//! hold fewer calls than asked for, and its cursor says where the next scan starts, so
//! paging never skips or repeats a call.
//!
//! What deliberately does not live here: notes, tags, QA scores, search, recordings and
//! export (`console/mod.rs`); SQL (`cache`).

use domain::api::{HistoryCall, HistoryCursor, HistoryPage, HistoryRequest};
use domain::ids::SourceMs;

use super::{Console, ConsoleError};
use crate::cache::{Cache, CallQuery, CallSummary, PageCursor};

/// Calls per page when the request does not say, and the most one page may ask for.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;
/// Cache pages one request reads at most when filters apply after SQL; past that the
/// page is answered short, with a cursor to go on from.
const MAX_SCANNED_PAGES: usize = 20;

impl Console {
    /// A page of the cached calls, newest first, narrowed by `request`'s filters (works
    /// offline).
    ///
    /// # Errors
    /// [`ConsoleError::NotReady`] before the cache is open; [`ConsoleError::Cache`].
    pub async fn call_history(&self, request: &HistoryRequest) -> Result<HistoryPage, ConsoleError> {
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        let limit = match request.limit {
            0 => DEFAULT_LIMIT,
            limit => limit.min(MAX_LIMIT),
        };
        let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut query = CallQuery {
            started_from: request.started_from.map(SourceMs),
            started_before: request.started_before.map(SourceMs),
            has_error: request.has_error,
            tag: request.tag.clone().filter(|tag| !tag.trim().is_empty()),
            after: request
                .after
                .as_ref()
                .map(|after| PageCursor { started_ms: SourceMs(after.started_ms), task: after.call.clone() }),
            limit,
            ..CallQuery::default()
        };
        let mut calls = Vec::new();
        for _ in 0..MAX_SCANNED_PAGES {
            let page = cache.calls(&query).await?;
            let scanned = page.calls.len();
            for (index, summary) in page.calls.into_iter().enumerate() {
                let cursor = cursor_of(&summary);
                if let Some(call) = admit(cache, request, summary).await? {
                    calls.push(call);
                }
                if calls.len() == wanted {
                    let more = index + 1 < scanned || page.next.is_some();
                    return Ok(HistoryPage { calls, next: more.then_some(cursor) });
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(HistoryPage { calls, next: None }),
            }
        }
        // Scanned enough for one answer: go on from where the scan stopped.
        let next = query.after.map(|after| HistoryCursor { started_ms: after.started_ms.0, call: after.task });
        Ok(HistoryPage { calls, next })
    }
}

fn cursor_of(summary: &CallSummary) -> HistoryCursor {
    HistoryCursor { started_ms: summary.started_ms.0, call: summary.task.clone() }
}

/// The call as the history lists it, if it passes the filters SQL did not apply.
async fn admit(
    cache: &Cache,
    request: &HistoryRequest,
    summary: CallSummary,
) -> Result<Option<HistoryCall>, ConsoleError> {
    let intervened = summary.interventions > 0 || summary.taken_over;
    if request.intervened.is_some_and(|wanted| wanted != intervened) {
        return Ok(None);
    }
    // Turns are read only for calls that have some, so a page of fresh calls stays cheap.
    let slowest = if summary.counts.turns == 0 {
        None
    } else {
        cache.turns(&summary.task).await?.iter().filter_map(|turn| turn.metrics.llm_first_token).reduce(f64::max)
    };
    if let Some(threshold) = request.slow_turn_ms {
        if !slowest.is_some_and(|slowest| slowest > threshold) {
            return Ok(None);
        }
    }
    Ok(Some(HistoryCall {
        room: summary.room.as_ref().map(ToString::to_string),
        status: summary.status,
        live: summary.live,
        started_ms: summary.started_ms.0,
        ended_ms: summary.ended_ms.map(|at| at.0),
        last_ms: summary.last_ms.0,
        turns: summary.counts.turns,
        errors: summary.counts.errors,
        interventions: summary.interventions,
        taken_over: summary.taken_over,
        alerts: summary.alerts,
        tags: summary.tags,
        qa_score: summary.qa_score,
        notes: summary.notes,
        slowest_llm_first_token_ms: slowest,
        call: summary.task,
    }))
}
