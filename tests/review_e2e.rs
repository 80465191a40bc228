//! End-to-end story of the review screen in the real app on its built-in demo: a finished
//! demo call with a recording is found by a sentence it contained, its review opens at that
//! sentence, the recording is downloaded (progress shown, the file identical to the one the
//! emulator's recorder wrote), the player loads the local file (its length is the WAV's),
//! clicking a sentence seeks the audio there, playing it moves the highlighted sentence,
//! and a note is added and listed; screenshots of the history, of a call's review and of
//! the player playing, in English and Chinese, land in `artifacts/e2e/`.
//!
//! Sound under Xvfb: the machine has GStreamer but no audio device or server (no
//! PulseAudio, JACK or OSS device, no ALSA plugin), so WebKit's `autoaudiosink` falls back
//! to a fake sink that still runs on the clock: playback really advances (`currentTime`
//! moves in real time) though nothing is heard. The story asserts that advance.

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

/// Waits (at most `limit`) for an ended demo call with a recording file and final
/// sentences; answers its task id, one of the sentences and the file (`call_recordings`).
async fn finished_recorded_call(app: &App, limit: Duration) -> Result<(String, String, Value)> {
    let deadline = Instant::now() + limit;
    loop {
        let page = app.invoke("call_history", json!({ "limit": 50 })).await?;
        for call in page["calls"].as_array().into_iter().flatten() {
            if call["status"]["status"] != "ended" || call["turns"].as_u64().unwrap_or(0) == 0 {
                continue;
            }
            let task = call["call"].as_str().unwrap_or_default().to_owned();
            let recordings = app.invoke("call_recordings", json!({ "call": task })).await?;
            // A file TRTC has stored (the recorder stops a few seconds after the call).
            let ready = |file: &&Value| file["ready"] == Value::Bool(true);
            let Some(file) = recordings.as_array().and_then(|files| files.iter().find(ready)).cloned() else {
                continue;
            };
            let events = app.invoke("call_events", json!({ "call": task })).await?;
            if let Some(sentence) = final_sentences(&events).into_iter().find(|s| query_for(s).is_some()) {
                return Ok((task, sentence, file));
            }
        }
        ensure!(Instant::now() < deadline, "no recorded demo call ended with a sentence within {limit:?}");
        tokio::time::sleep(Duration::from_millis(1_000)).await;
    }
}

/// The player's `<audio>` element as the window sees it (null before there is one).
async fn audio(app: &App) -> Result<Value> {
    let script = "const a = document.querySelector('.review-player audio'); if (!a) return null; \
                  return { src: a.currentSrc, readyState: a.readyState, duration: a.duration, \
                  currentTime: a.currentTime, paused: a.paused, error: a.error ? a.error.code : null };";
    Ok(app.client.execute(script, vec![]).await?)
}

/// Each sentence's time label in seconds (`m:ss` into the recording; negative before it).
async fn sentence_seconds(app: &App) -> Result<Vec<i64>> {
    let labels = app
        .client
        .execute("return [...document.querySelectorAll('.review-sentence-time')].map(t => t.textContent)", vec![])
        .await?;
    let seconds = labels
        .as_array()
        .into_iter()
        .flatten()
        .map(|label| {
            let label = label.as_str().unwrap_or_default();
            let (sign, clock) = label.strip_prefix('-').map_or((1, label), |rest| (-1, rest));
            let value = clock.split(':').try_fold(0_i64, |total, part| part.parse::<i64>().map(|n| total * 60 + n));
            value.map(|value| sign * value).map_err(|_| anyhow::anyhow!("a sentence time {label:?} is not m:ss"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(seconds)
}

/// A WAV file's length in seconds from its header (`fmt ` byte rate, `data` size).
fn wav_seconds(wav: &[u8]) -> Option<f64> {
    let le32 = |at: usize| wav.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if wav.get(0..4)? != b"RIFF" || wav.get(8..12)? != b"WAVE" {
        return None;
    }
    let (mut at, mut byte_rate, mut data) = (12, None, None);
    while at + 8 <= wav.len() {
        let size = le32(at + 4)? as usize;
        match wav.get(at..at + 4)? {
            b"fmt " => byte_rate = le32(at + 16),
            b"data" => data = Some(size),
            _ => {}
        }
        at += 8 + size + size % 2;
    }
    Some(data? as f64 / f64::from(byte_rate.filter(|rate| *rate > 0)?))
}

/// Files named `name` under `dir` (a few levels deep), for finding the recorder's original.
fn files_named(dir: &std::path::Path, name: &str, depth: usize, found: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && depth > 0 {
            files_named(&path, name, depth - 1, found);
        } else if path.file_name().is_some_and(|file| file == name) {
            found.push(path);
        }
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
    shots_at(app, name, &[(1280, 800), (1024, 768), (768, 1024)]).await
}

async fn shots_at(app: &App, name: &str, sizes: &[(u32, u32)]) -> Result<()> {
    for &(width, height) in sizes {
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
    let started = Instant::now();
    let (task, sentence, file) = finished_recorded_call(&app, Duration::from_secs(150)).await?;
    let query = query_for(&sentence).expect("chosen for having one");
    println!("call {task} ({:?} in): searching {query:?} from {sentence:?}; recording {file}", started.elapsed());

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

    // The recording: downloaded with progress shown, then loaded from the local file.
    app.wait_text(".review-download", |text| text == "Download the recording").await?;
    app.client
        .execute(
            "window.__labels = []; new MutationObserver(() => { const b = document.querySelector('.review-download'); \
             const t = b && b.textContent; if (t && window.__labels[window.__labels.length - 1] !== t) window.__labels.push(t); }) \
             .observe(document.querySelector('.review-call'), { subtree: true, childList: true, characterData: true });",
            vec![],
        )
        .await?;
    app.click(".review-download").await?;
    let loaded = wait_until("the player loads the downloaded file", || async {
        Ok(audio(&app).await?["readyState"].as_u64().unwrap_or(0) >= 1)
    })
    .await;
    if let Err(error) = loaded {
        let player = app
            .client
            .execute("const p = document.querySelector('.review-player'); return p ? p.innerText : null;", vec![])
            .await?;
        bail!("{error:#}; the audio element: {}; the player said: {player}", audio(&app).await?);
    }
    let labels = app.client.execute("return window.__labels", vec![]).await?;
    println!("download labels: {labels}");
    assert!(
        labels.as_array().into_iter().flatten().filter_map(Value::as_str).any(|label| {
            label
                .strip_prefix("Downloading ")
                .and_then(|rest| rest.strip_suffix('%'))
                .is_some_and(|n| n.parse::<u8>().is_ok())
        }),
        "the download showed its progress in percent: {labels}"
    );
    // Verified and identical to the file the emulator's recorder wrote.
    let listed = app.invoke("call_recordings", json!({ "call": task })).await?;
    let local = listed.as_array().into_iter().flatten().find(|view| view["name"] == file["name"]).cloned();
    let local = local.expect("the downloaded file is still listed");
    assert_eq!(local["verified"], Value::Bool(true), "{local}");
    let path = std::path::PathBuf::from(local["localPath"].as_str().expect("a local path once downloaded"));
    let bytes = std::fs::read(&path)?;
    assert_eq!(local["localBytes"].as_u64(), Some(bytes.len() as u64), "the size recorded is the file's");
    let mut originals = Vec::new();
    files_named(data.path(), file["name"].as_str().unwrap_or_default(), 6, &mut originals);
    let original = originals.into_iter().find(|candidate| *candidate != path).expect("the recorder's own file");
    assert!(std::fs::read(&original)? == bytes, "{} is a byte-for-byte copy of {}", path.display(), original.display());
    // The element plays that file: its length is the WAV's.
    let wav = wav_seconds(&bytes).expect("the recording is a WAV");
    let loaded = audio(&app).await?;
    println!("audio element: {loaded}; the WAV lasts {wav:.3} s");
    let duration = loaded["duration"].as_f64().unwrap_or(0.0);
    assert!(wav > 1.0 && (duration - wav).abs() < 0.05, "the player's length {duration} s is the WAV's {wav:.3} s");
    assert_eq!(loaded["error"], Value::Null);
    app.wait_text(".review-player .review-file", |text| text.contains("Kept on this machine")).await?;
    shots_at(&app, "review-player-en-loaded", &[(1280, 800), (768, 1024)]).await?;

    // Clicking a sentence seeks the audio to it and moves the highlight there.
    let seconds = sentence_seconds(&app).await?;
    let candidates: Vec<usize> = (0..seconds.len().saturating_sub(1)).filter(|&i| seconds[i] >= 0).collect();
    // The sentence followed soonest by another one, so playing it soon moves the highlight.
    let target = *candidates
        .iter()
        .min_by_key(|&&i| (seconds[i + 1] - seconds[i]).max(1))
        .expect("a call with a recording has two sentences in it");
    app.click(&format!(".review-sentence[data-index='{target}']")).await?;
    wait_until("the highlight moves to the clicked sentence", || async {
        Ok(current_sentence(&app).await? == Some(target as u64))
    })
    .await?;
    let at = seconds[target] as f64;
    wait_until("the audio is at the clicked sentence", || async {
        let now = audio(&app).await?["currentTime"].as_f64().unwrap_or(-1.0);
        Ok(now >= at - 0.05 && now < at + 1.05)
    })
    .await?;
    assert_eq!(count(&app, ".review-chart .playhead").await?, 1, "the playhead is on the timeline");

    // Playing moves the highlight on by itself.
    app.click(".review-play").await?;
    wait_until("the highlight moves on while the recording plays", || async {
        Ok(current_sentence(&app).await?.is_some_and(|index| index > target as u64))
    })
    .await?;
    let playing = audio(&app).await?;
    println!("while playing: {playing}; highlight at {:?} from {target}", current_sentence(&app).await?);
    assert_eq!(playing["paused"], Value::Bool(false), "{playing}");
    assert!(playing["currentTime"].as_f64().unwrap_or(0.0) > at + 0.5, "the audio advanced: {playing}");
    assert_eq!(
        app.client.find(Locator::Css(".review-play")).await?.attr("aria-label").await?.as_deref(),
        Some("Pause")
    );
    shots_at(&app, "review-player-en-playing", &[(1280, 800), (768, 1024)]).await?;
    app.click(".review-play").await?;
    wait_until("the recording pauses", || async { Ok(audio(&app).await?["paused"] == Value::Bool(true)) }).await?;

    // A note, listed at once (stored locally first).
    let note = format!("Checked by the review story {}", std::process::id());
    app.client.find(Locator::Css(".review-note-input")).await?.send_keys(&note).await?;
    app.click(".review-form button[type=submit]").await?;
    app.wait_text(".review-notes", |text| text.contains(&note)).await?;
    shots(&app, "review-call-en").await?;

    // The same in Chinese.
    app.click("#lang-zh-CN").await?;
    app.wait_text("#transcript-title", |text| text == "文字稿").await?;
    app.wait_text(".review-player .review-file", |text| text.contains("已保存在本机")).await?;
    shots(&app, "review-call-zh-CN").await?;
    app.click(".review-play").await?;
    wait_until("the recording plays again", || async { Ok(audio(&app).await?["paused"] == Value::Bool(false)) })
        .await?;
    assert_eq!(app.client.find(Locator::Css(".review-play")).await?.attr("aria-label").await?.as_deref(), Some("暂停"));
    shots_at(&app, "review-player-zh-CN-playing", &[(1280, 800), (768, 1024)]).await?;
    app.click(".review-play").await?;
    app.click(".review-back").await?;
    wait_until("the history is back", || async { Ok(count(&app, ".review-calls .review-row").await? > 0) }).await?;
    app.wait_text("#review-title", |text| text == "通话回顾").await?;
    shots(&app, "review-history-zh-CN").await?;
    println!("story done in {:?}", started.elapsed());
    app.close().await
}
