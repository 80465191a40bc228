//! Stories across the emulator and the hub, both real, talking HTTP and WebSocket on
//! loopback: the emulator posts signed callbacks to the hub's ingest; the hub drives the
//! emulator's Cloud API with the `trtc` client; consoles are WebSocket clients of the hub.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::connect;
use support::emulated::{events_until, hub_and_emulator, is_stop_of, start_call};

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
