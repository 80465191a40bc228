//! Plays a [`Script`] in scaled time and reacts to [`Control`]s.
//!
//! A call is a sequence of segments — the start, a pause, a customer sentence, the robot's
//! reply, a robot line (welcome or pushed text), idle — each a list of beats timed in
//! emulated ms (built in `beats`). One segment runs at a time; when it ends, [`Runner`]
//! decides the next one; a command may cut the current one short. Emulated time `t` is
//! reached at wall time `start + t / speed`.
//!
//! A reply from a real LLM starts as a segment with no beats: the robot thinks while an
//! `llm::call` task makes the request and reports over a channel. Its `meta.info` lines
//! and first token are emitted as they come; the answer (or its failure) then becomes the
//! segment's beats, timed from the measured first token. Whatever ends the segment early
//! (an interruption, Stop, the customer leaving) drops the request's [`Leg`], which
//! aborts it.

use std::collections::VecDeque;
use std::time::Duration;

use domain::event::{MetricName, RobotState};
use rand::rngs::StdRng;
use rand::Rng;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::beats::{self, Act, Beat, RobotPlan};
use super::llm::{self, History, LlmEvent, RequestIds, Role};
use super::script::{LineKind, Script};
use super::timing::{self, TtsTiming};
use super::wire::{Out, Who, Wire};
use super::{personas, CallOutcome, CallSpec, Control, Phase, Pipeline, Update};
use crate::{audio::Voice, clock::CloudClock, outputs::Outputs};

/// The random sources besides the script: one for whatever commands cause (so commands
/// never shift the script's draws), one for round ids.
#[derive(Debug)]
pub(crate) struct Rngs {
    pub controls: StdRng,
    pub ids: StdRng,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Start,
    Pause,
    /// A customer sentence. `heard` is its script line when a reply follows; `dropped`
    /// when `FilterOneWord` threw it away (its round id is reused).
    Ask {
        heard: Option<usize>,
        dropped: bool,
    },
    /// The robot thinks and speaks (a scripted reply or an `InvokeLLM` one).
    Reply,
    /// The robot says a fixed line (welcome or pushed text).
    RobotLine {
        stop_after: bool,
    },
    Idle,
    /// Cut short by a command; its end decides nothing.
    Cancelled,
}

#[derive(Debug)]
struct Segment {
    kind: Kind,
    round: Option<String>,
    /// The robot is thinking or speaking: an interrupting command cuts this segment.
    robot_busy: bool,
    /// A `Priority` 1 pushed line: nothing interrupts it, other commands are ignored.
    uninterruptible: bool,
    /// The robot's line in this segment joins the LLM history (a reply, or a pushed line
    /// with `AddHistory`).
    to_history: bool,
    beats: VecDeque<Beat>,
}

impl Segment {
    /// A segment of `beats` (sorted stably by time) ending at `end` or its last beat.
    fn new(kind: Kind, round: Option<String>, robot_busy: bool, mut beats: Vec<Beat>, end: u64) -> Segment {
        beats.sort_by_key(|beat| beat.at);
        let end = beats.last().map_or(end, |last| last.at.max(end));
        beats.push(Beat { at: end, act: Act::End });
        let to_history = kind == Kind::Reply;
        Segment { kind, round, robot_busy, uninterruptible: false, to_history, beats: beats.into() }
    }

    fn empty(kind: Kind, end: u64) -> Segment {
        Segment::new(kind, None, false, Vec::new(), end)
    }
}

/// Something a command asked the robot to do.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Work {
    Say { text: String, stop_after: bool, priority: bool, add_history: bool },
    Invoke { content: String },
}

/// A request to the LLM in flight for the current segment; dropping it aborts the request.
#[derive(Debug)]
struct Leg {
    id: u64,
    round: String,
    /// What the robot does with the answer, and the scripted reply if nobody answers.
    plan: RobotPlan,
    /// Emulated time the request was sent.
    sent_at: u64,
    task: tokio::task::AbortHandle,
}

impl Drop for Leg {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Emulated time for one call, and its source time on the cloud's clock.
#[derive(Debug)]
struct Clock {
    start: Instant,
    speed: f64,
    cloud: CloudClock,
    last_ms: u64,
}

impl Clock {
    fn emu_now(&self) -> u64 {
        (self.start.elapsed().as_secs_f64() * 1000.0 * self.speed) as u64
    }

    fn instant_at(&self, at: u64) -> Instant {
        let wait = Duration::try_from_secs_f64(at as f64 / 1000.0 / self.speed).unwrap_or(Duration::MAX);
        // Far beyond any call: a day from now stands in for "never".
        self.start.checked_add(wait).unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400))
    }

    /// The `EventMsTs` for an emission: the cloud's clock, strictly after the previous
    /// callback's, never before the previous emission's.
    fn stamp(&mut self, callback: bool) -> u64 {
        let ms = self.cloud.now_ms().max(self.last_ms + u64::from(callback));
        self.last_ms = ms;
        ms
    }
}

/// One running call.
#[derive(Debug)]
pub(crate) struct Runner {
    spec: CallSpec,
    outputs: Outputs,
    wire: Wire,
    clock: Clock,
    script: Script,
    rngs: Rngs,
    segment: Segment,
    /// The next script line the customer says.
    next_line: usize,
    round_counter: u64,
    rounds: usize,
    welcome: Option<String>,
    welcome_pending: bool,
    interrupt_mode: u64,
    urgent: VecDeque<Work>,
    queued: VecDeque<Work>,
    /// A sentence was heard; the robot owes its reply (round, script line).
    pending_reply: Option<(String, usize)>,
    /// The customer started the next line over the robot at this emulated time.
    barge_in_from: Option<u64>,
    /// The round id of a dropped one-word answer, for the customer's next sentence.
    reuse_round: Option<String>,
    /// The pause before the next line is over.
    paused: bool,
    /// A silent customer has kept quiet after the last line.
    lingered: bool,
    customer_present: bool,
    robot_in_room: bool,
    idle_deadline: u64,
    /// The HTTP client for LLM requests; `None` plays every reply from the script.
    http: Option<reqwest::Client>,
    history: History,
    leg: Option<Leg>,
    legs: u64,
    llm_events: mpsc::UnboundedSender<(u64, LlmEvent)>,
    llm_events_rx: Option<mpsc::UnboundedReceiver<(u64, LlmEvent)>>,
    /// An unreachable LLM endpoint was logged (once a call).
    unreachable_logged: bool,
    phase: watch::Sender<Phase>,
}

impl Runner {
    pub(crate) fn new(
        spec: CallSpec,
        outputs: Outputs,
        speed: f64,
        script: Script,
        rngs: Rngs,
        pipeline: &Pipeline,
        phase: watch::Sender<Phase>,
    ) -> Runner {
        let (llm_events, llm_events_rx) = mpsc::unbounded_channel();
        let clock = Clock { start: Instant::now(), speed, cloud: pipeline.clock, last_ms: 0 };
        let wire = Wire::new(&spec, pipeline.clock.now_ms(), speed);
        let http = pipeline.http.clone();
        let (start_beats, start_end) = beats::start(&script);
        let segment = Segment::new(Kind::Start, None, false, start_beats, start_end);
        Runner {
            welcome: spec.welcome_message.clone(),
            interrupt_mode: spec.interrupt_mode,
            spec,
            outputs,
            wire,
            clock,
            script,
            rngs,
            segment,
            next_line: 0,
            round_counter: 0,
            rounds: 0,
            welcome_pending: true,
            urgent: VecDeque::new(),
            queued: VecDeque::new(),
            pending_reply: None,
            barge_in_from: None,
            reuse_round: None,
            paused: false,
            lingered: false,
            customer_present: true,
            robot_in_room: false,
            idle_deadline: u64::MAX,
            http,
            history: History::default(),
            leg: None,
            legs: 0,
            llm_events,
            llm_events_rx: Some(llm_events_rx),
            unreachable_logged: false,
            phase,
        }
    }

    /// Plays the call to its 902.
    pub(crate) async fn run(mut self, mut controls: mpsc::UnboundedReceiver<Control>) -> CallOutcome {
        let mut open = true;
        let Some(mut llm_events) = self.llm_events_rx.take() else {
            unreachable!("the LLM event receiver is taken once, here, before the call plays")
        };
        loop {
            let next_at = self.segment.beats.front().map_or(0, |beat| beat.at);
            let deadline = self.clock.instant_at(next_at);
            tokio::select! {
                biased;
                control = controls.recv(), if open => match control {
                    Some(control) => {
                        if let Some(outcome) = self.on_control(control) {
                            return outcome;
                        }
                    }
                    None => open = false,
                },
                // The runner keeps a sender, so this never ends.
                Some((leg, event)) = llm_events.recv() => {
                    if let Some(outcome) = self.on_llm(leg, event) {
                        return outcome;
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    if let Some(outcome) = self.run_due() {
                        return outcome;
                    }
                }
            }
        }
    }

    /// Runs every beat that is due.
    fn run_due(&mut self) -> Option<CallOutcome> {
        let now = self.clock.emu_now();
        loop {
            let Some(beat) = self.segment.beats.front() else {
                // Never left empty by construction; ending it is the safe reading.
                return self.advance(now);
            };
            if beat.at > now {
                return None;
            }
            let beat = self.segment.beats.pop_front()?;
            match beat.act {
                Act::Out(out) => self.emit(&out),
                Act::BargeIn => self.barge_in(beat.at),
                Act::OverTalk { ms } => self.over_talk(beat.at, ms),
                Act::Phase(phase) => {
                    self.phase.send_replace(phase);
                }
                Act::End => {
                    if let Some(outcome) = self.advance(beat.at) {
                        return Some(outcome);
                    }
                }
            }
        }
    }

    fn emit(&mut self, out: &Out) {
        let history_mode = self.spec.llm.as_ref().map_or(0, |llm| llm.history_mode);
        match out {
            Out::Entered(Who::Robot) => self.robot_in_room = true,
            Out::Left(Who::Robot) => self.robot_in_room = false,
            Out::Sentence { who: Who::Customer, text, .. } => self.history.push(Role::User, text),
            // HistoryMode 0: a line counts once complete (903); 1: once played out (905).
            Out::Sentence { who: Who::Robot, text, .. } if self.segment.to_history && history_mode != 1 => {
                self.history.push(Role::Assistant, text);
            }
            Out::Finished { text, .. } if self.segment.to_history && history_mode == 1 => {
                self.history.push(Role::Assistant, text);
            }
            _ => {}
        }
        let ms = self.clock.stamp(out.is_callback());
        for emission in self.wire.render(out, ms) {
            self.outputs.emit(emission);
        }
    }

    fn on_control(&mut self, control: Control) -> Option<CallOutcome> {
        // What was due before the command happened before it.
        if let Some(outcome) = self.run_due() {
            return Some(outcome);
        }
        let now = self.clock.emu_now();
        match control {
            Control::Stop => return Some(self.finish(0)),
            Control::Update(update) => {
                let Update { welcome_message, interrupt_mode, interrupt_speech_ms, llm, tts } = *update;
                if let Some(welcome) = welcome_message {
                    self.welcome = Some(welcome);
                }
                if let Some(mode) = interrupt_mode {
                    self.interrupt_mode = mode;
                }
                if let Some(ms) = interrupt_speech_ms {
                    self.spec.interrupt_speech_ms = ms;
                }
                if let Some(llm) = llm {
                    self.spec.llm = Some(llm);
                }
                if let Some(tts) = tts {
                    self.spec.tts = tts;
                }
            }
            Control::CustomerLeft if self.customer_present => {
                // The robot finishes a fixed line into the empty room; a conversation stops.
                if matches!(self.segment.kind, Kind::Pause | Kind::Ask { .. } | Kind::Reply) {
                    self.cancel(now);
                }
                self.customer_leaves(now);
            }
            Control::CustomerLeft => {}
            // A priority line is playing: every other push and invoke is ignored.
            Control::PushText { .. } | Control::InvokeLlm { .. } if self.segment.uninterruptible => {}
            Control::PushText { text, interrupt, stop_after_play, drop_mode, priority, add_history } => {
                if text.trim().is_empty() {
                    // Nothing to say; "stop after playing nothing" stops now.
                    return stop_after_play.then(|| self.finish(0));
                }
                let work = Work::Say { text, stop_after: stop_after_play, priority: priority == 1, add_history };
                if interrupt || drop_mode == 1 || !self.in_interaction() {
                    self.take_work(now, work, interrupt);
                }
            }
            Control::InvokeLlm { content, interrupt } => self.take_work(now, Work::Invoke { content }, interrupt),
        }
        None
    }

    /// A customer turn or robot speech is in progress (`DropMode` 0 drops pushes then).
    fn in_interaction(&self) -> bool {
        self.segment.robot_busy
            || self.pending_reply.is_some()
            || self.barge_in_from.is_some()
            || matches!(self.segment.kind, Kind::Ask { .. } | Kind::Reply | Kind::RobotLine { .. })
    }

    fn take_work(&mut self, now: u64, work: Work, interrupt: bool) {
        if interrupt {
            self.urgent.push_back(work);
            if self.segment.robot_busy {
                self.interrupt_robot(now);
            } else if matches!(self.segment.kind, Kind::Pause | Kind::Idle) {
                self.cancel(now);
            }
        } else {
            self.queued.push_back(work);
            if matches!(self.segment.kind, Kind::Pause | Kind::Idle) {
                self.cancel(now);
            }
        }
    }

    /// Ends the current segment now, deciding nothing by its kind (and aborting its LLM
    /// request, if any).
    fn cancel(&mut self, at: u64) {
        self.leg = None;
        self.segment = Segment::empty(Kind::Cancelled, at);
    }

    /// Cuts the robot off: 10001 state 4 and the `interruption` metric for its round; the
    /// queue of pushed lines and invokes waiting for the turn to end is cleared.
    fn interrupt_robot(&mut self, at: u64) {
        self.queued.clear();
        if let Some(round) = self.segment.round.clone() {
            self.emit(&Out::State { round: round.clone(), state: RobotState::Interrupted });
            self.emit(&Out::Metric { round, metric: MetricName::Interruption, value: 1 });
        }
        self.cancel(at);
    }

    /// The customer's next line has been going on over the robot for
    /// `InterruptSpeechDuration`: the robot is cut off — unless the line is shorter than
    /// that, in which case the customer stops and waits for the robot.
    fn barge_in(&mut self, at: u64) {
        let threshold = self.spec.interrupt_speech_ms;
        let long_enough = self.script.lines.get(self.next_line).is_some_and(|line| line.asr.speech >= threshold);
        if self.interrupt_mode == 0 && self.customer_present && long_enough && !self.segment.uninterruptible {
            self.interrupt_robot(at);
            self.barge_in_from = Some(at.saturating_sub(threshold));
        }
    }

    /// A brief sound over the robot interrupts only if it lasted `InterruptSpeechDuration`.
    fn over_talk(&mut self, at: u64, ms: u64) {
        let long_enough = ms >= self.spec.interrupt_speech_ms;
        if self.interrupt_mode == 0 && self.customer_present && long_enough && !self.segment.uninterruptible {
            self.interrupt_robot(at);
        }
    }

    fn customer_leaves(&mut self, now: u64) {
        self.emit(&Out::Left(Who::Customer));
        self.customer_present = false;
        self.idle_deadline = now.saturating_add(self.spec.max_idle_secs.saturating_mul(1000));
        self.next_line = self.script.lines.len();
        self.pending_reply = None;
        self.barge_in_from = None;
        self.reuse_round = None;
    }

    /// The robot leaves and 902 closes the call.
    fn finish(&mut self, leave_code: u32) -> CallOutcome {
        if self.robot_in_room {
            self.emit(&Out::Left(Who::Robot));
        }
        self.emit(&Out::Stopped { leave_code });
        CallOutcome { leave_code, turns: self.rounds }
    }

    /// The current segment ended at `now`: starts the next one, or ends the call.
    fn advance(&mut self, now: u64) -> Option<CallOutcome> {
        let finished = std::mem::replace(&mut self.segment.kind, Kind::Cancelled);
        let round = self.segment.round.take();
        match (finished, round) {
            (Kind::RobotLine { stop_after: true }, _) => return Some(self.finish(0)),
            (Kind::Ask { heard: Some(line), .. }, Some(round)) => self.pending_reply = Some((round, line)),
            (Kind::Ask { dropped: true, .. }, Some(round)) => self.reuse_round = Some(round),
            (Kind::Pause, _) => self.paused = true,
            _ => {}
        }
        match self.next_segment(now) {
            Ok(segment) => {
                self.segment = segment;
                None
            }
            Err(outcome) => Some(outcome),
        }
    }

    fn next_segment(&mut self, now: u64) -> Result<Segment, CallOutcome> {
        if let Some(started) = self.barge_in_from.take() {
            if self.customer_present && self.next_line < self.script.lines.len() {
                return Ok(self.ask(now, started));
            }
        }
        if let Some(work) = self.urgent.pop_front() {
            return Ok(self.robot_work(now, work));
        }
        if std::mem::take(&mut self.welcome_pending) {
            if let Some(text) = self.welcome.clone().filter(|text| !text.trim().is_empty()) {
                let work = Work::Say { text, stop_after: false, priority: false, add_history: false };
                return Ok(self.robot_work(now, work));
            }
        }
        if let Some((round, line)) = self.pending_reply.take() {
            return Ok(self.reply(now, round, line));
        }
        if let Some(work) = self.queued.pop_front() {
            return Ok(self.robot_work(now, work));
        }
        if !self.customer_present {
            if now >= self.idle_deadline {
                return Err(self.finish(99));
            }
            return Ok(Segment::empty(Kind::Idle, self.idle_deadline));
        }
        if let Some(line) = self.script.lines.get(self.next_line) {
            if std::mem::take(&mut self.paused) {
                return Ok(self.ask(now, now));
            }
            return Ok(Segment::empty(Kind::Pause, now + line.pause_before));
        }
        // The script is over: the customer (after a silence, if they linger) hangs up.
        if self.script.lingers > 0 && !std::mem::replace(&mut self.lingered, true) {
            return Ok(Segment::empty(Kind::Pause, now + self.script.lingers));
        }
        self.customer_leaves(now);
        Ok(Segment::empty(Kind::Idle, self.idle_deadline))
    }

    fn new_round(&mut self) -> String {
        self.round_counter += 1;
        self.rounds += 1;
        format!("round-{}-{:08x}", self.round_counter, self.rngs.ids.random::<u32>())
    }

    /// The customer says the next script line, having started at `started` (earlier than
    /// `now` when talking over the robot).
    fn ask(&mut self, now: u64, started: u64) -> Segment {
        let index = self.next_line;
        self.next_line += 1;
        let Some(line) = self.script.lines.get(index).cloned() else {
            return Segment::empty(Kind::Cancelled, now);
        };
        let round = match self.reuse_round.take() {
            Some(round) => round,
            None => self.new_round(),
        };
        let (beats, end, heard) = beats::ask(self.spec.language, &line, index, &round, now, started);
        let dropped = matches!(line.kind, LineKind::OneWord);
        Segment::new(Kind::Ask { heard, dropped }, Some(round), false, beats, end)
    }

    /// The robot answers script line `index`.
    fn reply(&mut self, now: u64, round: String, index: usize) -> Segment {
        let Some(LineKind::Sentence(reply)) = self.script.lines.get(index).map(|line| &line.kind) else {
            return Segment::empty(Kind::Cancelled, now);
        };
        let is_last = index + 1 >= self.script.lines.len();
        let plan = RobotPlan {
            text: reply.text.clone(),
            llm: Some(reply.llm),
            tts: self.paced(reply.tts),
            voice: self.voice(),
            discontinuity: Some(reply.discontinuity),
            failure: reply.failure.clone(),
            barge_in: reply.barge_in.filter(|_| !is_last),
            over_talk: reply.over_talk,
            thinking: false,
            metrics: true,
        };
        if let Some(waiting) = self.ask_llm(&round, &plan, false) {
            return waiting;
        }
        let (beats, end) = beats::robot(
            self.spec.language,
            self.spec.subtitle_mode,
            &plan,
            &round,
            now,
            self.spec.interrupt_speech_ms,
        );
        Segment::new(Kind::Reply, Some(round), true, beats, end)
    }

    /// The TTS leg at `TTSConfig.Speed`: playback per character divided by it.
    fn paced(&self, mut tts: TtsTiming) -> TtsTiming {
        let speed = self.spec.tts.speed;
        if speed.is_finite() && speed > 0.0 && (speed - 1.0).abs() > f64::EPSILON {
            tts.per_char = ((tts.per_char as f64 / speed).round() as u64).max(1);
        }
        tts
    }

    /// The voice of a line planned now: `TTSConfig`'s voice id as it is at this moment (an
    /// `UpdateAIConversation` changes the lines planned after it, not this one).
    fn voice(&self) -> Option<Voice> {
        self.spec.tts.voice.as_deref().map(Voice::for_id)
    }

    /// Sends the LLM request for a reply in `round` (the history ends with what it answers)
    /// when the task's `LLMConfig` is callable, and returns the segment that waits for the
    /// answer; `None` plays `plan` from the script.
    fn ask_llm(&mut self, round: &str, plan: &RobotPlan, invoke: bool) -> Option<Segment> {
        let config = self.spec.llm.as_ref().filter(|config| config.is_callable())?;
        let http = self.http.clone()?;
        let ids = RequestIds {
            task_id: self.spec.task_id.clone(),
            request_id: uuid::Uuid::new_v4().to_string(),
            sdk_app_id: self.spec.sdk_app_id,
            user_id: self.spec.customer_user_id.clone(),
            room_id: self.spec.room_id.clone(),
            room_id_type: self.spec.room_id_type,
        };
        let request = llm::build_request(config, &ids, self.history.window(config.history), invoke);
        self.legs += 1;
        let id = self.legs;
        let events = self.llm_events.clone();
        let report = move |event| {
            // A closed channel means the call is over; nobody waits for the answer.
            let _ = events.send((id, event));
        };
        let task = tokio::spawn(llm::call(http, request, self.clock.speed, report));
        let mut plan = plan.clone();
        plan.thinking = false;
        let sent_at = self.clock.emu_now();
        self.leg = Some(Leg { id, round: round.to_owned(), plan, sent_at, task: task.abort_handle() });
        // No beats: the answer (or its failure) decides what follows.
        Some(Segment::new(Kind::Reply, Some(round.to_owned()), true, Vec::new(), u64::MAX))
    }

    /// What the LLM request of leg `id` reported (a leg cut off meanwhile is ignored).
    fn on_llm(&mut self, id: u64, event: LlmEvent) -> Option<CallOutcome> {
        if let Some(outcome) = self.run_due() {
            return Some(outcome);
        }
        let (round, metrics) =
            self.leg.as_ref().filter(|leg| leg.id == id).map(|leg| (leg.round.clone(), leg.plan.metrics))?;
        let now = self.clock.emu_now();
        match event {
            LlmEvent::MetaInfo(info) => self.emit(&Out::MetaInfo { round, info }),
            LlmEvent::FirstToken { network_ms, first_token_ms } => {
                if metrics {
                    let network =
                        Out::Metric { round: round.clone(), metric: MetricName::LlmNetworkLatency, value: network_ms };
                    self.emit(&network);
                    self.emit(&Out::Metric { round, metric: MetricName::LlmFirstToken, value: first_token_ms });
                }
            }
            LlmEvent::Answered { text, .. } if text.is_empty() => {
                // Nothing to say: the robot listens again, no error, no line.
                self.leg = None;
                let beats = vec![Beat {
                    at: now,
                    act: Act::Out(Out::State { round: round.clone(), state: RobotState::Listening }),
                }];
                self.replace_waiting(Some(round), beats, now);
            }
            LlmEvent::Answered { text, first_token_ms, done_ms } => {
                let leg = self.leg.take()?;
                let mut plan = leg.plan.clone();
                let chars = text.chars().count().max(1) as u64;
                plan.text = text;
                let text_from = leg.sent_at + first_token_ms;
                let per_char = done_ms.saturating_sub(first_token_ms) / chars;
                let (beats, end) = beats::speak(
                    self.spec.language,
                    self.spec.subtitle_mode,
                    &plan,
                    &round,
                    text_from,
                    per_char,
                    now,
                    self.spec.interrupt_speech_ms,
                );
                self.replace_waiting(Some(round), beats, end);
            }
            LlmEvent::Failed(failure) => {
                self.leg = None;
                let (beats, end) = beats::failed(Vec::new(), &round, &failure, now);
                self.replace_waiting(Some(round), beats, end);
            }
            LlmEvent::Unreachable(reason) => {
                let leg = self.leg.take()?;
                if !std::mem::replace(&mut self.unreachable_logged, true) {
                    tracing::info!(
                        task_id = %self.spec.task_id,
                        url = %self.spec.llm.as_ref().map(|llm| llm.api_url.as_str()).unwrap_or_default(),
                        reason = %reason,
                        "the LLM endpoint is not reachable: this call's replies are scripted"
                    );
                }
                let (beats, end) = beats::robot(
                    self.spec.language,
                    self.spec.subtitle_mode,
                    &leg.plan,
                    &round,
                    now,
                    self.spec.interrupt_speech_ms,
                );
                self.replace_waiting(Some(round), beats, end);
            }
        }
        None
    }

    /// The waiting reply segment gets its beats (keeping what it was: busy, its flags).
    fn replace_waiting(&mut self, round: Option<String>, beats: Vec<Beat>, end: u64) {
        let mut segment = Segment::new(Kind::Reply, round, true, beats, end);
        segment.uninterruptible = self.segment.uninterruptible;
        self.segment = segment;
    }

    /// The robot does what a command (or the welcome message) asked, in a round of its own.
    fn robot_work(&mut self, now: u64, work: Work) -> Segment {
        self.paused = false;
        let language = self.spec.language;
        let round = self.new_round();
        let tts = timing::tts(&mut self.rngs.controls, language);
        let tts = self.paced(tts);
        let mut uninterruptible = false;
        let mut to_history = false;
        let (plan, kind) = match work {
            Work::Say { text, stop_after, priority, add_history } => {
                uninterruptible = priority;
                to_history = add_history;
                (
                    RobotPlan {
                        text,
                        llm: None,
                        tts,
                        voice: self.voice(),
                        discontinuity: None,
                        failure: None,
                        barge_in: None,
                        over_talk: None,
                        thinking: false,
                        metrics: false,
                    },
                    Kind::RobotLine { stop_after },
                )
            }
            Work::Invoke { content } => {
                self.history.push(Role::User, &content);
                let plan = RobotPlan {
                    text: personas::acknowledge(language, &content),
                    llm: Some(timing::llm(&mut self.rngs.controls, language)),
                    tts,
                    voice: self.voice(),
                    discontinuity: Some(timing::discontinuity(&mut self.rngs.controls)),
                    failure: None,
                    barge_in: None,
                    over_talk: None,
                    thinking: true,
                    metrics: true,
                };
                if self.spec.llm.as_ref().is_some_and(|llm| llm.is_callable()) && self.http.is_some() {
                    self.emit(&Out::State { round: round.clone(), state: RobotState::Thinking });
                    if let Some(waiting) = self.ask_llm(&round, &plan, true) {
                        return waiting;
                    }
                }
                (plan, Kind::Reply)
            }
        };
        let (beats, end) =
            beats::robot(language, self.spec.subtitle_mode, &plan, &round, now, self.spec.interrupt_speech_ms);
        let mut segment = Segment::new(kind, Some(round), true, beats, end);
        segment.uninterruptible = uninterruptible;
        segment.to_history = segment.to_history || to_history;
        segment
    }
}
