//! Cloud recordings of whole calls: a backend starts a call and a recording of its room
//! through the Cloud API; the emulator records the spoken lines, writes WAV files, serves
//! them over HTTP and reports them in signed recording callbacks (group 3).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use support::Received;

use emulator::{audio::Voice, CloudConfig, EmulatorConfig, RunningEmulator};
use serde_json::{json, Value};
use trtc::{
    client::{Client, ClientConfig, Endpoint},
    credentials::Credentials,
    model::{CreateCloudRecording, DeleteCloudRecording, DescribeCloudRecording},
};

const APP: u64 = 1_400_000_000;
const CALLBACK_KEY: &str = "RecordingKey456";
const SPEED: f64 = 100.0;

async fn receiver() -> (String, Arc<Mutex<Received>>) {
    support::receiver(CALLBACK_KEY, APP).await
}

/// Recording callbacks (group 3), as sent, in arrival order.
fn recording(received: &Received) -> Vec<Value> {
    received.callbacks.iter().filter(|c| c.raw["EventGroupId"] == 3).map(|c| c.raw.clone()).collect()
}

/// How many 902s (the AI call ended) arrived.
fn ended(received: &Received) -> usize {
    received.callbacks.iter().filter(|c| c.event.body.callback_event_type() == Some(902)).count()
}

async fn emulator(callback_url: String, data_dir: &std::path::Path) -> (RunningEmulator, Client) {
    let config = EmulatorConfig {
        cloud: CloudConfig {
            sdk_app_id: APP,
            keys: vec![("AKIDrecording".into(), "recording-key".into())],
            sdk_secret_key: None,
            rate_limit: 50,
            clock_offset_secs: 0,
        },
        callback_url: Some(callback_url),
        callback_key: CALLBACK_KEY.into(),
        speed: SPEED,
        seed: 11,
        calls: 0,
        arrival_per_minute: 1.0,
        recorded_share: 0.0,
        data_dir: Some(data_dir.to_owned()),
        error_rates: emulator::ErrorRates::default(),
        llm_url: None,
        llm_api_key: None,
    };
    let running = emulator::start_emulator(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = Client::new(
        ClientConfig::new(Credentials::new("AKIDrecording", "recording-key").unwrap(), "ap-guangzhou")
            .with_endpoint(Endpoint::Url(running.base_url.clone())),
    )
    .unwrap();
    (running, client)
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("the request JSON matches the typed model")
}

async fn start_call(client: &Client, room: &str) {
    support::start_zh_call(client, APP, room, "ai_robot_rec", "customer_rec").await;
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Records the call in `room` from its start until it ended, then deletes the recording;
/// answers the recording callbacks and the wall-clock span recorded.
async fn record_a_call(
    client: &Client,
    received: &Arc<Mutex<Received>>,
    room: &str,
    mode: u64,
    storage: Value,
) -> (Vec<Value>, Duration) {
    let began = Instant::now();
    let create: CreateCloudRecording = typed(json!({
        "SdkAppId": APP, "RoomId": room, "UserId": "recorder_1", "UserSig": "unchecked",
        "RecordParams": {"RecordMode": mode, "StreamType": 1, "MaxIdleTime": 600},
        "StorageParams": storage
    }));
    let task = client.create_cloud_recording(&create).await.unwrap().task_id.expect("Create answers a TaskId");
    start_call(client, room).await;
    wait_for("the call to end (902)", Duration::from_secs(8), || ended(&received.lock().unwrap()) > 0).await;
    let described = client
        .describe_cloud_recording(&typed::<DescribeCloudRecording>(json!({"SdkAppId": APP, "TaskId": task})))
        .await
        .unwrap();
    assert!(described.status.is_some(), "a live recording is described: {described:?}");
    client
        .delete_cloud_recording(&typed::<DeleteCloudRecording>(json!({"SdkAppId": APP, "TaskId": task})))
        .await
        .unwrap();
    let span = began.elapsed();
    // Deliveries run concurrently: wait for the stop, the file list and the upload report.
    let finished = || {
        let types: Vec<u64> =
            recording(&received.lock().unwrap()).iter().filter_map(|b| b["EventType"].as_u64()).collect();
        [302, 310].iter().all(|t| types.contains(t)) && (types.contains(&305) || types.contains(&311))
    };
    wait_for("the recorder to stop (302, 310, 305/311)", Duration::from_secs(8), finished).await;
    let received = received.lock().unwrap();
    assert!(received.refused.is_empty(), "every callback is signed and parses: {:?}", received.refused);
    let mut bodies = recording(&received);
    bodies.sort_by_key(|b| b["EventInfo"]["EventMsTs"].as_u64().unwrap());
    assert!(bodies.iter().all(|b| b["EventInfo"]["TaskId"] == task.as_str()), "{bodies:?}");
    (bodies, span)
}

fn of_type(bodies: &[Value], event_type: u64) -> Vec<&Value> {
    bodies.iter().filter(|b| b["EventType"] == event_type).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mixed_vod_recording_of_a_call_is_a_downloadable_wav_as_long_as_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let (url, received) = receiver().await;
    let (running, client) = emulator(url, dir.path()).await;
    let storage = json!({"CloudVod": {"TencentVod": {"ExpireTime": 0}}});
    let (bodies, span) = record_a_call(&client, &received, "880021", 2, storage).await;

    let ms = |b: &Value| b["EventInfo"]["EventMsTs"].as_u64().unwrap();
    let types: Vec<u64> = bodies.iter().map(|b| b["EventType"].as_u64().unwrap()).collect();
    assert_eq!(types.first(), Some(&301), "301 starts: {types:?}");
    assert!(types.contains(&307), "the first line produced a file slice: {types:?}");
    let (mp4, vod, stop) = (of_type(&bodies, 310), of_type(&bodies, 311), of_type(&bodies, 302));
    assert_eq!((mp4.len(), vod.len(), stop.len()), (1, 1, 1), "{types:?}");
    assert!(ms(&bodies[0]) <= ms(mp4[0]) && ms(mp4[0]) <= ms(vod[0]) && ms(vod[0]) <= ms(stop[0]));
    assert_eq!(stop[0]["EventInfo"]["Payload"]["LeaveCode"], 0, "stopped through the API");
    assert_eq!(stop[0]["EventInfo"]["RoomId"], 880_021, "numeric rooms are numbers");
    assert_eq!(mp4[0]["EventInfo"]["Payload"]["FileList"], json!([format!("{APP}_880021.wav")]));

    let video_url = vod[0]["EventInfo"]["Payload"]["TencentVod"]["VideoUrl"].as_str().unwrap();
    assert!(video_url.starts_with(&running.base_url), "{video_url}");
    let response = reqwest::get(video_url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "audio/wav");
    let bytes = response.bytes().await.unwrap();
    let mut wav = hound::WavReader::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let spec = wav.spec();
    assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (22_050, 1, 16));
    let seconds = f64::from(wav.duration()) / 22_050.0;
    let expected = span.as_secs_f64() * SPEED;
    let tolerance = (expected * 0.2).max(2.0);
    assert!((seconds - expected).abs() <= tolerance, "{seconds:.1} s of audio for {expected:.1} s of call");
    let samples: Vec<i16> = wav.samples::<i16>().map(Result::unwrap).collect();
    let rms = (samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
    assert!(rms > 50.0, "the recording has speech in it (RMS {rms:.1})");
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_single_stream_recording_has_one_file_per_speaker() {
    let dir = tempfile::tempdir().unwrap();
    let (url, received) = receiver().await;
    let (running, client) = emulator(url, dir.path()).await;
    let storage = json!({"CloudStorage": {"Vendor": 0, "Region": "ap-guangzhou", "Bucket": "b-1250000000",
                                         "AccessKey": "ak", "SecretKey": "sk"}});
    let (bodies, _) = record_a_call(&client, &received, "880022", 1, storage).await;

    let types: Vec<u64> = bodies.iter().map(|b| b["EventType"].as_u64().unwrap()).collect();
    assert!(types.contains(&305) && !types.contains(&311), "COS storage reports an upload stop: {types:?}");
    let mp4 = of_type(&bodies, 310);
    let messages = mp4[0]["EventInfo"]["Payload"]["FileMessage"].as_array().unwrap();
    let mut users: Vec<&str> = messages.iter().map(|m| m["UserId"].as_str().unwrap()).collect();
    users.sort_unstable();
    assert_eq!(users, ["ai_robot_rec", "customer_rec"], "{messages:?}");
    let task = bodies[0]["EventInfo"]["TaskId"].as_str().unwrap();
    for message in messages {
        let name = message["FileName"].as_str().unwrap();
        let user = message["UserId"].as_str().unwrap();
        assert!(
            name.contains(&format!("__UserId_s_{}__UserId_e_main_audio", emulator::recording::file_name_base64(user)))
        );
        let path = dir.path().join("recordings").join(task).join(name);
        let wav = hound::WavReader::open(&path).unwrap();
        assert!(wav.duration() > 22_050, "{name} has the speaker's lines");
        let served = reqwest::get(format!("{}/recordings/{task}/{name}", running.base_url)).await.unwrap();
        assert_eq!(served.status(), 200);
    }
    running.stop();
}

#[tokio::test]
async fn only_files_the_recorder_produced_are_served() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), "not a recording").unwrap();
    let (url, _received) = receiver().await;
    let (running, _client) = emulator(url, dir.path()).await;
    let base = &running.base_url;
    for path in [
        "/recordings/rec_unknown/1400000000_1.wav",
        "/recordings/rec_unknown/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/recordings/%2e%2e/secret.txt",
        "/recordings/../secret.txt",
    ] {
        let response = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_of_an_empty_room_stops_itself_after_its_idle_time() {
    let dir = tempfile::tempdir().unwrap();
    let (url, received) = receiver().await;
    let (running, client) = emulator(url, dir.path()).await;
    // 5 s of MaxIdleTime at speed 100 is 50 ms.
    let create: CreateCloudRecording = typed(json!({
        "SdkAppId": APP, "RoomId": "room-without-anyone", "RoomIdType": 0, "UserId": "recorder_2", "UserSig": "unchecked",
        "RecordParams": {"RecordMode": 2, "StreamType": 1, "MaxIdleTime": 5},
        "StorageParams": {"CloudVod": {"TencentVod": {}}}
    }));
    let task = client.create_cloud_recording(&create).await.unwrap().task_id.expect("Create answers a TaskId");
    let stopped = || recording(&received.lock().unwrap()).iter().any(|b| b["EventType"] == 302);
    wait_for("the idle recorder to stop (302)", Duration::from_secs(5), stopped).await;
    let bodies = recording(&received.lock().unwrap());
    let stop = of_type(&bodies, 302);
    assert_eq!(stop[0]["EventInfo"]["Payload"]["LeaveCode"], 99, "no anchor for MaxIdleTime");
    assert_eq!(stop[0]["EventInfo"]["RoomId"], "room-without-anyone", "string rooms stay strings");
    let gone = client
        .describe_cloud_recording(&typed::<DescribeCloudRecording>(json!({"SdkAppId": APP, "TaskId": task})))
        .await
        .unwrap_err();
    assert_eq!(gone.api().map(|e| e.code.as_str()), Some("ResourceNotFound"), "{gone:?}");
    running.stop();
}

/// Where `needle` occurs in `haystack`, sample for sample.
fn position_of(haystack: &[i16], needle: &[i16]) -> Option<usize> {
    // Anchor on the first loud sample: silence matches everywhere.
    let anchor = needle.iter().position(|s| s.unsigned_abs() > 1000)?;
    (0..haystack.len().checked_sub(needle.len())? + 1)
        .find(|&at| haystack[at + anchor] == needle[anchor] && haystack[at..at + needle.len()] == *needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_whose_voice_changed_mid_call_is_recorded_in_both_voices() {
    let (before_id, after_id) = ("female-kefu-xiaomei", "v-male-Bk7vD3xP");
    let dir = tempfile::tempdir().unwrap();
    let (url, received) = receiver().await;
    let (running, client) = emulator(url, dir.path()).await;
    let mut rooms = running.outputs.subscribe_rooms();
    let room = "880023";
    let create: CreateCloudRecording = typed(json!({
        "SdkAppId": APP, "RoomId": room, "UserId": "recorder_3", "UserSig": "unchecked",
        "RecordParams": {"RecordMode": 1, "StreamType": 1, "MaxIdleTime": 600},
        "StorageParams": {"CloudVod": {"TencentVod": {}}}
    }));
    let recording_task = client.create_cloud_recording(&create).await.unwrap().task_id.unwrap();
    // The support call speaks in `female-kefu-xiaomei`.
    let task = support::start_zh_call(&client, APP, room, "ai_robot_voice", "customer_voice").await;

    // The robot's lines, as the recorder hears them, in order.
    let mut spoken = emulator::outputs::SpokenLines::default();
    let mut robot_lines: Vec<String> = Vec::new();
    let robot = |spoken: &mut emulator::outputs::SpokenLines, message| {
        spoken.complete(&message).filter(|line| line.user_id == "ai_robot_voice").map(|line| line.text)
    };
    let deadline = Instant::now() + Duration::from_secs(8);
    while robot_lines.is_empty() {
        let message = tokio::time::timeout_at(deadline.into(), rooms.recv()).await.expect("the welcome").unwrap();
        robot_lines.extend(robot(&mut spoken, message));
    }
    let update: trtc::model::UpdateAIConversation = typed(json!({
        "TaskId": task,
        "TTSConfig": json!({"TTSType": "flow", "VoiceId": after_id, "Model": "flow_01_turbo"}).to_string()
    }));
    client.update_ai_conversation(&update).await.unwrap();
    wait_for("the call to end (902)", Duration::from_secs(8), || ended(&received.lock().unwrap()) > 0).await;
    while let Ok(message) = rooms.try_recv() {
        robot_lines.extend(robot(&mut spoken, message));
    }
    assert!(robot_lines.len() >= 3, "the robot said a welcome and replies: {robot_lines:?}");
    client
        .delete_cloud_recording(&typed::<DeleteCloudRecording>(json!({"SdkAppId": APP, "TaskId": recording_task})))
        .await
        .unwrap();
    let listed = || recording(&received.lock().unwrap()).iter().any(|b| b["EventType"] == 310);
    wait_for("the file list (310)", Duration::from_secs(8), listed).await;

    let name = format!(
        "{APP}_{room}__UserId_s_{}__UserId_e_main_audio.wav",
        emulator::recording::file_name_base64("ai_robot_voice")
    );
    let path = dir.path().join("recordings").join(&recording_task).join(name);
    let file: Vec<i16> = hound::WavReader::open(&path).unwrap().samples::<i16>().map(Result::unwrap).collect();
    let (before, after) = (Voice::for_id(before_id), Voice::for_id(after_id));
    let said = |line: &str, voice: Voice| emulator::audio::synthesize(line, None, Some(voice)).unwrap();
    let (welcome, last) = (&robot_lines[0], robot_lines.last().unwrap());
    assert!(position_of(&file, &said(welcome, before)).is_some(), "the welcome is recorded in {before_id}'s voice");
    assert!(position_of(&file, &said(welcome, after)).is_none(), "the welcome is not in {after_id}'s voice");
    assert!(
        position_of(&file, &said(last, after)).is_some(),
        "the last line {last:?} is recorded in {after_id}'s voice"
    );
    assert!(position_of(&file, &said(last, before)).is_none(), "the last line is not in {before_id}'s voice");
    running.stop();
}
