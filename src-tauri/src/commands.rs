//! The IPC commands: one-screen adapters from `domain::api` requests to one
//! [`engine::Console`] method each.
//!
//! Every command takes its request as the single argument `req` (see
//! [`domain::api::REQUEST_ARG`]) and fails with [`ApiError`], built in one place.

use domain::api::{self, ApiError, AppInfo, Command, ErrorCode, NoArgs, SetLanguageRequest};
use engine::{settings::SettingsError, Console};
use tauri::State;

// The wire names live in `domain::api`; a rename there must break the build here.
const _: () = assert!(eq(api::GetAppInfo::NAME, "app_info"));
const _: () = assert!(eq(api::SetLanguage::NAME, "set_language"));

const fn eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[tauri::command]
pub async fn app_info(console: State<'_, Console>, req: NoArgs) -> Result<AppInfo, ApiError> {
    let NoArgs {} = req;
    Ok(console.app_info())
}

#[tauri::command]
pub async fn set_language(console: State<'_, Console>, req: SetLanguageRequest) -> Result<AppInfo, ApiError> {
    Ok(console.set_language(req.language).map_err(EdgeError::from)?)
}

/// Every engine error on its way to the webview: logged in full here, sent as `{code, message}`.
struct EdgeError(ApiError);

impl From<SettingsError> for EdgeError {
    fn from(err: SettingsError) -> EdgeError {
        tracing::warn!(error = %err, "command failed");
        EdgeError(ApiError::new(ErrorCode::Storage, err.to_string()))
    }
}

impl From<EdgeError> for ApiError {
    fn from(err: EdgeError) -> ApiError {
        err.0
    }
}
