//! The live wall: a summary bar (counts by health and robot state — each state a filter —
//! LLM first-token p50/p90 and the link), the supervisor's filters, and one tile per live
//! call, worst health first; with no live calls, an empty state that explains why by the
//! connection's status.
//!
//! Only the rows on screen are rendered ([`Grid`]): tiles have a fixed height, the wall
//! listens to scrolling and resizing, measures where its grid is and renders that window
//! with padding standing in for the rest. Arrow keys move between tiles (scrolling the
//! next one into the rendered window first), Enter opens one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use domain::api::{ConnectionStatus, Language};
use domain::call::HealthPolicy;
use domain::ids::TaskId;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::app::AppContext;
use super::header::status_key;
use super::tile::Tile;
use crate::i18n::{fill, strings};
use crate::state::{Action, Screen};
use crate::wall_view::{Activity, Entry, Grid, Summary, WallFilter, WallView};

/// The stylesheet's tile geometry (`.tiles`, `.tile` in style.css): keep them in step.
const TILE_MIN_PX: f64 = 272.0;
const TILE_GAP_PX: f64 = 12.0;
const TILE_HEIGHT_PX: f64 = 208.0;

/// Where the grid is on screen, as last measured.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Placement {
    /// The grid's top relative to the viewport's top, px.
    top: f64,
    width: f64,
    viewport: f64,
}

#[function_component]
pub fn Wall() -> Html {
    let Some(state) = use_context::<AppContext>() else { return Html::default() };
    let text = strings(state.language);
    let filter = use_state_eq(WallFilter::default);
    let placement = use_state_eq(|| Placement { top: 200.0, width: 1240.0, viewport: 1000.0 });
    let grid_ref = use_node_ref();
    let pending_focus = use_mut_ref(|| None::<String>);

    // Ranked again when a second passes, a call starts or ends, or the language changes —
    // not on every event: tiles keep their places between ticks (a calmer wall, and one
    // reorder a second instead of one per event), while each tile's contents are made from
    // the board as it is at every render (below). Not when an alert, a banner or the
    // footer changes either.
    let membership = state.live.read().map(|feed| (feed.has_snapshot(), feed.board().live_calls().count()));
    let view = {
        let live = state.live.clone();
        use_memo((membership, state.now, state.language), move |(_, now, language)| {
            live.read().map(|feed| WallView::build(feed.board(), &HealthPolicy::default(), *now, strings(*language)))
        })
    };
    // Alerts this window has seen, per call (the alerts screen keeps the full list).
    let alerts = use_memo(state.alerts.clone(), |alerts| {
        let mut counts = BTreeMap::<TaskId, usize>::new();
        for alert in alerts.iter() {
            *counts.entry(alert.call.clone()).or_default() += 1;
        }
        counts
    });
    let alerts_of = |entry: &Entry| alerts.get(&entry.task).copied().unwrap_or(0);
    let on_open = use_callback(state.dispatcher(), |task: String, dispatcher| {
        dispatcher.dispatch(Action::Navigate(Screen::Call(TaskId::new(task))));
    });
    use_placement(grid_ref.clone(), placement.setter());
    // After every render: focus the tile the arrow keys moved to, once it is rendered.
    {
        let pending_focus = pending_focus.clone();
        use_effect(move || {
            let task = pending_focus.borrow().clone();
            if let Some(task) = task {
                if focus_tile(&task) {
                    pending_focus.borrow_mut().take();
                }
            }
        });
    }

    let connection = state.connection();
    let title = html! { <h2 id="wall-title" class="section-title">{ text.wall_title }</h2> };

    let Some(view) = view.as_ref().as_ref().filter(|view| !view.entries.is_empty()) else {
        let waiting = state.live.read().is_some_and(|feed| !feed.has_snapshot()) && state.live_error.is_none();
        let explanation = match &connection {
            None => text.loading,
            Some(_) if waiting => text.loading,
            Some(ConnectionStatus::NotConfigured | ConnectionStatus::Offline { .. }) => text.wall_empty_not_connected,
            Some(ConnectionStatus::Connecting) => text.wall_empty_connecting,
            Some(ConnectionStatus::Live | ConnectionStatus::CatchingUp { .. }) => text.wall_empty_connected,
        };
        return html! {
            <section class="wall" aria-labelledby="wall-title">
                { title }
                <div class="empty" id="wall-empty">
                    <div class="empty-icon" aria-hidden="true"></div>
                    <h3 id="wall-empty-title">{ text.wall_empty_title }</h3>
                    <p>{ explanation }</p>
                </div>
            </section>
        };
    };

    let shown: Vec<_> = view.entries.iter().filter(|entry| filter.keeps(entry, alerts_of(entry))).collect();
    let grid = Grid { width: placement.width, min_tile: TILE_MIN_PX, gap: TILE_GAP_PX, row: TILE_HEIGHT_PX };
    let window = grid.window(shown.len(), placement.top, placement.viewport);

    let onkeydown = {
        let tasks: Vec<String> = shown.iter().map(|entry| entry.task.to_string()).collect();
        let (grid_ref, pending_focus) = (grid_ref.clone(), pending_focus.clone());
        let columns = window.columns;
        Callback::from(move |event: KeyboardEvent| {
            let step: isize = match event.key().as_str() {
                "ArrowRight" => 1,
                "ArrowLeft" => -1,
                "ArrowDown" => columns as isize,
                "ArrowUp" => -(columns as isize),
                "Home" => isize::MIN,
                "End" => isize::MAX,
                _ => return,
            };
            let Some(from) = focused_task().and_then(|task| tasks.iter().position(|known| *known == task)) else {
                return;
            };
            event.prevent_default();
            let to = match step {
                isize::MIN => 0,
                isize::MAX => tasks.len().saturating_sub(1),
                step => from.saturating_add_signed(step).min(tasks.len().saturating_sub(1)),
            };
            if to == from && step.abs() < isize::MAX {
                return;
            }
            move_focus(&tasks[to], to / columns.max(1), &grid_ref, &pending_focus);
        })
    };

    // Only the calls on screen become tiles, from the board as it is now.
    let tiles: Vec<_> = state
        .live
        .read()
        .map(|feed| {
            let (policy, board) = (HealthPolicy::default(), feed.board());
            shown[window.first..window.end]
                .iter()
                .filter_map(|entry| WallView::tile(entry, alerts_of(entry), board, &policy, state.now, text))
                .collect()
        })
        .unwrap_or_default();
    let count_line = (!filter.is_empty()).then(|| {
        fill(text.wall_filtered, &[("shown", &shown.len().to_string()), ("total", &view.entries.len().to_string())])
    });
    html! {
        <section class="wall" aria-labelledby="wall-title">
            { title }
            <SummaryBar summary={view.summary.clone()} connection={connection} language={state.language}
                        filter={*filter} on_filter={Callback::from({
                            let filter = filter.clone();
                            move |next: WallFilter| filter.set(next)
                        })} />
            <FilterBar filter={*filter} language={state.language} count_line={count_line}
                       on_filter={Callback::from({
                           let filter = filter.clone();
                           move |next: WallFilter| filter.set(next)
                       })} />
            if shown.is_empty() {
                <div class="empty empty-compact" id="wall-filtered-empty">
                    <p>{ text.wall_empty_filtered }</p>
                </div>
            }
            <ul class="tiles" id="wall-tiles" ref={grid_ref} aria-label={text.wall_keyboard_hint} {onkeydown}
                style={format!("padding-top: {}px; padding-bottom: {}px", window.pad_top, window.pad_bottom)}
                data-total={shown.len().to_string()}>
                { for tiles.into_iter().map(|tile| {
                    let key = tile.task.clone();
                    html! { <Tile {key} {tile} language={state.language} on_open={on_open.clone()} /> }
                }) }
            </ul>
        </section>
    }
}

/// Measures the grid now and whenever the window scrolls or resizes.
#[hook]
fn use_placement(grid_ref: NodeRef, set: UseStateSetter<Placement>) {
    use_effect_with((), move |_| {
        let measure = Rc::new(move || {
            let (Some(window), Some(grid)) = (web_sys::window(), grid_ref.cast::<web_sys::Element>()) else { return };
            let rect = grid.get_bounding_client_rect();
            let viewport = window.inner_height().ok().and_then(|height| height.as_f64()).unwrap_or(1000.0);
            // The grid's padding is the skipped rows' stand-in, so its top is row 0's top.
            set.set(Placement { top: rect.top(), width: rect.width(), viewport });
        });
        measure();
        let listener = {
            let measure = measure.clone();
            Closure::<dyn Fn()>::new(move || measure())
        };
        let window = web_sys::window();
        if let Some(window) = &window {
            let callback = listener.as_ref().unchecked_ref();
            let _ = window.add_event_listener_with_callback("scroll", callback);
            let _ = window.add_event_listener_with_callback("resize", callback);
        }
        // The first paint may come before fonts and the summary bar settle: measure again.
        let settle = Closure::<dyn Fn()>::new(move || measure());
        if let Some(window) = &window {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(settle.as_ref().unchecked_ref(), 250);
        }
        move || {
            if let Some(window) = &window {
                let callback = listener.as_ref().unchecked_ref();
                let _ = window.remove_event_listener_with_callback("scroll", callback);
                let _ = window.remove_event_listener_with_callback("resize", callback);
            }
            drop(listener);
            drop(settle);
        }
    });
}

/// The task id of the tile with the keyboard focus, if one has it.
fn focused_task() -> Option<String> {
    let document = web_sys::window()?.document()?;
    document.active_element()?.closest("[data-task]").ok()??.get_attribute("data-task")
}

/// Focuses `task`'s tile if it is rendered; `false` if it is not (yet).
fn focus_tile(task: &str) -> bool {
    let escaped = task.replace('\\', "\\\\").replace('"', "\\\"");
    let found = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.query_selector(&format!("li[data-task=\"{escaped}\"]")).ok().flatten())
        .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok());
    match found {
        Some(element) => element.focus().is_ok(),
        None => false,
    }
}

/// Moves the keyboard focus to `task` (in grid row `row`): scrolls its row into view when
/// it is off screen, and focuses it once that render has it.
fn move_focus(task: &str, row: usize, grid_ref: &NodeRef, pending: &Rc<RefCell<Option<String>>>) {
    if focus_tile(task) {
        if let Some(element) =
            web_sys::window().and_then(|window| window.document()).and_then(|document| document.active_element())
        {
            let rect = element.get_bounding_client_rect();
            let viewport = web_sys::window().and_then(|w| w.inner_height().ok()).and_then(|h| h.as_f64());
            if rect.top() < 0.0 || viewport.is_some_and(|height| rect.bottom() > height) {
                element.scroll_into_view_with_bool(rect.top() < 0.0);
            }
        }
        return;
    }
    pending.borrow_mut().replace(task.to_owned());
    let (Some(window), Some(grid)) = (web_sys::window(), grid_ref.cast::<web_sys::Element>()) else { return };
    let grid_top = grid.get_bounding_client_rect().top() + window.scroll_y().unwrap_or(0.0);
    let y = grid_top + row as f64 * (TILE_HEIGHT_PX + TILE_GAP_PX) - 80.0;
    window.scroll_to_with_x_and_y(window.scroll_x().unwrap_or(0.0), y.max(0.0));
}

#[derive(Properties, PartialEq)]
struct SummaryBarProps {
    summary: Summary,
    connection: Option<ConnectionStatus>,
    language: Language,
    filter: WallFilter,
    on_filter: Callback<WallFilter>,
}

#[function_component]
fn SummaryBar(props: &SummaryBarProps) -> Html {
    let text = strings(props.language);
    let summary = &props.summary;
    let latency = match (summary.llm_p50_ms, summary.llm_p90_ms) {
        (Some(p50), Some(p90)) => html! {
            <>
                <strong id="summary-p50">{ fill(text.summary_p50, &[("ms", &p50.to_string())]) }</strong>
                <span class="summary-sep" aria-hidden="true">{ "·" }</span>
                <strong id="summary-p90">{ fill(text.summary_p90, &[("ms", &p90.to_string())]) }</strong>
            </>
        },
        _ => html! { <span class="summary-none">{ text.summary_no_latency }</span> },
    };
    html! {
        <div class="summary" id="wall-summary">
            <div class="summary-total">
                <strong id="summary-live">{ summary.live }</strong>
                <span>{ text.summary_live_calls }</span>
            </div>
            if summary.failing > 0 {
                <div class="summary-health health-failing" id="summary-failing">
                    <strong>{ summary.failing }</strong><span>{ text.summary_failing }</span>
                </div>
            }
            if summary.degraded > 0 {
                <div class="summary-health health-degraded" id="summary-degraded">
                    <strong>{ summary.degraded }</strong><span>{ text.summary_degraded }</span>
                </div>
            }
            <div class="summary-states" role="group" aria-label={text.summary_robot_states}>
                { for summary.by_activity.iter().map(|count| {
                    let activity = Activity::ALL.into_iter().find(|activity| activity.key() == count.key);
                    let active = activity.is_some() && props.filter.activity == activity;
                    let (on_filter, filter) = (props.on_filter.clone(), props.filter);
                    let onclick = Callback::from(move |_| {
                        on_filter.emit(WallFilter { activity: if active { None } else { activity }, ..filter });
                    });
                    html! {
                        <button class={classes!("badge", "badge-filter", format!("badge-{}", count.key), active.then_some("active"))}
                                id={format!("filter-state-{}", count.key)} aria-pressed={active.to_string()} {onclick}>
                            <span class="badge-dot" aria-hidden="true"></span>
                            { count.label }
                            <strong class="badge-count">{ count.count }</strong>
                        </button>
                    }
                }) }
            </div>
            <div class="summary-latency" id="summary-latency" title={text.summary_llm_first_token}>
                <span class="summary-latency-label">{ text.summary_llm_first_token }</span>
                { latency }
            </div>
            if let Some(status) = &props.connection {
                <div class={classes!("summary-connection", format!("conn-{}", status_key(status)))}
                     id="summary-connection" title={text.connection_label}>
                    <span class="status-dot" aria-hidden="true"></span>
                    { text.connection(status) }
                </div>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct FilterBarProps {
    filter: WallFilter,
    language: Language,
    count_line: Option<String>,
    on_filter: Callback<WallFilter>,
}

#[function_component]
fn FilterBar(props: &FilterBarProps) -> Html {
    let text = strings(props.language);
    let filter = props.filter;
    type Toggle = fn(&mut WallFilter) -> &mut bool;
    let toggles: [(&str, &str, Toggle); 4] = [
        ("has-error", text.filter_has_error, |f| &mut f.has_error),
        ("slow", text.filter_slow, |f| &mut f.slow),
        ("alerted", text.filter_alerted, |f| &mut f.alerted),
        ("taken-over", text.filter_taken_over, |f| &mut f.taken_over),
    ];
    html! {
        <div class="filters" role="group" aria-label={text.filter_label} id="wall-filters">
            { for toggles.into_iter().map(|(key, label, field)| {
                let mut next = filter;
                let on = *field(&mut next);
                *field(&mut next) = !on;
                let on_filter = props.on_filter.clone();
                html! {
                    <button id={format!("filter-{key}")} class={classes!("chip", on.then_some("active"))}
                            aria-pressed={on.to_string()} onclick={Callback::from(move |_| on_filter.emit(next))}>
                        { label }
                    </button>
                }
            }) }
            if !filter.is_empty() {
                <button id="filter-clear" class="chip chip-clear"
                        onclick={{
                            let on_filter = props.on_filter.clone();
                            Callback::from(move |_| on_filter.emit(WallFilter::default()))
                        }}>
                    { text.filter_clear }
                </button>
            }
            if let Some(line) = &props.count_line {
                <span class="filters-count" id="wall-filtered">{ line }</span>
            }
        </div>
    }
}
