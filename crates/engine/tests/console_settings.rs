//! The settings screen's console methods with real files: `cache_info` measures the real
//! SQLite cache and its WAL, `set_retention` is validated, saved to `settings.json` and
//! applied by the running link's retention tick (against the real built-in demo), and
//! `token_location` names the file that really holds the demo's token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use domain::api::{ApiError, ErrorCode, LiveUpdate, TokenLocation};
use domain::event::Event;
use domain::ids::{SdkAppId, Seq, TaskId};
use engine::cache::Cache;
use engine::{Console, UiSink};
use serde_json::json;

#[derive(Debug, Default)]
struct Quiet;

impl UiSink for Quiet {
    fn live(&self, _update: LiveUpdate) {}
    fn notify(&self, _title: &str, _body: &str) {}
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |meta| meta.len())
}

fn wal(path: &Path) -> std::path::PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    wal.into()
}

/// A finished call whose events are `age_days` old, with hub sequence numbers from 1.
fn old_call(task: &str, age_days: u64) -> Vec<Event> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    let start = u64::try_from(now).unwrap() - age_days * 86_400_000;
    let ai = |event_type: u64, ms: u64, payload: serde_json::Value| {
        let body = json!({
            "EventGroupId": 9, "EventType": event_type, "CallbackTs": ms + 40,
            "EventInfo": {"EventMsTs": ms, "TaskId": task, "RoomId": "4242", "RoomIdType": 0, "Payload": payload}
        });
        Event::from_callback(body.to_string().as_bytes(), Some(SdkAppId(1_400_000_000))).unwrap()
    };
    let mut events = vec![
        ai(901, start, json!({"Status": 0})),
        ai(
            903,
            start + 2_000,
            json!({"UserId": "customer_1", "Text": "old call", "StartTimeMs": start + 1_000, "EndTimeMs": start + 1_900, "RoundId": "r1"}),
        ),
        ai(902, start + 5_000, json!({"LeaveCode": 0})),
    ];
    for (n, event) in events.iter_mut().enumerate() {
        event.seq = Some(Seq(n as u64 + 1));
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_info_names_the_demo_cache_and_measures_its_file_and_wal() {
    let dir = tempfile::tempdir().unwrap();
    let console = Console::open(dir.path(), "test", None).unwrap();
    let info = console.cache_info().unwrap();
    let path = console.data_dir().join("cache-demo.sqlite");
    assert_eq!(info.path, path.display().to_string(), "no hub configured: the demo's cache");
    assert_eq!(info.bytes, 0, "nothing on disk yet");
    assert_eq!((info.retention_days, info.retention_saved), (90, false), "the default retention");

    // A real cache, open (so its WAL holds the fresh writes), then closed (WAL folded back).
    let cache = Cache::open(&path).await.unwrap().cache;
    cache.append(old_call("t-size", 3)).await.unwrap();
    let open = console.cache_info().unwrap();
    assert!(size(&wal(&path)) > 0, "an open cache with writes has a WAL");
    assert_eq!(open.bytes, size(&path) + size(&wal(&path)), "file and WAL both count");
    cache.close().await;
    let closed = console.cache_info().unwrap();
    assert_eq!(closed.bytes, size(&path) + size(&wal(&path)));
    assert!(closed.bytes >= 4096, "a migrated SQLite file is at least a page: {}", closed.bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retention_out_of_range_is_refused_naming_the_field_and_nothing_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let console = Console::open(dir.path(), "test", None).unwrap();
    for days in [0, -1, 3_651] {
        let err = ApiError::from(console.set_retention(days).expect_err("out of range"));
        assert_eq!(err.code, ErrorCode::BadRequest);
        assert!(err.message.contains("retentionDays") && err.message.contains("between 1 and 3650"), "{err:?}");
    }
    assert!(!dir.path().join("settings.json").exists(), "a refused value is not written");
    assert_eq!(console.cache_info().unwrap().retention_days, 90);

    let info = console.set_retention(3_650).unwrap();
    assert_eq!((info.retention_days, info.retention_saved), (3_650, true));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("settings.json")).unwrap()).unwrap();
    assert_eq!(saved["retentionDays"], 3_650);
    let reopened = Console::open(dir.path(), "test", None).unwrap();
    assert_eq!(reopened.cache_info().unwrap().retention_days, 3_650, "the choice survives a restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shorter_retention_is_applied_by_the_running_links_next_tick() {
    let dir = tempfile::tempdir().unwrap();
    let console = Arc::new(Console::open(dir.path(), "test", None).unwrap());
    // A call that finished ten days ago is in the demo's cache before the link starts.
    let path = console.data_dir().join(engine::link::cache_file(None));
    let seeded = Cache::open(&path).await.unwrap().cache;
    seeded.append(old_call("t-old", 10)).await.unwrap();
    seeded.close().await;
    console.set_retention(30).unwrap();

    console.start_link(Arc::new(Quiet)).await;
    let old = TaskId::new("t-old");
    let deadline = Instant::now() + Duration::from_secs(20);
    let events = loop {
        if let Ok(events) = console.call_events(&old).await {
            break events;
        }
        assert!(Instant::now() < deadline, "the link never opened the cache");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The first pass runs on the link's first tick; give it time, then the call must remain.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(events.len(), 3);
    assert_eq!(console.call_events(&old).await.unwrap().len(), 3, "ten days old is within 30 days");

    // Down to five days: the link's next tick (seconds, not the six-hour pause) purges it.
    let info = console.set_retention(5).unwrap();
    assert_eq!(info.retention_days, 5);
    assert_eq!(info.path, path.display().to_string());
    let deadline = Instant::now() + Duration::from_secs(15);
    while !console.call_events(&old).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the ten-day-old call was not purged after lowering the retention");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The demo's own token is where the settings screen will say it is, owner-only.
    let TokenLocation::DemoCredentials { path } = console.token_location().await.unwrap() else {
        panic!("the demo's token lives with its credentials");
    };
    assert_eq!(Path::new(&path), console.data_dir().join("demo").join("credentials.json"));
    let meta = std::fs::metadata(&path).expect("the demo wrote its credentials file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "readable by the owner only");
    assert!(console.app_info().hub.expect("linked").demo, "the link runs the demo");
    console.stop_link().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_hub_without_a_saved_token_says_so_and_a_saved_one_names_its_file() {
    std::env::set_var(engine::token_store::KEYCHAIN_ENV, "off");
    let dir = tempfile::tempdir().unwrap();
    let url = "http://127.0.0.1:9";
    engine::settings::SettingsFile::in_dir(dir.path())
        .save(&engine::settings::Settings { hub_url: Some(url.into()), ..Default::default() })
        .unwrap();
    let console = Console::open(dir.path(), "test", None).unwrap();
    assert_eq!(console.token_location().await.unwrap(), TokenLocation::NotSaved);

    let token = engine::hub_client::HubToken::new("secret-token-value".to_owned()).unwrap();
    engine::token_store::TokenStore::file_only(console.data_dir()).save(url, &token).await.unwrap();
    let location = console.token_location().await.unwrap();
    let expected = console.data_dir().join(engine::token_store::FILE_NAME).display().to_string();
    assert_eq!(location, TokenLocation::File { path: expected });
    assert!(!format!("{location:?}").contains("secret-token-value"), "the token never shows");
}
