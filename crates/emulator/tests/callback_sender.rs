//! The callback sender against a real HTTP receiver on loopback: what each request carries,
//! TRTC's retry schedule (at speed 100, so 10 s → 100 ms and 60 s → 600 ms), timeouts,
//! concurrency and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use emulator::callbacks::{self, CallbackConfig, CallbackStats, CallbackStatsSnapshot};
use serde_json::{json, Value};
use tokio::{net::TcpListener, sync::mpsc, task::JoinHandle, time::Instant};

const KEY: &str = "callbackKey123";
const APP: u64 = 1_400_000_001;
/// How long any test waits for the sender to finish before calling it stuck.
const PATIENCE: Duration = Duration::from_secs(4);

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Hit {
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

impl Hit {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap()
    }
}

/// How the receiver answers the `nth` request (0-based) with this body: after a pause,
/// with a status.
type Behaviour = dyn Fn(usize, &Value) -> (Duration, StatusCode) + Send + Sync;

#[derive(Clone)]
struct Receiver {
    hits: Arc<Mutex<Vec<Hit>>>,
    behaviour: Arc<Behaviour>,
    busy: Arc<AtomicUsize>,
    most_busy: Arc<AtomicUsize>,
}

impl Receiver {
    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

/// A receiver on 127.0.0.1:0 recording each request on arrival, then answering as told.
async fn receiver(
    behaviour: impl Fn(usize, &Value) -> (Duration, StatusCode) + Send + Sync + 'static,
) -> (String, Receiver) {
    let receiver = Receiver {
        hits: Arc::default(),
        behaviour: Arc::new(behaviour),
        busy: Arc::default(),
        most_busy: Arc::default(),
    };
    let app = Router::new().route("/callback", post(record)).with_state(receiver.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/callback"), receiver)
}

async fn record(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let nth = {
        let mut hits = receiver.hits.lock().unwrap();
        hits.push(Hit { at, headers, body });
        hits.len() - 1
    };
    let (pause, status) = (receiver.behaviour)(nth, &value);
    let busy = receiver.busy.fetch_add(1, Ordering::SeqCst) + 1;
    receiver.most_busy.fetch_max(busy, Ordering::SeqCst);
    tokio::time::sleep(pause).await;
    receiver.busy.fetch_sub(1, Ordering::SeqCst);
    status
}

fn ok(_: usize, _: &Value) -> (Duration, StatusCode) {
    (Duration::ZERO, StatusCode::OK)
}

fn config(url: &str, speed: f64) -> CallbackConfig {
    CallbackConfig { speed, ..CallbackConfig::new(url, KEY, APP) }
}

/// A 901 body as the conversation engine emits it: no `CallbackTs`.
fn started(task_id: &str) -> Value {
    json!({
        "EventGroupId": 9,
        "EventType": 901,
        "EventInfo": {
            "EventMsTs": 1_622_186_275_757_u64,
            "TaskId": task_id,
            "RoomId": "1234",
            "RoomIdType": 0,
            "Payload": {"Status": 0}
        }
    })
}

fn start(config: CallbackConfig) -> (mpsc::UnboundedSender<Value>, JoinHandle<()>, Arc<CallbackStats>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (task, stats) = callbacks::spawn(config, rx);
    (tx, task, stats)
}

/// Closes the channel and waits for the sender to finish.
async fn finish(tx: mpsc::UnboundedSender<Value>, task: JoinHandle<()>) {
    drop(tx);
    tokio::time::timeout(PATIENCE, task).await.expect("the sender ends once the channel closes").unwrap();
}

fn unix_ms_now() -> u64 {
    u64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

fn callback_ts(hit: &Hit) -> u64 {
    hit.json()["CallbackTs"].as_u64().expect("CallbackTs is a number of ms")
}

fn without_callback_ts(mut body: Value) -> Value {
    body.as_object_mut().unwrap().remove("CallbackTs");
    body
}

fn totals(delivered: u64, retries: u64, failed: u64) -> CallbackStatsSnapshot {
    CallbackStatsSnapshot { delivered, retries, failed, in_flight: 0 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_callback_is_signed_over_the_exact_bytes_and_carries_the_application_headers() {
    let (url, receiver) = receiver(ok).await;
    let (tx, task, stats) = start(config(&url, 1.0));
    let before = unix_ms_now();
    tx.send(started("task-1")).unwrap();
    finish(tx, task).await;
    let after = unix_ms_now();

    let hits = receiver.hits();
    assert_eq!(hits.len(), 1, "one 200 means one request");
    let hit = &hits[0];
    assert_eq!(trtc::callback::verify_sign(KEY, &hit.body, hit.header("Sign")), Ok(()), "Sign covers the raw bytes");
    assert_eq!(hit.header("SdkAppId"), APP.to_string());
    assert_eq!(hit.header("Content-Type"), "application/json");
    let ts = callback_ts(hit);
    assert!((before..=after).contains(&ts), "CallbackTs {ts} is the send time, between {before} and {after}");
    assert_eq!(without_callback_ts(hit.json()), started("task-1"), "everything emitted arrives unchanged");
    assert_eq!(stats.snapshot(), totals(1, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_twice_gets_an_immediate_retry_then_one_an_interval_after_the_first_send() {
    let (url, receiver) =
        receiver(|nth, _| (Duration::ZERO, if nth < 2 { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }))
            .await;
    let config = config(&url, 100.0);
    let interval = config.retry_interval();
    assert_eq!(interval, Duration::from_millis(100), "10 s at speed 100");
    let (tx, task, stats) = start(config);
    tx.send(started("task-2")).unwrap();
    finish(tx, task).await;

    let hits = receiver.hits();
    assert_eq!(hits.len(), 3, "500, 500, then 200 ends the retries");
    let second = hits[1].at - hits[0].at;
    let third = hits[2].at - hits[0].at;
    assert!(second < interval / 2, "the first failure is retried at once, not after {second:?}");
    assert!(
        third >= interval * 4 / 5 && third < interval * 3,
        "the third attempt comes about one interval ({interval:?}) after the first, not after {third:?}"
    );
    for (i, hit) in hits.iter().enumerate() {
        assert_eq!(trtc::callback::verify_sign(KEY, &hit.body, hit.header("Sign")), Ok(()), "attempt {i}'s own Sign");
        assert_eq!(without_callback_ts(hit.json()), started("task-2"), "attempt {i} carries the same callback");
    }
    let stamps: Vec<u64> = hits.iter().map(callback_ts).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "CallbackTs is stamped at each attempt: {stamps:?}");
    assert!(stamps[2] >= stamps[0] + 80, "the retry an interval later has a later CallbackTs: {stamps:?}");
    assert_ne!(hits[0].body, hits[2].body, "the bytes differ between retries, so receivers dedupe on EventInfo");
    assert_eq!(stats.snapshot(), totals(1, 2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_always_fails_is_given_up_on_after_the_retry_window() {
    let (url, receiver) = receiver(|_, _| (Duration::ZERO, StatusCode::SERVICE_UNAVAILABLE)).await;
    let config = config(&url, 100.0);
    let (interval, window) = (config.retry_interval(), config.retry_window());
    // Attempt 1 at 0, attempt 2 at once, then one per slot n·interval earlier than the window.
    let slots = (1..).take_while(|&n| interval * n < window).count();
    assert_eq!(slots, 5, "100 ms … 500 ms fit in a 600 ms window; 600 ms ends it");
    let scheduled = 2 + slots;
    let (tx, task, stats) = start(config);
    let sent = Instant::now();
    tx.send(started("task-3")).unwrap();
    finish(tx, task).await;
    let ended = sent.elapsed();

    let hits = receiver.hits();
    // A loaded machine may overrun a slot (skipped, never made up with a burst); it can
    // never add one.
    assert!(
        (scheduled - 1..=scheduled).contains(&hits.len()),
        "expected {scheduled} attempts (or one fewer under load), got {}",
        hits.len()
    );
    for pair in hits[1..].windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= interval / 2, "retries after the immediate one are spaced by the interval, not {gap:?}");
    }
    let last = hits[hits.len() - 1].at - hits[0].at;
    assert!(last < window, "no attempt starts after the window ({window:?}); the last came at {last:?}");
    assert!(ended < window * 2, "the sender gives up soon after the window, not after {ended:?}");
    let retries = u64::try_from(hits.len() - 1).unwrap();
    assert_eq!(stats.snapshot(), totals(0, retries, 1), "counted as failed once, with every retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_slower_than_the_timeout_is_treated_as_a_failure_and_retried() {
    let (url, receiver) = receiver(|nth, _| {
        let pause = if nth == 0 { Duration::from_secs(1) } else { Duration::ZERO };
        (pause, StatusCode::OK)
    })
    .await;
    let timeout = Duration::from_millis(300);
    let config = CallbackConfig { timeout, ..config(&url, 100.0) };
    assert_eq!(config.effective_timeout(), timeout, "a configured timeout under 1 s is not scaled");
    let (tx, task, stats) = start(config);
    tx.send(started("task-4")).unwrap();
    finish(tx, task).await;

    let hits = receiver.hits();
    assert_eq!(hits.len(), 2, "the late 200 does not count; the immediate retry gets a quick one");
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap >= timeout * 4 / 5 && gap < Duration::from_millis(900),
        "the retry follows the timeout ({timeout:?}), not the slow answer (1 s): {gap:?}"
    );
    assert_eq!(stats.snapshot(), totals(1, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_for_one_callback_does_not_delay_the_others() {
    let slow = Duration::from_millis(800);
    let (url, receiver) = receiver(move |_, body| {
        let pause = if body["EventInfo"]["TaskId"] == "slow" { slow } else { Duration::ZERO };
        (pause, StatusCode::OK)
    })
    .await;
    let (tx, task, stats) = start(config(&url, 1.0));
    let sent = Instant::now();
    tx.send(started("slow")).unwrap();
    for i in 0..5 {
        tx.send(started(&format!("fast-{i}"))).unwrap();
    }
    while stats.snapshot().delivered < 5 {
        assert!(sent.elapsed() < slow / 2, "five quick callbacks waited behind a slow one: {:?}", stats.snapshot());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        stats.snapshot(),
        CallbackStatsSnapshot { delivered: 5, retries: 0, failed: 0, in_flight: 1 },
        "the others are delivered while the slow one is still in flight"
    );
    finish(tx, task).await;
    assert_eq!(stats.snapshot(), totals(6, 0, 0));
    assert_eq!(receiver.hits().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_max_in_flight_deliveries_run_at_once() {
    let (url, receiver) = receiver(|_, _| (Duration::from_millis(100), StatusCode::OK)).await;
    let (tx, task, stats) = start(CallbackConfig { max_in_flight: 2, ..config(&url, 1.0) });
    for i in 0..6 {
        tx.send(started(&format!("task-{i}"))).unwrap();
    }
    finish(tx, task).await;
    assert_eq!(receiver.most_busy.load(Ordering::SeqCst), 2, "six callbacks, two at a time");
    assert_eq!(stats.snapshot(), totals(6, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_channel_ends_the_task_after_in_flight_deliveries_finish() {
    let answer = Duration::from_millis(400);
    let (url, receiver) = receiver(move |_, _| (answer, StatusCode::OK)).await;
    let (tx, task, stats) = start(config(&url, 1.0));
    let sent = Instant::now();
    tx.send(started("task-6")).unwrap();
    drop(tx);
    tokio::time::sleep(answer / 2).await;
    assert!(!task.is_finished(), "the sender still waits for the delivery in flight");
    assert_eq!(stats.snapshot().in_flight, 1);
    tokio::time::timeout(PATIENCE, task).await.expect("the sender ends once the delivery is done").unwrap();
    assert!(sent.elapsed() >= answer, "it ended only after the receiver answered");
    assert_eq!(stats.snapshot(), totals(1, 0, 0));
    assert_eq!(receiver.hits().len(), 1);

    let (tx, task, stats) = start(config(&url, 1.0));
    finish(tx, task).await;
    assert_eq!(stats.snapshot(), CallbackStatsSnapshot::default(), "with nothing in flight it ends at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_a_json_object_is_counted_failed_and_never_sent() {
    let (url, receiver) = receiver(ok).await;
    let (tx, task, stats) = start(config(&url, 1.0));
    for body in [json!([9, 901]), json!("901"), Value::Null, json!(901)] {
        tx.send(body).unwrap();
    }
    tx.send(started("task-7")).unwrap();
    finish(tx, task).await;
    assert_eq!(stats.snapshot(), totals(1, 0, 4));
    assert_eq!(receiver.hits().len(), 1, "only the object was posted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_callback_url_fails_each_callback_without_panicking() {
    for url in ["", "not a url", "ftp://127.0.0.1/callback"] {
        let (tx, task, stats) = start(config(url, 1.0));
        tx.send(started("task-8")).unwrap();
        finish(tx, task).await;
        assert_eq!(stats.snapshot(), totals(0, 0, 1), "URL {url:?}");
    }
}

#[test]
fn the_configuration_never_prints_the_callback_key() {
    let printed = format!("{:?}", CallbackConfig::new("http://127.0.0.1:1/cb", KEY, APP));
    assert!(!printed.contains(KEY), "the key leaked: {printed}");
    assert!(printed.contains("http://127.0.0.1:1/cb") && printed.contains(&APP.to_string()), "{printed}");
}
