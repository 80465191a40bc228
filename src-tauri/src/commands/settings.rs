//! The settings screen's commands: the cache's place, size and retention, and where the
//! hub token is kept. One-line adapters to [`engine::Console`]; the hub connection and
//! alert rule commands are in `commands/mod.rs`.

use domain::api::{ApiError, CacheInfo, NoArgs, SetRetentionRequest, TokenLocation};

use super::{edge, ConsoleState};

#[tauri::command]
pub async fn cache_info(console: ConsoleState<'_>, req: NoArgs) -> Result<CacheInfo, ApiError> {
    let NoArgs {} = req;
    console.cache_info().map_err(edge)
}

#[tauri::command]
pub async fn set_retention(console: ConsoleState<'_>, req: SetRetentionRequest) -> Result<CacheInfo, ApiError> {
    console.set_retention(req.retention_days).map_err(edge)
}

#[tauri::command]
pub async fn token_location(console: ConsoleState<'_>, req: NoArgs) -> Result<TokenLocation, ApiError> {
    let NoArgs {} = req;
    console.token_location().await.map_err(edge)
}
