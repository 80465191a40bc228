//! The event-to-screen probe, for the benchmark (`tests/benches/event_to_screen.rs`).
//!
//! Off unless the page has a `window.__switchboardPerf` object (the benchmark creates it
//! through WebDriver); then, for every batch of live events, it waits for the frame that
//! shows the batch — `requestAnimationFrame` (unless the batch was applied in a frame's
//! callback already, as the live link does: `hooks`), then a zero timeout so the frame's
//! paint is done — and pushes `now − source time` of each event, in ms, onto its `latencies`
//! array. Events carry their source time (the callback's `EventMsTs`); the benchmark stamps
//! that when it sends the callback, on the same machine's clock.
//!
//! What deliberately does not live here: frame timing (the benchmark measures frame gaps
//! with its own `requestAnimationFrame` loop) and any effect when the probe is off beyond
//! one property lookup per batch.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const PROBE: &str = "__switchboardPerf";

/// Records, after the next paint, how long ago each of `source_ms` was (if the probe is on).
pub fn after_paint(source_ms: Vec<u64>) {
    let Some(window) = web_sys::window() else { return };
    let Some(probe) = probe(&source_ms) else { return };
    let painted = Closure::once_into_js(move || record_after_this_frame(probe, source_ms));
    let _ = window.request_animation_frame(painted.unchecked_ref());
}

/// The same, called from an animation frame's callback: the frame being prepared is the
/// one that shows the change.
pub fn after_this_frame(source_ms: Vec<u64>) {
    if let Some(probe) = probe(&source_ms) {
        record_after_this_frame(probe, source_ms);
    }
}

/// The probe object, when it is on and there is something to record.
fn probe(source_ms: &[u64]) -> Option<JsValue> {
    let window = web_sys::window()?;
    let probe = js_sys::Reflect::get(&window, &JsValue::from_str(PROBE)).ok()?;
    (probe.is_object() && !source_ms.is_empty()).then_some(probe)
}

/// A zero timeout queued in a frame's callback runs once that frame is painted.
fn record_after_this_frame(probe: JsValue, source_ms: Vec<u64>) {
    let record = Closure::once_into_js(move || {
        let now = js_sys::Date::now();
        let Ok(latencies) = js_sys::Reflect::get(&probe, &JsValue::from_str("latencies")) else { return };
        let Ok(latencies) = latencies.dyn_into::<js_sys::Array>() else { return };
        for ms in source_ms {
            latencies.push(&JsValue::from_f64(now - ms as f64));
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(record.unchecked_ref(), 0);
    }
}
