//! The browser pieces the review screen's player needs and the crate's `web-sys` features
//! do not cover: the media element's playback properties, and Tauri's own
//! `convertFileSrc`, which turns a local path into the asset-protocol URL the window may
//! load (`asset://localhost/<encoded path>`, or `http://asset.localhost/…` on Windows and
//! Android). The shell scopes that protocol to the recordings folder only.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = convertFileSrc, catch)]
    fn tauri_convert_file_src(path: &str) -> Result<JsValue, JsValue>;

    /// An `<audio>` element, for the properties the player uses.
    pub type MediaElement;

    #[wasm_bindgen(method, getter, js_name = currentTime)]
    pub fn current_time(this: &MediaElement) -> f64;

    #[wasm_bindgen(method, setter, js_name = currentTime)]
    pub fn set_current_time(this: &MediaElement, seconds: f64);

    #[wasm_bindgen(method, getter)]
    pub fn duration(this: &MediaElement) -> f64;

    #[wasm_bindgen(method, getter)]
    pub fn paused(this: &MediaElement) -> bool;

    /// Resolves once playback started; rejects when it cannot (no audio output, a bad file).
    #[wasm_bindgen(method, catch)]
    pub fn play(this: &MediaElement) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(method)]
    pub fn pause(this: &MediaElement);
}

/// The URL that plays `path` through the asset protocol, or why there is none.
pub fn asset_url(path: &str) -> Result<String, String> {
    let value = tauri_convert_file_src(path).map_err(|error| describe(&error))?;
    value.as_string().ok_or_else(|| "convertFileSrc answered no URL".to_owned())
}

/// A JavaScript error as text.
pub fn describe(error: &JsValue) -> String {
    js_sys::Reflect::get(error, &JsValue::from_str("message"))
        .ok()
        .and_then(|message| message.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}
