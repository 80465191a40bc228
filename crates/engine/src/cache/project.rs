//! From events to rows: the writer's working set of folded calls and rooms, and the rows
//! they project to.
//!
//! Every appended event is routed the way `domain::board::Board` routes it — an AI event to
//! its call by TaskId (one without a TaskId to the live call in its room that started
//! last), a room, media or recording event to its room — and folded with the domain's own
//! fold: `Call::apply` for calls, a `Board` holding just that room's events for rooms. The
//! rows (`calls`, `turns`, `sentences`, `recordings`) are then projected from the folded
//! values, never from the events directly, so the cache and the live view cannot disagree.
//! Interventions are the hub's command and lock facts themselves, one row per event.
//! Supervisors' reviews are projected from `Call::review`: every note by its id (so a note
//! this console wrote and pushed is the same row when its event comes back, now marked
//! pushed), and the call's latest tag set and QA score — unless this console holds a later
//! change of its own not yet pushed (`review_outbox`), which then stands; an outbox entry the
//! hub's events have caught up with (its own echo, or someone's later change) is removed.
//!
//! The working set keeps the folds of recently touched calls and rooms in memory, with the
//! rows last written for each, so a batch writes only the rows that changed. A call or room
//! not in memory is folded again from its stored events (and its rows rewritten in full).
//! After a failed transaction the entries it touched are dropped, so memory never runs
//! ahead of the file.
//!
//! Rows are written with multi-row `INSERT … VALUES` and bound parameters ([`Columns`]).
//! A sentence is stored under an id keyed by its source time ([`key_sentences`]), which is
//! what lets search read the full-text index newest first.
//!
//! What deliberately does not live here: transactions and the cursor (`writer.rs`), reads.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use domain::board::{Board, RecordingStatus, RoomKey};
use domain::call::{Call, CallStatus, Line, Turn};
use domain::event::{CommandAction, CommandStage, Event, EventBody, Speaker};
use domain::ids::{RoomId, RoomIdKind, RoundId, SdkAppId, TaskId, UserId};
use serde::Serialize;
use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::error::{to_i64, CacheError};
use super::fts::index_form;

/// Folded calls kept in memory at most (ended ones are dropped first).
const MAX_CALLS: usize = 2_000;
/// Folded rooms kept in memory at most.
const MAX_ROOMS: usize = 2_000;

/// Where an event belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    Call(TaskId),
    Room(RoomKey),
    /// A room event without a room, or an AI event with neither a task nor a live call in
    /// its room: stored, folded nowhere.
    Nowhere,
}

#[derive(Debug)]
struct CallEntry {
    call: Call,
    /// The earliest source time of any event of the call (hub facts included), for calls
    /// whose fold knows no start.
    first_ms: u64,
    last_seq: u64,
    /// The rows as last written; `None` after loading, when they must be written in full.
    written: Option<CallRows>,
}

#[derive(Debug, Clone, PartialEq)]
struct CallRows {
    call: CallRow,
    turns: HashMap<RoundId, TurnRow>,
    sentences: HashMap<(RoundId, UserId), SentenceRow>,
    review: ReviewRows,
}

/// A call's review as the hub's events have it.
#[derive(Debug, Clone, Default, PartialEq)]
struct ReviewRows {
    notes: HashMap<String, NoteRow>,
    tags: Option<TagsRow>,
    qa: Option<QaRow>,
}

#[derive(Debug)]
struct RoomEntry {
    /// A board fed only this room's room-scoped events: the domain's room fold.
    board: Board,
    key: RoomKey,
    written: Option<HashMap<TaskId, RecordingRow>>,
}

/// The writer's folds, and what the current batch touched.
#[derive(Debug, Default)]
pub(super) struct WorkingSet {
    calls: HashMap<TaskId, CallEntry>,
    rooms: HashMap<RoomKey, RoomEntry>,
    dirty_calls: BTreeSet<TaskId>,
    dirty_rooms: BTreeSet<RoomKey>,
}

/// Rows a batch writes, in the order foreign keys need.
#[derive(Debug, Default)]
pub(super) struct Changes {
    events: Vec<EventRow>,
    calls: Vec<CallRow>,
    /// Calls whose turns and sentences are rewritten in full.
    reset: Vec<String>,
    turns: Vec<TurnRow>,
    sentence_deletes: Vec<(String, String, String)>,
    sentences: Vec<SentenceRow>,
    interventions: Vec<InterventionRow>,
    recordings: Vec<RecordingRow>,
    notes: Vec<NoteRow>,
    tags: Vec<TagsRow>,
    qa: Vec<QaRow>,
}

#[derive(Debug, Clone, PartialEq)]
struct EventRow {
    seq: i64,
    task_id: Option<String>,
    sdk_app_id: Option<i64>,
    room_id: Option<String>,
    room_scoped: bool,
    kind: &'static str,
    source_ms: i64,
    body: String,
}

#[derive(Debug, Clone, PartialEq)]
struct CallRow {
    task_id: String,
    sdk_app_id: Option<i64>,
    room_id: Option<String>,
    room_numeric: Option<bool>,
    status: &'static str,
    leave_code: Option<u32>,
    abnormal_end: bool,
    live: bool,
    started_ms: i64,
    ready_ms: Option<i64>,
    ended_ms: Option<i64>,
    last_ms: i64,
    turns: usize,
    user_sentences: usize,
    robot_sentences: usize,
    interrupted_turns: usize,
    errors: usize,
    interventions: usize,
    taken_over: bool,
    last_seq: i64,
}

#[derive(Debug, Clone, PartialEq)]
struct TurnRow {
    task_id: String,
    round_id: String,
    first_ms: i64,
    speech_started_ms: Option<i64>,
    finished_ms: Option<i64>,
    user_text: Option<String>,
    user_final: bool,
    robot_text: Option<String>,
    robot_final: bool,
    interrupted: bool,
    errors: usize,
    asr_latency: Option<f64>,
    llm_network_latency: Option<f64>,
    llm_first_token: Option<f64>,
    tts_network_latency: Option<f64>,
    tts_first_frame_latency: Option<f64>,
    tts_discontinuity: Option<f64>,
    interruption: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
struct SentenceRow {
    task_id: String,
    round_id: String,
    user_id: String,
    speaker: Option<&'static str>,
    at_ms: i64,
    body: String,
}

#[derive(Debug, Clone, PartialEq)]
struct InterventionRow {
    seq: i64,
    task_id: String,
    at_ms: i64,
    kind: &'static str,
    actor: String,
    action: &'static str,
    stage: Option<&'static str>,
    command_id: Option<String>,
    round_id: Option<String>,
    summary: Option<String>,
    error: Option<String>,
    lock_holder: Option<String>,
}

/// A note from the hub's events: the hub has it, so it is pushed.
#[derive(Debug, Clone, PartialEq)]
struct NoteRow {
    note_id: String,
    task_id: String,
    round_id: Option<String>,
    author: String,
    at_ms: i64,
    text: String,
    pushed: bool,
    push_error: Option<String>,
}

/// The call's latest tag set from the hub's events.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct TagsRow {
    task_id: String,
    at_ms: i64,
    tags: Vec<String>,
}

/// The call's latest QA score from the hub's events.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct QaRow {
    task_id: String,
    at_ms: i64,
    author: String,
    score: u8,
    comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct RecordingRow {
    recording_id: String,
    sdk_app_id: Option<i64>,
    room_id: String,
    room_numeric: bool,
    status: &'static str,
    leave_code: Option<u32>,
    first_ms: i64,
    last_ms: i64,
    recorders: String,
    files: String,
    vod_files: String,
}

/// The serde name of an event body's kind, as stored in `events.kind`.
pub(super) fn kind_of(body: &EventBody) -> &'static str {
    match body {
        EventBody::TaskStarted { .. } => "task_started",
        EventBody::TaskStopped { .. } => "task_stopped",
        EventBody::SessionReady => "session_ready",
        EventBody::UserSpeechStarted { .. } => "user_speech_started",
        EventBody::Sentence(_) => "sentence",
        EventBody::RobotFinishedSpeaking { .. } => "robot_finished_speaking",
        EventBody::RobotStateChanged { .. } => "robot_state_changed",
        EventBody::LlmMetaInfo { .. } => "llm_meta_info",
        EventBody::MetricReported { .. } => "metric_reported",
        EventBody::PipelineFailed { .. } => "pipeline_failed",
        EventBody::RoomCreated => "room_created",
        EventBody::RoomDismissed => "room_dismissed",
        EventBody::UserEntered { .. } => "user_entered",
        EventBody::UserLeft { .. } => "user_left",
        EventBody::RoleChanged { .. } => "role_changed",
        EventBody::MediaStarted { .. } => "media_started",
        EventBody::MediaStopped { .. } => "media_stopped",
        EventBody::Recording { .. } => "recording",
        EventBody::Command(_) => "command",
        EventBody::LockChanged { .. } => "lock_changed",
        EventBody::PresenceChanged { .. } => "presence_changed",
        EventBody::GatewayExchange(_) => "gateway_exchange",
        EventBody::NoteAdded(_) => "note_added",
        EventBody::TagsSet(_) => "tags_set",
        EventBody::QaScored(_) => "qa_scored",
    }
}

/// The stored spelling of a call status.
pub(super) fn status_name(status: CallStatus) -> &'static str {
    match status {
        CallStatus::Starting => "starting",
        CallStatus::Ready => "ready",
        CallStatus::InProgress => "in_progress",
        CallStatus::Ended { .. } => "ended",
        CallStatus::StartFailed => "start_failed",
    }
}

pub(super) fn speaker_name(speaker: Speaker) -> &'static str {
    match speaker {
        Speaker::User => "user",
        Speaker::Robot => "robot",
    }
}

fn app_i64(app: Option<SdkAppId>) -> Option<i64> {
    app.map(|app| to_i64(app.0))
}

/// Whether two app ids can be the same application (an unknown one matches any), as the
/// board decides it.
fn same_app(a: Option<SdkAppId>, b: Option<SdkAppId>) -> bool {
    a.is_none() || b.is_none() || a == b
}

fn decode(seq: i64, body: &str) -> Result<Event, CacheError> {
    serde_json::from_str(body).map_err(|e| CacheError::unreadable(format!("event {seq}"), e))
}

impl CallEntry {
    fn new(task: TaskId) -> CallEntry {
        CallEntry { call: Call::new(task), first_ms: u64::MAX, last_seq: 0, written: None }
    }

    fn apply(&mut self, event: &Event, seq: u64) {
        self.call.apply(event);
        self.first_ms = self.first_ms.min(event.source_ms.0);
        self.last_seq = self.last_seq.max(seq);
    }

    fn started_ms(&self) -> u64 {
        self.call.started_ms().map_or(self.first_ms, |ms| ms.0)
    }

    fn rows(&self) -> CallRows {
        let call = &self.call;
        let task_id = call.task().to_string();
        let (leave_code, abnormal_end) = match call.status() {
            CallStatus::Ended { leave_code } => (Some(leave_code.code()), leave_code.is_abnormal()),
            _ => (None, false),
        };
        let counts = call.counts();
        let started_ms = self.started_ms();
        let oversight = call.oversight();
        let row = CallRow {
            task_id: task_id.clone(),
            sdk_app_id: app_i64(call.sdk_app_id()),
            room_id: call.room().map(|room| room.as_str().to_owned()),
            room_numeric: call.room().map(|room| room.kind() == RoomIdKind::Numeric),
            status: status_name(call.status()),
            leave_code,
            abnormal_end,
            live: call.is_live(),
            started_ms: to_i64(started_ms),
            ready_ms: call.session_ready_ms().map(|ms| to_i64(ms.0)),
            ended_ms: call.ended_ms().map(|ms| to_i64(ms.0)),
            last_ms: to_i64(call.last_ms().map_or(started_ms, |ms| ms.0).max(started_ms)),
            turns: counts.turns,
            user_sentences: counts.user_sentences,
            robot_sentences: counts.robot_sentences,
            interrupted_turns: counts.interrupted_turns,
            errors: counts.errors,
            interventions: oversight.commands().len(),
            taken_over: oversight
                .command_steps()
                .iter()
                .any(|step| step.value.action == CommandAction::TakeOver && step.value.stage == CommandStage::Done),
            last_seq: to_i64(self.last_seq),
        };
        let mut turns = HashMap::new();
        let mut sentences = HashMap::new();
        for turn in call.turns() {
            turns.insert(turn.round().clone(), turn_row(&task_id, turn));
            let lines = turn
                .user()
                .map(|line| (Some(Speaker::User), line))
                .into_iter()
                .chain(turn.robot().map(|line| (Some(Speaker::Robot), line)))
                .chain(turn.others().iter().map(|line| (None, line)));
            for (speaker, line) in lines.filter(|(_, line)| line.is_final && !line.text.trim().is_empty()) {
                sentences
                    .insert((turn.round().clone(), line.user.clone()), sentence_row(&task_id, turn, speaker, line));
            }
        }
        CallRows { call: row, turns, sentences, review: review_rows(&task_id, call) }
    }
}

fn review_rows(task_id: &str, call: &Call) -> ReviewRows {
    let review = call.review();
    let notes = review
        .notes()
        .into_iter()
        .map(|note| {
            let row = NoteRow {
                note_id: note.value.id.clone(),
                task_id: task_id.to_owned(),
                round_id: note.value.round.as_ref().map(ToString::to_string),
                author: note.value.author.clone(),
                at_ms: to_i64(note.at.0),
                text: note.value.text.clone(),
                pushed: true,
                push_error: None,
            };
            (row.note_id.clone(), row)
        })
        .collect();
    let tags = review.tags().map(|tags| TagsRow {
        task_id: task_id.to_owned(),
        at_ms: to_i64(tags.at.0),
        tags: tags.value.tags.clone(),
    });
    // A score the table cannot hold (the hub never records one) is left out, not fatal.
    let qa = review.qa().filter(|qa| qa.value.score <= domain::call::review::QA_MAX_SCORE).map(|qa| QaRow {
        task_id: task_id.to_owned(),
        at_ms: to_i64(qa.at.0),
        author: qa.value.author.clone(),
        score: qa.value.score,
        comment: qa.value.comment.clone(),
    });
    ReviewRows { notes, tags, qa }
}

fn turn_row(task_id: &str, turn: &Turn) -> TurnRow {
    let metrics = turn.metrics();
    let value = |sample: Option<domain::call::MetricSample>| sample.map(|s| s.value).filter(|v| v.is_finite());
    TurnRow {
        task_id: task_id.to_owned(),
        round_id: turn.round().to_string(),
        first_ms: to_i64(turn.first_ms().0),
        speech_started_ms: turn.speech_started_ms().map(|ms| to_i64(ms.0)),
        finished_ms: turn.finished_ms().map(|ms| to_i64(ms.0)),
        user_text: turn.user().map(|line| line.text.clone()),
        user_final: turn.user().is_some_and(|line| line.is_final),
        robot_text: turn.robot().map(|line| line.text.clone()),
        robot_final: turn.robot().is_some_and(|line| line.is_final),
        interrupted: turn.interrupted(),
        errors: turn.errors().len(),
        asr_latency: value(metrics.asr_latency),
        llm_network_latency: value(metrics.llm_network_latency),
        llm_first_token: value(metrics.llm_first_token),
        tts_network_latency: value(metrics.tts_network_latency),
        tts_first_frame_latency: value(metrics.tts_first_frame_latency),
        tts_discontinuity: value(metrics.tts_discontinuity),
        interruption: value(metrics.interruption),
    }
}

fn sentence_row(task_id: &str, turn: &Turn, speaker: Option<Speaker>, line: &Line) -> SentenceRow {
    SentenceRow {
        task_id: task_id.to_owned(),
        round_id: turn.round().to_string(),
        user_id: line.user.to_string(),
        speaker: speaker.map(speaker_name),
        at_ms: to_i64(line.final_ms.unwrap_or(line.first_ms).0),
        body: index_form(&line.text),
    }
}

fn intervention_row(seq: u64, task: &TaskId, event: &Event) -> Option<InterventionRow> {
    let base = |kind, actor: &str, action| InterventionRow {
        seq: to_i64(seq),
        task_id: task.to_string(),
        at_ms: to_i64(event.source_ms.0),
        kind,
        actor: actor.to_owned(),
        action,
        stage: None,
        command_id: None,
        round_id: None,
        summary: None,
        error: None,
        lock_holder: None,
    };
    match &event.body {
        EventBody::Command(record) => Some(InterventionRow {
            stage: Some(record.stage.as_str()),
            command_id: Some(record.id.clone()),
            round_id: record.round.as_ref().map(ToString::to_string),
            summary: record.summary.clone(),
            error: record.error.clone(),
            ..base("command", &record.by, record.action.as_str())
        }),
        EventBody::LockChanged { holder, by, change } => {
            Some(InterventionRow { lock_holder: holder.clone(), ..base("lock", by, change.as_str()) })
        }
        _ => None,
    }
}

impl RoomEntry {
    fn rows(&self) -> HashMap<TaskId, RecordingRow> {
        let Some(room) = self.board.room(&self.key) else {
            return HashMap::new();
        };
        room.recordings()
            .filter_map(|recording| {
                let (first, last) = (recording.events().first()?.at, recording.events().last()?.at);
                let (status, leave_code) = match recording.status() {
                    RecordingStatus::Starting => ("starting", None),
                    RecordingStatus::Recording => ("recording", None),
                    RecordingStatus::StartFailed => ("start_failed", None),
                    RecordingStatus::Stopped { leave_code } => ("stopped", Some(leave_code.code())),
                };
                let recorders: Vec<&UserId> = recording.recorders().collect();
                let row = RecordingRow {
                    recording_id: recording.task().to_string(),
                    sdk_app_id: app_i64(self.key.sdk_app_id),
                    room_id: self.key.room.as_str().to_owned(),
                    room_numeric: self.key.room.kind() == RoomIdKind::Numeric,
                    status,
                    leave_code,
                    first_ms: to_i64(first.0),
                    last_ms: to_i64(last.0),
                    recorders: serde_json::to_string(&recorders).unwrap_or_else(|_| "[]".into()),
                    files: serde_json::to_string(&recording.files()).unwrap_or_else(|_| "[]".into()),
                    vod_files: serde_json::to_string(&recording.vod_files()).unwrap_or_else(|_| "[]".into()),
                };
                Some((recording.task().clone(), row))
            })
            .collect()
    }
}

impl WorkingSet {
    /// Starts a batch: nothing is dirty.
    pub(super) fn begin(&mut self) {
        self.dirty_calls.clear();
        self.dirty_rooms.clear();
    }

    /// After a failed transaction: forgets everything the batch touched.
    pub(super) fn discard(&mut self) {
        for task in std::mem::take(&mut self.dirty_calls) {
            self.calls.remove(&task);
        }
        for key in std::mem::take(&mut self.dirty_rooms) {
            self.rooms.remove(&key);
        }
    }

    /// Forgets the folds of these calls (they were purged).
    pub(super) fn forget_calls<'a>(&mut self, tasks: impl IntoIterator<Item = &'a TaskId>) {
        for task in tasks {
            self.calls.remove(task);
        }
    }

    /// Forgets every room fold (room events were purged).
    pub(super) fn forget_rooms(&mut self) {
        self.rooms.clear();
    }

    /// After a committed batch: keeps memory bounded, dropping ended calls first and never
    /// what this batch touched.
    pub(super) fn settle(&mut self) {
        if self.calls.len() > MAX_CALLS {
            let target = MAX_CALLS * 3 / 4;
            let mut ended: Vec<TaskId> = Vec::new();
            let mut live: Vec<TaskId> = Vec::new();
            for (task, entry) in &self.calls {
                if !self.dirty_calls.contains(task) {
                    if entry.call.is_live() { &mut live } else { &mut ended }.push(task.clone());
                }
            }
            for task in ended.into_iter().chain(live) {
                if self.calls.len() <= target {
                    break;
                }
                self.calls.remove(&task);
            }
        }
        if self.rooms.len() > MAX_ROOMS {
            let target = MAX_ROOMS * 3 / 4;
            let idle: Vec<RoomKey> =
                self.rooms.keys().filter(|key| !self.dirty_rooms.contains(*key)).cloned().collect();
            for key in idle {
                if self.rooms.len() <= target {
                    break;
                }
                self.rooms.remove(&key);
            }
        }
        self.begin();
    }

    /// Where `event` belongs (see the module header).
    pub(super) async fn route(&self, conn: &mut SqliteConnection, event: &Event) -> Result<Route, CacheError> {
        if event.body.is_room_scoped() {
            return Ok(match &event.call.room {
                Some(room) => Route::Room(RoomKey { sdk_app_id: event.call.sdk_app_id, room: room.clone() }),
                None => Route::Nowhere,
            });
        }
        if let Some(task) = &event.call.task {
            return Ok(Route::Call(task.clone()));
        }
        match &event.call.room {
            Some(room) => {
                Ok(self.live_call_in(conn, event.call.sdk_app_id, room).await?.map_or(Route::Nowhere, Route::Call))
            }
            None => Ok(Route::Nowhere),
        }
    }

    /// The live call in `room` that started last, from memory and the `calls` table.
    async fn live_call_in(
        &self,
        conn: &mut SqliteConnection,
        app: Option<SdkAppId>,
        room: &RoomId,
    ) -> Result<Option<TaskId>, CacheError> {
        let mut best: Option<(u64, TaskId)> = self
            .calls
            .values()
            .filter(|entry| {
                entry.call.is_live() && entry.call.room() == Some(room) && same_app(entry.call.sdk_app_id(), app)
            })
            .map(|entry| (entry.started_ms(), entry.call.task().clone()))
            .max();
        let stored: Vec<(String, i64, Option<i64>)> =
            sqlx::query_as("SELECT task_id, started_ms, sdk_app_id FROM calls WHERE room_id = ? AND live = 1")
                .bind(room.as_str())
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| CacheError::db("find the live call in a room", e))?;
        for (task, started, stored_app) in stored {
            let task = TaskId::new(task);
            let stored_app = stored_app.and_then(|app| u64::try_from(app).ok()).map(SdkAppId);
            if self.calls.contains_key(&task) || !same_app(stored_app, app) {
                continue;
            }
            let candidate = (u64::try_from(started).unwrap_or(0), task);
            if best.as_ref().is_none_or(|known| candidate > *known) {
                best = Some(candidate);
            }
        }
        Ok(best.map(|(_, task)| task))
    }

    /// Folds `event` (sequence `seq`) into the call `task`, loading the call first if it
    /// is not in memory; records the intervention row if it is one.
    pub(super) async fn apply_to_call(
        &mut self,
        conn: &mut SqliteConnection,
        task: &TaskId,
        event: &Event,
        seq: u64,
        changes: &mut Changes,
    ) -> Result<(), CacheError> {
        if !self.calls.contains_key(task) {
            let entry = load_call(conn, task).await?;
            self.calls.insert(task.clone(), entry);
        }
        self.dirty_calls.insert(task.clone());
        if let Some(entry) = self.calls.get_mut(task) {
            entry.apply(event, seq);
        }
        changes.interventions.extend(intervention_row(seq, task, event));
        Ok(())
    }

    /// Folds a room-scoped `event` into its room, loading the room first if needed.
    pub(super) async fn apply_to_room(
        &mut self,
        conn: &mut SqliteConnection,
        key: &RoomKey,
        event: &Event,
    ) -> Result<(), CacheError> {
        if !self.rooms.contains_key(key) {
            let entry = load_room(conn, key).await?;
            self.rooms.insert(key.clone(), entry);
        }
        self.dirty_rooms.insert(key.clone());
        if let Some(entry) = self.rooms.get_mut(key) {
            entry.board.apply(event);
        }
        Ok(())
    }

    /// Adds the rows this batch changed to `changes`, and takes them as written.
    pub(super) fn project(&mut self, changes: &mut Changes) {
        for task in &self.dirty_calls {
            let Some(entry) = self.calls.get_mut(task) else { continue };
            let rows = entry.rows();
            match &entry.written {
                None => {
                    changes.reset.push(rows.call.task_id.clone());
                    changes.calls.push(rows.call.clone());
                    changes.turns.extend(rows.turns.values().cloned());
                    changes.sentences.extend(rows.sentences.values().cloned());
                    changes.notes.extend(rows.review.notes.values().cloned());
                    changes.tags.extend(rows.review.tags.clone());
                    changes.qa.extend(rows.review.qa.clone());
                }
                Some(old) => {
                    if rows.call != old.call {
                        changes.calls.push(rows.call.clone());
                    }
                    changes.turns.extend(
                        rows.turns
                            .iter()
                            .filter(|(round, row)| old.turns.get(*round) != Some(*row))
                            .map(|(_, row)| row.clone()),
                    );
                    changes.sentences.extend(
                        rows.sentences
                            .iter()
                            .filter(|(key, row)| old.sentences.get(*key) != Some(*row))
                            .map(|(_, row)| row.clone()),
                    );
                    changes.sentence_deletes.extend(
                        old.sentences
                            .iter()
                            .filter(|(key, _)| !rows.sentences.contains_key(*key))
                            .map(|(_, row)| (row.task_id.clone(), row.round_id.clone(), row.user_id.clone())),
                    );
                    changes.notes.extend(
                        rows.review
                            .notes
                            .iter()
                            .filter(|(id, row)| old.review.notes.get(*id) != Some(*row))
                            .map(|(_, row)| row.clone()),
                    );
                    if rows.review.tags != old.review.tags {
                        changes.tags.extend(rows.review.tags.clone());
                    }
                    if rows.review.qa != old.review.qa {
                        changes.qa.extend(rows.review.qa.clone());
                    }
                }
            }
            entry.written = Some(rows);
        }
        for key in &self.dirty_rooms {
            let Some(entry) = self.rooms.get_mut(key) else { continue };
            let rows = entry.rows();
            let old = entry.written.as_ref();
            changes.recordings.extend(
                rows.iter()
                    .filter(|(task, row)| old.and_then(|old| old.get(*task)) != Some(*row))
                    .map(|(_, row)| row.clone()),
            );
            entry.written = Some(rows);
        }
    }
}

async fn load_call(conn: &mut SqliteConnection, task: &TaskId) -> Result<CallEntry, CacheError> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT seq, body FROM events WHERE task_id = ? ORDER BY seq")
        .bind(task.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| CacheError::db("read a call's events", e))?;
    let mut entry = CallEntry::new(task.clone());
    for (seq, body) in rows {
        entry.apply(&decode(seq, &body)?, u64::try_from(seq).unwrap_or(0));
    }
    Ok(entry)
}

async fn load_room(conn: &mut SqliteConnection, key: &RoomKey) -> Result<RoomEntry, CacheError> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT seq, body FROM events WHERE task_id IS NULL AND room_scoped = 1 AND room_id = ? AND sdk_app_id IS ? \
         ORDER BY seq",
    )
    .bind(key.room.as_str())
    .bind(app_i64(key.sdk_app_id))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| CacheError::db("read a room's events", e))?;
    let mut board = Board::new();
    for (seq, body) in rows {
        board.apply(&decode(seq, &body)?);
    }
    Ok(RoomEntry { board, key: key.clone(), written: None })
}

/// SQLite's limit on bound parameters in one statement (`SQLITE_MAX_VARIABLE_NUMBER`).
const MAX_PARAMETERS: usize = 32_766;
/// Statements with at most this many rows are kept prepared on the writer's connection (a
/// live stream's batches are mostly this small, and of the same few shapes); larger ones
/// vary with every batch and would only push other statements out of sqlx's cache.
const CACHED_ROWS: usize = 8;

/// What an insert does with a row whose key is taken.
#[derive(Debug, Clone, Copy)]
enum OnConflict {
    /// Fail the statement (the key cannot be taken: a new sequence number).
    Fail,
    /// Keep the stored row.
    Ignore(&'static [&'static str]),
    /// Overwrite every column but the key's and those kept.
    Update { key: &'static [&'static str], keep: &'static [&'static str] },
}

/// A row the writer inserts with multi-row `INSERT … VALUES (…), (…)`: its table, its columns
/// in the order [`Columns::bind`] binds them, and its conflict rule.
trait Columns {
    const TABLE: &'static str;
    const COLUMNS: &'static [&'static str];
    const ON_CONFLICT: OnConflict;
    /// Binds the row's values, one per column, in [`Columns::COLUMNS`] order.
    fn bind<'a>(&'a self, values: &mut Separated<'_, 'a, Sqlite, &'static str>);
}

/// The SQL after `VALUES …` for `R`'s conflict rule.
fn conflict_clause<R: Columns>() -> String {
    match R::ON_CONFLICT {
        OnConflict::Fail => String::new(),
        OnConflict::Ignore(key) => format!(" ON CONFLICT ({}) DO NOTHING", key.join(", ")),
        OnConflict::Update { key, keep } => {
            let updates: Vec<String> = R::COLUMNS
                .iter()
                .filter(|c| !key.contains(c) && !keep.contains(c))
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            format!(" ON CONFLICT ({}) DO UPDATE SET {}", key.join(", "), updates.join(", "))
        }
    }
}

/// Inserts `rows` with as few statements as SQLite's parameter limit allows (one for any
/// batch the writer makes in practice), with bound parameters: nothing is encoded as JSON
/// and parsed back (that shape cost the writer more than half its time; benches/cache.rs).
async fn insert_rows<R: Columns>(
    conn: &mut SqliteConnection,
    rows: &[R],
    operation: &'static str,
) -> Result<(), CacheError> {
    let rows_per_statement = MAX_PARAMETERS / R::COLUMNS.len();
    for chunk in rows.chunks(rows_per_statement) {
        let mut sql = QueryBuilder::<Sqlite>::new(format!("INSERT INTO {} ({}) ", R::TABLE, R::COLUMNS.join(", ")));
        sql.push_values(chunk, |mut values, row| row.bind(&mut values));
        sql.push(conflict_clause::<R>());
        sql.build()
            .persistent(chunk.len() <= CACHED_ROWS)
            .execute(&mut *conn)
            .await
            .map_err(|e| CacheError::db(operation, e))?;
    }
    Ok(())
}

/// A count as SQLite's integer.
fn count(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Columns for EventRow {
    const TABLE: &'static str = "events";
    const COLUMNS: &'static [&'static str] =
        &["seq", "task_id", "sdk_app_id", "room_id", "room_scoped", "kind", "source_ms", "body"];
    const ON_CONFLICT: OnConflict = OnConflict::Fail;
    fn bind<'a>(&'a self, values: &mut Separated<'_, 'a, Sqlite, &'static str>) {
        values
            .push_bind(self.seq)
            .push_bind(self.task_id.as_deref())
            .push_bind(self.sdk_app_id)
            .push_bind(self.room_id.as_deref())
            .push_bind(self.room_scoped)
            .push_bind(self.kind)
            .push_bind(self.source_ms)
            .push_bind(self.body.as_str());
    }
}

impl Columns for CallRow {
    const TABLE: &'static str = "calls";
    const COLUMNS: &'static [&'static str] = &[
        "task_id",
        "sdk_app_id",
        "room_id",
        "room_numeric",
        "status",
        "leave_code",
        "abnormal_end",
        "live",
        "started_ms",
        "ready_ms",
        "ended_ms",
        "last_ms",
        "turns",
        "user_sentences",
        "robot_sentences",
        "interrupted_turns",
        "errors",
        "interventions",
        "taken_over",
        "last_seq",
    ];
    const ON_CONFLICT: OnConflict = OnConflict::Update { key: &["task_id"], keep: &[] };
    fn bind<'a>(&'a self, values: &mut Separated<'_, 'a, Sqlite, &'static str>) {
        values
            .push_bind(self.task_id.as_str())
            .push_bind(self.sdk_app_id)
            .push_bind(self.room_id.as_deref())
            .push_bind(self.room_numeric)
            .push_bind(self.status)
            .push_bind(self.leave_code.map(i64::from))
            .push_bind(self.abnormal_end)
            .push_bind(self.live)
            .push_bind(self.started_ms)
            .push_bind(self.ready_ms)
            .push_bind(self.ended_ms)
            .push_bind(self.last_ms)
            .push_bind(count(self.turns))
            .push_bind(count(self.user_sentences))
            .push_bind(count(self.robot_sentences))
            .push_bind(count(self.interrupted_turns))
            .push_bind(count(self.errors))
            .push_bind(count(self.interventions))
            .push_bind(self.taken_over)
            .push_bind(self.last_seq);
    }
}

impl Columns for TurnRow {
    const TABLE: &'static str = "turns";
    const COLUMNS: &'static [&'static str] = &[
        "task_id",
        "round_id",
        "first_ms",
        "speech_started_ms",
        "finished_ms",
        "user_text",
        "user_final",
        "robot_text",
        "robot_final",
        "interrupted",
        "errors",
        "asr_latency",
        "llm_network_latency",
        "llm_first_token",
        "tts_network_latency",
        "tts_first_frame_latency",
        "tts_discontinuity",
        "interruption",
    ];
    const ON_CONFLICT: OnConflict = OnConflict::Update { key: &["task_id", "round_id"], keep: &[] };
    fn bind<'a>(&'a self, values: &mut Separated<'_, 'a, Sqlite, &'static str>) {
        values
            .push_bind(self.task_id.as_str())
            .push_bind(self.round_id.as_str())
            .push_bind(self.first_ms)
            .push_bind(self.speech_started_ms)
            .push_bind(self.finished_ms)
            .push_bind(self.user_text.as_deref())
            .push_bind(self.user_final)
            .push_bind(self.robot_text.as_deref())
            .push_bind(self.robot_final)
            .push_bind(self.interrupted)
            .push_bind(count(self.errors))
            .push_bind(self.asr_latency)
            .push_bind(self.llm_network_latency)
            .push_bind(self.llm_first_token)
            .push_bind(self.tts_network_latency)
            .push_bind(self.tts_first_frame_latency)
            .push_bind(self.tts_discontinuity)
            .push_bind(self.interruption);
    }
}

/// A sentence row with the id it is stored under (see [`key_sentences`]).
struct KeyedSentence<'r> {
    id: i64,
    row: &'r SentenceRow,
}

impl Columns for KeyedSentence<'_> {
    const TABLE: &'static str = "sentences";
    const COLUMNS: &'static [&'static str] = &["id", "task_id", "round_id", "user_id", "speaker", "at_ms", "body"];
    // A row that keeps its key keeps its id (`key_sentences` gave it the stored one).
    const ON_CONFLICT: OnConflict = OnConflict::Update { key: &["task_id", "round_id", "user_id"], keep: &["id"] };
    fn bind<'a>(&'a self, values: &mut Separated<'_, 'a, Sqlite, &'static str>) {
        let row = self.row;
        values
            .push_bind(self.id)
            .push_bind(row.task_id.as_str())
            .push_bind(row.round_id.as_str())
            .push_bind(row.user_id.as_str())
            .push_bind(row.speaker)
            .push_bind(row.at_ms)
            .push_bind(row.body.as_str());
    }
}

/// Bits of a sentence's id below its source time: 2^20 sentences per millisecond.
const SENTENCE_SLOT_BITS: u32 = 20;
/// The latest source time an id can carry (year 2248); a later one is stored under it.
const MAX_SENTENCE_MS: i64 = i64::MAX >> SENTENCE_SLOT_BITS;

/// The millisecond a sentence's id is keyed by.
fn sentence_ms(at_ms: i64) -> i64 {
    at_ms.clamp(0, MAX_SENTENCE_MS)
}

/// Gives each sentence row the id it is stored under: `at_ms × 2^20 + n`, with n the next
/// free slot of that millisecond, so that the sentences' rowid — and the full-text index's —
/// orders them by source time and search can walk the index newest first and stop after a
/// page. A row whose call, round and speaker are stored already keeps its id while its
/// millisecond is the same; one whose time changed is deleted here (with its index entry, by
/// the trigger) and stored again under a new id.
async fn key_sentences<'r>(
    conn: &mut SqliteConnection,
    rows: &'r [SentenceRow],
) -> Result<Vec<KeyedSentence<'r>>, CacheError> {
    let failed = |e| CacheError::db("key sentences by time", e);
    let index: HashMap<(&str, &str, &str), usize> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| ((row.task_id.as_str(), row.round_id.as_str(), row.user_id.as_str()), i))
        .collect();
    // The stored id of each row's call, round and speaker, if stored.
    let mut stored: Vec<Option<i64>> = vec![None; rows.len()];
    for chunk in rows.chunks(MAX_PARAMETERS / 3) {
        let mut sql = QueryBuilder::<Sqlite>::new("SELECT s.task_id, s.round_id, s.user_id, s.id FROM (");
        sql.push_values(chunk, |mut key, row| {
            key.push_bind(row.task_id.as_str()).push_bind(row.round_id.as_str()).push_bind(row.user_id.as_str());
        });
        sql.push(
            ") AS k JOIN sentences s ON s.task_id = k.column1 AND s.round_id = k.column2 AND s.user_id = k.column3",
        );
        let found: Vec<(String, String, String, i64)> =
            sql.build_query_as().persistent(false).fetch_all(&mut *conn).await.map_err(failed)?;
        for (task, round, user, id) in found {
            if let Some(&i) = index.get(&(task.as_str(), round.as_str(), user.as_str())) {
                stored[i] = Some(id);
            }
        }
    }
    let mut keyed: Vec<Option<i64>> = Vec::with_capacity(rows.len());
    let mut moved: Vec<i64> = Vec::new();
    for (row, known) in rows.iter().zip(stored) {
        match known {
            Some(id) if id >> SENTENCE_SLOT_BITS == sentence_ms(row.at_ms) => keyed.push(Some(id)),
            Some(id) => {
                moved.push(id);
                keyed.push(None);
            }
            None => keyed.push(None),
        }
    }
    for chunk in moved.chunks(MAX_PARAMETERS) {
        let mut sql = QueryBuilder::<Sqlite>::new("DELETE FROM sentences WHERE id IN (");
        let mut ids = sql.separated(", ");
        for id in chunk {
            ids.push_bind(*id);
        }
        sql.push(")");
        sql.build().persistent(false).execute(&mut *conn).await.map_err(failed)?;
    }
    // The next free slot of each millisecond that gets a new id.
    let mut next: HashMap<i64, i64> = HashMap::new();
    let wanted: BTreeSet<i64> =
        rows.iter().zip(&keyed).filter(|(_, id)| id.is_none()).map(|(row, _)| sentence_ms(row.at_ms)).collect();
    let wanted: Vec<i64> = wanted.into_iter().collect();
    for chunk in wanted.chunks(MAX_PARAMETERS) {
        let mut sql =
            QueryBuilder::<Sqlite>::new("SELECT m.column1, (SELECT max(s.id) FROM sentences s WHERE s.id >= ");
        sql.push("m.column1 << ")
            .push(SENTENCE_SLOT_BITS)
            .push(" AND s.id < (m.column1 + 1) << ")
            .push(SENTENCE_SLOT_BITS);
        sql.push(") FROM (");
        sql.push_values(chunk, |mut ms, value| {
            ms.push_bind(*value);
        });
        sql.push(") AS m");
        let found: Vec<(i64, Option<i64>)> =
            sql.build_query_as().persistent(false).fetch_all(&mut *conn).await.map_err(failed)?;
        for (ms, max) in found {
            next.insert(ms, max.map_or(ms << SENTENCE_SLOT_BITS, |max| max + 1));
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for (row, id) in rows.iter().zip(keyed) {
        let id = match id {
            Some(id) => id,
            None => {
                let ms = sentence_ms(row.at_ms);
                let slot = next.entry(ms).or_insert(ms << SENTENCE_SLOT_BITS);
                let id = if *slot >> SENTENCE_SLOT_BITS == ms { *slot } else { free_slot(conn, ms, &out).await? };
                *slot = id + 1;
                id
            }
        };
        out.push(KeyedSentence { id, row });
    }
    Ok(out)
}

/// A free id in millisecond `ms` below its highest one, for when its top slot is taken:
/// the first gap among the stored ids and those `given` in this batch.
async fn free_slot(conn: &mut SqliteConnection, ms: i64, given: &[KeyedSentence<'_>]) -> Result<i64, CacheError> {
    let first = ms << SENTENCE_SLOT_BITS;
    let end = (ms + 1) << SENTENCE_SLOT_BITS;
    let mut taken: BTreeSet<i64> = sqlx::query_scalar("SELECT id FROM sentences WHERE id >= ?1 AND id < ?2")
        .bind(first)
        .bind(end)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| CacheError::db("key sentences by time", e))?
        .into_iter()
        .collect();
    taken.extend(given.iter().map(|keyed| keyed.id).filter(|id| (first..end).contains(id)));
    (first..end).find(|id| !taken.contains(id)).ok_or_else(|| CacheError::Database {
        operation: "key sentences by time",
        cause: format!("all {} sentence ids of source time {ms} ms are taken", 1_u64 << SENTENCE_SLOT_BITS),
    })
}

impl Columns for InterventionRow {
    const TABLE: &'static str = "interventions";
    const COLUMNS: &'static [&'static str] = &[
        "seq",
        "task_id",
        "at_ms",
        "kind",
        "actor",
        "action",
        "stage",
        "command_id",
        "round_id",
        "summary",
        "error",
        "lock_holder",
    ];
    const ON_CONFLICT: OnConflict = OnConflict::Ignore(&["seq"]);
    fn bind<'a>(&'a self, values: &mut Separated<'_, 'a, Sqlite, &'static str>) {
        values
            .push_bind(self.seq)
            .push_bind(self.task_id.as_str())
            .push_bind(self.at_ms)
            .push_bind(self.kind)
            .push_bind(self.actor.as_str())
            .push_bind(self.action)
            .push_bind(self.stage)
            .push_bind(self.command_id.as_deref())
            .push_bind(self.round_id.as_deref())
            .push_bind(self.summary.as_deref())
            .push_bind(self.error.as_deref())
            .push_bind(self.lock_holder.as_deref());
    }
}

impl Columns for NoteRow {
    const TABLE: &'static str = "notes";
    const COLUMNS: &'static [&'static str] =
        &["note_id", "task_id", "round_id", "author", "at_ms", "text", "pushed", "push_error"];
    const ON_CONFLICT: OnConflict = OnConflict::Update { key: &["task_id", "note_id"], keep: &[] };
    fn bind<'a>(&'a self, values: &mut Separated<'_, 'a, Sqlite, &'static str>) {
        values
            .push_bind(self.note_id.as_str())
            .push_bind(self.task_id.as_str())
            .push_bind(self.round_id.as_deref())
            .push_bind(self.author.as_str())
            .push_bind(self.at_ms)
            .push_bind(self.text.as_str())
            .push_bind(self.pushed)
            .push_bind(self.push_error.as_deref());
    }
}

impl Columns for RecordingRow {
    const TABLE: &'static str = "recordings";
    const COLUMNS: &'static [&'static str] = &[
        "recording_id",
        "sdk_app_id",
        "room_id",
        "room_numeric",
        "status",
        "leave_code",
        "first_ms",
        "last_ms",
        "recorders",
        "files",
        "vod_files",
    ];
    const ON_CONFLICT: OnConflict = OnConflict::Update { key: &["recording_id"], keep: &[] };
    fn bind<'a>(&'a self, values: &mut Separated<'_, 'a, Sqlite, &'static str>) {
        values
            .push_bind(self.recording_id.as_str())
            .push_bind(self.sdk_app_id)
            .push_bind(self.room_id.as_str())
            .push_bind(self.room_numeric)
            .push_bind(self.status)
            .push_bind(self.leave_code.map(i64::from))
            .push_bind(self.first_ms)
            .push_bind(self.last_ms)
            .push_bind(self.recorders.as_str())
            .push_bind(self.files.as_str())
            .push_bind(self.vod_files.as_str());
    }
}

/// Whether this console holds a later tag set or score of its own for the row's call, not
/// yet acknowledged (`{kind}` is filled in): then the local one stands.
const LOCAL_IS_LATER: &str = "EXISTS (SELECT 1 FROM review_outbox AS o WHERE o.task_id = row.value ->> 'task_id' \
     AND o.kind = '{kind}' AND o.written_ms > row.value ->> 'at_ms')";

static REPLACE_TAGS: LazyLock<[String; 2]> = LazyLock::new(|| {
    let later = LOCAL_IS_LATER.replace("{kind}", "tags");
    [
        format!(
            "DELETE FROM call_tags WHERE task_id IN \
             (SELECT row.value ->> 'task_id' FROM json_each(?1) AS row WHERE NOT {later})"
        ),
        format!(
            "INSERT INTO call_tags (task_id, tag) SELECT row.value ->> 'task_id', tag.value \
             FROM json_each(?1) AS row, json_each(row.value -> 'tags') AS tag WHERE NOT {later} \
             ON CONFLICT DO NOTHING"
        ),
    ]
});

static REPLACE_QA: LazyLock<String> = LazyLock::new(|| {
    let later = LOCAL_IS_LATER.replace("{kind}", "qa");
    format!(
        "INSERT INTO qa_scores (task_id, score, reviewer, comment, at_ms) \
         SELECT row.value ->> 'task_id', row.value ->> 'score', row.value ->> 'author', row.value ->> 'comment', \
         row.value ->> 'at_ms' FROM json_each(?1) AS row WHERE NOT {later} \
         ON CONFLICT (task_id) DO UPDATE SET score = excluded.score, reviewer = excluded.reviewer, \
         comment = excluded.comment, at_ms = excluded.at_ms"
    )
});

/// Removes outbox entries of `{kind}` the hub's latest change for their call is at least
/// as recent as: acknowledged (their own event) or superseded.
const CAUGHT_UP: &str = "DELETE FROM review_outbox WHERE kind = '{kind}' AND EXISTS \
     (SELECT 1 FROM json_each(?1) AS row WHERE row.value ->> 'task_id' = review_outbox.task_id \
     AND review_outbox.written_ms <= row.value ->> 'at_ms')";
static CAUGHT_UP_TAGS: LazyLock<String> = LazyLock::new(|| CAUGHT_UP.replace("{kind}", "tags"));
static CAUGHT_UP_QA: LazyLock<String> = LazyLock::new(|| CAUGHT_UP.replace("{kind}", "qa"));

/// Runs one statement over `rows` bound as one JSON array (nothing when there are none):
/// for the review rows, whose statements read the outbox row by row; they are few.
async fn bulk<T: Serialize>(
    conn: &mut SqliteConnection,
    sql: &str,
    rows: &[T],
    operation: &'static str,
) -> Result<(), CacheError> {
    if rows.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_string(rows).map_err(|e| CacheError::Database { operation, cause: e.to_string() })?;
    sqlx::query(sql).bind(json).execute(&mut *conn).await.map_err(|e| CacheError::db(operation, e))?;
    Ok(())
}

impl Changes {
    /// Records an appended event's row.
    pub(super) fn event(&mut self, seq: u64, event: &Event, route: &Route) -> Result<(), CacheError> {
        let body = serde_json::to_string(event)
            .map_err(|e| CacheError::Database { operation: "encode an event", cause: e.to_string() })?;
        self.events.push(EventRow {
            seq: to_i64(seq),
            task_id: match route {
                Route::Call(task) => Some(task.to_string()),
                Route::Room(_) | Route::Nowhere => None,
            },
            sdk_app_id: app_i64(event.call.sdk_app_id),
            room_id: event.call.room.as_ref().map(|room| room.as_str().to_owned()),
            room_scoped: event.body.is_room_scoped(),
            kind: kind_of(&event.body),
            source_ms: to_i64(event.source_ms.0),
            body,
        });
        Ok(())
    }

    /// Writes everything, in an order the foreign keys accept.
    pub(super) async fn write(&self, conn: &mut SqliteConnection) -> Result<(), CacheError> {
        insert_rows(conn, &self.events, "store events").await?;
        insert_rows(conn, &self.calls, "store calls").await?;
        if !self.reset.is_empty() {
            let tasks = serde_json::to_string(&self.reset)
                .map_err(|e| CacheError::Database { operation: "rewrite a call", cause: e.to_string() })?;
            for sql in [
                "DELETE FROM sentences WHERE task_id IN (SELECT value FROM json_each(?1))",
                "DELETE FROM turns WHERE task_id IN (SELECT value FROM json_each(?1))",
            ] {
                sqlx::query(sql)
                    .bind(&tasks)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| CacheError::db("rewrite a call", e))?;
            }
        }
        insert_rows(conn, &self.turns, "store turns").await?;
        if !self.sentence_deletes.is_empty() {
            let keys = serde_json::to_string(&self.sentence_deletes)
                .map_err(|e| CacheError::Database { operation: "remove sentences", cause: e.to_string() })?;
            sqlx::query(
                "DELETE FROM sentences WHERE (task_id, round_id, user_id) IN \
                 (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1))",
            )
            .bind(keys)
            .execute(&mut *conn)
            .await
            .map_err(|e| CacheError::db("remove sentences", e))?;
        }
        let sentences = key_sentences(conn, &self.sentences).await?;
        insert_rows(conn, &sentences, "store sentences").await?;
        insert_rows(conn, &self.interventions, "store interventions").await?;
        insert_rows(conn, &self.recordings, "store recordings").await?;
        insert_rows(conn, &self.notes, "store notes").await?;
        for sql in REPLACE_TAGS.iter() {
            bulk(conn, sql, &self.tags, "store tags").await?;
        }
        bulk(conn, &CAUGHT_UP_TAGS, &self.tags, "store tags").await?;
        bulk(conn, &REPLACE_QA, &self.qa, "store QA scores").await?;
        bulk(conn, &CAUGHT_UP_QA, &self.qa, "store QA scores").await?;
        Ok(())
    }
}
