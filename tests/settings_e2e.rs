//! End-to-end stories of the settings and alerts screens: the real app on its built-in
//! demo, driven through WebDriver. Run with `cargo xtask test`.
//!
//! One launch covers it all (the suite runs on two cores): the settings screen names the
//! demo and where its token is kept, tests a connection to the demo's hub, saves a
//! retention that is still there when the screen is opened again, refuses an invalid rule
//! threshold next to its field and saves a valid one (which makes every call alert within
//! seconds); the alerts screen lists them and acknowledges one; then everything again in
//! Chinese. Screenshots of both screens at desktop and tablet sizes, in both languages,
//! land in `artifacts/e2e/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fantoccini::Locator;
use switchboard_tests::{App, Launch};

/// Replaces the text of the input at `css` as a person would (clear, then type).
async fn type_into(app: &App, css: &str, text: &str) -> Result<()> {
    let input = app.client.find(Locator::Css(css)).await.with_context(|| format!("no `{css}`"))?;
    input.clear().await?;
    input.send_keys(text).await?;
    Ok(())
}

/// Waits until `css` matches at least one element; answers how many.
async fn wait_count(app: &App, css: &str, limit: Duration) -> Result<usize> {
    let deadline = Instant::now() + limit;
    loop {
        let found = app.client.find_all(Locator::Css(css)).await?.len();
        if found > 0 {
            return Ok(found);
        }
        anyhow::ensure!(Instant::now() < deadline, "no `{css}` within {limit:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Screenshots at desktop, tablet landscape and tablet portrait sizes, checking that the
/// page never scrolls sideways.
async fn shots(app: &App, name: &str) -> Result<()> {
    for (size, (width, height)) in [("desktop", (1280, 800)), ("tablet", (1024, 768)), ("tablet-portrait", (768, 1024))]
    {
        app.client.set_window_size(width, height).await?;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let overflow = app
            .client
            .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth", vec![])
            .await?;
        assert_eq!(overflow, 0, "{name} at {width}×{height} scrolls sideways");
        let shot = app.screenshot(&format!("{name}-{size}")).await?;
        println!("screenshot: {}", shot.display());
    }
    app.client.set_window_size(1280, 800).await?;
    Ok(())
}

#[tokio::test]
async fn settings_and_alerts_work_on_the_built_in_demo_in_both_languages() -> Result<()> {
    let data = tempfile::tempdir()?;
    let app = App::launch(&Launch::new(data.path(), "en_US.UTF-8")).await?;
    app.wait_for("#connection-status", "Live").await?;

    // The hub is the built-in demo, and the screen says where its token really is.
    app.click("#nav-settings").await?;
    app.wait_for("#settings-title", "Settings").await?;
    app.wait_text("#settings-hub", |text| text.starts_with("Built-in demo (http://127.0.0.1:")).await?;
    let credentials = data.path().canonicalize()?.join("demo").join("credentials.json");
    let storage = app.wait_text("#token-storage", |text| text.contains("credentials.json")).await?;
    assert!(storage.contains(&credentials.display().to_string()) && storage.contains("0600"), "{storage}");
    app.wait_text("#cache-path", |text| text.ends_with("cache-demo.sqlite")).await?;
    app.wait_text("#cache-size", |text| text.ends_with("KB") || text.ends_with("MB")).await?;

    // Test connection against the demo's own hub, with its token: who we are, named.
    let info = app.invoke("app_info", serde_json::json!({})).await?;
    let url = info["hub"]["url"].as_str().context("the demo's hub URL")?.to_owned();
    let secrets: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&credentials)?)?;
    let token = secrets["token"].as_str().context("the demo's token")?.to_owned();
    type_into(&app, "#hub-url", &url).await?;
    type_into(&app, "#hub-token", "wrong-token").await?;
    app.click("#hub-test").await?;
    app.wait_text("#hub-outcome", |text| text.starts_with("Test failed:")).await?;
    type_into(&app, "#hub-token", &token).await?;
    app.click("#hub-test").await?;
    app.wait_text("#hub-outcome", |text| text.contains("signed in as demo-lead (lead)")).await?;
    let html = app.client.source().await?;
    assert!(!html.contains(&token), "the token is never written into the page's markup");

    // Retention: refused out of range, saved in range, still there after reopening.
    type_into(&app, "#retention-days", "0").await?;
    app.click("#retention-save").await?;
    app.wait_for("#retention-outcome", "Enter a whole number of days from 1 to 3650.").await?;
    type_into(&app, "#retention-days", "30").await?;
    app.click("#retention-save").await?;
    app.wait_for("#retention-outcome", "Saved: finished calls are kept for 30 days.").await?;
    let settings = std::fs::read_to_string(data.path().join("settings.json"))?;
    assert!(settings.contains("\"retentionDays\": 30"), "{settings}");
    app.click("#nav-wall").await?;
    app.click("#nav-settings").await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = app.client.find(Locator::Css("#retention-days")).await?.prop("value").await?;
        if value.as_deref() == Some("30") {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the reopened screen shows retention {value:?}, not 30");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A rule threshold out of range is refused next to its field; a valid one is saved.
    app.wait_text("#rule-call-length-limitSecs", |_| true).await?;
    type_into(&app, "#rule-call-length-limitSecs", "0").await?;
    app.wait_for("#rule-call-length-limitSecs-error", "Must be between 1 and 86400.").await?;
    type_into(&app, "#rule-call-length-limitSecs", "2").await?;
    app.wait_for("#rule-call-length-limitSecs-error", "").await?;
    app.click("#rules-save").await?;
    app.wait_for("#rules-outcome", "Alert rules saved and in force.").await?;
    let rules = app.invoke("alert_rules", serde_json::json!({})).await?;
    let saved = rules["rules"].as_array().into_iter().flatten().find(|rule| rule["id"] == "call-length");
    assert_eq!(saved.map(|rule| rule["kind"]["limitSecs"].clone()), Some(serde_json::json!(2)), "{rules}");
    app.client.execute("window.scrollTo(0, 0)", vec![]).await?;
    shots(&app, "settings-en").await?;

    // Every live call is now over two seconds: alerts arrive, are counted and acknowledged.
    app.click("#nav-alerts").await?;
    wait_count(&app, ".alert-row", Duration::from_secs(40)).await?;
    app.wait_text("#nav-alerts-count", |text| text.parse::<u32>().is_ok_and(|n| n > 0)).await?;
    let first = app.client.find(Locator::Css(".alert-row")).await?;
    let id = first.attr("id").await?.context("an alert row has an id")?;
    app.click(&format!("#{id}-ack")).await?;
    app.click("#alerts-filter-all").await?;
    app.wait_text(&format!("#{id}"), |text| text.contains("Acknowledged")).await?;
    shots(&app, "alerts-en").await?;

    // The same screens in Chinese.
    app.click("#lang-zh-CN").await?;
    app.wait_for("#alerts-title", "告警").await?;
    app.wait_text(&format!("#{id}"), |text| text.contains("已确认")).await?;
    shots(&app, "alerts-zh-CN").await?;
    app.click("#nav-settings").await?;
    app.wait_for("#settings-title", "设置").await?;
    app.wait_text("#token-storage", |text| text.contains("内置演示") && text.contains("0600")).await?;
    app.wait_text("#settings-hub", |text| text.starts_with("内置演示（")).await?;
    app.wait_text("#settings-language-source", |text| text.starts_with("这是已保存的选择")).await?;
    shots(&app, "settings-zh-CN").await?;
    app.close().await
}
