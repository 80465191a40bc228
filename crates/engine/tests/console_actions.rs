//! The call view's actions through the console, with real pieces on loopback: the real hub
//! (a bare one this test feeds with signed callbacks, or the built-in demo's, with the TRTC
//! emulator speaking what it is told), real hub clients, real SQLite caches.
//!
//! - Against the demo, the demo lead says a line and the robot speaks it (the command
//!   reaches `done`), then stops the call and the call ends (`done`, 902).
//! - Against a bare hub: a viewer's line is refused naming the role it needs; a lead takes
//!   the call over and another lead is refused naming the lock's holder; a reply without
//!   a take-over, and blank text, are refused; presence lists who watches.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::api::{
    CallActionRequest, ConnectionStatus, HubCredentials, LiveUpdate, SayTiming, SupervisorAction, SupervisorRole,
    WatchRequest,
};
use domain::event::{CommandStage, Event, EventBody};
use domain::ids::TaskId;
use engine::demo::{Demo, DEMO_USER};
use engine::{Console, UiSink};
use hub::auth::Role;
use serde_json::json;

const APP: u64 = 1_400_000_321;
const CALLBACK_KEY: &str = "console-actions-callback-key";

/// Stands where the app window is: keeps every event the link forwards.
#[derive(Debug, Default)]
struct Collected {
    events: Mutex<Vec<Event>>,
}

impl UiSink for Collected {
    fn live(&self, update: LiveUpdate) {
        if let LiveUpdate::Events { events } = update {
            self.events.lock().unwrap().extend(events);
        }
    }

    fn notify(&self, _title: &str, _body: &str) {}
}

impl Collected {
    fn command_stage(&self, id: &str) -> Option<CommandStage> {
        let events = self.events.lock().unwrap();
        let stages = events.iter().filter_map(|event| match &event.body {
            EventBody::Command(record) if record.id == id => Some(record.stage),
            _ => None,
        });
        // A final stage wins, as in the fold.
        stages.max_by_key(|stage| (stage.is_final(), *stage))
    }

    fn stopped(&self, task: &TaskId) -> bool {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .any(|event| event.call.task.as_ref() == Some(task) && matches!(event.body, EventBody::TaskStopped { .. }))
    }
}

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

/// A console linked to `url` with `token`, as the settings screen sets it up.
async fn console(dir: &Path, url: &str, token: &str) -> (Arc<Console>, Arc<Collected>) {
    std::env::set_var(engine::token_store::KEYCHAIN_ENV, "off");
    let console = Arc::new(Console::open(dir, "test", Some("en-US".into())).unwrap());
    console.connect_hub(&HubCredentials { url: url.to_owned(), token: token.to_owned() }).await.unwrap();
    let sink = Arc::new(Collected::default());
    console.start_link(sink.clone()).await;
    eventually(Duration::from_secs(30), "the link goes live", || async {
        (console.app_info().connection == ConnectionStatus::Live).then_some(())
    })
    .await;
    (console, sink)
}

fn act(call: &TaskId, action: SupervisorAction) -> CallActionRequest {
    CallActionRequest { call: call.clone(), action }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_lead_says_a_line_the_robot_speaks_it_and_stopping_ends_the_call() {
    let hub_dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(hub_dir.path()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (console, sink) = console(dir.path(), &demo.hub_url, demo.token.expose()).await;

    let me = console.whoami().await.unwrap();
    assert_eq!((me.user.as_str(), me.role), (DEMO_USER, SupervisorRole::Lead), "the demo supervisor may do it all");

    // A call whose robot is in the room (909 seen), so a pushed line can be spoken.
    let call = eventually(Duration::from_secs(60), "a live call with its robot ready", || async {
        let events = console.live_snapshot().events;
        events
            .iter()
            .filter(|event| matches!(event.body, EventBody::SessionReady))
            .filter_map(|event| event.call.task.clone())
            .find(|task| !sink.stopped(task))
    })
    .await;

    let watchers = console.watch_call(&WatchRequest { call: call.clone(), watching: true }).await.unwrap();
    assert_eq!(watchers.watchers, [DEMO_USER]);

    let line = "A supervisor is joining to help you.";
    let said = console
        .call_action(&act(&call, SupervisorAction::Say { text: line.into(), timing: SayTiming::Now }))
        .await
        .unwrap();
    assert!(matches!(said.stage, CommandStage::Accepted | CommandStage::Done), "{said:?}");
    eventually(Duration::from_secs(45), "the line is spoken (the command is done)", || async {
        match sink.command_stage(&said.command_id) {
            Some(CommandStage::Done) => Some(()),
            Some(CommandStage::Failed) => panic!("the line failed"),
            _ => None,
        }
    })
    .await;
    let spoken = sink.events.lock().unwrap().iter().any(|event| {
        event.call.task.as_ref() == Some(&call)
            && matches!(&event.body, EventBody::Sentence(sentence) if sentence.text.contains("supervisor is joining"))
    });
    assert!(spoken, "the robot's sentence with the line arrived");

    let stop = console.call_action(&act(&call, SupervisorAction::Stop)).await.unwrap();
    eventually(Duration::from_secs(30), "the call ends", || async { sink.stopped(&call).then_some(()) }).await;
    eventually(Duration::from_secs(10), "the stop is done", || async {
        (sink.command_stage(&stop.command_id) == Some(CommandStage::Done)).then_some(())
    })
    .await;
    let gone = console.watch_call(&WatchRequest { call: call.clone(), watching: false }).await.unwrap();
    assert!(gone.watchers.is_empty(), "{gone:?}");
    console.stop_link().await;
}

/// A signed 901 for `task`: the hub knows the call from then on.
async fn start_call(http: &reqwest::Client, hub: &str, task: &str) {
    let now = hub::now_ms();
    let body = json!({
        "EventGroupId": 9, "EventType": 901, "CallbackTs": now,
        "EventInfo": {"EventMsTs": now, "TaskId": task, "RoomId": "8801", "RoomIdType": 0, "Payload": {"Status": 0}}
    })
    .to_string();
    let response = http
        .post(format!("{hub}/callbacks/trtc"))
        .header("Content-Type", "application/json")
        .header("SdkAppId", APP.to_string())
        .header("Sign", trtc::callback::sign(CALLBACK_KEY, body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "the hub took the 901: {}", response.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_the_role_or_the_lock_do_not_allow_are_refused_saying_why() {
    let hub_dir = tempfile::tempdir().unwrap();
    let mut config = hub::HubConfig::new(APP, CALLBACK_KEY, hub_dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let hub = hub::start(config).await.unwrap();
    let viewer = hub.add_user("vivian", Role::Viewer).await.unwrap();
    let lead = hub.add_user("li", Role::Lead).await.unwrap();
    let other_lead = hub.add_user("wang", Role::Lead).await.unwrap();
    let http = reqwest::Client::new();
    start_call(&http, &hub.base_url, "t-actions-1").await;
    let call = TaskId::new("t-actions-1");

    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (vivian, _) = console(dirs[0].path(), &hub.base_url, &viewer).await;
    let (li, li_sink) = console(dirs[1].path(), &hub.base_url, &lead).await;
    let (wang, _) = console(dirs[2].path(), &hub.base_url, &other_lead).await;

    let me = vivian.whoami().await.unwrap();
    assert_eq!((me.user.as_str(), me.role), ("vivian", SupervisorRole::Viewer));
    let say = SupervisorAction::Say { text: "hello".into(), timing: SayTiming::AfterTurn };
    let refused = vivian.call_action(&act(&call, say)).await.unwrap_err().to_string();
    assert!(refused.contains("say needs the supervisor role; vivian is viewer"), "{refused}");

    // Presence: li opens the call.
    let watching = li.watch_call(&WatchRequest { call: call.clone(), watching: true }).await.unwrap();
    assert_eq!(watching.watchers, ["li"]);

    // li takes the call over (the lock, then the take-over: no Cloud API needed).
    let taken = li.call_action(&act(&call, SupervisorAction::TakeOver)).await.unwrap();
    assert_eq!(taken.stage, CommandStage::Done);
    eventually(Duration::from_secs(10), "li's take-over reaches li's board", || async {
        (li_sink.command_stage(&taken.command_id) == Some(CommandStage::Done)).then_some(())
    })
    .await;

    // wang, a lead too, cannot take it while li holds it, nor reply or hand it back.
    let refused = wang.call_action(&act(&call, SupervisorAction::TakeOver)).await.unwrap_err().to_string();
    assert!(refused.contains("li holds this call's lock"), "{refused}");
    let reply = SupervisorAction::Reply { text: "I can help".into() };
    let refused = wang.call_action(&act(&call, reply)).await.unwrap_err().to_string();
    assert!(refused.contains("li holds this call's lock"), "{refused}");
    // Blank text never reaches the hub.
    let blank = SupervisorAction::Reply { text: "   ".into() };
    let refused = li.call_action(&act(&call, blank)).await.unwrap_err().to_string();
    assert_eq!(refused, "the reply is not usable: it is empty");

    // li hands back; then a reply is refused because nobody holds the call.
    let back = li.call_action(&act(&call, SupervisorAction::HandBack)).await.unwrap();
    assert_eq!(back.stage, CommandStage::Done);
    let reply = SupervisorAction::Reply { text: "still there?".into() };
    let refused = li.call_action(&act(&call, reply)).await.unwrap_err().to_string();
    assert!(refused.contains("the call is not taken over"), "{refused}");

    // An unknown call is named.
    let refused = li.call_action(&act(&TaskId::new("t-nope"), SupervisorAction::Stop)).await.unwrap_err().to_string();
    assert!(refused.contains("unknown_call"), "{refused}");

    let left = li.watch_call(&WatchRequest { call: call.clone(), watching: false }).await.unwrap();
    assert!(left.watchers.is_empty(), "{left:?}");
    for console in [vivian, li, wang] {
        console.stop_link().await;
    }
    hub.stop().await;
}
