//! The official Tencent Cloud Python SDK (tencentcloud-sdk-python-trtc), unchanged, runs
//! every emulated action against a live emulator: tests/python/sdk_against_emulator.py.
//!
//! `cargo xtask test` installs the pinned SDK into a venv and passes its python in
//! `SWITCHBOARD_PYTHON`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, process::Command};

use emulator::CloudConfig;

const APP: u64 = 1_400_000_000;
const SDK_SECRET: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

#[tokio::test(flavor = "multi_thread")]
async fn the_official_python_sdk_runs_every_action_against_the_emulator_unchanged() {
    let python = std::env::var("SWITCHBOARD_PYTHON")
        .expect("SWITCHBOARD_PYTHON must point at a python with tencentcloud-sdk-python-trtc; run `cargo xtask test`");
    assert!(Path::new(&python).exists(), "SWITCHBOARD_PYTHON={python} does not exist; run `cargo xtask setup`");
    let config = CloudConfig {
        sdk_app_id: APP,
        keys: vec![("AKIDswitchboardTEST".into(), "switchboard-test-secret-key".into())],
        sdk_secret_key: Some(SDK_SECRET.into()),
        rate_limit: 20,
        clock_offset_secs: 0,
    };
    let running = emulator::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let bot_sig = trtc::usersig::generate(APP, SDK_SECRET, "ai_robot_1", 3600, now).unwrap();
    let recorder_sig = trtc::usersig::generate(APP, SDK_SECRET, "recorder_1", 3600, now).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/sdk_against_emulator.py");
    let endpoint = running.addr.to_string();

    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args([
                &endpoint,
                "AKIDswitchboardTEST",
                "switchboard-test-secret-key",
                &APP.to_string(),
                &bot_sig,
                &recorder_sig,
            ])
            .output()
    })
    .await
    .unwrap()
    .expect("the python script should start");

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "the SDK script failed:\n{stdout}\n{stderr}");
    assert!(stdout.trim_end().ends_with("all ok"), "the script did not finish:\n{stdout}");
    for action in [
        "StartAIConversation",
        "DescribeAIConversation",
        "ControlAIConversation ServerPushText",
        "ControlAIConversation InvokeLLM",
        "UpdateAIConversation",
        "StopAIConversation",
        "CreateCloudRecording",
        "DescribeCloudRecording",
        "ModifyCloudRecording",
        "DeleteCloudRecording",
    ] {
        assert!(stdout.contains(&format!("ok {action}")), "{action} was not exercised:\n{stdout}");
    }
    running.stop();
}
