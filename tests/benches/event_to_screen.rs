//! Event to screen with 1,000 live calls: how long from a callback reaching the hub to the
//! change being painted in the app's window, the longest frame under that load, and the
//! cold start to a painted 1,000-call wall. Run by `cargo xtask bench` (which builds the
//! release app and points `SWITCHBOARD_APP` at it).
//!
//! The pieces are the real ones: a hub (`hub::start`) on 127.0.0.1 with its SQLite log, the
//! built app under Xvfb driven through WebDriver (the same harness as the end-to-end
//! tests), connected to that hub with a lead's token. This process plays TRTC: it posts
//! signed callbacks, 1,000 calls first, then sentences and metrics at a steady rate.
//!
//! - **Latency**: each callback's `EventMsTs` is stamped the moment this process sends it;
//!   the UI's probe (`ui/src/perf.rs`) records `now − EventMsTs` for every event once the
//!   frame showing it has painted. So a figure covers HTTP to the hub, verification, the
//!   hub's log and stream, the engine's cache write and board, the Tauri event, the Yew
//!   fold and render, and the paint. Same machine, same clock.
//! - **Longest frame**: a `requestAnimationFrame` loop in the page records the gap between
//!   frames while the load runs (16.7 ms is one frame at 60 Hz); with its p99 and how many
//!   gaps exceed 50 ms. Two idle controls run in the same launch: the wall with no
//!   callbacks, and the settings screen (no wall drawn at all), the window's own floor.
//! - **Cold start**: the app is closed and launched again on the same data directory (so
//!   it goes straight to this hub); timed from launching (Xvfb, tauri-driver, app) until
//!   the summary counts 1,000 live calls, and from the page's navigation start (its
//!   `performance.now()` when that was seen).
//!
//! Every loop is bounded: [`ROUNDS`] rounds of [`ROUND_SECS`] seconds at [`RATE`]
//! callbacks/s, and [`COLD_STARTS`] launches.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hub::auth::Role;
use hub::HubConfig;
use serde_json::{json, Value};
use switchboard_tests::{App, Launch};

const CALLS: usize = 1_000;
const APP_ID: u64 = 1_400_000_777;
const CALLBACK_KEY: &str = "bench-callback-key";
/// Callbacks per second while measuring.
const RATE: u64 = 100;
const ROUND_SECS: u64 = 20;
const ROUNDS: usize = 3;
const COLD_STARTS: usize = 3;
/// The idle baseline's length.
const IDLE_SECS: u64 = 10;
/// How long the window may take to show all 1,000 calls.
const WALL_TIMEOUT: Duration = Duration::from_secs(120);

struct Trtc {
    http: reqwest::Client,
    url: String,
}

impl Trtc {
    fn body(event_type: u64, task: &str, ms: u64, payload: Value) -> Vec<u8> {
        json!({
            "EventGroupId": 9,
            "EventType": event_type,
            "CallbackTs": hub::now_ms(),
            "EventInfo": {"EventMsTs": ms, "TaskId": task, "RoomId": room(task), "RoomIdType": 0, "Payload": payload}
        })
        .to_string()
        .into_bytes()
    }

    async fn post(&self, body: Vec<u8>) -> Result<()> {
        let response = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("SdkAppId", APP_ID.to_string())
            .header("Sign", trtc::callback::sign(CALLBACK_KEY, &body))
            .body(body)
            .send()
            .await
            .context("posting a callback to the hub")?;
        if !response.status().is_success() {
            bail!("the hub refused a callback: {}", response.status());
        }
        Ok(())
    }

    /// Posts `bodies`, 32 at a time.
    async fn post_all(&self, bodies: Vec<Vec<u8>>) -> Result<()> {
        let mut bodies = bodies.into_iter().peekable();
        while bodies.peek().is_some() {
            let batch: Vec<_> = bodies.by_ref().take(32).map(|body| self.post(body)).collect();
            for result in futures_util::future::join_all(batch).await {
                result?;
            }
        }
        Ok(())
    }
}

fn task(i: usize) -> String {
    format!("bench-{i:04}")
}

fn room(task: &str) -> String {
    format!("room-{task}")
}

/// A turn's callbacks for call `i`: the customer's and the robot's sentences and the LLM
/// first token.
fn turn(i: usize, round: u64, ms: u64, llm_ms: f64) -> Vec<Vec<u8>> {
    let (task, round) = (task(i), format!("r-{round}"));
    vec![
        Trtc::body(
            903,
            &task,
            ms,
            json!({"UserId": format!("cust-{i}"), "Text": format!("我想查一下订单 A{i:06} 的物流 ({round})"),
                   "StartTimeMs": ms - 900, "EndTimeMs": ms, "RoundId": round}),
        ),
        Trtc::body(
            903,
            &task,
            ms,
            json!({"UserId": "robot", "Text": "好的，我这就帮您查询。", "StartTimeMs": ms, "EndTimeMs": ms, "RoundId": round}),
        ),
        Trtc::body(906, &task, ms, json!({"Metric": "llm_first_token", "Value": llm_ms, "Tag": {"RoundId": round}})),
    ]
}

/// Nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or(f64::NAN)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    percentile(values, 0.5)
}

async fn wall_of_all(app: &App) -> Result<()> {
    let deadline = Instant::now() + WALL_TIMEOUT;
    loop {
        let shown = app
            .client
            .execute("const e = document.getElementById('summary-live'); return e ? e.textContent : null;", vec![]);
        let shown = shown.await?;
        if shown.as_str() == Some(&CALLS.to_string()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let page = app.client.execute("return document.body.innerText.slice(0, 600);", vec![]).await?;
            bail!("the wall did not show {CALLS} live calls within {WALL_TIMEOUT:?}: the summary said {shown}; the page: {page}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Round {
    latencies: Vec<f64>,
    frames: Frames,
}

/// Frame gaps, summarised.
#[derive(Debug, Clone, Copy)]
struct Frames {
    count: usize,
    longest: f64,
    p99: f64,
    /// Gaps over the 50 ms goal.
    over_goal: usize,
}

impl Frames {
    fn of(mut gaps: Vec<f64>) -> Frames {
        gaps.sort_by(f64::total_cmp);
        Frames {
            count: gaps.len(),
            longest: gaps.last().copied().unwrap_or(0.0),
            p99: percentile(&gaps, 0.99),
            over_goal: gaps.iter().filter(|gap| **gap > 50.0).count(),
        }
    }
}

impl std::fmt::Display for Frames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "longest frame {:.1} ms, p99 {:.1} ms, {} of {} frames over 50 ms",
            self.longest, self.p99, self.over_goal, self.count
        )
    }
}

/// The frames over `secs` seconds with no callbacks arriving: with the wall of 1,000 calls
/// idling (its clock still ticks every second), the baseline for the rounds under load; on
/// the settings screen, the window's own floor with no wall drawn at all.
async fn idle_frames(app: &App, secs: u64) -> Result<Frames> {
    app.client
        .execute(
            "const p = window.__idleFrames = { frames: [], on: true, last: performance.now() };
             const loop = (t) => { p.frames.push(t - p.last); p.last = t; if (p.on) requestAnimationFrame(loop); };
             requestAnimationFrame(loop);
             return true;",
            vec![],
        )
        .await?;
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let frames = app
        .client
        .execute(
            "const p = window.__idleFrames; p.on = false; delete window.__idleFrames; return p.frames.slice(1);",
            vec![],
        )
        .await?;
    Ok(Frames::of(
        frames.as_array().map(|values| values.iter().filter_map(Value::as_f64).collect()).unwrap_or_default(),
    ))
}

async fn measure(app: &App, trtc: &Trtc, round_no: u64) -> Result<Round> {
    app.client
        .execute(
            "const p = window.__switchboardPerf = { latencies: [], frames: [], on: true, last: performance.now() };
             const loop = (t) => { p.frames.push(t - p.last); p.last = t; if (p.on) requestAnimationFrame(loop); };
             requestAnimationFrame(loop);
             return true;",
            vec![],
        )
        .await?;
    let ticks = RATE * ROUND_SECS;
    let mut interval = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    let mut sent = tokio::task::JoinSet::new();
    for n in 0..ticks {
        interval.tick().await;
        // Call, customer or robot, and an LLM figure that is slow one time in eight.
        let i = ((n * 7919) % CALLS as u64) as usize;
        let round = 100 + round_no * 1_000 + n / 3;
        let bodies = turn(i, round, hub::now_ms(), if n % 8 == 0 { 2_400.0 } else { 700.0 + (n % 500) as f64 });
        let Some(body) = bodies.into_iter().nth((n % 3) as usize) else { continue };
        let http = trtc.http.clone();
        let url = trtc.url.clone();
        sent.spawn(async move { Trtc { http, url }.post(body).await });
    }
    while let Some(result) = sent.join_next().await {
        result.context("a callback task panicked")??;
    }
    // The last events' way to the screen.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let probe = app
        .client
        .execute(
            "const p = window.__switchboardPerf; p.on = false; delete window.__switchboardPerf;
             return { latencies: p.latencies, frames: p.frames.slice(1) };",
            vec![],
        )
        .await?;
    let numbers = |key: &str| -> Vec<f64> {
        probe[key].as_array().map(|values| values.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
    };
    let mut latencies = numbers("latencies");
    latencies.sort_by(f64::total_cmp);
    let frames = numbers("frames");
    if latencies.len() < (ticks as usize) * 9 / 10 {
        bail!("only {} of {ticks} events were seen painted", latencies.len());
    }
    Ok(Round { frames: Frames::of(frames), latencies })
}

#[tokio::main]
async fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = HubConfig::new(APP_ID, CALLBACK_KEY, dir.path().join("hub"));
    config.listen = "127.0.0.1:0".parse()?;
    let running = hub::start(config).await.context("starting the hub")?;
    let token = running.add_user("bench-lead", Role::Lead).await.context("adding the bench supervisor")?;
    let trtc = Trtc { http: reqwest::Client::new(), url: format!("{}/callbacks/trtc", running.base_url) };

    println!("== event to screen: {CALLS} live calls, {RATE} callbacks/s, {ROUNDS} rounds of {ROUND_SECS} s");
    let started = Instant::now();
    let now = hub::now_ms();
    let mut bodies = Vec::new();
    for i in 0..CALLS {
        bodies.push(Trtc::body(901, &task(i), now, json!({"Status": 0})));
        bodies.extend(turn(i, 0, now, 600.0 + (i % 700) as f64));
    }
    trtc.post_all(bodies).await?;
    println!("   {CALLS} calls (4 callbacks each) posted in {:.1} s", started.elapsed().as_secs_f64());

    let data = dir.path().join("console");
    std::fs::create_dir_all(&data)?;
    let launch = Launch::new(&data, "en_US.UTF-8");
    let app = App::launch(&launch).await?;
    app.invoke("connect_hub", json!({"url": running.base_url, "token": token}))
        .await
        .context("connecting the app to the bench hub")?;
    let shown = Instant::now();
    wall_of_all(&app).await?;
    println!("   the wall showed {CALLS} live calls {:.1} s after connecting", shown.elapsed().as_secs_f64());

    let idle = idle_frames(&app, IDLE_SECS).await?;
    println!("   the wall idle for {IDLE_SECS} s (no callbacks): {idle}");

    let mut rounds = Vec::new();
    for round in 0..ROUNDS {
        let result = measure(&app, &trtc, round as u64).await?;
        println!(
            "   round {}: {} events painted; event→screen p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {}",
            round + 1,
            result.latencies.len(),
            percentile(&result.latencies, 0.5),
            percentile(&result.latencies, 0.99),
            result.latencies.last().copied().unwrap_or(f64::NAN),
            result.frames
        );
        rounds.push(result);
    }
    app.screenshot("bench-1000-calls").await?;
    // The control: the same window on the settings screen (no wall drawn), idle.
    app.click("#nav-settings").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let floor = idle_frames(&app, IDLE_SECS).await?;
    println!("   the settings screen idle for {IDLE_SECS} s (no wall): {floor}");
    app.close().await?;

    let mut cold_total = Vec::new();
    let mut cold_page = Vec::new();
    for n in 0..COLD_STARTS {
        let launched = Instant::now();
        let app = App::launch(&launch).await?;
        wall_of_all(&app).await?;
        let total = launched.elapsed().as_secs_f64() * 1_000.0;
        let page = app.client.execute("return performance.now();", vec![]).await?.as_f64().unwrap_or(f64::NAN);
        println!(
            "   cold start {}: launch → 1,000-call wall {total:.0} ms (page navigation → wall {page:.0} ms)",
            n + 1
        );
        cold_total.push(total);
        cold_page.push(page);
        app.close().await?;
    }
    running.stop().await;

    let mut p50: Vec<f64> = rounds.iter().map(|round| percentile(&round.latencies, 0.5)).collect();
    let mut p99: Vec<f64> = rounds.iter().map(|round| percentile(&round.latencies, 0.99)).collect();
    let mut frames: Vec<f64> = rounds.iter().map(|round| round.frames.longest).collect();
    let mut frames_p99: Vec<f64> = rounds.iter().map(|round| round.frames.p99).collect();
    let (p50, p99, frame) = (median(&mut p50), median(&mut p99), median(&mut frames));
    let frame_p99 = median(&mut frames_p99);
    let (total, page) = (median(&mut cold_total), median(&mut cold_page));
    println!("\n== event to screen, medians of {ROUNDS} rounds / {COLD_STARTS} launches");
    println!("   | figure | median | goal | ratio to goal |");
    println!("   | event→screen p50 | {p50:.1} ms | — | — |");
    println!("   | event→screen p99 | {p99:.1} ms | ≤ 100 ms | {:.2} |", p99 / 100.0);
    println!("   | longest frame | {frame:.1} ms | ≤ 50 ms | {:.2} |", frame / 50.0);
    println!("   | frame p99 | {frame_p99:.1} ms | — | — |");
    println!("   | longest frame, the wall idle (no callbacks) | {:.1} ms | — | — |", idle.longest);
    println!("   | longest frame, settings screen idle (no wall) | {:.1} ms | — | — |", floor.longest);
    println!("   | cold start: launch → painted 1,000-call wall | {total:.0} ms | — | — |");
    println!("   | cold start: page navigation → painted wall | {page:.0} ms | — | — |");
    Ok(())
}
