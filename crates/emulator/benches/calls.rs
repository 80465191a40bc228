//! `cargo bench -p emulator --bench calls`: the emulator under 1,000 concurrent calls with the
//! full event mix, on this machine — callbacks/s, room messages/s, CPU and memory.
//!
//! One run, everything side by side: a loopback callback receiver that verifies every `Sign`
//! (what a business backend does), a room-message counter on `Outputs::subscribe_rooms` (one
//! room-link client that listens to every room), then two phases of the real emulator with its
//! traffic generator starting calls through the signed, rate-limited Cloud API: first 100
//! calls, then 1,000. Each phase ramps up, settles, and is measured over three consecutive
//! fixed windows; the table shows the median, min and max of the windows and the ratios the
//! issue asks about, computed from figures of this same run.
//!
//! The receiver and the room counter run on their own Tokio runtime (thread name
//! `bench-receiver`), the emulator on another (`emu-worker`), so per-thread CPU from
//! `/proc/self/task` splits the process CPU into what the emulator costs and what the
//! stand-in backend costs. Both share the machine's cores, as they would on one laptop.
//!
//! Not here: assertions on speed (this is a benchmark, not a test). It does fail when a
//! signature was refused or nothing was received, because the figures would then be
//! meaningless. Linux only (`/proc`).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, Context, Result};
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
    Router,
};
use emulator::{callbacks::CallbackStats, CloudConfig, EmulatorConfig};
use serde::Deserialize;
use serde_json::Value;
use tokio::{
    runtime::Handle,
    sync::{broadcast::error::RecvError, oneshot},
};

const APP: u64 = 1_400_000_000;
const CALLBACK_KEY: &str = "BenchCallbackKey";
/// Calls play ten times faster than real time: short, but their beats keep their proportions.
const SPEED: f64 = 10.0;
/// Emulated arrivals; × [`SPEED`] that is 1,000 starts per second of wall time, so 1,000
/// calls ramp up in about as long as the sequential Start requests take.
const ARRIVAL_PER_MINUTE: f64 = 6_000.0;
/// StartAIConversation requests per second the emulator accepts (the ramp needs ~1,000).
const RATE_LIMIT: u32 = 1_000;
const SMALL: usize = 100;
const LARGE: usize = 1_000;
const WINDOWS: usize = 3;
const SMALL_WINDOW: Duration = Duration::from_secs(5);
const LARGE_WINDOW: Duration = Duration::from_secs(15);
/// After the ramp, before the first window: the first beats of every call are past.
const SETTLE: Duration = Duration::from_secs(3);
const RAMP_LIMIT: Duration = Duration::from_secs(30);
const DRAIN_LIMIT: Duration = Duration::from_secs(60);
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
const EMULATOR_THREADS: &str = "emu-worker";
const RECEIVER_THREADS: &str = "bench-receiver";

fn main() -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let clock = ClockTicks::of_this_machine();
    let receiver_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(RECEIVER_THREADS)
        .enable_all()
        .build()
        .context("building the receiver's runtime")?;
    let emulator_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name(EMULATOR_THREADS)
        .enable_all()
        .build()
        .context("building the emulator's runtime")?;

    let tally = Arc::new(Tally::default());
    let (stop_receiver, receiver_stopped) = oneshot::channel();
    let callback_url = receiver_rt.block_on(start_receiver(Arc::clone(&tally), receiver_stopped))?;
    println!("emulator bench `calls`: {cores} cores, speed ×{SPEED}, arrivals {ARRIVAL_PER_MINUTE}/min emulated");
    println!(
        "  {WINDOWS} windows per phase ({SMALL} calls: {SMALL_WINDOW:?} each, {LARGE} calls: {LARGE_WINDOW:?} each), \
         rate limit {RATE_LIMIT}/s per action"
    );
    let bench = Bench { tally: Arc::clone(&tally), callback_url, receiver: receiver_rt.handle().clone(), clock };
    let small = emulator_rt.block_on(bench.phase(SMALL, SMALL_WINDOW, Drain::Wait))?;
    let large = emulator_rt.block_on(bench.phase(LARGE, LARGE_WINDOW, Drain::No))?;
    // The receiver may already have stopped on its own; nothing to tell it then.
    let _ = stop_receiver.send(());
    emulator_rt.shutdown_timeout(Duration::from_secs(1));
    receiver_rt.shutdown_timeout(Duration::from_secs(1));

    report(&small, &large, cores);
    let refused = tally.refused.load(Ordering::Relaxed);
    if refused > 0 {
        let first = tally.detail().first_refusal.clone().unwrap_or_default();
        bail!("{refused} callbacks were refused by the receiver (first: {first}); the figures above are meaningless");
    }
    if let Some(empty) = small.windows.iter().chain(&large.windows).position(|w| w.received == 0) {
        bail!("window {empty} received no callbacks at all; the figures above are meaningless");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The stand-in backend: callback receiver and room-message counter.

/// What the receiver and the room counter saw, cumulative.
#[derive(Debug, Default)]
struct Tally {
    received: AtomicU64,
    verified: AtomicU64,
    refused: AtomicU64,
    /// Verified, but not the JSON envelope the bench reads for type and latency.
    unparsed: AtomicU64,
    rooms: AtomicU64,
    rooms_missed: AtomicU64,
    detail: Mutex<Detail>,
}

#[derive(Debug, Default)]
struct Detail {
    callback_types: BTreeMap<u64, u64>,
    room_types: BTreeMap<u64, u64>,
    /// Emission (`EventMsTs`) to receipt, for the current window.
    latencies_ms: Vec<u64>,
    first_refusal: Option<String>,
}

impl Tally {
    fn detail(&self) -> std::sync::MutexGuard<'_, Detail> {
        self.detail.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "EventType")]
    event_type: Option<u64>,
    #[serde(rename = "EventInfo")]
    info: Option<EventInfo>,
}

#[derive(Deserialize)]
struct EventInfo {
    #[serde(rename = "EventMsTs")]
    event_ms_ts: Option<u64>,
}

async fn start_receiver(tally: Arc<Tally>, stop: oneshot::Receiver<()>) -> Result<String> {
    let app = Router::new().route("/callbacks/trtc", post(receive_callback)).with_state(tally);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let url = format!("http://{}/callbacks/trtc", listener.local_addr()?);
    tokio::spawn(async move {
        let shutdown = async {
            // A dropped sender means the bench is over as well.
            let _ = stop.await;
        };
        if let Err(err) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            eprintln!("the bench's callback receiver stopped: {err}");
        }
    });
    Ok(url)
}

/// Verifies the `Sign` of exactly the bytes received (and the `SdkAppId` header), then reads
/// the event type and emission time; refused callbacks get 401, as a real backend answers.
async fn receive_callback(
    State(tally): State<Arc<Tally>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    tally.received.fetch_add(1, Ordering::Relaxed);
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let verdict = trtc::callback::verify_sign(CALLBACK_KEY, &body, header("sign").unwrap_or_default())
        .map_err(|err| err.to_string())
        .and_then(|()| match header("sdkappid").map(|id| id.trim().parse::<u64>()) {
            Some(Ok(APP)) => Ok(()),
            other => Err(format!("SdkAppId header {other:?}")),
        });
    if let Err(reason) = verdict {
        tally.refused.fetch_add(1, Ordering::Relaxed);
        tally.detail().first_refusal.get_or_insert(reason);
        return (StatusCode::UNAUTHORIZED, "{\"code\":1}");
    }
    tally.verified.fetch_add(1, Ordering::Relaxed);
    let now = unix_ms();
    match serde_json::from_slice::<Envelope>(&body) {
        Ok(envelope) => {
            let mut detail = tally.detail();
            *detail.callback_types.entry(envelope.event_type.unwrap_or(0)).or_default() += 1;
            if let Some(emitted) = envelope.info.and_then(|info| info.event_ms_ts) {
                detail.latencies_ms.push(now.saturating_sub(emitted));
            }
        }
        Err(_) => {
            tally.unparsed.fetch_add(1, Ordering::Relaxed);
        }
    }
    (StatusCode::OK, "{\"code\":0}")
}

/// Counts every room message of one emulator; a lagging receiver's skipped messages are
/// counted as missed. Ends when the emulator's senders are gone or the task is aborted.
async fn count_rooms(tally: Arc<Tally>, mut rooms: tokio::sync::broadcast::Receiver<emulator::outputs::RoomMessage>) {
    loop {
        match rooms.recv().await {
            Ok(room) => {
                tally.rooms.fetch_add(1, Ordering::Relaxed);
                let kind = room.message.get("type").and_then(Value::as_u64).unwrap_or(0);
                *tally.detail().room_types.entry(kind).or_default() += 1;
            }
            Err(RecvError::Lagged(missed)) => {
                tally.rooms_missed.fetch_add(missed, Ordering::Relaxed);
            }
            Err(RecvError::Closed) => break,
        }
    }
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

// ---------------------------------------------------------------------------------------------
// Phases and windows.

struct Bench {
    tally: Arc<Tally>,
    callback_url: String,
    receiver: Handle,
    clock: ClockTicks,
}

#[derive(Clone, Copy, PartialEq)]
enum Drain {
    /// Wait for the phase's calls to end, so they do not run into the next phase.
    Wait,
    No,
}

struct Phase {
    calls: usize,
    ramp: Option<Duration>,
    windows: Vec<Figures>,
    callback_types: BTreeMap<u64, u64>,
    room_types: BTreeMap<u64, u64>,
    drain: Option<Duration>,
}

impl Bench {
    async fn phase(&self, calls: usize, window: Duration, drain: Drain) -> Result<Phase> {
        let config = EmulatorConfig {
            cloud: CloudConfig {
                sdk_app_id: APP,
                keys: vec![("AKIDbenchcalls".into(), "bench-calls-secret".into())],
                sdk_secret_key: None,
                rate_limit: RATE_LIMIT,
                clock_offset_secs: 0,
            },
            callback_url: Some(self.callback_url.clone()),
            callback_key: CALLBACK_KEY.into(),
            speed: SPEED,
            seed: 42,
            calls,
            arrival_per_minute: ARRIVAL_PER_MINUTE,
            recorded_share: 0.0,
            data_dir: None,
            error_rates: emulator::ErrorRates::default(),
            llm_url: None,
            llm_api_key: None,
        };
        let started = Instant::now();
        let running = emulator::start_emulator(config, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let counter = self.receiver.spawn(count_rooms(Arc::clone(&self.tally), running.outputs.subscribe_rooms()));
        let cloud = Arc::clone(&running.cloud);
        let stats = running.callback_stats.clone().context("a callback URL is configured, so there are stats")?;

        let ramp = loop {
            if cloud.live_calls() >= calls {
                break Some(started.elapsed());
            }
            if started.elapsed() > RAMP_LIMIT {
                println!("  ! {calls} calls: only {} live after {RAMP_LIMIT:?}; measuring anyway", cloud.live_calls());
                break None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        tokio::time::sleep(SETTLE).await;

        let types_before = self.types();
        let mut windows = Vec::with_capacity(WINDOWS);
        for _ in 0..WINDOWS {
            self.tally.detail().latencies_ms.clear();
            let before = Snapshot::take(&self.tally, &stats);
            let mut live = Vec::new();
            let mut ticker = tokio::time::interval(SAMPLE_EVERY);
            while before.at.elapsed() < window {
                ticker.tick().await;
                live.push(cloud.live_calls());
            }
            let after = Snapshot::take(&self.tally, &stats);
            let latencies = std::mem::take(&mut self.tally.detail().latencies_ms);
            windows.push(Figures::between(&before, &after, live, latencies, self.clock));
        }
        let types_after = self.types();

        running.stop();
        counter.abort();
        let drain = match drain {
            Drain::No => None,
            Drain::Wait => {
                let stopped = Instant::now();
                while cloud.live_calls() > 0 && stopped.elapsed() < DRAIN_LIMIT {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                if cloud.live_calls() > 0 {
                    println!("  ! {} calls still live {DRAIN_LIMIT:?} after stopping", cloud.live_calls());
                }
                Some(stopped.elapsed())
            }
        };
        Ok(Phase {
            calls,
            ramp,
            windows,
            callback_types: difference(&types_before.0, &types_after.0),
            room_types: difference(&types_before.1, &types_after.1),
            drain,
        })
    }

    fn types(&self) -> (BTreeMap<u64, u64>, BTreeMap<u64, u64>) {
        let detail = self.tally.detail();
        (detail.callback_types.clone(), detail.room_types.clone())
    }
}

fn difference(before: &BTreeMap<u64, u64>, after: &BTreeMap<u64, u64>) -> BTreeMap<u64, u64> {
    after.iter().map(|(kind, n)| (*kind, n - before.get(kind).copied().unwrap_or(0))).filter(|(_, n)| *n > 0).collect()
}

/// Counters at one instant.
struct Snapshot {
    at: Instant,
    received: u64,
    verified: u64,
    refused: u64,
    unparsed: u64,
    rooms: u64,
    rooms_missed: u64,
    delivered: u64,
    retries: u64,
    failed: u64,
    in_flight: u64,
    cpu: CpuTicks,
}

impl Snapshot {
    fn take(tally: &Tally, stats: &CallbackStats) -> Snapshot {
        let sender = stats.snapshot();
        Snapshot {
            at: Instant::now(),
            received: tally.received.load(Ordering::Relaxed),
            verified: tally.verified.load(Ordering::Relaxed),
            refused: tally.refused.load(Ordering::Relaxed),
            unparsed: tally.unparsed.load(Ordering::Relaxed),
            rooms: tally.rooms.load(Ordering::Relaxed),
            rooms_missed: tally.rooms_missed.load(Ordering::Relaxed),
            delivered: sender.delivered,
            retries: sender.retries,
            failed: sender.failed,
            in_flight: sender.in_flight,
            cpu: CpuTicks::now(),
        }
    }
}

/// One window's figures.
#[derive(Debug, Clone)]
struct Figures {
    secs: f64,
    received: u64,
    verified: u64,
    refused: u64,
    unparsed: u64,
    delivered: u64,
    retries: u64,
    failed: u64,
    in_flight_end: u64,
    rooms: u64,
    rooms_missed: u64,
    live_min: f64,
    live_median: f64,
    cpu_pct: f64,
    emulator_cpu_pct: f64,
    receiver_cpu_pct: f64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    latency_max_ms: f64,
    rss_mib: f64,
}

impl Figures {
    fn between(
        before: &Snapshot,
        after: &Snapshot,
        mut live: Vec<usize>,
        mut latencies: Vec<u64>,
        clock: ClockTicks,
    ) -> Figures {
        let secs = after.at.duration_since(before.at).as_secs_f64();
        let pct = |ticks: u64| clock.seconds(ticks) / secs * 100.0;
        live.sort_unstable();
        latencies.sort_unstable();
        let at =
            |v: &[u64], q: f64| v.get(((v.len() as f64 - 1.0) * q).round() as usize).map_or(f64::NAN, |x| *x as f64);
        Figures {
            secs,
            received: after.received - before.received,
            verified: after.verified - before.verified,
            refused: after.refused - before.refused,
            unparsed: after.unparsed - before.unparsed,
            delivered: after.delivered - before.delivered,
            retries: after.retries - before.retries,
            failed: after.failed - before.failed,
            in_flight_end: after.in_flight,
            rooms: after.rooms - before.rooms,
            rooms_missed: after.rooms_missed - before.rooms_missed,
            live_min: live.first().map_or(f64::NAN, |n| *n as f64),
            live_median: live.get(live.len() / 2).map_or(f64::NAN, |n| *n as f64),
            cpu_pct: pct(after.cpu.process.saturating_sub(before.cpu.process)),
            emulator_cpu_pct: pct(after.cpu.emulator.saturating_sub(before.cpu.emulator)),
            receiver_cpu_pct: pct(after.cpu.receiver.saturating_sub(before.cpu.receiver)),
            latency_p50_ms: at(&latencies, 0.5),
            latency_p99_ms: at(&latencies, 0.99),
            latency_max_ms: at(&latencies, 1.0),
            rss_mib: proc_status_kib("VmRSS:").map_or(f64::NAN, |kib| kib as f64 / 1024.0),
        }
    }

    fn callbacks_per_s(&self) -> f64 {
        self.received as f64 / self.secs
    }

    fn rooms_per_s(&self) -> f64 {
        self.rooms as f64 / self.secs
    }
}

// ---------------------------------------------------------------------------------------------
// CPU and memory from /proc.

/// `utime + stime` in clock ticks: the whole process, and the threads of each runtime.
#[derive(Debug, Clone, Copy, Default)]
struct CpuTicks {
    process: u64,
    emulator: u64,
    receiver: u64,
}

impl CpuTicks {
    fn now() -> CpuTicks {
        let process = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| stat_ticks(&s)).map_or(0, |t| t.1);
        let mut ticks = CpuTicks { process, ..CpuTicks::default() };
        let Ok(threads) = std::fs::read_dir("/proc/self/task") else { return ticks };
        for thread in threads.flatten() {
            let Some((name, used)) =
                std::fs::read_to_string(thread.path().join("stat")).ok().and_then(|s| stat_ticks(&s))
            else {
                continue;
            };
            if name.starts_with(EMULATOR_THREADS) {
                ticks.emulator += used;
            } else if name.starts_with(RECEIVER_THREADS) {
                ticks.receiver += used;
            }
        }
        ticks
    }
}

/// `(comm, utime + stime)` of a `/proc/.../stat` line; `comm` may hold spaces and parentheses,
/// so the fields are counted after its last `)` (field 3 is the state, 14/15 utime/stime).
fn stat_ticks(stat: &str) -> Option<(String, u64)> {
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

fn proc_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf` (no libc here); 100 on every common Linux.
#[derive(Debug, Clone, Copy)]
struct ClockTicks(u64);

impl ClockTicks {
    fn of_this_machine() -> ClockTicks {
        let asked = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|n| *n > 0);
        ClockTicks(asked.unwrap_or(100))
    }

    fn seconds(self, ticks: u64) -> f64 {
        ticks as f64 / self.0 as f64
    }
}

// ---------------------------------------------------------------------------------------------
// The report.

/// Median, min and max of the windows (the median of an even count is the upper middle).
fn spread(values: impl IntoIterator<Item = f64>) -> (f64, f64, f64) {
    let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    spread(values).0
}

type Figure = fn(&Figures) -> f64;

/// A right-aligned table cell; `-` where there is no figure.
fn cell(value: f64, decimals: usize) -> String {
    if value.is_nan() {
        format!("{:>12}", "-")
    } else {
        format!("{value:>12.decimals$}")
    }
}

fn report(small: &Phase, large: &Phase, cores: usize) {
    for phase in [small, large] {
        let ramp = phase.ramp.map_or("not reached".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()));
        let drain =
            phase.drain.map_or(String::new(), |d| format!(", calls ended {:.1} s after stopping", d.as_secs_f64()));
        println!("  phase {:>5} calls: ramp to {} live {ramp}{drain}", phase.calls, phase.calls);
    }
    let rows: [(&str, Figure, usize); 20] = [
        ("window length s", |f| f.secs, 2),
        ("callbacks received /s", Figures::callbacks_per_s, 0),
        ("  verified OK (count)", |f| f.verified as f64, 0),
        ("  refused (count, must be 0)", |f| f.refused as f64, 0),
        ("  not the expected JSON", |f| f.unparsed as f64, 0),
        ("  sender: delivered", |f| f.delivered as f64, 0),
        ("  sender: retries", |f| f.retries as f64, 0),
        ("  sender: given up", |f| f.failed as f64, 0),
        ("  sender: in flight at end", |f| f.in_flight_end as f64, 0),
        ("  emission→receipt p50 ms", |f| f.latency_p50_ms, 0),
        ("  emission→receipt p99 ms", |f| f.latency_p99_ms, 0),
        ("  emission→receipt max ms", |f| f.latency_max_ms, 0),
        ("room messages /s", Figures::rooms_per_s, 0),
        ("  missed (Lagged)", |f| f.rooms_missed as f64, 0),
        ("live calls, min", |f| f.live_min, 0),
        ("live calls, median", |f| f.live_median, 0),
        ("CPU % (100 = one core)", |f| f.cpu_pct, 1),
        ("  emulator threads", |f| f.emulator_cpu_pct, 1),
        ("  receiver+counter threads", |f| f.receiver_cpu_pct, 1),
        ("RSS MiB at window end", |f| f.rss_mib, 1),
    ];
    println!();
    println!(
        "{:<30} {:>12} | {:>12} {:>12} {:>12}",
        "figure (per window)",
        format!("{} median", small.calls),
        format!("{} median", large.calls),
        "min",
        "max"
    );
    println!("{}", "-".repeat(84));
    for (label, figure, decimals) in rows {
        let s = median(small.windows.iter().map(figure));
        let (m, lo, hi) = spread(large.windows.iter().map(figure));
        println!(
            "{label:<30} {} | {} {} {}",
            cell(s, decimals),
            cell(m, decimals),
            cell(lo, decimals),
            cell(hi, decimals)
        );
    }
    let core_share = |f: &Figures| f.cpu_pct / cores as f64;
    let s = median(small.windows.iter().map(core_share));
    let (m, lo, hi) = spread(large.windows.iter().map(core_share));
    let label = format!("CPU % of all {cores} cores");
    println!("{label:<30} {} | {} {} {}", cell(s, 1), cell(m, 1), cell(lo, 1), cell(hi, 1));
    println!("(counts are per window; the {}-call windows are shorter)", small.calls);

    println!();
    println!(
        "{:<44} {:>12} | {:>12} {:>12} {:>12}",
        "ratio (per window, same run)",
        format!("{} median", small.calls),
        format!("{} median", large.calls),
        "min",
        "max"
    );
    println!("{}", "-".repeat(98));
    let per_room: Figure = |f| f.received as f64 / f.rooms as f64;
    let per_thousand: Figure = |f| f.cpu_pct / f.live_median * 1000.0;
    let emulator_per_thousand: Figure = |f| f.emulator_cpu_pct / f.live_median * 1000.0;
    let per_call: Figure = |f| f.callbacks_per_s() / f.live_median;
    let small_rate = median(small.windows.iter().map(Figures::callbacks_per_s));
    let small_per_call = median(small.windows.iter().map(per_call));
    let row = |label: &str, small_value: f64, large_values: Vec<f64>| {
        let (m, lo, hi) = spread(large_values);
        println!("{label:<44} {} | {} {} {}", cell(small_value, 3), cell(m, 3), cell(lo, 3), cell(hi, 3));
    };
    let both = |figure: Figure| {
        (median(small.windows.iter().map(figure)), large.windows.iter().map(figure).collect::<Vec<_>>())
    };
    let (s, l) = both(per_room);
    row("callbacks per room message", s, l);
    let (s, l) = both(per_thousand);
    row("CPU % per 1,000 live calls", s, l);
    let (s, l) = both(emulator_per_thousand);
    row("  emulator threads only", s, l);
    let (s, l) = both(per_call);
    row("callbacks/s per live call", s, l);
    row(
        "callbacks/s, 1,000 ÷ 100 calls (ideal 10)",
        f64::NAN,
        large.windows.iter().map(|f| f.callbacks_per_s() / small_rate).collect(),
    );
    row(
        "  same, per live call (ideal 1.00)",
        f64::NAN,
        large.windows.iter().map(|f| per_call(f) / small_per_call).collect(),
    );

    println!();
    let callbacks: u64 = large.callback_types.values().sum();
    let mix = large
        .callback_types
        .iter()
        .map(|(kind, n)| format!("{kind}: {n} ({:.1}%)", *n as f64 * 100.0 / callbacks.max(1) as f64))
        .collect::<Vec<_>>();
    println!("callback mix over the {LARGE}-call windows ({callbacks} callbacks):");
    for line in mix.chunks(5) {
        println!("  {}", line.join(", "));
    }
    let rooms: u64 = large.room_types.values().sum();
    let mix = large
        .room_types
        .iter()
        .map(|(kind, n)| format!("{kind}: {n} ({:.1}%)", *n as f64 * 100.0 / rooms.max(1) as f64))
        .collect::<Vec<_>>();
    println!("room message mix over the {LARGE}-call windows ({rooms} messages):");
    println!("  {}", mix.join(", "));
    let hwm = proc_status_kib("VmHWM:").map_or(f64::NAN, |kib| kib as f64 / 1024.0);
    println!();
    println!("peak RSS of the whole run (VmHWM): {hwm:.1} MiB");
    println!(
        "CPU % is process utime+stime over wall time × 100, so {} is all {cores} cores busy; the emulator and the \
         stand-in backend share them.",
        cores * 100
    );
    println!(
        "At speed ×{SPEED} every call runs {SPEED}× faster than real time: {LARGE} calls here emit what about {} \
         real-time calls would.",
        (LARGE as f64 * SPEED) as u64
    );
}
