//! Control without Tencent Cloud: roles, idempotency, locks and their contention, presence,
//! the audit trail and room tickets — over real HTTP against a real hub.
//! (Commands that reach the Cloud API are exercised against the emulator in `with_emulator`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{json, Value};
use support::{now_ms, started, TestHub, APP};

async fn hub_with_call(task: &str) -> TestHub {
    let hub = TestHub::start(|config| config.sdk_secret_key = Some("sdk-secret-for-tests".into())).await;
    assert_eq!(hub.post(&started(task, now_ms())).await.status(), 200);
    hub
}

async fn call(hub: &TestHub, task: &str) -> Value {
    hub.get_json(&format!("/v1/calls/{task}"), &hub.viewer).await
}

async fn lock(hub: &TestHub, task: &str, token: &str, action: &str) -> (u16, Value) {
    let response = hub
        .http
        .post(hub.url(&format!("/v1/calls/{task}/lock")))
        .bearer_auth(token)
        .json(&json!({ "action": action }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn each_role_may_do_only_what_it_is_allowed_and_denials_are_audited() {
    let task = "task-roles";
    let hub = hub_with_call(task).await;
    let cases = [
        (&hub.viewer, json!({"action": "whisper", "text": "offer a refund"}), 403),
        (&hub.viewer, json!({"action": "stop"}), 403),
        (&hub.supervisor, json!({"action": "take_over"}), 403),
        (&hub.supervisor, json!({"action": "update", "welcome_message": "hi"}), 403),
        (&hub.supervisor, json!({"action": "whisper", "text": "offer a refund"}), 202),
        (&hub.lead, json!({"action": "take_over"}), 202),
    ];
    for (index, (token, body, status)) in cases.into_iter().enumerate() {
        let (got, answer) = hub.command(task, token, &format!("k{index}"), body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        if status == 403 {
            assert_eq!(answer["error"]["code"], "role");
            assert!(answer["error"]["message"].as_str().unwrap().contains("role"));
        }
    }
    let audit = hub.get_json(&format!("/v1/audit?call={task}"), &hub.viewer).await;
    let denied = audit["entries"].as_array().unwrap().iter().filter(|e| e["outcome"] == "denied").count();
    assert_eq!(denied, 4);
    // A malformed command names what is wrong.
    let (status, answer) = hub.command(task, &hub.lead, "bad", json!({"action": "say"})).await;
    assert_eq!(status, 422, "{answer}");
    let (status, _) = hub.command("no-such-call", &hub.lead, "k", json!({"action": "take_over"})).await;
    assert_eq!(status, 404);
    hub.hub.stop().await;
}

#[tokio::test]
async fn a_retried_command_has_exactly_one_effect_and_the_same_answer() {
    let task = "task-idem";
    let hub = hub_with_call(task).await;
    let body = json!({"action": "whisper", "text": "mention the 7-day return policy"});
    let first = hub.command(task, &hub.supervisor, "retry-me", body.clone()).await;
    let second = hub.command(task, &hub.supervisor, "retry-me", body.clone()).await;
    assert_eq!(first.0, 202);
    assert_eq!(first, second, "a retry answers what the first answered");
    let snapshot = call(&hub, task).await;
    let whispers: Vec<&Value> = snapshot["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|command| command["value"]["action"] == "whisper")
        .collect();
    assert_eq!(whispers.len(), 1, "one command, not two: {snapshot}");
    // The same key for another command is refused.
    let (status, answer) =
        hub.command(task, &hub.supervisor, "retry-me", json!({"action": "whisper", "text": "x"})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("idempotency_key_reused")));
    // Without a key, nothing happens.
    let response = hub
        .http
        .post(hub.url(&format!("/v1/calls/{task}/commands")))
        .bearer_auth(&hub.supervisor)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    hub.hub.stop().await;
}

#[tokio::test]
async fn two_leads_contend_for_a_lock_and_everyone_sees_who_holds_it() {
    let task = "task-lock";
    let hub = hub_with_call(task).await;
    // li takes the call over: the lock comes with it.
    let (status, answer) = hub.command(task, &hub.lead, "t1", json!({"action": "take_over"})).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(call(&hub, task).await["summary"]["lock_holder"], "li");
    assert_eq!(call(&hub, task).await["summary"]["taken_over_by"], "li");

    // wang cannot take it, change settings or reply for li…
    let (status, answer) = hub.command(task, &hub.lead2, "w1", json!({"action": "take_over"})).await;
    assert_eq!(status, 409);
    assert!(answer["error"]["message"].as_str().unwrap().contains("li holds"), "{answer}");
    let (status, _) = hub.command(task, &hub.lead2, "w2", json!({"action": "update", "interrupt_mode": 1})).await;
    assert_eq!(status, 409);
    let (status, _) = lock(&hub, task, &hub.lead2, "take").await;
    assert_eq!(status, 409);
    // …nor may a supervisor whisper into a call a human holds.
    let (status, _) = hub.command(task, &hub.supervisor, "s1", json!({"action": "whisper", "text": "x"})).await;
    assert_eq!(status, 409);
    // A supervisor may not break locks; a lead may.
    assert_eq!(lock(&hub, task, &hub.supervisor, "break").await.0, 403);
    let (status, answer) = lock(&hub, task, &hub.lead2, "break").await;
    assert_eq!((status, answer["holder"].as_str()), (200, Some("wang")));
    let snapshot = call(&hub, task).await;
    assert_eq!(snapshot["summary"]["lock_holder"], "wang");
    assert_eq!(snapshot["summary"]["taken_over_by"], "wang", "who broke the lock answers for the robot now");
    // li's release fails now; wang hands back and the lock is free.
    assert_eq!(lock(&hub, task, &hub.lead, "release").await.0, 409);
    let (status, answer) = hub.command(task, &hub.lead2, "w3", json!({"action": "hand_back"})).await;
    assert_eq!(status, 202, "{answer}");
    let snapshot = call(&hub, task).await;
    assert_eq!(snapshot["summary"]["lock_holder"], Value::Null);
    assert_eq!(snapshot["summary"]["taken_over_by"], Value::Null);

    let audit = hub.get_json(&format!("/v1/audit?call={task}&limit=50"), &hub.viewer).await;
    let actions: Vec<(String, String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            (
                e["user"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    let has = |user: &str, action: &str, outcome: &str| {
        actions.iter().any(|(u, a, o)| u == user && a == action && o == outcome)
    };
    assert!(has("li", "lock", "taken"), "{actions:?}");
    assert!(has("li", "take_over", "done"));
    assert!(has("wang", "take_over", "denied"));
    assert!(has("wang", "lock_break", "broken"));
    assert!(has("wang", "lock", "released"));
    assert!(has("wang", "hand_back", "done"));
    hub.hub.stop().await;
}

#[tokio::test]
async fn presence_shows_who_is_watching() {
    let task = "task-presence";
    let hub = hub_with_call(task).await;
    for token in [&hub.viewer, &hub.lead] {
        let response = hub
            .http
            .post(hub.url(&format!("/v1/calls/{task}/presence")))
            .bearer_auth(token)
            .json(&json!({"watching": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(call(&hub, task).await["summary"]["watchers"], json!(["li", "vivian"]));
    hub.http
        .post(hub.url(&format!("/v1/calls/{task}/presence")))
        .bearer_auth(&hub.viewer)
        .json(&json!({"watching": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(call(&hub, task).await["summary"]["watchers"], json!(["li"]));
    hub.hub.stop().await;
}

#[tokio::test]
async fn a_room_ticket_is_a_valid_short_lived_usersig_for_the_calls_room() {
    let task = "task-ticket";
    let hub = hub_with_call(task).await;
    let response = hub
        .http
        .post(hub.url("/v1/room-tickets"))
        .bearer_auth(&hub.viewer)
        .json(&json!({"call_id": task}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let ticket: Value = response.json().await.unwrap();
    assert_eq!(ticket["room_id"], support::ROOM);
    assert_eq!(ticket["sdk_app_id"], APP);
    let user_id = ticket["user_id"].as_str().unwrap();
    assert!(user_id.starts_with("sb_sup_vivian_"), "{user_id}");
    let claims = trtc::usersig::verify(
        ticket["user_sig"].as_str().unwrap(),
        APP,
        "sdk-secret-for-tests",
        user_id,
        now_ms() / 1000,
    )
    .unwrap();
    assert!(claims.expires_at() <= now_ms() / 1000 + 600);
    // Without a token, none.
    let response = hub.http.post(hub.url("/v1/room-tickets")).json(&json!({"call_id": task})).send().await.unwrap();
    assert_eq!(response.status(), 401);
    hub.hub.stop().await;

    // A hub without the SDK secret says why it cannot issue one.
    let hub = TestHub::start(|_| {}).await;
    hub.post(&started(task, now_ms())).await;
    let response = hub
        .http
        .post(hub.url("/v1/room-tickets"))
        .bearer_auth(&hub.viewer)
        .json(&json!({"call_id": task}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("TRTC_SDK_SECRET_KEY"));
    hub.hub.stop().await;
}
