//! Recording downloads through the real hub: a real recording made by the emulator (TRTC's
//! stand-in), listed and downloaded via the hub's redirect with its size verified; and,
//! against a small storage server that honours `Range` (the emulator's does not), a
//! download cut off half-way that resumes with only the rest fetched, a part that is
//! already complete, and sizes that are not what was expected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use emulator::{CloudConfig, EmulatorConfig};
use engine::hub_client::{ClientOptions, HubClient, HubError, HubToken, Recording, RecordingFile, Role};
use engine::recordings::{download, DownloadError, Downloaded, Progress};
use hub::{HubConfig, RunningHub};
use serde_json::json;
use trtc::client::{Client, ClientConfig, Endpoint};
use trtc::credentials::Credentials;

const APP: u64 = 1_400_000_654;
const CALLBACK_KEY: &str = "engine-recordings-test-key";
const SECRET_ID: &str = "AKIDenginerecordings";
const SECRET_KEY: &str = "engine-recordings-secret";

async fn start_hub(dir: &Path, listen: &str) -> (RunningHub, HubClient) {
    let mut config = HubConfig::new(APP, CALLBACK_KEY, dir);
    config.listen = listen.parse().unwrap();
    let hub = hub::start(config).await.unwrap();
    let token = hub.add_user("vivian", Role::Viewer).await.unwrap();
    let options = ClientOptions { request_timeout: Duration::from_secs(5), ..ClientOptions::default() };
    let client = HubClient::new(&hub.base_url, HubToken::new(token).unwrap(), options).unwrap();
    (hub, client)
}

/// Polls `check` every 50 ms until it answers something, for at most `limit`.
async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "no {what} after {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Records progress reports and checks they only go forward.
#[derive(Debug, Default)]
struct Reports(Vec<Progress>);

impl Reports {
    fn add(&mut self, progress: Progress) {
        if let Some(last) = self.0.last() {
            assert!(progress.bytes >= last.bytes, "progress went back: {last:?} then {progress:?}");
        }
        self.0.push(progress);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_real_emulator_recording_is_downloaded_through_the_hub_and_its_size_verified() {
    let hub_dir = tempfile::tempdir().unwrap();
    let emulator_dir = tempfile::tempdir().unwrap();
    let hub_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = EmulatorConfig::new(CloudConfig {
        sdk_app_id: APP,
        keys: vec![(SECRET_ID.into(), SECRET_KEY.into())],
        sdk_secret_key: None,
        rate_limit: 0,
        clock_offset_secs: 0,
    });
    config.callback_url = Some(format!("http://127.0.0.1:{hub_port}/callbacks/trtc"));
    config.callback_key = CALLBACK_KEY.into();
    config.speed = 100.0;
    config.seed = 5;
    config.data_dir = Some(emulator_dir.path().to_owned());
    config.error_rates = emulator::ErrorRates { asr: 0.0, llm: 0.0, tts: 0.0 };
    let emulator = emulator::start_emulator(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (hub, client) = start_hub(hub_dir.path(), &format!("127.0.0.1:{hub_port}")).await;

    // A backend records a call's room through the Cloud API, then stops the recording.
    let cloud = Client::new(
        ClientConfig::new(Credentials::new(SECRET_ID, SECRET_KEY).unwrap(), "ap-guangzhou")
            .with_endpoint(Endpoint::Url(emulator.base_url.clone())),
    )
    .unwrap();
    let room = "880041";
    let create: trtc::model::CreateCloudRecording = serde_json::from_value(json!({
        "SdkAppId": APP, "RoomId": room, "UserId": "recorder_1", "UserSig": "unchecked",
        "RecordParams": {"RecordMode": 2, "StreamType": 1, "MaxIdleTime": 600},
        "StorageParams": {"CloudVod": {"TencentVod": {"ExpireTime": 0}}}
    }))
    .unwrap();
    let recording_task = cloud.create_cloud_recording(&create).await.unwrap().task_id.unwrap();
    let start: trtc::model::StartAIConversation = serde_json::from_value(json!({
        "SdkAppId": APP, "RoomId": room,
        "AgentConfig": {"UserId": "robot_1", "UserSig": "x", "TargetUserId": "customer_1",
                        "WelcomeMessage": "您好，请问有什么可以帮您？", "MaxIdleTime": 10},
        "STTConfig": {"Language": "zh"},
        // Nothing listens there: the emulator's scripted replies answer.
        "LLMConfig": json!({"LLMType": "openai", "Model": "m", "APIKey": "k", "APIUrl": "http://127.0.0.1:9/v1"}).to_string(),
        "TTSConfig": "{\"TTSType\":\"flow\",\"VoiceId\":\"female-kefu-xiaomei\",\"Model\":\"flow_01_turbo\"}"
    }))
    .unwrap();
    let call = domain::ids::TaskId::new(cloud.start_ai_conversation(&start).await.unwrap().task_id.unwrap());
    wait_for("end of the call at the hub", Duration::from_secs(30), || async {
        client.call(&call).await.ok().filter(|snapshot| !snapshot.summary.live).map(|_| ())
    })
    .await;
    let delete: trtc::model::DeleteCloudRecording =
        serde_json::from_value(json!({"SdkAppId": APP, "TaskId": recording_task})).unwrap();
    cloud.delete_cloud_recording(&delete).await.unwrap();
    let recording: Recording = wait_for("a committed recording file", Duration::from_secs(30), || async {
        client
            .recordings()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.recording_task_id.as_str() == recording_task && !r.files.is_empty())
    })
    .await;
    let file = recording.files[0].clone();
    let on_emulator = emulator_dir.path().join("recordings").join(&recording_task).join(&file.name);
    let original = std::fs::read(&on_emulator).unwrap();
    assert!(original.len() > 44, "a WAV with samples: {} bytes", original.len());

    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("cache").join(&file.name);
    let mut reports = Reports::default();
    let done = download(&client, &file, &dest, None, |p| reports.add(p)).await.unwrap();
    assert_eq!(done, Downloaded { path: dest.clone(), bytes: original.len() as u64, resumed_from: 0 });
    assert_eq!(std::fs::read(&dest).unwrap(), original, "the bytes the emulator recorded");
    assert_eq!(reports.0.last(), Some(&Progress { bytes: original.len() as u64, total: Some(original.len() as u64) }));
    assert!(!part_of(&dest).exists());

    // The emulator's file server ignores Range: a part left from a cut is read again
    // from the start, and the result is still the whole file.
    let again = out.path().join("again.wav");
    std::fs::write(part_of(&again), &original[..original.len() / 2]).unwrap();
    let done = download(&client, &file, &again, Some(original.len() as u64), |_| {}).await.unwrap();
    assert_eq!((done.bytes, done.resumed_from), (original.len() as u64, 0));
    assert_eq!(std::fs::read(&again).unwrap(), original);

    // Expecting another size is an error naming both; nothing is left behind.
    let wrong = out.path().join("wrong.wav");
    let error = download(&client, &file, &wrong, Some(original.len() as u64 + 1), |_| {}).await.unwrap_err();
    match &error {
        DownloadError::SizeMismatch { expected, actual, part_kept: false } => {
            assert_eq!((*expected, *actual), (original.len() as u64 + 1, original.len() as u64));
        }
        other => panic!("expected a size mismatch, got {other:?}"),
    }
    assert!(!wrong.exists() && !part_of(&wrong).exists());
    hub.stop().await;
    emulator.stop();
}

fn part_of(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// A storage server for one file that honours `Range: bytes=N-`, counts the bytes it
/// serves, and can cut its next answer off after some bytes.
#[derive(Debug)]
struct Storage {
    content: Vec<u8>,
    served: AtomicU64,
    ranges: Mutex<Vec<Option<String>>>,
    cut_next_after: Mutex<Option<usize>>,
    ignore_range: AtomicBool,
}

async fn serve_file(State(storage): State<Arc<Storage>>, headers: HeaderMap) -> Response {
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert!(headers.get(header::AUTHORIZATION).is_none(), "the hub token must not reach the storage");
    storage.ranges.lock().unwrap().push(range.clone());
    let len = storage.content.len();
    let start = match range.as_deref().and_then(|r| r.strip_prefix("bytes=")).and_then(|r| r.strip_suffix('-')) {
        Some(start) if !storage.ignore_range.load(Ordering::SeqCst) => start.parse::<usize>().unwrap(),
        _ => 0,
    };
    if start >= len && range.is_some() {
        return (StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{len}"))])
            .into_response();
    }
    let body = storage.content[start..].to_vec();
    let (status, mut extra) = if start > 0 {
        (StatusCode::PARTIAL_CONTENT, vec![(header::CONTENT_RANGE, format!("bytes {start}-{}/{len}", len - 1))])
    } else {
        (StatusCode::OK, Vec::new())
    };
    extra.push((header::CONTENT_LENGTH, body.len().to_string()));
    let cut = storage.cut_next_after.lock().unwrap().take();
    let stream_body = match cut {
        Some(after) => {
            storage.served.fetch_add(after as u64, Ordering::SeqCst);
            use futures_util::StreamExt;
            let first = body[..after].to_vec();
            // The first bytes go out, then the connection breaks off.
            let sent = futures_util::stream::once(async move { Ok::<Vec<u8>, std::io::Error>(first) });
            let broken = futures_util::stream::once(async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Err::<Vec<u8>, std::io::Error>(std::io::Error::other("the storage went away"))
            });
            Body::from_stream(sent.chain(broken))
        }
        None => {
            storage.served.fetch_add(body.len() as u64, Ordering::SeqCst);
            Body::from(body)
        }
    };
    let mut response = (status, stream_body).into_response();
    for (name, value) in extra {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// A hub that announced (with a signed 311 callback) one recording file kept at a
/// storage server honouring ranges.
async fn hub_with_ranged_storage(
    content: Vec<u8>,
) -> (RunningHub, HubClient, Arc<Storage>, RecordingFile, tempfile::TempDir) {
    let storage = Arc::new(Storage {
        content,
        served: AtomicU64::new(0),
        ranges: Mutex::default(),
        cut_next_after: Mutex::default(),
        ignore_range: AtomicBool::new(false),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let storage_url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/vod/{file}", axum::routing::get(serve_file)).with_state(storage.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let (hub, client) = start_hub(dir.path(), "127.0.0.1:0").await;
    let now = hub::now_ms();
    let body = json!({
        "EventGroupId": 3, "EventType": 311, "CallbackTs": now,
        "EventInfo": {"RoomId": 8802, "EventTs": now / 1000, "EventMsTs": now, "UserId": "recorder_1", "TaskId": "rec-task-1",
            "Payload": {"Status": 0, "TencentVod": {"UserId": "", "TrackType": "audio", "MediaId": "main", "FileId": "f1",
                "VideoUrl": format!("{storage_url}/vod/call.wav"), "StartTimeStamp": now - 60_000, "EndTimeStamp": now}}}
    })
    .to_string();
    let accepted = reqwest::Client::new()
        .post(format!("{}/callbacks/trtc", hub.base_url))
        .header("SdkAppId", APP.to_string())
        .header("Sign", trtc::callback::sign(CALLBACK_KEY, body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200, "{}", accepted.text().await.unwrap());
    let recordings = client.recordings().await.unwrap();
    let file = recordings.iter().flat_map(|r| r.files.iter()).find(|f| f.name == "call.wav").cloned();
    let file = file.unwrap_or_else(|| panic!("the hub lists the file: {recordings:?}"));
    (hub, client, storage, file, dir)
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[tokio::test]
async fn a_download_cut_off_half_way_resumes_and_fetches_only_the_rest() {
    let original = content(300_000);
    let (hub, client, storage, file, _dir) = hub_with_ranged_storage(original.clone()).await;
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("call.wav");

    *storage.cut_next_after.lock().unwrap() = Some(120_000);
    let error = download(&client, &file, &dest, None, |_| {}).await.unwrap_err();
    match &error {
        DownloadError::Interrupted { received: 120_000, total: Some(300_000), .. } => {}
        other => panic!("expected an interruption after 120000 of 300000 bytes, got {other:?}"),
    }
    assert!(!dest.exists(), "no half file under the real name");
    assert_eq!(std::fs::metadata(part_of(&dest)).unwrap().len(), 120_000, "the part is kept");

    let mut reports = Reports::default();
    let done = download(&client, &file, &dest, Some(300_000), |p| reports.add(p)).await.unwrap();
    assert_eq!(done, Downloaded { path: dest.clone(), bytes: 300_000, resumed_from: 120_000 });
    assert_eq!(std::fs::read(&dest).unwrap(), original, "the joined file is the original");
    assert_eq!(storage.served.load(Ordering::SeqCst), 300_000, "120000 then only the 180000 missing bytes");
    assert_eq!(*storage.ranges.lock().unwrap(), [None, Some("bytes=120000-".to_owned())]);
    assert_eq!(reports.0.first(), Some(&Progress { bytes: 120_000, total: Some(300_000) }));
    assert_eq!(reports.0.last(), Some(&Progress { bytes: 300_000, total: Some(300_000) }));
    assert!(!part_of(&dest).exists());
    hub.stop().await;
}

#[tokio::test]
async fn a_part_that_is_already_whole_is_finished_without_fetching_it_again() {
    let original = content(50_000);
    let (hub, client, storage, file, _dir) = hub_with_ranged_storage(original.clone()).await;
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("whole.wav");
    std::fs::write(part_of(&dest), &original).unwrap();
    let done = download(&client, &file, &dest, None, |_| {}).await.unwrap();
    assert_eq!((done.bytes, done.resumed_from), (50_000, 50_000));
    assert_eq!(storage.served.load(Ordering::SeqCst), 0, "416: nothing served again");
    assert_eq!(std::fs::read(&dest).unwrap(), original);
    hub.stop().await;
}

#[tokio::test]
async fn a_server_that_ignores_the_range_is_read_again_from_the_start() {
    let original = content(80_000);
    let (hub, client, storage, file, _dir) = hub_with_ranged_storage(original.clone()).await;
    storage.ignore_range.store(true, Ordering::SeqCst);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("plain.wav");
    // A stale part that is not even a prefix of the file.
    std::fs::write(part_of(&dest), vec![0xAA; 30_000]).unwrap();
    let done = download(&client, &file, &dest, None, |_| {}).await.unwrap();
    assert_eq!((done.bytes, done.resumed_from), (80_000, 0));
    assert_eq!(std::fs::read(&dest).unwrap(), original, "the stale part was overwritten, not appended to");
    hub.stop().await;
}

#[tokio::test]
async fn sizes_other_than_expected_and_unknown_files_are_errors_that_say_so() {
    let original = content(40_000);
    let (hub, client, _storage, file, _dir) = hub_with_ranged_storage(original).await;
    let out = tempfile::tempdir().unwrap();

    let dest = out.path().join("short.wav");
    let error = download(&client, &file, &dest, Some(39_999), |_| {}).await.unwrap_err();
    assert!(
        matches!(error, DownloadError::SizeMismatch { expected: 39_999, actual: 40_000, part_kept: false }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("39999") && text.contains("40000"), "{text}");
    assert!(!dest.exists() && !part_of(&dest).exists());

    // A part longer than the expected file cannot be its prefix: it is dropped first.
    let dest = out.path().join("long-part.wav");
    std::fs::write(part_of(&dest), vec![1u8; 50_000]).unwrap();
    let done = download(&client, &file, &dest, Some(40_000), |_| {}).await.unwrap();
    assert_eq!((done.bytes, done.resumed_from), (40_000, 0));

    let missing = RecordingFile {
        name: "nope.wav".into(),
        download: "/v1/recordings/rec-task-1/nope.wav".into(),
        ..file.clone()
    };
    let error = download(&client, &missing, &out.path().join("nope.wav"), None, |_| {}).await.unwrap_err();
    match &error {
        DownloadError::Hub(HubError::Refused(refusal)) => {
            assert_eq!((refusal.status, refusal.code.as_str()), (404, "unknown_recording"));
        }
        other => panic!("expected the hub's 404, got {other:?}"),
    }
    hub.stop().await;
}
