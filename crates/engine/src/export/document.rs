//! `call.json`: one document with everything the export holds about a call, built from the
//! domain fold of the call's stored events (`Call::apply` — the same fold the live view,
//! the hub and the cache use) plus the review data only the cache keeps.
//!
//! Every time appears as `{"ms": <Unix ms as TRTC gave it>, "utc": "<ISO 8601>"}`. The
//! document names its schema and version ([`SCHEMA`], [`SCHEMA_VERSION`]); a change that
//! removes or renames a field raises the version, an added field does not.
//!
//! What deliberately does not live here: raw event bodies (only the fields below are
//! exported, never an event wholesale), anything the cache holds about other calls, and
//! writing files (`files.rs`).

use std::collections::BTreeMap;

use domain::api::Language;
use domain::call::{Call, CallStatus, ErrorRecord, Line, MetricSample, StateOrigin, Turn};
use domain::event::{CommandStage, LockChange, PipelineError, PipelineStage, RobotState, SentenceTimes, Speaker};
use domain::ids::{RoundId, SourceMs, TaskId};
use serde::Serialize;

use crate::cache::{CallSummary, Note, QaScore};

/// What `call.json` says it is.
pub const SCHEMA: &str = "switchboard.call-export";
/// The version of `call.json`'s layout.
pub const SCHEMA_VERSION: u32 = 1;

/// A moment, as TRTC's milliseconds and as ISO 8601 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Time {
    pub ms: u64,
    pub utc: String,
}

impl Time {
    pub(crate) fn at(ms: SourceMs) -> Time {
        Time { ms: ms.0, utc: super::utc::iso8601(ms.0) }
    }

    fn from_ms(ms: u64) -> Time {
        Time::at(SourceMs(ms))
    }
}

/// The whole of `call.json`.
#[derive(Debug, Serialize)]
pub(crate) struct Document {
    pub schema: &'static str,
    pub schema_version: u32,
    pub exported_at: Time,
    pub call: CallSection,
    /// Final sentences in the order they were spoken.
    pub transcript: Vec<SentenceEntry>,
    /// Turns in the order they began.
    pub turns: Vec<TurnEntry>,
    /// Pipeline errors that named no round.
    pub call_errors: Vec<ErrorEntry>,
    /// Supervisors' commands (each once, at its outcome) and lock changes, by time.
    pub interventions: Vec<InterventionEntry>,
    pub notes: Vec<NoteEntry>,
    pub tags: Vec<String>,
    pub qa: Option<QaEntry>,
    /// The call's recordings and what became of their local files in this export.
    pub recordings: Vec<RecordingEntry>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CallSection {
    pub task_id: String,
    pub sdk_app_id: Option<u64>,
    pub room_id: Option<String>,
    /// `starting`, `ready`, `in_progress`, `ended` or `start_failed`.
    pub status: &'static str,
    /// 902's `LeaveCode`, once ended.
    pub leave_code: Option<u32>,
    /// Ended for a reason a supervisor should look at.
    pub abnormal_end: bool,
    pub live: bool,
    pub started: Option<Time>,
    pub session_ready: Option<Time>,
    pub ended: Option<Time>,
    pub last_event: Option<Time>,
    /// From start to end; `None` while live.
    pub duration_ms: Option<u64>,
    pub turns: usize,
    pub user_sentences: usize,
    pub robot_sentences: usize,
    pub interrupted_turns: usize,
    pub errors: usize,
    /// Supervisors' commands, each once.
    pub commands: usize,
    /// A take-over was done at some point.
    pub taken_over: bool,
    /// Who holds the call now (a take-over not handed back).
    pub taken_over_by: Option<String>,
    pub alerts: usize,
    /// The last hub sequence number the cache had folded into the call.
    pub last_seq: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SentenceEntry {
    /// 1, 2, 3… in spoken order.
    pub index: usize,
    pub round_id: String,
    /// `user`, `robot` or `unknown`.
    pub speaker: &'static str,
    pub user_id: String,
    /// When the speech began and ended (903's `StartTimeMs` / `EndTimeMs`).
    pub start: Option<Time>,
    pub end: Option<Time>,
    /// The room subtitle's `HH:MM:SS` form, when that is all the source gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_clock: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_clock: Option<String>,
    /// When the sentence was first reported final.
    pub final_at: Time,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct TurnEntry {
    /// 1, 2, 3… in the order the turns began.
    pub index: usize,
    pub round_id: String,
    pub first: Time,
    pub speech_started: Option<Time>,
    pub finished: Option<Time>,
    pub user_text: Option<String>,
    pub user_final: bool,
    pub robot_text: Option<String>,
    pub robot_final: bool,
    pub interrupted: bool,
    pub metrics: MetricsEntry,
    /// Metrics TRTC sent that the contract does not list, by name.
    pub other_metrics: BTreeMap<String, MetricEntry>,
    pub errors: Vec<ErrorEntry>,
    pub states: Vec<StateEntry>,
}

/// The seven documented metrics: ms, except the count `tts_discontinuity` and the
/// flag-like `interruption`.
#[derive(Debug, Serialize)]
pub(crate) struct MetricsEntry {
    pub asr_latency: Option<MetricEntry>,
    pub llm_network_latency: Option<MetricEntry>,
    pub llm_first_token: Option<MetricEntry>,
    pub tts_network_latency: Option<MetricEntry>,
    pub tts_first_frame_latency: Option<MetricEntry>,
    pub tts_discontinuity: Option<MetricEntry>,
    pub interruption: Option<MetricEntry>,
}

impl MetricsEntry {
    /// The seven values in the contract's order, as `turns.csv` lists them.
    pub(crate) fn values(&self) -> [Option<f64>; 7] {
        [
            &self.asr_latency,
            &self.llm_network_latency,
            &self.llm_first_token,
            &self.tts_network_latency,
            &self.tts_first_frame_latency,
            &self.tts_discontinuity,
            &self.interruption,
        ]
        .map(|metric| metric.as_ref().map(|m| m.value))
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct MetricEntry {
    pub value: f64,
    pub reported: Time,
}

#[derive(Debug, Serialize)]
pub(crate) struct ErrorEntry {
    pub at: Time,
    /// `asr`, `llm`, `tts` or `other`.
    pub stage: &'static str,
    pub code: i64,
    /// A stable key for a documented code (`llm_timeout`…), `None` for an undocumented one.
    pub meaning: Option<&'static str>,
    /// What the code means, in the export's language.
    pub meaning_text: &'static str,
    /// The metric name TRTC sent (`llm_error`…).
    pub metric: String,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct StateEntry {
    pub at: Time,
    /// `listening`, `thinking`, `speaking`, `interrupted` or `finished`.
    pub state: &'static str,
    /// `room` (said by the robot) or `derived` (inferred from callbacks).
    pub origin: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct InterventionEntry {
    /// `command` or `lock`.
    pub kind: &'static str,
    /// The command's action (`say`, `take_over`…) or the lock's change (`taken`…).
    pub action: String,
    /// Who did it.
    pub by: String,
    /// When it was asked for (a command's first stage) or happened (a lock change).
    pub at: Time,
    /// A command's latest stage: `requested`, `accepted`, `done` or `failed`.
    pub outcome: Option<&'static str>,
    pub outcome_at: Option<Time>,
    pub round_id: Option<String>,
    pub summary: Option<String>,
    pub error: Option<String>,
    /// Who holds the lock after a lock change.
    pub lock_holder: Option<String>,
    pub command_id: Option<String>,
    /// Every stage of a command, by time.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepEntry>,
}

#[derive(Debug, Serialize)]
pub(crate) struct StepEntry {
    pub stage: &'static str,
    pub at: Time,
}

#[derive(Debug, Serialize)]
pub(crate) struct NoteEntry {
    pub id: i64,
    pub author: String,
    pub at: Time,
    pub round_id: Option<String>,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct QaEntry {
    pub score: u8,
    pub reviewer: String,
    pub comment: Option<String>,
    pub at: Time,
}

#[derive(Debug, Serialize)]
pub(crate) struct RecordingEntry {
    pub recording_id: String,
    /// `starting`, `recording`, `start_failed` or `stopped`.
    pub status: &'static str,
    pub leave_code: Option<u32>,
    pub first: Time,
    pub last: Time,
    pub files: Vec<RecordingFileEntry>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RecordingFileEntry {
    /// The remote file's name or VOD id; `None` when nothing of the recording was downloaded.
    pub name: Option<String>,
    /// Where the copy is, relative to the export's folder (`recordings/…`).
    pub exported_as: Option<String>,
    pub bytes: Option<u64>,
    /// Why there is no copy.
    pub missing: Option<super::MissingReason>,
}

/// A lock change of the call, taken from its stored hub facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LockFact {
    pub at: SourceMs,
    pub holder: Option<String>,
    pub by: String,
    pub change: LockChange,
}

/// What the document is built from.
#[derive(Debug)]
pub(crate) struct Sources<'a> {
    pub summary: &'a CallSummary,
    pub call: &'a Call,
    pub locks: &'a [LockFact],
    pub notes: &'a [Note],
    pub qa: Option<&'a QaScore>,
    pub exported_ms: u64,
    pub language: Language,
}

/// The document, without its recordings (those are known once the files are copied).
pub(crate) fn build(sources: &Sources<'_>) -> Document {
    let call = sources.call;
    let turns = call.turns();
    Document {
        schema: SCHEMA,
        schema_version: SCHEMA_VERSION,
        exported_at: Time::from_ms(sources.exported_ms),
        call: call_section(sources.summary, call),
        transcript: transcript(&turns),
        turns: turns.iter().enumerate().map(|(i, turn)| turn_entry(i + 1, turn, sources.language)).collect(),
        call_errors: call.loose_errors().iter().map(|e| error_entry(e, sources.language)).collect(),
        interventions: interventions(call, sources.locks),
        notes: sources
            .notes
            .iter()
            .map(|note| NoteEntry {
                id: note.id,
                author: note.author.clone(),
                at: Time::at(note.at),
                round_id: note.round.as_ref().map(ToString::to_string),
                text: note.text.clone(),
            })
            .collect(),
        tags: sources.summary.tags.clone(),
        qa: sources.qa.map(|qa| QaEntry {
            score: qa.score,
            reviewer: qa.reviewer.clone(),
            comment: qa.comment.clone(),
            at: Time::at(qa.at),
        }),
        recordings: Vec::new(),
    }
}

/// The call as its fold sees it; alerts and the cursor come from the cache's summary.
fn call_section(summary: &CallSummary, call: &Call) -> CallSection {
    let (status, leave_code, abnormal_end) = match call.status() {
        CallStatus::Starting => ("starting", None, false),
        CallStatus::Ready => ("ready", None, false),
        CallStatus::InProgress => ("in_progress", None, false),
        CallStatus::StartFailed => ("start_failed", None, false),
        CallStatus::Ended { leave_code } => ("ended", Some(leave_code.code()), leave_code.is_abnormal()),
    };
    let oversight = call.oversight();
    let counts = call.counts();
    let started = call.started_ms();
    CallSection {
        task_id: call.task().to_string(),
        sdk_app_id: call.sdk_app_id().map(|app| app.0),
        room_id: call.room().map(|room| room.as_str().to_owned()),
        status,
        leave_code,
        abnormal_end,
        live: call.is_live(),
        started: started.map(Time::at),
        session_ready: call.session_ready_ms().map(Time::at),
        ended: call.ended_ms().map(Time::at),
        last_event: call.last_ms().map(Time::at),
        duration_ms: call.ended_ms().zip(started).map(|(end, start)| end.since(start)),
        turns: counts.turns,
        user_sentences: counts.user_sentences,
        robot_sentences: counts.robot_sentences,
        interrupted_turns: counts.interrupted_turns,
        errors: counts.errors,
        commands: oversight.commands().len(),
        taken_over: oversight.command_steps().iter().any(|step| {
            step.value.action == domain::event::CommandAction::TakeOver && step.value.stage == CommandStage::Done
        }),
        taken_over_by: oversight.taken_over_by().map(str::to_owned),
        alerts: summary.alerts,
        last_seq: summary.last_seq.0,
    }
}

/// Final, non-blank sentences of every speaker, in spoken order: by when the speech began
/// (when the source said; else when it was first heard), then turn order, user before
/// robot.
fn transcript(turns: &[&Turn]) -> Vec<SentenceEntry> {
    let mut sentences: Vec<((u64, usize, u8), SentenceEntry)> = Vec::new();
    for (turn_index, turn) in turns.iter().enumerate() {
        let lines = turn
            .user()
            .map(|line| (Some(Speaker::User), line))
            .into_iter()
            .chain(turn.robot().map(|line| (Some(Speaker::Robot), line)))
            .chain(turn.others().iter().map(|line| (None, line)));
        for (speaker, line) in lines.filter(|(_, line)| line.is_final && !line.text.trim().is_empty()) {
            let entry = sentence_entry(turn.round(), speaker, line);
            let began = entry.start.as_ref().map_or(line.first_ms.0, |start| start.ms);
            let rank = match speaker {
                Some(Speaker::User) => 0,
                Some(Speaker::Robot) => 1,
                None => 2,
            };
            sentences.push(((began, turn_index, rank), entry));
        }
    }
    sentences.sort_by_key(|(key, _)| *key);
    sentences.into_iter().enumerate().map(|(i, (_, entry))| SentenceEntry { index: i + 1, ..entry }).collect()
}

fn sentence_entry(round: &RoundId, speaker: Option<Speaker>, line: &Line) -> SentenceEntry {
    let (mut start, mut end, mut start_clock, mut end_clock) = (None, None, None, None);
    match &line.times {
        Some(SentenceTimes::Ms { start_ms, end_ms }) => {
            start = start_ms.map(Time::from_ms);
            end = end_ms.map(Time::from_ms);
        }
        Some(SentenceTimes::Clock { start, end }) => {
            start_clock.clone_from(start);
            end_clock.clone_from(end);
        }
        None => {}
    }
    SentenceEntry {
        index: 0,
        round_id: round.to_string(),
        speaker: speaker_name(speaker),
        user_id: line.user.to_string(),
        start,
        end,
        start_clock,
        end_clock,
        final_at: Time::at(line.final_ms.unwrap_or(line.first_ms)),
        text: line.text.clone(),
    }
}

fn turn_entry(index: usize, turn: &Turn, language: Language) -> TurnEntry {
    let metrics = turn.metrics();
    let metric = |sample: Option<MetricSample>| {
        sample.filter(|s| s.value.is_finite()).map(|s| MetricEntry { value: s.value, reported: Time::at(s.at) })
    };
    TurnEntry {
        index,
        round_id: turn.round().to_string(),
        first: Time::at(turn.first_ms()),
        speech_started: turn.speech_started_ms().map(Time::at),
        finished: turn.finished_ms().map(Time::at),
        user_text: turn.user().map(|line| line.text.clone()),
        user_final: turn.user().is_some_and(|line| line.is_final),
        robot_text: turn.robot().map(|line| line.text.clone()),
        robot_final: turn.robot().is_some_and(|line| line.is_final),
        interrupted: turn.interrupted(),
        metrics: MetricsEntry {
            asr_latency: metric(metrics.asr_latency),
            llm_network_latency: metric(metrics.llm_network_latency),
            llm_first_token: metric(metrics.llm_first_token),
            tts_network_latency: metric(metrics.tts_network_latency),
            tts_first_frame_latency: metric(metrics.tts_first_frame_latency),
            tts_discontinuity: metric(metrics.tts_discontinuity),
            interruption: metric(metrics.interruption),
        },
        other_metrics: metrics
            .other
            .iter()
            .filter_map(|(name, sample)| metric(Some(*sample)).map(|entry| (name.clone(), entry)))
            .collect(),
        errors: turn.errors().iter().map(|e| error_entry(e, language)).collect(),
        states: turn
            .states()
            .iter()
            .map(|change| StateEntry {
                at: Time::at(change.at),
                state: state_name(change.state),
                origin: match change.origin {
                    StateOrigin::Room => "room",
                    StateOrigin::Derived => "derived",
                },
            })
            .collect(),
    }
}

fn error_entry(record: &ErrorRecord, language: Language) -> ErrorEntry {
    let error = &record.error;
    ErrorEntry {
        at: Time::at(record.at),
        stage: match error.stage {
            PipelineStage::Asr => "asr",
            PipelineStage::Llm => "llm",
            PipelineStage::Tts => "tts",
            PipelineStage::Other => "other",
        },
        code: error.code,
        meaning: error.meaning(),
        meaning_text: meaning_text(error, language),
        metric: error.metric.clone(),
        message: error.message.clone(),
    }
}

/// What a pipeline error code means, as the TRTC contract's table says (§3.3).
pub(crate) fn meaning_text(error: &PipelineError, language: Language) -> &'static str {
    error.meaning_text(language)
}

/// Each command once — at the outcome the fold decides (`Oversight::commands`), asked for
/// at its first stage — and every lock change, by time.
fn interventions(call: &Call, locks: &[LockFact]) -> Vec<InterventionEntry> {
    let oversight = call.oversight();
    let steps = oversight.command_steps();
    let mut entries: Vec<InterventionEntry> = oversight
        .commands()
        .into_iter()
        .map(|latest| {
            let record = latest.value;
            let own: Vec<StepEntry> = steps
                .iter()
                .filter(|step| step.value.id == record.id)
                .map(|step| StepEntry { stage: step.value.stage.as_str(), at: Time::at(step.at) })
                .collect();
            let asked = own.iter().map(|step| step.at.ms).min().unwrap_or(latest.at.0);
            InterventionEntry {
                kind: "command",
                action: record.action.as_str().to_owned(),
                by: record.by.clone(),
                at: Time::from_ms(asked),
                outcome: Some(record.stage.as_str()),
                outcome_at: Some(Time::at(latest.at)),
                round_id: record.round.as_ref().map(ToString::to_string),
                summary: record.summary.clone(),
                error: record.error.clone(),
                lock_holder: None,
                command_id: Some(record.id.clone()),
                steps: own,
            }
        })
        .collect();
    entries.extend(locks.iter().map(|lock| InterventionEntry {
        kind: "lock",
        action: lock.change.as_str().to_owned(),
        by: lock.by.clone(),
        at: Time::at(lock.at),
        outcome: None,
        outcome_at: None,
        round_id: None,
        summary: None,
        error: None,
        lock_holder: lock.holder.clone(),
        command_id: None,
        steps: Vec::new(),
    }));
    // Stable: commands keep the fold's order among themselves at the same millisecond.
    entries.sort_by_key(|entry| entry.at.ms);
    entries
}

/// A call's lock changes among its stored events, by time.
pub(crate) fn lock_facts(task: &TaskId, events: &[domain::event::Event]) -> Vec<LockFact> {
    let mut locks: Vec<(SourceMs, u64, LockFact)> = events
        .iter()
        .filter(|event| event.call.task.as_ref() == Some(task))
        .filter_map(|event| match &event.body {
            domain::event::EventBody::LockChanged { holder, by, change } => Some((
                event.source_ms,
                event.seq.map_or(0, |seq| seq.0),
                LockFact { at: event.source_ms, holder: holder.clone(), by: by.clone(), change: *change },
            )),
            _ => None,
        })
        .collect();
    locks.sort_by_key(|(at, seq, _)| (*at, *seq));
    locks.into_iter().map(|(_, _, lock)| lock).collect()
}

fn speaker_name(speaker: Option<Speaker>) -> &'static str {
    match speaker {
        Some(Speaker::User) => "user",
        Some(Speaker::Robot) => "robot",
        None => "unknown",
    }
}

fn state_name(state: RobotState) -> &'static str {
    match state {
        RobotState::Listening => "listening",
        RobotState::Thinking => "thinking",
        RobotState::Speaking => "speaking",
        RobotState::Interrupted => "interrupted",
        RobotState::Finished => "finished",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use domain::event::{CallRef, Event, EventBody, Sentence};
    use domain::ids::UserId;

    fn sentence(round: &str, user: &str, at: u64, start: Option<u64>, text: &str) -> Event {
        let body = EventBody::Sentence(Sentence {
            speaker: None,
            user: UserId::new(user),
            round: RoundId::new(round),
            text: text.to_owned(),
            is_final: true,
            times: Some(SentenceTimes::Ms { start_ms: start, end_ms: start.map(|s| s + 500) }),
        });
        Event {
            call: CallRef::task(TaskId::new("t")),
            source: domain::event::Source::Callback,
            source_ms: SourceMs(at),
            seq: None,
            body,
        }
    }

    fn fold(events: &[Event]) -> Call {
        let mut call = Call::new(TaskId::new("t"));
        events.iter().for_each(|event| call.apply(event));
        call
    }

    #[test]
    fn sentences_are_ordered_by_when_they_were_spoken_not_reported() {
        // The robot's 903 of r1 is reported before the user's, but began after it.
        let call = fold(&[
            sentence("r1", "robot", 5_000, Some(4_000), "reply"),
            sentence("r1", "user", 5_100, Some(3_000), "question"),
            sentence("r0", "user", 1_000, Some(500), "hello"),
            sentence("r0", "robot", 2_000, None, "hi"),
        ]);
        let turns = call.turns();
        let texts: Vec<(usize, String)> = transcript(&turns).into_iter().map(|s| (s.index, s.text)).collect();
        let expected = [(1, "hello"), (2, "hi"), (3, "question"), (4, "reply")];
        assert_eq!(texts, expected.map(|(i, t)| (i, t.to_owned())));
    }

    #[test]
    fn blank_and_partial_sentences_stay_out_of_the_transcript() {
        let mut partial = sentence("r0", "user", 1_000, Some(500), "still speak");
        if let EventBody::Sentence(s) = &mut partial.body {
            s.is_final = false;
        }
        let call = fold(&[partial, sentence("r0", "robot", 2_000, Some(1_500), "   ")]);
        assert!(transcript(&call.turns()).is_empty());
    }

    #[test]
    fn every_documented_error_code_has_a_text_in_both_languages() {
        for code in [30100, 30102, 30200, 30201, 30202, 30300, 30301, 30302] {
            let error =
                PipelineError { stage: PipelineStage::Other, code, message: String::new(), metric: String::new() };
            assert_ne!(meaning_text(&error, Language::En), "undocumented error code", "{code}");
            assert_ne!(meaning_text(&error, Language::ZhCn), "未公开的错误码", "{code}");
        }
        let unknown =
            PipelineError { stage: PipelineStage::Llm, code: 1, message: String::new(), metric: String::new() };
        assert_eq!(meaning_text(&unknown, Language::En), "undocumented error code");
    }
}
