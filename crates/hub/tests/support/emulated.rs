//! The real emulator beside a real hub: the emulator posts signed callbacks to the hub's
//! ingest, the hub drives the emulator's Cloud API with the `trtc` client, and calls are
//! started through that Cloud API as a customer's backend would.

use std::time::{Duration, Instant};

use emulator::{CloudConfig, EmulatorConfig};
use serde_json::{json, Value};
use trtc::credentials::Credentials;

use super::{next_json, TestHub, Ws, APP, CALLBACK_KEY, CUSTOMER, ROBOT};

pub const SECRET_ID: &str = "AKIDhubstories";
pub const SECRET_KEY: &str = "hub-stories-secret-key";
/// What the robot says first in calls started by [`start_call`].
pub const WELCOME: &str = "您好，请问有什么可以帮您？";

/// A free loopback port for the hub, so the emulator can be told where to post first.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An emulator at `speed` (no injected pipeline errors, seed 7) posting callbacks to a hub
/// that drives the emulator's Cloud API; `adjust` gets the hub's configuration and the
/// emulator's base URL.
pub async fn hub_and_emulator(
    speed: f64,
    adjust: impl FnOnce(&mut hub::HubConfig, &str),
) -> (TestHub, emulator::RunningEmulator) {
    let hub_port = free_port();
    let cloud = CloudConfig {
        sdk_app_id: APP,
        keys: vec![(SECRET_ID.into(), SECRET_KEY.into())],
        sdk_secret_key: None,
        rate_limit: 0,
        clock_offset_secs: 0,
    };
    let mut config = EmulatorConfig::new(cloud);
    config.callback_url = Some(format!("http://127.0.0.1:{hub_port}/callbacks/trtc"));
    config.callback_key = CALLBACK_KEY.into();
    config.speed = speed;
    config.seed = 7;
    config.error_rates = emulator::ErrorRates { asr: 0.0, llm: 0.0, tts: 0.0 };
    let emulator = emulator::start_emulator(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = emulator.base_url.clone();
    let hub = TestHub::start(|config| {
        config.listen = format!("127.0.0.1:{hub_port}").parse().unwrap();
        config.endpoint = Some(base.clone());
        config.credentials = Some(Credentials::new(SECRET_ID, SECRET_KEY).unwrap());
        adjust(config, &base);
    })
    .await;
    (hub, emulator)
}

/// Starts a Chinese call in `room` through the emulator's Cloud API with `llm` as its
/// `LLMConfig`; answers its TaskId.
pub async fn start_call(emulator: &emulator::RunningEmulator, room: &str, llm: Value) -> String {
    let client = trtc::client::Client::new(
        trtc::client::ClientConfig::new(Credentials::new(SECRET_ID, SECRET_KEY).unwrap(), "ap-guangzhou")
            .with_endpoint(trtc::client::Endpoint::Url(emulator.base_url.clone())),
    )
    .unwrap();
    let start: trtc::model::StartAIConversation = serde_json::from_value(json!({
        "SdkAppId": APP, "RoomId": room,
        "AgentConfig": {"UserId": ROBOT, "UserSig": "x", "TargetUserId": CUSTOMER,
                        "WelcomeMessage": WELCOME, "MaxIdleTime": 5},
        "STTConfig": {"Language": "zh"},
        "LLMConfig": llm.to_string(),
        "TTSConfig": "{\"TTSType\":\"flow\",\"VoiceId\":\"female-kefu-xiaomei\",\"Model\":\"flow_01_turbo\"}"
    }))
    .unwrap();
    client.start_ai_conversation(&start).await.unwrap().task_id.unwrap()
}

/// Reads `ws` until `done` says so or `limit` passes (then panics, naming what was seen);
/// answers the events seen, the last one being the one `done` accepted.
pub async fn events_until(ws: &mut Ws, limit: Duration, mut done: impl FnMut(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + limit;
    let mut events = Vec::new();
    while Instant::now() < deadline {
        let Some(frame) = next_json(ws, deadline.saturating_duration_since(Instant::now())).await else { break };
        if frame["type"] == "event" {
            let event = frame["event"].clone();
            let stop = done(&event);
            events.push(event);
            if stop {
                return events;
            }
        }
    }
    panic!("not done after {limit:?}; {} events seen, last: {:?}", events.len(), events.last());
}

/// A final sentence (903) of `user` in call `task`.
pub fn is_final_sentence_of(event: &Value, task: &str, user: &str) -> bool {
    event["call"]["task"] == task
        && event["body"]["kind"] == "sentence"
        && event["body"]["is_final"] == true
        && event["body"]["user"] == user
}

/// The call's 902.
pub fn is_stop_of(event: &Value, task: &str) -> bool {
    event["call"]["task"] == task && event["body"]["kind"] == "task_stopped"
}
