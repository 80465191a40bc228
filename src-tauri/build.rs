//! Tauri's build step, pointed at the root `tauri.conf.json`, with an app manifest that
//! lists our commands so the capability files can grant them one by one.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    println!("cargo:rerun-if-changed=../tauri.conf.json");
    let attributes = tauri_build::Attributes::new().config_path("../tauri.conf.json").app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "app_info",
            "set_language",
            "live_snapshot",
            "alerts",
            "acknowledge_alert",
            "alert_rules",
            "set_alert_rules",
            "test_hub_connection",
            "connect_hub",
            "use_demo",
            "call_events",
            "call_recordings",
            "download_recording",
            "export_call",
            "search",
            "add_note",
            "set_tags",
            "set_qa_score",
            "call_review",
            "cache_info",
            "set_retention",
            "token_location",
            "call_history",
            "whoami",
            "call_action",
            "watch_call",
        ]),
    );
    if let Err(err) = tauri_build::try_build(attributes) {
        // A build script reports failure by exiting non-zero; cargo shows this message.
        eprintln!("tauri build step failed: {err:#}");
        std::process::exit(1);
    }
}
