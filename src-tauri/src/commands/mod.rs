//! The IPC commands: one-screen adapters from `domain::api` requests to one
//! [`engine::Console`] method each.
//!
//! Every command takes its request as the single argument `req` (see
//! [`domain::api::REQUEST_ARG`]) and fails with [`ApiError`], built in one place.

use std::sync::Arc;

use domain::alert::AlertRules;
use domain::api::{
    self, AlertEntry, AlertRef, ApiError, AppInfo, CallRequest, Command, ExportRequest, ExportSummary, HubCheck,
    HubCredentials, LiveSnapshot, NoArgs, RecordingRef, RecordingView, SearchRequest, SearchResult,
    SetAlertRulesRequest, SetLanguageRequest,
};
use domain::api::{AddNoteRequest, CallReview, SetQaScoreRequest, SetTagsRequest};
use domain::event::Event;
use engine::Console;
use tauri::State;

pub mod settings;
pub use settings::*;
pub mod review;
pub use review::*;
pub mod actions;
pub use actions::*;

// The wire names live in `domain::api`; a rename there must break the build here.
const _: () = assert!(eq(api::GetAppInfo::NAME, "app_info"));
const _: () = assert!(eq(api::SetLanguage::NAME, "set_language"));
const _: () = assert!(eq(api::GetLiveSnapshot::NAME, "live_snapshot"));
const _: () = assert!(eq(api::GetAlerts::NAME, "alerts"));
const _: () = assert!(eq(api::AcknowledgeAlert::NAME, "acknowledge_alert"));
const _: () = assert!(eq(api::GetAlertRules::NAME, "alert_rules"));
const _: () = assert!(eq(api::SetAlertRules::NAME, "set_alert_rules"));
const _: () = assert!(eq(api::TestHubConnection::NAME, "test_hub_connection"));
const _: () = assert!(eq(api::ConnectHub::NAME, "connect_hub"));
const _: () = assert!(eq(api::UseDemo::NAME, "use_demo"));
const _: () = assert!(eq(api::GetCallEvents::NAME, "call_events"));
const _: () = assert!(eq(api::GetCallRecordings::NAME, "call_recordings"));
const _: () = assert!(eq(api::DownloadRecording::NAME, "download_recording"));
const _: () = assert!(eq(api::ExportCall::NAME, "export_call"));
const _: () = assert!(eq(api::Search::NAME, "search"));
const _: () = assert!(eq(api::AddNote::NAME, "add_note"));
const _: () = assert!(eq(api::SetTags::NAME, "set_tags"));
const _: () = assert!(eq(api::SetQaScore::NAME, "set_qa_score"));
const _: () = assert!(eq(api::GetCallReview::NAME, "call_review"));
const _: () = assert!(eq(api::GetCacheInfo::NAME, "cache_info"));
const _: () = assert!(eq(api::SetRetention::NAME, "set_retention"));
const _: () = assert!(eq(api::GetTokenLocation::NAME, "token_location"));
const _: () = assert!(eq(api::GetCallHistory::NAME, "call_history"));
const _: () = assert!(eq(api::WhoAmI::NAME, "whoami"));
const _: () = assert!(eq(api::CallAction::NAME, "call_action"));
const _: () = assert!(eq(api::WatchCall::NAME, "watch_call"));

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

type ConsoleState<'a> = State<'a, Arc<Console>>;

#[tauri::command]
pub async fn app_info(console: ConsoleState<'_>, req: NoArgs) -> Result<AppInfo, ApiError> {
    let NoArgs {} = req;
    Ok(console.app_info())
}

#[tauri::command]
pub async fn set_language(console: ConsoleState<'_>, req: SetLanguageRequest) -> Result<AppInfo, ApiError> {
    console.set_language(req.language).map_err(edge)
}

#[tauri::command]
pub async fn live_snapshot(console: ConsoleState<'_>, req: NoArgs) -> Result<LiveSnapshot, ApiError> {
    let NoArgs {} = req;
    Ok(console.live_snapshot())
}

#[tauri::command]
pub async fn alerts(console: ConsoleState<'_>, req: NoArgs) -> Result<Vec<AlertEntry>, ApiError> {
    let NoArgs {} = req;
    console.alerts().await.map_err(edge)
}

#[tauri::command]
pub async fn acknowledge_alert(console: ConsoleState<'_>, req: AlertRef) -> Result<Vec<AlertEntry>, ApiError> {
    console.acknowledge_alert(&req).await.map_err(edge)
}

#[tauri::command]
pub async fn alert_rules(console: ConsoleState<'_>, req: NoArgs) -> Result<AlertRules, ApiError> {
    let NoArgs {} = req;
    Ok(console.alert_rules())
}

#[tauri::command]
pub async fn set_alert_rules(console: ConsoleState<'_>, req: SetAlertRulesRequest) -> Result<AlertRules, ApiError> {
    console.set_alert_rules(req.rules).await.map_err(edge)
}

#[tauri::command]
pub async fn test_hub_connection(console: ConsoleState<'_>, req: HubCredentials) -> Result<HubCheck, ApiError> {
    console.test_hub_connection(&req).await.map_err(edge)
}

#[tauri::command]
pub async fn connect_hub(console: ConsoleState<'_>, req: HubCredentials) -> Result<AppInfo, ApiError> {
    console.connect_hub(&req).await.map_err(edge)
}

#[tauri::command]
pub async fn use_demo(console: ConsoleState<'_>, req: NoArgs) -> Result<AppInfo, ApiError> {
    let NoArgs {} = req;
    console.use_demo().await.map_err(edge)
}

#[tauri::command]
pub async fn call_events(console: ConsoleState<'_>, req: CallRequest) -> Result<Vec<Event>, ApiError> {
    console.call_events(&req.call).await.map_err(edge)
}

#[tauri::command]
pub async fn call_recordings(console: ConsoleState<'_>, req: CallRequest) -> Result<Vec<RecordingView>, ApiError> {
    console.call_recordings(&req.call).await.map_err(edge)
}

#[tauri::command]
pub async fn download_recording(console: ConsoleState<'_>, req: RecordingRef) -> Result<RecordingView, ApiError> {
    console.download_recording(&req).await.map_err(edge)
}

#[tauri::command]
pub async fn export_call(console: ConsoleState<'_>, req: ExportRequest) -> Result<ExportSummary, ApiError> {
    console.export_call(&req).await.map_err(edge)
}

#[tauri::command]
pub async fn search(console: ConsoleState<'_>, req: SearchRequest) -> Result<Vec<SearchResult>, ApiError> {
    console.search(&req).await.map_err(edge)
}

#[tauri::command]
pub async fn add_note(console: ConsoleState<'_>, req: AddNoteRequest) -> Result<CallReview, ApiError> {
    console.add_note(&req).await.map_err(edge)
}

#[tauri::command]
pub async fn set_tags(console: ConsoleState<'_>, req: SetTagsRequest) -> Result<CallReview, ApiError> {
    console.set_tags(&req).await.map_err(edge)
}

#[tauri::command]
pub async fn set_qa_score(console: ConsoleState<'_>, req: SetQaScoreRequest) -> Result<CallReview, ApiError> {
    console.set_qa_score(&req).await.map_err(edge)
}

#[tauri::command]
pub async fn call_review(console: ConsoleState<'_>, req: CallRequest) -> Result<CallReview, ApiError> {
    console.call_review(&req.call).await.map_err(edge)
}

/// Every engine error on its way to the webview: logged in full here, sent as
/// `{code, message}` (the engine's errors never carry secrets).
fn edge(err: impl Into<ApiError> + std::fmt::Display) -> ApiError {
    tracing::warn!(error = %err, "command failed");
    err.into()
}
