//! The call view's commands: `whoami`, `call_action`, `watch_call` — one
//! [`engine::Console`] method each (see `engine::console::actions`).

use domain::api::{ActionAnswer, ApiError, CallActionRequest, Identity, NoArgs, WatchRequest, Watchers};

use super::{edge, ConsoleState};

#[tauri::command]
pub async fn whoami(console: ConsoleState<'_>, req: NoArgs) -> Result<Identity, ApiError> {
    let NoArgs {} = req;
    console.whoami().await.map_err(edge)
}

#[tauri::command]
pub async fn call_action(console: ConsoleState<'_>, req: CallActionRequest) -> Result<ActionAnswer, ApiError> {
    console.call_action(&req).await.map_err(edge)
}

#[tauri::command]
pub async fn watch_call(console: ConsoleState<'_>, req: WatchRequest) -> Result<Watchers, ApiError> {
    console.watch_call(&req).await.map_err(edge)
}
