//! The live wall's view model: what each tile and the summary bar show, built from the
//! board at a given "now", in the supervisor's language.
//!
//! What lives here: [`WallView::build`] — live calls in `Board::by_health` order (worst
//! first), each turned into a [`TileView`] of display-ready values, and the summary bar
//! (counts, LLM first-token p50/p90 over the last minutes) — the supervisor's
//! [`WallFilter`], the [`Grid`] arithmetic that renders only the rows on screen, and the
//! small formatting rules (durations, ellipsised sentences). Plain Rust, tested natively.
//!
//! What deliberately does not: health rules or the robot-state derivation (both are
//! `domain`'s fold; this module only reads them), and any markup (`components::tile`).

use domain::board::Board;
use domain::call::{Call, CallStatus, HealthLevel, HealthPolicy, HealthReason};
use domain::event::{RobotState, Speaker};
use domain::ids::{SourceMs, TaskId};

use crate::i18n::{fill, Strings};

/// Longest sentence a tile carries, in characters; the stylesheet clamps it to two lines,
/// this bounds what a very long reply costs on a wall of a thousand tiles.
pub const SENTENCE_CHARS: usize = 140;

/// How many of a call's latest turns its tile's sparkline shows.
pub const SPARKLINE_TURNS: usize = 12;

/// The summary bar's LLM first-token percentiles look at turns reported this recently.
pub const LATENCY_WINDOW_MS: u64 = 5 * 60_000;

/// What the robot (or, before its first word, the call) is doing: the tile's badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Activity {
    /// Known, but the robot is not in the room yet.
    Starting,
    /// The robot is in the room; nobody has spoken.
    Ready,
    Robot(RobotState),
}

impl Activity {
    /// Every activity, in the order the summary bar lists them.
    pub const ALL: [Activity; 7] = [
        Activity::Starting,
        Activity::Ready,
        Activity::Robot(RobotState::Listening),
        Activity::Robot(RobotState::Thinking),
        Activity::Robot(RobotState::Speaking),
        Activity::Robot(RobotState::Interrupted),
        Activity::Robot(RobotState::Finished),
    ];

    /// A live call's activity: the robot's latest state, else where the call is.
    pub fn of(call: &Call) -> Activity {
        match (call.robot_state(), call.status()) {
            (Some(robot), _) => Activity::Robot(robot.state),
            (None, CallStatus::Starting) => Activity::Starting,
            (None, _) => Activity::Ready,
        }
    }

    /// The badge's label.
    pub fn label(self, text: &Strings) -> &'static str {
        match self {
            Activity::Starting => text.state_starting,
            Activity::Ready => text.state_ready,
            Activity::Robot(state) => text.robot_state(state),
        }
    }

    /// A stable class-name suffix for the badge's colour.
    pub fn key(self) -> &'static str {
        match self {
            Activity::Starting => "starting",
            Activity::Ready => "ready",
            Activity::Robot(RobotState::Listening) => "listening",
            Activity::Robot(RobotState::Thinking) => "thinking",
            Activity::Robot(RobotState::Speaking) => "speaking",
            Activity::Robot(RobotState::Interrupted) => "interrupted",
            Activity::Robot(RobotState::Finished) => "finished",
        }
    }
}

/// How a tile is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tone {
    Healthy,
    Degraded,
    Failing,
}

impl Tone {
    fn of(level: HealthLevel) -> Tone {
        match level {
            HealthLevel::Failing => Tone::Failing,
            HealthLevel::Degraded => Tone::Degraded,
            // Ended calls are not on the wall; should one be passed, it is not alarming.
            HealthLevel::Healthy | HealthLevel::Ended => Tone::Healthy,
        }
    }

    /// A stable class-name suffix.
    pub fn key(self) -> &'static str {
        match self {
            Tone::Healthy => "healthy",
            Tone::Degraded => "degraded",
            Tone::Failing => "failing",
        }
    }
}

/// The last complete sentence of a call, marked with who said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastSentence {
    pub speaker: Speaker,
    /// "Customer" / "客户", "AI" / "AI 客服".
    pub speaker_label: &'static str,
    /// At most [`SENTENCE_CHARS`] characters, ending in "…" when cut.
    pub text: String,
}

/// Who is acting on a call besides the AI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Oversight {
    /// A supervisor answers in the robot's place.
    TakenOver { by: String, label: String },
    /// A supervisor holds the call's lock (commands go through them).
    Locked { by: String, label: String },
}

impl Oversight {
    pub fn label(&self) -> &str {
        match self {
            Oversight::TakenOver { label, .. } | Oversight::Locked { label, .. } => label,
        }
    }
}

/// One tile: everything it shows, ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileView {
    /// The AI task id: the tile's key.
    pub task: String,
    /// The customer's user id when known, else the room.
    pub title: String,
    /// The room, when the title is the customer.
    pub subtitle: Option<String>,
    pub tone: Tone,
    pub activity: Activity,
    pub activity_label: &'static str,
    /// `mm:ss`, or `h:mm:ss` from an hour on.
    pub duration: String,
    pub last_sentence: Option<LastSentence>,
    /// The most urgent reason the call is not healthy.
    pub reason: Option<String>,
    /// Every reason, most urgent first (for the tile's tooltip).
    pub reasons: Vec<String>,
    /// "+2 more" when there is more than one reason.
    pub more_reasons: Option<String>,
    pub errors: usize,
    pub errors_label: String,
    pub oversight: Option<Oversight>,
    pub watchers: usize,
    pub watchers_label: String,
    /// A recent turn was over a latency threshold (a slow-stage reason is among `reasons`).
    pub slow: bool,
    /// Alerts fired on this call that nobody acknowledged yet.
    pub alerts: usize,
    pub alerts_label: String,
    /// LLM first token of the latest [`SPARKLINE_TURNS`] turns, oldest first, in whole ms;
    /// `None` for a turn that did not report it.
    pub sparkline: Vec<Option<u32>>,
    /// The threshold the sparkline is drawn against (the health policy's), ms.
    pub sparkline_limit_ms: u32,
}

/// What the supervisor narrowed the wall to. Every set condition must hold; the summary
/// bar still counts every live call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WallFilter {
    pub activity: Option<Activity>,
    pub has_error: bool,
    pub slow: bool,
    pub alerted: bool,
    pub taken_over: bool,
}

impl WallFilter {
    pub fn is_empty(&self) -> bool {
        *self == WallFilter::default()
    }

    /// Whether `entry`, with `alerts` unacknowledged alerts, stays on the wall.
    pub fn keeps(&self, entry: &Entry, alerts: usize) -> bool {
        self.activity.is_none_or(|activity| entry.activity == activity)
            && (!self.has_error || entry.errors > 0)
            && (!self.slow || entry.slow)
            && (!self.alerted || alerts > 0)
            && (!self.taken_over || entry.taken_over)
    }
}

/// The wall's grid: fixed-height rows of equal columns, so which tiles are on screen is
/// arithmetic, and only those (plus a margin) are rendered — a thousand live calls cost a
/// few dozen tiles of DOM. The component measures; this decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// The grid's inner width, px.
    pub width: f64,
    /// The smallest a tile may be, px (the stylesheet's `minmax`).
    pub min_tile: f64,
    /// Between tiles, both ways, px.
    pub gap: f64,
    /// A tile's height, px (fixed by the stylesheet).
    pub row: f64,
}

/// Which tiles to render: `first..end` of the filtered list, with the space the rows
/// above and below take kept as padding so the scroll bar stays true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub columns: usize,
    pub first: usize,
    pub end: usize,
    pub pad_top: u32,
    pub pad_bottom: u32,
}

/// Rows rendered beyond each edge of the viewport, so a quick scroll does not show blanks.
pub const OVERSCAN_ROWS: usize = 2;

impl Grid {
    pub fn columns(&self) -> usize {
        (((self.width + self.gap) / (self.min_tile + self.gap)).floor() as usize).max(1)
    }

    /// The tiles to render when the grid's top is `top` px below the viewport's top
    /// (negative once scrolled past) and the viewport is `viewport` px high.
    pub fn window(&self, tiles: usize, top: f64, viewport: f64) -> Window {
        let columns = self.columns();
        let rows = tiles.div_ceil(columns);
        let pitch = self.row + self.gap;
        let first_row = ((-top / pitch).floor().max(0.0) as usize).saturating_sub(OVERSCAN_ROWS).min(rows);
        let last_row = ((((viewport - top) / pitch).ceil().max(0.0)) as usize + OVERSCAN_ROWS).min(rows);
        let last_row = last_row.max(first_row);
        let pad = |rows: usize| (rows as f64 * pitch) as u32;
        Window {
            columns,
            first: first_row * columns,
            end: (last_row * columns).min(tiles),
            pad_top: pad(first_row),
            pad_bottom: pad(rows - last_row),
        }
    }
}

/// One entry of the summary bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub key: &'static str,
    pub label: &'static str,
    pub count: usize,
}

/// The summary bar above the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub live: usize,
    pub failing: usize,
    pub degraded: usize,
    /// Live calls per activity, in [`Activity::ALL`] order, only activities with calls.
    pub by_activity: Vec<Count>,
    /// LLM first token over the live calls' turns of the last [`LATENCY_WINDOW_MS`]: the
    /// median and the 90th percentile (nearest rank), ms; `None` without such turns.
    pub llm_p50_ms: Option<u64>,
    pub llm_p90_ms: Option<u64>,
    /// How many turns the percentiles are over.
    pub llm_turns: usize,
}

/// A live call's place on the wall: what ordering, filtering and the summary need, cheap
/// to make for every call. Only the calls on screen become a [`TileView`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub task: TaskId,
    pub level: HealthLevel,
    pub tone: Tone,
    pub activity: Activity,
    /// Most urgent first.
    pub reasons: Vec<HealthReason>,
    pub errors: usize,
    pub slow: bool,
    pub taken_over: bool,
}

/// The whole wall: the summary and every live call in order; tiles are made on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallView {
    pub summary: Summary,
    pub entries: Vec<Entry>,
}

impl WallView {
    /// The live calls of `board` at `now`, worst health first (`Board::by_health`: then
    /// the longer call, then the task id), in the language of `text`. Alerts are not part of
    /// it: they arrive one by one, and each must not rebuild a wall of a thousand calls
    /// (the filter and the tiles take their counts).
    pub fn build(board: &Board, policy: &HealthPolicy, now: SourceMs, text: &Strings) -> WallView {
        let live: Vec<_> = board.by_health(policy, now).into_iter().filter(|(call, _)| call.is_live()).collect();
        let since = now.0.saturating_sub(LATENCY_WINDOW_MS);
        let mut recent = Vec::new();
        let entries: Vec<Entry> = live
            .into_iter()
            .map(|(call, health)| {
                for turn in call.turns() {
                    if let Some(sample) = turn.metrics().llm_first_token {
                        if sample.at.0 >= since && sample.value.is_finite() {
                            recent.push(sample.value);
                        }
                    }
                }
                let slow = health.reasons.iter().any(|reason| {
                    matches!(
                        reason,
                        HealthReason::SlowLlm { .. } | HealthReason::SlowAsr { .. } | HealthReason::SlowTts { .. }
                    )
                });
                Entry {
                    task: call.task().clone(),
                    level: health.level,
                    tone: Tone::of(health.level),
                    activity: Activity::of(call),
                    errors: call.counts().errors,
                    slow,
                    taken_over: call.oversight().taken_over_by().is_some(),
                    reasons: health.reasons,
                }
            })
            .collect();
        recent.sort_by(f64::total_cmp);
        let by_activity = Activity::ALL
            .into_iter()
            .map(|activity| Count {
                key: activity.key(),
                label: activity.label(text),
                count: entries.iter().filter(|entry| entry.activity == activity).count(),
            })
            .filter(|count| count.count > 0)
            .collect();
        let summary = Summary {
            live: entries.len(),
            failing: entries.iter().filter(|entry| entry.tone == Tone::Failing).count(),
            degraded: entries.iter().filter(|entry| entry.tone == Tone::Degraded).count(),
            by_activity,
            llm_p50_ms: percentile(&recent, 0.5),
            llm_p90_ms: percentile(&recent, 0.9),
            llm_turns: recent.len(),
        };
        WallView { summary, entries }
    }

    /// The tile of `entry` with its `alerts`, from the same board at the same `now`; `None`
    /// if the call is no longer on `board`.
    pub fn tile(
        entry: &Entry,
        alerts: usize,
        board: &Board,
        policy: &HealthPolicy,
        now: SourceMs,
        text: &Strings,
    ) -> Option<TileView> {
        board.call(&entry.task).map(|call| tile(call, entry, alerts, now, text, policy))
    }
}

/// A latency in whole ms (negative and non-finite figures read as 0).
fn whole_ms(value: f64) -> u32 {
    if value.is_finite() {
        value.round().clamp(0.0, f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

/// The nearest-rank percentile `p` (0–1) of `sorted`, rounded to whole ms.
pub fn percentile(sorted: &[f64], p: f64) -> Option<u64> {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).map(|value| value.round().max(0.0) as u64)
}

fn tile(
    call: &Call,
    entry: &Entry,
    alert_count: usize,
    now: SourceMs,
    text: &Strings,
    policy: &HealthPolicy,
) -> TileView {
    let turns = call.turns();
    let sparkline = turns[turns.len().saturating_sub(SPARKLINE_TURNS)..]
        .iter()
        .map(|turn| turn.metrics().llm_first_token.map(|sample| whole_ms(sample.value)))
        .collect();
    let customer = turns.iter().find_map(|turn| turn.user()).map(|line| line.user.to_string());
    let room = call.room().map(|room| fill(text.tile_room, &[("room", room.as_str())]));
    let (title, subtitle) = match (customer, room) {
        (Some(customer), room) => (customer, room),
        (None, Some(room)) => (room, None),
        (None, None) => (call.task().to_string(), None),
    };
    let activity = entry.activity;
    let reasons: Vec<String> = entry.reasons.iter().map(|reason| text.health_reason(reason)).collect();
    let more_reasons =
        (reasons.len() > 1).then(|| fill(text.tile_more_reasons, &[("count", &(reasons.len() - 1).to_string())]));
    let oversight = call.oversight();
    let oversight_mark = match (oversight.taken_over_by(), oversight.lock_holder()) {
        (Some(by), _) => {
            Some(Oversight::TakenOver { by: by.to_owned(), label: fill(text.tile_taken_over_by, &[("name", by)]) })
        }
        (None, Some(by)) => {
            Some(Oversight::Locked { by: by.to_owned(), label: fill(text.tile_locked_by, &[("name", by)]) })
        }
        (None, None) => None,
    };
    let watchers = oversight.watchers().count();
    let errors = entry.errors;
    TileView {
        task: call.task().to_string(),
        title,
        subtitle,
        tone: entry.tone,
        activity,
        activity_label: activity.label(text),
        duration: format_duration(call.duration_ms(now)),
        last_sentence: last_sentence(call, text),
        reason: reasons.first().cloned(),
        reasons,
        more_reasons,
        errors,
        errors_label: fill(text.tile_errors, &[("count", &errors.to_string())]),
        oversight: oversight_mark,
        watchers,
        watchers_label: fill(text.tile_watchers, &[("count", &watchers.to_string())]),
        slow: entry.slow,
        alerts: alert_count,
        alerts_label: fill(text.tile_alerts, &[("count", &alert_count.to_string())]),
        sparkline,
        sparkline_limit_ms: whole_ms(policy.llm_first_token_slow_ms),
    }
}

/// The later of the customer's and the robot's last final sentences.
fn last_sentence(call: &Call, text: &Strings) -> Option<LastSentence> {
    let said_at = |line: &domain::call::Line| line.final_ms.unwrap_or(line.first_ms);
    let user = call.last_final(Speaker::User).map(|line| (Speaker::User, line));
    let robot = call.last_final(Speaker::Robot).map(|line| (Speaker::Robot, line));
    // At the same instant the robot's line is the later one: it answers the customer.
    let (speaker, line) = [user, robot]
        .into_iter()
        .flatten()
        .filter(|(_, line)| !line.text.trim().is_empty())
        .max_by_key(|(speaker, line)| (said_at(line), *speaker == Speaker::Robot))?;
    let speaker_label = match speaker {
        Speaker::User => text.speaker_customer,
        Speaker::Robot => text.speaker_robot,
    };
    Some(LastSentence { speaker, speaker_label, text: ellipsise(line.text.trim(), SENTENCE_CHARS) })
}

/// `text` cut to at most `max` characters (not bytes: Chinese is three bytes a character),
/// ending in "…" when cut.
pub fn ellipsise(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// A call's duration as the tile shows it: `mm:ss`, or `h:mm:ss` from an hour on.
pub fn format_duration(ms: u64) -> String {
    let secs = ms / 1_000;
    let (hours, minutes, seconds) = (secs / 3_600, secs / 60 % 60, secs % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes:02}:{seconds:02}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use domain::api::Language;
    use domain::event::{LeaveCode, MetricName, PipelineStage};

    use super::*;
    use crate::i18n::strings;
    use crate::testkit::{busy_wall, Script, Spec};

    const NOW: u64 = 1_700_000_600_000;

    fn board_of(events: &[domain::event::Event]) -> Board {
        let mut board = Board::new();
        for event in events {
            board.apply(event);
        }
        board
    }

    fn busy_board() -> Board {
        let wall = busy_wall(NOW);
        board_of(&wall.snapshot.iter().chain(&wall.early).cloned().collect::<Vec<_>>())
    }

    /// The wall with every tile made, as the tests look at it.
    struct Built {
        summary: Summary,
        tiles: Vec<TileView>,
    }

    fn build_at(board: &Board, now: u64, language: Language, alerts: &BTreeMap<String, usize>) -> Built {
        let (policy, text) = (HealthPolicy::default(), strings(language));
        let view = WallView::build(board, &policy, SourceMs(now), text);
        let alerts_of = |entry: &Entry| alerts.get(entry.task.as_str()).copied().unwrap_or(0);
        let tiles = view
            .entries
            .iter()
            .map(|entry| WallView::tile(entry, alerts_of(entry), board, &policy, SourceMs(now), text).unwrap())
            .collect();
        Built { summary: view.summary, tiles }
    }

    fn build(board: &Board, language: Language) -> Built {
        build_at(board, NOW, language, &BTreeMap::new())
    }

    #[test]
    fn durations_are_minutes_and_seconds_then_hours() {
        assert_eq!(format_duration(0), "00:00");
        assert_eq!(format_duration(999), "00:00", "a second is shown once it has passed");
        assert_eq!(format_duration(65_000), "01:05");
        assert_eq!(format_duration(59 * 60_000 + 59_999), "59:59");
        assert_eq!(format_duration(3_600_000), "1:00:00");
        assert_eq!(format_duration(2 * 3_600_000 + 3 * 60_000 + 4_000), "2:03:04");
    }

    #[test]
    fn long_sentences_are_cut_on_characters_with_an_ellipsis() {
        assert_eq!(ellipsise("short", 10), "short");
        assert_eq!(ellipsise("exactly10!", 10), "exactly10!");
        assert_eq!(ellipsise("one two three four", 9), "one two…", "no space before the ellipsis");
        let chinese = "我的快递三天了还没到，能帮我查一下吗";
        let cut = ellipsise(chinese, 8);
        assert_eq!(cut, "我的快递三天了…");
        assert_eq!(cut.chars().count(), 8);
    }

    #[test]
    fn live_calls_are_sorted_worst_first_and_ended_calls_are_left_out() {
        let view = build(&busy_board(), Language::En);
        let order: Vec<&str> = view.tiles.iter().map(|tile| tile.task.as_str()).collect();
        assert_eq!(
            order,
            [
                // Failing.
                "task-llm-429",
                // Degraded, by the worst reason: thinking too long (70) > slow LLM (60) >
                // interruptions (30).
                "task-thinking",
                "task-slow-llm",
                "task-interrupts",
                // Healthy, longest first.
                "task-taken-over",
                "task-english",
                "task-just-started",
                "task-newcomer",
            ]
        );
        assert!(!order.contains(&"task-ended"), "an ended call is not on the live wall");
        let tones: Vec<Tone> = view.tiles.iter().map(|tile| tile.tone).collect();
        assert_eq!(tones[..4], [Tone::Failing, Tone::Degraded, Tone::Degraded, Tone::Degraded]);
        assert!(tones[4..].iter().all(|tone| *tone == Tone::Healthy));
    }

    #[test]
    fn the_summary_counts_live_calls_by_health_and_robot_state() {
        let view = build(&busy_board(), Language::ZhCn);
        assert_eq!(view.summary.live, 8);
        assert_eq!((view.summary.failing, view.summary.degraded), (1, 3));
        let by: Vec<(&str, &str, usize)> =
            view.summary.by_activity.iter().map(|count| (count.key, count.label, count.count)).collect();
        assert_eq!(
            by,
            [
                ("ready", "已就绪", 1),
                ("listening", "聆听中", 3),
                ("thinking", "思考中", 1),
                ("interrupted", "被打断", 1),
                ("finished", "已说完", 2),
            ],
            "only states some call is in, in a fixed order"
        );
    }

    #[test]
    fn a_tile_names_the_customer_and_room_and_says_what_is_wrong() {
        let view = build(&busy_board(), Language::En);
        let failing = &view.tiles[0];
        assert_eq!(failing.title, "cust_8841_zhao");
        assert_eq!(failing.subtitle.as_deref(), Some("Room 20481"));
        assert_eq!(failing.duration, "06:52");
        assert_eq!(failing.activity_label, "Listening");
        assert_eq!(failing.reason.as_deref(), Some("LLM rate limited (code 30201)"));
        assert_eq!((failing.errors, failing.errors_label.as_str()), (1, "Errors 1"));
        assert_eq!((failing.watchers, failing.watchers_label.as_str()), (1, "1 watching"));
        assert_eq!(failing.oversight, None);
        let said = failing.last_sentence.as_ref().unwrap();
        assert_eq!((said.speaker, said.speaker_label), (Speaker::User, "Customer"));
        assert_eq!(said.text, "单号是 SF1234567890，麻烦快一点。");

        let thinking = &view.tiles[1];
        assert_eq!(thinking.activity_label, "Thinking");
        assert_eq!(thinking.reason.as_deref(), Some("Thinking for 11 s"));
        assert_eq!(thinking.errors_label, "Errors 0");

        let storm = view.tiles.iter().find(|tile| tile.task == "task-interrupts").unwrap();
        assert_eq!(storm.activity_label, "Interrupted");
        assert_eq!(storm.reason.as_deref(), Some("Interrupted in 3 of 3 turns"));
    }

    #[test]
    fn a_healthy_tile_shows_no_reason_and_marks_take_over_and_locks() {
        let view = build(&busy_board(), Language::ZhCn);
        let taken = view.tiles.iter().find(|tile| tile.task == "task-taken-over").unwrap();
        assert_eq!(taken.reason, None);
        assert!(taken.reasons.is_empty() && taken.more_reasons.is_none());
        assert_eq!(
            taken.oversight,
            Some(Oversight::TakenOver { by: "王经理".into(), label: "王经理 已接管".into() }),
            "a take-over outranks the lock the same supervisor holds"
        );
        assert_eq!(taken.watchers_label, "2 人在看");
        let said = taken.last_sentence.as_ref().unwrap();
        assert_eq!((said.speaker, said.speaker_label), (Speaker::Robot, "AI 客服"));

        let english = view.tiles.iter().find(|tile| tile.task == "task-english").unwrap();
        assert_eq!(english.oversight.as_ref().map(Oversight::label), Some("alice 持有锁"));
        assert_eq!(english.activity_label, "聆听中", "the robot's own word from the room wins");

        let fresh = view.tiles.iter().find(|tile| tile.task == "task-just-started").unwrap();
        assert_eq!(fresh.title, "房间 20688", "no customer has spoken: the room is the title");
        assert_eq!(fresh.subtitle, None);
        assert_eq!(fresh.last_sentence, None);
        assert_eq!(fresh.activity_label, "已就绪");
    }

    #[test]
    fn several_reasons_show_the_worst_and_count_the_rest() {
        let call = Spec::new("t-many", 777, "c-1");
        let mut script = Script::new(NOW - 100_000);
        let mut events = vec![call.started(script.at(0))];
        for (i, round) in ["r-1", "r-2"].into_iter().enumerate() {
            let t0 = script.at(10_000 + i as u64 * 20_000);
            events.extend(call.turn(round, t0, "hello?", "hello", [900.0, 2_500.0, 400.0]));
            events.push(call.metric(round, t0 + 3_200, MetricName::TtsDiscontinuity, 1.0));
        }
        events.push(call.failure("r-2", script.at(40_000), PipelineStage::Tts, 30302, "tts down"));
        let board = board_of(&script.stamp(events));
        let tile = &build(&board, Language::En).tiles[0];
        assert_eq!(tile.reason.as_deref(), Some("Speech synthesis failed (code 30302)"));
        assert_eq!(
            tile.reasons,
            [
                "Speech synthesis failed (code 30302)",
                "Slow LLM first token: up to 2500 ms (2 of 2 turns)",
                "Speech synthesis gaps: 2"
            ]
        );
        assert_eq!(tile.more_reasons.as_deref(), Some("+2 more"));
    }

    #[test]
    fn the_last_sentence_is_whoever_spoke_last_and_is_cut_when_long() {
        let call = Spec::new("t-long", 778, "c-2");
        let long = "请帮我看一下".repeat(40);
        let mut events = call.turn("r-1", NOW - 30_000, "hi", "ok", [900.0, 700.0, 400.0]);
        events.push(call.speech("r-2", NOW - 10_000));
        events.push(call.sentence("r-2", NOW - 8_000, "c-2", &long));
        let board = board_of(&Script::new(NOW).stamp(events));
        let said = build(&board, Language::En).tiles[0].last_sentence.clone().unwrap();
        assert_eq!(said.speaker, Speaker::User, "the customer spoke after the robot's last reply");
        assert_eq!(said.text.chars().count(), SENTENCE_CHARS);
        assert!(said.text.ends_with('…'));
    }

    #[test]
    fn durations_tick_with_now_and_an_ended_call_leaves_the_wall() {
        let call = Spec::new("t-tick", 779, "c-3");
        let board = board_of(&Script::new(NOW).stamp(vec![call.started(NOW - 61_000)]));
        let at = |now: u64| build_at(&board, now, Language::En, &BTreeMap::new());
        assert_eq!(at(NOW).tiles[0].duration, "01:01");
        assert_eq!(at(NOW + 1_000).tiles[0].duration, "01:02");
        assert_eq!(at(NOW + 3_600_000).tiles[0].duration, "1:01:01");
        assert_eq!(at(NOW).tiles[0].activity, Activity::Starting);

        let mut ended = board.clone();
        ended.apply(&call.stopped(NOW, LeaveCode::StoppedByApi));
        assert!(build(&ended, Language::En).tiles.is_empty());
    }

    #[test]
    fn an_empty_board_gives_an_empty_wall() {
        let view = build(&Board::new(), Language::En);
        assert!(view.tiles.is_empty());
        let empty = Summary {
            live: 0,
            failing: 0,
            degraded: 0,
            by_activity: vec![],
            llm_p50_ms: None,
            llm_p90_ms: None,
            llm_turns: 0,
        };
        assert_eq!(view.summary, empty);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[700.0], 0.9), Some(700));
        let ten: Vec<f64> = (1..=10).map(|i| f64::from(i) * 100.0).collect();
        assert_eq!((percentile(&ten, 0.5), percentile(&ten, 0.9)), (Some(500), Some(900)));
        assert_eq!(percentile(&[100.0, 200.0, 300.0], 0.5), Some(200));
        assert_eq!(percentile(&[100.0, 2_600.4], 0.9), Some(2_600), "rounded to whole ms");
    }

    #[test]
    fn the_summary_gives_llm_first_token_percentiles_over_recent_turns_only() {
        let call = Spec::new("t-lat", 801, "c-9");
        let mut events = call.turn("r-old", NOW - LATENCY_WINDOW_MS - 60_000, "a", "b", [900.0, 9_999.0, 400.0]);
        for (i, llm) in [400.0, 800.0, 1_200.0, 3_000.0].into_iter().enumerate() {
            events.extend(call.turn(
                &format!("r-{i}"),
                NOW - 200_000 + i as u64 * 20_000,
                "a",
                "b",
                [900.0, llm, 400.0],
            ));
        }
        let board = board_of(&Script::new(NOW).stamp(events));
        let summary = build(&board, Language::En).summary;
        assert_eq!(summary.llm_turns, 4, "the turn from before the window is left out");
        assert_eq!((summary.llm_p50_ms, summary.llm_p90_ms), (Some(800), Some(3_000)));
    }

    #[test]
    fn a_tile_carries_its_latest_turns_llm_latency_for_the_sparkline() {
        let call = Spec::new("t-spark", 802, "c-8");
        let mut events = Vec::new();
        for i in 0..(SPARKLINE_TURNS as u64 + 3) {
            events.extend(call.turn(
                &format!("r-{i:02}"),
                NOW - 900_000 + i * 20_000,
                "a",
                "b",
                [900.0, 100.0 * (i + 1) as f64, 400.0],
            ));
        }
        events.push(call.speech("r-99", NOW - 5_000));
        let board = board_of(&Script::new(NOW).stamp(events));
        let tile = build(&board, Language::En).tiles.remove(0);
        assert_eq!(tile.sparkline.len(), SPARKLINE_TURNS);
        assert_eq!(tile.sparkline.last(), Some(&None), "the turn in progress has no figure yet");
        assert_eq!(tile.sparkline[SPARKLINE_TURNS - 2], Some(1_500), "oldest first, newest last");
        assert_eq!(tile.sparkline[0], Some(500), "the three oldest turns are left out");
        assert_eq!(tile.sparkline_limit_ms, 2_000);
    }

    #[test]
    fn filters_narrow_the_wall_and_every_condition_must_hold() {
        let alerts = BTreeMap::from([("task-llm-429".to_owned(), 2), ("task-slow-llm".to_owned(), 1)]);
        let board = busy_board();
        let view = WallView::build(&board, &HealthPolicy::default(), SourceMs(NOW), strings(Language::En));
        let alerts_of = |entry: &Entry| alerts.get(entry.task.as_str()).copied().unwrap_or(0);
        let kept = |filter: WallFilter| -> Vec<&str> {
            view.entries
                .iter()
                .filter(|entry| filter.keeps(entry, alerts_of(entry)))
                .map(|entry| entry.task.as_str())
                .collect()
        };
        assert!(WallFilter::default().is_empty());
        assert_eq!(kept(WallFilter::default()).len(), view.entries.len());
        assert_eq!(kept(WallFilter { has_error: true, ..WallFilter::default() }), ["task-llm-429"]);
        assert_eq!(kept(WallFilter { slow: true, ..WallFilter::default() }), ["task-slow-llm"]);
        assert_eq!(kept(WallFilter { alerted: true, ..WallFilter::default() }), ["task-llm-429", "task-slow-llm"]);
        assert_eq!(kept(WallFilter { taken_over: true, ..WallFilter::default() }), ["task-taken-over"]);
        let tiles = build_at(&board, NOW, Language::En, &alerts).tiles;
        let taken = tiles.iter().filter(|tile| matches!(tile.oversight, Some(Oversight::TakenOver { .. })));
        assert_eq!(
            taken.map(|tile| tile.task.as_str()).collect::<Vec<_>>(),
            ["task-taken-over"],
            "entry and tile agree"
        );
        let thinking = WallFilter { activity: Some(Activity::Robot(RobotState::Thinking)), ..WallFilter::default() };
        assert_eq!(kept(thinking), ["task-thinking"]);
        assert!(kept(WallFilter { alerted: true, taken_over: true, ..WallFilter::default() }).is_empty());
        let alerted = build_at(&board, NOW, Language::En, &alerts).tiles.remove(0);
        assert_eq!(alerted.task, "task-llm-429");
        assert_eq!((alerted.alerts, alerted.alerts_label.as_str()), (2, "Alerts 2"));
    }

    #[test]
    fn the_grid_renders_only_the_rows_on_screen_and_pads_the_rest() {
        let grid = Grid { width: 1240.0, min_tile: 272.0, gap: 12.0, row: 188.0 };
        assert_eq!(grid.columns(), 4);
        assert_eq!(Grid { width: 200.0, ..grid }.columns(), 1, "never fewer than one column");
        let pitch = 200.0;
        // 1,000 tiles = 250 rows; at the top of an 800 px viewport: rows 0..4 visible + 2.
        let top = grid.window(1_000, 150.0, 800.0);
        assert_eq!((top.first, top.end, top.pad_top), (0, 4 * 6, 0));
        assert_eq!(top.pad_bottom, ((250 - 6) as f64 * pitch) as u32);
        // Scrolled so the grid's top is 10,000 px above: row 50 is at the viewport's top.
        let mid = grid.window(1_000, -10_000.0, 800.0);
        assert_eq!((mid.first, mid.end), (48 * 4, 56 * 4));
        assert_eq!(mid.pad_top, (48.0 * pitch) as u32);
        assert_eq!(mid.pad_top + mid.pad_bottom + ((mid.end - mid.first) / 4) as u32 * pitch as u32, 250 * 200);
        // Past the end: nothing beyond the last tile.
        let end = grid.window(1_000, -60_000.0, 800.0);
        assert_eq!((end.end, end.pad_bottom), (1_000, 0));
        assert!(end.first <= end.end);
        // A ragged last row and a small wall.
        let small = grid.window(5, 0.0, 800.0);
        assert_eq!((small.first, small.end, small.pad_bottom), (0, 5, 0));
        assert_eq!(grid.window(0, 0.0, 800.0), Window { columns: 4, first: 0, end: 0, pad_top: 0, pad_bottom: 0 });
    }
}
