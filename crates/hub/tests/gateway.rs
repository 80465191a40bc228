//! The hub's LLM gateway as TRTC uses it: a real hub and a fake upstream LLM on loopback,
//! requests sent the way TRTC's AI service sends them (bearer = the call's
//! `LLMConfig.APIKey`, the `X-*` headers, streaming chat completions), and supervisors'
//! whisper / take-over / reply / hand-back commands through the hub's REST API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use support::TestHub;

const GATEWAY_KEY: &str = "gw-key";
const UPSTREAM_KEY: &str = "upstream-key";

/// One request the fake LLM received.
#[derive(Debug, Clone)]
struct Seen {
    headers: HeaderMap,
    body: Value,
}

/// How the fake LLM answers.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    pieces: Vec<String>,
    /// Before every piece but the first.
    gap: Duration,
}

#[derive(Debug, Clone)]
struct FakeLlm {
    seen: Arc<Mutex<Vec<Seen>>>,
    answer: Arc<Mutex<Answer>>,
}

/// An OpenAI-compatible chat-completions server on 127.0.0.1:0 that records requests.
#[derive(Debug)]
struct Upstream {
    url: String,
    state: FakeLlm,
}

impl Upstream {
    async fn start(pieces: &[&str], gap: Duration) -> Upstream {
        let state = FakeLlm {
            seen: Arc::default(),
            answer: Arc::new(Mutex::new(Answer {
                status: 200,
                pieces: pieces.iter().map(|piece| (*piece).to_owned()).collect(),
                gap,
            })),
        };
        let app = Router::new().route("/v1/chat/completions", post(fake_llm)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream { url: format!("http://{addr}/v1/chat/completions"), state }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    fn answer_with_status(&self, status: u16) {
        self.state.answer.lock().unwrap().status = status;
    }
}

async fn fake_llm(State(state): State<FakeLlm>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    state.seen.lock().unwrap().push(Seen { headers, body: body.clone() });
    let answer = state.answer.lock().unwrap().clone();
    if answer.status != 200 {
        let status = StatusCode::from_u16(answer.status).unwrap();
        let error =
            json!({ "error": { "message": "slow down", "type": "rate_limit_error", "code": "upstream_says_no" } });
        return (status, Json(error)).into_response();
    }
    let text: String = answer.pieces.concat();
    if body["stream"] != json!(true) {
        let completion = json!({
            "id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": body["model"],
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
        });
        return Json(completion).into_response();
    }
    let chunk = |delta: Value, finish: Value| {
        let chunk = json!({
            "id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": body["model"],
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        });
        format!("data: {chunk}\n\n")
    };
    let mut events = vec![format!(
        "{}data: {}\n\n",
        chunk(json!({ "role": "assistant", "content": "" }), Value::Null),
        json!({ "id": "meta-1", "type": "meta.info", "created": 1, "metainfo": { "emotion": "calm" } })
    )];
    for (at, piece) in answer.pieces.iter().enumerate() {
        let mut event = chunk(json!({ "content": piece }), Value::Null);
        if at == 0 {
            event = format!("{}{event}", events.pop().unwrap_or_default());
        }
        events.push(event);
    }
    if let Some(last) = events.last_mut() {
        last.push_str(&chunk(json!({}), json!("stop")));
        last.push_str("data: [DONE]\n\n");
    }
    let gap = answer.gap;
    let stream = futures_util::stream::unfold((0_usize, events), move |(at, events)| async move {
        let event = events.get(at)?.clone();
        if at > 0 {
            tokio::time::sleep(gap).await;
        }
        Some((Ok::<_, Infallible>(event), (at + 1, events)))
    });
    ([(header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(stream)).into_response()
}

/// A hub whose gateway forwards to `upstream`.
async fn hub_for(upstream: Option<&Upstream>) -> TestHub {
    let url = upstream.map(|upstream| upstream.url.clone());
    TestHub::start(move |config| {
        config.llm = hub::LlmGatewayConfig {
            upstream_url: url,
            upstream_key: Some(UPSTREAM_KEY.into()),
            gateway_key: Some(GATEWAY_KEY.into()),
        };
    })
    .await
}

/// Makes `task` known to the hub (its 901).
async fn start_call(hub: &TestHub, task: &str) {
    let response = hub.post(&support::started(task, support::now_ms())).await;
    assert_eq!(response.status(), 200, "the 901 callback should be accepted");
}

fn chat(prompt: &str, stream: bool) -> Value {
    json!({
        "model": "gpt-test",
        "stream": stream,
        "temperature": 0.3,
        "metadata": { "kept": ["as", "is"] },
        "messages": [
            { "role": "system", "content": "You are Acme's customer service agent." },
            { "role": "user", "content": prompt },
        ],
    })
}

/// A request as TRTC's AI service sends it for `task`.
fn trtc_request(hub: &TestHub, task: Option<&str>, request_id: &str, key: &str) -> reqwest::RequestBuilder {
    let mut request = hub
        .http
        .post(hub.url("/v1/llm/chat/completions"))
        .bearer_auth(key)
        .header("X-Request-Id", request_id)
        .header("X-Sdk-App-Id", support::APP.to_string())
        .header("X-User-Id", support::ROBOT)
        .header("X-Room-Id", support::ROOM)
        .header("X-Room-Id-Type", "0");
    if let Some(task) = task {
        request = request.header("X-Task-Id", task);
    }
    request
}

/// An SSE answer as it arrived: the spoken text and when its first and last bytes came.
#[derive(Debug)]
struct Streamed {
    status: u16,
    text: String,
    first_text_after: Option<Duration>,
    ended_after: Duration,
}

fn deltas(sse: &str) -> String {
    sse.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim)
        .filter(|data| *data != "[DONE]")
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str().map(str::to_owned))
        .collect()
}

async fn ask_streaming(request: reqwest::RequestBuilder, body: &Value) -> Streamed {
    let sent = Instant::now();
    let mut response = request.json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let mut raw = Vec::new();
    let mut first_text_after = None;
    while let Some(bytes) = response.chunk().await.unwrap() {
        raw.extend_from_slice(&bytes);
        if first_text_after.is_none() && !deltas(&String::from_utf8_lossy(&raw)).is_empty() {
            first_text_after = Some(sent.elapsed());
        }
    }
    let ended_after = sent.elapsed();
    Streamed { status, text: deltas(&String::from_utf8_lossy(&raw)), first_text_after, ended_after }
}

async fn call_json(hub: &TestHub, task: &str) -> Value {
    hub.get_json(&format!("/v1/calls/{task}"), &hub.viewer).await
}

/// The call's gateway exchanges, once there are at least `count` (they are recorded off
/// the answer's path).
async fn exchanges(hub: &TestHub, task: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let call = call_json(hub, task).await;
        let found: Vec<Value> = call["call"]["oversight"]["exchanges"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|stamped| stamped["value"].clone())
            .collect();
        if found.len() >= count || Instant::now() > deadline {
            assert!(found.len() >= count, "expected {count} exchanges, got {found:?}");
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The latest stage of command `id`, once it is `stage` (or the deadline passes).
async fn command_stage(hub: &TestHub, task: &str, id: &str, stage: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let call = call_json(hub, task).await;
        let found = call["commands"]
            .as_array()
            .and_then(|commands| commands.iter().find(|command| command["value"]["id"] == id))
            .map(|command| command["value"]["stage"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        if found == stage || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn texts(body: &Value) -> Vec<(String, String)> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["role"].as_str().unwrap().to_owned(), m["content"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

#[tokio::test]
async fn forwarding_streams_the_upstream_answer_back_as_it_arrives() {
    let upstream = Upstream::start(&["您好，", "请问有什么", "可以帮您？"], Duration::from_millis(300)).await;
    let hub = hub_for(Some(&upstream)).await;
    start_call(&hub, "task-fwd").await;

    let answer =
        ask_streaming(trtc_request(&hub, Some("task-fwd"), "req-1", GATEWAY_KEY), &chat("我的快递在哪？", true)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, "您好，请问有什么可以帮您？", "the upstream's words come back");
    let first = answer.first_text_after.expect("some text arrived");
    assert!(
        answer.ended_after.saturating_sub(first) >= Duration::from_millis(400),
        "the first words should arrive while the upstream is still answering (first {first:?}, end {:?})",
        answer.ended_after
    );

    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    let headers = &seen[0].headers;
    assert_eq!(headers["authorization"], format!("Bearer {UPSTREAM_KEY}"), "the real key is the hub's");
    for (name, value) in [
        ("x-task-id", "task-fwd"),
        ("x-request-id", "req-1"),
        ("x-sdk-app-id", &support::APP.to_string()),
        ("x-user-id", support::ROBOT),
        ("x-room-id", support::ROOM),
        ("x-room-id-type", "0"),
    ] {
        assert_eq!(headers.get(name).and_then(|v| v.to_str().ok()), Some(value), "header {name} is copied");
    }
    assert_eq!(seen[0].body, chat("我的快递在哪？", true), "an unchanged request is forwarded as it was sent");

    let exchange = &exchanges(&hub, "task-fwd", 1).await[0];
    assert_eq!(exchange["request_id"], "req-1");
    assert_eq!(exchange["prompt"], "我的快递在哪？");
    assert_eq!(exchange["reply"], "您好，请问有什么可以帮您？", "meta.info is not part of the reply");
    assert_eq!(exchange["author"], "ai");
    assert_eq!(exchange["invoke"], false);
    assert!(exchange["first_token_ms"].as_u64().is_some_and(|ms| ms < 300), "first token: {exchange}");
    hub.hub.stop().await;
}

#[tokio::test]
async fn a_non_streaming_request_is_answered_with_the_upstreams_json() {
    let upstream = Upstream::start(&["Your parcel ", "ships today."], Duration::ZERO).await;
    let hub = hub_for(Some(&upstream)).await;
    start_call(&hub, "task-json").await;

    let response = trtc_request(&hub, Some("task-json"), "req-j", GATEWAY_KEY)
        .header("X-Invoke-LLM", "1")
        .json(&chat("Where is it?", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], "Your parcel ships today.");

    let exchange = &exchanges(&hub, "task-json", 1).await[0];
    assert_eq!(exchange["reply"], "Your parcel ships today.");
    assert_eq!(exchange["invoke"], true, "X-Invoke-LLM: 1 marks a steer");
    hub.hub.stop().await;
}

#[tokio::test]
async fn requests_without_the_gateway_key_or_with_a_bad_body_are_refused_in_openai_shape() {
    let upstream = Upstream::start(&["hi"], Duration::ZERO).await;
    let hub = hub_for(Some(&upstream)).await;
    start_call(&hub, "task-auth").await;

    let wrong =
        trtc_request(&hub, Some("task-auth"), "r1", "not-the-key").json(&chat("hi", true)).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let error: Value = wrong.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_api_key");
    assert!(error["error"]["type"].is_string() && error["error"]["message"].is_string(), "{error}");

    let missing = hub.http.post(hub.url("/v1/llm/chat/completions")).json(&chat("hi", true)).send().await.unwrap();
    assert_eq!(missing.status(), 401);

    let malformed = trtc_request(&hub, Some("task-auth"), "r2", GATEWAY_KEY)
        .header("Content-Type", "application/json")
        .body("{\"messages\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let error: Value = malformed.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_json");
    assert_eq!(error["error"]["type"], "invalid_request_error");

    let no_messages =
        trtc_request(&hub, Some("task-auth"), "r3", GATEWAY_KEY).json(&json!({"model": "m"})).send().await;
    assert_eq!(no_messages.unwrap().status(), 400);

    let huge = chat(&"很长".repeat(300_000), true);
    let too_large = trtc_request(&hub, Some("task-auth"), "r4", GATEWAY_KEY).json(&huge).send().await.unwrap();
    assert_eq!(too_large.status(), 413);

    assert!(upstream.seen().is_empty(), "nothing refused reaches the upstream");
    hub.hub.stop().await;

    // A hub without a gateway key refuses everything.
    let closed = TestHub::start(|config| {
        config.llm =
            hub::LlmGatewayConfig { upstream_url: Some(upstream.url.clone()), upstream_key: None, gateway_key: None };
    })
    .await;
    let refused = trtc_request(&closed, None, "r5", GATEWAY_KEY).json(&chat("hi", true)).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "gateway_not_configured");
    closed.hub.stop().await;
}

#[tokio::test]
async fn upstream_errors_pass_through_with_their_status() {
    let upstream = Upstream::start(&["hi"], Duration::ZERO).await;
    let hub = hub_for(Some(&upstream)).await;
    start_call(&hub, "task-err").await;

    for status in [429, 500, 503] {
        upstream.answer_with_status(status);
        let response =
            trtc_request(&hub, Some("task-err"), "r", GATEWAY_KEY).json(&chat("hi", true)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "TRTC should see the upstream's {status}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "upstream_says_no", "the upstream's body is relayed");
    }
    hub.hub.stop().await;

    // An upstream that is not there: 502; none configured: 503.
    let gone = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1/chat/completions", listener.local_addr().unwrap())
    };
    let unreachable = TestHub::start(move |config| {
        config.llm = hub::LlmGatewayConfig {
            upstream_url: Some(gone),
            upstream_key: None,
            gateway_key: Some(GATEWAY_KEY.into()),
        };
    })
    .await;
    let response = trtc_request(&unreachable, None, "r", GATEWAY_KEY).json(&chat("hi", true)).send().await.unwrap();
    assert_eq!(response.status(), 502);
    unreachable.hub.stop().await;

    let none = hub_for(None).await;
    let response = trtc_request(&none, Some("task-x"), "r", GATEWAY_KEY).json(&chat("hi", true)).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "no_upstream");
    none.hub.stop().await;
}

#[tokio::test]
async fn a_whisper_reaches_the_next_upstream_request_only_and_its_command_is_done() {
    let upstream = Upstream::start(&["Sure, ", "a 10% coupon is yours."], Duration::ZERO).await;
    let hub = hub_for(Some(&upstream)).await;
    start_call(&hub, "task-w").await;

    let (status, answer) = hub
        .command("task-w", &hub.supervisor, "whisper-1", json!({"action": "whisper", "text": "offer the 10% coupon"}))
        .await;
    assert_eq!(status, 202, "{answer}");
    let command_id = answer["command_id"].as_str().unwrap().to_owned();

    // A request of another call (no X-Task-Id) does not take the whisper.
    let plain = ask_streaming(trtc_request(&hub, None, "req-0", GATEWAY_KEY), &chat("hello", true)).await;
    assert_eq!(plain.status, 200);

    let answer =
        ask_streaming(trtc_request(&hub, Some("task-w"), "req-1", GATEWAY_KEY), &chat("Is there a discount?", true))
            .await;
    assert_eq!(answer.text, "Sure, a 10% coupon is yours.");
    let answer = ask_streaming(trtc_request(&hub, Some("task-w"), "req-2", GATEWAY_KEY), &chat("Thanks!", true)).await;
    assert_eq!(answer.status, 200);

    let seen = upstream.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].body, chat("hello", true), "the plain request is untouched");
    assert_eq!(
        texts(&seen[1].body),
        vec![
            ("system".to_owned(), "You are Acme's customer service agent.".to_owned()),
            ("system".to_owned(), "Supervisor guidance, not to be read out: offer the 10% coupon".to_owned()),
            ("user".to_owned(), "Is there a discount?".to_owned()),
        ],
        "the whisper sits just before the customer's line"
    );
    assert_eq!(seen[1].body["metadata"], json!({ "kept": ["as", "is"] }), "other fields are kept");
    assert_eq!(seen[1].body["temperature"], json!(0.3));
    assert_eq!(seen[2].body, chat("Thanks!", true), "a whisper is used once");

    assert_eq!(command_stage(&hub, "task-w", &command_id, "done").await, "done");
    let found = exchanges(&hub, "task-w", 2).await;
    let whispered = found.iter().find(|exchange| exchange["request_id"] == "req-1").unwrap();
    assert_eq!(whispered["whisper"], "offer the 10% coupon");
    let next = found.iter().find(|exchange| exchange["request_id"] == "req-2").unwrap();
    assert_eq!(next["whisper"], Value::Null);
    hub.hub.stop().await;
}

#[tokio::test]
async fn a_taken_over_call_speaks_the_supervisors_reply_and_after_hand_back_the_ai_continues() {
    let upstream = Upstream::start(&["Your refund ", "is on its way."], Duration::ZERO).await;
    let hub = hub_for(Some(&upstream)).await;
    start_call(&hub, "task-h").await;

    let (status, answer) = hub.command("task-h", &hub.lead, "take-1", json!({"action": "take_over"})).await;
    assert_eq!((status, answer["stage"].as_str()), (202, Some("done")), "{answer}");

    // The supervisor types while the robot's request waits.
    let (http, url, lead) = (hub.http.clone(), hub.url("/v1/calls/task-h/commands"), hub.lead.clone());
    let reply = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let response = http
            .post(url)
            .bearer_auth(lead)
            .header("Idempotency-Key", "reply-1")
            .json(&json!({"action": "reply", "text": "Hi, I'm Li. I can help with that."}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json::<Value>().await.unwrap())
    });
    let answer =
        ask_streaming(trtc_request(&hub, Some("task-h"), "req-h1", GATEWAY_KEY), &chat("I want a real person", true))
            .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, "Hi, I'm Li. I can help with that.", "the robot says the supervisor's words");
    assert!(
        answer.ended_after >= Duration::from_millis(200) && answer.ended_after < Duration::from_millis(2_000),
        "answered as soon as the reply came: {:?}",
        answer.ended_after
    );
    let (status, replied) = reply.await.unwrap();
    assert_eq!((status, replied["stage"].as_str()), (202, Some("accepted")), "{replied}");
    assert!(upstream.seen().is_empty(), "a taken-over call is not forwarded");

    let human = &exchanges(&hub, "task-h", 1).await[0];
    assert_eq!(human["author"], "human");
    assert_eq!(human["prompt"], "I want a real person");
    assert_eq!(human["reply"], "Hi, I'm Li. I can help with that.");

    let (status, answer) = hub.command("task-h", &hub.lead, "back-1", json!({"action": "hand_back"})).await;
    assert_eq!((status, answer["stage"].as_str()), (202, Some("done")), "{answer}");

    // TRTC keeps no history here (History = 0): the gateway adds the human turns.
    let answer =
        ask_streaming(trtc_request(&hub, Some("task-h"), "req-h2", GATEWAY_KEY), &chat("And my refund?", true)).await;
    assert_eq!(answer.text, "Your refund is on its way.");
    let answer = ask_streaming(trtc_request(&hub, Some("task-h"), "req-h3", GATEWAY_KEY), &chat("ok", true)).await;
    assert_eq!(answer.status, 200);

    let seen = upstream.seen();
    assert_eq!(seen.len(), 2);
    let messages = texts(&seen[0].body);
    assert_eq!(messages.len(), 5, "{messages:?}");
    assert_eq!(messages[0].1, "You are Acme's customer service agent.");
    assert_eq!(messages[1], ("user".to_owned(), "I want a real person".to_owned()));
    assert_eq!(messages[2], ("assistant".to_owned(), "Hi, I'm Li. I can help with that.".to_owned()));
    assert_eq!(messages[3].0, "system");
    assert!(
        messages[3].1.contains("human agent") && messages[3].1.contains("do not greet"),
        "the note: {}",
        messages[3].1
    );
    assert_eq!(messages[4], ("user".to_owned(), "And my refund?".to_owned()));
    assert_eq!(seen[1].body, chat("ok", true), "the segment is added once");
    hub.hub.stop().await;
}

#[tokio::test]
async fn a_taken_over_call_with_no_reply_in_time_gets_an_empty_answer_within_the_bound() {
    let upstream = Upstream::start(&["AI words"], Duration::ZERO).await;
    let hub = hub_for(Some(&upstream)).await;
    start_call(&hub, "task-n").await;
    let (status, _) = hub.command("task-n", &hub.lead, "take-1", json!({"action": "take_over"})).await;
    assert_eq!(status, 202);

    let sent = Instant::now();
    let response = trtc_request(&hub, Some("task-n"), "req-n1", GATEWAY_KEY)
        .json(&chat("Hello? Anyone there?", false))
        .send()
        .await
        .unwrap();
    let waited = sent.elapsed();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["choices"][0]["message"]["content"], "", "nothing typed: the robot says nothing");
    assert!(
        waited >= Duration::from_millis(2_400) && waited < Duration::from_millis(2_900),
        "answered at the bound, below TRTC's 3 s timeout: {waited:?}"
    );

    let streamed =
        ask_streaming(trtc_request(&hub, Some("task-n"), "req-n2", GATEWAY_KEY), &chat("Hello?", true)).await;
    assert_eq!((streamed.status, streamed.text.as_str()), (200, ""), "an empty stream is still a valid answer");
    assert!(streamed.ended_after < Duration::from_millis(2_900));
    assert!(upstream.seen().is_empty());

    let found = exchanges(&hub, "task-n", 2).await;
    assert!(found.iter().all(|exchange| exchange["author"] == "nobody" && exchange["reply"] == ""), "{found:?}");
    hub.hub.stop().await;
}

#[tokio::test]
async fn a_request_waiting_when_the_call_is_handed_back_is_answered_by_the_ai() {
    let upstream = Upstream::start(&["Back to you, ", "AI here."], Duration::ZERO).await;
    let hub = hub_for(Some(&upstream)).await;
    start_call(&hub, "task-b").await;
    let (status, _) = hub.command("task-b", &hub.lead, "take-1", json!({"action": "take_over"})).await;
    assert_eq!(status, 202);

    let (http, url, lead) = (hub.http.clone(), hub.url("/v1/calls/task-b/commands"), hub.lead.clone());
    let hand_back = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let response = http
            .post(url)
            .bearer_auth(lead)
            .header("Idempotency-Key", "back-1")
            .json(&json!({"action": "hand_back"}))
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    });
    let answer =
        ask_streaming(trtc_request(&hub, Some("task-b"), "req-b1", GATEWAY_KEY), &chat("Still there?", true)).await;
    assert_eq!(hand_back.await.unwrap(), 202);
    assert_eq!(answer.text, "Back to you, AI here.");
    assert!(answer.ended_after < Duration::from_millis(2_000), "forwarded on hand-back: {:?}", answer.ended_after);
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body, chat("Still there?", true), "forwarded as it came: no human turn to add");
    let exchange = &exchanges(&hub, "task-b", 1).await[0];
    assert_eq!(exchange["author"], "ai");
    hub.hub.stop().await;
}

/// The gauge of robot requests waiting for a supervisor's reply.
async fn waiting_for_human(hub: &TestHub) -> u64 {
    let text = hub.http.get(hub.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("switchboard_hub_gateway_waiting_for_human ")?.parse().ok())
        .expect("the gauge is exposed")
}

/// Polls the gauge until it reads `value` or `within` passes; answers the last reading.
async fn gauge_reaches(hub: &TestHub, value: u64, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    loop {
        let read = waiting_for_human(hub).await;
        if read == value || Instant::now() > deadline {
            return read;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_waiting_request_is_counted_until_answered_and_a_line_trtc_gave_up_on_still_reaches_the_ai() {
    let upstream = Upstream::start(&["unused"], Duration::ZERO).await;
    let hub = hub_for(Some(&upstream)).await;
    start_call(&hub, "task-g").await;
    let (status, _) = hub.command("task-g", &hub.lead, "take-1", json!({"action": "take_over"})).await;
    assert_eq!(status, 202);
    assert_eq!(waiting_for_human(&hub).await, 0);

    // TRTC gives up on a request (its own timeout) while it waits.
    let request = trtc_request(&hub, Some("task-g"), "req-g1", GATEWAY_KEY).json(&chat("Hello?", true));
    let abandoned = tokio::spawn(async move { request.send().await });
    assert_eq!(gauge_reaches(&hub, 1, Duration::from_secs(2)).await, 1, "the request waits");
    abandoned.abort();
    let _ = abandoned.await;
    assert_eq!(
        gauge_reaches(&hub, 0, Duration::from_millis(1_500)).await,
        0,
        "a request whose caller hung up no longer waits (well before the 2.5 s bound)"
    );

    // One answered by the lead.
    let request = trtc_request(&hub, Some("task-g"), "req-g2", GATEWAY_KEY);
    let answered = tokio::spawn(async move { ask_streaming(request, &chat("Hello again?", true)).await });
    assert_eq!(gauge_reaches(&hub, 1, Duration::from_secs(2)).await, 1);
    let (status, _) =
        hub.command("task-g", &hub.lead, "reply-1", json!({"action": "reply", "text": "Here I am."})).await;
    assert_eq!(status, 202);
    assert_eq!(answered.await.unwrap().text, "Here I am.");
    assert_eq!(waiting_for_human(&hub).await, 0, "an answered request no longer waits");

    // After hand-back the AI hears both lines, the one TRTC gave up on included.
    let (status, _) = hub.command("task-g", &hub.lead, "back-1", json!({"action": "hand_back"})).await;
    assert_eq!(status, 202);
    let answer = ask_streaming(trtc_request(&hub, Some("task-g"), "req-g3", GATEWAY_KEY), &chat("Thanks", true)).await;
    assert_eq!(answer.status, 200);
    let seen = upstream.seen();
    let messages = texts(&seen[0].body);
    assert_eq!(
        messages[1..4],
        [
            ("user".to_owned(), "Hello?".to_owned()),
            ("user".to_owned(), "Hello again?".to_owned()),
            ("assistant".to_owned(), "Here I am.".to_owned()),
        ],
        "the human segment: {messages:?}"
    );
    hub.hub.stop().await;
}

#[tokio::test]
async fn a_system_prompt_set_by_a_lead_replaces_the_calls_own_in_every_later_request() {
    let upstream = Upstream::start(&["OK."], Duration::ZERO).await;
    let hub = hub_for(Some(&upstream)).await;
    start_call(&hub, "task-p").await;
    let prompt = "You are Acme's refund specialist. Be brief.";
    let update = |key: &'static str, body: Value| hub.command("task-p", &hub.lead, key, body);

    // Before any request of the call came through the gateway, a prompt would do nothing.
    let (status, answer) = update("p-0", json!({"action": "update", "system_prompt": prompt})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("prompt_needs_gateway")), "{answer}");

    let first = ask_streaming(trtc_request(&hub, Some("task-p"), "req-1", GATEWAY_KEY), &chat("Hello?", true)).await;
    assert_eq!(first.status, 200);
    let (status, answer) = update("p-1", json!({"action": "update", "system_prompt": "  "})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("invalid_command")), "{answer}");
    let too_long = "x".repeat(domain::api::MAX_SYSTEM_PROMPT_CHARS + 1);
    let (status, _) = update("p-2", json!({"action": "update", "system_prompt": too_long})).await;
    assert_eq!(status, 422, "a prompt over the limit is refused");
    let (status, answer) = update("p-3", json!({"action": "update", "system_prompt": prompt})).await;
    assert_eq!((status, answer["stage"].as_str()), (202, Some("done")), "{answer}");

    let second =
        ask_streaming(trtc_request(&hub, Some("task-p"), "req-2", GATEWAY_KEY), &chat("My refund?", true)).await;
    let mut bare = chat("And the form?", true);
    bare["messages"] = json!([{ "role": "user", "content": "And the form?" }]);
    let third = ask_streaming(trtc_request(&hub, Some("task-p"), "req-3", GATEWAY_KEY), &bare).await;
    let other = ask_streaming(trtc_request(&hub, Some("task-q"), "req-4", GATEWAY_KEY), &chat("Hi", true)).await;
    assert_eq!([second.status, third.status, other.status], [200; 3]);

    let seen = upstream.seen();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].body, chat("Hello?", true), "before the change the request is untouched");
    assert_eq!(
        texts(&seen[1].body),
        [("system".to_owned(), prompt.to_owned()), ("user".to_owned(), "My refund?".to_owned())],
        "the call's own system prompt is replaced"
    );
    assert_eq!(seen[1].body["metadata"], json!({ "kept": ["as", "is"] }), "other fields are kept");
    assert_eq!(
        texts(&seen[2].body),
        [("system".to_owned(), prompt.to_owned()), ("user".to_owned(), "And the form?".to_owned())],
        "a request without one gets it first"
    );
    assert_eq!(seen[3].body, chat("Hi", true), "another call keeps its own");

    // The board says what the prompt is now, for every console.
    let call = call_json(&hub, "task-p").await;
    let summary = call["commands"]
        .as_array()
        .and_then(|commands| commands.iter().find(|command| command["value"]["stage"] == "done"))
        .map(|command| command["value"]["summary"].clone());
    assert_eq!(summary, Some(json!(format!("{}{prompt}", domain::api::SYSTEM_PROMPT_SUMMARY))));
    hub.hub.stop().await;
}
