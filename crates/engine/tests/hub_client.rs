//! The hub client against the real hub on loopback, with a real SQLite log: the
//! subscription (replay then live, in order and once; a hub restart and a silent link
//! survived with no gap and no repeat; a refused token retried slowly), the REST calls
//! (an idempotent command applied once, a viewer's command refused with the role error,
//! locks, presence, tickets, snapshots, audit) and the connection test naming what is
//! wrong.
//!
//! A loopback TCP relay sits between the client and the hub where a test must cut or
//! freeze the network: it stands in for the network, not for any of our components.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::event::{CommandStage, Event};
use domain::ids::TaskId;
use engine::hub_client::{
    AuditQuery, CallCommand, ClientOptions, Feed, HubClient, HubError, HubToken, IdempotencyKey, LinkStatus,
    LockAction, OfflineCode, Role, SayMode,
};
use hub::{HubConfig, RunningHub};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const APP: u64 = 1_400_000_321;
const CALLBACK_KEY: &str = "engine-client-test-key";
const ROOM: &str = "8801";
const HEARTBEAT: Duration = Duration::from_millis(200);

fn now_ms() -> u64 {
    hub::now_ms()
}

fn hub_config(dir: &std::path::Path, listen: SocketAddr) -> HubConfig {
    let mut config = HubConfig::new(APP, CALLBACK_KEY, dir);
    config.listen = listen;
    config.heartbeat = HEARTBEAT;
    config.sdk_secret_key = Some("engine-test-sdk-secret".into());
    config
}

/// A real hub with one user of each role.
struct TestHub {
    running: RunningHub,
    dir: tempfile::TempDir,
    viewer: String,
    supervisor: String,
    lead: String,
}

impl TestHub {
    async fn start() -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        let running = hub::start(hub_config(dir.path(), "127.0.0.1:0".parse().unwrap())).await.unwrap();
        let viewer = running.add_user("vivian", Role::Viewer).await.unwrap();
        let supervisor = running.add_user("sam", Role::Supervisor).await.unwrap();
        let lead = running.add_user("li", Role::Lead).await.unwrap();
        TestHub { running, dir, viewer, supervisor, lead }
    }

    fn base_url(&self) -> String {
        self.running.base_url.clone()
    }

    fn client(&self, token: &str) -> HubClient {
        client_of(&self.base_url(), token)
    }
}

/// Options for a hub with a 200 ms heartbeat: quick reconnects, quick dead-link detection.
fn options() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_millis(400),
        refused_retry: Duration::from_secs(1),
        heartbeat: HEARTBEAT,
        missed_heartbeats: 3,
        ..ClientOptions::default()
    }
}

fn client_of(base_url: &str, token: &str) -> HubClient {
    HubClient::new(base_url, HubToken::new(token).unwrap(), options()).unwrap()
}

/// POSTs a callback signed as TRTC signs it.
async fn post(base_url: &str, body: &[u8]) {
    let response = reqwest::Client::new()
        .post(format!("{base_url}/callbacks/trtc"))
        .header("Content-Type", "application/json")
        .header("SdkAppId", APP.to_string())
        .header("Sign", trtc::callback::sign(CALLBACK_KEY, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the hub accepts the callback: {}", response.text().await.unwrap());
}

fn ai_body(event_type: u64, task: &str, ms: u64, payload: Value) -> Vec<u8> {
    json!({
        "EventGroupId": 9, "EventType": event_type, "CallbackTs": now_ms(),
        "EventInfo": {"EventMsTs": ms, "TaskId": task, "RoomId": ROOM, "RoomIdType": 0, "Payload": payload}
    })
    .to_string()
    .into_bytes()
}

/// A call's worth of distinct callbacks: 901, then per turn 904 and two final sentences.
fn call_bodies(task: &str, turns: u64) -> Vec<Vec<u8>> {
    let t0 = now_ms() - 60_000;
    let mut bodies = vec![ai_body(901, task, t0, json!({"Status": 0}))];
    for turn in 0..turns {
        let round = format!("round-{turn}");
        let at = t0 + 1_000 + turn * 5_000;
        bodies.push(ai_body(904, task, at, json!({"UserId": "customer_1", "RoundId": round})));
        for (offset, user, text) in [(1_500, "customer_1", "问题"), (3_000, "robot_1", "回答")] {
            let ms = at + offset;
            bodies.push(ai_body(
                903,
                task,
                ms,
                json!({"UserId": user, "Text": format!("{text} {turn}"), "StartTimeMs": ms - 800, "EndTimeMs": ms, "RoundId": round}),
            ));
        }
    }
    bodies
}

async fn post_all(base_url: &str, bodies: &[Vec<u8>]) {
    for body in bodies {
        post(base_url, body).await;
    }
}

/// Everything a subscription delivered, in order.
#[derive(Debug, Default)]
struct Seen {
    events: Vec<Event>,
    statuses: Vec<LinkStatus>,
    signed_in: Vec<(String, Role)>,
}

impl Seen {
    fn seqs(&self) -> Vec<u64> {
        self.events.iter().map(|event| event.seq.unwrap().0).collect()
    }

    fn last_status(&self) -> Option<&LinkStatus> {
        self.statuses.last()
    }

    fn offline_codes(&self) -> Vec<OfflineCode> {
        self.statuses
            .iter()
            .filter_map(|status| match status {
                LinkStatus::Offline { reason, .. } => Some(reason.code),
                _ => None,
            })
            .collect()
    }

    /// Receives feeds until `done` holds; panics after `limit` naming `what`.
    async fn until(
        &mut self,
        rx: &mut mpsc::Receiver<Feed>,
        limit: Duration,
        what: &str,
        done: impl Fn(&Seen) -> bool,
    ) {
        let deadline = Instant::now() + limit;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Some(feed)) => self.push(feed),
                Ok(None) => panic!("the subscription ended while waiting for {what}"),
                Err(_) => panic!(
                    "no {what} after {limit:?}: {} events (seqs {:?}), statuses {:?}",
                    self.events.len(),
                    self.seqs(),
                    self.statuses
                ),
            }
        }
    }

    /// Receives whatever arrives for `span`.
    async fn during(&mut self, rx: &mut mpsc::Receiver<Feed>, span: Duration) {
        let deadline = Instant::now() + span;
        while let Ok(Some(feed)) =
            tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), rx.recv()).await
        {
            self.push(feed);
        }
    }

    fn push(&mut self, feed: Feed) {
        match feed {
            Feed::Events(events) => {
                assert!(!events.is_empty(), "an empty batch was sent");
                self.events.extend(events);
            }
            Feed::Status(status) => self.statuses.push(status),
            Feed::SignedIn { user, role } => self.signed_in.push((user, role)),
            Feed::Truncated { first_seq } => panic!("nothing was deleted, yet the feed says truncated to {first_seq}"),
        }
    }
}

fn live_with(count: usize) -> impl Fn(&Seen) -> bool {
    move |seen: &Seen| seen.events.len() >= count && seen.last_status() == Some(&LinkStatus::Live)
}

/// The relay's connections, each with its "frozen" switch.
type Connections = Arc<Mutex<Vec<(JoinHandle<()>, Arc<AtomicBool>)>>>;

/// A loopback TCP relay standing in for the network between the console and the hub: it
/// can be cut (the hub's host went away: listener and connections gone) or frozen (the
/// connections stay open but nothing gets through).
struct Relay {
    port: u16,
    accept: JoinHandle<()>,
    connections: Connections,
}

impl Relay {
    async fn start(port: u16, upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections: Connections = Arc::default();
        let accept = tokio::spawn({
            let connections = connections.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let frozen = Arc::new(AtomicBool::new(false));
                    let task = tokio::spawn(relay_connection(client, upstream, frozen.clone()));
                    connections.lock().unwrap().push((task, frozen));
                }
            }
        });
        Relay { port, accept, connections }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Existing connections stop passing bytes (new ones work).
    fn freeze(&self) {
        for (_, frozen) in self.connections.lock().unwrap().iter() {
            frozen.store(true, Ordering::SeqCst);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        for (task, _) in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

async fn relay_connection(client: TcpStream, upstream: SocketAddr, frozen: Arc<AtomicBool>) {
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(pump(client_read, server_write, frozen.clone()), pump(server_read, client_write, frozen));
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if frozen.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn subscribing_from_zero_delivers_every_event_once_in_order_then_goes_live() {
    let hub = TestHub::start().await;
    let before = call_bodies("task-replay", 4);
    post_all(&hub.base_url(), &before).await;

    // A channel of one: the subscription must wait for the console, never drop.
    let (tx, mut rx) = mpsc::channel(1);
    let subscription = hub.client(&hub.viewer).subscribe(0, tx);
    let mut seen = Seen::default();
    // A slow console at first.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(feed) = rx.recv().await {
            seen.push(feed);
        }
    }
    seen.until(&mut rx, Duration::from_secs(10), "the replay and live", live_with(before.len())).await;
    assert_eq!(seen.seqs(), (1..=before.len() as u64).collect::<Vec<_>>(), "the replay: in order, once");
    assert_eq!(seen.signed_in, [("vivian".to_owned(), Role::Viewer)]);
    assert_eq!(seen.statuses.first(), Some(&LinkStatus::Connecting));
    let Some(LinkStatus::CatchingUp { lag_events, .. }) = seen.statuses.get(1) else {
        panic!("catching up must follow connecting: {:?}", seen.statuses);
    };
    assert_eq!(*lag_events, before.len() as u64, "the whole log is behind at the start");
    assert!(
        seen.statuses
            .iter()
            .all(|s| matches!(s, LinkStatus::Connecting | LinkStatus::CatchingUp { .. } | LinkStatus::Live)),
        "{:?}",
        seen.statuses
    );

    // Live events follow on the same link, still in order and once.
    let after = call_bodies("task-live", 3);
    post_all(&hub.base_url(), &after).await;
    let total = before.len() + after.len();
    seen.until(&mut rx, Duration::from_secs(10), "the live events", |s| s.events.len() >= total).await;
    seen.during(&mut rx, Duration::from_millis(500)).await;
    assert_eq!(seen.seqs(), (1..=total as u64).collect::<Vec<_>>(), "replay then live: no gap, no repeat");
    assert_eq!(seen.last_status(), Some(&LinkStatus::Live), "no status change while live: {:?}", seen.statuses);
    assert!(seen.events.iter().any(|e| e.call.task.as_ref().map(TaskId::as_str) == Some("task-live")));
    assert_eq!(subscription.stop().await, total as u64, "stop answers the last sequence delivered");
    hub.running.stop().await;
}

#[tokio::test]
async fn a_hub_restart_on_the_same_port_is_reported_offline_and_resumed_with_no_gap_and_no_repeat() {
    // The hub stopping in-process leaves its open streams running (axum does not end
    // upgraded connections on shutdown), so the relay plays the network of a host whose
    // hub process went away: its port and its connections are gone together.
    let hub = TestHub::start().await;
    let hub_addr = hub.running.addr;
    let relay = Relay::start(0, hub_addr).await;
    let relay_port = relay.port;
    let first = call_bodies("task-before", 2);
    post_all(&hub.base_url(), &first).await;

    let (tx, mut rx) = mpsc::channel(16);
    let subscription = client_of(&relay.url(), &hub.viewer).subscribe(0, tx);
    let mut seen = Seen::default();
    seen.until(&mut rx, Duration::from_secs(10), "the first events", live_with(first.len())).await;

    let TestHub { running, dir, .. } = hub;
    drop(relay);
    running.stop().await;
    seen.until(&mut rx, Duration::from_secs(5), "offline", |s| !s.offline_codes().is_empty()).await;
    assert_eq!(seen.offline_codes()[0], OfflineCode::Closed, "{:?}", seen.statuses);
    // While it is down, attempts are refused and retried with backoff.
    seen.during(&mut rx, Duration::from_millis(600)).await;
    assert!(seen.offline_codes().contains(&OfflineCode::Refused), "{:?}", seen.statuses);

    // The same data directory and the same port.
    let again = hub::start(hub_config(dir.path(), hub_addr)).await.unwrap();
    assert_eq!(again.addr, hub_addr);
    let relay = Relay::start(relay_port, hub_addr).await;
    let second = call_bodies("task-after", 2);
    post_all(&again.base_url, &second).await;
    let total = first.len() + second.len();
    seen.until(&mut rx, Duration::from_secs(10), "the resumed stream", live_with(total)).await;
    seen.during(&mut rx, Duration::from_millis(500)).await;
    assert_eq!(
        seen.seqs(),
        (1..=total as u64).collect::<Vec<_>>(),
        "resumed after the last delivered: no gap, no repeat"
    );
    assert_eq!(seen.signed_in.len(), 2, "signed in once per connection: {:?}", seen.signed_in);
    assert!(seen.signed_in.iter().all(|(user, _)| user == "vivian"), "the token survived the restart");
    subscription.stop().await;
    drop(relay);
    again.stop().await;
}

#[tokio::test]
async fn a_silent_link_is_dropped_after_the_missed_heartbeats_and_resumed() {
    let hub = TestHub::start().await;
    let relay = Relay::start(0, hub.running.addr).await;
    let first = call_bodies("task-quiet", 1);
    post_all(&hub.base_url(), &first).await;
    let (tx, mut rx) = mpsc::channel(16);
    let subscription = client_of(&relay.url(), &hub.viewer).subscribe(0, tx);
    let mut seen = Seen::default();
    seen.until(&mut rx, Duration::from_secs(10), "live", live_with(first.len())).await;

    relay.freeze();
    let frozen_at = Instant::now();
    seen.until(&mut rx, Duration::from_secs(5), "a dead link", |s| !s.offline_codes().is_empty()).await;
    let noticed = frozen_at.elapsed();
    assert_eq!(seen.offline_codes(), [OfflineCode::Timeout], "{:?}", seen.statuses);
    assert!(noticed >= HEARTBEAT * 2, "not before the missed heartbeats: {noticed:?}");

    // A new connection gets through; events appended meanwhile arrive once.
    let second = call_bodies("task-quiet-2", 1);
    post_all(&hub.base_url(), &second).await;
    let total = first.len() + second.len();
    seen.until(&mut rx, Duration::from_secs(10), "the resumed stream", live_with(total)).await;
    seen.during(&mut rx, Duration::from_millis(300)).await;
    assert_eq!(seen.seqs(), (1..=total as u64).collect::<Vec<_>>());

    // A console that drops its receiver ends the subscription, even while nothing arrives.
    drop(rx);
    let deadline = Instant::now() + Duration::from_secs(2);
    while !subscription.is_finished() {
        assert!(Instant::now() < deadline, "the subscription outlived its receiver");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(relay);
    hub.running.stop().await;
}

#[tokio::test]
async fn a_refused_token_is_offline_unauthorized_and_retried_slowly() {
    let hub = TestHub::start().await;
    post_all(&hub.base_url(), &call_bodies("task-secret", 1)).await;
    let (tx, mut rx) = mpsc::channel(16);
    let subscription = hub.client("sbt_not-a-real-token").subscribe(0, tx);
    let mut seen = Seen::default();
    seen.during(&mut rx, Duration::from_millis(2_500)).await;
    let codes = seen.offline_codes();
    assert!(!codes.is_empty(), "offline must be reported: {:?}", seen.statuses);
    assert!(codes.iter().all(|code| *code == OfflineCode::Unauthorized), "{codes:?}");
    // refused_retry is 1 s (drawn from 0.75–1 s): at most four attempts in 2.5 s, not a hot loop.
    let attempts = seen.statuses.iter().filter(|s| **s == LinkStatus::Connecting).count();
    assert!((2..=4).contains(&attempts), "{attempts} attempts in 2.5 s: {:?}", seen.statuses);
    for status in &seen.statuses {
        if let LinkStatus::Offline { reason, retry_in } = status {
            assert!(*retry_in >= Duration::from_millis(750), "{retry_in:?}");
            assert!(reason.detail.contains("401"), "the detail names the answer: {}", reason.detail);
            assert!(!reason.detail.contains("sbt_not-a-real-token"), "the token leaked: {}", reason.detail);
        }
    }
    assert!(seen.events.is_empty() && seen.signed_in.is_empty());
    subscription.stop().await;
    hub.running.stop().await;
}

#[tokio::test]
async fn a_command_sent_twice_with_one_idempotency_key_is_applied_once() {
    let hub = TestHub::start().await;
    post_all(&hub.base_url(), &call_bodies("task-cmd", 1)).await;
    let task = TaskId::new("task-cmd");
    let client = hub.client(&hub.supervisor);
    let key = IdempotencyKey::random();
    let whisper = CallCommand::Whisper { text: "offer the refund".into() };

    let first = client.post_command(&task, &key, &whisper).await.unwrap();
    assert_eq!(first.stage, CommandStage::Accepted);
    let retried = client.post_command(&task, &key, &whisper).await.unwrap();
    assert_eq!(retried, first, "a retry answers what the first answered");

    let snapshot = client.call(&task).await.unwrap();
    let ours: Vec<_> = snapshot.commands.iter().filter(|c| c.value.id == first.command_id).collect();
    assert_eq!(ours.len(), 1, "one command on the call: {:?}", snapshot.commands);
    let audit = client.audit(&AuditQuery { call: Some(task.clone()), ..AuditQuery::default() }).await.unwrap();
    let whispers = audit.iter().filter(|entry| entry.action == "whisper").count();
    assert_eq!(whispers, 1, "audited once: {audit:?}");

    // The same key for another command is refused, typed.
    let other = CallCommand::Whisper { text: "something else".into() };
    let error = client.post_command(&task, &key, &other).await.unwrap_err();
    let refusal = error.refusal().unwrap_or_else(|| panic!("expected a refusal, got {error}"));
    assert_eq!((refusal.status, refusal.code.as_str()), (422, "idempotency_key_reused"));
    hub.running.stop().await;
}

#[tokio::test]
async fn a_viewers_command_is_refused_with_the_role_error() {
    let hub = TestHub::start().await;
    post_all(&hub.base_url(), &call_bodies("task-role", 1)).await;
    let task = TaskId::new("task-role");
    let say = CallCommand::Say { text: "您好".into(), mode: SayMode::Now, remember: false, stop_after: false };
    let error = hub.client(&hub.viewer).post_command(&task, &IdempotencyKey::random(), &say).await.unwrap_err();
    let HubError::Refused(refusal) = &error else { panic!("expected a refusal, got {error:?}") };
    assert_eq!((refusal.status, refusal.code.as_str()), (403, "role"));
    assert!(refusal.message.contains("supervisor"), "the message names the role needed: {}", refusal.message);
    assert_eq!(refusal.command_id, None, "nothing was recorded");

    // A supervisor may not take the lock either (lead only).
    let error = hub.client(&hub.supervisor).lock(&task, LockAction::Take).await.unwrap_err();
    assert_eq!(error.refusal().map(|r| (r.status, r.code.as_str())), Some((403, "role")), "{error}");
    hub.running.stop().await;
}

#[tokio::test]
async fn the_rest_calls_answer_typed_results_from_the_real_hub() {
    let hub = TestHub::start().await;
    let bodies = call_bodies("task-rest", 2);
    post_all(&hub.base_url(), &bodies).await;
    let task = TaskId::new("task-rest");
    let lead = hub.client(&hub.lead);

    assert_eq!(lead.health().await.unwrap().last_seq, bodies.len() as u64);
    let page = lead.calls(false).await.unwrap();
    assert_eq!(page.last_seq, bodies.len() as u64);
    let summary = page.calls.iter().find(|call| call.task_id == task).expect("the call is on the wall");
    assert_eq!(summary.counts.turns, 2);
    assert!(summary.live);
    let snapshot = lead.call(&task).await.unwrap();
    assert_eq!(snapshot.call.turns().len(), 2, "the folded call came whole");

    assert_eq!(lead.lock(&task, LockAction::Take).await.unwrap().holder.as_deref(), Some("li"));
    assert_eq!(lead.lock(&task, LockAction::Renew).await.unwrap().holder.as_deref(), Some("li"));
    let taken = hub.client(&hub.supervisor).lock(&task, LockAction::Release).await.unwrap_err();
    assert_eq!(taken.refusal().map(|r| r.code.as_str()), Some("locked"), "{taken}");
    assert_eq!(lead.lock(&task, LockAction::Release).await.unwrap().holder, None);

    assert_eq!(lead.presence(&task, true).await.unwrap(), ["li"]);
    // The hub stamps presence with its clock in ms and the fold breaks a same-ms tie by
    // value (watching wins), so the two changes must not share a millisecond.
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(lead.presence(&task, false).await.unwrap().is_empty());

    let ticket = lead.room_ticket(&task).await.unwrap();
    assert_eq!((ticket.sdk_app_id, ticket.room_id.as_str()), (APP, ROOM));
    assert!(ticket.user_id.starts_with("sb_sup_li") && !ticket.user_sig.is_empty(), "{ticket:?}");

    let audit =
        lead.audit(&AuditQuery { call: Some(task.clone()), limit: Some(50), ..AuditQuery::default() }).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|entry| entry.action.as_str()).collect();
    for action in ["lock_take", "room_ticket"] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    assert!(lead.recordings().await.unwrap().is_empty());

    let unknown = lead.call(&TaskId::new("no-such-call")).await.unwrap_err();
    assert_eq!(unknown.refusal().map(|r| (r.status, r.code.as_str())), Some((404, "unknown_call")), "{unknown}");
    hub.running.stop().await;
}

#[tokio::test]
async fn the_connection_test_names_what_is_wrong() {
    let hub = TestHub::start().await;

    let identity = hub.client(&hub.lead).test_connection().await.unwrap();
    assert_eq!((identity.user.as_str(), identity.role), ("li", Role::Lead));

    let refused = hub.client("sbt_wrong").test_connection().await.unwrap_err();
    assert!(matches!(refused, HubError::Unauthorized { .. }), "{refused:?}");

    let nothing = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let unreachable = client_of(&format!("http://{nothing}"), "t").test_connection().await.unwrap_err();
    assert_eq!(unreachable.code(), "unreachable", "{unreachable}");
    assert!(unreachable.to_string().contains(&nothing.to_string()), "names the address: {unreachable}");

    let stranger = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stranger_addr = stranger.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "OK" }));
        axum::serve(stranger, app).await.unwrap();
    });
    let not_a_hub = client_of(&format!("http://{stranger_addr}"), "t").test_connection().await.unwrap_err();
    assert_eq!(not_a_hub.code(), "not_a_hub", "{not_a_hub}");

    let bad_url = HubClient::new("hub.example.com:8720", HubToken::new("t").unwrap(), options()).unwrap_err();
    assert_eq!(bad_url.code(), "bad_url", "{bad_url}");
    server.abort();
    hub.running.stop().await;
}
