//! Prints a busy live wall as JSON, for the browser check's stand-in Tauri shell
//! (`ui/tests/browser/check.py`): the answers to `app_info` and `live_snapshot`, and the
//! live updates to push before and after the snapshot. The events are the unit tests'
//! fixtures (`src/testkit.rs`), built with `domain`'s types and serialised with serde, so
//! they are exactly what the shell would send.
//!
//! Usage: `cargo run -p ui --example wall_fixture -- [NOW_MS]` (default: the current time).

use std::time::{SystemTime, UNIX_EPOCH};

use domain::api::{AppInfo, ConnectionStatus, HubInfo, Language, LiveSnapshot, LiveUpdate, Notice};

#[allow(dead_code)] // the example uses only part of the fixtures
#[path = "../src/testkit.rs"]
mod testkit;

/// Live calls on the big wall (`?big=1`): the "stays smooth with 1,000 live calls".
const BIG_WALL_CALLS: u64 = 1_000;

/// A snapshot of `calls` live calls with three turns each, one in twenty with a slow LLM.
fn big_wall(now: u64, calls: u64) -> LiveSnapshot {
    let mut script = testkit::Script::new(now - 600_000);
    let mut events = Vec::new();
    for i in 0..calls {
        let call = testkit::Spec::new(&format!("task-big-{i:04}"), 30_000 + i, &format!("cust_{i:04}"));
        let start = now - 300_000 - (i % 240) * 1_000;
        let mut call_events = vec![call.started(start), call.ready(start + 1_000)];
        for turn in 0..3u64 {
            let llm = if i % 20 == 0 { 2_600.0 } else { 600.0 + ((i * 37 + turn * 101) % 900) as f64 };
            let said = format!("第 {turn} 个问题，关于订单 A{i:06}");
            call_events.extend(call.turn(
                &format!("r-{turn}"),
                start + 5_000 + turn * 60_000,
                &said,
                "好的，我来帮您查询。",
                [900.0, llm, 420.0],
            ));
        }
        events.extend(script.stamp(call_events));
    }
    events.sort_by_key(|event| event.seq);
    let last_seq = events.last().and_then(|event| event.seq).map_or(0, |seq| seq.0);
    LiveSnapshot { events, last_seq, connection: ConnectionStatus::Live }
}

fn main() -> Result<(), String> {
    let now = match std::env::args().nth(1) {
        Some(arg) => arg.parse::<u64>().map_err(|err| format!("NOW_MS must be milliseconds since the epoch: {err}"))?,
        None => {
            let since =
                SystemTime::now().duration_since(UNIX_EPOCH).map_err(|err| format!("clock before 1970: {err}"))?;
            u64::try_from(since.as_millis()).map_err(|err| format!("clock out of range: {err}"))?
        }
    };
    let wall = testkit::busy_wall(now);
    let app_info = AppInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        data_dir: "/home/supervisor/.local/share/switchboard".to_owned(),
        os_locale: Some("en-US".to_owned()),
        language: Language::En,
        language_saved: true,
        connection: ConnectionStatus::Connecting,
        notices: vec![],
        hub: Some(HubInfo { url: "http://127.0.0.1:47113".to_owned(), demo: true, token_storage: None }),
    };
    let snapshot =
        LiveSnapshot { events: wall.snapshot, last_seq: wall.last_seq, connection: ConnectionStatus::Connecting };
    let early =
        vec![LiveUpdate::Events { events: wall.early }, LiveUpdate::Connection { status: ConnectionStatus::Live }];
    let later = vec![LiveUpdate::Notice {
        notice: Notice::CacheWriteFailing { message: "No space left on device (os error 28)".to_owned() },
    }];
    let fixture = serde_json::json!({
        "appInfo": app_info,
        "snapshot": snapshot,
        "early": early,
        "later": later,
        "big": big_wall(now, BIG_WALL_CALLS),
    });
    let json = serde_json::to_string_pretty(&fixture).map_err(|err| format!("cannot serialise the fixture: {err}"))?;
    println!("{json}");
    Ok(())
}
