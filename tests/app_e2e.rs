//! End-to-end tests of the real Switchboard app: the built binary in a real window under
//! Xvfb, driven through tauri-driver and WebKitWebDriver. Run with `cargo xtask test`.
//!
//! With no hub configured the app runs its built-in demo (in-process hub and TRTC
//! emulator with generated traffic), so these stories see live calls arrive through the
//! real hub, client, cache and event channel. Screenshots in both languages land in
//! `artifacts/e2e/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use switchboard_tests::{App, Launch};

fn launch(data_dir: &std::path::Path, lang: &str) -> Launch {
    Launch::new(data_dir, lang)
}

/// Waits until the wall shows at least one live call tile; answers how many.
async fn wait_for_tiles(app: &App) -> Result<usize> {
    let deadline = std::time::Instant::now() + switchboard_tests::UI_TIMEOUT;
    loop {
        let count = app.client.execute("return document.querySelectorAll('.tile').length", vec![]).await?;
        let count = count.as_u64().unwrap_or(0);
        if count > 0 {
            return Ok(usize::try_from(count)?);
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "no live call tile within {:?}",
            switchboard_tests::UI_TIMEOUT
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_built_in_demo_brings_live_calls_to_the_wall_within_seconds() -> Result<()> {
    let data = tempfile::tempdir()?;
    let app = App::launch(&launch(data.path(), "en_US.UTF-8")).await?;
    let started = std::time::Instant::now();

    app.wait_for("#app-title", "Switchboard").await?;
    app.wait_for("#connection-status", "Live").await?;
    app.wait_for("#hub-demo", "Built-in demo").await?;
    let tiles = wait_for_tiles(&app).await?;
    println!("{tiles} live call tile(s) {:?} after the window opened", started.elapsed());
    // What the tile says came through hub → client → cache → event channel → UI fold.
    app.wait_text("#wall-summary", |text| !text.is_empty()).await?;
    assert!(data.path().join("cache-demo.sqlite").exists(), "the events are cached");
    // The footer is filled from the `app_info` command: version and data directory came
    // from the shell, not from the page.
    app.wait_for("#app-version", &format!("Version {}", env!("CARGO_PKG_VERSION"))).await?;
    let data_dir = data.path().canonicalize()?.display().to_string();
    app.wait_for("#data-dir", &data_dir).await?;
    app.wait_for("#language-source", "English (following the system language)").await?;

    // The stylesheet loaded under the strict CSP (a blocked one would leave text checks green).
    let header = app
        .client
        .execute("return getComputedStyle(document.querySelector('.header')).backgroundColor", vec![])
        .await?;
    assert_eq!(header, "rgb(31, 78, 121)", "style.css should style the header");

    let shot = app.screenshot("shell-en").await?;
    println!("screenshot: {}", shot.display());

    // Tablet portrait: everything still fits without sideways scrolling.
    app.client.set_window_size(768, 1024).await?;
    app.wait_for("#lang-en", "English").await?;
    wait_for_tiles(&app).await?;
    let overflow = app
        .client
        .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth", vec![])
        .await?;
    assert_eq!(overflow, 0, "at 768 px wide the shell should not scroll sideways");
    app.screenshot("shell-en-tablet").await?;

    // The keyboard: arrow keys move between tiles, Enter opens the focused call.
    let deadline = std::time::Instant::now() + switchboard_tests::UI_TIMEOUT;
    while wait_for_tiles(&app).await? < 2 {
        anyhow::ensure!(std::time::Instant::now() < deadline, "the demo never had two live calls");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let focused = "const e = document.activeElement; return e ? e.getAttribute('data-task') : null;";
    let tasks = app
        .client
        .execute(
            "const t = [...document.querySelectorAll('.tile')]; t[0].focus(); return t.map(e => e.getAttribute('data-task'));",
            vec![],
        )
        .await?;
    let (first, second) = (tasks[0].clone(), tasks[1].clone());
    assert_eq!(app.client.execute(focused, vec![]).await?, first);
    app.client.active_element().await?.send_keys("\u{E014}").await?; // ArrowRight
                                                                     // One column at this width: ArrowRight and ArrowDown both reach the next call.
    assert_eq!(app.client.execute(focused, vec![]).await?, second, "ArrowRight moves to the next tile");
    app.client.active_element().await?.send_keys("\u{E012}").await?; // ArrowLeft
    assert_eq!(app.client.execute(focused, vec![]).await?, first, "ArrowLeft moves back");
    app.client.active_element().await?.send_keys("\u{E007}").await?; // Enter
    app.wait_text("#call-title", |text| !text.is_empty()).await?;
    app.close().await
}

#[tokio::test]
async fn switching_to_chinese_relabels_the_shell_and_the_choice_survives_a_restart() -> Result<()> {
    let data = tempfile::tempdir()?;
    let app = App::launch(&launch(data.path(), "en_US.UTF-8")).await?;
    app.wait_for("#wall-title", "Live wall").await?;

    app.click("#lang-zh-CN").await?;
    app.wait_for("#app-title", "Switchboard 总机").await?;
    app.wait_for("#connection-status", "实时").await?;
    app.wait_for("#wall-title", "实时通话墙").await?;
    app.wait_for("#hub-demo", "内置演示").await?;
    wait_for_tiles(&app).await?;
    app.wait_for("#language-source", "简体中文（已保存的选择）").await?;
    let lang = app.client.execute("return document.documentElement.lang", vec![]).await?;
    assert_eq!(lang, "zh-CN", "<html lang> should follow the UI language so CJK glyphs are Chinese");
    let shot = app.screenshot("shell-zh-CN").await?;
    println!("screenshot: {}", shot.display());
    app.close().await?;

    let settings = std::fs::read_to_string(data.path().join("settings.json"))?;
    assert!(settings.contains("\"zh-CN\""), "the choice should be saved in settings.json, got {settings}");

    // Same data directory, English OS: the saved choice wins over the OS locale.
    let app = App::launch(&launch(data.path(), "en_US.UTF-8")).await?;
    app.wait_for("#wall-title", "实时通话墙").await?;
    app.click("#lang-en").await?;
    app.wait_for("#wall-title", "Live wall").await?;
    app.wait_for("#language-source", "English (saved choice)").await?;
    app.close().await
}

#[tokio::test]
async fn a_chinese_os_locale_opens_the_console_in_chinese() -> Result<()> {
    let data = tempfile::tempdir()?;
    let app = App::launch(&launch(data.path(), "zh_CN.UTF-8")).await?;
    app.wait_for("#wall-title", "实时通话墙").await?;
    app.wait_for("#language-source", "简体中文（跟随系统语言）").await?;
    app.wait_for("#app-version", &format!("版本 {}", env!("CARGO_PKG_VERSION"))).await?;
    app.close().await
}

#[tokio::test]
async fn a_corrupt_settings_file_is_moved_aside_and_the_supervisor_is_told() -> Result<()> {
    let data = tempfile::tempdir()?;
    std::fs::write(data.path().join("settings.json"), b"{\"language\": ")?;
    let app = App::launch(&launch(data.path(), "en_US.UTF-8")).await?;
    let moved_to = data.path().canonicalize()?.join("settings.json.corrupt");
    app.wait_text(".banner-notice", |text| text.contains(&moved_to.display().to_string())).await?;
    app.wait_for("#wall-title", "Live wall").await?;
    app.close().await?;
    assert_eq!(std::fs::read(&moved_to)?, b"{\"language\": ", "the unreadable bytes are kept, not lost");
    Ok(())
}

#[tokio::test]
async fn a_fired_alert_becomes_a_desktop_notification_once_per_call() -> Result<()> {
    let data = tempfile::tempdir()?;
    let bus = data.path().join("notifications.log");
    let app = App::launch(&Launch { notifications: Some(bus.clone()), ..launch(data.path(), "en_US.UTF-8") }).await?;
    app.wait_for("#connection-status", "Live").await?;
    // Through the real IPC bridge, as the rule editor will: a rule every call trips.
    let rules = serde_json::json!({"rules": {"rules": [
        {"id": "long-call", "enabled": true, "kind": {"type": "callTooLong", "limitSecs": 2}}
    ]}});
    let mut answer = app.invoke("set_alert_rules", rules.clone()).await;
    for _ in 0..50 {
        if answer.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        answer = app.invoke("set_alert_rules", rules.clone()).await;
    }
    let answer = answer?;
    assert_eq!(answer["rules"][0]["id"], "long-call", "{answer}");
    // A bad rule is refused with the field named, and nothing changes.
    let bad = serde_json::json!({"rules": {"rules": [
        {"id": "x", "enabled": true, "kind": {"type": "callTooLong", "limitSecs": -5}}
    ]}});
    let refused = app.invoke("set_alert_rules", bad).await.expect_err("a negative limit must be refused");
    assert!(refused.to_string().contains("limitSecs"), "{refused}");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    let log = loop {
        let log = std::fs::read_to_string(&bus).unwrap_or_default();
        if log.contains("Switchboard alert") || std::time::Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert!(log.contains("Switchboard alert"), "no notification on the bus; dbus-monitor saw:\n{log}");
    let alerts = app.invoke("alerts", serde_json::json!({})).await?;
    let alerts = alerts.as_array().cloned().unwrap_or_default();
    assert!(!alerts.is_empty(), "the fired alert is listed");
    let notified = log.matches("Switchboard alert").count();
    assert!(notified <= alerts.len(), "{notified} notifications for {} alerts", alerts.len());
    app.screenshot("alert-notified").await?;
    app.close().await
}
