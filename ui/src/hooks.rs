//! The app's effects, as hooks: the live link to the shell and the wall's one-second clock.
//!
//! [`use_live_link`] follows `domain::api::LiveSnapshot`'s sequence: listen to
//! `switchboard://live` first, then ask for the snapshot (again, with a growing pause, while
//! that fails), and hand everything to the reducer, which folds it (`state`, `live`). An
//! update that does not match the contract may hide events, so it triggers a fresh
//! snapshot. Cleanup stops listening, even when it comes before Tauri answered.
//!
//! Updates are applied once per frame: those that arrive before the next animation frame
//! are handed to the reducer together (`Action::LiveBatch`), so a burst of callbacks costs
//! one render, not one each (a recording download's progress excepted: it is shown step by
//! step). A timer flushes too ([`FLUSH_LATEST_MS`]), for a window that
//! is not being painted (minimised), where animation frames stop.
//!
//! What deliberately does not live here: the merge rules (`live::LiveFeed`, tested
//! natively) and anything shown.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use domain::api::{GetLiveSnapshot, LiveUpdate, NoArgs};
use domain::ids::SourceMs;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::ipc::{invoke, listen_live, LiveSubscription};
use crate::state::{Action, AppState};

/// The first pause before asking for the snapshot again, and the longest.
const RETRY_FIRST_MS: i32 = 1_000;
const RETRY_MAX_MS: i32 = 30_000;

/// Live updates wait at most this long for an animation frame before they are applied.
const FLUSH_LATEST_MS: i32 = 250;

/// The browser's clock on the events' scale (ms since the Unix epoch).
pub fn now() -> SourceMs {
    // Date.now() is a whole, positive number of ms well within u64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    SourceMs(js_sys::Date::now().max(0.0) as u64)
}

/// What the live link's tasks share with the effect's cleanup.
#[derive(Debug, Default)]
struct Link {
    /// The component is gone: stop retrying, unlisten as soon as possible.
    closed: Cell<bool>,
    /// Bumped when a new snapshot is needed; a snapshot asked for under an older value is
    /// not used.
    generation: Cell<u64>,
    /// A snapshot loop is running.
    fetching: Cell<bool>,
    subscription: RefCell<Option<LiveSubscription>>,
    /// Updates waiting for the next frame, in arrival order.
    pending: RefCell<Vec<LiveUpdate>>,
    /// A flush is scheduled.
    flush_scheduled: Cell<bool>,
}

/// Listens to the shell's live updates and keeps the board in the reducer current.
#[hook]
pub fn use_live_link(dispatcher: UseReducerDispatcher<AppState>) {
    use_effect_with((), move |_| {
        let link = Rc::new(Link::default());
        wasm_bindgen_futures::spawn_local(start(link.clone(), dispatcher));
        move || {
            link.closed.set(true);
            drop(link.subscription.borrow_mut().take());
        }
    });
}

async fn start(link: Rc<Link>, dispatcher: UseReducerDispatcher<AppState>) {
    let on_update = {
        let (link, dispatcher) = (link.clone(), dispatcher.clone());
        move |update| match update {
            // A download's progress is shown as it comes (a few updates a second, on the
            // screen the supervisor is watching it from), not folded into the next frame.
            Ok(update @ LiveUpdate::Download { .. }) => dispatcher.dispatch(Action::LiveBatch(vec![update])),
            Ok(update) => {
                link.pending.borrow_mut().push(update);
                if !link.flush_scheduled.replace(true) {
                    schedule_flush(link.clone(), dispatcher.clone());
                }
            }
            Err(error) => {
                // What arrived before the bad update is applied first, in order.
                flush(&link, &dispatcher, false);
                dispatcher.dispatch(Action::LiveFailed(error));
                resync(link.clone(), dispatcher.clone());
            }
        }
    };
    match listen_live(on_update).await {
        // Dropping the subscription unlistens: the component went away meanwhile.
        Ok(subscription) if link.closed.get() => drop(subscription),
        Ok(subscription) => {
            *link.subscription.borrow_mut() = Some(subscription);
            fetch_snapshot(link, dispatcher).await;
        }
        // Without updates a snapshot would go stale unnoticed: say so and stop.
        Err(error) => dispatcher.dispatch(Action::LiveFailed(error)),
    }
}

/// Flushes the waiting updates at the next animation frame, or after [`FLUSH_LATEST_MS`]
/// if no frame comes first (whichever runs second finds nothing to do).
fn schedule_flush(link: Rc<Link>, dispatcher: UseReducerDispatcher<AppState>) {
    let Some(window) = web_sys::window() else {
        flush(&link, &dispatcher, false);
        return;
    };
    let on_frame = {
        let (link, dispatcher) = (link.clone(), dispatcher.clone());
        Closure::once_into_js(move || flush(&link, &dispatcher, true))
    };
    let on_timer = Closure::once_into_js(move || flush(&link, &dispatcher, false));
    let _ = window.request_animation_frame(on_frame.unchecked_ref());
    let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(on_timer.unchecked_ref(), FLUSH_LATEST_MS);
}

/// Hands the waiting updates to the reducer in one action (`in_frame`: from an animation
/// frame's callback, so the frame being prepared shows them).
fn flush(link: &Rc<Link>, dispatcher: &UseReducerDispatcher<AppState>, in_frame: bool) {
    link.flush_scheduled.set(false);
    let updates = std::mem::take(&mut *link.pending.borrow_mut());
    if updates.is_empty() || link.closed.get() {
        return;
    }
    let times: Vec<u64> = updates
        .iter()
        .flat_map(|update| match update {
            LiveUpdate::Events { events } => events.iter().map(|event| event.source_ms.0).collect(),
            _ => Vec::new(),
        })
        .collect();
    let reset = updates.contains(&LiveUpdate::Reset);
    dispatcher.dispatch(Action::LiveBatch(updates));
    if in_frame {
        crate::perf::after_this_frame(times);
    } else {
        crate::perf::after_paint(times);
    }
    if reset {
        resync(link.clone(), dispatcher.clone());
    }
}

/// Asks for a new snapshot after the reducer dropped its buffer.
fn resync(link: Rc<Link>, dispatcher: UseReducerDispatcher<AppState>) {
    link.generation.set(link.generation.get() + 1);
    wasm_bindgen_futures::spawn_local(fetch_snapshot(link, dispatcher));
}

/// Fetches the snapshot until one arrives that was asked for after the latest resync.
async fn fetch_snapshot(link: Rc<Link>, dispatcher: UseReducerDispatcher<AppState>) {
    if link.fetching.replace(true) {
        return; // the running loop sees the new generation
    }
    let mut pause = RETRY_FIRST_MS;
    while !link.closed.get() {
        let generation = link.generation.get();
        match invoke::<GetLiveSnapshot>(&NoArgs {}).await {
            Ok(snapshot) if link.generation.get() == generation => {
                dispatcher.dispatch(Action::SnapshotLoaded(snapshot));
                break;
            }
            Ok(_) => {} // a resync was asked for while this one was on its way
            Err(error) => {
                dispatcher.dispatch(Action::LiveFailed(error));
                sleep(pause).await;
                pause = (pause * 2).min(RETRY_MAX_MS);
            }
        }
    }
    link.fetching.set(false);
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Ticks the reducer's clock once a second, for the tiles' durations and "thinking for".
#[hook]
pub fn use_clock(dispatcher: UseReducerDispatcher<AppState>) {
    use_effect_with((), move |_| {
        let tick = Closure::<dyn FnMut()>::new(move || dispatcher.dispatch(Action::Tick(now())));
        let window = web_sys::window();
        let handle = window.as_ref().and_then(|window| {
            window.set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), 1_000).ok()
        });
        move || {
            if let (Some(window), Some(handle)) = (window, handle) {
                window.clear_interval_with_handle(handle);
            }
            drop(tick);
        }
    });
}
