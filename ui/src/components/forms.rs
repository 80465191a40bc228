//! Reading form fields in event handlers, shared by the screens' forms.

use wasm_bindgen::JsValue;
use yew::prelude::*;

/// The `value` of the field an input event came from — an `<input>` or a `<textarea>`
/// alike (read as a property, so no element type is assumed); empty if there is none.
pub fn field_value(event: &InputEvent) -> String {
    event
        .target()
        .and_then(|target| js_sys::Reflect::get(&target, &JsValue::from_str("value")).ok())
        .and_then(|value| value.as_string())
        .unwrap_or_default()
}
