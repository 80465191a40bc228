//! Take-over and hand-back end to end, every piece real and on loopback: the emulator's
//! robot asks the hub's LLM gateway for its replies (`LLMConfig.APIUrl` is the hub's
//! `/v1/llm/chat/completions`, `APIKey` the gateway key); the gateway's upstream is the
//! emulator's own scripted LLM, reached through a recording relay (that endpoint answers
//! but keeps no record of what it was asked, and what it was asked is the point here); the
//! emulator's callbacks go to the hub; a lead drives the call through the hub's REST API
//! and a console watches the hub's stream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use hub::LlmGatewayConfig;
use serde_json::{json, Value};
use support::emulated::{events_until, hub_and_emulator, is_final_sentence_of, is_stop_of, start_call, WELCOME};
use support::{connect, TestHub, CUSTOMER, ROBOT};

const GATEWAY_KEY: &str = "take-over-gateway-key";
const UPSTREAM_KEY: &str = "take-over-upstream-key";
/// What the lead types: no scripted line of the emulator says this.
const LEAD_LINE: &str = "您好，我是值班主管李娜，这个问题由我亲自为您处理。";
/// The emulator's speed. Its robot gives up on the LLM after `Timeout` / speed wall
/// seconds: 30 s / 4 = 7.5 s, above the gateway's 2.5 s wait for a human reply.
const SPEED: f64 = 4.0;
/// The longest any step of the call may take (a few seconds each at this speed).
const STEP: Duration = Duration::from_secs(30);

/// The relay between the hub's gateway and the emulator's scripted LLM: forwards each
/// request as it came (bearer, `X-*` headers, body) and streams the answer back as it
/// arrives, keeping the request bodies it passed on.
#[derive(Debug, Clone)]
struct Tap {
    url: String,
    target: Arc<OnceLock<String>>,
    seen: Arc<Mutex<Vec<Value>>>,
    http: reqwest::Client,
}

impl Tap {
    async fn start() -> Tap {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tap = Tap {
            url: format!("http://{}/v1/chat/completions", listener.local_addr().unwrap()),
            target: Arc::default(),
            seen: Arc::default(),
            http: reqwest::Client::new(),
        };
        let app = Router::new().route("/v1/chat/completions", post(relay)).with_state(tap.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        tap
    }

    fn forward_to(&self, url: String) {
        self.target.set(url).unwrap();
    }

    /// The bodies of the requests the upstream received, in order.
    fn seen(&self) -> Vec<Value> {
        self.seen.lock().unwrap().clone()
    }
}

async fn relay(State(tap): State<Tap>, headers: HeaderMap, body: Bytes) -> Response {
    tap.seen.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
    let mut request = tap.http.post(tap.target.get().unwrap()).body(body);
    for (name, value) in &headers {
        let wanted = [header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT].contains(name)
            || name.as_str().starts_with("x-");
        if wanted {
            request = request.header(name, value);
        }
    }
    let upstream = request.send().await.unwrap();
    let status = upstream.status();
    let content_type = upstream.headers().get(header::CONTENT_TYPE).cloned();
    let chunks = futures_util::stream::unfold(upstream, |mut upstream| async move {
        upstream.chunk().await.transpose().map(|chunk| (chunk, upstream))
    });
    let mut answer = Response::new(Body::from_stream(chunks));
    *answer.status_mut() = status;
    if let Some(content_type) = content_type {
        answer.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    answer
}

/// `POST /v1/calls/{task}/lock` as `token`.
async fn lock(hub: &TestHub, task: &str, token: &str, action: &str) -> (u16, Value) {
    let response = hub
        .http
        .post(hub.url(&format!("/v1/calls/{task}/lock")))
        .bearer_auth(token)
        .json(&json!({ "action": action }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// Polls `/metrics` until the gauge `name` reads `value`.
async fn wait_for_gauge(hub: &TestHub, name: &str, value: u64) {
    let deadline = Instant::now() + STEP;
    let mut last = None;
    while Instant::now() < deadline {
        let text = hub.http.get(hub.url("/metrics")).send().await.unwrap().text().await.unwrap();
        last = text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse::<u64>().ok());
        if last == Some(value) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{name} should have reached {value} within {STEP:?}; last read {last:?}");
}

/// Polls the call's snapshot until `find` picks something out of it.
async fn snapshot_until<T>(hub: &TestHub, task: &str, what: &str, find: impl Fn(&Value) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let call = hub.get_json(&format!("/v1/calls/{task}"), &hub.viewer).await;
        if let Some(found) = find(&call) {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} never showed in the call's snapshot: {call}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The call's gateway exchange that `wanted` accepts.
async fn exchange(hub: &TestHub, task: &str, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    snapshot_until(hub, task, what, |call| {
        call["call"]["oversight"]["exchanges"]
            .as_array()?
            .iter()
            .map(|stamped| &stamped["value"])
            .find(|e| wanted(e))
            .cloned()
    })
    .await
}

/// The latest stage of command `id`, once it is `stage`.
async fn command_reaches(hub: &TestHub, task: &str, id: &str, stage: &str) {
    snapshot_until(hub, task, &format!("command {id} {stage}"), |call| {
        let command = call["commands"].as_array()?.iter().find(|command| command["value"]["id"] == id)?;
        (command["value"]["stage"] == stage).then_some(())
    })
    .await;
}

fn text(event: &Value) -> &str {
    event["body"]["text"].as_str().unwrap_or_default()
}

/// A request's messages as (role, text).
fn messages(body: &Value) -> Vec<(String, String)> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["role"].as_str().unwrap().to_owned(), m["content"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_lead_takes_over_the_robot_speaks_the_leads_words_and_after_hand_back_the_ai_continues_without_greeting() {
    let tap = Tap::start().await;
    let (hub, emulator) = hub_and_emulator(SPEED, |config, emulator_url| {
        tap.forward_to(format!("{emulator_url}{}", emulator::llm_endpoint::PATH));
        config.llm = LlmGatewayConfig {
            upstream_url: Some(tap.url.clone()),
            upstream_key: Some(UPSTREAM_KEY.into()),
            gateway_key: Some(GATEWAY_KEY.into()),
        };
    })
    .await;
    let mut console = connect(&hub, 0, &hub.viewer).await;
    let llm = json!({
        "LLMType": "openai", "Model": "gpt-test", "APIKey": GATEWAY_KEY,
        "APIUrl": hub.url("/v1/llm/chat/completions"), "Streaming": true, "Timeout": 30,
    });
    let task = start_call(&emulator, "9201", llm).await;
    events_until(&mut console, STEP, |e| e["call"]["task"] == task && e["body"]["kind"] == "task_started").await;

    // A lead takes the call's lock, then the call.
    assert_eq!(lock(&hub, &task, &hub.lead, "take").await, (200, json!({ "holder": "li" })));
    let (status, taken) = hub.command(&task, &hub.lead, "take-1", json!({"action": "take_over"})).await;
    assert_eq!((status, taken["stage"].as_str()), (202, Some("done")), "{taken}");

    // The customer speaks; the robot's request for a reply waits at the gateway.
    let heard = events_until(&mut console, STEP, |e| is_final_sentence_of(e, &task, CUSTOMER)).await;
    let customer_line = text(heard.last().unwrap()).to_owned();
    let robot_before: Vec<&str> = heard.iter().filter(|e| is_final_sentence_of(e, &task, ROBOT)).map(text).collect();
    assert_eq!(robot_before, [WELCOME], "only the welcome line comes before the customer's first sentence");
    wait_for_gauge(&hub, "switchboard_hub_gateway_waiting_for_human", 1).await;

    // The lead answers; the robot says exactly that, next.
    let (status, replied) =
        hub.command(&task, &hub.lead, "reply-1", json!({"action": "reply", "text": LEAD_LINE})).await;
    assert_eq!((status, replied["stage"].as_str()), (202, Some("accepted")), "{replied}");
    let reply_id = replied["command_id"].as_str().unwrap().to_owned();
    let spoken = events_until(&mut console, STEP, |e| is_final_sentence_of(e, &task, ROBOT)).await;
    assert_eq!(text(spoken.last().unwrap()), LEAD_LINE, "the robot's next sentence is the lead's, word for word");
    let summary = snapshot_until(&hub, &task, "the lead's line as the robot's", |call| {
        (call["summary"]["last_robot_sentence"] == LEAD_LINE).then(|| call["summary"].clone())
    })
    .await;
    assert_eq!(summary["taken_over_by"], "li", "{summary}");
    let human = exchange(&hub, &task, "the human exchange", |e| e["author"] == "human").await;
    assert_eq!(human["prompt"], customer_line.as_str(), "the exchange holds what the customer said: {human}");
    assert_eq!(human["reply"], LEAD_LINE, "{human}");
    command_reaches(&hub, &task, &reply_id, "done").await;
    assert!(tap.seen().is_empty(), "nothing of a taken-over call reaches the AI: {:?}", tap.seen());
    wait_for_gauge(&hub, "switchboard_hub_gateway_waiting_for_human", 0).await;

    // Hand-back: the next reply is the AI's again.
    let (status, back) = hub.command(&task, &hub.lead, "back-1", json!({"action": "hand_back"})).await;
    assert_eq!((status, back["stage"].as_str()), (202, Some("done")), "{back}");
    let after = events_until(&mut console, STEP, |e| is_final_sentence_of(e, &task, ROBOT)).await;
    assert!(
        after.iter().any(|e| e["body"]["kind"] == "lock_changed" && e["body"]["holder"].is_null()),
        "hand-back releases the lock"
    );
    let ai_line = text(after.last().unwrap()).to_owned();
    assert!(!ai_line.is_empty(), "the robot answered");
    assert_ne!(ai_line, LEAD_LINE, "after hand-back the lead's words are not repeated");
    assert_ne!(ai_line, WELCOME, "the robot does not greet again");
    let ai = exchange(&hub, &task, "the AI's exchange", |e| e["author"] == "ai").await;
    assert_eq!(ai["reply"], ai_line.as_str(), "the robot said what the upstream LLM answered: {ai}");

    // What the upstream was asked: the human turns it never saw, and the note, before the
    // customer's new line.
    let seen = tap.seen();
    let first = messages(&seen[0]);
    let count = |role: &str, content: &str| first.iter().filter(|(r, c)| r == role && c == content).count();
    assert_eq!(count("user", &customer_line), 1, "the customer's line from the taken-over turn: {first:?}");
    assert_eq!(count("assistant", LEAD_LINE), 1, "the lead's answer, as the assistant's: {first:?}");
    let note = first
        .iter()
        .position(|(role, content)| role == "system" && content.contains("do not greet"))
        .unwrap_or_else(|| panic!("the hand-back note: {first:?}"));
    let lead_at = first.iter().position(|(role, content)| role == "assistant" && content == LEAD_LINE).unwrap();
    assert!(lead_at < note && note + 1 == first.len() - 1, "segment, note, then the new line: {first:?}");
    let (role, asked) = first.last().unwrap();
    assert_eq!(role, "user");
    assert_ne!(asked, &customer_line, "the request is about the customer's next line");
    assert!(
        seen[1..].iter().all(|body| messages(body).iter().all(|(_, content)| content != LEAD_LINE)),
        "the human turns go into one request only: {seen:?}"
    );

    // The call ends; the robot never greeted again.
    let (status, stopped) = hub.command(&task, &hub.supervisor, "stop-1", json!({"action": "stop"})).await;
    assert_eq!(status, 202, "{stopped}");
    let rest = events_until(&mut console, STEP, |e| is_stop_of(e, &task)).await;
    let greetings = after.iter().chain(&rest).filter(|e| is_final_sentence_of(e, &task, ROBOT) && text(e) == WELCOME);
    assert_eq!(greetings.count(), 0, "no second welcome after hand-back");
    hub.hub.stop().await;
    emulator.stop();
}
