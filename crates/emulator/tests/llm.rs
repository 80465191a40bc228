//! The robot's LLM leg against a real HTTP endpoint: a small OpenAI-compatible server on
//! loopback, made here, records every request it gets and answers as each story asks.
//! Calls are started through our `trtc` client; callbacks come to the signed receiver of
//! `support`, room messages off the emulator's outputs (what the room link forwards).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use emulator::{outputs::RoomMessage, CloudConfig, EmulatorConfig, RunningEmulator};
use serde_json::{json, Value};
use support::Received;
use tokio::sync::broadcast;

const APP: u64 = 1_400_000_000;
const CALLBACK_KEY: &str = "LlmStoryKey1";
/// Ten times real time: a call's first reply is a second or two of wall time away.
const SPEED: f64 = 10.0;
const DISTINCTIVE: &str = "蓝鲸七号工单已为您加急，请放心。";

/// One request the test LLM got.
#[derive(Debug, Clone)]
struct Got {
    headers: HeaderMap,
    body: Value,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn messages(&self) -> &Vec<Value> {
        self.body["messages"].as_array().expect("messages is an array")
    }

    fn last_user(&self) -> &str {
        let last = self.messages().last().expect("at least one message");
        assert_eq!(last["role"], "user", "the last message is the user's: {}", self.body);
        last["content"].as_str().unwrap()
    }
}

/// How the test LLM answers.
#[derive(Debug, Clone)]
struct Behaviour {
    text: String,
    /// Wall time before anything is sent.
    delay: Duration,
    status: StatusCode,
    meta: Option<Value>,
}

#[derive(Debug)]
struct TestLlm {
    got: Mutex<Vec<Got>>,
    behaviour: Mutex<Behaviour>,
}

impl TestLlm {
    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// A chat-completions endpoint on loopback; answers `(url, state)`.
async fn test_llm(behaviour: Behaviour) -> (String, Arc<TestLlm>) {
    let state = Arc::new(TestLlm { got: Mutex::new(Vec::new()), behaviour: Mutex::new(behaviour) });
    let app = Router::new().route("/v1/chat/completions", post(answer)).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/chat/completions", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

async fn answer(State(llm): State<Arc<TestLlm>>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).expect("the robot sends JSON");
    let stream = body["stream"].as_bool().unwrap_or(false);
    llm.got.lock().unwrap().push(Got { headers, body });
    let behaviour = llm.behaviour.lock().unwrap().clone();
    tokio::time::sleep(behaviour.delay).await;
    if !behaviour.status.is_success() {
        let error = json!({"error": {"message": "slow down, test limit", "type": "requests"}});
        return (behaviour.status, [("content-type", "application/json")], error.to_string()).into_response();
    }
    if !stream {
        let whole = json!({"id": "c1", "object": "chat.completion",
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": behaviour.text}}]});
        return ([("content-type", "application/json")], whole.to_string()).into_response();
    }
    let chars: Vec<char> = behaviour.text.chars().collect();
    let mut sse = String::new();
    for (index, piece) in chars.chunks(3).enumerate() {
        let piece: String = piece.iter().collect();
        let chunk = json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": piece}}]});
        sse.push_str(&format!("data: {chunk}\n\n"));
        if let (0, Some(meta)) = (index, &behaviour.meta) {
            let line = json!({"id": "c1", "type": "meta.info", "created": 1, "metainfo": meta});
            sse.push_str(&format!("data: {line}\n\n"));
        }
    }
    sse.push_str("data: [DONE]\n\n");
    ([("content-type", "text/event-stream")], sse).into_response()
}

fn speaking(text: &str) -> Behaviour {
    Behaviour { text: text.to_owned(), delay: Duration::ZERO, status: StatusCode::OK, meta: None }
}

async fn emulator() -> (RunningEmulator, trtc::client::Client, Arc<Mutex<Received>>) {
    let (url, received) = support::receiver(CALLBACK_KEY, APP).await;
    let cloud = CloudConfig {
        sdk_app_id: APP,
        keys: vec![("AKIDllmstory".into(), "llm-story-key".into())],
        sdk_secret_key: None,
        rate_limit: 50,
        clock_offset_secs: 0,
    };
    let config = EmulatorConfig {
        callback_url: Some(url),
        callback_key: CALLBACK_KEY.into(),
        speed: SPEED,
        seed: 21,
        ..EmulatorConfig::new(cloud)
    };
    let running = emulator::start_emulator(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = support::client(&running.base_url, "AKIDllmstory", "llm-story-key");
    (running, client, received)
}

fn llm_config(url: &str, streaming: bool) -> Value {
    json!({"LLMType": "openai", "Model": "switchboard-test-model", "APIKey": "sk-test-123", "APIUrl": url,
           "Streaming": streaming, "SystemPrompt": "你是测试客服，回答要简短。"})
}

async fn wait_for<T>(what: &str, limit: Duration, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn callbacks_of(received: &Arc<Mutex<Received>>, task: &str, event_type: u64) -> Vec<Value> {
    received
        .lock()
        .unwrap()
        .callbacks
        .iter()
        .map(|c| c.raw.clone())
        .filter(|raw| raw["EventType"] == event_type && raw["EventInfo"]["TaskId"] == task)
        .collect()
}

fn payload(raw: &Value) -> &Value {
    &raw["EventInfo"]["Payload"]
}

/// The robot's 903 saying `text`.
fn robot_said(received: &Arc<Mutex<Received>>, task: &str, robot: &str, text: &str) -> Option<Value> {
    callbacks_of(received, task, 903)
        .into_iter()
        .find(|raw| payload(raw)["UserId"] == robot && payload(raw)["Text"] == text)
}

/// Room messages so far.
fn drain(rooms: &mut broadcast::Receiver<RoomMessage>, into: &mut Vec<Value>) {
    while let Ok(message) = rooms.try_recv() {
        into.push(message.message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_robot_asks_the_configured_llm_as_trtc_does_and_says_exactly_its_answer() {
    let meta = json!({"intent": "expedite", "ticket": "BW-7"});
    let behaviour = Behaviour { delay: Duration::from_millis(150), meta: Some(meta.clone()), ..speaking(DISTINCTIVE) };
    let (url, llm) = test_llm(behaviour).await;
    let (running, client, received) = emulator().await;
    let mut rooms = running.outputs.subscribe_rooms();
    let task =
        support::start_zh_call_with_llm(&client, APP, "660101", "ai_robot_l1", "customer_l1", &llm_config(&url, true))
            .await;

    let said = wait_for("the robot to say the LLM's answer", Duration::from_secs(30), || {
        robot_said(&received, &task, "ai_robot_l1", DISTINCTIVE)
    })
    .await;
    let round = payload(&said)["RoundId"].as_str().unwrap().to_owned();
    let asked = callbacks_of(&received, &task, 903)
        .into_iter()
        .find(|raw| payload(raw)["UserId"] == "customer_l1" && payload(raw)["RoundId"] == round.as_str())
        .expect("the customer's sentence of that round");
    let sentence = payload(&asked)["Text"].as_str().unwrap().to_owned();

    let got = llm.got();
    let request = got.iter().find(|g| g.last_user() == sentence).unwrap_or_else(|| {
        panic!(
            "a request whose last user message is the customer's {sentence:?}; got {:?}",
            got.iter().map(|g| &g.body).collect::<Vec<_>>()
        )
    });
    assert_eq!(request.header("authorization"), Some("Bearer sk-test-123"));
    assert_eq!(request.header("x-task-id"), Some(task.as_str()));
    assert!(request.header("x-request-id").is_some_and(|id| !id.is_empty()), "a request id");
    assert_eq!(request.header("x-sdk-app-id"), Some("1400000000"));
    assert_eq!(request.header("x-user-id"), Some("customer_l1"), "the customer's user id");
    assert_eq!(request.header("x-room-id"), Some("660101"));
    assert_eq!(request.header("x-room-id-type"), Some("0"));
    assert_eq!(request.header("x-invoke-llm"), None, "only InvokeLLM is marked");
    assert_eq!(request.body["model"], "switchboard-test-model");
    assert_eq!(request.body["stream"], true);
    assert_eq!(request.messages()[0], json!({"role": "system", "content": "你是测试客服，回答要简短。"}));
    assert_eq!(request.messages().len(), 2, "History 0: the system prompt and the current sentence only");
    let ids: std::collections::BTreeSet<_> =
        got.iter().filter_map(|g| g.header("x-request-id").map(str::to_owned)).collect();
    assert_eq!(ids.len(), got.len(), "every request has its own X-Request-Id");

    // 905 and the room messages come a little after the 903.
    wait_for("905 of the round", Duration::from_secs(20), || {
        callbacks_of(&received, &task, 905).into_iter().find(|raw| payload(raw)["RoundId"] == round.as_str())
    })
    .await;
    let mut messages = Vec::new();
    drain(&mut rooms, &mut messages);
    let robot_subtitles: Vec<&str> = messages
        .iter()
        .filter(|m| m["type"] == 10000 && m["sender"] == "ai_robot_l1" && m["payload"]["roundid"] == round.as_str())
        .filter_map(|m| m["payload"]["text"].as_str())
        .filter(|text| !text.is_empty())
        .collect();
    assert_eq!(
        robot_subtitles.last(),
        Some(&DISTINCTIVE),
        "the subtitles end with exactly the answer: {robot_subtitles:?}"
    );
    let meta_messages: Vec<&Value> =
        messages.iter().filter(|m| m["type"] == 10002 && m["roundid"] == round.as_str()).collect();
    assert_eq!(meta_messages.len(), 1, "one 10002 for the meta.info line");
    assert_eq!(meta_messages[0]["payload"], meta);
    assert_eq!(meta_messages[0]["sender"], "ai_robot_l1");
    assert!(!robot_subtitles.iter().any(|text| text.contains("expedite")), "meta.info is never spoken");

    let metric = |name: &str| {
        callbacks_of(&received, &task, 906)
            .into_iter()
            .find(|raw| payload(raw)["Metric"] == name && payload(raw)["Tag"]["RoundId"] == round.as_str())
            .and_then(|raw| payload(&raw)["Value"].as_u64())
            .unwrap_or_else(|| panic!("no {name} for {round}"))
    };
    let first_token = metric("llm_first_token");
    let network = metric("llm_network_latency");
    // 150 ms of wall time at speed 10 is at least 1,500 emulated ms.
    assert!(first_token >= 1_500, "llm_first_token {first_token} reflects the LLM's 150 ms wall delay × 10");
    assert!(network <= first_token, "the network latency {network} is part of the first token {first_token}");
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_json_answer_is_spoken_too() {
    let (url, llm) = test_llm(speaking("This is the whole answer, said at once.")).await;
    let (running, client, received) = emulator().await;
    let task =
        support::start_zh_call_with_llm(&client, APP, "660102", "ai_robot_l2", "customer_l2", &llm_config(&url, false))
            .await;
    wait_for("the robot to say the JSON answer", Duration::from_secs(30), || {
        robot_said(&received, &task, "ai_robot_l2", "This is the whole answer, said at once.")
    })
    .await;
    assert!(llm.got().iter().all(|g| g.body["stream"] == false), "Streaming false asks for a whole answer");
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_llm_gives_908_llm_error_30201_and_no_reply() {
    let (url, llm) = test_llm(Behaviour { status: StatusCode::TOO_MANY_REQUESTS, ..speaking("never said") }).await;
    let (running, client, received) = emulator().await;
    let task =
        support::start_zh_call_with_llm(&client, APP, "660103", "ai_robot_l3", "customer_l3", &llm_config(&url, true))
            .await;
    let failed = wait_for("908 llm_error", Duration::from_secs(30), || {
        callbacks_of(&received, &task, 908).into_iter().find(|raw| payload(raw)["Metric"] == "llm_error")
    })
    .await;
    assert_eq!(payload(&failed)["Tag"]["Code"], 30201, "{failed}");
    let message = payload(&failed)["Tag"]["Message"].as_str().unwrap();
    assert!(
        message.contains("429") && message.contains("slow down, test limit"),
        "the LLM's answer is quoted: {message}"
    );
    assert!(!llm.got().is_empty());
    assert!(robot_said(&received, &task, "ai_robot_l3", "never said").is_none());
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_llm_is_marked_with_x_invoke_llm_and_its_answer_is_spoken() {
    let (url, llm) = test_llm(speaking("好的，退款已批准，三个工作日内到账。")).await;
    let (running, client, received) = emulator().await;
    let task =
        support::start_zh_call_with_llm(&client, APP, "660104", "ai_robot_l4", "customer_l4", &llm_config(&url, true))
            .await;
    wait_for("909", Duration::from_secs(10), || callbacks_of(&received, &task, 909).into_iter().next()).await;
    let control: trtc::model::ControlAIConversation = serde_json::from_value(json!({
        "TaskId": task, "Command": "InvokeLLM",
        "InvokeLLM": {"Content": "告诉客户退款已批准", "Interrupt": true}
    }))
    .unwrap();
    client.control_ai_conversation(&control).await.unwrap();
    let invoked = wait_for("a request marked X-Invoke-LLM", Duration::from_secs(10), || {
        llm.got().into_iter().find(|g| g.header("x-invoke-llm") == Some("1"))
    })
    .await;
    assert_eq!(invoked.last_user(), "告诉客户退款已批准");
    assert_eq!(invoked.header("x-task-id"), Some(task.as_str()));
    wait_for("the robot to say the invoked answer", Duration::from_secs(20), || {
        robot_said(&received, &task, "ai_robot_l4", "好的，退款已批准，三个工作日内到账。")
    })
    .await;
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_llm_falls_back_to_the_script() {
    let (running, client, received) = emulator().await;
    let llm = llm_config("http://127.0.0.1:9/v1/chat/completions", true);
    let task = support::start_zh_call_with_llm(&client, APP, "660105", "ai_robot_l5", "customer_l5", &llm).await;
    let answered = wait_for("a scripted reply to the customer", Duration::from_secs(30), || {
        let sentences = callbacks_of(&received, &task, 903);
        let customer_rounds: Vec<&Value> = sentences
            .iter()
            .filter(|raw| payload(raw)["UserId"] == "customer_l5")
            .map(|raw| &payload(raw)["RoundId"])
            .collect();
        sentences
            .iter()
            .find(|raw| payload(raw)["UserId"] == "ai_robot_l5" && customer_rounds.contains(&&payload(raw)["RoundId"]))
            .cloned()
    })
    .await;
    let text = payload(&answered)["Text"].as_str().unwrap();
    assert!(text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "a scripted Chinese reply: {text}");
    let llm_errors =
        callbacks_of(&received, &task, 908).into_iter().filter(|raw| payload(raw)["Metric"] == "llm_error").count();
    assert_eq!(llm_errors, 0, "nothing listening is not an LLM failure: the script answers");
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_update_the_next_request_goes_to_the_new_url_with_the_new_prompt() {
    let (first_url, first) = test_llm(speaking("第一个模型的回答。")).await;
    let (second_url, second) = test_llm(speaking("第二个模型的回答。")).await;
    let (running, client, received) = emulator().await;
    let task = support::start_zh_call_with_llm(
        &client,
        APP,
        "660106",
        "ai_robot_l6",
        "customer_l6",
        &llm_config(&first_url, true),
    )
    .await;
    wait_for("the first model's answer", Duration::from_secs(30), || {
        robot_said(&received, &task, "ai_robot_l6", "第一个模型的回答。")
    })
    .await;
    let mut updated = llm_config(&second_url, true);
    updated["SystemPrompt"] = json!("你是更新后的客服。");
    updated["Model"] = json!("updated-model");
    let update: trtc::model::UpdateAIConversation =
        serde_json::from_value(json!({"TaskId": task, "LLMConfig": updated.to_string()})).unwrap();
    client.update_ai_conversation(&update).await.unwrap();
    let before = first.got().len();
    let request =
        wait_for("a request to the new URL", Duration::from_secs(30), || second.got().into_iter().next()).await;
    assert_eq!(request.messages()[0], json!({"role": "system", "content": "你是更新后的客服。"}));
    assert_eq!(request.body["model"], "updated-model");
    assert_eq!(request.header("x-task-id"), Some(task.as_str()));
    assert_eq!(first.got().len(), before, "the old URL gets nothing after the update");
    wait_for("the second model's answer", Duration::from_secs(20), || {
        robot_said(&received, &task, "ai_robot_l6", "第二个模型的回答。")
    })
    .await;
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_shows_idle_then_preparing_then_in_progress() {
    let (url, _llm) = test_llm(speaking("好的。")).await;
    let cloud = CloudConfig {
        sdk_app_id: APP,
        keys: vec![("AKIDllmstory".into(), "llm-story-key".into())],
        sdk_secret_key: None,
        rate_limit: 200,
        clock_offset_secs: 0,
    };
    // Real time: the robot's start-up lasts 300–800 ms.
    let running = emulator::start_emulator(EmulatorConfig::new(cloud), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = support::client(&running.base_url, "AKIDllmstory", "llm-story-key");
    let task =
        support::start_zh_call_with_llm(&client, APP, "660107", "ai_robot_l7", "customer_l7", &llm_config(&url, true))
            .await;
    let describe: trtc::model::DescribeAIConversation = serde_json::from_value(json!({"TaskId": task})).unwrap();
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.last().map(String::as_str) != Some("InProgress") {
        assert!(Instant::now() < deadline, "no InProgress within 5 s; saw {seen:?}");
        let status = client.describe_ai_conversation(&describe).await.unwrap().status.unwrap();
        let status = serde_json::to_value(&status).unwrap().as_str().unwrap().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, ["Idle", "Preparing", "InProgress"], "the contract's order, each seen");
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_answer_is_silence_not_an_error() {
    let (url, llm) = test_llm(speaking("")).await;
    let (running, client, received) = emulator().await;
    let task =
        support::start_zh_call_with_llm(&client, APP, "660108", "ai_robot_l8", "customer_l8", &llm_config(&url, true))
            .await;
    wait_for("two requests (the customer went on)", Duration::from_secs(30), || (llm.got().len() >= 2).then_some(()))
        .await;
    let robot_lines =
        callbacks_of(&received, &task, 903).into_iter().filter(|raw| payload(raw)["UserId"] == "ai_robot_l8").count();
    assert_eq!(robot_lines, 1, "only the welcome line is said");
    let llm_errors =
        callbacks_of(&received, &task, 908).into_iter().filter(|raw| payload(raw)["Metric"] == "llm_error").count();
    assert_eq!(llm_errors, 0, "nothing to say is not a failure");
    running.stop();
}
