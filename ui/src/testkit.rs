//! Test fixtures: events built with `domain`'s own types, the way the hub hands them to the
//! console (callbacks and hub facts with a sequence number, room messages without), and a
//! busy wall of live calls for the view-model tests and the browser check.
//!
//! Compiled into the unit tests and, through `#[path]`, into the `wall_fixture` example,
//! which prints the wall as JSON for the browser check's stand-in shell. Never part of the
//! app itself.

use domain::event::{
    CallRef, CommandAction, CommandRecord, CommandStage, Event, EventBody, LeaveCode, LockChange, MetricName, Outcome,
    PipelineError, PipelineStage, RobotState, Sentence, SentenceTimes, Source,
};
use domain::ids::{RoomId, RoundId, SdkAppId, Seq, SourceMs, TaskId, UserId};

pub const APP: SdkAppId = SdkAppId(1_400_000_000);
pub const ROBOT: &str = "ai_robot";

/// Hands out source times relative to a base and the hub's sequence numbers, in order.
#[derive(Debug, Clone)]
pub struct Script {
    base_ms: u64,
    next_seq: u64,
}

impl Script {
    /// Source times start at `base_ms`; sequence numbers at 1.
    pub fn new(base_ms: u64) -> Script {
        Script { base_ms, next_seq: 1 }
    }

    /// The source time `offset_ms` after the base.
    pub fn at(&self, offset_ms: u64) -> u64 {
        self.base_ms + offset_ms
    }

    /// Gives every event but room messages the next sequence number, as the hub does when
    /// it appends them (room messages never reach the hub's log).
    pub fn stamp(&mut self, events: Vec<Event>) -> Vec<Event> {
        events
            .into_iter()
            .map(|event| {
                if event.source == Source::Room {
                    return event;
                }
                let seq = Seq(self.next_seq);
                self.next_seq += 1;
                event.with_seq(seq)
            })
            .collect()
    }

    /// A call in room 10000 + a digest of `task` that started `offset_ms` after the base and
    /// has had one quick, complete turn (eight stored events).
    pub fn call(&mut self, task: &str, offset_ms: u64) -> Vec<Event> {
        let call = Spec::new(task, 10_000 + task.bytes().map(u64::from).sum::<u64>(), "customer_1");
        let t0 = self.at(offset_ms);
        let mut events = vec![call.started(t0), call.ready(t0 + 300)];
        events.extend(call.turn("r-1", t0 + 1_000, "我想查一下订单", "好的，请告诉我订单号。", [900.0, 700.0, 400.0]));
        self.stamp(events)
    }
}

/// One AI call: its task, room, customer and robot.
#[derive(Debug, Clone)]
pub struct Spec {
    pub task: String,
    pub room: u64,
    pub customer: String,
}

impl Spec {
    pub fn new(task: &str, room: u64, customer: &str) -> Spec {
        Spec { task: task.to_owned(), room, customer: customer.to_owned() }
    }

    fn call_ref(&self) -> CallRef {
        CallRef { sdk_app_id: Some(APP), room: Some(RoomId::numeric(self.room)), task: Some(TaskId::new(&self.task)) }
    }

    fn event(&self, source: Source, ms: u64, body: EventBody) -> Event {
        Event { call: self.call_ref(), source, source_ms: SourceMs(ms), seq: None, body }
    }

    /// 901, started fine.
    pub fn started(&self, ms: u64) -> Event {
        self.event(Source::Callback, ms, EventBody::TaskStarted { outcome: Outcome::Ok })
    }

    /// 909.
    pub fn ready(&self, ms: u64) -> Event {
        self.event(Source::Callback, ms, EventBody::SessionReady)
    }

    /// 902.
    pub fn stopped(&self, ms: u64, leave_code: LeaveCode) -> Event {
        self.event(Source::Callback, ms, EventBody::TaskStopped { leave_code })
    }

    /// 904: the customer started speaking.
    pub fn speech(&self, round: &str, ms: u64) -> Event {
        let body = EventBody::UserSpeechStarted { user: UserId::new(&self.customer), round: RoundId::new(round) };
        self.event(Source::Callback, ms, body)
    }

    /// 903 from `user`.
    pub fn sentence(&self, round: &str, ms: u64, user: &str, text: &str) -> Event {
        let body = EventBody::Sentence(Sentence {
            speaker: None,
            user: UserId::new(user),
            round: RoundId::new(round),
            text: text.to_owned(),
            is_final: true,
            times: Some(SentenceTimes::Ms { start_ms: Some(ms.saturating_sub(900)), end_ms: Some(ms - 100) }),
        });
        self.event(Source::Callback, ms, body)
    }

    /// 905: the robot finished speaking `text`.
    pub fn finished(&self, round: &str, ms: u64, text: &str) -> Event {
        let body = EventBody::RobotFinishedSpeaking {
            robot: UserId::new(ROBOT),
            round: RoundId::new(round),
            text: text.into(),
        };
        self.event(Source::Callback, ms, body)
    }

    /// 906.
    pub fn metric(&self, round: &str, ms: u64, metric: MetricName, value: f64) -> Event {
        let body = EventBody::MetricReported {
            robot: Some(UserId::new(ROBOT)),
            round: Some(RoundId::new(round)),
            metric,
            value,
        };
        self.event(Source::Callback, ms, body)
    }

    /// 908.
    pub fn failure(&self, round: &str, ms: u64, stage: PipelineStage, code: i64, message: &str) -> Event {
        let metric = match stage {
            PipelineStage::Asr => "asr_error",
            PipelineStage::Llm => "llm_error",
            PipelineStage::Tts => "tts_error",
            PipelineStage::Other => "error",
        };
        let error = PipelineError { stage, code, message: message.into(), metric: metric.into() };
        let body =
            EventBody::PipelineFailed { robot: Some(UserId::new(ROBOT)), round: Some(RoundId::new(round)), error };
        self.event(Source::Callback, ms, body)
    }

    /// 10001, seen in the room (no sequence number: the hub never stores it).
    pub fn state(&self, round: &str, ms: u64, state: RobotState) -> Event {
        let body = EventBody::RobotStateChanged {
            robot: Some(UserId::new(ROBOT)),
            round: Some(RoundId::new(round)),
            state,
            raw_timestamp: None,
        };
        self.event(Source::Room, ms, body)
    }

    /// Hub: `supervisor` opened the call.
    pub fn watching(&self, ms: u64, supervisor: &str) -> Event {
        let body = EventBody::PresenceChanged { supervisor: supervisor.into(), watching: true };
        self.event(Source::Hub, ms, body)
    }

    /// Hub: `supervisor` took the lock.
    pub fn locked(&self, ms: u64, supervisor: &str) -> Event {
        let body = EventBody::LockChanged {
            holder: Some(supervisor.into()),
            by: supervisor.into(),
            change: LockChange::Taken,
        };
        self.event(Source::Hub, ms, body)
    }

    /// Hub: `supervisor`'s take-over went through (requested, then done).
    pub fn taken_over(&self, ms: u64, supervisor: &str) -> Vec<Event> {
        [CommandStage::Requested, CommandStage::Done]
            .into_iter()
            .enumerate()
            .map(|(i, stage)| {
                let record = CommandRecord {
                    id: format!("cmd-{}", self.task),
                    by: supervisor.into(),
                    action: CommandAction::TakeOver,
                    stage,
                    round: None,
                    summary: None,
                    error: None,
                };
                self.event(Source::Hub, ms + i as u64 * 200, EventBody::Command(record))
            })
            .collect()
    }

    /// One complete turn from callbacks: 904, the customer's 903, the robot's 903, the
    /// latencies (ASR, LLM first token, TTS first frame, the rest quick), 905.
    pub fn turn(&self, round: &str, t0: u64, said: &str, answer: &str, latency: [f64; 3]) -> Vec<Event> {
        let [asr, llm, tts] = latency;
        let mut events = vec![
            self.speech(round, t0),
            self.sentence(round, t0 + 1_500, &self.customer, said),
            self.sentence(round, t0 + 3_000, ROBOT, answer),
        ];
        for (i, (metric, value)) in [
            (MetricName::AsrLatency, asr),
            (MetricName::LlmFirstToken, llm),
            (MetricName::TtsFirstFrameLatency, tts),
            (MetricName::Interruption, 0.0),
        ]
        .into_iter()
        .enumerate()
        {
            events.push(self.metric(round, t0 + 3_100 + i as u64, metric, value));
        }
        events.push(self.finished(round, t0 + 6_000, answer));
        events
    }

    /// A turn the customer cut short: the robot was speaking when interrupted.
    pub fn interrupted_turn(&self, round: &str, t0: u64, said: &str) -> Vec<Event> {
        vec![
            self.speech(round, t0),
            self.sentence(round, t0 + 1_200, &self.customer, said),
            self.state(round, t0 + 2_000, RobotState::Speaking),
            self.state(round, t0 + 2_600, RobotState::Interrupted),
            self.metric(round, t0 + 2_700, MetricName::Interruption, 1.0),
        ]
    }
}

/// A room message from `task`'s robot: 10001 with `state`.
pub fn robot_state(task: &str, round: &str, ms: u64, state: RobotState) -> Event {
    Spec::new(task, 10_000, "customer_1").state(round, ms, state)
}

/// A busy wall at `now`, as the shell would report it.
#[derive(Debug, Clone)]
pub struct Wall {
    /// The snapshot's events, in sequence order.
    pub snapshot: Vec<Event>,
    /// The snapshot's watermark.
    pub last_seq: u64,
    /// Pushed while the snapshot is on its way: two events the snapshot already covers and
    /// a call that started after it.
    pub early: Vec<Event>,
}

/// Eight live calls in various kinds of trouble, Chinese and English, and one that has
/// ended; the customer ids say what each call is about.
pub fn busy_wall(now: u64) -> Wall {
    let mut script = Script::new(now);
    let ago = |secs: u64| now - secs * 1_000;
    let mut snapshot = Vec::new();

    // Failing: the LLM was rate limited in the latest turn.
    let rate_limited = Spec::new("task-llm-429", 20_481, "cust_8841_zhao");
    let mut events = vec![rate_limited.started(ago(412)), rate_limited.ready(ago(411))];
    events.extend(rate_limited.turn(
        "r-1",
        ago(400),
        "我的快递三天了还没到。",
        "很抱歉，我帮您查一下物流信息。",
        [900.0, 800.0, 420.0],
    ));
    events.push(rate_limited.speech("r-2", ago(62)));
    events.push(rate_limited.sentence("r-2", ago(60), "cust_8841_zhao", "单号是 SF1234567890，麻烦快一点。"));
    events.push(rate_limited.failure("r-2", ago(55), PipelineStage::Llm, 30201, "429 Too Many Requests"));
    events.push(rate_limited.state("r-2", ago(54), RobotState::Listening));
    events.push(rate_limited.watching(ago(50), "王经理"));
    snapshot.extend(script.stamp(events));

    // Degraded: the robot has been thinking for a long while.
    let thinking = Spec::new("task-thinking", 20_502, "cust_2210_li");
    let mut events = vec![thinking.started(ago(95)), thinking.ready(ago(94))];
    events.extend(thinking.turn(
        "r-1",
        ago(90),
        "你好，我想退订会员。",
        "好的，请问您是想取消自动续费吗？",
        [800.0, 650.0, 380.0],
    ));
    events.push(thinking.speech("r-2", ago(14)));
    events.push(thinking.sentence(
        "r-2",
        ago(11),
        "cust_2210_li",
        "对，而且要把上个月的费用退给我，因为我根本没用过。",
    ));
    snapshot.extend(script.stamp(events));

    // Degraded: LLM first token slow on two of the last turns.
    let slow = Spec::new("task-slow-llm", 20_533, "cust_5519_chen");
    let mut events = vec![slow.started(ago(260)), slow.ready(ago(259))];
    events.extend(slow.turn(
        "r-1",
        ago(250),
        "帮我改一下收货地址。",
        "可以的，请告诉我新的地址。",
        [950.0, 2_600.0, 400.0],
    ));
    events.extend(slow.turn(
        "r-2",
        ago(200),
        "上海市浦东新区世纪大道 100 号。",
        "已为您修改，新地址是上海市浦东新区世纪大道 100 号，对吗？",
        [1_000.0, 3_150.0, 450.0],
    ));
    snapshot.extend(script.stamp(events));

    // Degraded: the customer keeps cutting the robot off.
    let storm = Spec::new("task-interrupts", 20_577, "cust_7702_wu");
    let mut events = vec![storm.started(ago(180)), storm.ready(ago(179))];
    events.extend(storm.interrupted_turn("r-1", ago(170), "不是这个，"));
    events.extend(storm.interrupted_turn("r-2", ago(140), "你听我说，"));
    events.extend(storm.interrupted_turn("r-3", ago(100), "我要找人工客服！"));
    snapshot.extend(script.stamp(events));

    // Healthy, taken over by a supervisor who holds the lock.
    let human = Spec::new("task-taken-over", 20_610, "cust_3307_zhou");
    let mut events = vec![human.started(ago(530)), human.ready(ago(529))];
    events.extend(human.turn(
        "r-1",
        ago(500),
        "我要投诉上次的维修服务。",
        "非常抱歉给您带来不便，请您具体说说情况。",
        [900.0, 700.0, 400.0],
    ));
    events.push(human.locked(ago(300), "王经理"));
    events.extend(human.taken_over(ago(299), "王经理"));
    events.push(human.watching(ago(298), "王经理"));
    events.push(human.watching(ago(120), "alice"));
    snapshot.extend(script.stamp(events));

    // Healthy, in English, locked by a supervisor with two watching.
    let english = Spec::new("task-english", 20_644, "cust_1184_smith");
    let mut events = vec![english.started(ago(75)), english.ready(ago(74))];
    events.extend(english.turn(
        "r-1",
        ago(70),
        "Hi, I'd like to change my delivery address please.",
        "Of course. What is the new address?",
        [850.0, 640.0, 390.0],
    ));
    events.push(english.locked(ago(40), "alice"));
    events.push(english.watching(ago(40), "alice"));
    events.push(english.watching(ago(30), "bob"));
    snapshot.extend(script.stamp(events));

    // Healthy, just started: no round yet.
    let fresh = Spec::new("task-just-started", 20_688, "cust_6420_sun");
    snapshot.extend(script.stamp(vec![fresh.started(ago(4)), fresh.ready(ago(3))]));

    // Ended a minute ago: not on the wall.
    let ended = Spec::new("task-ended", 20_699, "cust_0001_qian");
    let mut events = vec![ended.started(ago(300))];
    events.extend(ended.turn(
        "r-1",
        ago(290),
        "谢谢，没有别的问题了。",
        "好的，祝您生活愉快，再见！",
        [800.0, 600.0, 400.0],
    ));
    events.push(ended.stopped(ago(60), LeaveCode::StoppedByApi));
    snapshot.extend(script.stamp(events));

    let last_seq = snapshot.last().and_then(|event| event.seq).map_or(0, |seq| seq.0);

    // Pushed during the snapshot: a repeat of two covered events, then a new call.
    let mut early: Vec<Event> = snapshot[snapshot.len() - 2..].to_vec();
    let newcomer = Spec::new("task-newcomer", 20_720, "cust_9031_he");
    let mut events = vec![newcomer.started(ago(2)), newcomer.ready(ago(1))];
    events.push(newcomer.speech("r-1", ago(1)));
    early.extend(script.stamp(events));
    // The robot's own word on its state in the speaking call, from the room.
    early.push(english.state("r-1", ago(1), RobotState::Listening));

    Wall { snapshot, last_seq, early }
}
