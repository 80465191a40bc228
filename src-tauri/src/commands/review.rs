//! The review screen's commands: one-screen adapters to [`engine::Console`]'s review use
//! cases. Notes, tags, QA scores, search, recordings and export predate the screen and live
//! in `commands/mod.rs`.

use domain::api::{ApiError, HistoryPage, HistoryRequest};

use super::{edge, ConsoleState};

#[tauri::command]
pub async fn call_history(console: ConsoleState<'_>, req: HistoryRequest) -> Result<HistoryPage, ApiError> {
    console.call_history(&req).await.map_err(edge)
}
