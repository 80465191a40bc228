//! The emulator's own OpenAI-compatible endpoint over real HTTP: `POST /v1/chat/completions`
//! beside the Cloud API, streamed and whole answers, the bearer token it needs, the LLM
//! failures it injects — and a call whose robot uses it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use emulator::{CloudConfig, EmulatorConfig, ErrorRates, RunningEmulator};
use serde_json::{json, Value};

const APP: u64 = 1_400_000_000;
/// A hundred times real time: an answer takes a few ms, an injected stall 600 ms.
const SPEED: f64 = 100.0;
const BILLING: &str = "Why is my bill 80 dollars higher this month?";
const BILLING_REPLY: &str = "Let me pull up your billing details. One moment, please.";

async fn emulator(llm_error_rate: f64, callback_url: Option<String>) -> RunningEmulator {
    let cloud = CloudConfig {
        sdk_app_id: APP,
        keys: vec![("AKIDendpoint".into(), "endpoint-key".into())],
        sdk_secret_key: None,
        rate_limit: 50,
        clock_offset_secs: 0,
    };
    let config = EmulatorConfig {
        speed: SPEED,
        seed: 5,
        error_rates: ErrorRates { llm: llm_error_rate, ..ErrorRates::default() },
        callback_url,
        callback_key: "EndpointKey1".into(),
        ..EmulatorConfig::new(cloud)
    };
    emulator::start_emulator(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn url(running: &RunningEmulator) -> String {
    format!("{}/v1/chat/completions", running.base_url)
}

fn ask(stream: bool, text: &str) -> Value {
    json!({"model": "gpt-4o-mini", "stream": stream,
           "messages": [{"role": "system", "content": "be kind"}, {"role": "user", "content": text}]})
}

#[tokio::test]
async fn a_request_without_a_bearer_token_gets_401_with_an_openai_error() {
    let running = emulator(0.0, None).await;
    let http = reqwest::Client::new();
    for auth in [None, Some("Basic abc"), Some("Bearer  ")] {
        let mut request = http.post(url(&running)).json(&ask(false, BILLING));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_api_key", "{body}");
    }
    let bad = http.post(url(&running)).bearer_auth("k").body("{}").send().await.unwrap();
    assert_eq!(bad.status(), 400, "no messages");
    running.stop();
}

#[tokio::test]
async fn a_whole_answer_is_the_scripted_robot_line_for_the_last_user_message() {
    let running = emulator(0.0, None).await;
    let response = reqwest::Client::new()
        .post(url(&running))
        .bearer_auth("anything")
        .json(&ask(false, BILLING))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["choices"][0]["message"], json!({"role": "assistant", "content": BILLING_REPLY}));

    let stranger: Value = reqwest::Client::new()
        .post(url(&running))
        .bearer_auth("anything")
        .json(&ask(false, "你们几点下班？"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let generic = stranger["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(generic.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "a generic reply in Chinese: {generic}");

    let invoked: Value = reqwest::Client::new()
        .post(url(&running))
        .bearer_auth("anything")
        .header("x-invoke-llm", "1")
        .json(&ask(false, "Offer a 10% discount"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(invoked["choices"][0]["message"]["content"], "Understood. Offer a 10% discount.");
    running.stop();
}

/// The data lines of a streamed answer, read chunk by chunk as they come.
async fn stream_lines(running: &RunningEmulator, text: &str) -> (Vec<String>, usize) {
    let mut response = reqwest::Client::new()
        .post(url(running))
        .bearer_auth("anything")
        .header("x-task-id", "task-stream")
        .header("x-request-id", "req-1")
        .json(&ask(true, text))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut raw = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        chunks += 1;
        raw.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(raw).unwrap();
    let lines = text.lines().filter_map(|line| line.strip_prefix("data: ")).map(str::to_owned).collect();
    (lines, chunks)
}

#[tokio::test]
async fn a_streamed_answer_comes_in_small_chunks_and_ends_with_done() {
    let running = emulator(0.0, None).await;
    let (lines, chunks) = stream_lines(&running, BILLING).await;
    assert_eq!(lines.last().map(String::as_str), Some("[DONE]"));
    let pieces: Vec<String> = lines
        .iter()
        .filter(|line| *line != "[DONE]")
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .inspect(|chunk| assert_eq!(chunk["object"], "chat.completion.chunk", "{chunk}"))
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str().map(str::to_owned))
        .filter(|piece| !piece.is_empty())
        .collect();
    assert_eq!(pieces.concat(), BILLING_REPLY);
    assert!(pieces.len() >= 5, "a few characters at a time: {pieces:?}");
    assert!(chunks >= 3, "the pieces arrive over time, not in one write ({chunks} reads)");
    assert!(!lines.iter().any(|line| line.contains("meta.info")), "a billing answer has no meta.info");
    running.stop();
}

#[tokio::test]
async fn an_order_status_answer_carries_a_meta_info_line() {
    let running = emulator(0.0, None).await;
    let (lines, _) = stream_lines(&running, "订单号是二零二四一一零八三三七。").await;
    let meta: Vec<Value> = lines
        .iter()
        .filter(|line| *line != "[DONE]")
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|chunk| chunk["type"] == "meta.info")
        .collect();
    assert_eq!(meta.len(), 1, "{lines:?}");
    assert_eq!(meta[0]["metainfo"]["intent"], "order_status");
    running.stop();
}

#[tokio::test]
async fn at_error_rate_1_every_request_fails_as_429_500_or_a_stall() {
    let running = emulator(1.0, None).await;
    let http = reqwest::Client::new();
    let mut seen = BTreeSet::new();
    for n in 0..30 {
        let started = Instant::now();
        let answer = http
            .post(url(&running))
            .bearer_auth("anything")
            .header("x-task-id", "task-fail")
            .header("x-request-id", format!("req-{n}"))
            .timeout(Duration::from_millis(300))
            .json(&ask(false, BILLING))
            .send()
            .await;
        let outcome = match answer {
            Ok(response) => response.status().as_u16().to_string(),
            Err(err) if err.is_timeout() => "stall".to_owned(),
            Err(err) => panic!("request {n}: {err}"),
        };
        assert!(
            ["429", "500", "stall"].contains(&outcome.as_str()),
            "request {n} answered {outcome} after {:?}",
            started.elapsed()
        );
        seen.insert(outcome);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["429", "500", "stall"], "every kind of failure is injected");
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_on_the_failing_endpoint_reports_llm_errors_from_real_http() {
    let (callback_url, received) = support::receiver("EndpointKey1", APP).await;
    let running = emulator(1.0, Some(callback_url)).await;
    let client = support::client(&running.base_url, "AKIDendpoint", "endpoint-key");
    let llm = json!({"LLMType": "openai", "Model": "m", "APIKey": "k", "APIUrl": url(&running), "Streaming": true});
    let task = support::start_zh_call_with_llm(&client, APP, "771101", "ai_robot_e1", "customer_e1", &llm).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let codes = loop {
        let codes: Vec<i64> = received
            .lock()
            .unwrap()
            .callbacks
            .iter()
            .map(|c| &c.raw)
            .filter(|raw| raw["EventType"] == 908 && raw["EventInfo"]["TaskId"] == task.as_str())
            .filter(|raw| raw["EventInfo"]["Payload"]["Metric"] == "llm_error")
            .filter_map(|raw| raw["EventInfo"]["Payload"]["Tag"]["Code"].as_i64())
            .collect();
        if codes.len() >= 3 {
            break codes;
        }
        assert!(Instant::now() < deadline, "three llm errors within 30 s, got {codes:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(codes.iter().all(|code| [30200, 30201, 30202].contains(code)), "{codes:?}");
    let robot_replies = received
        .lock()
        .unwrap()
        .callbacks
        .iter()
        .filter(|c| c.raw["EventType"] == 903 && c.raw["EventInfo"]["TaskId"] == task.as_str())
        .filter(|c| c.raw["EventInfo"]["Payload"]["UserId"] == "ai_robot_e1")
        .count();
    assert_eq!(robot_replies, 1, "only the welcome line: every reply failed at the LLM");
    running.stop();
}
