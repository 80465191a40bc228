//! What a call emits, as TRTC spells it: server callbacks (groups 1, 2, 9; trtc-contract.md
//! §3.2, §4) without `CallbackTs` (the sender stamps it), and cmdID-1 room messages (§3.1).
//!
//! [`Out`] is the runner's vocabulary; [`Wire::render`] is the one place that knows field
//! names and their case (`Metric/Value/Tag.RoundId` in callbacks, `metric/value/tag.roundid`
//! in room messages). A robot subtitle's TTS voice rides beside its room message
//! ([`crate::outputs::RoomMessage::voice`]), never in it.

use domain::event::{MetricName, RobotState};
use serde_json::{json, Value};

use super::script::Failure;
use super::CallSpec;
use crate::{audio::Voice, outputs::Emission};

/// Who is speaking or moving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    Customer,
    Robot,
}

/// One thing the call says, before it is stamped and spelt. Times named `*_at` are
/// emulated ms since the call started.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Out {
    /// 103.
    Entered(Who),
    /// 203.
    AudioStarted(Who),
    /// 104.
    Left(Who),
    /// 901, `Status` 0.
    Started,
    /// 909.
    SessionReady,
    /// 902.
    Stopped { leave_code: u32 },
    /// 904.
    SpeechStarted { round: String },
    /// 10001.
    State { round: String, state: RobotState },
    /// 10000; `voice` is the robot's TTS voice for its line (`None` for the customer).
    Subtitle { who: Who, round: String, text: String, start_at: u64, end_at: u64, end: bool, voice: Option<Voice> },
    /// 903.
    Sentence { who: Who, round: String, text: String, start_at: u64, end_at: u64 },
    /// 905.
    Finished { round: String, text: String },
    /// 906 and 10020.
    Metric { round: String, metric: MetricName, value: u64 },
    /// 908 and 10030.
    Failed { round: String, failure: Failure },
    /// 10002: the LLM's `meta.info` object.
    MetaInfo { round: String, info: Value },
}

impl Out {
    /// Whether this produces a server callback (and so needs an `EventMsTs` of its own).
    pub(crate) fn is_callback(&self) -> bool {
        !matches!(self, Out::State { .. } | Out::Subtitle { .. } | Out::MetaInfo { .. })
    }
}

/// Spells [`Out`]s for one call.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    task_id: String,
    room_id: String,
    room_id_type: u64,
    robot: String,
    customer: String,
    /// Unix ms at emulated time 0, and the speed, to turn emulated times into wall time.
    start_unix_ms: u64,
    speed: f64,
}

impl Wire {
    pub(crate) fn new(spec: &CallSpec, start_unix_ms: u64, speed: f64) -> Wire {
        Wire {
            task_id: spec.task_id.clone(),
            room_id: spec.room_id.clone(),
            room_id_type: spec.room_id_type,
            robot: spec.robot_user_id.clone(),
            customer: spec.customer_user_id.clone(),
            start_unix_ms,
            speed,
        }
    }

    fn user(&self, who: Who) -> &str {
        match who {
            Who::Customer => &self.customer,
            Who::Robot => &self.robot,
        }
    }

    /// Wall-clock Unix ms of an emulated time.
    pub(crate) fn wall_ms(&self, at: u64) -> u64 {
        self.start_unix_ms + (at as f64 / self.speed).round() as u64
    }

    /// Renders `out`, stamped `ms` (wall-clock Unix ms).
    pub(crate) fn render(&self, out: &Out, ms: u64) -> Vec<Emission> {
        match out {
            Out::Entered(who) => {
                // The customer's app is an iOS native client; the robot runs on Linux.
                let terminal = if *who == Who::Customer { 3 } else { 4 };
                let extra = json!({"Role": 20, "TerminalType": terminal, "UserType": 3, "Reason": 1});
                vec![self.room_event(1, 103, ms, *who, extra)]
            }
            Out::AudioStarted(who) => vec![self.room_event(2, 203, ms, *who, json!({"Reason": 0}))],
            Out::Left(who) => vec![self.room_event(1, 104, ms, *who, json!({"Role": 20, "Reason": 1}))],
            Out::Started => vec![self.ai(901, ms, json!({"Status": 0}))],
            Out::SessionReady => vec![self.ai(909, ms, json!({"Status": "session_ready"}))],
            Out::Stopped { leave_code } => vec![self.ai(902, ms, json!({"LeaveCode": leave_code}))],
            Out::SpeechStarted { round } => {
                vec![self.ai(904, ms, json!({"UserId": self.customer, "RoundId": round}))]
            }
            Out::State { round, state } => {
                let payload = json!({"roundid": round, "timestamp": ms / 1000, "state": state.code()});
                vec![self.message(10001, Who::Robot, payload)]
            }
            Out::Subtitle { who, round, text, start_at, end_at, end, voice } => {
                let payload = json!({
                    "text": text,
                    "start_time": clock(*start_at),
                    "end_time": clock(*end_at),
                    "roundid": round,
                    "end": end,
                });
                vec![self.spoken(10000, *who, payload, *voice)]
            }
            Out::Sentence { who, round, text, start_at, end_at } => {
                let payload = json!({
                    "UserId": self.user(*who),
                    "Text": text,
                    "StartTimeMs": self.wall_ms(*start_at),
                    "EndTimeMs": self.wall_ms(*end_at),
                    "RoundId": round,
                });
                vec![self.ai(903, ms, payload)]
            }
            Out::Finished { round, text } => {
                vec![self.ai(905, ms, json!({"UserId": self.robot, "RoundId": round, "Text": text}))]
            }
            Out::Metric { round, metric, value } => vec![
                self.ai(906, ms, json!({"Metric": metric.as_str(), "Value": value, "Tag": {"RoundId": round}})),
                self.message(
                    10020,
                    Who::Robot,
                    json!({"metric": metric.as_str(), "value": value, "tag": {"roundid": round}}),
                ),
            ],
            Out::Failed { round, failure } => {
                let metric = failure.stage.metric();
                vec![
                    self.ai(
                        908,
                        ms,
                        json!({"Metric": metric, "Tag": {"RoundId": round, "Code": failure.code, "Message": failure.message}}),
                    ),
                    self.message(
                        10030,
                        Who::Robot,
                        json!({"metric": metric, "tag": {"roundid": round, "code": failure.code, "message": failure.message}}),
                    ),
                ]
            }
            Out::MetaInfo { round, info } => vec![self.meta_info(round, info)],
        }
    }

    /// The 10002 message: `roundid` beside the payload, as the doc's example has it.
    fn meta_info(&self, round: &str, info: &Value) -> Emission {
        Emission::Room {
            room_id: self.room_id.clone(),
            message: json!({"type": 10002, "sender": self.robot, "receiver": [], "roundid": round, "payload": info}),
            voice: None,
        }
    }

    /// A group-9 callback body.
    fn ai(&self, event_type: u16, ms: u64, payload: Value) -> Emission {
        Emission::Callback(json!({
            "EventGroupId": 9,
            "EventType": event_type,
            "EventInfo": {
                "EventMsTs": ms,
                "TaskId": self.task_id,
                "RoomId": self.room_id,
                "RoomIdType": self.room_id_type,
                "Payload": payload,
            },
        }))
    }

    /// A group-1 or group-2 callback body; `extra` holds the type's own fields.
    fn room_event(&self, group: u8, event_type: u16, ms: u64, who: Who, extra: Value) -> Emission {
        let mut info = json!({
            "RoomId": self.room_json(),
            "EventTs": ms / 1000,
            "EventMsTs": ms,
            "UserId": self.user(who),
        });
        if let (Some(info), Value::Object(extra)) = (info.as_object_mut(), extra) {
            info.extend(extra);
        }
        Emission::Callback(json!({"EventGroupId": group, "EventType": event_type, "EventInfo": info}))
    }

    /// Room callbacks spell the room as the client did: a number for numeric rooms.
    fn room_json(&self) -> Value {
        match self.room_id.trim().parse::<u64>() {
            Ok(number) if self.room_id_type == 0 => json!(number),
            _ => json!(self.room_id),
        }
    }

    /// A cmdID-1 custom message from `who`.
    fn message(&self, message_type: u16, who: Who, payload: Value) -> Emission {
        self.spoken(message_type, who, payload, None)
    }

    /// A cmdID-1 custom message from `who`, whose line is spoken in `voice`.
    fn spoken(&self, message_type: u16, who: Who, payload: Value, voice: Option<Voice>) -> Emission {
        Emission::Room {
            room_id: self.room_id.clone(),
            message: json!({"type": message_type, "sender": self.user(who), "receiver": [], "payload": payload}),
            voice,
        }
    }
}

/// `HH:MM:SS` of an emulated offset since the call started.
fn clock(at: u64) -> String {
    let secs = at / 1000;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}
