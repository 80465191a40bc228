//! Tests of the conversation engine. Every emission must be valid TRTC as our own parser
//! (`domain::event::Event`) reads it, a call must fold (`domain::call::Call`) into the
//! turns its script promised, and commands must do what the Cloud API promises.
//!
//! Calls run at 500–1000× speed; a full call takes a few hundred ms of wall time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod controls;
mod full_call;
mod scenarios;
mod variety;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::call::Call;
use domain::event::{CallRef, Event};
use domain::ids::{SdkAppId, SourceMs, TaskId};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use super::{
    spawn, CallOutcome, CallSpec, Control, ErrorRates, Language, Phase, Pipeline, Spawned, Speed, TtsConfig, Update,
};
use crate::{
    audio::Voice,
    outputs::{Outputs, RoomMessage, SpokenLine, SpokenLines},
};

pub(super) const APP: u64 = 1_400_000_001;
pub(super) const TASK: &str = "v2_20250224_conversation_test";
pub(super) const ROBOT: &str = "robot_agent";
pub(super) const CUSTOMER: &str = "customer_8848";
pub(super) const FAST: Speed = Speed(1000.0);

pub(super) fn spec(language: Language) -> CallSpec {
    let welcome = match language {
        Language::Zh => "您好，欢迎致电客服中心，请问有什么可以帮您？",
        Language::En => "Hello, thanks for calling customer service. How can I help you today?",
    };
    CallSpec {
        task_id: TASK.to_owned(),
        sdk_app_id: APP,
        room_id: "8489".to_owned(),
        room_id_type: 0,
        robot_user_id: ROBOT.to_owned(),
        customer_user_id: CUSTOMER.to_owned(),
        welcome_message: Some(welcome.to_owned()),
        language,
        interrupt_mode: 0,
        interrupt_speech_ms: super::DEFAULT_INTERRUPT_SPEECH_MS,
        max_idle_secs: 5,
        subtitle_mode: 0,
        llm: None,
        tts: TtsConfig::default(),
    }
}

/// Everything a call emitted, in emission order.
#[derive(Debug)]
pub(super) struct Played {
    pub callbacks: Vec<Value>,
    pub rooms: Vec<Value>,
    /// The voice beside each of `rooms`, index for index.
    pub voices: Vec<Option<Voice>>,
    /// The lines the room messages complete, as room audio and recordings hear them.
    pub spoken: Vec<SpokenLine>,
    pub outcome: CallOutcome,
}

/// A call in progress, watched callback by callback.
#[derive(Debug)]
pub(super) struct Live {
    callbacks_rx: mpsc::UnboundedReceiver<Value>,
    rooms_rx: broadcast::Receiver<RoomMessage>,
    pub callbacks: Vec<Value>,
    pub controls: mpsc::UnboundedSender<Control>,
    handle: JoinHandle<CallOutcome>,
    pub phase: tokio::sync::watch::Receiver<Phase>,
}

impl Live {
    pub(super) fn start(spec: CallSpec, speed: Speed, seed: u64) -> Live {
        Live::start_with(spec, speed, seed, &Pipeline::default())
    }

    pub(super) fn start_with(spec: CallSpec, speed: Speed, seed: u64, pipeline: &Pipeline) -> Live {
        let (outputs, receivers) = Outputs::new();
        let Spawned { task, controls, phase } = spawn(spec, outputs, speed, seed, pipeline);
        Live {
            callbacks_rx: receivers.callbacks,
            rooms_rx: receivers.rooms,
            callbacks: Vec::new(),
            controls,
            handle: task,
            phase,
        }
    }

    /// Reads callbacks until one satisfies `wanted` (within 5 s) and returns it.
    pub(super) async fn until(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let wait = async {
            while let Some(body) = self.callbacks_rx.recv().await {
                self.callbacks.push(body.clone());
                if wanted(&body) {
                    return Some(body);
                }
            }
            None
        };
        match tokio::time::timeout(Duration::from_secs(5), wait).await {
            Ok(Some(body)) => body,
            Ok(None) => panic!("the call ended without {what}; it sent {:#?}", self.callbacks),
            Err(_) => panic!("no {what} within 5 s"),
        }
    }

    pub(super) fn send(&self, control: Control) {
        self.controls.send(control).expect("the call is still running");
    }

    /// Waits for the call to end and collects the rest of its emissions.
    pub(super) async fn finish(mut self) -> Played {
        let outcome = tokio::time::timeout(Duration::from_secs(5), self.handle)
            .await
            .expect("the call ends within 5 s")
            .expect("the call's task does not panic");
        while let Ok(body) = self.callbacks_rx.try_recv() {
            self.callbacks.push(body);
        }
        let (mut rooms, mut voices) = (Vec::new(), Vec::new());
        let (mut spoken, mut lines) = (Vec::new(), SpokenLines::default());
        loop {
            match self.rooms_rx.try_recv() {
                Ok(message) => {
                    assert_eq!(message.room_id, "8489", "room messages name the call's room");
                    spoken.extend(lines.complete(&message));
                    voices.push(message.voice);
                    rooms.push(message.message);
                }
                Err(broadcast::error::TryRecvError::Lagged(n)) => panic!("the test lost {n} room messages"),
                Err(_) => break,
            }
        }
        Played { callbacks: self.callbacks, rooms, voices, spoken, outcome }
    }
}

/// Plays one call to its end.
pub(super) async fn play(spec: CallSpec, seed: u64) -> Played {
    Live::start(spec, FAST, seed).finish().await
}

/// Plays several calls at once.
pub(super) async fn play_many(calls: Vec<(CallSpec, u64)>) -> Vec<Played> {
    let handles: Vec<_> = calls.into_iter().map(|(spec, seed)| tokio::spawn(play(spec, seed))).collect();
    let mut played = Vec::new();
    for handle in handles {
        played.push(handle.await.expect("a played call does not panic"));
    }
    played
}

pub(super) fn event_type(body: &Value) -> u64 {
    body["EventType"].as_u64().expect("every callback has a numeric EventType")
}

pub(super) fn event_ms(body: &Value) -> u64 {
    body["EventInfo"]["EventMsTs"].as_u64().expect("every callback has a numeric EventMsTs")
}

pub(super) fn payload(body: &Value) -> &Value {
    &body["EventInfo"]["Payload"]
}

pub(super) fn round_of(body: &Value) -> Option<&str> {
    let payload = payload(body);
    payload["RoundId"].as_str().or_else(|| payload["Tag"]["RoundId"].as_str())
}

/// Callbacks of `event_type`.
pub(super) fn of_type(played: &Played, event_type_wanted: u64) -> Vec<&Value> {
    played.callbacks.iter().filter(|body| event_type(body) == event_type_wanted).collect()
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// What the hub would do with a callback: add `CallbackTs`, then normalise the bytes.
pub(super) fn normalise_callback(body: &Value) -> Event {
    assert!(body.get("CallbackTs").is_none(), "the engine leaves CallbackTs to the sender: {body}");
    let mut sent = body.clone();
    sent["CallbackTs"] = json!(unix_ms());
    let bytes = serde_json::to_vec(&sent).unwrap();
    Event::from_callback(&bytes, Some(SdkAppId(APP)))
        .unwrap_or_else(|e| panic!("callback {sent} does not normalise: {e}"))
}

/// What a console in the room would do with a custom message.
pub(super) fn normalise_room(message: &Value, received_ms: u64) -> Event {
    let bytes = serde_json::to_vec(message).unwrap();
    Event::from_room_message(&bytes, CallRef::task(TaskId::new(TASK)), SourceMs(received_ms))
        .unwrap_or_else(|e| panic!("room message {message} does not normalise: {e}"))
}

/// All callbacks folded into the call.
pub(super) fn fold(played: &Played) -> Call {
    let mut call = Call::new(TaskId::new(TASK));
    for body in &played.callbacks {
        call.apply(&normalise_callback(body));
    }
    call
}

/// Room messages of `message_type` for `round`, in emission order.
pub(super) fn room_messages<'a>(played: &'a Played, message_type: u64, round: &str) -> Vec<&'a Value> {
    played
        .rooms
        .iter()
        .filter(|m| m["type"].as_u64() == Some(message_type))
        .filter(|m| {
            m["payload"]["roundid"].as_str() == Some(round) || m["payload"]["tag"]["roundid"].as_str() == Some(round)
        })
        .collect()
}

/// The 10001 states of `round`, in emission order.
pub(super) fn states(played: &Played, round: &str) -> Vec<u64> {
    room_messages(played, 10001, round).iter().filter_map(|m| m["payload"]["state"].as_u64()).collect()
}

/// The round ids in order of first appearance among the callbacks.
pub(super) fn rounds(played: &Played) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for round in played.callbacks.iter().filter_map(round_of) {
        if !seen.iter().any(|known| known == round) {
            seen.push(round.to_owned());
        }
    }
    seen
}

/// A 903 of `user` in `round`.
pub(super) fn sentence_of<'a>(played: &'a Played, round: &str, user: &str) -> Option<&'a Value> {
    of_type(played, 903).into_iter().find(|body| round_of(body) == Some(round) && payload(body)["UserId"] == user)
}
