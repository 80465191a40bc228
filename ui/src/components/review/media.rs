//! The browser pieces the review screen's player needs and the crate's `web-sys` features
//! do not cover: the media element's playback properties, and Tauri's own
//! `convertFileSrc`, which turns a local path into the asset-protocol URL the window may
//! load (`asset://localhost/<encoded path>`, or `http://asset.localhost/…` on Windows and
//! Android). The shell scopes that protocol to the recordings folder only.
//!
//! WebKitGTK (Linux) hands a media element's URL straight to GStreamer, which has no
//! source for the `asset:` scheme, so the element fails with `MEDIA_ERR_SRC_NOT_SUPPORTED`
//! (WebKit bug 146351). [`blob_url`] is the way round: the window's own loader fetches the
//! same asset URL (that works: it goes through the scheme handler) into a `Blob`, and the
//! element plays its `blob:` URL (the whole file in memory: a WAV is ~2.6 MB a minute).
//! [`ObjectUrl`] revokes it when dropped. The CSP allows `asset:` in `connect-src` and
//! `blob:` in `media-src` for this.

use wasm_bindgen::prelude::*;

use super::model::PlaybackFailure;

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

    /// 0 (nothing) … 4 (enough to play through).
    #[wasm_bindgen(method, getter, js_name = readyState)]
    pub fn ready_state(this: &MediaElement) -> u16;

    /// The `MediaError` of the last load, or null.
    #[wasm_bindgen(method, getter)]
    pub fn error(this: &MediaElement) -> JsValue;

    /// Resolves once playback started; rejects when it cannot (no audio output, a bad file).
    #[wasm_bindgen(method, catch)]
    pub fn play(this: &MediaElement) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(method)]
    pub fn pause(this: &MediaElement);

    #[wasm_bindgen(js_name = fetch, catch)]
    fn fetch_url(url: &str) -> Result<js_sys::Promise, JsValue>;

    type FetchResponse;

    #[wasm_bindgen(method, getter)]
    fn ok(this: &FetchResponse) -> bool;

    #[wasm_bindgen(method, getter)]
    fn status(this: &FetchResponse) -> u16;

    #[wasm_bindgen(method, catch)]
    fn blob(this: &FetchResponse) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(js_namespace = URL, js_name = createObjectURL, catch)]
    fn create_object_url(blob: &JsValue) -> Result<String, JsValue>;

    #[wasm_bindgen(js_namespace = URL, js_name = revokeObjectURL)]
    fn revoke_object_url(url: &str);
}

/// The URL that plays `path` through the asset protocol, or why there is none.
pub fn asset_url(path: &str) -> Result<String, String> {
    let value = tauri_convert_file_src(path).map_err(|error| describe(&error))?;
    value.as_string().ok_or_else(|| "convertFileSrc answered no URL".to_owned())
}

/// A `blob:` URL for a file fetched into memory; revoked (the memory freed) when dropped.
#[derive(Debug, PartialEq, Eq)]
pub struct ObjectUrl(String);

impl ObjectUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for ObjectUrl {
    fn drop(&mut self) {
        revoke_object_url(&self.0);
    }
}

/// Fetches `url` (an asset URL) through the window's loader and answers a `blob:` URL the
/// media element can play, or why it could not: an HTTP error from the asset protocol (the
/// file is gone, or outside the recordings folder) is [`PlaybackFailure::Unreadable`].
pub async fn blob_url(url: &str) -> Result<ObjectUrl, PlaybackFailure> {
    use wasm_bindgen_futures::JsFuture;
    let other = |error: JsValue| PlaybackFailure::Other(describe(&error));
    let answer = JsFuture::from(fetch_url(url).map_err(other)?).await.map_err(other)?;
    let response: FetchResponse = answer.unchecked_into();
    if !response.ok() {
        return Err(PlaybackFailure::Unreadable);
    }
    let blob = JsFuture::from(response.blob().map_err(other)?).await.map_err(other)?;
    create_object_url(&blob).map(ObjectUrl).map_err(other)
}

/// The element's `MediaError` (`code`, `message`), if its last load failed.
pub fn media_error(media: &MediaElement) -> Option<(u16, String)> {
    let error = media.error();
    if error.is_null() || error.is_undefined() {
        return None;
    }
    let code = js_sys::Reflect::get(&error, &JsValue::from_str("code")).ok().and_then(|code| code.as_f64());
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // MediaError codes are 1–4
    let code = code.map_or(0, |code| code.clamp(0.0, f64::from(u16::MAX)) as u16);
    Some((code, text_of(&error, "message").unwrap_or_default()))
}

/// A JavaScript error's `name` (`NotAllowedError`, …) and message.
pub fn name_and_message(error: &JsValue) -> (String, String) {
    (text_of(error, "name").unwrap_or_default(), describe(error))
}

fn text_of(value: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(value, &JsValue::from_str(key)).ok().and_then(|text| text.as_string())
}

/// A JavaScript error as text.
pub fn describe(error: &JsValue) -> String {
    js_sys::Reflect::get(error, &JsValue::from_str("message"))
        .ok()
        .and_then(|message| message.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}
