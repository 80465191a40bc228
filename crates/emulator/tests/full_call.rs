//! Whole calls across processes' boundaries: a backend starts calls through the Cloud API,
//! the emulator plays them and POSTs signed callbacks to a receiver on loopback, which
//! checks every signature and folds what it got with `domain`'s fold.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use support::Received;

use domain::{call::Call, ids::TaskId};
use emulator::{CloudConfig, EmulatorConfig};
use serde_json::json;
use trtc::{
    client::{Client, ClientConfig, Endpoint},
    credentials::Credentials,
};

const APP: u64 = 1_400_000_000;
const CALLBACK_KEY: &str = "CallbackKey123";

async fn receiver() -> (String, Arc<Mutex<Received>>) {
    support::receiver(CALLBACK_KEY, APP).await
}

fn config(callback_url: String, calls: usize, speed: f64) -> EmulatorConfig {
    EmulatorConfig {
        cloud: CloudConfig {
            sdk_app_id: APP,
            keys: vec![("AKIDfullcall".into(), "full-call-key".into())],
            sdk_secret_key: None,
            rate_limit: 50,
            clock_offset_secs: 0,
        },
        callback_url: Some(callback_url),
        callback_key: CALLBACK_KEY.into(),
        speed,
        seed: 7,
        calls,
        arrival_per_minute: 600.0,
        recorded_share: 0.0,
        data_dir: None,
        error_rates: emulator::ErrorRates::default(),
        llm_url: None,
        llm_api_key: None,
    }
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_call_arrives_as_signed_complete_and_ordered_callbacks() {
    let (url, received) = receiver().await;
    let running = emulator::start_emulator(config(url, 0, 100.0), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = support::client(&running.base_url, "AKIDfullcall", "full-call-key");
    let task = support::start_zh_call(&client, APP, "880011", "ai_robot_1", "customer_1").await;

    let ended = || {
        received.lock().unwrap().callbacks.iter().map(|c| &c.event).any(|e| e.body.callback_event_type() == Some(902))
    };
    wait_for("the call to end with 902", Duration::from_secs(60), ended).await;
    // Room callbacks of the robot leaving may trail the 902 by a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let received = received.lock().unwrap();
    assert!(received.refused.is_empty(), "every callback is signed and parses: {:?}", received.refused);
    let mut events = received.events();
    events.sort_by_key(|e| e.source_ms);
    let ai: Vec<u16> = events
        .iter()
        .filter(|e| e.call.task.as_ref().map(TaskId::as_str) == Some(task.as_str()))
        .filter_map(|e| e.body.callback_event_type())
        .collect();
    let position = |t: u16| ai.iter().position(|x| *x == t).unwrap_or_else(|| panic!("no {t} in {ai:?}"));
    assert!(position(901) < position(909) && position(909) < position(904), "start, ready, then turns: {ai:?}");
    assert_eq!(ai.last(), Some(&902), "902 ends the call: {ai:?}");
    let room_types: BTreeSet<u16> =
        events.iter().filter(|e| e.call.task.is_none()).filter_map(|e| e.body.callback_event_type()).collect();
    assert!(room_types.contains(&103) && room_types.contains(&104), "people entered and left the room: {room_types:?}");

    let mut call = Call::new(TaskId::new(task.clone()));
    events.iter().for_each(|e| call.apply(e));
    let turns = call.turns();
    assert!(turns.len() >= 3, "a scripted call has several turns, got {}", turns.len());
    let answered =
        turns.iter().filter(|t| t.user().is_some_and(|l| l.is_final) && t.robot().is_some_and(|l| l.is_final)).count();
    assert!(
        answered * 2 >= turns.len(),
        "most turns have a final question and a final answer: {answered} of {}",
        turns.len()
    );
    let chinese =
        turns.iter().filter_map(|t| t.user()).any(|l| l.text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
    assert!(chinese, "a zh call speaks Chinese");
    assert!(!call.is_live(), "the folded call has ended");
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traffic_generator_keeps_calls_coming_through_the_real_api() {
    let (url, received) = receiver().await;
    let running = emulator::start_emulator(config(url, 4, 200.0), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let started_tasks = || {
        received
            .lock()
            .unwrap()
            .callbacks
            .iter()
            .map(|c| &c.event)
            .filter(|e| e.body.callback_event_type() == Some(901))
            .filter_map(|e| e.call.task.clone())
            .collect::<BTreeSet<_>>()
            .len()
    };
    wait_for("four generated calls to start", Duration::from_secs(30), || started_tasks() >= 4).await;
    assert!(running.cloud.live_calls() <= 4, "never more than --calls at once");
    let stats = running.callback_stats.as_ref().unwrap().snapshot();
    assert!(stats.delivered > 0 && stats.failed == 0, "callbacks are delivered: {stats:?}");
    assert!(received.lock().unwrap().refused.is_empty());
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_in_the_room_of_a_live_call_sees_its_states_and_subtitles() {
    let (url, _received) = receiver().await;
    let running = emulator::start_emulator(config(url, 0, 20.0), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = Client::new(
        ClientConfig::new(Credentials::new("AKIDfullcall", "full-call-key").unwrap(), "ap-guangzhou")
            .with_endpoint(Endpoint::Url(running.base_url.clone())),
    )
    .unwrap();
    let start = serde_json::from_value(json!({
        "SdkAppId": APP, "RoomId": "770077",
        "AgentConfig": {"UserId": "ai_robot_9", "UserSig": "unchecked", "TargetUserId": "customer_9"},
        "STTConfig": {"Language": "en"},
        "LLMConfig": "{\"LLMType\":\"openai\",\"Model\":\"m\",\"APIKey\":\"k\",\"APIUrl\":\"http://127.0.0.1:9/v1\"}",
        "TTSConfig": "{\"TTSType\":\"flow\",\"VoiceId\":\"v-female-p9Xy7Q1L\",\"Model\":\"flow_01_turbo\"}"
    }))
    .unwrap();
    client.start_ai_conversation(&start).await.unwrap();

    let addr = running.addr;
    // The real server, a real WebSocket: join the call's room and read until both a robot
    // state (10001) and a subtitle (10000) arrived.
    let seen = tokio::task::spawn_blocking(move || {
        use tokio_tungstenite::tungstenite::{self, Message};
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let query = format!("sdkappid={APP}&roomid=770077&userid=supervisor_1&usersig=unchecked");
        let (mut socket, _) = tungstenite::client(format!("ws://{addr}/room?{query}"), stream).unwrap();
        let mut types = BTreeSet::new();
        while !(types.contains(&10000) && types.contains(&10001)) {
            let Message::Text(text) = socket.read().unwrap() else { continue };
            let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
            if frame["kind"] == "custom" {
                assert_eq!(frame["sender"], frame["data"]["sender"], "the frame names the message's sender");
                types.insert(frame["data"]["type"].as_u64().unwrap());
            }
        }
        types
    })
    .await
    .unwrap();
    assert!(seen.contains(&10001) && seen.contains(&10000), "{seen:?}");
    running.stop();
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_clock_offset_every_callback_of_a_call_is_stamped_on_the_skewed_clock() {
    // Four minutes ahead: inside TC3's five-minute window, so the API still takes our calls.
    const OFFSET_MS: u64 = 240_000;
    let (url, received) = receiver().await;
    let mut config = config(url, 0, 100.0);
    config.cloud.clock_offset_secs = 240;
    let running = emulator::start_emulator(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = support::client(&running.base_url, "AKIDfullcall", "full-call-key");
    let before = wall_ms();
    let task = support::start_zh_call(&client, APP, "880012", "ai_robot_2", "customer_2").await;
    let ended = || {
        received.lock().unwrap().callbacks.iter().map(|c| &c.event).any(|e| e.body.callback_event_type() == Some(902))
    };
    wait_for("the call to end with 902", Duration::from_secs(60), ended).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = wall_ms();

    let received = received.lock().unwrap();
    assert!(received.refused.is_empty(), "every callback is signed and parses: {:?}", received.refused);
    // Consecutive callbacks of a call may be bumped 1 ms apart past the clock.
    let (low, high) = (before + OFFSET_MS, after + OFFSET_MS + 1_000);
    let skewed = |ms: u64| (low..=high).contains(&ms);
    let mut types = BTreeSet::new();
    for callback in &received.callbacks {
        let raw = &callback.raw;
        let info = &raw["EventInfo"];
        let event_type = raw["EventType"].as_u64().unwrap();
        types.insert(event_type);
        let event_ms = info["EventMsTs"].as_u64().unwrap();
        let callback_ts = raw["CallbackTs"].as_u64().unwrap();
        assert!(skewed(event_ms), "{event_type}'s EventMsTs {event_ms} is 240 s ahead of the wall clock: {raw}");
        assert!(skewed(callback_ts), "{event_type}'s CallbackTs {callback_ts} is 240 s ahead of the wall clock: {raw}");
        if let Some(secs) = info.get("EventTs") {
            assert_eq!(secs.as_u64(), Some(event_ms / 1000), "{event_type}'s EventTs is the same time: {raw}");
        }
        if event_type == 903 {
            let payload = &info["Payload"];
            for key in ["StartTimeMs", "EndTimeMs"] {
                let ms = payload[key].as_u64().unwrap();
                assert!(skewed(ms), "903's {key} {ms} is on the skewed clock too: {raw}");
            }
        }
        assert_eq!(callback.event.source_ms.0, event_ms, "the receiver's source time is the skewed one");
    }
    for expected in [103, 104, 203, 901, 902, 903, 904, 905, 906, 909] {
        assert!(types.contains(&expected), "the call sent a {expected}: {types:?} (task {task})");
    }
    running.stop();
}
