//! The hub's ingest and stream, over real HTTP and WebSocket on loopback with a real
//! SQLite file: bad callbacks refused with their reason and nothing stored, duplicates
//! stored once, two stream clients seeing the same ordered log, live frames byte for byte
//! the replayed ones, and a hub restart that clients resume across with no gap and no
//! repeat.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{
    ai_body, connect, next_json, now_ms, sentence, started, TestHub, Ws, APP, CALLBACK_KEY, CUSTOMER, ROBOT,
};

/// Reads frames until `count` events arrived; answers their (seq, kind) in order.
async fn read_events(ws: &mut Ws, count: usize) -> Vec<(u64, Value)> {
    let mut events = Vec::new();
    while events.len() < count {
        let Some(frame) = next_json(ws, Duration::from_secs(10)).await else {
            panic!("the stream ended after {} of {count} events", events.len());
        };
        if frame["type"] == "event" {
            events.push((frame["event"]["seq"].as_u64().unwrap(), frame["event"].clone()));
        }
    }
    events
}

/// One call's worth of distinct callbacks.
fn call_bodies(task: &str, turns: u64) -> Vec<Vec<u8>> {
    let t0 = now_ms() - 60_000;
    let mut bodies = vec![started(task, t0)];
    for turn in 0..turns {
        let round = format!("round-{turn}");
        let at = t0 + 1_000 + turn * 5_000;
        bodies.push(ai_body(904, task, at, json!({"UserId": CUSTOMER, "RoundId": round})));
        bodies.push(sentence(task, &round, at + 1_500, CUSTOMER, &format!("问题 {turn}")));
        bodies.push(sentence(task, &round, at + 3_000, ROBOT, &format!("回答 {turn}")));
    }
    bodies
}

#[tokio::test]
async fn forged_tampered_foreign_stale_oversized_and_malformed_callbacks_are_refused_and_nothing_is_stored() {
    let hub = TestHub::start(|_| {}).await;
    let good = started("task-refused", now_ms());
    let mut tampered = good.clone();
    let last = tampered.len() - 2;
    tampered[last] = b' ';
    let stale = json!({"EventGroupId": 9, "EventType": 901, "CallbackTs": now_ms() - 3_600_000,
        "EventInfo": {"EventMsTs": now_ms(), "TaskId": "t", "RoomId": "1", "RoomIdType": 0, "Payload": {"Status": 0}}})
    .to_string()
    .into_bytes();
    let oversized = {
        let mut body = ai_body(903, "t", now_ms(), json!({"UserId": "u", "Text": "x".repeat(70_000), "RoundId": "r"}));
        body.truncate(body.len());
        body
    };
    let malformed_event = ai_body(903, "t", now_ms(), json!({"UserId": "u"}));

    let sign = trtc::callback::sign(CALLBACK_KEY, &good);
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        (
            "forged",
            hub.http
                .post(hub.url("/callbacks/trtc"))
                .header("SdkAppId", APP.to_string())
                .header("Sign", trtc::callback::sign("not-the-key", &good))
                .body(good.clone()),
            401,
        ),
        (
            "unsigned",
            hub.http.post(hub.url("/callbacks/trtc")).header("SdkAppId", APP.to_string()).body(good.clone()),
            401,
        ),
        (
            "tampered",
            hub.http
                .post(hub.url("/callbacks/trtc"))
                .header("SdkAppId", APP.to_string())
                .header("Sign", sign.clone())
                .body(tampered),
            401,
        ),
        (
            "wrong app",
            hub.http
                .post(hub.url("/callbacks/trtc"))
                .header("SdkAppId", "1400000999")
                .header("Sign", sign.clone())
                .body(good.clone()),
            403,
        ),
        ("no app", hub.http.post(hub.url("/callbacks/trtc")).header("Sign", sign.clone()).body(good.clone()), 403),
        (
            "stale",
            hub.http
                .post(hub.url("/callbacks/trtc"))
                .header("SdkAppId", APP.to_string())
                .header("Sign", trtc::callback::sign(CALLBACK_KEY, &stale))
                .body(stale),
            400,
        ),
        (
            "oversized",
            hub.http
                .post(hub.url("/callbacks/trtc"))
                .header("SdkAppId", APP.to_string())
                .header("Sign", trtc::callback::sign(CALLBACK_KEY, &oversized))
                .body(oversized),
            413,
        ),
        (
            "malformed event",
            hub.http
                .post(hub.url("/callbacks/trtc"))
                .header("SdkAppId", APP.to_string())
                .header("Sign", trtc::callback::sign(CALLBACK_KEY, &malformed_event))
                .body(malformed_event),
            400,
        ),
        (
            "not json",
            hub.http
                .post(hub.url("/callbacks/trtc"))
                .header("SdkAppId", APP.to_string())
                .header("Sign", trtc::callback::sign(CALLBACK_KEY, b"{nope"))
                .body(&b"{nope"[..]),
            400,
        ),
    ];
    let mut reasons = Vec::new();
    for (name, request, status) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{name}");
        let body: Value = response.json().await.unwrap();
        reasons.push((name, body["reason"].as_str().unwrap().to_owned()));
    }
    let expected = [
        ("forged", "bad_sign"),
        ("unsigned", "missing_sign"),
        ("tampered", "bad_sign"),
        ("wrong app", "wrong_sdk_app_id"),
        ("no app", "missing_sdk_app_id"),
        ("stale", "stale_callback_ts"),
        ("oversized", "body_too_large"),
        ("malformed event", "malformed_event"),
        ("not json", "malformed_body"),
    ];
    assert_eq!(reasons.iter().map(|(n, r)| (*n, r.as_str())).collect::<Vec<_>>(), expected);

    // Nothing was stored or published.
    let health: Value = hub.http.get(hub.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["last_seq"], 0);
    assert_eq!(hub.get_json("/v1/calls", &hub.viewer).await["calls"], json!([]));
    let metrics = hub.http.get(hub.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for line in [
        "switchboard_hub_callbacks_rejected_total{reason=\"bad_sign\"} 2",
        "switchboard_hub_callbacks_rejected_total{reason=\"stale_callback_ts\"} 1",
        "switchboard_hub_callbacks_rejected_total{reason=\"body_too_large\"} 1",
        "switchboard_hub_callbacks_total{outcome=\"accepted\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing {line:?} in\n{metrics}");
    }

    // The good one still goes in, once, however often TRTC retries it.
    for _ in 0..3 {
        assert_eq!(hub.post(&good).await.status(), 200);
    }
    let health: Value = hub.http.get(hub.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["last_seq"], 1);
    hub.hub.stop().await;
}

#[tokio::test]
async fn two_stream_clients_get_the_same_complete_ordered_log_replayed_then_live() {
    let hub = TestHub::start(|_| {}).await;
    let first = call_bodies("task-a", 3);
    for body in &first {
        assert_eq!(hub.post(body).await.status(), 200);
    }
    let mut early = connect(&hub, 0, &hub.viewer).await;
    let hello = next_json(&mut early, Duration::from_secs(5)).await.unwrap();
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["role"], "viewer");
    let replayed = read_events(&mut early, first.len()).await;

    let mut late = connect(&hub, 0, &hub.supervisor).await;
    // Live events while the second client is still replaying.
    let second = call_bodies("task-b", 4);
    let poster = {
        let bodies = second.clone();
        let http = hub.http.clone();
        let url = hub.url("/callbacks/trtc");
        tokio::spawn(async move {
            for body in bodies {
                let response = http
                    .post(&url)
                    .header("SdkAppId", APP.to_string())
                    .header("Sign", trtc::callback::sign(CALLBACK_KEY, &body))
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
            }
        })
    };
    let total = first.len() + second.len();
    let early_live = read_events(&mut early, second.len()).await;
    let late_all = read_events(&mut late, total).await;
    poster.await.unwrap();

    let seqs = |events: &[(u64, Value)]| events.iter().map(|(seq, _)| *seq).collect::<Vec<_>>();
    let mut early_all = replayed;
    early_all.extend(early_live);
    assert_eq!(seqs(&early_all), (1..=total as u64).collect::<Vec<_>>(), "no gap, no repeat, in order");
    assert_eq!(seqs(&late_all), seqs(&early_all));
    assert_eq!(early_all, late_all, "both clients see the same events");

    // The snapshot is the fold of the same events.
    let call = hub.get_json("/v1/calls/task-b", &hub.viewer).await;
    assert_eq!(call["summary"]["counts"]["turns"], 4);
    assert_eq!(call["summary"]["last_robot_sentence"], "回答 3");
    hub.hub.stop().await;
}

/// The raw text of the next `count` event frames.
async fn event_texts(ws: &mut Ws, count: usize) -> Vec<String> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let mut texts = Vec::new();
    while texts.len() < count {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
        let Ok(Some(Ok(message))) = next else {
            panic!("the stream ended after {} of {count} events", texts.len());
        };
        if let Message::Text(text) = message {
            if serde_json::from_str::<Value>(text.as_str()).unwrap()["type"] == "event" {
                texts.push(text.as_str().to_owned());
            }
        }
    }
    texts
}

#[tokio::test]
async fn a_live_event_is_sent_as_the_same_bytes_a_replay_of_it_sends() {
    let hub = TestHub::start(|_| {}).await;
    let mut live = connect(&hub, 0, &hub.viewer).await;
    let bodies = call_bodies("task-frames", 2);
    for body in &bodies {
        assert_eq!(hub.post(body).await.status(), 200);
    }
    let live_frames = event_texts(&mut live, bodies.len()).await;
    let mut replaying = connect(&hub, 0, &hub.supervisor).await;
    let replayed_frames = event_texts(&mut replaying, bodies.len()).await;
    assert_eq!(live_frames, replayed_frames, "one rendering of each event, live or from the log");
    for frame in &live_frames {
        assert!(frame.starts_with(r#"{"type":"event","event":{"#), "the type comes first: {frame}");
    }
    hub.hub.stop().await;
}

#[tokio::test]
async fn the_stream_refuses_missing_and_wrong_tokens() {
    let hub = TestHub::start(|_| {}).await;
    let base = hub.base_url.replace("http://", "ws://");
    for url in [format!("{base}/v1/stream"), format!("{base}/v1/stream?token=sbt_wrong")] {
        let error = tokio_tungstenite::connect_async(url).await.unwrap_err();
        let tokio_tungstenite::tungstenite::Error::Http(response) = error else {
            panic!("expected an HTTP refusal, got {error}");
        };
        assert_eq!(response.status().as_u16(), 401);
    }
    assert_eq!(hub.get("/v1/calls", "sbt_wrong").await.status(), 401);
    assert_eq!(hub.http.get(hub.url("/v1/calls")).send().await.unwrap().status(), 401);
    hub.hub.stop().await;
}

#[tokio::test]
async fn after_a_hub_restart_clients_resume_with_no_gap_and_no_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let hub = TestHub::start_in(dir, support::config(&path)).await;
    let (viewer, base) = (hub.viewer.clone(), hub.base_url.clone());
    let before = call_bodies("task-r", 2);
    for body in &before {
        hub.post(body).await;
    }
    let mut client = connect(&hub, 0, &viewer).await;
    let seen = read_events(&mut client, before.len()).await;
    let last_seen = seen.last().unwrap().0;
    let TestHub { hub: running, dir, .. } = hub;
    running.stop().await;
    // The old connection ends with the hub (a stream must not outlive it, sending
    // heartbeats for a log nobody writes): a close frame or the end, within a moment.
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match futures_util::StreamExt::next(&mut client).await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream is still open after the hub stopped");

    // Same data directory, a new port; the users are still there.
    let mut config = support::config(&path);
    config.listen = "127.0.0.1:0".parse().unwrap();
    let again = hub::start(config).await.unwrap();
    assert_ne!(again.base_url, base, "a new port, so the client must really reconnect");
    let hub = TestHub {
        base_url: again.base_url.clone(),
        hub: again,
        dir,
        viewer: viewer.clone(),
        supervisor: String::new(),
        lead: String::new(),
        lead2: String::new(),
        http: reqwest::Client::new(),
    };
    let after = call_bodies("task-s", 2);
    for body in &after {
        hub.post(body).await;
    }
    // A retry of something stored before the restart is still a duplicate.
    let retried: Value = hub.post(&before[1]).await.json().await.unwrap();
    assert_eq!(retried["duplicate"], true);

    let mut resumed = connect(&hub, last_seen, &viewer).await;
    let rest = read_events(&mut resumed, after.len()).await;
    let seqs: Vec<u64> = rest.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, ((last_seen + 1)..=(last_seen + after.len() as u64)).collect::<Vec<_>>());
    let caught_up = loop {
        let frame = next_json(&mut resumed, Duration::from_secs(5)).await.unwrap();
        if frame["type"] == "caught_up" || frame["type"] == "heartbeat" {
            break frame;
        }
    };
    assert_eq!(caught_up["last_seq"], last_seen + after.len() as u64);
    // Snapshots were rebuilt from the log.
    assert_eq!(hub.get_json("/v1/calls/task-r", &viewer).await["summary"]["counts"]["turns"], 2);
    hub.hub.stop().await;
}

#[tokio::test]
async fn a_client_that_falls_behind_is_told_and_resumed_from_the_log_with_nothing_dropped() {
    // A tiny live buffer, so a client that does not read for a moment falls behind.
    // Long sentences (100 KB events), so that socket buffers fill up quickly.
    let hub = TestHub::start(|config| {
        config.live_buffer = 8;
        config.max_body_bytes = 1 << 20;
    })
    .await;
    let mut slow = connect(&hub, 0, &hub.viewer).await;
    assert_eq!(next_json(&mut slow, Duration::from_secs(5)).await.unwrap()["type"], "hello");
    let t0 = now_ms() - 60_000;
    let long = "很长的一句话。".repeat(5_000);
    let mut bodies = vec![started("task-lag", t0)];
    bodies.extend((0..200).map(|n| sentence("task-lag", &format!("round-{n}"), t0 + 1_000 + n * 10, CUSTOMER, &long)));
    for body in &bodies {
        assert_eq!(hub.post(body).await.status(), 200);
    }
    let mut seqs = Vec::new();
    let mut lagged = 0;
    while seqs.len() < bodies.len() {
        let frame = next_json(&mut slow, Duration::from_secs(10)).await.expect("the stream went quiet");
        match frame["type"].as_str() {
            Some("event") => seqs.push(frame["event"]["seq"].as_u64().unwrap()),
            Some("lagged") => lagged += 1,
            _ => {}
        }
    }
    assert!(lagged >= 1, "the client was never told it fell behind");
    assert_eq!(seqs, (1..=bodies.len() as u64).collect::<Vec<_>>(), "resumed from the log: no gap, no repeat");
    hub.hub.stop().await;
}
