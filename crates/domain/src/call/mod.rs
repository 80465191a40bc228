//! The per-call fold: `Call::apply(&Event)` — the one function that turns a call's events
//! into its live view — and the call's health.
//!
//! What lives here: [`Call`] (status, robot state, turns, counts, supervisors' oversight
//! and [`Review`]), [`Turn`] (one per RoundId), and [`HealthPolicy`] / [`Health`]. The fold is idempotent (TRTC retries
//! deliver duplicates) and independent of arrival order: everything is ordered by source
//! time, every "which one wins" rule is decided by source time and then by value, never by
//! which event came last.
//!
//! What deliberately does not: room participants, media and recordings (events without an
//! AI TaskId) — those are kept per room by [`crate::board`]; and any clock — health takes
//! "now" from the caller.

mod health;
pub mod review;
mod turn;

pub use health::{Health, HealthLevel, HealthPolicy, HealthReason, Severity};
pub use review::{Review, ReviewInputError};
pub use turn::{ErrorRecord, Line, MetaInfo, MetricSample, Metrics, StateChange, StateOrigin, Turn};

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::event::{
    CommandAction, CommandRecord, CommandStage, Event, EventBody, GatewayExchange, LeaveCode, LockChange, Outcome,
    RobotState, Source, Speaker,
};
use crate::ids::{RoomId, RoundId, SdkAppId, SourceMs, TaskId, UserId};

/// A value with the source time it was observed at. Ordered by time, then value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamped<T> {
    pub at: SourceMs,
    pub value: T,
}

/// Inserts into a sorted list unless an equal item is already there.
pub(crate) fn insert_sorted<T: Ord>(list: &mut Vec<T>, item: T) {
    if let Err(index) = list.binary_search(&item) {
        list.insert(index, item);
    }
}

/// Keeps the earliest observation (by time, then value).
pub(crate) fn keep_earliest<T: Ord>(slot: &mut Option<Stamped<T>>, new: Stamped<T>) {
    if slot.as_ref().is_none_or(|known| new < *known) {
        *slot = Some(new);
    }
}

/// Keeps the latest observation (by time, then value).
pub(crate) fn keep_latest<T: Ord>(slot: &mut Option<Stamped<T>>, new: Stamped<T>) {
    if slot.as_ref().is_none_or(|known| new > *known) {
        *slot = Some(new);
    }
}

/// Who is the robot and who is the customer, as learnt from the call's events: 904 names
/// the user, 905 and every room message but 10000 name the robot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Identities {
    robots: BTreeSet<UserId>,
    users: BTreeSet<UserId>,
}

impl Identities {
    fn speaker_of(&self, user: &UserId) -> Option<Speaker> {
        if self.robots.contains(user) {
            Some(Speaker::Robot)
        } else if self.users.contains(user) {
            Some(Speaker::User)
        } else {
            None
        }
    }

    /// Records a speaker; true when this was news.
    fn learn(&mut self, user: &UserId, speaker: Speaker) -> bool {
        match speaker {
            Speaker::Robot => self.robots.insert(user.clone()),
            Speaker::User => self.users.insert(user.clone()),
        }
    }
}

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CallStatus {
    /// Known, but neither started (901) nor ready (909) yet.
    Starting,
    /// 909: the robot is in the room, ready to talk; no round yet.
    Ready,
    /// At least one round has begun.
    InProgress,
    /// 902.
    Ended { leave_code: LeaveCode },
    /// 901 with a failed status.
    StartFailed,
}

/// The robot's current state and when (in source time) it was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotStateAt {
    pub state: RobotState,
    pub at: SourceMs,
    pub origin: StateOrigin,
    pub round: Option<RoundId>,
}

/// How much happened in a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCounts {
    pub turns: usize,
    pub user_sentences: usize,
    pub robot_sentences: usize,
    pub interrupted_turns: usize,
    pub errors: usize,
}

/// The call's lock after a change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LockState {
    /// Who holds it now (`None`: free).
    pub holder: Option<String>,
    /// Who changed it.
    pub by: String,
    pub change: LockChange,
}

/// What supervisors did to the call, folded from the hub's facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Oversight {
    commands: Vec<Stamped<CommandRecord>>,
    lock: Option<Stamped<LockState>>,
    watchers: BTreeMap<String, Stamped<bool>>,
    exchanges: Vec<Stamped<GatewayExchange>>,
}

impl Oversight {
    fn apply(&mut self, at: SourceMs, body: &EventBody) {
        match body {
            EventBody::Command(record) => insert_sorted(&mut self.commands, Stamped { at, value: record.clone() }),
            EventBody::LockChanged { holder, by, change } => keep_latest(
                &mut self.lock,
                Stamped { at, value: LockState { holder: holder.clone(), by: by.clone(), change: *change } },
            ),
            EventBody::PresenceChanged { supervisor, watching } => {
                let seen = Stamped { at, value: *watching };
                let slot = self.watchers.entry(supervisor.clone()).or_insert(seen);
                if seen > *slot {
                    *slot = seen;
                }
            }
            EventBody::GatewayExchange(exchange) => {
                insert_sorted(&mut self.exchanges, Stamped { at, value: exchange.clone() });
            }
            _ => {}
        }
    }

    /// Each command at its latest stage, in the order the commands were first seen. A
    /// final stage (done, failed) wins over any other whatever their times (the hub's
    /// clock orders its own facts, but an effect may be recorded in the same millisecond
    /// as the acceptance); otherwise the later source time, then the later stage.
    pub fn commands(&self) -> Vec<Stamped<&CommandRecord>> {
        let mut latest: BTreeMap<&str, (SourceMs, Stamped<&CommandRecord>)> = BTreeMap::new();
        for step in &self.commands {
            let stamped = Stamped { at: step.at, value: &step.value };
            latest
                .entry(step.value.id.as_str())
                .and_modify(|(_, known)| {
                    let rank = |c: &Stamped<&CommandRecord>| (c.value.stage.is_final(), c.at, c.value.stage);
                    if rank(&stamped) > rank(known) {
                        *known = stamped;
                    }
                })
                .or_insert((step.at, stamped));
        }
        let mut commands: Vec<(SourceMs, Stamped<&CommandRecord>)> = latest.into_values().collect();
        commands.sort_by(|a, b| (a.0, &a.1.value.id).cmp(&(b.0, &b.1.value.id)));
        commands.into_iter().map(|(_, command)| command).collect()
    }

    /// Every stage of every command, by source time.
    pub fn command_steps(&self) -> &[Stamped<CommandRecord>] {
        &self.commands
    }

    /// The lock's latest state.
    pub fn lock(&self) -> Option<&LockState> {
        self.lock.as_ref().map(|lock| &lock.value)
    }

    /// Who holds the lock.
    pub fn lock_holder(&self) -> Option<&str> {
        self.lock().and_then(|lock| lock.holder.as_deref())
    }

    /// Supervisors who have the call open.
    pub fn watchers(&self) -> impl Iterator<Item = &str> {
        self.watchers.iter().filter(|(_, watching)| watching.value).map(|(name, _)| name.as_str())
    }

    /// The supervisor who has taken the call over (a take-over done and no hand-back done
    /// after it).
    pub fn taken_over_by(&self) -> Option<&str> {
        self.commands
            .iter()
            .filter(|step| {
                step.value.stage == CommandStage::Done
                    && matches!(step.value.action, CommandAction::TakeOver | CommandAction::HandBack)
            })
            .max()
            .filter(|step| step.value.action == CommandAction::TakeOver)
            .map(|step| step.value.by.as_str())
    }

    /// What the LLM gateway answered, by source time.
    pub fn exchanges(&self) -> &[Stamped<GatewayExchange>] {
        &self.exchanges
    }
}

/// One AI conversation task, folded from its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    task: TaskId,
    sdk_app_id: Option<SdkAppId>,
    room: Option<RoomId>,
    started: Option<Stamped<Outcome>>,
    session_ready: Option<SourceMs>,
    stopped: Option<Stamped<LeaveCode>>,
    first_ms: Option<SourceMs>,
    last_ms: Option<SourceMs>,
    identities: Identities,
    turns: BTreeMap<RoundId, Turn>,
    loose_states: Vec<Stamped<RobotState>>,
    loose_errors: Vec<ErrorRecord>,
    oversight: Oversight,
    // Absent from snapshots of hubs that predate reviews.
    #[serde(default)]
    review: Review,
    // Derived after every apply: from the turn that changed (`refresh`), or from every turn
    // when who-is-who changed (`refresh_all`).
    status: CallStatus,
    robot_state: Option<RobotStateAt>,
    counts: CallCounts,
}

impl Call {
    /// A call known only by its task id.
    pub fn new(task: TaskId) -> Call {
        Call {
            task,
            sdk_app_id: None,
            room: None,
            started: None,
            session_ready: None,
            stopped: None,
            first_ms: None,
            last_ms: None,
            identities: Identities::default(),
            turns: BTreeMap::new(),
            loose_states: Vec::new(),
            loose_errors: Vec::new(),
            oversight: Oversight::default(),
            review: Review::default(),
            status: CallStatus::Starting,
            robot_state: None,
            counts: CallCounts::default(),
        }
    }

    /// Folds one event into the call. Applying an event twice changes nothing the second
    /// time, and the final state does not depend on the order events arrive in.
    ///
    /// Ignored: events for another task, and room, media and recording events (they
    /// belong to the room; see [`crate::board::Board`]). The hub's sequence number plays no
    /// part.
    pub fn apply(&mut self, event: &Event) {
        if event.call.task.as_ref().is_some_and(|task| *task != self.task) {
            return;
        }
        let at = event.source_ms;
        if event.body.is_hub_fact() {
            // Supervisors' doings neither start a call nor move its timeline.
            self.oversight.apply(at, &event.body);
            self.review.apply(at, &event.body);
            return;
        }
        let touched = turn_round(&event.body);
        // What the touched turn and the loose lists added to the call-level view before this
        // event, so that `refresh` can replace just that share instead of re-reading every turn.
        let before = Contribution {
            turn: touched.and_then(|round| self.turns.get(round)).map(Tally::of),
            loose_errors: self.loose_errors.len(),
            loose_states: self.loose_states.len(),
        };
        let mut news = false;
        match &event.body {
            EventBody::TaskStarted { outcome } => keep_earliest(&mut self.started, Stamped { at, value: *outcome }),
            EventBody::TaskStopped { leave_code } => {
                keep_earliest(&mut self.stopped, Stamped { at, value: *leave_code });
            }
            EventBody::SessionReady => {
                self.session_ready = Some(self.session_ready.map_or(at, |known| known.min(at)));
            }
            EventBody::UserSpeechStarted { user, round } => {
                news |= self.identities.learn(user, Speaker::User);
                self.turn_mut(round, at).observe_speech_start(at);
            }
            EventBody::Sentence(sentence) => {
                if let Some(speaker) = sentence.speaker {
                    news |= self.identities.learn(&sentence.user, speaker);
                }
                let turn = self.turn_mut(&sentence.round, at);
                if event.source == Source::Room || !sentence.is_final {
                    turn.observe_subtitle(
                        &sentence.user,
                        at,
                        &sentence.text,
                        sentence.is_final,
                        sentence.times.clone(),
                    );
                } else {
                    turn.observe_sentence(&sentence.user, at, &sentence.text, sentence.times.clone());
                }
            }
            EventBody::RobotFinishedSpeaking { robot, round, text } => {
                news |= self.identities.learn(robot, Speaker::Robot);
                self.turn_mut(round, at).observe_finished(robot, at, text);
            }
            EventBody::RobotStateChanged { robot, round, state, .. } => {
                news |= self.learn_robot(robot.as_ref());
                match round {
                    Some(round) => self.turn_mut(round, at).observe_state(at, *state),
                    None => insert_sorted(&mut self.loose_states, Stamped { at, value: *state }),
                }
            }
            EventBody::LlmMetaInfo { robot, round, info } => {
                news |= self.learn_robot(robot.as_ref());
                if let Some(round) = round {
                    self.turn_mut(round, at).observe_meta(at, info);
                }
            }
            EventBody::MetricReported { robot, round, metric, value } => {
                news |= self.learn_robot(robot.as_ref());
                // A metric without a round has no slot to go in.
                if let Some(round) = round {
                    self.turn_mut(round, at).observe_metric(metric, MetricSample { value: *value, at });
                }
            }
            EventBody::PipelineFailed { robot, round, error } => {
                news |= self.learn_robot(robot.as_ref());
                let record = ErrorRecord { at, error: error.clone() };
                match round {
                    Some(round) => self.turn_mut(round, at).observe_error(record),
                    None => turn::record_error(&mut self.loose_errors, record),
                }
            }
            // The room's (see `Board`); hub facts were handled above.
            EventBody::RoomCreated
            | EventBody::RoomDismissed
            | EventBody::UserEntered { .. }
            | EventBody::UserLeft { .. }
            | EventBody::RoleChanged { .. }
            | EventBody::MediaStarted { .. }
            | EventBody::MediaStopped { .. }
            | EventBody::Recording { .. }
            | EventBody::Command(_)
            | EventBody::LockChanged { .. }
            | EventBody::PresenceChanged { .. }
            | EventBody::GatewayExchange(_)
            | EventBody::NoteAdded(_)
            | EventBody::TagsSet(_)
            | EventBody::QaScored(_) => return,
        }
        self.learn_place(event);
        self.first_ms = Some(self.first_ms.map_or(at, |known| known.min(at)));
        self.last_ms = Some(self.last_ms.map_or(at, |known| known.max(at)));
        if news {
            // Who is who changed: any turn may now show its lines differently.
            let identities = &self.identities;
            self.turns.values_mut().for_each(|turn| turn.resolve(identities));
            self.refresh_all();
        } else {
            if let Some(turn) = touched.and_then(|round| self.turns.get_mut(round)) {
                turn.resolve(&self.identities);
            }
            self.refresh(touched, before);
        }
    }

    fn turn_mut(&mut self, round: &RoundId, at: SourceMs) -> &mut Turn {
        let turn = self.turns.entry(round.clone()).or_insert_with(|| Turn::new(round.clone(), at));
        turn.touch(at);
        turn
    }

    fn learn_robot(&mut self, robot: Option<&UserId>) -> bool {
        robot.is_some_and(|robot| self.identities.learn(robot, Speaker::Robot))
    }

    /// Takes the app id and room from the event; should two events disagree, the smaller
    /// value is kept so that the outcome never depends on arrival order.
    fn learn_place(&mut self, event: &Event) {
        if let Some(app) = event.call.sdk_app_id {
            self.sdk_app_id = Some(self.sdk_app_id.map_or(app, |known| known.min(app)));
        }
        if let Some(room) = &event.call.room {
            let smaller =
                self.room.as_ref().is_none_or(|known| (room.as_str(), room.kind()) < (known.as_str(), known.kind()));
            if smaller {
                self.room = Some(room.clone());
            }
        }
    }

    /// Where the call is in its life, from its start, stop and whether it has turns.
    fn derive_status(&self) -> CallStatus {
        match (self.started, self.stopped) {
            (Some(Stamped { value: Outcome::Failed, .. }), _) => CallStatus::StartFailed,
            (_, Some(stopped)) => CallStatus::Ended { leave_code: stopped.value },
            _ if !self.turns.is_empty() => CallStatus::InProgress,
            _ if self.session_ready.is_some() => CallStatus::Ready,
            _ => CallStatus::Starting,
        }
    }

    /// The latest robot state of all: the loose ones and each turn's last.
    fn derive_robot_state(&self) -> Option<RobotStateAt> {
        let loose = self.loose_states.last().map(|s| (loose_change(s), None::<&RoundId>));
        let in_turns =
            self.turns.values().filter_map(|turn| Tally::of(turn).last_state.map(|s| (s, Some(turn.round()))));
        loose.into_iter().chain(in_turns).max().map(|(change, round)| robot_state_at(change, round))
    }

    /// The counts, read from every turn.
    fn derive_counts(&self) -> CallCounts {
        let mut counts =
            CallCounts { turns: self.turns.len(), errors: self.loose_errors.len(), ..CallCounts::default() };
        for turn in self.turns.values() {
            Tally::of(turn).add_to(&mut counts);
        }
        counts
    }

    /// Recomputes the call-level view from all the turns: after who-is-who changed, when
    /// every turn may have changed.
    fn refresh_all(&mut self) {
        self.status = self.derive_status();
        self.robot_state = self.derive_robot_state();
        self.counts = self.derive_counts();
    }

    /// Brings the call-level view up to date after an event that changed at most the turn
    /// `touched` and the loose states and errors, whose share of the view before the event
    /// was `before`. Gives what [`Call::refresh_all`] gives, in time independent of the
    /// number of turns (but for the rare case where the latest robot state moved back).
    fn refresh(&mut self, touched: Option<&RoundId>, before: Contribution) {
        self.status = self.derive_status();
        let after = touched.and_then(|round| self.turns.get(round)).map(Tally::of);

        let counts = &mut self.counts;
        counts.turns = self.turns.len();
        counts.errors = counts.errors + self.loose_errors.len() - before.loose_errors;
        if let Some(old) = before.turn {
            old.take_from(counts);
        }
        if let Some(new) = after {
            new.add_to(counts);
        }

        let current = self.robot_state.as_ref().map(|now| (now.change(), now.round.as_ref()));
        let old_last = before.turn.and_then(|old| old.last_state).zip(touched);
        let new_last = after.and_then(|new| new.last_state).zip(touched);
        let held_latest = old_last.is_some_and(|(state, round)| current == Some((state, Some(round))));
        let moved_back = match (old_last, new_last) {
            (Some(old), Some(new)) => new < old,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if held_latest && moved_back {
            // The turn that held the latest state now ends earlier: another may hold it.
            self.robot_state = self.derive_robot_state();
            return;
        }
        let loose_last = (self.loose_states.len() != before.loose_states).then(|| self.loose_states.last()).flatten();
        let candidates =
            new_last.map(|(s, r)| (s, Some(r))).into_iter().chain(loose_last.map(|s| (loose_change(s), None)));
        if let Some((change, round)) = candidates.max().filter(|candidate| current.is_none_or(|now| *candidate > now)) {
            self.robot_state = Some(robot_state_at(change, round));
        }
    }

    /// The AI conversation task.
    pub fn task(&self) -> &TaskId {
        &self.task
    }

    /// The application, once an event said it.
    pub fn sdk_app_id(&self) -> Option<SdkAppId> {
        self.sdk_app_id
    }

    /// The room the robot is in, once an event said it.
    pub fn room(&self) -> Option<&RoomId> {
        self.room.as_ref()
    }

    /// Where the call is in its life.
    pub fn status(&self) -> CallStatus {
        self.status
    }

    /// Whether the call is still going (not ended, not failed to start).
    pub fn is_live(&self) -> bool {
        matches!(self.status, CallStatus::Starting | CallStatus::Ready | CallStatus::InProgress)
    }

    /// The robot's state with the latest source time, from 10001 or derived from callbacks.
    pub fn robot_state(&self) -> Option<&RobotStateAt> {
        self.robot_state.as_ref()
    }

    /// 901's source time, else the earliest source time seen.
    pub fn started_ms(&self) -> Option<SourceMs> {
        self.started.map(|s| s.at).or(self.first_ms)
    }

    /// 902's source time.
    pub fn ended_ms(&self) -> Option<SourceMs> {
        self.stopped.map(|s| s.at)
    }

    /// 909's source time.
    pub fn session_ready_ms(&self) -> Option<SourceMs> {
        self.session_ready
    }

    /// The latest source time seen.
    pub fn last_ms(&self) -> Option<SourceMs> {
        self.last_ms
    }

    /// How long the call has lasted: to its end, or to `now` while it is live.
    pub fn duration_ms(&self, now: SourceMs) -> u64 {
        let end = self.ended_ms().unwrap_or(now);
        self.started_ms().map_or(0, |start| end.since(start))
    }

    /// The turns, ordered by the source time they were first seen.
    pub fn turns(&self) -> Vec<&Turn> {
        let mut turns: Vec<&Turn> = self.turns.values().collect();
        turns.sort_by(|a, b| (a.first_ms(), a.round()).cmp(&(b.first_ms(), b.round())));
        turns
    }

    /// One turn by its RoundId.
    pub fn turn(&self, round: &RoundId) -> Option<&Turn> {
        self.turns.get(round)
    }

    /// The last final sentence of `speaker`, in turn order.
    pub fn last_final(&self, speaker: Speaker) -> Option<&Line> {
        self.turns().into_iter().rev().find_map(|turn| {
            let line = match speaker {
                Speaker::User => turn.user(),
                Speaker::Robot => turn.robot(),
            };
            line.filter(|line| line.is_final)
        })
    }

    /// Turns, final sentences, interruptions and errors so far.
    pub fn counts(&self) -> CallCounts {
        self.counts
    }

    /// Errors that named no round.
    pub fn loose_errors(&self) -> &[ErrorRecord] {
        &self.loose_errors
    }

    /// Commands, lock, watchers and gateway exchanges.
    pub fn oversight(&self) -> &Oversight {
        &self.oversight
    }

    /// Supervisors' notes (in time order), the current tags and the latest QA score.
    pub fn review(&self) -> &Review {
        &self.review
    }

    /// The user ids known to be the robot.
    pub fn robots(&self) -> impl Iterator<Item = &UserId> {
        self.identities.robots.iter()
    }
}

impl RobotStateAt {
    fn change(&self) -> StateChange {
        StateChange { at: self.at, origin: self.origin, state: self.state }
    }
}

fn robot_state_at(change: StateChange, round: Option<&RoundId>) -> RobotStateAt {
    RobotStateAt { state: change.state, at: change.at, origin: change.origin, round: round.cloned() }
}

/// A state that named no round came from the room (10001 without a round id).
fn loose_change(state: &Stamped<RobotState>) -> StateChange {
    StateChange { at: state.at, origin: StateOrigin::Room, state: state.value }
}

/// The turn an event is folded into, if any: every event body that `Call::apply` folds into
/// a turn must be listed here, or the call-level view would miss the change.
fn turn_round(body: &EventBody) -> Option<&RoundId> {
    match body {
        EventBody::UserSpeechStarted { round, .. } | EventBody::RobotFinishedSpeaking { round, .. } => Some(round),
        EventBody::Sentence(sentence) => Some(&sentence.round),
        EventBody::RobotStateChanged { round, .. }
        | EventBody::LlmMetaInfo { round, .. }
        | EventBody::MetricReported { round, .. }
        | EventBody::PipelineFailed { round, .. } => round.as_ref(),
        EventBody::TaskStarted { .. }
        | EventBody::TaskStopped { .. }
        | EventBody::SessionReady
        | EventBody::RoomCreated
        | EventBody::RoomDismissed
        | EventBody::UserEntered { .. }
        | EventBody::UserLeft { .. }
        | EventBody::RoleChanged { .. }
        | EventBody::MediaStarted { .. }
        | EventBody::MediaStopped { .. }
        | EventBody::Recording { .. }
        | EventBody::Command(_)
        | EventBody::LockChanged { .. }
        | EventBody::PresenceChanged { .. }
        | EventBody::GatewayExchange(_)
        | EventBody::NoteAdded(_)
        | EventBody::TagsSet(_)
        | EventBody::QaScored(_) => None,
    }
}

/// What one turn adds to the call-level view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tally {
    user_final: bool,
    robot_final: bool,
    interrupted: bool,
    errors: usize,
    last_state: Option<StateChange>,
}

impl Tally {
    fn of(turn: &Turn) -> Tally {
        Tally {
            user_final: turn.user().is_some_and(|line| line.is_final),
            robot_final: turn.robot().is_some_and(|line| line.is_final),
            interrupted: turn.interrupted(),
            errors: turn.errors().len(),
            last_state: turn.states().last().copied(),
        }
    }

    fn add_to(self, counts: &mut CallCounts) {
        counts.user_sentences += usize::from(self.user_final);
        counts.robot_sentences += usize::from(self.robot_final);
        counts.interrupted_turns += usize::from(self.interrupted);
        counts.errors += self.errors;
    }

    /// Undoes [`Tally::add_to`] of the same tally (so nothing underflows).
    fn take_from(self, counts: &mut CallCounts) {
        counts.user_sentences -= usize::from(self.user_final);
        counts.robot_sentences -= usize::from(self.robot_final);
        counts.interrupted_turns -= usize::from(self.interrupted);
        counts.errors -= self.errors;
    }
}

/// The share of the call-level view that one event may change, taken before the event.
#[derive(Debug, Clone, Copy)]
struct Contribution {
    /// The touched turn's tally; `None` when the turn did not exist yet.
    turn: Option<Tally>,
    loose_errors: usize,
    loose_states: usize,
}

#[cfg(test)]
mod tests;
