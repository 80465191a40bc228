//! Stories across the emulator and the hub, both real, talking HTTP and WebSocket on
//! loopback: the emulator posts signed callbacks to the hub's ingest; the hub drives the
//! emulator's Cloud API with the `trtc` client; consoles are WebSocket clients of the hub.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use emulator::{CloudConfig, EmulatorConfig};
use serde_json::{json, Value};
use support::{connect, next_json, TestHub, Ws, APP, CALLBACK_KEY};
use trtc::credentials::Credentials;

const SECRET_ID: &str = "AKIDhubstories";
const SECRET_KEY: &str = "hub-stories-secret-key";

/// A free loopback port for the hub, so the emulator can be told where to post first.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An emulator posting callbacks to a hub that drives the emulator's Cloud API.
async fn hub_and_emulator(
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

/// Starts a Chinese call through the emulator's Cloud API; answers its TaskId.
async fn start_call(emulator: &emulator::RunningEmulator, room: &str, llm: Value) -> String {
    let client = trtc::client::Client::new(
        trtc::client::ClientConfig::new(Credentials::new(SECRET_ID, SECRET_KEY).unwrap(), "ap-guangzhou")
            .with_endpoint(trtc::client::Endpoint::Url(emulator.base_url.clone())),
    )
    .unwrap();
    let start: trtc::model::StartAIConversation = serde_json::from_value(json!({
        "SdkAppId": APP, "RoomId": room,
        "AgentConfig": {"UserId": "robot_1", "UserSig": "x", "TargetUserId": "customer_1",
                        "WelcomeMessage": "您好，请问有什么可以帮您？", "MaxIdleTime": 5},
        "STTConfig": {"Language": "zh"},
        "LLMConfig": llm.to_string(),
        "TTSConfig": "{\"TTSType\":\"flow\",\"VoiceId\":\"female-kefu-xiaomei\",\"Model\":\"flow_01_turbo\"}"
    }))
    .unwrap();
    client.start_ai_conversation(&start).await.unwrap().task_id.unwrap()
}

/// Reads `ws` until `done` says so or `limit` passes; answers the events seen.
async fn events_until(ws: &mut Ws, limit: Duration, mut done: impl FnMut(&Value) -> bool) -> Vec<Value> {
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

fn is_stop_of(event: &Value, task: &str) -> bool {
    event["call"]["task"] == task && event["body"]["kind"] == "task_stopped"
}

#[tokio::test]
async fn a_full_emulated_call_arrives_complete_and_ordered_on_two_stream_clients() {
    let (hub, emulator) = hub_and_emulator(25.0, |_, _| {}).await;
    let mut first = connect(&hub, 0, &hub.viewer).await;
    let mut second = connect(&hub, 0, &hub.supervisor).await;
    let llm = json!({"LLMType": "openai", "Model": "m", "APIKey": "k", "APIUrl": format!("{}/v1/chat/completions", emulator.base_url)});
    let task = start_call(&emulator, "9101", llm).await;
    let a = events_until(&mut first, Duration::from_secs(90), |e| is_stop_of(e, &task)).await;
    let b = events_until(&mut second, Duration::from_secs(30), |e| is_stop_of(e, &task)).await;
    assert_eq!(a, b, "both consoles see the same events");
    let seqs: Vec<u64> = a.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "in order, no gap, no repeat");
    // Complete: every callback the emulator delivered is in the log (the stream reached
    // 902, which the emulator sends last of the AI events; room events of the call may
    // still be coming, so compare with what the hub stored when the emulator is quiet).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats = emulator.callback_stats.clone().unwrap();
    let metrics = hub.http.get(hub.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let accepted = metrics
        .lines()
        .find_map(|line| line.strip_prefix("switchboard_hub_callbacks_total{outcome=\"accepted\"} "))
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert_eq!(accepted, stats.snapshot().delivered, "every delivered callback was accepted once");
    assert!(
        metrics.contains("switchboard_hub_callbacks_rejected_total") && !metrics.contains("reason="),
        "none refused:\n{metrics}"
    );
    let call = hub.get_json(&format!("/v1/calls/{task}"), &hub.viewer).await;
    assert!(call["summary"]["counts"]["turns"].as_u64().unwrap() >= 3, "{}", call["summary"]);
    assert_eq!(call["summary"]["live"], false);
    hub.hub.stop().await;
    emulator.stop();
}

#[tokio::test]
async fn say_and_stop_go_through_the_cloud_api_and_are_seen_spoken_and_done() {
    let (hub, emulator) = hub_and_emulator(10.0, |_, _| {}).await;
    let mut console = connect(&hub, 0, &hub.viewer).await;
    let llm = json!({"LLMType": "openai", "Model": "m", "APIKey": "k", "APIUrl": format!("{}/v1/chat/completions", emulator.base_url)});
    let task = start_call(&emulator, "9102", llm).await;
    // Wait until the hub knows the call (901).
    events_until(&mut console, Duration::from_secs(30), |e| {
        e["call"]["task"] == task && e["body"]["kind"] == "task_started"
    })
    .await;
    let line = "请稍等，我帮您查一下订单。";
    let (status, answer) =
        hub.command(&task, &hub.supervisor, "say-1", json!({"action": "say", "text": line, "mode": "now"})).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["stage"], "accepted");
    let command_id = answer["command_id"].as_str().unwrap().to_owned();
    let stages_of = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["body"]["kind"] == "command" && e["body"]["id"] == command_id.as_str())
            .map(|e| e["body"]["stage"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut seen = Vec::new();
    let spoken = events_until(&mut console, Duration::from_secs(60), |e| {
        seen.push(e.clone());
        stages_of(&seen).contains(&"done".to_owned())
    })
    .await;
    assert!(
        spoken.iter().any(|e| e["body"]["kind"] == "sentence" && e["body"]["text"] == line),
        "the robot said the line"
    );
    assert_eq!(stages_of(&seen), ["requested", "accepted", "done"], "every console sees the command's lifecycle");

    let (status, answer) = hub.command(&task, &hub.supervisor, "stop-1", json!({"action": "stop"})).await;
    assert_eq!(status, 202, "{answer}");
    let stop_id = answer["command_id"].as_str().unwrap().to_owned();
    let after = events_until(&mut console, Duration::from_secs(30), |e| {
        e["body"]["kind"] == "command" && e["body"]["id"] == stop_id.as_str() && e["body"]["stage"] == "done"
    })
    .await;
    assert!(after.iter().any(|e| is_stop_of(e, &task) && e["body"]["leave_code"] == 0), "902 LeaveCode 0 came");
    // The audit trail has both, with the outcome.
    let audit = hub.get_json(&format!("/v1/audit?call={task}"), &hub.viewer).await;
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"say") && actions.contains(&"stop"), "{actions:?}");
    // A stop of a stopped call fails with Tencent's error, named.
    let (status, answer) = hub.command(&task, &hub.supervisor, "stop-2", json!({"action": "stop"})).await;
    assert_eq!(status, 502, "{answer}");
    assert!(
        answer["error"]["message"].as_str().unwrap().contains("ResourceNotFound")
            || answer["error"]["message"].as_str().unwrap().contains("FailedOperation"),
        "{answer}"
    );
    hub.hub.stop().await;
    emulator.stop();
}
