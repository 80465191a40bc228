//! The one typed bridge to the Tauri shell.
//!
//! [`invoke`] takes a `domain::api::Command` marker, so the command name, its request and
//! its response cannot drift apart. In a plain browser `window.__TAURI__` does not exist
//! and the binding's future would never resolve, so we check first and answer an
//! [`ErrorCode::Ipc`] error instead.

use domain::api::{ApiError, Command, ErrorCode, REQUEST_ARG};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
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

fn tauri_present() -> bool {
    let Some(window) = web_sys::window() else { return false };
    js_sys::Reflect::get(&window, &JsValue::from_str("__TAURI__"))
        .map(|tauri| !tauri.is_undefined() && !tauri.is_null())
        .unwrap_or(false)
}
