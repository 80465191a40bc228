//! The history of cached calls and the full-text search over them: filters, results with
//! highlighted snippets, and the loading, empty and error states. Opening a result hands
//! the call (and, for a search hit, the sentence's time) to the parent.

use domain::api::{
    ApiError, GetCallHistory, HistoryCall, HistoryCursor, HistoryRequest, Search, SearchRequest, SearchResult,
};
use domain::call::CallStatus;
use domain::event::Speaker;
use domain::ids::TaskId;
use yew::prelude::*;

use super::model::{clock, offset, snippet_runs};
use crate::components::app::AppContext;
use crate::hooks::now;
use crate::i18n::review::{review, ReviewStrings};
use crate::i18n::{fill, strings};

/// Slow-turn filter: an LLM first token over this many ms.
const SLOW_TURN_MS: f64 = 2_000.0;
const PAGE: u32 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    Any,
    Hour,
    Day,
    Week,
}

impl Range {
    const ALL: [Range; 4] = [Range::Any, Range::Hour, Range::Day, Range::Week];

    fn since(self, now_ms: u64) -> Option<u64> {
        let back = match self {
            Range::Any => return None,
            Range::Hour => 3_600_000,
            Range::Day => 86_400_000,
            Range::Week => 7 * 86_400_000,
        };
        Some(now_ms.saturating_sub(back))
    }

    fn label(self, text: &ReviewStrings) -> &'static str {
        match self {
            Range::Any => text.range_any,
            Range::Hour => text.range_hour,
            Range::Day => text.range_day,
            Range::Week => text.range_week,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Filters {
    query: String,
    range: Range,
    tag: String,
    has_error: bool,
    slow: bool,
    intervened: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Listing {
    Loading,
    Calls { calls: Vec<HistoryCall>, next: Option<HistoryCursor> },
    Hits(Vec<SearchResult>),
    Failed(ApiError),
}

#[derive(Properties, PartialEq)]
pub struct HistoryProps {
    /// A call to open, at a sentence's time (source ms) for a search hit.
    pub on_open: Callback<(TaskId, Option<u64>)>,
}

#[function_component]
pub fn History(props: &HistoryProps) -> Html {
    let state = use_context::<AppContext>();
    let language = state.as_ref().map_or(domain::api::Language::En, |state| state.language);
    let text = review(language);
    let filters = use_state(|| Filters {
        query: String::new(),
        range: Range::Any,
        tag: String::new(),
        has_error: false,
        slow: false,
        intervened: false,
    });
    let draft = use_state(String::new);
    let tag_draft = use_state(String::new);
    let listing = use_state(|| Listing::Loading);
    let reload = use_state(|| 0_u32);

    {
        let listing = listing.clone();
        use_effect_with(((*filters).clone(), *reload), move |(filters, _)| {
            listing.set(Listing::Loading);
            let filters = filters.clone();
            wasm_bindgen_futures::spawn_local(async move {
                listing.set(fetch(&filters, None, Vec::new()).await);
            });
        });
    }

    let on_submit = {
        let (filters, draft) = (filters.clone(), draft.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            filters.set(Filters { query: draft.trim().to_owned(), ..(*filters).clone() });
        })
    };
    let on_query = {
        let draft = draft.clone();
        Callback::from(move |event: InputEvent| {
            if let Some(input) = event.target_dyn_into::<web_sys::HtmlInputElement>() {
                draft.set(input.value());
            }
        })
    };
    let on_clear = {
        let (filters, draft) = (filters.clone(), draft.clone());
        Callback::from(move |_| {
            draft.set(String::new());
            filters.set(Filters { query: String::new(), ..(*filters).clone() });
        })
    };
    let on_tag_input = {
        let tag_draft = tag_draft.clone();
        Callback::from(move |event: InputEvent| {
            if let Some(input) = event.target_dyn_into::<web_sys::HtmlInputElement>() {
                tag_draft.set(input.value());
            }
        })
    };
    let on_tag_commit = {
        let (filters, tag_draft) = (filters.clone(), tag_draft.clone());
        Callback::from(move |_: Event| {
            let tag = tag_draft.trim().to_owned();
            if tag != filters.tag {
                filters.set(Filters { tag, ..(*filters).clone() });
            }
        })
    };
    let toggle = |change: fn(&mut Filters)| {
        let filters = filters.clone();
        Callback::from(move |_: MouseEvent| {
            let mut next = (*filters).clone();
            change(&mut next);
            filters.set(next);
        })
    };
    let on_more = {
        let (filters, listing) = (filters.clone(), listing.clone());
        Callback::from(move |_: MouseEvent| {
            if let Listing::Calls { calls, next: Some(next) } = (*listing).clone() {
                let (filters, listing) = ((*filters).clone(), listing.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    listing.set(fetch(&filters, Some(next), calls).await);
                });
            }
        })
    };
    let on_retry = {
        let reload = reload.clone();
        Callback::from(move |_: MouseEvent| reload.set(*reload + 1))
    };

    let chip = |label: &'static str, on: bool, onclick: Callback<MouseEvent>| {
        html! {
            <button type="button" class={classes!("review-chip", on.then_some("on"))} aria-pressed={on.to_string()} {onclick}>
                { label }
            </button>
        }
    };
    let filtered = !filters.query.is_empty()
        || filters.range != Range::Any
        || !filters.tag.is_empty()
        || filters.has_error
        || filters.slow
        || filters.intervened;

    html! {
        <section class="screen review-history" aria-labelledby="review-title">
            <h2 id="review-title" class="section-title">{ text.history_title }</h2>
            <form class="review-search" role="search" onsubmit={on_submit}>
                <label class="visually-hidden" for="review-query">{ text.search_label }</label>
                <input id="review-query" class="review-input review-query" type="search"
                    placeholder={text.search_placeholder} value={(*draft).clone()} oninput={on_query} />
                <button type="submit" class="review-button primary">{ text.search_button }</button>
                if !filters.query.is_empty() {
                    <button type="button" class="review-button" onclick={on_clear}>{ text.clear_search }</button>
                }
            </form>
            <div class="review-filters" role="group" aria-label={text.filters_label}>
                <div class="review-segment" role="group">
                    { for Range::ALL.into_iter().map(|range| {
                        let on = filters.range == range;
                        let filters = filters.clone();
                        let onclick = Callback::from(move |_: MouseEvent| filters.set(Filters { range, ..(*filters).clone() }));
                        chip(range.label(text), on, onclick)
                    }) }
                </div>
                <input class="review-input review-tag" type="text" aria-label={text.filter_tag_placeholder}
                    placeholder={text.filter_tag_placeholder} value={(*tag_draft).clone()}
                    oninput={on_tag_input} onchange={on_tag_commit} />
                { chip(text.filter_errors, filters.has_error, toggle(|f| f.has_error = !f.has_error)) }
                { chip(text.filter_slow, filters.slow, toggle(|f| f.slow = !f.slow)) }
                { chip(text.filter_intervened, filters.intervened, toggle(|f| f.intervened = !f.intervened)) }
            </div>
            { match &*listing {
                Listing::Loading => html! { <p class="review-state" role="status">{ text.history_loading }</p> },
                Listing::Failed(error) => html! {
                    <div class="review-state review-error" role="alert">
                        <p>{ fill(text.history_error, &[("message", &error.message)]) }</p>
                        <button type="button" class="review-button" onclick={on_retry}>{ text.retry }</button>
                    </div>
                },
                current if is_empty(current) => html! {
                    <div class="empty review-empty">
                        <h3>{ if filtered { text.history_no_match } else { text.history_empty_title } }</h3>
                        <p>{ if filtered { text.history_no_match_body } else { text.history_empty_body } }</p>
                    </div>
                },
                Listing::Hits(hits) => html! {
                    <>
                        <p class="review-count" role="status">{ fill(text.results_count, &[("count", &hits.len().to_string())]) }</p>
                        <ol class="review-hits">
                            { for hits.iter().map(|hit| hit_row(hit, text, language, &props.on_open)) }
                        </ol>
                    </>
                },
                Listing::Calls { calls, next } => html! {
                    <>
                        <p class="review-count" role="status">{ fill(text.calls_count, &[("count", &calls.len().to_string())]) }</p>
                        <ol class="review-calls">
                            { for calls.iter().map(|call| call_row(call, text, language, &props.on_open)) }
                        </ol>
                        if next.is_some() {
                            <button type="button" class="review-button review-more" onclick={on_more}>{ text.load_more }</button>
                        }
                    </>
                },
            } }
        </section>
    }
}

fn is_empty(listing: &Listing) -> bool {
    match listing {
        Listing::Calls { calls, .. } => calls.is_empty(),
        Listing::Hits(hits) => hits.is_empty(),
        _ => false,
    }
}

/// The history page after `after` appended to `calls`, or the search hits.
async fn fetch(filters: &Filters, after: Option<HistoryCursor>, mut calls: Vec<HistoryCall>) -> Listing {
    let started_from = filters.range.since(now().0);
    let tag = Some(filters.tag.clone()).filter(|tag| !tag.is_empty());
    let flag = |on: bool| on.then_some(true);
    if !filters.query.is_empty() {
        let request = SearchRequest {
            query: filters.query.clone(),
            started_from,
            tag,
            has_error: flag(filters.has_error),
            slow_turn_ms: filters.slow.then_some(SLOW_TURN_MS),
            intervened: flag(filters.intervened),
            limit: 100,
            ..SearchRequest::default()
        };
        return match crate::ipc::invoke::<Search>(&request).await {
            Ok(hits) => Listing::Hits(hits),
            Err(error) => Listing::Failed(error),
        };
    }
    let request = HistoryRequest {
        started_from,
        tag,
        has_error: flag(filters.has_error),
        slow_turn_ms: filters.slow.then_some(SLOW_TURN_MS),
        intervened: flag(filters.intervened),
        after,
        limit: PAGE,
        ..HistoryRequest::default()
    };
    match crate::ipc::invoke::<GetCallHistory>(&request).await {
        Ok(page) => {
            calls.extend(page.calls);
            Listing::Calls { calls, next: page.next }
        }
        Err(error) => Listing::Failed(error),
    }
}

/// Local date and time of a source time, `YYYY-MM-DD HH:MM`.
pub fn local_time(at_ms: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // epoch ms fit f64 exactly for millennia
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// The outcome's label and tone class.
pub fn outcome(status: &CallStatus, live: bool, text: &ReviewStrings) -> (&'static str, &'static str) {
    match status {
        _ if live => (text.outcome_live, "tone-live"),
        CallStatus::Ended { leave_code } if leave_code.is_abnormal() => (text.outcome_abnormal, "tone-bad"),
        CallStatus::Ended { .. } => (text.outcome_ended, "tone-ok"),
        CallStatus::StartFailed => (text.outcome_start_failed, "tone-bad"),
        CallStatus::Starting | CallStatus::Ready | CallStatus::InProgress => (text.outcome_starting, "tone-live"),
    }
}

fn call_row(
    call: &HistoryCall,
    text: &ReviewStrings,
    language: domain::api::Language,
    on_open: &Callback<(TaskId, Option<u64>)>,
) -> Html {
    let task = call.call.clone();
    let onclick = on_open.reform(move |_: MouseEvent| (task.clone(), None));
    let (label, tone) = outcome(&call.status, call.live, text);
    let end = call.ended_ms.unwrap_or(call.last_ms);
    let duration = clock(offset(end, call.started_ms).max(0));
    let room = call.room.as_deref().map(|room| fill(strings(language).tile_room, &[("room", room)]));
    html! {
        <li>
            <button type="button" class="review-row" {onclick}>
                <span class="review-row-main">
                    <span class="review-row-title">{ local_time(call.started_ms) }</span>
                    <span class="review-row-sub">{ room.unwrap_or_else(|| call.call.to_string()) }</span>
                </span>
                <span class="review-row-facts">
                    <span class={classes!("review-outcome", tone)}>{ label }</span>
                    <span class="review-fact">{ duration }</span>
                    <span class="review-fact">{ fill(text.badge_turns, &[("count", &call.turns.to_string())]) }</span>
                    if call.errors > 0 {
                        <span class="review-badge bad">{ fill(text.badge_errors, &[("count", &call.errors.to_string())]) }</span>
                    }
                    if call.interventions > 0 || call.taken_over {
                        <span class="review-badge">{ text.badge_intervened }</span>
                    }
                    if let Some(slowest) = call.slowest_llm_first_token_ms.filter(|ms| *ms > SLOW_TURN_MS) {
                        <span class="review-badge warn">{ fill(text.badge_slow, &[("ms", &format!("{:.1} s", slowest / 1000.0))]) }</span>
                    }
                    if let Some(score) = call.qa_score {
                        <span class="review-badge">{ fill(text.badge_qa, &[("score", &score.to_string())]) }</span>
                    }
                    { for call.tags.iter().map(|tag| html! { <span class="review-tag-chip">{ tag }</span> }) }
                </span>
            </button>
        </li>
    }
}

fn hit_row(
    hit: &SearchResult,
    text: &ReviewStrings,
    language: domain::api::Language,
    on_open: &Callback<(TaskId, Option<u64>)>,
) -> Html {
    let (task, at) = (hit.call.clone(), hit.at_ms);
    let onclick = on_open.reform(move |_: MouseEvent| (task.clone(), Some(at)));
    let base = strings(language);
    let speaker = match hit.speaker {
        Some(Speaker::User) => base.speaker_customer,
        Some(Speaker::Robot) => base.speaker_robot,
        _ => text.unknown,
    };
    html! {
        <li>
            <button type="button" class="review-row review-hit" {onclick}>
                <span class="review-row-main">
                    <span class="review-snippet">
                        <span class="review-speaker">{ speaker }</span>
                        { for snippet_runs(&hit.snippet).into_iter().map(|(hit, run)| if hit {
                            html! { <mark>{ run }</mark> }
                        } else {
                            html! { <span>{ run }</span> }
                        }) }
                    </span>
                    <span class="review-row-sub">
                        { format!("{} · {} · {}", local_time(hit.call_started_ms), clock(offset(hit.at_ms, hit.call_started_ms).max(0)), hit.call) }
                    </span>
                </span>
            </button>
        </li>
    }
}
