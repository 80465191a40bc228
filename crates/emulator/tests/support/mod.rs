//! A stand-in for a TRTC customer's callback endpoint, shared by the emulator's stories:
//! an HTTP server on loopback that checks every callback's `Sign` and `SdkAppId` before
//! anything else and keeps what arrived, raw and normalised by `domain`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Router};
use domain::{event::Event, ids::SdkAppId};
use serde_json::Value;
use trtc::callback::{verify_and_parse, CallbackHeaders};

/// One verified callback.
#[derive(Debug, Clone)]
pub struct Captured {
    pub raw: Value,
    pub event: Event,
}

/// What the receiver got, in arrival order.
#[derive(Debug, Default)]
pub struct Received {
    pub callbacks: Vec<Captured>,
    /// Callbacks refused (bad signature, wrong app, not normalisable), with the reason.
    pub refused: Vec<String>,
}

impl Received {
    pub fn events(&self) -> Vec<Event> {
        self.callbacks.iter().map(|c| c.event.clone()).collect()
    }
}

/// Starts a receiver for callbacks of `app` signed with `key`; answers `(url, received)`.
pub async fn receiver(key: &'static str, app: u64) -> (String, Arc<Mutex<Received>>) {
    let received = Arc::new(Mutex::new(Received::default()));
    let router = Router::new()
        .route(
            "/callbacks/trtc",
            post(move |State(received): State<Arc<Mutex<Received>>>, headers: HeaderMap, body: Bytes| async move {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
                let headers = CallbackHeaders { sign: header("sign"), sdk_app_id: header("sdkappid") };
                let parsed =
                    verify_and_parse(key, Some(app), headers, &body).map_err(|e| e.to_string()).and_then(|_| {
                        Event::from_callback(&body, Some(SdkAppId(app)))
                            .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&body)))
                    });
                let mut received = received.lock().unwrap();
                match parsed {
                    Ok(event) => {
                        received.callbacks.push(Captured { raw: serde_json::from_slice(&body).unwrap(), event })
                    }
                    Err(reason) => received.refused.push(reason),
                }
                "{\"code\":0}"
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callbacks/trtc", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, received)
}

/// Our `trtc` client pointed at an emulator's base URL.
pub fn client(base_url: &str, secret_id: &str, secret_key: &str) -> trtc::client::Client {
    let credentials = trtc::credentials::Credentials::new(secret_id, secret_key).unwrap();
    trtc::client::Client::new(
        trtc::client::ClientConfig::new(credentials, "ap-guangzhou")
            .with_endpoint(trtc::client::Endpoint::Url(base_url.to_owned())),
    )
    .unwrap()
}

/// Starts a Chinese call with a welcome line and a 10 s idle timeout in numeric `room`;
/// answers its TaskId. Its LLM is unreachable (the replies are scripted). UserSigs are not
/// checked by the emulators these stories start.
pub async fn start_zh_call(client: &trtc::client::Client, app: u64, room: &str, robot: &str, customer: &str) -> String {
    let llm = serde_json::json!({"LLMType": "openai", "Model": "m", "APIKey": "k", "APIUrl": "http://127.0.0.1:9/v1"});
    start_zh_call_with_llm(client, app, room, robot, customer, &llm).await
}

/// [`start_zh_call`] with `llm` as its `LLMConfig`.
pub async fn start_zh_call_with_llm(
    client: &trtc::client::Client,
    app: u64,
    room: &str,
    robot: &str,
    customer: &str,
    llm: &Value,
) -> String {
    let start: trtc::model::StartAIConversation = serde_json::from_value(serde_json::json!({
        "SdkAppId": app, "RoomId": room,
        "AgentConfig": {"UserId": robot, "UserSig": "not-checked-here", "TargetUserId": customer,
                        "WelcomeMessage": "您好，请问有什么可以帮您？", "MaxIdleTime": 10},
        "STTConfig": {"Language": "zh"},
        "LLMConfig": llm.to_string(),
        "TTSConfig": "{\"TTSType\":\"flow\",\"VoiceId\":\"female-kefu-xiaomei\",\"Model\":\"flow_01_turbo\"}"
    }))
    .unwrap();
    client.start_ai_conversation(&start).await.unwrap().task_id.unwrap()
}
