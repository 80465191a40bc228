//! End-to-end story of the review screen in the real app on its built-in demo: a finished
//! demo call is found by a sentence it contained, its review opens at that sentence, the
//! transcript's highlight follows the playhead, a note is added and listed; screenshots of
//! the history and of a call's review in English and Chinese at 1280×800, 1024×768 and
//! 768×1024 land in `artifacts/e2e/`.
//!
//! The built-in demo's traffic generator never starts a cloud recording (it only calls
//! StartAIConversation), so its calls have no recording to download or play: the story
//! checks that the review says so and moves the highlight by clicking sentences instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use fantoccini::Locator;
use serde_json::{json, Value};
use switchboard_tests::{App, Launch};

/// Every final sentence's text in a call's events.
fn final_sentences(events: &Value) -> Vec<String> {
    events
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|event| {
            let body = event.get("body")?;
            (body.get("kind")? == "sentence" && body.get("is_final")? == true)
                .then(|| body.get("text")?.as_str().map(str::to_owned))
                .flatten()
        })
        .collect()
}

/// A search query that matches `sentence`: its longest ASCII word, else its first three
/// characters (the index is trigram-based for Chinese).
fn query_for(sentence: &str) -> Option<String> {
    let word = sentence
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| word.len() >= 4)
        .max_by_key(|word| word.len())
        .map(str::to_owned);
    word.or_else(|| {
        let chars: Vec<char> = sentence.chars().filter(|c| !c.is_ascii_punctuation() && !c.is_whitespace()).collect();
        (chars.len() >= 3).then(|| chars[..3].iter().collect())
    })
}

/// Waits (at most `limit`) for an ended demo call with final sentences; answers its task
/// id and one of them.
async fn finished_call(app: &App, limit: Duration) -> Result<(String, String)> {
    let deadline = Instant::now() + limit;
    loop {
        let page = app.invoke("call_history", json!({ "limit": 50 })).await?;
        for call in page["calls"].as_array().into_iter().flatten() {
            if call["status"]["status"] != "ended" || call["turns"].as_u64().unwrap_or(0) == 0 {
                continue;
            }
            let task = call["call"].as_str().unwrap_or_default().to_owned();
            let events = app.invoke("call_events", json!({ "call": task })).await?;
            if let Some(sentence) = final_sentences(&events).into_iter().find(|s| query_for(s).is_some()) {
                return Ok((task, sentence));
            }
        }
        ensure!(Instant::now() < deadline, "no demo call ended with a sentence within {limit:?}");
        tokio::time::sleep(Duration::from_millis(1_000)).await;
    }
}

async fn count(app: &App, css: &str) -> Result<u64> {
    let script = format!("return document.querySelectorAll({css:?}).length");
    Ok(app.client.execute(&script, vec![]).await?.as_u64().unwrap_or(0))
}

/// The highlighted sentence's index, if one is highlighted.
async fn current_sentence(app: &App) -> Result<Option<u64>> {
    let value = app
        .client
        .execute(
            "const c = document.querySelector('.review-sentence.current'); return c ? Number(c.dataset.index) : null",
            vec![],
        )
        .await?;
    Ok(value.as_u64())
}

async fn wait_until<F, Fut>(what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let deadline = Instant::now() + switchboard_tests::UI_TIMEOUT;
    loop {
        if check().await? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("not within {:?}: {what}", switchboard_tests::UI_TIMEOUT);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn shots(app: &App, name: &str) -> Result<()> {
    for (width, height) in [(1280, 800), (1024, 768), (768, 1024)] {
        app.client.set_window_size(width, height).await?;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let path = app.screenshot(&format!("{name}-{width}x{height}")).await?;
        println!("screenshot: {}", path.display());
    }
    app.client.set_window_size(1280, 800).await?;
    Ok(())
}

#[tokio::test]
async fn a_finished_call_is_found_by_what_was_said_reviewed_in_sync_and_annotated() -> Result<()> {
    let data = tempfile::tempdir()?;
    let app = App::launch(&Launch::new(data.path(), "en_US.UTF-8")).await?;
    app.client.set_window_size(1280, 800).await?;
    app.wait_for("#connection-status", "Live").await?;
    let (task, sentence) = finished_call(&app, Duration::from_secs(150)).await?;
    let query = query_for(&sentence).expect("chosen for having one");
    println!("call {task}: searching {query:?} from {sentence:?}");

    // History, then search.
    app.click("#nav-review").await?;
    wait_until("the history lists calls", || async { Ok(count(&app, ".review-calls .review-row").await? > 0) }).await?;
    shots(&app, "review-history-en").await?;
    let input = app.client.find(Locator::Css("#review-query")).await?;
    input.send_keys(&query).await?;
    app.click(".review-search button[type=submit]").await?;
    wait_until("a hit with a highlighted snippet", || async { Ok(count(&app, ".review-hit mark").await? > 0) }).await?;
    let marked = app.wait_text(".review-hit mark", |text| !text.is_empty()).await?;
    assert!(
        query.to_lowercase().contains(&marked.to_lowercase()) || marked.to_lowercase().contains(&query.to_lowercase()),
        "the highlight {marked:?} is the query {query:?}"
    );
    shots(&app, "review-search-en").await?;
    let opened = app
        .client
        .execute(
            "const [task] = arguments; const hit = [...document.querySelectorAll('.review-hit')].find(h => h.textContent.includes(task)); \
             if (hit) { hit.click(); return true; } return false;",
            vec![Value::from(task.clone())],
        )
        .await?;
    assert_eq!(opened, Value::Bool(true), "a hit points at call {task}");

    // The review opens at the sentence found.
    app.wait_text("#review-call-title", |text| !text.is_empty()).await?;
    wait_until("the transcript is shown", || async { Ok(count(&app, ".review-sentence").await? > 1) }).await?;
    wait_until("a sentence is highlighted", || async { Ok(current_sentence(&app).await?.is_some()) }).await?;
    let highlighted = app.wait_text(".review-sentence.current .review-sentence-text", |_| true).await?;
    assert!(
        highlighted.to_lowercase().contains(&query.to_lowercase()),
        "the review opens at the sentence found: {highlighted:?} should contain {query:?}"
    );
    assert_eq!(count(&app, ".review-chart").await?, 1, "the timeline is drawn as SVG");

    // The demo records nothing: the player says so.
    let recordings = app.invoke("call_recordings", json!({ "call": task })).await?;
    if recordings.as_array().is_some_and(Vec::is_empty) {
        app.wait_text(".review-player", |text| text.contains("no recording")).await?;
    } else {
        println!("this call has recordings: {recordings}");
    }

    // Clicking a sentence moves the highlight there (and the playhead with it).
    let sentences = count(&app, ".review-sentence").await?;
    let before = current_sentence(&app).await?;
    let target = if before == Some(0) { sentences - 1 } else { 0 };
    app.click(&format!(".review-sentence[data-index='{target}']")).await?;
    wait_until("the highlight moves to the clicked sentence", || async {
        Ok(current_sentence(&app).await? == Some(target))
    })
    .await?;
    assert_eq!(count(&app, ".review-chart .playhead").await?, 1, "the playhead is on the timeline");

    // A note, listed at once (stored locally first).
    let note = format!("Checked by the review story {}", std::process::id());
    app.client.find(Locator::Css(".review-note-input")).await?.send_keys(&note).await?;
    app.click(".review-form button[type=submit]").await?;
    app.wait_text(".review-notes", |text| text.contains(&note)).await?;
    shots(&app, "review-call-en").await?;

    // The same in Chinese.
    app.click("#lang-zh-CN").await?;
    app.wait_text("#transcript-title", |text| text == "文字稿").await?;
    shots(&app, "review-call-zh-CN").await?;
    app.click(".review-back").await?;
    wait_until("the history is back", || async { Ok(count(&app, ".review-calls .review-row").await? > 0) }).await?;
    app.wait_text("#review-title", |text| text == "通话回顾").await?;
    shots(&app, "review-history-zh-CN").await?;
    app.close().await
}
