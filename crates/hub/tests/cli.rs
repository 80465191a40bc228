//! The `switchboard-hub` binary as an operator meets it: `--help`, a bad setting named at
//! start, `user add` printing a token once, and `serve --listen 127.0.0.1:0` printing the
//! bound base URL first and answering with that token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard-hub");

/// A command with none of the hub's variables inherited from the environment.
fn hub() -> Command {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("TRTC_") || key.starts_with("HUB_") || key.starts_with("TENCENTCLOUD_") {
            command.env_remove(key);
        }
    }
    command
}

#[test]
fn help_documents_every_setting_with_its_variable() {
    let output = hub().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "--listen",
        "HUB_LISTEN",
        "--data-dir",
        "HUB_DATA_DIR",
        "--sdk-app-id",
        "TRTC_SDK_APP_ID",
        "--callback-key",
        "TRTC_CALLBACK_KEY",
        "--endpoint",
        "TRTC_ENDPOINT",
        "--region",
        "TRTC_REGION",
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "--sdk-secret-key",
        "TRTC_SDK_SECRET_KEY",
        "--replay-window-secs",
        "--retention-days",
        "--llm-upstream-url",
        "--llm-gateway-key",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}:\n{help}");
    }
}

#[test]
fn a_bad_setting_stops_the_hub_with_a_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--sdk-app-id", "0", "--callback-key", "k"], "--sdk-app-id"),
        (&["--sdk-app-id", "1400000000", "--callback-key", " "], "--callback-key"),
        (&["--sdk-app-id", "1400000000", "--callback-key", "k", "--endpoint", "ftp://x"], "--endpoint"),
        (&["--sdk-app-id", "1400000000", "--callback-key", "k", "--secret-id", "AKID"], "--secret-key"),
    ];
    for (args, setting) in cases {
        let output =
            hub().args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(dir.path()).args(args).output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(setting), "{args:?}: expected {setting} in {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test]
async fn user_add_prints_a_token_that_serve_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let output = hub().args(["user", "add", "Li Na", "--role", "lead", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("sbt_"), "{token}");
    let bad_role = hub().args(["user", "add", "x", "--role", "boss", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("viewer, supervisor or lead"));

    let mut child = hub()
        .args(["serve", "--listen", "127.0.0.1:0", "--sdk-app-id", "1400000000", "--data-dir"])
        .arg(dir.path())
        .env("TRTC_CALLBACK_KEY", "a-callback-key")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first_line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    let base_url = tokio::time::timeout(Duration::from_secs(20), first_line).await.unwrap().unwrap();
    let base_url = base_url.trim();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    let http = reqwest::Client::new();
    let calls = http.get(format!("{base_url}/v1/calls")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(calls.status(), 200);
    let refused = http.get(format!("{base_url}/v1/calls")).bearer_auth("sbt_nope").send().await.unwrap();
    assert_eq!(refused.status(), 401);
    child.kill().unwrap();
    child.wait().unwrap();
}
