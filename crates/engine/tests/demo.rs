//! The built-in demo as a user meets it: start it on an empty data directory, live calls
//! come through the real hub within seconds; start it again and it reuses its credentials
//! and history.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use engine::demo::Demo;
use serde_json::Value;

async fn calls(http: &reqwest::Client, demo: &Demo) -> Vec<Value> {
    let answer = http.get(format!("{}/v1/calls", demo.hub_url)).bearer_auth(demo.token.expose()).send().await.unwrap();
    assert!(answer.status().is_success(), "the demo token must be accepted: {}", answer.status());
    let body: Value = answer.json().await.unwrap();
    body["calls"].as_array().cloned().unwrap_or_default()
}

async fn wait_for_calls(http: &reqwest::Client, demo: &Demo, limit: Duration) -> Vec<Value> {
    let deadline = Instant::now() + limit;
    loop {
        let calls = calls(http, demo).await;
        if !calls.is_empty() || Instant::now() > deadline {
            return calls;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Reads the hub's stream from the start until a gateway exchange arrives.
async fn first_gateway_exchange(demo: &Demo, limit: Duration) -> Value {
    use futures_util::StreamExt;
    let url = format!("{}/v1/stream?after=0&token={}", demo.hub_url.replace("http", "ws"), demo.token.expose());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let deadline = Instant::now() + limit;
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline.into(), ws.next()).await {
        let Ok(text) = message.into_text() else { continue };
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["type"] == "event" && frame["event"]["body"]["kind"] == "gateway_exchange" {
            return frame["event"]["body"].clone();
        }
    }
    panic!("no gateway exchange within {limit:?}: the demo's robot is not using the hub's LLM gateway");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_live_calls_within_seconds_and_keeps_its_credentials_private_and_stable() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let started = Instant::now();
    let demo = Demo::start(dir.path()).await.unwrap();
    let first = wait_for_calls(&http, &demo, Duration::from_secs(30)).await;
    assert!(!first.is_empty(), "no live call after {:?}", started.elapsed());
    println!("first call visible after {:?}", started.elapsed());

    // The robot's LLM goes through the hub's gateway to the emulator's endpoint: the
    // first answered request shows up as a gateway exchange with the robot's reply.
    let exchange = first_gateway_exchange(&demo, Duration::from_secs(40)).await;
    assert!(!exchange["reply"].as_str().unwrap_or("").is_empty(), "an empty reply: {exchange}");

    let credentials = dir.path().join("demo/credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&credentials).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the demo's secrets are readable by the owner only");
    }
    let saved: Value = serde_json::from_slice(&std::fs::read(&credentials).unwrap()).unwrap();
    assert_eq!(saved["token"], demo.token.expose(), "the token is kept for the next start");
    assert!(!format!("{demo:?}").contains(demo.token.expose()), "Debug never shows the token");
    let token = demo.token.clone();
    demo.stop().await;

    let again = Demo::start(dir.path()).await.unwrap();
    assert_eq!(again.token, token, "a second start reuses the demo supervisor");
    let after_restart = calls(&http, &again).await;
    assert!(!after_restart.is_empty(), "the hub's log survives the restart, so earlier calls are still known");
    again.stop().await;
}
