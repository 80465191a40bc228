//! End-to-end tests of the real Switchboard app: the built binary in a real window under
//! Xvfb, driven through tauri-driver and WebKitWebDriver. Run with `cargo xtask test`.
//!
//! Screenshots of the shell in both languages land in `artifacts/e2e/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use switchboard_tests::{App, Launch};

fn launch(data_dir: &std::path::Path, lang: &str) -> Launch {
    Launch { data_dir: data_dir.to_path_buf(), lang: lang.to_owned() }
}

#[tokio::test]
async fn the_shell_renders_and_shows_what_the_app_reported_over_ipc() -> Result<()> {
    let data = tempfile::tempdir()?;
    let app = App::launch(&launch(data.path(), "en_US.UTF-8")).await?;

    app.wait_for("#app-title", "Switchboard").await?;
    app.wait_for("#connection-status", "No hub connected").await?;
    app.wait_for("#wall-empty-title", "No live calls yet").await?;
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
    let overflow = app
        .client
        .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth", vec![])
        .await?;
    assert_eq!(overflow, 0, "at 768 px wide the shell should not scroll sideways");
    app.screenshot("shell-en-tablet").await?;
    app.close().await
}

#[tokio::test]
async fn switching_to_chinese_relabels_the_shell_and_the_choice_survives_a_restart() -> Result<()> {
    let data = tempfile::tempdir()?;
    let app = App::launch(&launch(data.path(), "en_US.UTF-8")).await?;
    app.wait_for("#wall-empty-title", "No live calls yet").await?;

    app.click("#lang-zh-CN").await?;
    app.wait_for("#app-title", "Switchboard 总机").await?;
    app.wait_for("#connection-status", "未连接中心服务").await?;
    app.wait_for("#wall-empty-title", "暂无进行中的通话").await?;
    app.wait_for("#wall-title", "实时通话墙").await?;
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
    app.wait_for("#wall-empty-title", "暂无进行中的通话").await?;
    app.click("#lang-en").await?;
    app.wait_for("#wall-empty-title", "No live calls yet").await?;
    app.wait_for("#language-source", "English (saved choice)").await?;
    app.close().await
}

#[tokio::test]
async fn a_chinese_os_locale_opens_the_console_in_chinese() -> Result<()> {
    let data = tempfile::tempdir()?;
    let app = App::launch(&launch(data.path(), "zh_CN.UTF-8")).await?;
    app.wait_for("#wall-empty-title", "暂无进行中的通话").await?;
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
    app.wait_for("#wall-empty-title", "No live calls yet").await?;
    app.close().await?;
    assert_eq!(std::fs::read(&moved_to)?, b"{\"language\": ", "the unreadable bytes are kept, not lost");
    Ok(())
}
