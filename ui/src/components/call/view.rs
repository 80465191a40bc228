//! The call view's model: what the header, the turn strip, the subtitles and the action bar
//! show, built from the folded [`Call`] at a given "now", in the supervisor's language.
//!
//! What lives here: [`CallView::build`] (header, one [`TurnRow`] per RoundId with its
//! latency [`Bar`]s scaled against the [`HealthPolicy`] thresholds, state marks on the
//! turn's time axis, errors with their code's meaning, supervisors' commands inline),
//! [`availability`] (may this supervisor do this now — role, lock, take-over, call ended)
//! and [`lifecycle`] (where a command this console sent is: requested → accepted → spoken
//! or failed, from the command events on the board). Plain Rust, tested natively.
//!
//! What deliberately does not: the fold, health and the lock rules themselves (`domain`'s
//! and the hub's; this only reads them), and any markup (`components::call`).

use domain::api::{Identity, Language, SupervisorRole};
use domain::call::{Call, HealthPolicy, MetricSample, Turn};
use domain::event::{CommandAction, CommandRecord, CommandStage, RobotState};
use domain::ids::SourceMs;

use crate::i18n::call::CallStrings;
use crate::i18n::{fill, Strings};
use crate::wall_view::{format_duration, Activity, Tone};

/// Final sentences the subtitles panel keeps.
pub const SUBTITLE_LINES: usize = 14;

/// The call's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The customer's user id when known, else the room, else the task id.
    pub title: String,
    /// "Room 8801 · task t-1".
    pub subtitle: String,
    pub duration: String,
    pub activity: Activity,
    pub activity_label: &'static str,
    pub tone: Tone,
    /// Every reason the call is not healthy, most urgent first.
    pub reasons: Vec<String>,
    pub live: bool,
}

/// Which latency a bar shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Asr,
    LlmFirstToken,
    TtsFirstFrame,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Asr, Stage::LlmFirstToken, Stage::TtsFirstFrame];

    pub fn key(self) -> &'static str {
        match self {
            Stage::Asr => "asr",
            Stage::LlmFirstToken => "llm",
            Stage::TtsFirstFrame => "tts",
        }
    }

    fn threshold(self, policy: &HealthPolicy) -> f64 {
        match self {
            Stage::Asr => policy.asr_slow_ms,
            Stage::LlmFirstToken => policy.llm_first_token_slow_ms,
            Stage::TtsFirstFrame => policy.tts_first_frame_slow_ms,
        }
    }

    fn sample(self, turn: &Turn) -> Option<&MetricSample> {
        let metrics = turn.metrics();
        match self {
            Stage::Asr => metrics.asr_latency.as_ref(),
            Stage::LlmFirstToken => metrics.llm_first_token.as_ref(),
            Stage::TtsFirstFrame => metrics.tts_first_frame_latency.as_ref(),
        }
    }

    fn label(self, t: &CallStrings) -> &'static str {
        match self {
            Stage::Asr => t.bar_asr,
            Stage::LlmFirstToken => t.bar_llm,
            Stage::TtsFirstFrame => t.bar_tts,
        }
    }
}

/// One latency bar, scaled so the stage's threshold sits at [`Bar::THRESHOLD_AT`] of the
/// track: bars of every turn compare at a glance, and a slow one is visibly past the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub stage: Stage,
    pub label: &'static str,
    /// The measured latency, when the turn reported it.
    pub ms: Option<u64>,
    pub threshold_ms: u64,
    /// The bar's length as a fraction of the track, 0–1 (clipped at 1).
    pub fraction: f64,
    /// Over the threshold.
    pub slow: bool,
    /// Longer than the track shows.
    pub clipped: bool,
    /// "LLM first token 2350 ms (threshold 2000 ms)".
    pub description: String,
}

impl Bar {
    /// Where the threshold line is drawn, as a fraction of the track.
    pub const THRESHOLD_AT: f64 = 0.5;

    /// The bar for `ms` against `threshold_ms`.
    pub fn scaled(stage: Stage, ms: Option<f64>, threshold_ms: f64, t: &CallStrings) -> Bar {
        let track = threshold_ms.max(1.0) / Bar::THRESHOLD_AT;
        let value = ms.filter(|ms| ms.is_finite()).map(|ms| ms.max(0.0));
        let fraction = value.map_or(0.0, |ms| (ms / track).min(1.0));
        let whole = |ms: f64| {
            // Latencies are whole, positive ms far below u64::MAX.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let ms = ms.round() as u64;
            ms
        };
        let threshold = whole(threshold_ms);
        let label = stage.label(t);
        let description = match value {
            Some(ms) => fill(
                t.bar_description,
                &[("stage", label), ("ms", &whole(ms).to_string()), ("threshold", &threshold.to_string())],
            ),
            None => fill(t.bar_missing, &[("stage", label)]),
        };
        Bar {
            stage,
            label,
            ms: value.map(whole),
            threshold_ms: threshold,
            fraction,
            slow: value.is_some_and(|ms| ms > threshold_ms),
            clipped: value.is_some_and(|ms| ms > track),
            description,
        }
    }
}

/// A robot state change on the turn's time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMark {
    /// Where on the axis, 0–1.
    pub at: f64,
    pub key: &'static str,
    pub label: &'static str,
    /// Seconds into the turn, "+1.2 s".
    pub offset: String,
}

/// A supervisor's command, inline in the turn it was asked in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intervention {
    pub id: String,
    pub by: String,
    pub action: &'static str,
    pub summary: Option<String>,
    pub stage: CommandStage,
    pub stage_label: &'static str,
    pub error: Option<String>,
}

/// One row of the turn strip.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnRow {
    /// The RoundId.
    pub round: String,
    /// 1-based position in the call.
    pub number: usize,
    /// When the turn began, from the call's start ("01:23").
    pub at: String,
    pub customer: Option<String>,
    pub customer_final: bool,
    pub robot: Option<String>,
    pub robot_final: bool,
    pub interrupted: bool,
    pub states: Vec<StateMark>,
    /// How long the axis spans, "6.0 s".
    pub span: String,
    pub bars: Vec<Bar>,
    /// Each error: "LLM rate limited (code 30201): upstream 429".
    pub errors: Vec<String>,
    pub interventions: Vec<Intervention>,
}

/// One final sentence in the subtitles panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subtitle {
    /// Stable across renders: the round and the speaker.
    pub key: String,
    pub robot: bool,
    pub speaker: &'static str,
    pub text: String,
}

/// The whole call view.
#[derive(Debug, Clone, PartialEq)]
pub struct CallView {
    pub header: Header,
    pub rows: Vec<TurnRow>,
    pub subtitles: Vec<Subtitle>,
    /// Commands asked before the first turn.
    pub early_interventions: Vec<Intervention>,
    pub watchers: Vec<String>,
    pub lock_holder: Option<String>,
    pub taken_over_by: Option<String>,
}

impl CallView {
    /// The view of `call` at `now`.
    pub fn build(call: &Call, policy: &HealthPolicy, now: SourceMs, text: &Strings, t: &CallStrings) -> CallView {
        let health = call.health(policy, now);
        let live = call.is_live();
        let activity = Activity::of(call);
        let customer = call.turns().into_iter().find_map(|turn| turn.user()).map(|line| line.user.to_string());
        let room = call.room().map(|room| room.to_string());
        let title = customer.clone().or_else(|| room.clone()).unwrap_or_else(|| call.task().to_string());
        let subtitle = match &room {
            Some(room) => fill(t.header_room_task, &[("room", room), ("task", call.task().as_str())]),
            None => fill(t.header_task, &[("task", call.task().as_str())]),
        };
        let header = Header {
            title,
            subtitle,
            duration: format_duration(call.duration_ms(now)),
            activity,
            activity_label: if live { activity.label(text) } else { t.ended_badge },
            tone: if live {
                match health.level {
                    domain::call::HealthLevel::Failing => Tone::Failing,
                    domain::call::HealthLevel::Degraded => Tone::Degraded,
                    _ => Tone::Healthy,
                }
            } else {
                Tone::Healthy
            },
            reasons: health.reasons.iter().map(|reason| text.health_reason(reason)).collect(),
            live,
        };

        let turns = call.turns();
        let commands = call.oversight().commands();
        let call_start = call.started_ms().or_else(|| turns.first().map(|turn| turn.first_ms()));
        // Each command goes to the turn it names, else the latest turn begun before it.
        let turn_of = |record: &CommandRecord, at: SourceMs| -> Option<usize> {
            record
                .round
                .as_ref()
                .and_then(|round| turns.iter().position(|turn| turn.round() == round))
                .or_else(|| turns.iter().rposition(|turn| turn.first_ms() <= at))
        };
        let mut placed: Vec<Vec<Intervention>> = vec![Vec::new(); turns.len()];
        let mut early_interventions = Vec::new();
        for command in &commands {
            let item = intervention(command.value, t);
            match turn_of(command.value, command.at) {
                Some(index) => placed[index].push(item),
                None => early_interventions.push(item),
            }
        }
        let rows = turns
            .iter()
            .zip(placed)
            .enumerate()
            .map(|(index, (turn, interventions))| row(turn, index + 1, call_start, now, policy, interventions, text, t))
            .collect();

        let mut subtitles: Vec<(SourceMs, bool, Subtitle)> = Vec::new();
        for turn in &turns {
            for (robot, line) in [(false, turn.user()), (true, turn.robot())] {
                let Some(line) = line.filter(|line| line.is_final && !line.text.trim().is_empty()) else { continue };
                let key = format!("{}-{}", turn.round(), if robot { "robot" } else { "customer" });
                let speaker = if robot { text.speaker_robot } else { text.speaker_customer };
                let at = line.final_ms.unwrap_or(line.first_ms);
                subtitles.push((at, robot, Subtitle { key, robot, speaker, text: line.text.trim().to_owned() }));
            }
        }
        subtitles.sort_by_key(|(at, robot, _)| (*at, *robot));
        let skip = subtitles.len().saturating_sub(SUBTITLE_LINES);
        let subtitles = subtitles.into_iter().skip(skip).map(|(_, _, subtitle)| subtitle).collect();

        let oversight = call.oversight();
        CallView {
            header,
            rows,
            subtitles,
            early_interventions,
            watchers: oversight.watchers().map(str::to_owned).collect(),
            lock_holder: oversight.lock_holder().map(str::to_owned),
            taken_over_by: oversight.taken_over_by().map(str::to_owned),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn row(
    turn: &Turn,
    number: usize,
    call_start: Option<SourceMs>,
    now: SourceMs,
    policy: &HealthPolicy,
    interventions: Vec<Intervention>,
    text: &Strings,
    t: &CallStrings,
) -> TurnRow {
    let start = turn.first_ms();
    let last_state = turn.states().iter().map(|state| state.at).max();
    let robot_end = turn.robot().and_then(|line| line.final_ms);
    let end = [turn.finished_ms(), last_state, robot_end].into_iter().flatten().max().unwrap_or(now).max(start);
    let span_ms = end.0.saturating_sub(start.0).max(1);
    #[allow(clippy::cast_precision_loss)]
    let mut states: Vec<StateMark> = turn
        .states()
        .iter()
        .map(|change| {
            let offset_ms = change.at.0.saturating_sub(start.0);
            StateMark {
                at: (offset_ms as f64 / span_ms as f64).clamp(0.0, 1.0),
                key: Activity::Robot(change.state).key(),
                label: text.robot_state(change.state),
                offset: seconds(offset_ms),
            }
        })
        .collect();
    // The room's message and the callbacks' derivation may both report one change.
    states.dedup_by(|later, earlier| later.key == earlier.key);
    let bars = Stage::ALL
        .into_iter()
        .map(|stage| Bar::scaled(stage, stage.sample(turn).map(|s| s.value), stage.threshold(policy), t))
        .collect();
    let errors = turn
        .errors()
        .iter()
        .map(|record| {
            let meaning = record.error.meaning_text(language_of(t));
            let message = record.error.message.trim();
            let head = fill(t.error_line, &[("meaning", meaning), ("code", &record.error.code.to_string())]);
            if message.is_empty() {
                head
            } else {
                format!("{head}: {message}")
            }
        })
        .collect();
    TurnRow {
        round: turn.round().to_string(),
        number,
        at: format_duration(call_start.map_or(0, |call_start| start.0.saturating_sub(call_start.0))),
        customer: turn.user().map(|line| line.text.trim().to_owned()).filter(|text| !text.is_empty()),
        customer_final: turn.user().is_some_and(|line| line.is_final),
        robot: turn.robot().map(|line| line.text.trim().to_owned()).filter(|text| !text.is_empty()),
        robot_final: turn.robot().is_some_and(|line| line.is_final),
        interrupted: turn.interrupted() || turn.states().iter().any(|s| s.state == RobotState::Interrupted),
        states,
        span: seconds(span_ms),
        bars,
        errors,
        interventions,
    }
}

fn language_of(t: &CallStrings) -> Language {
    t.language()
}

/// "1.2 s".
fn seconds(ms: u64) -> String {
    format!("{}.{} s", ms / 1_000, ms % 1_000 / 100)
}

fn intervention(record: &CommandRecord, t: &CallStrings) -> Intervention {
    Intervention {
        id: record.id.clone(),
        by: record.by.clone(),
        action: t.action_name(record.action),
        summary: record.summary.clone(),
        stage: record.stage,
        stage_label: t.stage_label(record.action, record.stage),
        error: record.error.clone(),
    }
}

/// Why an action cannot be used now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// The supervisor's role is still being checked.
    CheckingRole,
    /// The role could not be checked (the message says why).
    RoleUnknown(String),
    /// The call is over.
    Ended,
    /// The supervisor's role is below the one needed.
    NeedsRole { needed: SupervisorRole, have: SupervisorRole },
    /// Someone else holds the call's lock.
    LockedBy(String),
    /// Reply and hand back need the call taken over by this supervisor.
    NotTakenOver,
    /// Take-over while this supervisor already holds the call.
    AlreadyTakenOver,
}

impl Blocked {
    /// The reason shown next to the disabled action.
    pub fn reason(&self, t: &CallStrings) -> String {
        match self {
            Blocked::CheckingRole => t.blocked_checking_role.to_owned(),
            Blocked::RoleUnknown(message) => fill(t.blocked_role_unknown, &[("message", message)]),
            Blocked::Ended => t.blocked_ended.to_owned(),
            Blocked::NeedsRole { needed, have } => {
                fill(t.blocked_needs_role, &[("needed", t.role_name(*needed)), ("have", t.role_name(*have))])
            }
            Blocked::LockedBy(holder) => fill(t.blocked_locked_by, &[("name", holder)]),
            Blocked::NotTakenOver => t.blocked_not_taken_over.to_owned(),
            Blocked::AlreadyTakenOver => t.blocked_already_taken_over.to_owned(),
        }
    }
}

/// What the action bar knows about the call and the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionContext<'a> {
    /// `None` while `whoami` has not answered; `Err` with why it failed.
    pub me: Option<Result<&'a Identity, &'a str>>,
    pub live: bool,
    pub lock_holder: Option<&'a str>,
    pub taken_over_by: Option<&'a str>,
}

/// Whether the supervisor may ask for `action` now, or why not — the hub's rules (role,
/// then lock), checked before a click so a disabled button can say why.
///
/// # Errors
/// The first [`Blocked`] reason that applies.
pub fn availability(action: CommandAction, context: &ActionContext<'_>) -> Result<(), Blocked> {
    if !context.live {
        return Err(Blocked::Ended);
    }
    let me = match context.me {
        None => return Err(Blocked::CheckingRole),
        Some(Err(message)) => return Err(Blocked::RoleUnknown(message.to_owned())),
        Some(Ok(me)) => me,
    };
    if !me.role.may(action) {
        return Err(Blocked::NeedsRole { needed: SupervisorRole::needed_for(action), have: me.role });
    }
    let held_by_other = context.lock_holder.filter(|holder| *holder != me.user);
    let taken_by_me = context.taken_over_by == Some(me.user.as_str());
    match action {
        CommandAction::Stop => Ok(()),
        CommandAction::Update => held_by_other.map_or(Ok(()), |holder| Err(Blocked::LockedBy(holder.to_owned()))),
        CommandAction::TakeOver => match held_by_other {
            Some(holder) => Err(Blocked::LockedBy(holder.to_owned())),
            None if taken_by_me => Err(Blocked::AlreadyTakenOver),
            None => Ok(()),
        },
        CommandAction::Reply | CommandAction::HandBack => match held_by_other {
            Some(holder) => Err(Blocked::LockedBy(holder.to_owned())),
            None if taken_by_me => Ok(()),
            None => Err(Blocked::NotTakenOver),
        },
        CommandAction::Say | CommandAction::Steer | CommandAction::Whisper => {
            match (context.taken_over_by, held_by_other) {
                (Some(_), Some(holder)) => Err(Blocked::LockedBy(holder.to_owned())),
                _ => Ok(()),
            }
        }
    }
}

/// A command this console sent from the call view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// A local number, for keys.
    pub local: u64,
    pub action: CommandAction,
    /// What it said or did, as typed.
    pub summary: Option<String>,
    /// The hub's answer: its id and stage; `None` while the request is on its way.
    pub answer: Option<(String, CommandStage)>,
    /// Why the request failed before the hub took it (refused, unreachable).
    pub refused: Option<String>,
}

/// Where a sent command is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// Requested until the hub answers; then the latest stage the board shows (or the
    /// answer's while the board has not caught up).
    pub stage: CommandStage,
    /// "Requested", "Accepted", "Spoken", "Failed"…
    pub label: &'static str,
    pub error: Option<String>,
}

/// The lifecycle of `sent`, from the command events folded into `call`.
pub fn lifecycle(sent: &Sent, call: Option<&Call>, t: &CallStrings) -> Lifecycle {
    if let Some(message) = &sent.refused {
        return Lifecycle {
            stage: CommandStage::Failed,
            label: t.stage_label(sent.action, CommandStage::Failed),
            error: Some(message.clone()),
        };
    }
    let Some((id, answered)) = &sent.answer else {
        return Lifecycle {
            stage: CommandStage::Requested,
            label: t.stage_label(sent.action, CommandStage::Requested),
            error: None,
        };
    };
    let seen = call.and_then(|call| {
        call.oversight()
            .commands()
            .into_iter()
            .find(|command| &command.value.id == id)
            .map(|command| (command.value.stage, command.value.error.clone()))
    });
    let (stage, error) = match seen {
        // The board may lag the answer; never show a command going backwards.
        Some((stage, error)) if (stage.is_final(), stage) >= (answered.is_final(), *answered) => (stage, error),
        _ => (*answered, None),
    };
    Lifecycle { stage, label: t.stage_label(sent.action, stage), error }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use domain::board::Board;
    use domain::event::{Event, EventBody, MetricName, PipelineStage, Source};
    use domain::ids::TaskId;

    use super::*;
    use crate::i18n::{call, strings};
    use crate::testkit::Spec;

    const T0: u64 = 1_700_000_000_000;

    fn fold(events: &[Event]) -> Call {
        let mut board = Board::new();
        for event in events {
            board.apply(event);
        }
        board.call(&TaskId::new("t-1")).unwrap().clone()
    }

    fn command(
        spec: &Spec,
        ms: u64,
        id: &str,
        action: CommandAction,
        stage: CommandStage,
        round: Option<&str>,
    ) -> Event {
        let record = CommandRecord {
            id: id.into(),
            by: "li".into(),
            action,
            stage,
            round: round.map(domain::ids::RoundId::new),
            summary: Some("请稍等 [now]".into()),
            error: (stage == CommandStage::Failed).then(|| "cloud_api: 4000".into()),
        };
        let mut event = spec.started(ms);
        event.source = Source::Hub;
        event.body = EventBody::Command(record);
        event
    }

    fn script() -> (Spec, Vec<Event>) {
        let spec = Spec::new("t-1", 8801, "customer_7");
        let mut events = vec![spec.started(T0), spec.ready(T0 + 200)];
        events.extend(spec.turn("r-1", T0 + 1_000, "我想查账单", "好的，请稍等", [900.0, 2_600.0, 700.0]));
        events.extend(spec.interrupted_turn("r-2", T0 + 9_000, "不对"));
        events.push(spec.failure("r-2", T0 + 11_000, PipelineStage::Llm, 30201, "upstream 429"));
        events.push(command(&spec, T0 + 9_500, "c-1", CommandAction::Say, CommandStage::Requested, Some("r-2")));
        events.push(command(&spec, T0 + 9_600, "c-1", CommandAction::Say, CommandStage::Done, Some("r-2")));
        events.push(spec.watching(T0 + 300, "li"));
        (spec, events)
    }

    fn view(call: &Call, language: Language) -> CallView {
        CallView::build(
            call,
            &HealthPolicy::default(),
            SourceMs(T0 + 12_000),
            strings(language),
            call::strings(language),
        )
    }

    #[test]
    fn each_round_becomes_a_row_with_its_sentences_states_errors_and_commands() {
        let (_, events) = script();
        let call = fold(&events);
        let view = view(&call, Language::En);
        assert_eq!(view.header.title, "customer_7");
        assert_eq!(view.header.subtitle, "Room 8801 · task t-1");
        assert!(view.header.live);
        assert_eq!(view.rows.len(), 2);

        let first = &view.rows[0];
        assert_eq!((first.round.as_str(), first.number, first.at.as_str()), ("r-1", 1, "00:01"));
        assert_eq!(first.customer.as_deref(), Some("我想查账单"));
        assert_eq!(first.robot.as_deref(), Some("好的，请稍等"));
        assert!(first.customer_final && first.robot_final && !first.interrupted);
        assert!(first.errors.is_empty() && first.interventions.is_empty());

        let second = &view.rows[1];
        assert!(second.interrupted);
        let states: Vec<&str> = second.states.iter().map(|mark| mark.key).collect();
        assert_eq!(states, ["listening", "thinking", "speaking", "interrupted"], "one mark per change");
        assert!(second.states.windows(2).all(|pair| pair[0].at <= pair[1].at), "states in time order on the axis");
        assert_eq!(second.errors, ["LLM rate limited (code 30201): upstream 429"]);
        let [said] = second.interventions.as_slice() else { panic!("one command: {:?}", second.interventions) };
        assert_eq!((said.by.as_str(), said.stage, said.stage_label), ("li", CommandStage::Done, "Spoken"));
        assert_eq!(view.watchers, ["li"]);

        let zh = view_zh(&call);
        assert_eq!(zh.rows[1].errors, ["大模型请求被限流（错误码 30201）: upstream 429"]);
        // Subtitles: final lines in time order, customer before the robot's answer.
        let lines: Vec<(&str, bool)> = view.subtitles.iter().map(|s| (s.text.as_str(), s.robot)).collect();
        assert_eq!(lines, [("我想查账单", false), ("好的，请稍等", true), ("不对", false)]);
    }

    fn view_zh(call: &Call) -> CallView {
        view(call, Language::ZhCn)
    }

    #[test]
    fn latency_bars_put_the_threshold_halfway_and_mark_slow_and_clipped_bars() {
        let t = call::strings(Language::En);
        let ok = Bar::scaled(Stage::LlmFirstToken, Some(1_000.0), 2_000.0, t);
        assert!((ok.fraction - 0.25).abs() < 1e-9 && !ok.slow && !ok.clipped);
        let slow = Bar::scaled(Stage::LlmFirstToken, Some(3_000.0), 2_000.0, t);
        assert!((slow.fraction - 0.75).abs() < 1e-9 && slow.slow && !slow.clipped);
        assert_eq!(slow.description, "LLM first token 3000 ms (threshold 2000 ms)");
        let huge = Bar::scaled(Stage::Asr, Some(9_000.0), 2_500.0, t);
        assert!((huge.fraction - 1.0).abs() < 1e-9 && huge.slow && huge.clipped);
        let missing = Bar::scaled(Stage::TtsFirstFrame, None, 1_500.0, t);
        assert_eq!((missing.ms, missing.fraction, missing.slow), (None, 0.0, false));
        let at_threshold = Bar::scaled(Stage::TtsFirstFrame, Some(1_500.0), 1_500.0, t);
        assert!(!at_threshold.slow, "at the threshold is not over it");

        // In a folded turn: the first turn's LLM (2600 ms) is over the default 2000 ms.
        let (_, events) = script();
        let view = view(&fold(&events), Language::En);
        let llm = view.rows[0].bars.iter().find(|bar| bar.stage == Stage::LlmFirstToken).unwrap();
        assert_eq!((llm.ms, llm.threshold_ms, llm.slow), (Some(2_600), 2_000, true));
        let asr = view.rows[0].bars.iter().find(|bar| bar.stage == Stage::Asr).unwrap();
        assert!(!asr.slow);
        assert!(view.rows[1].bars.iter().all(|bar| bar.ms.is_none()), "the cut-short turn reported none");
        let _ = MetricName::AsrLatency;
    }

    fn me(role: SupervisorRole) -> Identity {
        Identity { user: "li".into(), role }
    }

    #[test]
    fn actions_are_enabled_by_role_and_lock_and_say_why_not() {
        use CommandAction::*;
        let lead = me(SupervisorRole::Lead);
        let viewer = me(SupervisorRole::Viewer);
        let supervisor = me(SupervisorRole::Supervisor);
        let context = |me: &'static Identity| ActionContext {
            me: Some(Ok(me)),
            live: true,
            lock_holder: None,
            taken_over_by: None,
        };
        let lead: &'static Identity = Box::leak(Box::new(lead));
        let viewer: &'static Identity = Box::leak(Box::new(viewer));
        let supervisor: &'static Identity = Box::leak(Box::new(supervisor));

        assert_eq!(
            availability(Say, &context(viewer)),
            Err(Blocked::NeedsRole { needed: SupervisorRole::Supervisor, have: SupervisorRole::Viewer })
        );
        assert_eq!(availability(Say, &context(supervisor)), Ok(()));
        assert_eq!(availability(Stop, &context(supervisor)), Ok(()));
        assert_eq!(
            availability(TakeOver, &context(supervisor)),
            Err(Blocked::NeedsRole { needed: SupervisorRole::Lead, have: SupervisorRole::Supervisor })
        );
        assert_eq!(availability(TakeOver, &context(lead)), Ok(()));
        assert_eq!(availability(Reply, &context(lead)), Err(Blocked::NotTakenOver));

        // Someone else holds the call taken over: only stop stays open.
        let held = ActionContext { lock_holder: Some("wang"), taken_over_by: Some("wang"), ..context(lead) };
        for action in [Say, Steer, Whisper, Update, TakeOver, Reply, HandBack] {
            assert_eq!(availability(action, &held), Err(Blocked::LockedBy("wang".into())), "{action:?}");
        }
        assert_eq!(availability(Stop, &held), Ok(()));
        // A lock without a take-over (a settings change) leaves lines open.
        let locked = ActionContext { lock_holder: Some("wang"), ..context(lead) };
        assert_eq!(availability(Say, &locked), Ok(()));
        assert_eq!(availability(Update, &locked), Err(Blocked::LockedBy("wang".into())));

        // This supervisor holds the call.
        let mine = ActionContext { lock_holder: Some("li"), taken_over_by: Some("li"), ..context(lead) };
        assert_eq!(availability(Reply, &mine), Ok(()));
        assert_eq!(availability(HandBack, &mine), Ok(()));
        assert_eq!(availability(TakeOver, &mine), Err(Blocked::AlreadyTakenOver));

        let ended = ActionContext { live: false, ..context(lead) };
        assert_eq!(availability(Stop, &ended), Err(Blocked::Ended));
        let checking = ActionContext { me: None, ..context(lead) };
        assert_eq!(availability(Say, &checking), Err(Blocked::CheckingRole));
        let unknown = ActionContext { me: Some(Err("offline")), ..context(lead) };
        assert_eq!(availability(Say, &unknown), Err(Blocked::RoleUnknown("offline".into())));

        let t = call::strings(Language::En);
        let needs = Blocked::NeedsRole { needed: SupervisorRole::Lead, have: SupervisorRole::Supervisor };
        assert_eq!(needs.reason(t), "Needs the lead role (you are a supervisor)");
        assert_eq!(Blocked::LockedBy("wang".into()).reason(call::strings(Language::ZhCn)), "wang 持有本通话的锁");
    }

    #[test]
    fn a_sent_commands_lifecycle_follows_the_command_events_on_the_board() {
        let t = call::strings(Language::En);
        let (spec, mut events) = script();
        let mut sent = Sent { local: 1, action: CommandAction::Say, summary: None, answer: None, refused: None };
        assert_eq!(lifecycle(&sent, None, t).label, "Requested");

        sent.answer = Some(("c-9".into(), CommandStage::Accepted));
        let call = fold(&events);
        let before = lifecycle(&sent, Some(&call), t);
        assert_eq!((before.stage, before.label), (CommandStage::Accepted, "Accepted"), "the board has not caught up");

        events.push(command(&spec, T0 + 11_500, "c-9", CommandAction::Say, CommandStage::Requested, None));
        let call = fold(&events);
        assert_eq!(lifecycle(&sent, Some(&call), t).stage, CommandStage::Accepted, "never backwards");

        events.push(command(&spec, T0 + 11_600, "c-9", CommandAction::Say, CommandStage::Done, None));
        let call = fold(&events);
        assert_eq!(lifecycle(&sent, Some(&call), t).label, "Spoken");

        let mut failed = sent.clone();
        failed.answer = Some(("c-10".into(), CommandStage::Accepted));
        events.push(command(&spec, T0 + 11_700, "c-10", CommandAction::Say, CommandStage::Failed, None));
        let failed_view = lifecycle(&failed, Some(&fold(&events)), t);
        assert_eq!((failed_view.label, failed_view.error.as_deref()), ("Failed", Some("cloud_api: 4000")));

        let refused = Sent { refused: Some("li holds this call's lock".into()), ..sent };
        assert_eq!(lifecycle(&refused, None, t).stage, CommandStage::Failed);

        let stop = Sent { local: 2, action: CommandAction::Stop, summary: None, answer: None, refused: None };
        assert_eq!(t.stage_label(stop.action, CommandStage::Done), "Call ended");
    }
}
