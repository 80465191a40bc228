//! Benchmark of the edge and the fold: how fast TRTC callbacks become events, and how fast
//! the board folds them — clean, with TRTC's duplicate deliveries, and out of order — plus
//! the wall's health sort. Run with `cargo xtask bench`.
//!
//! Every figure is the median of several samples taken in this one run, and the ratios
//! compare figures measured side by side, so a noisy machine shifts them together.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use domain::{
    board::Board,
    call::HealthPolicy,
    event::Event,
    ids::{SdkAppId, SourceMs},
};
use serde_json::json;

const CALLS: usize = 1_000;
const TURNS: usize = 8;
const SAMPLES: usize = 7;
const APP: SdkAppId = SdkAppId(1_400_000_000);

/// One call's callbacks as TRTC would send them: start, ready, then per turn 904, the user's
/// and the robot's 903, the seven 906 metrics and 905; finally 902.
fn call_bodies(call: usize) -> Vec<(u64, Vec<u8>)> {
    let task = format!("v2_20261124_bench_task_{call:05}");
    let room = (100_000 + call).to_string();
    let t0 = 1_764_000_000_000 + call as u64 * 37;
    let body = |event_type: u64, ms: u64, payload: serde_json::Value| {
        let bytes = json!({
            "EventGroupId": 9, "EventType": event_type, "CallbackTs": ms + 40,
            "EventInfo": {"EventMsTs": ms, "TaskId": task, "RoomId": room, "RoomIdType": 0, "Payload": payload}
        })
        .to_string()
        .into_bytes();
        (ms, bytes)
    };
    let mut out = vec![body(901, t0, json!({"Status": 0})), body(909, t0 + 300, json!({"Status": "session_ready"}))];
    for turn in 0..TURNS {
        let round = format!("round-{turn}");
        let t = t0 + 1_000 + turn as u64 * 6_000;
        out.push(body(904, t, json!({"UserId": "customer", "RoundId": round})));
        out.push(body(903, t + 1_500, json!({"UserId": "customer", "Text": "我想查询一下我的订单什么时候能到", "StartTimeMs": t, "EndTimeMs": t + 1_400, "RoundId": round})));
        out.push(body(903, t + 2_600, json!({"UserId": "robot", "Text": "好的，请您提供一下订单号，我马上为您查询。", "StartTimeMs": t + 2_000, "EndTimeMs": t + 2_600, "RoundId": round})));
        for (i, (metric, value)) in [
            ("asr_latency", 1_180.0),
            ("llm_network_latency", 90.0),
            ("llm_first_token", 640.0 + (call % 7) as f64 * 300.0),
            ("tts_network_latency", 60.0),
            ("tts_first_frame_latency", 410.0),
            ("tts_discontinuity", 0.0),
            ("interruption", 0.0),
        ]
        .into_iter()
        .enumerate()
        {
            out.push(body(
                906,
                t + 1_600 + i as u64,
                json!({"Metric": metric, "Value": value, "Tag": {"RoundId": round}}),
            ));
        }
        out.push(body(
            905,
            t + 4_800,
            json!({"UserId": "robot", "RoundId": round, "Text": "好的，请您提供一下订单号，我马上为您查询。"}),
        ));
    }
    out.push(body(902, t0 + 1_000 + TURNS as u64 * 6_000, json!({"LeaveCode": 0})));
    out
}

/// All calls interleaved by source time, the way a hub receives them.
fn stream() -> Vec<Vec<u8>> {
    let mut all: Vec<(u64, Vec<u8>)> = (0..CALLS).flat_map(call_bodies).collect();
    all.sort_by_key(|(ms, _)| *ms);
    all.into_iter().map(|(_, bytes)| bytes).collect()
}

/// Median, min and max of `SAMPLES` timings of `f`.
fn measure(mut f: impl FnMut()) -> (Duration, Duration, Duration) {
    f(); // warm-up
    let mut samples: Vec<Duration> = (0..SAMPLES)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    samples.sort();
    (samples[SAMPLES / 2], samples[0], samples[SAMPLES - 1])
}

fn report(name: &str, items: usize, unit: &str, (median, min, max): (Duration, Duration, Duration)) -> f64 {
    let rate = items as f64 / median.as_secs_f64();
    println!(
        "{name:<44} {:>10.0} {unit}/s   median {:>8.2} ms   (min {:.2}, max {:.2})",
        rate,
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    median.as_secs_f64()
}

fn main() {
    let bodies = stream();
    let events: Vec<Event> = bodies
        .iter()
        .map(|bytes| Event::from_callback(bytes, Some(APP)))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|err| panic!("the benchmark's own callbacks must normalise: {err}"));
    let n = events.len();
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    println!(
        "stream: {CALLS} calls x {TURNS} turns = {n} callbacks, {} KB of JSON; {SAMPLES} samples each\n",
        bytes / 1024
    );

    let normalise = report(
        "normalise (callback JSON -> Event)",
        n,
        "events",
        measure(|| {
            for body in &bodies {
                black_box(Event::from_callback(black_box(body), Some(APP)).ok());
            }
        }),
    );
    let fold = report(
        "fold into Board, in order",
        n,
        "events",
        measure(|| {
            let mut board = Board::new();
            events.iter().for_each(|event| {
                board.apply(event);
            });
            black_box(board);
        }),
    );
    let doubled: Vec<&Event> = events.iter().flat_map(|event| [event, event]).collect();
    let fold_dup = report(
        "fold, every callback delivered twice",
        doubled.len(),
        "events",
        measure(|| {
            let mut board = Board::new();
            doubled.iter().for_each(|event| {
                board.apply(event);
            });
            black_box(board);
        }),
    );
    let reversed: Vec<&Event> = events.iter().rev().collect();
    let fold_rev = report(
        "fold, delivered in reverse order",
        n,
        "events",
        measure(|| {
            let mut board = Board::new();
            reversed.iter().for_each(|event| {
                board.apply(event);
            });
            black_box(board);
        }),
    );

    // The wall: all calls live (replay without the final 902s), sorted worst first.
    let mut live = Board::new();
    events.iter().filter(|event| event.body.callback_event_type() != Some(902)).for_each(|event| {
        live.apply(event);
    });
    let policy = HealthPolicy::default();
    let now = SourceMs(1_764_000_000_000 + 60_000);
    let live_count = live.live_calls().count();
    let sort = report(
        &format!("wall: health-sort {live_count} live calls"),
        1,
        "sorts",
        measure(|| {
            black_box(live.by_health(&policy, now).len());
        }),
    );

    println!("\nratios (same run):");
    println!("  normalise / fold per event           {:.2}x", normalise / fold);
    println!("  duplicate delivery / clean per event {:.2}x", (fold_dup / 2.0) / fold);
    println!("  reverse order / in order             {:.2}x", fold_rev / fold);
    println!("  one wall sort / folding one event    {:.0}x", sort / (fold / n as f64));
}
