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
    });
    let json = serde_json::to_string_pretty(&fixture).map_err(|err| format!("cannot serialise the fixture: {err}"))?;
    println!("{json}");
    Ok(())
}
