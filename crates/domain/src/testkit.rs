//! Test fixtures: callback bodies and room messages shaped exactly like TRTC's, run through
//! the real constructors. Only compiled for tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};

use crate::event::{CallRef, Event};
use crate::ids::{RoomId, SdkAppId, SourceMs, TaskId};

pub const APP: SdkAppId = SdkAppId(1_400_000_000);
pub const ROOM: u64 = 12345;
pub const ROBOT: &str = "ai_robot_1";
pub const CUSTOMER: &str = "customer_1";

/// A group-9 body as TRTC sends it (room as a string with `RoomIdType` 0).
pub fn ai_body(event_type: u64, task: &str, ms: u64, payload: Value) -> Vec<u8> {
    json!({
        "EventGroupId": 9,
        "EventType": event_type,
        "CallbackTs": ms + 40,
        "EventInfo": {"EventMsTs": ms, "TaskId": task, "RoomId": ROOM.to_string(), "RoomIdType": 0, "Payload": payload}
    })
    .to_string()
    .into_bytes()
}

/// A group-1/2 body (numeric room as a number); `extra` is merged into `EventInfo`.
pub fn room_body(group: u64, event_type: u64, ms: u64, extra: Value) -> Vec<u8> {
    let mut info = json!({"RoomId": ROOM, "EventTs": ms / 1000, "EventMsTs": ms});
    if let (Some(info), Value::Object(extra)) = (info.as_object_mut(), extra) {
        info.extend(extra);
    }
    json!({"EventGroupId": group, "EventType": event_type, "CallbackTs": ms + 90, "EventInfo": info})
        .to_string()
        .into_bytes()
}

/// A group-3 body for recording task `recording`.
pub fn recording_body(event_type: u64, recording: &str, ms: u64, payload: Value) -> Vec<u8> {
    json!({
        "EventGroupId": 3,
        "EventType": event_type,
        "CallbackTs": ms + 70,
        "EventInfo": {"RoomId": ROOM, "EventTs": ms / 1000, "EventMsTs": ms, "UserId": "recorder_1", "TaskId": recording, "Payload": payload}
    })
    .to_string()
    .into_bytes()
}

/// A cmdID-1 room message.
pub fn message_body(message_type: u64, sender: &str, payload: Value) -> Vec<u8> {
    json!({"type": message_type, "sender": sender, "receiver": [], "payload": payload}).to_string().into_bytes()
}

pub fn callback(bytes: &[u8]) -> Event {
    Event::from_callback(bytes, Some(APP))
        .unwrap_or_else(|e| panic!("fixture {} should normalise: {e}", String::from_utf8_lossy(bytes)))
}

pub fn message(bytes: &[u8], task: &str, received_ms: u64) -> Event {
    let call = CallRef { sdk_app_id: Some(APP), room: Some(RoomId::numeric(ROOM)), task: Some(TaskId::new(task)) };
    Event::from_room_message(bytes, call, SourceMs(received_ms))
        .unwrap_or_else(|e| panic!("fixture {} should normalise: {e}", String::from_utf8_lossy(bytes)))
}

// ---- AI callbacks ----

pub fn started(task: &str, ms: u64) -> Event {
    callback(&ai_body(901, task, ms, json!({"Status": 0})))
}

pub fn start_failed(task: &str, ms: u64) -> Event {
    callback(&ai_body(901, task, ms, json!({"Status": 1})))
}

pub fn session_ready(task: &str, ms: u64) -> Event {
    callback(&ai_body(909, task, ms, json!({"Status": "session_ready"})))
}

pub fn stopped(task: &str, ms: u64, leave_code: u32) -> Event {
    callback(&ai_body(902, task, ms, json!({"LeaveCode": leave_code})))
}

pub fn speech_started(task: &str, round: &str, ms: u64) -> Event {
    callback(&ai_body(904, task, ms, json!({"UserId": CUSTOMER, "RoundId": round})))
}

pub fn sentence(task: &str, round: &str, ms: u64, user: &str, text: &str) -> Event {
    callback(&ai_body(
        903,
        task,
        ms,
        json!({"UserId": user, "Text": text, "StartTimeMs": ms - 900, "EndTimeMs": ms - 100, "RoundId": round}),
    ))
}

pub fn finished(task: &str, round: &str, ms: u64, text: &str) -> Event {
    callback(&ai_body(905, task, ms, json!({"UserId": ROBOT, "RoundId": round, "Text": text})))
}

pub fn metric(task: &str, round: &str, ms: u64, name: &str, value: f64) -> Event {
    callback(&ai_body(906, task, ms, json!({"Metric": name, "Value": value, "Tag": {"RoundId": round}})))
}

pub fn failure(task: &str, round: &str, ms: u64, metric: &str, code: i64, text: &str) -> Event {
    callback(&ai_body(
        908,
        task,
        ms,
        json!({"Metric": metric, "Tag": {"RoundId": round, "Code": code, "Message": text}}),
    ))
}

// ---- room messages ----

pub fn subtitle(task: &str, sender: &str, round: &str, ms: u64, text: &str, end: bool) -> Event {
    message(
        &message_body(
            10000,
            sender,
            json!({"text": text, "start_time": "00:00:01", "end_time": "00:00:03", "roundid": round, "end": end}),
        ),
        task,
        ms,
    )
}

pub fn state(task: &str, round: &str, ms: u64, state: u8) -> Event {
    message(&message_body(10001, ROBOT, json!({"roundid": round, "timestamp": ms / 1000, "state": state})), task, ms)
}

pub fn room_metric(task: &str, round: &str, ms: u64, name: &str, value: f64) -> Event {
    message(&message_body(10020, ROBOT, json!({"metric": name, "value": value, "tag": {"roundid": round}})), task, ms)
}

// ---- scenarios ----

/// Latencies of one turn, in ms.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub asr: f64,
    pub llm_first_token: f64,
    pub tts_first_frame: f64,
}

pub const QUICK: Latency = Latency { asr: 900.0, llm_first_token: 700.0, tts_first_frame: 400.0 };

/// One complete turn from callbacks only: 904, user 903, robot 903, the seven 906 metrics
/// (`interruption` 0: not interrupted), 905. Everything happens within 8 s of `t0`.
pub fn callback_turn(task: &str, round: &str, t0: u64, latency: Latency) -> Vec<Event> {
    let mut events = vec![
        speech_started(task, round, t0),
        sentence(task, round, t0 + 1_500, CUSTOMER, "我想查一下订单"),
        sentence(task, round, t0 + 3_000, ROBOT, "好的，请告诉我订单号。"),
    ];
    for (i, (name, value)) in [
        ("asr_latency", latency.asr),
        ("llm_network_latency", 120.0),
        ("llm_first_token", latency.llm_first_token),
        ("tts_network_latency", 80.0),
        ("tts_first_frame_latency", latency.tts_first_frame),
        ("tts_discontinuity", 0.0),
        ("interruption", 0.0),
    ]
    .into_iter()
    .enumerate()
    {
        events.push(metric(task, round, t0 + 3_100 + i as u64, name, value));
    }
    events.push(finished(task, round, t0 + 6_000, "好的，请告诉我订单号。"));
    events
}
