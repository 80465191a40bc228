//! The Switchboard app shell: the composition root.
//!
//! `run` builds the engine's [`engine::Console`] once in `setup`, manages it as state,
//! registers the commands of [`commands`], and starts the console's link (the built-in demo
//! or the configured hub) with a [`sink::TauriSink`] that turns the engine's live updates
//! into the one Tauri event [`domain::api::LIVE_UPDATE_EVENT`] and its alerts into OS
//! notifications. Nothing else lives here: no business rules, no SQL, no HTTP — those
//! belong to `engine`. This is the only crate that imports `tauri`.

mod commands;
mod sink;

use std::{path::PathBuf, sync::Arc};

use tauri::Manager;

/// Environment variable that overrides the data directory (tests use a throwaway one).
pub const DATA_DIR_ENV: &str = "SWITCHBOARD_DATA_DIR";

/// Starts the app. Also the mobile entry point, so iOS/Android targets can be added.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    init_tracing();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let data_dir = match std::env::var_os(DATA_DIR_ENV) {
                Some(dir) => PathBuf::from(dir),
                None => app.path().app_data_dir()?,
            };
            let console =
                Arc::new(engine::Console::open(&data_dir, env!("CARGO_PKG_VERSION"), sys_locale::get_locale())?);
            tracing::info!(data_dir = %console.data_dir().display(), "console opened");
            allow_recordings(app, console.data_dir())?;
            app.manage(console.clone());
            let sink = Arc::new(sink::TauriSink::new(app.handle().clone()));
            tauri::async_runtime::spawn(async move { console.start_link(sink).await });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::set_language,
            commands::live_snapshot,
            commands::alerts,
            commands::acknowledge_alert,
            commands::alert_rules,
            commands::set_alert_rules,
            commands::test_hub_connection,
            commands::connect_hub,
            commands::use_demo,
            commands::call_events,
            commands::call_recordings,
            commands::download_recording,
            commands::export_call,
            commands::search,
            commands::add_note,
            commands::set_tags,
            commands::set_qa_score,
            commands::call_review,
            commands::cache_info,
            commands::set_retention,
            commands::token_location,
            commands::call_history,
            commands::whoami,
            commands::call_action,
            commands::watch_call,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(err) = result {
        tracing::error!(error = %err, "Switchboard stopped with an error");
        eprintln!("Switchboard could not start: {err}");
        std::process::exit(1);
    }
}

/// Lets the window play recordings from the local files the console downloaded: the asset
/// protocol's scope is empty in `tauri.conf.json` and opened here to `<data>/recordings`
/// only (the engine writes nothing else there; settings, the cache and the demo's
/// credentials stay out of the webview's reach).
fn allow_recordings(app: &tauri::App, data_dir: &std::path::Path) -> std::io::Result<()> {
    let recordings = data_dir.join("recordings");
    std::fs::create_dir_all(&recordings)?;
    app.asset_protocol_scope().allow_directory(&recordings, true).map_err(std::io::Error::other)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Ignored if a subscriber is already set (a second `run` in the same process).
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
