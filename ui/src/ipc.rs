//! The one typed bridge to the Tauri shell.
//!
//! [`invoke`] takes a `domain::api::Command` marker, so the command name, its request and
//! its response cannot drift apart. [`listen_live`] subscribes to the one event the shell
//! pushes, [`LIVE_UPDATE_EVENT`], and hands each payload over as a typed [`LiveUpdate`]. In a
//! plain browser `window.__TAURI__` does not exist and the bindings' futures would never
//! resolve, so we check first and answer an [`ErrorCode::Ipc`] error instead.
//!
//! What deliberately does not live here: what the UI does with the answers (`hooks`,
//! `state`).

use domain::api::{ApiError, Command, ErrorCode, LiveUpdate, LIVE_UPDATE_EVENT, REQUEST_ARG};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;

    /// `listen(event, handler)`: resolves to the function that stops listening.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "event"], js_name = listen, catch)]
    async fn tauri_listen(event: &str, handler: &js_sys::Function) -> Result<JsValue, JsValue>;
}

/// Calls command `C` in the shell with `req`.
///
/// # Errors
/// The shell's own [`ApiError`], or an [`ErrorCode::Ipc`] error when there is no shell or
/// the values do not match the contract.
pub async fn invoke<C: Command>(req: &C::Request) -> Result<C::Response, ApiError> {
    if !tauri_present() {
        return Err(ApiError::new(ErrorCode::Ipc, "not running inside the Switchboard app (no Tauri bridge)"));
    }
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let request = serde::Serialize::serialize(req, &serializer)
        .map_err(|err| ApiError::new(ErrorCode::Ipc, format!("cannot encode the {} request: {err}", C::NAME)))?;
    let args = js_sys::Object::new();
    js_sys::Reflect::set(&args, &JsValue::from_str(REQUEST_ARG), &request)
        .map_err(|_| ApiError::new(ErrorCode::Ipc, "cannot build the request arguments"))?;
    match tauri_invoke(C::NAME, args.into()).await {
        Ok(value) => serde_wasm_bindgen::from_value(value)
            .map_err(|err| ApiError::new(ErrorCode::Ipc, format!("unexpected answer to {}: {err}", C::NAME))),
        Err(value) => Err(serde_wasm_bindgen::from_value::<ApiError>(value.clone()).unwrap_or_else(|_| {
            // Tauri itself rejects with a plain string (unknown command, denied permission...).
            let text = value.as_string().unwrap_or_else(|| format!("{value:?}"));
            ApiError::new(ErrorCode::Ipc, format!("{} failed: {text}", C::NAME))
        })),
    }
}

/// A subscription to [`LIVE_UPDATE_EVENT`]; dropping it stops listening.
#[derive(Debug)]
pub struct LiveSubscription {
    unlisten: js_sys::Function,
    // Called by Tauri for every event; must live as long as the subscription.
    _handler: Closure<dyn FnMut(JsValue)>,
}

impl Drop for LiveSubscription {
    fn drop(&mut self) {
        // Nothing useful to do if the shell is already gone.
        let _ = self.unlisten.call0(&JsValue::NULL);
    }
}

/// Starts listening to [`LIVE_UPDATE_EVENT`]; `on_update` gets each payload, or an
/// [`ErrorCode::Ipc`] error naming what was wrong with one that does not match the contract.
///
/// # Errors
/// [`ErrorCode::Ipc`] when there is no shell or Tauri refuses the subscription.
pub async fn listen_live(
    mut on_update: impl FnMut(Result<LiveUpdate, ApiError>) + 'static,
) -> Result<LiveSubscription, ApiError> {
    if !tauri_has(&["__TAURI__", "event"]) {
        return Err(ApiError::new(ErrorCode::Ipc, "not running inside the Switchboard app (no Tauri event bridge)"));
    }
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        // Tauri hands the handler `{ event, id, payload }`.
        let update = js_sys::Reflect::get(&event, &JsValue::from_str("payload"))
            .map_err(|_| ApiError::new(ErrorCode::Ipc, format!("a {LIVE_UPDATE_EVENT} event came without a payload")))
            .and_then(|payload| {
                serde_wasm_bindgen::from_value::<LiveUpdate>(payload).map_err(|err| {
                    ApiError::new(ErrorCode::Ipc, format!("unexpected {LIVE_UPDATE_EVENT} payload: {err}"))
                })
            });
        on_update(update);
    });
    let unlisten = tauri_listen(LIVE_UPDATE_EVENT, handler.as_ref().unchecked_ref()).await.map_err(|value| {
        let text = value.as_string().unwrap_or_else(|| format!("{value:?}"));
        ApiError::new(ErrorCode::Ipc, format!("cannot listen to {LIVE_UPDATE_EVENT}: {text}"))
    })?;
    let unlisten = unlisten.dyn_into::<js_sys::Function>().map_err(|_| {
        ApiError::new(ErrorCode::Ipc, format!("listening to {LIVE_UPDATE_EVENT} did not answer an unlisten function"))
    })?;
    Ok(LiveSubscription { unlisten, _handler: handler })
}

fn tauri_present() -> bool {
    tauri_has(&["__TAURI__"])
}

/// Whether `window.<path…>` exists.
fn tauri_has(path: &[&str]) -> bool {
    let Some(window) = web_sys::window() else { return false };
    let mut value: JsValue = window.into();
    for name in path {
        match js_sys::Reflect::get(&value, &JsValue::from_str(name)) {
            Ok(next) if !next.is_undefined() && !next.is_null() => value = next,
            _ => return false,
        }
    }
    true
}
