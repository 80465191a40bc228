//! Reading calls back: the history list with its filters, one call's summary, turns,
//! interventions and events, and the hub's audit entries (stored here as fetched).
//!
//! The list is newest first (by the call's start in source time, then TaskId) and paged
//! with a cursor ([`PageCursor`]) rather than an offset, so a page never shifts when calls
//! arrive while the supervisor scrolls.

use std::sync::LazyLock;

use domain::call::{CallCounts, CallStatus};
use domain::event::{CommandAction, CommandStage, Event, LeaveCode, LockChange};
use domain::ids::{RoomId, RoomIdKind, RoundId, SdkAppId, Seq, SourceMs, TaskId};
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite};

use super::error::{to_i64, to_u64, CacheError};
use super::fts::match_expression;
use super::Cache;

/// Calls listed per page when the query does not say.
const DEFAULT_PAGE: u32 = 50;
/// The most calls one page lists.
const MAX_PAGE: u32 = 500;

/// Where calls are in their life, for filtering the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Not ended and not failed to start.
    Live,
    /// Ended (902), normally or not.
    Ended,
    /// Ended for a reason a supervisor should look at ([`LeaveCode::is_abnormal`]).
    EndedAbnormally,
    /// 901 reported a failed start.
    StartFailed,
}

/// Where the next page of the history starts: after this call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCursor {
    pub started_ms: SourceMs,
    pub task: TaskId,
}

/// Which calls the history lists. Every filter left `None` lets every call through.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallQuery {
    /// Calls that started at or after this source time.
    pub started_from: Option<SourceMs>,
    /// Calls that started before this source time.
    pub started_before: Option<SourceMs>,
    pub status: Option<StatusFilter>,
    /// With (or without) at least one pipeline error.
    pub has_error: Option<bool>,
    /// Taken over by a supervisor at some point (or never).
    pub taken_over: Option<bool>,
    /// With (or without) a fired alert.
    pub has_alert: Option<bool>,
    /// Carrying this tag.
    pub tag: Option<String>,
    /// With a final sentence matching this text (see [`Cache::search`] for how it
    /// matches). Text with no letter, digit or CJK character filters nothing.
    pub text: Option<String>,
    /// The page after this call; `None` for the first page.
    pub after: Option<PageCursor>,
    /// Calls per page: 1–500, 50 when 0.
    pub limit: u32,
}

/// One page of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallPage {
    pub calls: Vec<CallSummary>,
    /// Pass as [`CallQuery::after`] for the next page; `None` on the last page.
    pub next: Option<PageCursor>,
}

/// A call as the history lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSummary {
    pub task: TaskId,
    pub sdk_app_id: Option<SdkAppId>,
    pub room: Option<RoomId>,
    pub status: CallStatus,
    pub live: bool,
    /// 901's source time, else the earliest source time of the call's events.
    pub started_ms: SourceMs,
    pub session_ready_ms: Option<SourceMs>,
    pub ended_ms: Option<SourceMs>,
    /// The latest source time of the call's own events.
    pub last_ms: SourceMs,
    pub counts: CallCounts,
    /// Supervisors' commands, each once.
    pub interventions: usize,
    /// A take-over was done at some point.
    pub taken_over: bool,
    /// Alerts fired for the call.
    pub alerts: usize,
    pub tags: Vec<String>,
    pub qa_score: Option<u8>,
    pub notes: usize,
    /// The last sequence number folded into this summary.
    pub last_seq: Seq,
}

/// The seven documented metrics of a turn, latest by source time (ms, except the count
/// `tts_discontinuity` and the flag-like `interruption`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnMetrics {
    pub asr_latency: Option<f64>,
    pub llm_network_latency: Option<f64>,
    pub llm_first_token: Option<f64>,
    pub tts_network_latency: Option<f64>,
    pub tts_first_frame_latency: Option<f64>,
    pub tts_discontinuity: Option<f64>,
    pub interruption: Option<f64>,
}

/// One turn as stored (the timeline's row; fold [`Cache::events_of`] for everything).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnSummary {
    pub round: RoundId,
    pub first_ms: SourceMs,
    pub speech_started_ms: Option<SourceMs>,
    pub finished_ms: Option<SourceMs>,
    pub user_text: Option<String>,
    pub user_final: bool,
    pub robot_text: Option<String>,
    pub robot_final: bool,
    pub interrupted: bool,
    pub errors: usize,
    pub metrics: TurnMetrics,
}

/// What a supervisor's intervention was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InterventionKind {
    /// One stage of a command.
    Command { id: String, action: CommandAction, stage: CommandStage, summary: Option<String>, error: Option<String> },
    /// The call's lock changed; `holder` holds it now.
    Lock { change: LockChange, holder: Option<String> },
}

/// One hub fact about what a supervisor did to a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intervention {
    pub seq: Seq,
    pub at: SourceMs,
    /// Who did it.
    pub actor: String,
    pub round: Option<RoundId>,
    #[serde(flatten)]
    pub kind: InterventionKind,
}

/// One entry of the hub's audit trail: the hub client's type for what `GET /v1/audit`
/// answers, stored as it came.
pub type AuditRecord = crate::hub_client::AuditEntry;

const SUMMARY_SELECT: &str = "SELECT c.task_id, c.sdk_app_id, c.room_id, c.room_numeric, c.status, c.leave_code, \
    c.live, c.started_ms, c.ready_ms, c.ended_ms, c.last_ms, c.turns, c.user_sentences, c.robot_sentences, \
    c.interrupted_turns, c.errors, c.interventions, c.taken_over, c.last_seq, \
    (SELECT count(*) FROM fired_alerts f WHERE f.task_id = c.task_id) AS alerts, \
    (SELECT json_group_array(tag) FROM (SELECT tag FROM call_tags t WHERE t.task_id = c.task_id ORDER BY tag)) AS tags, \
    (SELECT score FROM qa_scores q WHERE q.task_id = c.task_id) AS qa_score, \
    (SELECT count(*) FROM notes n WHERE n.task_id = c.task_id) AS notes \
    FROM calls c";

#[derive(Debug, sqlx::FromRow)]
struct SummaryRow {
    task_id: String,
    sdk_app_id: Option<i64>,
    room_id: Option<String>,
    room_numeric: Option<bool>,
    status: String,
    leave_code: Option<i64>,
    live: bool,
    started_ms: i64,
    ready_ms: Option<i64>,
    ended_ms: Option<i64>,
    last_ms: i64,
    turns: i64,
    user_sentences: i64,
    robot_sentences: i64,
    interrupted_turns: i64,
    errors: i64,
    interventions: i64,
    taken_over: bool,
    last_seq: i64,
    alerts: i64,
    tags: String,
    qa_score: Option<i64>,
    notes: i64,
}

fn count(value: i64) -> usize {
    usize::try_from(value).unwrap_or(0)
}

fn ms(value: i64) -> SourceMs {
    SourceMs(to_u64(value))
}

pub(super) fn app(value: Option<i64>) -> Option<SdkAppId> {
    value.and_then(|app| u64::try_from(app).ok()).map(SdkAppId)
}

pub(super) fn room(id: Option<String>, numeric: Option<bool>) -> Option<RoomId> {
    let kind = if numeric.unwrap_or(false) { RoomIdKind::Numeric } else { RoomIdKind::Str };
    id.and_then(|id| RoomId::parse(&id, kind))
}

impl TryFrom<SummaryRow> for CallSummary {
    type Error = CacheError;

    fn try_from(row: SummaryRow) -> Result<CallSummary, CacheError> {
        let what = || format!("call {}", row.task_id);
        let status = match row.status.as_str() {
            "starting" => CallStatus::Starting,
            "ready" => CallStatus::Ready,
            "in_progress" => CallStatus::InProgress,
            "start_failed" => CallStatus::StartFailed,
            "ended" => {
                let code = row.leave_code.and_then(|code| u32::try_from(code).ok());
                let code = code.ok_or_else(|| CacheError::unreadable(what(), "an ended call without a leave code"))?;
                CallStatus::Ended { leave_code: LeaveCode::from(code) }
            }
            other => return Err(CacheError::unreadable(what(), format!("unknown status {other:?}"))),
        };
        let tags: Vec<String> = serde_json::from_str(&row.tags).map_err(|e| CacheError::unreadable(what(), e))?;
        Ok(CallSummary {
            task: TaskId::new(row.task_id),
            sdk_app_id: app(row.sdk_app_id),
            room: room(row.room_id, row.room_numeric),
            status,
            live: row.live,
            started_ms: ms(row.started_ms),
            session_ready_ms: row.ready_ms.map(ms),
            ended_ms: row.ended_ms.map(ms),
            last_ms: ms(row.last_ms),
            counts: CallCounts {
                turns: count(row.turns),
                user_sentences: count(row.user_sentences),
                robot_sentences: count(row.robot_sentences),
                interrupted_turns: count(row.interrupted_turns),
                errors: count(row.errors),
            },
            interventions: count(row.interventions),
            taken_over: row.taken_over,
            alerts: count(row.alerts),
            tags,
            qa_score: row.qa_score.and_then(|score| u8::try_from(score).ok()),
            notes: count(row.notes),
            last_seq: Seq(to_u64(row.last_seq)),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct TurnRow {
    round_id: String,
    first_ms: i64,
    speech_started_ms: Option<i64>,
    finished_ms: Option<i64>,
    user_text: Option<String>,
    user_final: bool,
    robot_text: Option<String>,
    robot_final: bool,
    interrupted: bool,
    errors: i64,
    asr_latency: Option<f64>,
    llm_network_latency: Option<f64>,
    llm_first_token: Option<f64>,
    tts_network_latency: Option<f64>,
    tts_first_frame_latency: Option<f64>,
    tts_discontinuity: Option<f64>,
    interruption: Option<f64>,
}

impl From<TurnRow> for TurnSummary {
    fn from(row: TurnRow) -> TurnSummary {
        TurnSummary {
            round: RoundId::new(row.round_id),
            first_ms: ms(row.first_ms),
            speech_started_ms: row.speech_started_ms.map(ms),
            finished_ms: row.finished_ms.map(ms),
            user_text: row.user_text,
            user_final: row.user_final,
            robot_text: row.robot_text,
            robot_final: row.robot_final,
            interrupted: row.interrupted,
            errors: count(row.errors),
            metrics: TurnMetrics {
                asr_latency: row.asr_latency,
                llm_network_latency: row.llm_network_latency,
                llm_first_token: row.llm_first_token,
                tts_network_latency: row.tts_network_latency,
                tts_first_frame_latency: row.tts_first_frame_latency,
                tts_discontinuity: row.tts_discontinuity,
                interruption: row.interruption,
            },
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct InterventionRow {
    seq: i64,
    at_ms: i64,
    kind: String,
    actor: String,
    action: String,
    stage: Option<String>,
    command_id: Option<String>,
    round_id: Option<String>,
    summary: Option<String>,
    error: Option<String>,
    lock_holder: Option<String>,
}

/// A stored name back into the domain enum it was written from (their serde names).
fn named<T: serde::de::DeserializeOwned>(what: &str, name: &str) -> Result<T, CacheError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|e| CacheError::unreadable(what, e))
}

impl TryFrom<InterventionRow> for Intervention {
    type Error = CacheError;

    fn try_from(row: InterventionRow) -> Result<Intervention, CacheError> {
        let what = format!("intervention {}", row.seq);
        let kind = match row.kind.as_str() {
            "command" => InterventionKind::Command {
                id: row.command_id.unwrap_or_default(),
                action: named(&what, &row.action)?,
                stage: named(&what, row.stage.as_deref().unwrap_or_default())?,
                summary: row.summary,
                error: row.error,
            },
            "lock" => InterventionKind::Lock { change: named(&what, &row.action)?, holder: row.lock_holder },
            other => return Err(CacheError::unreadable(what, format!("unknown kind {other:?}"))),
        };
        Ok(Intervention {
            seq: Seq(to_u64(row.seq)),
            at: ms(row.at_ms),
            actor: row.actor,
            round: row.round_id.map(RoundId::new),
            kind,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at_ms: i64,
    user_name: String,
    role: String,
    task_id: Option<String>,
    round_id: Option<String>,
    action: String,
    outcome: String,
    detail: Option<String>,
}

impl From<AuditRow> for AuditRecord {
    fn from(row: AuditRow) -> AuditRecord {
        AuditRecord {
            id: row.id,
            at_ms: to_u64(row.at_ms),
            user: row.user_name,
            role: row.role,
            task_id: row.task_id,
            round_id: row.round_id,
            action: row.action,
            outcome: row.outcome,
            detail: row.detail,
        }
    }
}

/// A call's events and its room's (see [`Cache::events_of`]), one row each, in sequence order.
const EVENTS_OF: &str = "SELECT seq, body FROM events WHERE task_id = ?1 \
     UNION ALL \
     SELECT e.seq, e.body FROM calls c JOIN events e ON e.task_id IS NULL AND e.room_id = c.room_id \
     WHERE c.task_id = ?1 AND e.room_scoped = 1 \
     AND (e.sdk_app_id IS NULL OR c.sdk_app_id IS NULL OR e.sdk_app_id = c.sdk_app_id) \
     ORDER BY 1";

/// The same events as one JSON array in sequence order (each `body` is an event's JSON);
/// NULL when there are none.
static EVENTS_OF_ARRAY: LazyLock<String> =
    LazyLock::new(|| format!("SELECT '[' || group_concat(body, ',' ORDER BY seq) || ']' FROM ({EVENTS_OF})"));

impl Cache {
    /// One page of the history: calls matching `query`, newest first.
    ///
    /// # Errors
    /// [`CacheError::Database`] when the query fails; [`CacheError::Unreadable`] for a row
    /// that does not read back.
    pub async fn calls(&self, query: &CallQuery) -> Result<CallPage, CacheError> {
        let limit = match query.limit {
            0 => DEFAULT_PAGE,
            limit => limit.min(MAX_PAGE),
        };
        let mut sql = QueryBuilder::<Sqlite>::new(SUMMARY_SELECT);
        sql.push(" WHERE 1");
        if let Some(from) = query.started_from {
            sql.push(" AND c.started_ms >= ").push_bind(to_i64(from.0));
        }
        if let Some(before) = query.started_before {
            sql.push(" AND c.started_ms < ").push_bind(to_i64(before.0));
        }
        match query.status {
            None => {}
            Some(StatusFilter::Live) => {
                sql.push(" AND c.live = 1");
            }
            Some(StatusFilter::Ended) => {
                sql.push(" AND c.status = 'ended'");
            }
            Some(StatusFilter::EndedAbnormally) => {
                sql.push(" AND c.status = 'ended' AND c.abnormal_end = 1");
            }
            Some(StatusFilter::StartFailed) => {
                sql.push(" AND c.status = 'start_failed'");
            }
        }
        if let Some(has_error) = query.has_error {
            sql.push(if has_error { " AND c.errors > 0" } else { " AND c.errors = 0" });
        }
        if let Some(taken_over) = query.taken_over {
            sql.push(" AND c.taken_over = ").push_bind(taken_over);
        }
        if let Some(has_alert) = query.has_alert {
            sql.push(if has_alert { " AND " } else { " AND NOT " });
            sql.push("EXISTS (SELECT 1 FROM fired_alerts f WHERE f.task_id = c.task_id)");
        }
        if let Some(tag) = &query.tag {
            sql.push(" AND EXISTS (SELECT 1 FROM call_tags t WHERE t.task_id = c.task_id AND t.tag = ")
                .push_bind(tag.trim().to_owned())
                .push(")");
        }
        if let Some(expression) = query.text.as_deref().and_then(match_expression) {
            sql.push(
                " AND c.task_id IN (SELECT s.task_id FROM sentences_fts JOIN sentences s ON s.id = sentences_fts.rowid \
                 WHERE sentences_fts MATCH ",
            )
            .push_bind(expression)
            .push(")");
        }
        if let Some(after) = &query.after {
            sql.push(" AND (c.started_ms, c.task_id) < (")
                .push_bind(to_i64(after.started_ms.0))
                .push(", ")
                .push_bind(after.task.to_string())
                .push(")");
        }
        sql.push(" ORDER BY c.started_ms DESC, c.task_id DESC LIMIT ").push_bind(i64::from(limit) + 1);
        let rows: Vec<SummaryRow> =
            sql.build_query_as().fetch_all(self.reader()).await.map_err(|e| CacheError::db("list calls", e))?;
        let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        let mut calls = rows.into_iter().map(CallSummary::try_from).collect::<Result<Vec<_>, _>>()?;
        if more {
            calls.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        let next = calls
            .last()
            .filter(|_| more)
            .map(|last| PageCursor { started_ms: last.started_ms, task: last.task.clone() });
        Ok(CallPage { calls, next })
    }

    /// One call as the history lists it; `None` when the cache does not hold it.
    ///
    /// # Errors
    /// As [`Cache::calls`].
    pub async fn call_summary(&self, task: &TaskId) -> Result<Option<CallSummary>, CacheError> {
        let row: Option<SummaryRow> = sqlx::query_as(&format!("{SUMMARY_SELECT} WHERE c.task_id = ?"))
            .bind(task.as_str())
            .fetch_optional(self.reader())
            .await
            .map_err(|e| CacheError::db("read a call", e))?;
        row.map(CallSummary::try_from).transpose()
    }

    /// A call's turns in the order they began (source time, then RoundId).
    ///
    /// # Errors
    /// [`CacheError::Database`] when the query fails.
    pub async fn turns(&self, task: &TaskId) -> Result<Vec<TurnSummary>, CacheError> {
        let rows: Vec<TurnRow> = sqlx::query_as(
            "SELECT round_id, first_ms, speech_started_ms, finished_ms, user_text, user_final, robot_text, \
             robot_final, interrupted, errors, asr_latency, llm_network_latency, llm_first_token, \
             tts_network_latency, tts_first_frame_latency, tts_discontinuity, interruption \
             FROM turns WHERE task_id = ? ORDER BY first_ms, round_id",
        )
        .bind(task.as_str())
        .fetch_all(self.reader())
        .await
        .map_err(|e| CacheError::db("read a call's turns", e))?;
        Ok(rows.into_iter().map(TurnSummary::from).collect())
    }

    /// What supervisors did to a call, every stage of every command and every lock change,
    /// by source time.
    ///
    /// # Errors
    /// As [`Cache::calls`].
    pub async fn interventions(&self, task: &TaskId) -> Result<Vec<Intervention>, CacheError> {
        let rows: Vec<InterventionRow> = sqlx::query_as(
            "SELECT seq, at_ms, kind, actor, action, stage, command_id, round_id, summary, error, lock_holder \
             FROM interventions WHERE task_id = ? ORDER BY at_ms, seq",
        )
        .bind(task.as_str())
        .fetch_all(self.reader())
        .await
        .map_err(|e| CacheError::db("read a call's interventions", e))?;
        rows.into_iter().map(Intervention::try_from).collect()
    }

    /// Every stored event of a call, and of its room (room, media and recording events of
    /// the same room and app), in sequence order: `Board::apply` over them rebuilds the
    /// call with its participants and recordings; `Call::apply` takes the call's own and
    /// ignores the room's.
    ///
    /// # Errors
    /// [`CacheError::Database`] when the query fails; [`CacheError::Unreadable`] for an
    /// event that does not decode.
    pub async fn events_of(&self, task: &TaskId) -> Result<Vec<Event>, CacheError> {
        // One row, the events as a JSON array built by SQLite: read row by row, sqlx hands
        // each row over from its worker thread, which cost about half of opening a long call
        // (benches/cache.rs).
        let array: Option<String> = sqlx::query_scalar(&EVENTS_OF_ARRAY)
            .bind(task.as_str())
            .fetch_one(self.reader())
            .await
            .map_err(|e| CacheError::db("read a call's events", e))?;
        let Some(array) = array else {
            return Ok(Vec::new());
        };
        match serde_json::from_str(&array) {
            Ok(events) => Ok(events),
            // Name the event that does not decode, as a row-by-row read would.
            Err(array_error) => Err(self
                .undecodable_event_of(task)
                .await?
                .unwrap_or_else(|| CacheError::unreadable(format!("the events of call {task}"), array_error))),
        }
    }

    /// The first of a call's events that does not decode, as an error naming it.
    async fn undecodable_event_of(&self, task: &TaskId) -> Result<Option<CacheError>, CacheError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(EVENTS_OF)
            .bind(task.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(|e| CacheError::db("read a call's events", e))?;
        Ok(rows.into_iter().find_map(|(seq, body)| {
            serde_json::from_str::<Event>(&body).err().map(|e| CacheError::unreadable(format!("event {seq}"), e))
        }))
    }

    /// Stores audit entries fetched from the hub; an entry already stored (same hub id) is
    /// left as it is. Answers how many were new.
    ///
    /// # Errors
    /// [`CacheError::Full`] / [`CacheError::Database`] when they cannot be written.
    pub async fn store_audit(&self, entries: Vec<AuditRecord>) -> Result<u64, CacheError> {
        if entries.is_empty() {
            return Ok(0);
        }
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|entry| {
                serde_json::json!({
                    "id": entry.id, "at_ms": to_i64(entry.at_ms), "user_name": entry.user, "role": entry.role,
                    "task_id": entry.task_id, "round_id": entry.round_id, "action": entry.action,
                    "outcome": entry.outcome, "detail": entry.detail,
                })
            })
            .collect();
        let json = serde_json::Value::Array(rows).to_string();
        self.write("store audit entries", move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "INSERT INTO audit_entries (id, at_ms, user_name, role, task_id, round_id, action, outcome, detail) \
                     SELECT r.value ->> 'id', r.value ->> 'at_ms', r.value ->> 'user_name', r.value ->> 'role', \
                     r.value ->> 'task_id', r.value ->> 'round_id', r.value ->> 'action', r.value ->> 'outcome', \
                     r.value ->> 'detail' FROM json_each(?1) AS r WHERE true ON CONFLICT (id) DO NOTHING",
                )
                .bind(json)
                .execute(conn)
                .await
                .map_err(|e| CacheError::db("store audit entries", e))?;
                Ok(done.rows_affected())
            })
        })
        .await
    }

    /// Audit entries, newest first: of one call or of all, with ids below `before` if given.
    ///
    /// # Errors
    /// [`CacheError::Database`] when the query fails.
    pub async fn audit_entries(
        &self,
        task: Option<&TaskId>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, CacheError> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at_ms, user_name, role, task_id, round_id, action, outcome, detail FROM audit_entries \
             WHERE (?1 IS NULL OR task_id = ?1) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
        )
        .bind(task.map(TaskId::as_str))
        .bind(before)
        .bind(i64::from(limit.clamp(1, MAX_PAGE)))
        .fetch_all(self.reader())
        .await
        .map_err(|e| CacheError::db("read audit entries", e))?;
        Ok(rows.into_iter().map(AuditRecord::from).collect())
    }
}
