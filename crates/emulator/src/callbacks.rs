//! The callback sender: posts every server callback a call emits to the configured URL,
//! signed, with TRTC's timeout and retry schedule (`trtc-contract.md` §3.2; §4 and §5.3 use
//! the same transport for room, media and recording callbacks).
//!
//! Each body comes from [`crate::outputs::Receivers::callbacks`] without `CallbackTs`. At
//! every attempt the sender stamps `"CallbackTs": <Unix ms now>` (TRTC stamps the send
//! time; "now" on [`CallbackConfig::clock`], the cloud's clock with its offset),
//! serialises the object, signs exactly those bytes with [`trtc::callback::sign`] and
//! posts them with `Content-Type: application/json`, `Sign: <base64>` and `SdkAppId: <n>`.
//! The bytes, and so the `Sign`, therefore differ between retries of one callback:
//! receivers must deduplicate on `EventInfo` (e.g. `TaskId` + `EventType` + `EventMsTs`),
//! never on `CallbackTs` or the signature.
//!
//! A delivery succeeds when the receiver answers HTTP 200 within the timeout (the body is
//! ignored; redirects are not followed and count as failures). Otherwise: attempt 2 right
//! after the first failure, then attempts on a 10 s grid measured from the first send
//! (10 s, 20 s, … — a slot an attempt overran is skipped) while the slot is earlier than
//! 60 s after the first send; then the sender gives up. At speed 1 that is at most
//! 1 + 1 + 5 = 7 attempts. Deliveries run concurrently, at most
//! [`CallbackConfig::max_in_flight`] at once, so one slow receiver does not hold up the
//! queue; callbacks waiting for a slot stay queued in the channel, in order.
//!
//! Deliberately not here: what a callback means or when it is emitted (the conversation
//! engine), verifying signatures (`trtc::callback`, used by receivers), persistence — a
//! callback given up on, or still queued when the emulator stops, is lost, as with TRTC.

use std::{
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use serde_json::{Map, Value};
use tokio::{
    sync::{mpsc, Semaphore},
    task::{JoinError, JoinHandle, JoinSet},
    time::Instant,
};

use crate::clock::CloudClock;

/// How long a receiver has to answer HTTP 200 (§3.2).
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The pause between retries after the immediate one (§3.2), at speed 1.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(10);
/// Retries stop this long after the first send (§3.2), at speed 1.
pub const RETRY_WINDOW: Duration = Duration::from_secs(60);
/// The speed factor never shrinks the timeout below this: a receiver's answer travels in
/// real time, whatever speed the emulated call runs at.
pub const MIN_SCALED_TIMEOUT: Duration = Duration::from_secs(1);
/// Deliveries in flight at once, by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// Response bytes read (and thrown away) after the status, so the connection can be reused.
const DRAIN_LIMIT: usize = 64 * 1024;
/// The shortest interval or window the speed factor can produce.
const MIN_SCALED: Duration = Duration::from_millis(1);
/// The longest wait any setting can produce, so instant arithmetic cannot overflow.
const MAX_WAIT: Duration = Duration::from_secs(30 * 24 * 3600);

/// Where and how callbacks are sent.
#[derive(Clone)]
pub struct CallbackConfig {
    /// The receiver's URL (the "callback URL" of the TRTC console).
    pub url: String,
    /// The callback key every body is signed with (never logged or printed).
    pub callback_key: String,
    /// Sent in the `SdkAppId` header.
    pub sdk_app_id: u64,
    /// How long a receiver has to answer HTTP 200; default [`TIMEOUT`]. The speed factor
    /// divides it but never below [`MIN_SCALED_TIMEOUT`] (a configured timeout shorter than
    /// that is used as is).
    pub timeout: Duration,
    /// The emulator's speed factor: [`RETRY_INTERVAL`] and [`RETRY_WINDOW`] are divided by
    /// it. Not finite or not positive counts as 1.
    pub speed: f64,
    /// Deliveries in flight at once (0 counts as 1); default [`DEFAULT_MAX_IN_FLIGHT`].
    pub max_in_flight: usize,
    /// The clock `CallbackTs` is read from: the cloud's ([`crate::CloudConfig::clock`]);
    /// default the unshifted wall clock.
    pub clock: CloudClock,
}

impl CallbackConfig {
    /// A configuration with TRTC's timeout, real-time speed, the default concurrency and the
    /// unshifted wall clock.
    pub fn new(url: impl Into<String>, callback_key: impl Into<String>, sdk_app_id: u64) -> CallbackConfig {
        CallbackConfig {
            url: url.into(),
            callback_key: callback_key.into(),
            sdk_app_id,
            timeout: TIMEOUT,
            speed: 1.0,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            clock: CloudClock::default(),
        }
    }

    /// The speed factor actually applied.
    fn speed(&self) -> f64 {
        if self.speed.is_finite() && self.speed > 0.0 {
            self.speed
        } else {
            1.0
        }
    }

    /// The timeout each attempt gets: `timeout / speed`, but not below
    /// [`MIN_SCALED_TIMEOUT`] unless the configured timeout already is.
    pub fn effective_timeout(&self) -> Duration {
        let timeout = self.timeout.min(MAX_WAIT);
        if timeout <= MIN_SCALED_TIMEOUT {
            return timeout;
        }
        scaled(timeout, self.speed()).max(MIN_SCALED_TIMEOUT)
    }

    /// The pause between retries after the immediate one: [`RETRY_INTERVAL`] / speed.
    pub fn retry_interval(&self) -> Duration {
        scaled(RETRY_INTERVAL, self.speed())
    }

    /// How long after the first send retries may start: [`RETRY_WINDOW`] / speed.
    pub fn retry_window(&self) -> Duration {
        scaled(RETRY_WINDOW, self.speed())
    }
}

impl fmt::Debug for CallbackConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackConfig")
            .field("url", &self.url)
            .field("callback_key", &"***")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("timeout", &self.timeout)
            .field("speed", &self.speed)
            .field("max_in_flight", &self.max_in_flight)
            .field("clock", &self.clock)
            .finish()
    }
}

/// `d / speed`, kept between [`MIN_SCALED`] and [`MAX_WAIT`]; `speed` is finite and positive.
fn scaled(d: Duration, speed: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() / speed).unwrap_or(MAX_WAIT).clamp(MIN_SCALED, MAX_WAIT)
}

/// Running totals of the sender, shared with whoever watches it (benchmarks, tests).
#[derive(Debug, Default)]
pub struct CallbackStats {
    delivered: AtomicU64,
    retries: AtomicU64,
    failed: AtomicU64,
    in_flight: AtomicU64,
}

/// The totals at one moment; see [`CallbackStats::snapshot`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallbackStatsSnapshot {
    /// Callbacks a receiver accepted with HTTP 200 in time.
    pub delivered: u64,
    /// Attempts after the first, over all callbacks.
    pub retries: u64,
    /// Callbacks given up on, including bodies that were not JSON objects.
    pub failed: u64,
    /// Callbacks being delivered now (attempting or waiting for their next retry).
    pub in_flight: u64,
}

impl CallbackStats {
    /// The current totals. Each counter is read on its own, so a snapshot taken while
    /// deliveries run may be off by the ones finishing at that instant.
    pub fn snapshot(&self) -> CallbackStatsSnapshot {
        CallbackStatsSnapshot {
            delivered: self.delivered.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
        }
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Keeps [`CallbackStats::in_flight`] right even when a delivery is aborted.
struct InFlight(Arc<CallbackStats>);

impl InFlight {
    fn start(stats: Arc<CallbackStats>) -> InFlight {
        CallbackStats::count(&stats.in_flight);
        InFlight(stats)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Starts the sender on the current Tokio runtime: every body received on `callbacks` is
/// delivered as the module docs describe. The task ends once the channel is closed and
/// every delivery in flight has been delivered or given up on; aborting it aborts them.
///
/// Nothing a body contains makes it panic: a body that is not a JSON object is logged and
/// counted as failed, and so is every callback when the URL is unusable.
///
/// # Panics
/// When called outside a Tokio runtime, like [`tokio::spawn`].
pub fn spawn(
    config: CallbackConfig,
    callbacks: mpsc::UnboundedReceiver<Value>,
) -> (JoinHandle<()>, Arc<CallbackStats>) {
    let stats = Arc::new(CallbackStats::default());
    let task = tokio::spawn(run(config, callbacks, Arc::clone(&stats)));
    (task, stats)
}

async fn run(config: CallbackConfig, mut callbacks: mpsc::UnboundedReceiver<Value>, stats: Arc<CallbackStats>) {
    let sender = match Sender::new(&config) {
        Ok(sender) => Some(Arc::new(sender)),
        Err(why) => {
            tracing::error!(error = %why, "callbacks cannot be sent; every callback will be counted as failed");
            None
        }
    };
    let permits = Arc::new(Semaphore::new(config.max_in_flight.clamp(1, Semaphore::MAX_PERMITS)));
    let mut deliveries = JoinSet::new();
    while let Some(body) = callbacks.recv().await {
        while let Some(done) = deliveries.try_join_next() {
            report_abnormal_end(done);
        }
        let Value::Object(body) = body else {
            tracing::warn!(kind = json_kind(&body), "a callback body that is not a JSON object was dropped");
            CallbackStats::count(&stats.failed);
            continue;
        };
        let Some(sender) = &sender else {
            let label = Label::of(&body);
            tracing::warn!(
                event_type = %label.event_type,
                task_id = %label.task_id,
                "callback not sent: no usable callback URL"
            );
            CallbackStats::count(&stats.failed);
            continue;
        };
        // Waiting here leaves later callbacks queued in the channel, in order.
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            // The semaphore is never closed; were it, dropping the callback beats panicking.
            CallbackStats::count(&stats.failed);
            continue;
        };
        let in_flight = InFlight::start(Arc::clone(&stats));
        let sender = Arc::clone(sender);
        deliveries.spawn(async move {
            sender.deliver(body, &in_flight.0).await;
            drop(in_flight);
            drop(permit);
        });
    }
    while let Some(done) = deliveries.join_next().await {
        report_abnormal_end(done);
    }
}

fn report_abnormal_end(done: Result<(), JoinError>) {
    if let Err(err) = done {
        tracing::error!(error = %err, "a callback delivery ended abnormally");
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What a log line may say about a callback: its `EventType` and `EventInfo.TaskId`, never
/// the rest of the body.
struct Label {
    event_type: String,
    task_id: String,
}

impl Label {
    fn of(body: &Map<String, Value>) -> Label {
        let event_type = match body.get("EventType") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => "-".to_owned(),
        };
        let task_id = match body.get("EventInfo").and_then(|info| info.get("TaskId")) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => "-".to_owned(),
        };
        Label { event_type, task_id }
    }
}

/// Why the sender cannot send at all.
#[derive(Debug, thiserror::Error)]
enum Unusable {
    #[error("the callback URL is not an http(s) URL")]
    Url,
    #[error("the HTTP client could not be built: {0}")]
    Client(reqwest::Error),
}

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
enum AttemptFailed {
    #[error("the receiver answered HTTP {0}")]
    Status(u16),
    #[error("the receiver did not answer within the timeout")]
    Timeout,
    #[error("the request failed: {0}")]
    Transport(reqwest::Error),
    #[error("the body could not be serialised")]
    Serialise,
}

/// Retries after the immediate one, on a grid from the first send.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    interval: Duration,
    window: Duration,
}

impl Schedule {
    /// The next retry slot at or after `now`, later than slot `*last`, which is updated:
    /// slot n is `first + n * interval` (n ≥ 1). `None` once that slot is not earlier than
    /// `first + window`.
    fn next(&self, first: Instant, now: Instant, last: &mut u32) -> Option<Instant> {
        let interval = self.interval.as_nanos().max(1);
        let elapsed = now.saturating_duration_since(first).as_nanos();
        let due = elapsed.div_ceil(interval);
        let n = u32::try_from(due).ok()?.max(last.checked_add(1)?);
        let offset = self.interval.checked_mul(n)?;
        if offset >= self.window {
            return None;
        }
        *last = n;
        first.checked_add(offset)
    }
}

/// The HTTP side: one client, the parsed URL and the signing key.
struct Sender {
    client: reqwest::Client,
    url: reqwest::Url,
    callback_key: String,
    sdk_app_id: String,
    timeout: Duration,
    schedule: Schedule,
    clock: CloudClock,
}

impl Sender {
    fn new(config: &CallbackConfig) -> Result<Sender, Unusable> {
        let url = reqwest::Url::parse(config.url.trim()).map_err(|_| Unusable::Url)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Unusable::Url);
        }
        let client = reqwest::Client::builder()
            // TRTC posts straight to the URL: a proxy set for the developer's own traffic
            // must not capture callbacks meant for a local receiver.
            .no_proxy()
            // Success is a 200 from this URL; a redirect is an answer other than 200.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(Unusable::Client)?;
        Ok(Sender {
            client,
            url,
            callback_key: config.callback_key.clone(),
            sdk_app_id: config.sdk_app_id.to_string(),
            timeout: config.effective_timeout(),
            schedule: Schedule { interval: config.retry_interval(), window: config.retry_window() },
            clock: config.clock,
        })
    }

    /// Delivers one callback, retrying on the schedule, and counts the outcome.
    async fn deliver(&self, mut body: Map<String, Value>, stats: &CallbackStats) {
        let label = Label::of(&body);
        let first = Instant::now();
        let mut attempt: u32 = 1;
        let mut last_slot = 0;
        loop {
            body.insert("CallbackTs".to_owned(), Value::from(self.clock.now_ms()));
            match self.attempt(&body).await {
                Ok(()) => {
                    CallbackStats::count(&stats.delivered);
                    tracing::debug!(
                        event_type = %label.event_type,
                        task_id = %label.task_id,
                        attempt,
                        "callback delivered"
                    );
                    return;
                }
                Err(why) => {
                    tracing::debug!(
                        event_type = %label.event_type,
                        task_id = %label.task_id,
                        attempt,
                        reason = %why,
                        "callback attempt failed"
                    );
                }
            }
            let now = Instant::now();
            let next = if attempt == 1 { Some(now) } else { self.schedule.next(first, now, &mut last_slot) };
            let Some(at) = next else {
                CallbackStats::count(&stats.failed);
                tracing::warn!(
                    event_type = %label.event_type,
                    task_id = %label.task_id,
                    attempts = attempt,
                    "callback given up on: no HTTP 200 within the retry window"
                );
                return;
            };
            tokio::time::sleep_until(at).await;
            CallbackStats::count(&stats.retries);
            attempt = attempt.saturating_add(1);
        }
    }

    /// One POST of `body` as it is now; `Ok` for HTTP 200 within the timeout.
    async fn attempt(&self, body: &Map<String, Value>) -> Result<(), AttemptFailed> {
        let bytes = serde_json::to_vec(body).map_err(|_| AttemptFailed::Serialise)?;
        let sign = trtc::callback::sign(&self.callback_key, &bytes);
        // The timeout is at most MAX_WAIT, so the fallback (an immediate timeout) is never taken.
        let deadline = Instant::now().checked_add(self.timeout).unwrap_or_else(Instant::now);
        let request = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Sign", sign)
            .header("SdkAppId", self.sdk_app_id.as_str())
            .body(bytes);
        let mut response = match tokio::time::timeout_at(deadline, request.send()).await {
            Err(_) => return Err(AttemptFailed::Timeout),
            // The URL is configuration, not news; keep it out of every log line.
            Ok(Err(err)) if err.is_timeout() => return Err(AttemptFailed::Timeout),
            Ok(Err(err)) => return Err(AttemptFailed::Transport(err.without_url())),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        // The body is ignored, but reading a little of it lets the connection be reused.
        let _ = tokio::time::timeout_at(deadline, async {
            let mut read = 0;
            while let Ok(Some(chunk)) = response.chunk().await {
                read += chunk.len();
                if read > DRAIN_LIMIT {
                    break;
                }
            }
        })
        .await;
        if status == reqwest::StatusCode::OK {
            Ok(())
        } else {
            Err(AttemptFailed::Status(status.as_u16()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(speed: f64, timeout: Duration) -> CallbackConfig {
        CallbackConfig { speed, timeout, ..CallbackConfig::new("http://127.0.0.1:9/", "key", 1) }
    }

    /// Every slot the schedule yields when each attempt fails instantly.
    fn slots(config: &CallbackConfig) -> Vec<Duration> {
        let schedule = Schedule { interval: config.retry_interval(), window: config.retry_window() };
        let first = Instant::now();
        let mut last = 0;
        let mut now = first;
        let mut out = Vec::new();
        while let Some(at) = schedule.next(first, now, &mut last) {
            out.push(at - first);
            now = at;
        }
        out
    }

    #[test]
    fn at_real_speed_retries_fall_every_ten_seconds_before_the_minute_is_up() {
        let secs: Vec<u64> = slots(&config(1.0, TIMEOUT)).iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [10, 20, 30, 40, 50], "the slot at 60 s is the end of the window, not an attempt");
    }

    #[test]
    fn the_speed_factor_divides_the_interval_and_the_window() {
        let millis: Vec<u128> = slots(&config(100.0, TIMEOUT)).iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [100, 200, 300, 400, 500]);
    }

    #[test]
    fn a_slot_an_attempt_overran_is_skipped_not_burst() {
        let c = config(1.0, TIMEOUT);
        let schedule = Schedule { interval: c.retry_interval(), window: c.retry_window() };
        let first = Instant::now();
        let mut last = 0;
        let late = first + Duration::from_secs(25);
        assert_eq!(schedule.next(first, late, &mut last), Some(first + Duration::from_secs(30)));
        assert_eq!(schedule.next(first, late, &mut last), Some(first + Duration::from_secs(40)), "slots only move on");
        let past = first + Duration::from_secs(55);
        assert_eq!(schedule.next(first, past, &mut last), None, "the slot at 60 s is outside the window");
    }

    #[test]
    fn the_timeout_is_scaled_but_never_below_one_second_unless_configured_so() {
        assert_eq!(config(1.0, TIMEOUT).effective_timeout(), TIMEOUT);
        assert_eq!(config(2.0, TIMEOUT).effective_timeout(), Duration::from_millis(2500));
        assert_eq!(config(100.0, TIMEOUT).effective_timeout(), MIN_SCALED_TIMEOUT);
        assert_eq!(config(100.0, Duration::from_millis(300)).effective_timeout(), Duration::from_millis(300));
    }

    #[test]
    fn nonsensical_speeds_count_as_real_time_and_extreme_ones_do_not_overflow() {
        for speed in [0.0, -3.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let c = config(speed, TIMEOUT);
            assert_eq!((c.retry_interval(), c.retry_window()), (RETRY_INTERVAL, RETRY_WINDOW), "speed {speed}");
        }
        let fast = config(f64::MAX, Duration::MAX);
        assert_eq!((fast.retry_interval(), fast.effective_timeout()), (MIN_SCALED, MIN_SCALED_TIMEOUT));
        assert!(slots(&fast).is_empty(), "a 1 ms window leaves room for no slot");
        let slow = config(f64::MIN_POSITIVE, Duration::MAX);
        assert_eq!((slow.retry_interval(), slow.effective_timeout()), (MAX_WAIT, MAX_WAIT));
    }

    #[test]
    fn log_labels_carry_only_the_event_type_and_task_id() {
        let body = serde_json::json!({"EventType": 901, "EventInfo": {"TaskId": "t-1", "Payload": {"Text": "secret"}}});
        let Value::Object(body) = body else { unreachable!("a json! object literal") };
        let label = Label::of(&body);
        assert_eq!((label.event_type.as_str(), label.task_id.as_str()), ("901", "t-1"));
        let Value::Object(empty) = serde_json::json!({"EventInfo": 3}) else { unreachable!("a json! object literal") };
        let label = Label::of(&empty);
        assert_eq!((label.event_type.as_str(), label.task_id.as_str()), ("-", "-"));
    }
}
