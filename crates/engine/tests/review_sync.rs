//! Review data between supervisors, end to end with real pieces on loopback: two consoles
//! (two data directories, two caches) linked to one real hub — the built-in demo's, with
//! the TRTC emulator generating calls, or a hub this test stops and starts again on the
//! same port and data directory.
//!
//! - Supervisor A adds a note, tags a call; supervisor B sees them in `call_review` within
//!   seconds, and B's QA score reaches A; A's own note is one note, marked pushed.
//! - A writes a note and tags while the hub is down: both are kept locally as not pushed,
//!   and pushed once the link is live again — B then sees them, and the hub holds the note
//!   once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::api::{
    AddNoteRequest, CallReview, ConnectionStatus, HubCredentials, LiveUpdate, SetQaScoreRequest, SetTagsRequest,
};
use domain::ids::{RoundId, TaskId};
use engine::demo::{Demo, DEMO_USER};
use engine::hub_client::Role;
use engine::{Console, UiSink};
use serde_json::{json, Value};

/// Stands where the app window is: keeps what the link sends.
#[derive(Debug, Default)]
struct Collected {
    updates: Mutex<Vec<LiveUpdate>>,
}

impl UiSink for Collected {
    fn live(&self, update: LiveUpdate) {
        self.updates.lock().unwrap().push(update);
    }

    fn notify(&self, _title: &str, _body: &str) {}
}

/// Polls `check` every 100 ms until it answers `Some`, for at most `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A console for `url` with `token`, configured the way the settings screen does it, then
/// linked.
async fn console(dir: &Path, url: &str, token: &str) -> (Arc<Console>, Arc<Collected>) {
    std::env::set_var(engine::token_store::KEYCHAIN_ENV, "off");
    let console = Arc::new(Console::open(dir, "test", Some("en-US".into())).unwrap());
    console.connect_hub(&HubCredentials { url: url.to_owned(), token: token.to_owned() }).await.unwrap();
    let sink = Arc::new(Collected::default());
    console.start_link(sink.clone()).await;
    (console, sink)
}

async fn until_live(console: &Console, what: &str) {
    eventually(Duration::from_secs(30), what, || async {
        (console.app_info().connection == ConnectionStatus::Live).then_some(())
    })
    .await;
}

/// A call both consoles hold in their caches.
async fn call_in_both(a: &Console, b: &Console) -> TaskId {
    eventually(Duration::from_secs(60), "a call in both caches", || async {
        let events = a.live_snapshot().events;
        for task in events.iter().filter_map(|event| event.call.task.clone()) {
            let in_a = a.call_events(&task).await.is_ok_and(|events| !events.is_empty());
            let in_b = b.call_events(&task).await.is_ok_and(|events| !events.is_empty());
            if in_a && in_b && a.call_review(&task).await.is_ok() {
                return Some(task);
            }
        }
        None
    })
    .await
}

async fn review_of(console: &Console, call: &TaskId) -> CallReview {
    console.call_review(call).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_tags_and_a_score_from_one_supervisor_reach_the_other_within_seconds() {
    let hub_dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(hub_dir.path()).await.unwrap();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, _) = console(dir_a.path(), &demo.hub_url, demo.token.expose()).await;
    let (b, _) = console(dir_b.path(), &demo.hub_url, demo.token.expose()).await;
    until_live(&a, "A goes live").await;
    until_live(&b, "B goes live").await;
    let call = call_in_both(&a, &b).await;

    let written = a
        .add_note(&AddNoteRequest {
            call: call.clone(), text: "客户要求主管回电 / call back".into(), round: None
        })
        .await
        .unwrap();
    let [mine] = written.notes.as_slice() else { panic!("one note: {written:?}") };
    assert_eq!(mine.text, "客户要求主管回电 / call back");
    a.set_tags(&SetTagsRequest { call: call.clone(), tags: vec!["回访".into(), "vip".into()] }).await.unwrap();

    let seen = eventually(Duration::from_secs(10), "B sees A's note and tags", || async {
        let review = review_of(&b, &call).await;
        (review.notes.len() == 1 && review.tags.len() == 2).then_some(review)
    })
    .await;
    let theirs = &seen.notes[0];
    assert_eq!((theirs.id.as_str(), theirs.text.as_str()), (mine.id.as_str(), mine.text.as_str()), "the same note");
    assert_eq!(theirs.author, DEMO_USER, "signed by the hub's name for the token");
    assert!(theirs.pushed, "a note from the hub is on the hub");
    assert_eq!(seen.tags, ["vip", "回访"]);
    assert!(seen.tags_pushed);

    // A's own note, once its event is back: still one note, now pushed.
    let own = eventually(Duration::from_secs(10), "A's note is pushed", || async {
        let review = review_of(&a, &call).await;
        (review.notes.iter().all(|note| note.pushed) && review.tags_pushed).then_some(review)
    })
    .await;
    assert_eq!(own.notes.len(), 1, "the returning event is the same note: {own:?}");
    assert_eq!(own.notes[0].id, mine.id);

    // And back the other way: B scores the call, A sees it.
    b.set_qa_score(&SetQaScoreRequest { call: call.clone(), score: 88, comment: Some("处理得当".into()) })
        .await
        .unwrap();
    let scored = eventually(Duration::from_secs(10), "A sees B's score", || async {
        review_of(&a, &call).await.qa.filter(|qa| qa.score == 88)
    })
    .await;
    assert_eq!((scored.comment.as_deref(), scored.pushed), (Some("处理得当"), true));

    a.stop_link().await;
    b.stop_link().await;
    demo.stop().await;
}

const APP: u64 = 1_400_000_777;
const CALLBACK_KEY: &str = "review-sync-callback-key";
const TASK: &str = "task-reviewed-offline";

fn hub_config(dir: &Path, listen: std::net::SocketAddr) -> hub::HubConfig {
    let mut config = hub::HubConfig::new(APP, CALLBACK_KEY, dir);
    config.listen = listen;
    config.heartbeat = Duration::from_millis(500);
    config
}

/// Posts a callback signed as TRTC signs it.
async fn post_callback(http: &reqwest::Client, base_url: &str, event_type: u64, ms: u64, payload: Value) {
    let body = json!({
        "EventGroupId": 9, "EventType": event_type, "CallbackTs": hub::now_ms(),
        "EventInfo": {"EventMsTs": ms, "TaskId": TASK, "RoomId": "8801", "RoomIdType": 0, "Payload": payload}
    })
    .to_string();
    let response = http
        .post(format!("{base_url}/callbacks/trtc"))
        .header("Content-Type", "application/json")
        .header("SdkAppId", APP.to_string())
        .header("Sign", trtc::callback::sign(CALLBACK_KEY, body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the hub takes the callback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_and_tags_written_while_the_hub_is_down_are_pushed_once_the_link_is_back() {
    let hub_dir = tempfile::tempdir().unwrap();
    let running = hub::start(hub_config(hub_dir.path(), "127.0.0.1:0".parse().unwrap())).await.unwrap();
    let (addr, url) = (running.addr, running.base_url.clone());
    let li = running.add_user("li", Role::Supervisor).await.unwrap();
    let wang = running.add_user("wang", Role::Viewer).await.unwrap();
    let http = reqwest::Client::new();
    let t0 = hub::now_ms() - 30_000;
    post_callback(&http, &url, 901, t0, json!({"Status": 0})).await;
    post_callback(
        &http,
        &url,
        903,
        t0 + 2_000,
        json!({"UserId": "customer_1", "Text": "我要投诉", "StartTimeMs": t0 + 1_000, "EndTimeMs": t0 + 2_000, "RoundId": "r1"}),
    )
    .await;

    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, _) = console(dir_a.path(), &url, &li).await;
    let (b, _) = console(dir_b.path(), &url, &wang).await;
    until_live(&a, "A goes live").await;
    until_live(&b, "B goes live").await;
    let call = call_in_both(&a, &b).await;
    assert_eq!(call.as_str(), TASK);

    // The hub goes away; A keeps reviewing.
    running.stop().await;
    eventually(Duration::from_secs(10), "A sees the hub gone", || async {
        matches!(a.app_info().connection, ConnectionStatus::Offline { .. }).then_some(())
    })
    .await;
    let offline = a
        .add_note(&AddNoteRequest {
            call: call.clone(),
            text: "written offline".into(),
            round: Some(RoundId::new("r1")),
        })
        .await
        .unwrap();
    let [pending] = offline.notes.as_slice() else { panic!("one note: {offline:?}") };
    assert!(!pending.pushed && pending.push_error.is_none(), "kept locally, not yet pushed: {pending:?}");
    let tagged = a.set_tags(&SetTagsRequest { call: call.clone(), tags: vec!["投诉".into()] }).await.unwrap();
    assert_eq!((tagged.tags.as_slice(), tagged.tags_pushed), (["投诉".to_owned()].as_slice(), false));
    // Still offline a moment later: nothing was pushed anywhere.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let review = review_of(&a, &call).await;
    assert!(!review.notes[0].pushed && !review.tags_pushed, "{review:?}");

    // The same hub comes back on the same port and data directory.
    let again = hub::start(hub_config(hub_dir.path(), addr)).await.unwrap();
    until_live(&a, "A is live again").await;
    let pushed = eventually(Duration::from_secs(20), "A's offline writes are pushed", || async {
        let review = review_of(&a, &call).await;
        (review.notes.first().is_some_and(|note| note.pushed) && review.tags_pushed).then_some(review)
    })
    .await;
    assert_eq!(pushed.notes.len(), 1, "one note, not a local and a returned copy: {pushed:?}");
    assert_eq!(pushed.notes[0].id, pending.id);
    assert_eq!(pushed.notes[0].author, "li");
    assert_eq!(pushed.notes[0].at_ms, pending.at_ms, "the note keeps the time it was written");

    let seen = eventually(Duration::from_secs(30), "B sees the note written offline", || async {
        let review = review_of(&b, &call).await;
        (review.notes.len() == 1 && !review.tags.is_empty()).then_some(review)
    })
    .await;
    assert_eq!((seen.notes[0].id.as_str(), seen.notes[0].author.as_str()), (pending.id.as_str(), "li"));
    assert_eq!(seen.notes[0].round.as_ref().map(|round| round.as_str()), Some("r1"));
    assert_eq!(seen.tags, ["投诉"]);

    let snapshot: Value =
        http.get(format!("{url}/v1/calls/{TASK}")).bearer_auth(&wang).send().await.unwrap().json().await.unwrap();
    assert_eq!(snapshot["call"]["review"]["notes"].as_object().map(|notes| notes.len()), Some(1), "{snapshot}");

    a.stop_link().await;
    b.stop_link().await;
    again.stop().await;
}
