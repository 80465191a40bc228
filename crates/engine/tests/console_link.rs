//! The console's link end to end, with real pieces on loopback: the real hub and TRTC
//! emulator (the built-in demo's, started here or by the console itself), the real hub
//! client, a real SQLite cache file, and a sink standing where the app window would be.
//!
//! - On a fresh data directory with no hub configured, the console starts the demo, goes
//!   live, and stores every event the hub logged exactly once, in order, as it forwards
//!   them; an alert rule that must fire does, once per call, stored and notified.
//! - Configured for a hub, the console's link is killed mid-ingest and started again on
//!   the same cache: it resumes from the stored cursor with nothing lost or duplicated.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::alert::{AlertRule, AlertRules, RuleId, RuleKind};
use domain::api::{ConnectionStatus, HubCredentials, LiveUpdate};
use engine::demo::Demo;
use engine::{Console, UiSink};

/// Stands where the app window is: keeps everything the link sends.
#[derive(Debug, Default)]
struct Collected {
    updates: Mutex<Vec<LiveUpdate>>,
    notifications: Mutex<Vec<(String, String)>>,
}

impl UiSink for Collected {
    fn live(&self, update: LiveUpdate) {
        self.updates.lock().unwrap().push(update);
    }

    fn notify(&self, title: &str, body: &str) {
        self.notifications.lock().unwrap().push((title.to_owned(), body.to_owned()));
    }
}

impl Collected {
    fn forwarded_seqs(&self) -> Vec<u64> {
        let updates = self.updates.lock().unwrap();
        updates
            .iter()
            .filter_map(|update| match update {
                LiveUpdate::Events { events } => {
                    Some(events.iter().filter_map(|e| e.seq.map(|s| s.0)).collect::<Vec<_>>())
                }
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn went_live(&self) -> bool {
        self.updates
            .lock()
            .unwrap()
            .iter()
            .any(|update| matches!(update, LiveUpdate::Connection { status: ConnectionStatus::Live }))
    }
}

async fn start(console: &Arc<Console>, sink: &Arc<Collected>) {
    console.start_link(sink.clone()).await;
}

/// `(rows, distinct seqs, min, max)` of the cache's events table, read from the file.
async fn stored_seqs(cache_file: &Path) -> (i64, i64, i64, i64) {
    let url = format!("sqlite://{}?mode=ro", cache_file.display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT seq), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM events")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

async fn hub_last_seq(http: &reqwest::Client, hub: &str) -> u64 {
    let health: serde_json::Value = http.get(format!("{hub}/healthz")).send().await.unwrap().json().await.unwrap();
    health["last_seq"].as_u64().unwrap()
}

/// Waits until the cache holds the hub's log up to what it had when asked, then checks
/// every seq from 1 is there exactly once.
async fn assert_cache_caught_up(http: &reqwest::Client, hub: &str, cache: &Path, limit: Duration) -> u64 {
    let deadline = Instant::now() + limit;
    let mut target = hub_last_seq(http, hub).await;
    while target == 0 {
        assert!(Instant::now() < deadline, "the hub logged nothing within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        target = hub_last_seq(http, hub).await;
    }
    loop {
        let (rows, distinct, min, max) = stored_seqs(cache).await;
        if u64::try_from(max).unwrap() >= target {
            assert_eq!((rows, distinct, min), (max, max, 1), "seqs 1..={max} stored exactly once each");
            return target;
        }
        assert!(Instant::now() < deadline, "the cache reached seq {max}, not {target}, within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_hub_configured_the_console_runs_the_demo_and_stores_and_forwards_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let console = Arc::new(Console::open(dir.path(), "test", Some("en-US".into())).unwrap());
    let sink = Arc::new(Collected::default());
    start(&console, &sink).await;

    wait_until(Duration::from_secs(30), "the link goes live", || sink.went_live()).await;
    let info = console.app_info();
    let hub = info.hub.clone().expect("the demo's hub is reported");
    assert!(hub.demo && hub.url.starts_with("http://127.0.0.1:"), "{hub:?}");
    assert_eq!(info.connection, ConnectionStatus::Live);

    // An alert rule every call trips after a second: fired once per call, stored, notified.
    let rules = AlertRules {
        rules: vec![AlertRule {
            id: RuleId::new("long"),
            enabled: true,
            kind: RuleKind::CallTooLong { limit_secs: 1 },
        }],
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while console.set_alert_rules(rules.clone()).await.is_err() {
        assert!(Instant::now() < deadline, "the cache never opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_until(Duration::from_secs(30), "an alert is notified", || !sink.notifications.lock().unwrap().is_empty())
        .await;

    let http = reqwest::Client::new();
    let cache = dir.path().join(engine::link::cache_file(None));
    let stored = assert_cache_caught_up(&http, &hub.url, &cache, Duration::from_secs(30)).await;
    wait_until(Duration::from_secs(10), "everything stored is forwarded", || {
        sink.forwarded_seqs().last().copied().unwrap_or(0) >= stored
    })
    .await;
    let forwarded = sink.forwarded_seqs();
    assert_eq!(forwarded, (1..=forwarded.len() as u64).collect::<Vec<_>>(), "forwarded once each, in order");

    let alerts = console.alerts().await.unwrap();
    let notified = sink.notifications.lock().unwrap().clone();
    assert!(!alerts.is_empty());
    let calls: std::collections::BTreeSet<_> = alerts.iter().map(|entry| entry.alert.call.clone()).collect();
    assert_eq!(calls.len(), alerts.len(), "one alert per call and rule: {alerts:?}");
    assert!(notified.len() <= alerts.len(), "never notified twice: {notified:?}");
    assert_eq!(notified[0].0, "Switchboard alert");

    // The supervisor switches to Chinese: notifications from then on are in Chinese.
    console.set_language(domain::api::Language::ZhCn).unwrap();
    let mut both = rules.clone();
    both.rules.push(AlertRule {
        id: RuleId::new("long-zh"),
        enabled: true,
        kind: RuleKind::CallTooLong { limit_secs: 1 },
    });
    console.set_alert_rules(both).await.unwrap();
    wait_until(Duration::from_secs(30), "a notification in Chinese", || {
        sink.notifications.lock().unwrap().iter().any(|(title, _)| title == "Switchboard 告警")
    })
    .await;

    // Search over what was stored: every demo call opens with a welcome, in Chinese
    // (您好，我是智能客服小美…) or English (Hello, this is the virtual assistant…).
    let mut found = Vec::new();
    for query in ["客服", "assistant"] {
        let request = domain::api::SearchRequest { query: query.into(), ..Default::default() };
        found.extend(console.search(&request).await.unwrap());
    }
    assert!(!found.is_empty(), "the welcome lines are searchable");
    assert!(found.iter().all(|hit| hit.snippet.iter().any(|part| part.hit)), "every hit is highlighted: {found:?}");

    // The snapshot a window would load folds to the board the engine holds.
    let snapshot = console.live_snapshot();
    assert!(!snapshot.events.is_empty() && snapshot.last_seq >= stored);

    // Stopping the link lets go of the demo: its hub no longer answers.
    console.stop_link().await;
    assert!(http.get(format!("{}/healthz", hub.url)).send().await.is_err(), "the demo's hub still answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_killed_mid_ingest_resumes_from_its_cursor_with_nothing_lost_or_repeated() {
    let hub_dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(hub_dir.path()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("settings.json"), serde_json::json!({"hubUrl": demo.hub_url}).to_string()).unwrap();
    let store = engine::token_store::TokenStore::file_only(dir.path());
    store.save(&demo.hub_url, &demo.token).await.unwrap();
    // The console must find the token where this test put it, not in a desktop keychain.
    std::env::set_var(engine::token_store::KEYCHAIN_ENV, "off");

    let http = reqwest::Client::new();
    let cache = dir.path().join(engine::link::cache_file(Some(&demo.hub_url)));
    for round in 0..3u64 {
        let data_dir = dir.path().to_path_buf();
        let cache = cache.clone();
        // The console runs on a runtime of its own that is then dropped at once: every task
        // (link, hub client, cache writer mid-transaction) stops wherever it is, as in a
        // crash; the SQLite file is left as the dropped connections leave it.
        tokio::task::spawn_blocking(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async {
                let console = Arc::new(Console::open(&data_dir, "test", None).unwrap());
                let sink = Arc::new(Collected::default());
                start(&console, &sink).await;
                wait_for_cache(&console).await;
                let before = u64::try_from(stored_seqs(&cache).await.3).unwrap();
                wait_until(Duration::from_secs(30), "new events arrive", || {
                    sink.forwarded_seqs().last().copied().unwrap_or(0) > before
                })
                .await;
                tokio::time::sleep(Duration::from_millis(150 * round)).await;
            });
            runtime.shutdown_background();
        })
        .await
        .unwrap();
    }
    let console = Arc::new(Console::open(dir.path(), "test", None).unwrap());
    let sink = Arc::new(Collected::default());
    start(&console, &sink).await;
    let hub = console_hub(&console).await;
    assert!(!hub.demo, "configured for a hub, the console does not start its own demo");
    assert!(matches!(hub.token_storage, Some(domain::api::TokenStorage::File { .. })), "{hub:?}");
    assert_cache_caught_up(&http, &demo.hub_url, &cache, Duration::from_secs(30)).await;
    console.stop_link().await;
    demo.stop().await;
}

/// Waits until the console's link has opened (and migrated) the cache.
async fn wait_for_cache(console: &Console) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while console.alerts().await.is_err() {
        assert!(Instant::now() < deadline, "the cache never opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn console_hub(console: &Console) -> domain::api::HubInfo {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(hub) = console.app_info().hub {
            return hub;
        }
        assert!(Instant::now() < deadline, "the link never reported its hub");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervisor_can_switch_from_the_demo_to_a_hub_and_back() {
    std::env::set_var(engine::token_store::KEYCHAIN_ENV, "off");
    let hub_dir = tempfile::tempdir().unwrap();
    let other = Demo::start(hub_dir.path()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let console = Arc::new(Console::open(dir.path(), "test", None).unwrap());
    let sink = Arc::new(Collected::default());
    start(&console, &sink).await;
    let first = console_hub(&console).await;
    assert!(first.demo);

    // A wrong token is refused with a reason, and nothing changes.
    let wrong = HubCredentials { url: other.hub_url.clone(), token: "not-a-token".into() };
    let err = console.connect_hub(&wrong).await.expect_err("a refused token must not be saved");
    assert_eq!(domain::api::ApiError::from(err).code, domain::api::ErrorCode::Hub);
    assert!(console.app_info().hub.unwrap().demo, "still on the demo");
    let unreachable = HubCredentials { url: "http://127.0.0.1:9".into(), token: "t".into() };
    assert!(console.test_hub_connection(&unreachable).await.is_err());

    let right = HubCredentials { url: other.hub_url.clone(), token: other.token.expose().to_owned() };
    let check = console.test_hub_connection(&right).await.unwrap();
    assert_eq!(check.role, "lead");
    console.connect_hub(&right).await.unwrap();
    let hub = console_hub(&console).await;
    assert!(!hub.demo && hub.url == other.hub_url, "{hub:?}");
    assert!(matches!(hub.token_storage, Some(domain::api::TokenStorage::File { .. })), "{hub:?}");
    let settings = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
    assert!(!settings.contains(other.token.expose()), "the token never goes into settings.json");
    let cache = dir.path().join(engine::link::cache_file(Some(&other.hub_url)));
    let http = reqwest::Client::new();
    assert_cache_caught_up(&http, &other.hub_url, &cache, Duration::from_secs(30)).await;

    console.use_demo().await.unwrap();
    assert!(console_hub(&console).await.demo, "back on the built-in demo");
    console.stop_link().await;
    other.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_call_can_be_reviewed_with_the_hub_gone() {
    std::env::set_var(engine::token_store::KEYCHAIN_ENV, "off");
    let hub_dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(hub_dir.path()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let console = Arc::new(Console::open(dir.path(), "test", None).unwrap());
    let sink = Arc::new(Collected::default());
    start(&console, &sink).await;
    console
        .connect_hub(&HubCredentials { url: demo.hub_url.clone(), token: demo.token.expose().to_owned() })
        .await
        .unwrap();
    wait_until(Duration::from_secs(30), "a final sentence arrives", || {
        sink.updates.lock().unwrap().iter().any(|update| {
            matches!(update, LiveUpdate::Events { events } if events.iter().any(|event| serde_json::to_value(&event.body).unwrap()["kind"] == "sentence"))
        })
    })
    .await;
    let task = sink
        .updates
        .lock()
        .unwrap()
        .iter()
        .find_map(|update| match update {
            LiveUpdate::Events { events } => events.iter().find_map(|event| event.call.task.clone()),
            _ => None,
        })
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let online = console.call_events(&task).await.unwrap();
    console.stop_link().await;
    demo.stop().await;

    // The network is gone: a console started now cannot reach the hub, yet reviews the call.
    let console = Arc::new(Console::open(dir.path(), "test", None).unwrap());
    let sink = Arc::new(Collected::default());
    start(&console, &sink).await;
    wait_for_cache(&console).await;
    let offline = console.call_events(&task).await.unwrap();
    assert!(
        offline.len() >= online.len() && !offline.is_empty(),
        "{} events offline, {} online",
        offline.len(),
        online.len()
    );
    let mut call = domain::call::Call::new(task.clone());
    offline.iter().for_each(|event| call.apply(event));
    assert!(!call.turns().is_empty() || call.started_ms().is_some(), "the cached events fold into the call");
    wait_until(Duration::from_secs(10), "the link says it is offline", || {
        sink.updates
            .lock()
            .unwrap()
            .iter()
            .any(|update| matches!(update, LiveUpdate::Connection { status: ConnectionStatus::Offline { .. } }))
    })
    .await;
    // …and exports it, offline too.
    let out = tempfile::tempdir().unwrap();
    let export = console
        .export_call(&domain::api::ExportRequest {
            call: task.clone(),
            dest_dir: out.path().display().to_string(),
            replace: false,
        })
        .await
        .unwrap();
    assert!(export.files.iter().any(|file| file == "call.json"), "{export:?}");
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(&export.dir).join("call.json")).unwrap()).unwrap();
    assert_eq!(document["schema"], "switchboard.call-export", "{document}");
    let refused = console
        .download_recording(&domain::api::RecordingRef { recording: task.clone(), name: "x.wav".into() })
        .await
        .expect_err("no download without a hub");
    assert_eq!(domain::api::ApiError::from(refused).code, domain::api::ErrorCode::Hub);
    console.stop_link().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_of_more_live_calls_than_a_cache_page_is_restored_whole_at_start() {
    const APP: u64 = 1_400_000_321;
    const KEY: &str = "restore-callback-key";
    const CALLS: usize = 700; // more than one 500-call page of the cache
    std::env::set_var(engine::token_store::KEYCHAIN_ENV, "off");
    let hub_dir = tempfile::tempdir().unwrap();
    let mut config = hub::HubConfig::new(APP, KEY, hub_dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let hub = hub::start(config).await.unwrap();
    let token = hub.add_user("li", hub::auth::Role::Lead).await.unwrap();
    let http = reqwest::Client::new();
    let now = hub::now_ms();
    for i in 0..CALLS {
        let body = serde_json::json!({
            "EventGroupId": 9, "EventType": 901, "CallbackTs": hub::now_ms(),
            "EventInfo": {"EventMsTs": now, "TaskId": format!("task-{i:03}"), "RoomId": format!("{}", 9_000 + i),
                          "RoomIdType": 0, "Payload": {"Status": 0}}
        })
        .to_string();
        let response = http
            .post(format!("{}/callbacks/trtc", hub.base_url))
            .header("SdkAppId", APP.to_string())
            .header("Sign", trtc::callback::sign(KEY, body.as_bytes()))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }

    let dir = tempfile::tempdir().unwrap();
    let creds = HubCredentials { url: hub.base_url.clone(), token };
    let console = Arc::new(Console::open(dir.path(), "test", None).unwrap());
    start(&console, &Arc::new(Collected::default())).await;
    console.connect_hub(&creds).await.unwrap();
    let cache = dir.path().join(engine::link::cache_file(Some(&hub.base_url)));
    wait_until(Duration::from_secs(30), "the hub's cache file is made", || cache.exists()).await;
    assert_cache_caught_up(&http, &hub.base_url, &cache, Duration::from_secs(30)).await;
    console.stop_link().await;
    drop(console);

    // The console starts again on the same data: the wall comes back from the cache whole.
    let console = Arc::new(Console::open(dir.path(), "test", None).unwrap());
    let sink = Arc::new(Collected::default());
    start(&console, &sink).await;
    let live = || {
        let mut board = domain::board::Board::new();
        for event in &console.live_snapshot().events {
            board.apply(event);
        }
        board.live_calls().count()
    };
    wait_until(Duration::from_secs(30), "all live calls restored", || live() == CALLS).await;
    // The window is told to take a new snapshot once the board is restored: one it took
    // while the cache was being read would miss the restored calls.
    wait_until(Duration::from_secs(10), "a reset is sent after the restore", || {
        sink.updates.lock().unwrap().contains(&LiveUpdate::Reset)
    })
    .await;
    console.stop_link().await;
    hub.stop().await;
}
