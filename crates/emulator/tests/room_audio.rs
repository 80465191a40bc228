//! Room audio end to end: a whole emulator, a call started through the Cloud API, and a real
//! WebSocket member of its room that hears the call as `PCM1` frames.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    collections::HashMap,
    net::TcpStream,
    time::{Duration, Instant},
};

use emulator::{audio::Voice, CloudConfig, EmulatorConfig};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{self, Message};

const APP: u64 = 1_400_000_000;
const ROOM: &str = "880077";

fn config(speed: f64) -> EmulatorConfig {
    EmulatorConfig {
        cloud: CloudConfig {
            sdk_app_id: APP,
            keys: vec![("AKIDroomaudio".into(), "room-audio-key".into())],
            sdk_secret_key: None,
            rate_limit: 50,
            clock_offset_secs: 0,
        },
        callback_url: None,
        callback_key: "CallbackKey123".into(),
        speed,
        seed: 11,
        calls: 0,
        arrival_per_minute: 0.0,
        recorded_share: 0.0,
        data_dir: None,
        error_rates: emulator::ErrorRates::default(),
        llm_url: None,
        llm_api_key: None,
    }
}

/// One parsed `PCM1` frame.
struct Pcm {
    user_id: String,
    sample_rate: u32,
    seq: u32,
    samples: Vec<i16>,
}

fn parse(bytes: &[u8]) -> Pcm {
    assert_eq!(&bytes[..4], b"PCM1", "the magic");
    let id_len = usize::from(u16::from_le_bytes([bytes[4], bytes[5]]));
    let user_id = String::from_utf8(bytes[6..6 + id_len].to_vec()).unwrap();
    let rest = &bytes[6 + id_len..];
    let sample_rate = u32::from_le_bytes(rest[0..4].try_into().unwrap());
    let seq = u32::from_le_bytes(rest[4..8].try_into().unwrap());
    let data = &rest[8..];
    assert_eq!(data.len() % 2, 0, "whole s16le samples");
    let samples = data.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    Pcm { user_id, sample_rate, seq, samples }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_of_a_calls_room_hears_its_lines_as_paced_pcm_frames() {
    let running = emulator::start_emulator(config(20.0), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = running.addr;

    // Join first, so the welcome line is heard too (no secret key: UserSigs are not checked).
    let mut ws = tokio::task::spawn_blocking(move || {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let query = format!("sdkappid={APP}&roomid={ROOM}&userid=supervisor_1&usersig=x");
        let (mut ws, _) = tungstenite::client(format!("ws://{addr}/room?{query}"), stream).unwrap();
        let mut text = || match ws.read().unwrap() {
            Message::Text(text) => serde_json::from_str::<Value>(text.as_str()).unwrap(),
            other => panic!("expected a text frame, got {other:?}"),
        };
        assert_eq!(text(), json!({"kind": "joined", "roomId": ROOM, "userId": "supervisor_1"}));
        let format = text();
        assert_eq!(format["kind"], "audioFormat");
        assert_eq!(format["sampleRate"], 22050);
        assert_eq!(format["channels"], 1);
        assert_eq!(format["frameMs"], 20);
        assert_eq!(format["encoding"], "s16le");
        assert!(format["header"].as_str().unwrap().starts_with("PCM1"));
        ws
    })
    .await
    .unwrap();

    let client = support::client(&running.base_url, "AKIDroomaudio", "room-audio-key");
    support::start_zh_call(&client, APP, ROOM, "ai_robot_1", "customer_1").await;

    let heard = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(4);
        let mut streams: HashMap<String, (Vec<u32>, Vec<i16>)> = HashMap::new();
        let mut customs = 0;
        while Instant::now() < deadline {
            match ws.read().unwrap() {
                Message::Binary(bytes) => {
                    let frame = parse(&bytes);
                    assert_eq!(frame.sample_rate, 22050);
                    assert!(!frame.samples.is_empty() && frame.samples.len() <= 441, "20 ms at most");
                    let (seqs, samples) = streams.entry(frame.user_id).or_default();
                    seqs.push(frame.seq);
                    samples.extend(frame.samples);
                    if seqs.len() >= 50 {
                        break;
                    }
                }
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                    assert_eq!(frame["kind"], "custom", "text frames keep coming: {frame}");
                    customs += 1;
                }
                _ => {}
            }
        }
        let _ = ws.close(None);
        (streams, customs)
    })
    .await
    .unwrap();
    let (streams, customs) = heard;
    running.stop();

    assert!(customs > 0, "the room's messages still arrive as text frames");
    let (user, (seqs, samples)) = streams.iter().max_by_key(|(_, (seqs, _))| seqs.len()).expect("some audio was heard");
    assert!(user == "ai_robot_1" || user == "customer_1", "a call participant speaks, not {user}");
    assert!(seqs.len() >= 50, "{user} spoke 50 frames within 4 s at speed 20, got {}", seqs.len());
    for (user, (seqs, _)) in &streams {
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{user}'s sequence numbers increase: {seqs:?}");
    }
    let mean_square = samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / samples.len() as f64;
    let rms = mean_square.sqrt();
    assert!(rms > 100.0, "{user}'s audio has a measurable level (RMS {rms:.1})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_robot_is_heard_in_the_voice_its_tts_config_names() {
    let room = "880078";
    let running = emulator::start_emulator(config(20.0), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = running.addr;
    let mut ws = tokio::task::spawn_blocking(move || {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let query = format!("sdkappid={APP}&roomid={room}&userid=supervisor_2&usersig=x");
        tungstenite::client(format!("ws://{addr}/room?{query}"), stream).unwrap().0
    })
    .await
    .unwrap();
    let client = support::client(&running.base_url, "AKIDroomaudio", "room-audio-key");
    // The support call's welcome, in its TTSConfig's `female-kefu-xiaomei`.
    support::start_zh_call(&client, APP, room, "ai_robot_2", "customer_2").await;
    let welcome = "您好，请问有什么可以帮您？";
    let voice = Voice::for_id("female-kefu-xiaomei");
    let expected = emulator::audio::synthesize(welcome, None, Some(voice)).unwrap();
    let plain = emulator::audio::synthesize(welcome, None, None).unwrap();

    let wanted = expected.len();
    let robot = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut robot: Vec<i16> = Vec::new();
        while robot.len() < wanted && Instant::now() < deadline {
            if let Message::Binary(bytes) = ws.read().unwrap() {
                let frame = parse(&bytes);
                if frame.user_id == "ai_robot_2" {
                    robot.extend(frame.samples);
                }
            }
        }
        let _ = ws.close(None);
        robot
    })
    .await
    .unwrap();
    running.stop();

    assert!(robot.len() >= wanted, "the whole welcome was heard: {} of {wanted} samples", robot.len());
    assert!(robot[..wanted] == expected[..], "the welcome is spoken in {voice:?}, sample for sample");
    assert!(robot[..plain.len().min(wanted)] != plain[..plain.len().min(wanted)], "not in the plain voice");
}
