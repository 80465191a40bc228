//! The Switchboard app shell: the composition root.
//!
//! `run` builds the engine's [`engine::Console`] once in `setup`, manages it as state and
//! registers the commands of [`commands`]. Nothing else lives here: no business rules,
//! no SQL, no HTTP — those belong to `engine`. This is the only crate that imports `tauri`.

mod commands;

use std::path::PathBuf;

use tauri::Manager;

/// Environment variable that overrides the data directory (tests use a throwaway one).
pub const DATA_DIR_ENV: &str = "SWITCHBOARD_DATA_DIR";

/// Starts the app. Also the mobile entry point, so iOS/Android targets can be added.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    init_tracing();
    let result = tauri::Builder::default()
        .setup(|app| {
            let data_dir = match std::env::var_os(DATA_DIR_ENV) {
                Some(dir) => PathBuf::from(dir),
                None => app.path().app_data_dir()?,
            };
            let console = engine::Console::open(&data_dir, env!("CARGO_PKG_VERSION"), sys_locale::get_locale())?;
            tracing::info!(data_dir = %console.data_dir().display(), "console opened");
            app.manage(console);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![commands::app_info, commands::set_language])
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(err) = result {
        tracing::error!(error = %err, "Switchboard stopped with an error");
        eprintln!("Switchboard could not start: {err}");
        std::process::exit(1);
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Ignored if a subscriber is already set (a second `run` in the same process).
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
