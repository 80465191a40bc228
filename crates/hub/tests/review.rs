//! Review over real HTTP against a real hub: notes, tags and QA scores on a call — open to
//! every role, validated with the field named, recorded once per note id (a retry, even
//! after a restart, adds nothing), audited, and carried to consoles as hub facts on the
//! stream and in the call's snapshot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{connect, next_json, now_ms, started, TestHub};

const NOTE_ID: &str = "3f2b9c1e-0c7a-4a55-9a53-2f1d2b0d7e11";
const DAY_MS: u64 = 86_400_000;

async fn hub_with_call(task: &str) -> TestHub {
    let hub = TestHub::start(|_| {}).await;
    assert_eq!(hub.post(&started(task, now_ms() - 60_000)).await.status(), 200);
    hub
}

/// Sends `body` to a review endpoint; answers the status and the JSON answer.
async fn send(hub: &TestHub, method: reqwest::Method, path: &str, token: &str, body: Value) -> (u16, Value) {
    let response = hub.http.request(method, hub.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn note(hub: &TestHub, task: &str, token: &str, body: Value) -> (u16, Value) {
    send(hub, reqwest::Method::POST, &format!("/v1/calls/{task}/notes"), token, body).await
}

async fn tags(hub: &TestHub, task: &str, token: &str, body: Value) -> (u16, Value) {
    send(hub, reqwest::Method::PUT, &format!("/v1/calls/{task}/tags"), token, body).await
}

async fn qa(hub: &TestHub, task: &str, token: &str, body: Value) -> (u16, Value) {
    send(hub, reqwest::Method::PUT, &format!("/v1/calls/{task}/qa"), token, body).await
}

/// The review facts on the stream from the start, until it has been quiet for a moment.
async fn streamed_review_kinds(hub: &TestHub) -> Vec<Value> {
    let mut ws = connect(hub, 0, &hub.viewer).await;
    let mut bodies = Vec::new();
    while let Some(frame) = next_json(&mut ws, Duration::from_millis(700)).await {
        if frame["type"] == "caught_up" {
            break;
        }
        let body = &frame["event"]["body"];
        if frame["type"] == "event"
            && ["note_added", "tags_set", "qa_scored"].contains(&body["kind"].as_str().unwrap_or(""))
        {
            assert_eq!(frame["event"]["source"], "hub", "{frame}");
            bodies.push(body.clone());
        }
    }
    bodies
}

async fn audit(hub: &TestHub, task: &str) -> Vec<Value> {
    hub.get_json(&format!("/v1/audit?call={task}"), &hub.lead).await["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_viewers_note_is_recorded_once_streamed_as_a_hub_fact_and_audited_even_when_retried() {
    let task = "task-note";
    let hub = hub_with_call(task).await;
    let body = json!({"id": NOTE_ID, "text": "  客户要求回电\n明天上午 ", "round": "r2"});

    let (status, first) = note(&hub, task, &hub.viewer, body.clone()).await;
    assert_eq!(status, 201, "a viewer may review: {first}");
    assert_eq!(first["id"], NOTE_ID);
    assert_eq!(first["author"], "vivian", "the author is the token's supervisor");
    assert_eq!(first["text"], "客户要求回电\n明天上午", "trimmed, the line break kept");
    assert_eq!(first["round"], "r2");
    assert!(first["at_ms"].as_u64().unwrap() <= now_ms());

    let (status, again) = note(&hub, task, &hub.viewer, body.clone()).await;
    assert_eq!((status, &again), (200, &first), "a retry answers the note as stored");

    let streamed = streamed_review_kinds(&hub).await;
    assert_eq!(streamed.len(), 1, "one note on the stream, not two: {streamed:?}");
    assert_eq!(streamed[0]["id"], NOTE_ID);
    let snapshot = hub.get_json(&format!("/v1/calls/{task}"), &hub.supervisor).await;
    let notes = snapshot["call"]["review"]["notes"].as_object().unwrap();
    assert_eq!(notes.len(), 1, "{snapshot}");
    assert_eq!(notes[NOTE_ID]["value"]["author"], "vivian");

    let entries = audit(&hub, task).await;
    let added: Vec<&Value> = entries.iter().filter(|e| e["action"] == "note").collect();
    assert_eq!(added.len(), 1, "audited once: {entries:?}");
    assert_eq!((added[0]["user"].as_str(), added[0]["outcome"].as_str()), (Some("vivian"), Some("added")));
    assert_eq!(added[0]["round_id"], "r2");

    // The same id for a different note is refused, and changes nothing.
    let (status, refused) = note(&hub, task, &hub.viewer, json!({"id": NOTE_ID, "text": "something else"})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("note_id_taken")), "{refused}");
    let (status, _) = note(&hub, task, &hub.lead, body.clone()).await;
    assert_eq!(status, 409, "another supervisor cannot take over someone's note id");
    assert_eq!(streamed_review_kinds(&hub).await.len(), 1);
    hub.hub.stop().await;
}

#[tokio::test]
async fn a_note_retried_after_a_hub_restart_is_still_recorded_once() {
    let task = "task-restart";
    let hub = hub_with_call(task).await;
    let body = json!({"id": NOTE_ID, "text": "written before the restart"});
    assert_eq!(note(&hub, task, &hub.supervisor, body.clone()).await.0, 201);
    let support::TestHub { hub: running, dir, supervisor, viewer, lead, lead2, http, .. } = hub;
    running.stop().await;

    let mut config = support::config(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let running = hub::start(config).await.unwrap();
    let base_url = running.base_url.clone();
    let hub = TestHub { hub: running, base_url, dir, viewer, supervisor, lead, lead2, http };
    let (status, answer) = note(&hub, task, &hub.supervisor, body).await;
    assert_eq!(status, 200, "the restarted hub knows the note: {answer}");
    assert_eq!(answer["text"], "written before the restart");
    assert_eq!(streamed_review_kinds(&hub).await.len(), 1);
    hub.hub.stop().await;
}

#[tokio::test]
async fn every_role_may_tag_and_score_and_the_latest_written_change_stands() {
    let task = "task-tags";
    let hub = hub_with_call(task).await;
    let now = now_ms();

    let (status, answer) = tags(&hub, task, &hub.viewer, json!({"tags": [" vip ", "投诉", "vip"]})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["tags"].clone(), answer["author"].clone()), (json!(["vip", "投诉"]), json!("vivian")));
    // A change written earlier (pushed late by a console that was offline) is recorded but
    // does not replace a later one.
    let (status, answer) = tags(&hub, task, &hub.lead, json!({"tags": ["old"], "written_ms": now - 3_600_000})).await;
    assert_eq!(status, 200);
    assert_eq!(answer["tags"], json!(["vip", "投诉"]), "the later set stands: {answer}");
    let (_, answer) = tags(&hub, task, &hub.supervisor, json!({"tags": []})).await;
    assert_eq!((answer["tags"].clone(), answer["author"].clone()), (json!([]), json!("sam")), "an empty set clears");

    let (status, answer) = qa(&hub, task, &hub.supervisor, json!({"score": 60, "comment": " 语气生硬 "})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["score"].as_u64(), answer["comment"].as_str()), (Some(60), Some("语气生硬")));
    let (_, answer) = qa(&hub, task, &hub.lead, json!({"score": 85})).await;
    assert_eq!((answer["score"].as_u64(), answer["author"].as_str()), (Some(85), Some("li")));
    assert_eq!(answer["comment"], Value::Null);

    let snapshot = hub.get_json(&format!("/v1/calls/{task}"), &hub.viewer).await;
    let review = &snapshot["call"]["review"];
    assert_eq!(review["tags"]["value"]["tags"], json!([]), "{review}");
    assert_eq!(review["qa"]["value"]["score"], 85);
    assert_eq!(streamed_review_kinds(&hub).await.len(), 5, "every change is on the stream");
    let entries = audit(&hub, task).await;
    let actions: Vec<(&str, &str)> =
        entries.iter().map(|e| (e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap())).collect();
    assert_eq!(actions, [("qa", "scored"), ("qa", "scored"), ("tags", "set"), ("tags", "set"), ("tags", "set")]);
    assert_eq!(entries[1]["detail"], "60: 语气生硬");
    hub.hub.stop().await;
}

#[tokio::test]
async fn written_times_order_notes_and_stay_within_the_hubs_clock() {
    let task = "task-times";
    let hub = hub_with_call(task).await;
    let now = now_ms();
    let cases = [
        ("a1b2c3d4-0000-4000-8000-000000000001", now - 2 * 3_600_000, "written offline two hours ago"),
        ("a1b2c3d4-0000-4000-8000-000000000002", now + 10 * DAY_MS, "from a clock running ahead"),
        ("a1b2c3d4-0000-4000-8000-000000000003", now - 90 * DAY_MS, "from a clock far behind"),
    ];
    let mut times = Vec::new();
    for (id, written, text) in cases {
        let (status, answer) =
            note(&hub, task, &hub.lead, json!({"id": id, "text": text, "written_ms": written})).await;
        assert_eq!(status, 201, "{answer}");
        times.push(answer["at_ms"].as_u64().unwrap());
    }
    let after = now_ms();
    assert_eq!(times[0], now - 2 * 3_600_000, "a recent written time is kept");
    assert!((now..=after).contains(&times[1]), "the future is brought back to the hub's now: {times:?}");
    assert!(
        (now - 30 * DAY_MS..=after - 30 * DAY_MS).contains(&times[2]),
        "the far past is brought forward to 30 days ago: {times:?}"
    );
    let snapshot = hub.get_json(&format!("/v1/calls/{task}"), &hub.viewer).await;
    let mut stored: Vec<(u64, String)> = snapshot["call"]["review"]["notes"]
        .as_object()
        .unwrap()
        .values()
        .map(|note| (note["at"].as_u64().unwrap(), note["value"]["text"].as_str().unwrap().to_owned()))
        .collect();
    stored.sort();
    let texts: Vec<&str> = stored.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(texts, ["from a clock far behind", "written offline two hours ago", "from a clock running ahead"]);
    hub.hub.stop().await;
}

#[tokio::test]
async fn bad_review_input_is_refused_with_the_field_named() {
    let task = "task-bad";
    let hub = hub_with_call(task).await;
    let long_note = "好".repeat(10_001);
    let long_comment = "x".repeat(2_001);
    let notes = [
        (json!({"text": "no id"}), "id"),
        (json!({"id": "not a uuid!", "text": "x"}), "id"),
        (json!({"id": NOTE_ID}), "text"),
        (json!({"id": NOTE_ID, "text": "   "}), "text"),
        (json!({"id": NOTE_ID, "text": long_note}), "text"),
        (json!({"id": NOTE_ID, "text": 42}), "text"),
        (json!({"id": NOTE_ID, "text": "x", "round": "  "}), "round"),
        (json!({"id": NOTE_ID, "text": "x", "written_ms": "yesterday"}), "written_ms"),
        (json!({"id": NOTE_ID, "text": "x", "author": "someone else"}), "author"),
    ];
    for (body, field) in notes {
        let (status, answer) = note(&hub, task, &hub.viewer, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_field", "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{field}:")), "{body}: the message names {field}: {message}");
    }
    let tag_cases = [
        (json!({}), "tags"),
        (json!({"tags": "vip"}), "tags"),
        (json!({"tags": ["vip", 3]}), "tags"),
        (json!({"tags": ["vip", " "]}), "tags"),
        (json!({"tags": [ "x".repeat(65) ]}), "tags"),
    ];
    for (body, field) in tag_cases {
        let (status, answer) = tags(&hub, task, &hub.viewer, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().starts_with(&format!("{field}:")), "{answer}");
    }
    let qa_cases = [
        (json!({}), "score"),
        (json!({"score": 101}), "score"),
        (json!({"score": -1}), "score"),
        (json!({"score": 80.5}), "score"),
        (json!({"score": "90"}), "score"),
        (json!({"score": 90, "comment": long_comment}), "comment"),
        (json!({"score": 90, "comment": 7}), "comment"),
    ];
    for (body, field) in qa_cases {
        let (status, answer) = qa(&hub, task, &hub.viewer, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().starts_with(&format!("{field}:")), "{answer}");
    }
    // Not JSON at all.
    let response = hub
        .http
        .post(hub.url(&format!("/v1/calls/{task}/notes")))
        .bearer_auth(&hub.viewer)
        .body("text=hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "bad_json");

    // An unknown call, and no token.
    let (status, answer) = note(&hub, "no-such-call", &hub.viewer, json!({"id": NOTE_ID, "text": "x"})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("unknown_call")));
    assert_eq!(qa(&hub, "no-such-call", &hub.viewer, json!({"score": 1})).await.0, 404);
    assert_eq!(tags(&hub, "no-such-call", &hub.viewer, json!({"tags": []})).await.0, 404);
    let response =
        hub.http.put(hub.url(&format!("/v1/calls/{task}/qa"))).json(&json!({"score": 1})).send().await.unwrap();
    assert_eq!(response.status(), 401);

    assert!(streamed_review_kinds(&hub).await.is_empty(), "nothing refused was recorded");
    assert!(audit(&hub, task).await.is_empty(), "nor audited");
    hub.hub.stop().await;
}
