//! One round of conversation: what each side said, the robot's states, the seven metrics,
//! errors and meta info — everything keyed by a RoundId.
//!
//! A turn keeps what it *observed* (every subtitle, every complete text, every state with
//! its source time) and derives what it *shows* from that, in source-time order. That is
//! what makes the fold idempotent and independent of arrival order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{insert_sorted, Identities, Stamped};
use crate::event::{MetricName, PipelineError, RobotState, SentenceTimes, Speaker};
use crate::ids::{RoundId, SourceMs, UserId};

/// What one speaker said in a turn, as the supervisor sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub user: UserId,
    /// The final text once there is one, else the partial text so far.
    pub text: String,
    pub is_final: bool,
    pub times: Option<SentenceTimes>,
    /// When this speaker was first heard in the turn.
    pub first_ms: SourceMs,
    /// When the text was first known to be final.
    pub final_ms: Option<SourceMs>,
}

/// Where a robot state came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateOrigin {
    /// Inferred from callbacks: 904 → listening, final user sentence → thinking, first
    /// robot sentence → speaking, 905 → finished, interruption metric → interrupted.
    Derived,
    /// Said by the robot itself (10001). Wins over a derived state at the same time.
    Room,
}

/// A robot state at a source time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StateChange {
    pub at: SourceMs,
    pub origin: StateOrigin,
    pub state: RobotState,
}

/// One metric value with the source time it was reported at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricSample {
    pub value: f64,
    pub at: SourceMs,
}

impl MetricSample {
    /// Later source time wins; at the same time the larger value, so the choice never
    /// depends on arrival order.
    fn supersedes(&self, other: &MetricSample) -> bool {
        self.at.cmp(&other.at).then(self.value.total_cmp(&other.value)).is_gt()
    }
}

/// The seven documented metrics of a turn, one slot each, plus any undocumented ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub asr_latency: Option<MetricSample>,
    pub llm_network_latency: Option<MetricSample>,
    pub llm_first_token: Option<MetricSample>,
    pub tts_network_latency: Option<MetricSample>,
    pub tts_first_frame_latency: Option<MetricSample>,
    pub tts_discontinuity: Option<MetricSample>,
    pub interruption: Option<MetricSample>,
    pub other: BTreeMap<String, MetricSample>,
}

impl Metrics {
    /// The sample for `name`, if reported.
    pub fn get(&self, name: &MetricName) -> Option<&MetricSample> {
        match name {
            MetricName::AsrLatency => self.asr_latency.as_ref(),
            MetricName::LlmNetworkLatency => self.llm_network_latency.as_ref(),
            MetricName::LlmFirstToken => self.llm_first_token.as_ref(),
            MetricName::TtsNetworkLatency => self.tts_network_latency.as_ref(),
            MetricName::TtsFirstFrameLatency => self.tts_first_frame_latency.as_ref(),
            MetricName::TtsDiscontinuity => self.tts_discontinuity.as_ref(),
            MetricName::Interruption => self.interruption.as_ref(),
            MetricName::Other(other) => self.other.get(other),
        }
    }

    fn record(&mut self, name: &MetricName, sample: MetricSample) {
        let slot = match name {
            MetricName::AsrLatency => &mut self.asr_latency,
            MetricName::LlmNetworkLatency => &mut self.llm_network_latency,
            MetricName::LlmFirstToken => &mut self.llm_first_token,
            MetricName::TtsNetworkLatency => &mut self.tts_network_latency,
            MetricName::TtsFirstFrameLatency => &mut self.tts_first_frame_latency,
            MetricName::TtsDiscontinuity => &mut self.tts_discontinuity,
            MetricName::Interruption => &mut self.interruption,
            MetricName::Other(other) => {
                let entry = self.other.entry(other.clone()).or_insert(sample);
                if sample.supersedes(entry) {
                    *entry = sample;
                }
                return;
            }
        };
        if slot.as_ref().is_none_or(|old| sample.supersedes(old)) {
            *slot = Some(sample);
        }
    }

    /// Whether the interruption metric marks the round as interrupted. Its value semantics
    /// are UNCONFIRMED; a value above zero is read as "interrupted" (zero, as on ordinary
    /// rounds, is not).
    pub fn marks_interruption(&self) -> bool {
        self.interruption.is_some_and(|sample| sample.value > 0.0)
    }
}

/// A pipeline error with the source time it was first reported at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ErrorRecord {
    pub at: SourceMs,
    pub error: PipelineError,
}

/// Adds an error, keeping one record per distinct error (908 and 10030 report the same
/// one) at its earliest source time.
pub(super) fn record_error(errors: &mut Vec<ErrorRecord>, record: ErrorRecord) {
    if let Some(index) = errors.iter().position(|known| known.error == record.error) {
        if errors[index].at <= record.at {
            return;
        }
        errors.remove(index);
    }
    insert_sorted(errors, record);
}

/// The LLM's meta info for the round (10002), latest by source time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaInfo {
    pub at: SourceMs,
    pub info: serde_json::Value,
}

/// Which source a complete text came from; later variants are preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FinalOrigin {
    /// A user's 10000 with `end: true`.
    Subtitle,
    /// 905's `Text`: what the robot said.
    Finished,
    /// 903: the complete STT sentence or LLM reply.
    Sentence,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct FinalText {
    origin: FinalOrigin,
    at: SourceMs,
    text: String,
    times: Option<SentenceTimes>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Subtitle {
    at: SourceMs,
    text: String,
    end: bool,
    times: Option<SentenceTimes>,
}

/// Everything heard from one speaker in one turn.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Utterance {
    /// Room subtitles (10000), sorted by source time.
    subtitles: Vec<Subtitle>,
    /// Complete texts from callbacks (903, 905), sorted.
    finals: Vec<FinalText>,
}

/// Robot subtitles come cumulative (SubtitleMode 0: each message holds the full text so
/// far) or incremental (SubtitleMode 1: append). Replaying them in source-time order, a
/// message that starts with the text so far replaces it, any other is appended.
fn accumulate<'a>(fragments: impl Iterator<Item = &'a str>) -> String {
    let mut text = String::new();
    for fragment in fragments.filter(|f| !f.is_empty()) {
        if fragment.starts_with(text.as_str()) {
            fragment.clone_into(&mut text);
        } else {
            text.push_str(fragment);
        }
    }
    text
}

impl Utterance {
    /// The line for this speaker in `role`; `None` while nothing with text was heard.
    fn line(&self, user: &UserId, role: Option<Speaker>) -> Option<Line> {
        let first_ms = self
            .subtitles
            .iter()
            .filter(|s| !s.text.is_empty())
            .map(|s| s.at)
            .chain(self.finals.iter().filter(|f| !f.text.is_empty()).map(|f| f.at))
            .min()?;
        // A user's `end: true` subtitle is a complete sentence. A robot's is not (in
        // SubtitleMode 1 every sentence of a reply ends so), except the empty one Tencent's
        // UI kit reads as "round complete".
        let subtitle_finals = self.subtitles.iter().filter(|s| s.end && role != Some(Speaker::Robot)).map(|s| {
            FinalText { origin: FinalOrigin::Subtitle, at: s.at, text: s.text.clone(), times: s.times.clone() }
        });
        let finals: Vec<FinalText> =
            self.finals.iter().cloned().chain(subtitle_finals).filter(|f| !f.text.is_empty()).collect();
        let round_complete = self.subtitles.iter().filter(|s| s.end && s.text.is_empty()).map(|s| s.at).min();
        let latest = self.subtitles.iter().rev().find(|s| !s.text.is_empty());

        if let Some(best) = finals.iter().max() {
            let final_ms = finals.iter().map(|f| f.at).min();
            return Some(Line {
                user: user.clone(),
                text: best.text.clone(),
                is_final: true,
                times: best.times.clone(),
                first_ms,
                final_ms,
            });
        }
        let text = match role {
            // ASR interim results are whole hypotheses that may revise earlier words.
            Some(Speaker::User) => latest.map(|s| s.text.clone()).unwrap_or_default(),
            Some(Speaker::Robot) | None => accumulate(self.subtitles.iter().map(|s| s.text.as_str())),
        };
        let is_final = role == Some(Speaker::Robot) && round_complete.is_some();
        Some(Line {
            user: user.clone(),
            text,
            is_final,
            times: latest.and_then(|s| s.times.clone()),
            first_ms,
            final_ms: if is_final { round_complete } else { None },
        })
    }
}

/// One round of conversation. Built only by [`super::Call::apply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    round: RoundId,
    first_ms: SourceMs,
    speech_started: Option<SourceMs>,
    finished: Option<SourceMs>,
    utterances: BTreeMap<UserId, Utterance>,
    room_states: Vec<Stamped<RobotState>>,
    metrics: Metrics,
    errors: Vec<ErrorRecord>,
    meta: Option<MetaInfo>,
    // Derived by `resolve` from the observations above.
    user: Option<Line>,
    robot: Option<Line>,
    others: Vec<Line>,
    states: Vec<StateChange>,
    interrupted: bool,
}

impl Turn {
    pub(super) fn new(round: RoundId, at: SourceMs) -> Turn {
        Turn {
            round,
            first_ms: at,
            speech_started: None,
            finished: None,
            utterances: BTreeMap::new(),
            room_states: Vec::new(),
            metrics: Metrics::default(),
            errors: Vec::new(),
            meta: None,
            user: None,
            robot: None,
            others: Vec::new(),
            states: Vec::new(),
            interrupted: false,
        }
    }

    /// The round this turn is.
    pub fn round(&self) -> &RoundId {
        &self.round
    }

    /// The earliest source time of anything in this round.
    pub fn first_ms(&self) -> SourceMs {
        self.first_ms
    }

    /// When ASR heard the user start speaking (904).
    pub fn speech_started_ms(&self) -> Option<SourceMs> {
        self.speech_started
    }

    /// When the robot finished speaking (905).
    pub fn finished_ms(&self) -> Option<SourceMs> {
        self.finished
    }

    /// The user's sentence: partial while they speak, then final.
    pub fn user(&self) -> Option<&Line> {
        self.user.as_ref()
    }

    /// The robot's reply: partial while it speaks, then final. An interrupted reply keeps
    /// the partial text.
    pub fn robot(&self) -> Option<&Line> {
        self.robot.as_ref()
    }

    /// Lines from speakers the fold could not attribute to the user or the robot.
    pub fn others(&self) -> &[Line] {
        &self.others
    }

    /// Robot states in this round, sorted by source time, without duplicates.
    pub fn states(&self) -> &[StateChange] {
        &self.states
    }

    /// The round's metrics, latest by source time per metric.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Distinct errors, sorted by the source time they were first reported.
    pub fn errors(&self) -> &[ErrorRecord] {
        &self.errors
    }

    /// The LLM's meta info for this round (10002), latest by source time.
    pub fn meta(&self) -> Option<&MetaInfo> {
        self.meta.as_ref()
    }

    /// Whether the robot was interrupted (10001 state 4, or the interruption metric).
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    pub(super) fn touch(&mut self, at: SourceMs) {
        self.first_ms = self.first_ms.min(at);
    }

    pub(super) fn observe_speech_start(&mut self, at: SourceMs) {
        self.speech_started = Some(self.speech_started.map_or(at, |known| known.min(at)));
    }

    pub(super) fn observe_subtitle(
        &mut self,
        user: &UserId,
        at: SourceMs,
        text: &str,
        end: bool,
        times: Option<SentenceTimes>,
    ) {
        let utterance = self.utterances.entry(user.clone()).or_default();
        insert_sorted(&mut utterance.subtitles, Subtitle { at, text: text.to_owned(), end, times });
    }

    pub(super) fn observe_sentence(&mut self, user: &UserId, at: SourceMs, text: &str, times: Option<SentenceTimes>) {
        let utterance = self.utterances.entry(user.clone()).or_default();
        insert_sorted(
            &mut utterance.finals,
            FinalText { origin: FinalOrigin::Sentence, at, text: text.to_owned(), times },
        );
    }

    pub(super) fn observe_finished(&mut self, robot: &UserId, at: SourceMs, text: &str) {
        self.finished = Some(self.finished.map_or(at, |known| known.min(at)));
        let utterance = self.utterances.entry(robot.clone()).or_default();
        if !text.is_empty() {
            insert_sorted(
                &mut utterance.finals,
                FinalText { origin: FinalOrigin::Finished, at, text: text.to_owned(), times: None },
            );
        }
    }

    pub(super) fn observe_state(&mut self, at: SourceMs, state: RobotState) {
        insert_sorted(&mut self.room_states, Stamped { at, value: state });
    }

    pub(super) fn observe_metric(&mut self, name: &MetricName, sample: MetricSample) {
        self.metrics.record(name, sample);
    }

    pub(super) fn observe_error(&mut self, record: ErrorRecord) {
        record_error(&mut self.errors, record);
    }

    pub(super) fn observe_meta(&mut self, at: SourceMs, info: &serde_json::Value) {
        let newer = self.meta.as_ref().is_none_or(|known| (at, info.to_string()) > (known.at, known.info.to_string()));
        if newer {
            self.meta = Some(MetaInfo { at, info: info.clone() });
        }
    }

    /// Recomputes what the turn shows from what it observed and who is who.
    pub(super) fn resolve(&mut self, identities: &Identities) {
        let mut roles: Vec<(SourceMs, &UserId, Option<Speaker>)> = self
            .utterances
            .iter()
            .filter_map(|(user, utterance)| {
                let role = identities.speaker_of(user);
                utterance.line(user, role).map(|line| (line.first_ms, user, role))
            })
            .collect();
        roles.sort();
        attribute_unknown(&mut roles);

        let (mut users, mut robots, mut others) = (Vec::new(), Vec::new(), Vec::new());
        for (_, user, role) in roles {
            let Some(line) = self.utterances.get(user).and_then(|u| u.line(user, role)) else {
                continue;
            };
            match role {
                Some(Speaker::User) => users.push(line),
                Some(Speaker::Robot) => robots.push(line),
                None => others.push(line),
            }
        }
        let mut users = users.into_iter();
        let mut robots = robots.into_iter();
        self.user = users.next();
        self.robot = robots.next();
        others.extend(users.chain(robots));
        self.others = others;

        self.interrupted =
            self.metrics.marks_interruption() || self.room_states.iter().any(|s| s.value == RobotState::Interrupted);
        self.states = self.derive_states();
    }

    fn derive_states(&self) -> Vec<StateChange> {
        let derived = |at, state| StateChange { at, origin: StateOrigin::Derived, state };
        let mut states: Vec<StateChange> = self
            .room_states
            .iter()
            .map(|s| StateChange { at: s.at, origin: StateOrigin::Room, state: s.value })
            .collect();
        states.extend(self.speech_started.map(|at| derived(at, RobotState::Listening)));
        states.extend(self.user.as_ref().and_then(|line| line.final_ms).map(|at| derived(at, RobotState::Thinking)));
        states.extend(self.robot.as_ref().map(|line| derived(line.first_ms, RobotState::Speaking)));
        states.extend(self.finished.map(|at| derived(at, RobotState::Finished)));
        if self.metrics.marks_interruption() {
            states.extend(self.metrics.interruption.map(|sample| derived(sample.at, RobotState::Interrupted)));
        }
        states.sort();
        states.dedup();
        states
    }
}

/// Gives a role to speakers nobody identified, when the turn leaves no doubt: the one
/// speaker beside a known user is the robot and vice versa; of two unknown speakers, the
/// one heard first is the user (a round starts with the user's sentence).
fn attribute_unknown(roles: &mut [(SourceMs, &UserId, Option<Speaker>)]) {
    let has = |roles: &[(SourceMs, &UserId, Option<Speaker>)], speaker| roles.iter().any(|r| r.2 == Some(speaker));
    let unknown: Vec<usize> = roles.iter().enumerate().filter(|(_, r)| r.2.is_none()).map(|(i, _)| i).collect();
    let (has_user, has_robot) = (has(roles, Speaker::User), has(roles, Speaker::Robot));
    match (unknown.as_slice(), has_user, has_robot) {
        ([only], true, false) => roles[*only].2 = Some(Speaker::Robot),
        ([only], false, true) => roles[*only].2 = Some(Speaker::User),
        ([first, second], false, false) => {
            roles[*first].2 = Some(Speaker::User);
            roles[*second].2 = Some(Speaker::Robot);
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::accumulate;

    #[test]
    fn cumulative_robot_subtitles_replace_and_incremental_ones_append() {
        assert_eq!(accumulate(["您好", "您好，我是", "您好，我是客服"].into_iter()), "您好，我是客服");
        assert_eq!(
            accumulate(["您好，", "我是客服。", "请问有什么可以帮您？"].into_iter()),
            "您好，我是客服。请问有什么可以帮您？"
        );
        assert_eq!(accumulate(["", "好的", ""].into_iter()), "好的", "empty subtitles change nothing");
    }
}
