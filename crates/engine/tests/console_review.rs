//! `Console::call_history` end to end with real pieces on loopback: a console linked to the
//! built-in demo's real hub (the TRTC emulator generating calls), its real SQLite cache.
//!
//! - The history lists the cached calls newest first; paging with the cursor visits every
//!   call once, in the same order as one big page.
//! - The tag, "intervened" and "slow turns" filters keep exactly the calls they describe.
//! - With the hub gone, the history still answers from the cache.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::api::{ConnectionStatus, HistoryCall, HistoryRequest, HubCredentials, LiveUpdate, SetTagsRequest};
use domain::ids::TaskId;
use engine::demo::Demo;
use engine::{Console, UiSink};

#[derive(Debug, Default)]
struct Ignored;

impl UiSink for Ignored {
    fn live(&self, _update: LiveUpdate) {}
    fn notify(&self, _title: &str, _body: &str) {}
}

/// Polls `check` every 200 ms until it answers `Some`, for at most `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn ids(calls: &[HistoryCall]) -> Vec<TaskId> {
    calls.iter().map(|call| call.call.clone()).collect()
}

async fn everything(console: &Console, request: HistoryRequest) -> Vec<HistoryCall> {
    let mut all = Vec::new();
    let mut request = HistoryRequest { limit: 200, ..request };
    for _ in 0..100 {
        let page = console.call_history(&request).await.unwrap();
        all.extend(page.calls);
        match page.next {
            Some(next) => request.after = Some(next),
            None => return all,
        }
    }
    panic!("the history did not end within 100 pages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_lists_cached_calls_newest_first_pages_filters_and_works_without_the_hub() {
    let hub_dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(hub_dir.path()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var(engine::token_store::KEYCHAIN_ENV, "off");
    let console = Arc::new(Console::open(dir.path(), "test", Some("en-US".into())).unwrap());
    console
        .connect_hub(&HubCredentials { url: demo.hub_url.clone(), token: demo.token.expose().to_owned() })
        .await
        .unwrap();
    console.start_link(Arc::new(Ignored)).await;
    eventually(Duration::from_secs(30), "the link goes live", || async {
        (console.app_info().connection == ConnectionStatus::Live).then_some(())
    })
    .await;
    // Enough calls, some with turns (and so LLM first-token metrics), to page and filter.
    let all = eventually(Duration::from_secs(60), "five calls, three with turns, in the cache", || async {
        let all = everything(&console, HistoryRequest::default()).await;
        let with_metrics = all.iter().filter(|call| call.slowest_llm_first_token_ms.is_some()).count();
        (all.len() >= 5 && with_metrics >= 3).then_some(all)
    })
    .await;

    let started: Vec<u64> = all.iter().map(|call| call.started_ms).collect();
    assert!(started.windows(2).all(|pair| pair[0] >= pair[1]), "not newest first: {started:?}");

    // Paging two at a time visits the same calls in the same order (calls that arrive
    // meanwhile are newer, so they never shift a later page).
    let mut paged = Vec::new();
    let mut request = HistoryRequest { limit: 2, ..HistoryRequest::default() };
    for _ in 0..500 {
        let page = console.call_history(&request).await.unwrap();
        assert!(page.calls.len() <= 2, "a page of 2 answered {}", page.calls.len());
        paged.extend(page.calls);
        match page.next {
            Some(next) => request.after = Some(next),
            None => break,
        }
    }
    let paged_ids = ids(&paged);
    let mut unique = paged_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), paged_ids.len(), "paging repeated a call");
    let first_ids = ids(&all);
    let position =
        paged_ids.iter().position(|id| *id == first_ids[0]).expect("the first listing's newest call is paged");
    assert_eq!(&paged_ids[position..position + first_ids.len()], first_ids.as_slice(), "paging changed the order");

    // Tags: exactly the tagged call.
    let tagged = all[1].call.clone();
    console.set_tags(&SetTagsRequest { call: tagged.clone(), tags: vec!["回访-review".into()] }).await.unwrap();
    let with_tag =
        everything(&console, HistoryRequest { tag: Some("回访-review".into()), ..HistoryRequest::default() }).await;
    assert_eq!(ids(&with_tag), vec![tagged.clone()], "the tag filter keeps the tagged call only");
    assert_eq!(with_tag[0].tags, vec!["回访-review".to_owned()]);

    // Intervened: the two answers split the calls by what each call says about itself.
    let yes = everything(&console, HistoryRequest { intervened: Some(true), ..HistoryRequest::default() }).await;
    let no = everything(&console, HistoryRequest { intervened: Some(false), ..HistoryRequest::default() }).await;
    assert!(yes.iter().all(|call| call.interventions > 0 || call.taken_over), "{yes:?}");
    assert!(no.iter().all(|call| call.interventions == 0 && !call.taken_over), "{no:?}");
    assert!(ids(&no).contains(&all[0].call) || ids(&yes).contains(&all[0].call), "a call is in one of the two");

    // Slow turns: a threshold just under a call's slowest first token keeps that call and
    // drops every call whose turns were all faster.
    let probe = all.iter().find(|call| call.slowest_llm_first_token_ms.is_some()).unwrap();
    let threshold = probe.slowest_llm_first_token_ms.unwrap() - 0.5;
    let slow =
        everything(&console, HistoryRequest { slow_turn_ms: Some(threshold), ..HistoryRequest::default() }).await;
    assert!(ids(&slow).contains(&probe.call), "the probe call ({threshold} ms) is kept");
    assert!(
        slow.iter().all(|call| call.slowest_llm_first_token_ms.is_some_and(|ms| ms > threshold)),
        "every call kept has a turn over {threshold} ms: {slow:?}"
    );
    let none = everything(&console, HistoryRequest { slow_turn_ms: Some(1e12), ..HistoryRequest::default() }).await;
    assert!(none.is_empty(), "no turn takes 10^12 ms: {none:?}");

    // Time range: only calls that started inside it.
    let (from, before) = (all[all.len() - 1].started_ms, all[0].started_ms);
    let ranged = everything(
        &console,
        HistoryRequest { started_from: Some(from), started_before: Some(before), ..HistoryRequest::default() },
    )
    .await;
    assert!(ranged.iter().all(|call| (from..before).contains(&call.started_ms)), "{ranged:?}");
    assert!(!ids(&ranged).contains(&all[0].call), "started_before is exclusive");

    // The hub goes away; the cache still answers.
    demo.stop().await;
    eventually(Duration::from_secs(30), "the link notices the hub is gone", || async {
        matches!(console.app_info().connection, ConnectionStatus::Offline { .. } | ConnectionStatus::Connecting)
            .then_some(())
    })
    .await;
    let offline = everything(&console, HistoryRequest::default()).await;
    assert!(ids(&offline).contains(&tagged), "the cached history answers with the hub gone");
    console.stop_link().await;
}
