//! Shared by the hub's integration tests: a real hub on 127.0.0.1:0 with a temporary data
//! directory, supervisors of each role, callbacks signed exactly as TRTC signs them, and a
//! stream client; `emulated` puts the real emulator beside the hub.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod emulated;

use std::time::Duration;

use hub::auth::Role;
use hub::{HubConfig, RunningHub};
use serde_json::{json, Value};

pub const APP: u64 = 1_400_000_123;
pub const CALLBACK_KEY: &str = "test-callback-key";
pub const ROOM: &str = "8801";
pub const ROBOT: &str = "robot_1";
pub const CUSTOMER: &str = "customer_1";

/// A hub under test, with one supervisor of each role.
#[derive(Debug)]
pub struct TestHub {
    pub hub: RunningHub,
    pub base_url: String,
    pub dir: tempfile::TempDir,
    pub viewer: String,
    pub supervisor: String,
    pub lead: String,
    pub lead2: String,
    pub http: reqwest::Client,
}

/// A configuration for `dir` with the test app id and key.
pub fn config(dir: &std::path::Path) -> HubConfig {
    let mut config = HubConfig::new(APP, CALLBACK_KEY, dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.heartbeat = Duration::from_millis(500);
    config
}

impl TestHub {
    /// Starts a hub with `config` adjusted by `adjust`.
    pub async fn start(adjust: impl FnOnce(&mut HubConfig)) -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        adjust(&mut config);
        TestHub::start_in(dir, config).await
    }

    pub async fn start_in(dir: tempfile::TempDir, config: HubConfig) -> TestHub {
        let hub = hub::start(config).await.unwrap();
        let base_url = hub.base_url.clone();
        let viewer = hub.add_user("vivian", Role::Viewer).await.unwrap();
        let supervisor = hub.add_user("sam", Role::Supervisor).await.unwrap();
        let lead = hub.add_user("li", Role::Lead).await.unwrap();
        let lead2 = hub.add_user("wang", Role::Lead).await.unwrap();
        TestHub { hub, base_url, dir, viewer, supervisor, lead, lead2, http: reqwest::Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// POSTs a callback body signed with `key`, with the test app id header.
    pub async fn post_signed(&self, body: &[u8], key: &str) -> reqwest::Response {
        self.http
            .post(self.url("/callbacks/trtc"))
            .header("Content-Type", "application/json")
            .header("SdkAppId", APP.to_string())
            .header("Sign", trtc::callback::sign(key, body))
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// POSTs a correctly signed callback.
    pub async fn post(&self, body: &[u8]) -> reqwest::Response {
        self.post_signed(body, CALLBACK_KEY).await
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let response = self.get(path, token).await;
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.unwrap()
    }

    /// POSTs a command with an idempotency key.
    pub async fn command(&self, task: &str, token: &str, key: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(&format!("/v1/calls/{task}/commands")))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// A stream client.
pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the hub's stream after `after` with `token` in the query.
pub async fn connect(hub: &TestHub, after: u64, token: &str) -> Ws {
    let url = format!("{}/v1/stream?after={after}&token={token}", hub.base_url.replace("http://", "ws://"));
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// The next JSON text frame, or `None` after `timeout` or when the socket closes.
pub async fn next_json(ws: &mut Ws, timeout: Duration) -> Option<Value> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match tokio::time::timeout(timeout, ws.next()).await.ok()??.ok()? {
            Message::Text(text) => return serde_json::from_str(text.as_str()).ok(),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// Unix ms now.
pub fn now_ms() -> u64 {
    hub::now_ms()
}

/// A group-9 AI callback body for `task`, `EventMsTs` = `ms`, sent now.
pub fn ai_body(event_type: u64, task: &str, ms: u64, payload: Value) -> Vec<u8> {
    json!({
        "EventGroupId": 9,
        "EventType": event_type,
        "CallbackTs": now_ms(),
        "EventInfo": {"EventMsTs": ms, "TaskId": task, "RoomId": ROOM, "RoomIdType": 0, "Payload": payload}
    })
    .to_string()
    .into_bytes()
}

/// 901 for `task`: the call exists from then on.
pub fn started(task: &str, ms: u64) -> Vec<u8> {
    ai_body(901, task, ms, json!({"Status": 0}))
}

/// A final sentence (903) of `user` in `round`.
pub fn sentence(task: &str, round: &str, ms: u64, user: &str, text: &str) -> Vec<u8> {
    ai_body(
        903,
        task,
        ms,
        json!({"UserId": user, "Text": text, "StartTimeMs": ms - 800, "EndTimeMs": ms, "RoundId": round}),
    )
}

/// 902 for `task`.
pub fn stopped(task: &str, ms: u64, leave_code: u64) -> Vec<u8> {
    ai_body(902, task, ms, json!({"LeaveCode": leave_code}))
}
