//! The typed IPC contract between the Yew UI and the Tauri shell.
//!
//! Every command is a zero-sized marker implementing [`Command`]: its wire name, its
//! request and its response live together, so the UI's one generic `invoke` and the
//! shell's command functions cannot drift apart silently. The single wire error is
//! [`ApiError`] (`{ code, message }`), never a bare string.
//!
//! Requests travel as the Tauri argument named [`REQUEST_ARG`], so every command
//! function in the shell takes exactly one argument called `req`.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::alert::{AlertRules, FiredAlert, RuleId};
use crate::event::Event;
use crate::ids::{RoundId, TaskId};

mod settings;
pub use settings::*;
mod review;
pub use review::*;
mod actions;
pub use actions::*;

/// The name of the single Tauri argument that carries a command's request.
pub const REQUEST_ARG: &str = "req";

/// One IPC command: its wire name and the types that cross the bridge.
pub trait Command {
    /// The Tauri command name (the shell's function name).
    const NAME: &'static str;
    /// What the UI sends.
    type Request: Serialize + DeserializeOwned;
    /// What the shell answers on success.
    type Response: Serialize + DeserializeOwned;
}

/// `app_info`: version, data directory, locale, language and connection status.
#[derive(Debug, Clone, Copy)]
pub struct GetAppInfo;

impl Command for GetAppInfo {
    const NAME: &'static str = "app_info";
    type Request = NoArgs;
    type Response = AppInfo;
}

/// `set_language`: persist the supervisor's language choice; answers the new [`AppInfo`].
#[derive(Debug, Clone, Copy)]
pub struct SetLanguage;

impl Command for SetLanguage {
    const NAME: &'static str = "set_language";
    type Request = SetLanguageRequest;
    type Response = AppInfo;
}

/// `live_snapshot`: the events of every live call (and its room) the console holds, to
/// fold into a fresh board; later changes come as [`LiveUpdate`]s on [`LIVE_UPDATE_EVENT`].
#[derive(Debug, Clone, Copy)]
pub struct GetLiveSnapshot;

impl Command for GetLiveSnapshot {
    const NAME: &'static str = "live_snapshot";
    type Request = NoArgs;
    type Response = LiveSnapshot;
}

/// The name of the one Tauri event the shell pushes live changes on.
pub const LIVE_UPDATE_EVENT: &str = "switchboard://live";

/// Answer of [`GetLiveSnapshot`].
///
/// A UI listens to [`LIVE_UPDATE_EVENT`] first, then asks for the snapshot, folds its
/// events, and then folds the updates' events whose `seq` is above `last_seq` — so an
/// event is neither missed nor folded twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveSnapshot {
    /// In sequence order.
    pub events: Vec<Event>,
    /// The highest sequence number the snapshot covers (0 = none yet).
    pub last_seq: u64,
    pub connection: ConnectionStatus,
}

/// A live change, pushed by the shell on [`LIVE_UPDATE_EVENT`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LiveUpdate {
    /// New events, stored in the cache, in sequence order.
    Events { events: Vec<Event> },
    /// The link to the hub changed.
    Connection { status: ConnectionStatus },
    /// Something the supervisor should hear about (storage trouble, a cache rebuilt...).
    Notice { notice: Notice },
    /// An alert rule fired (stored, and shown as an OS notification).
    Alert { alert: FiredAlert },
    /// A recording download moved on.
    Download { progress: DownloadProgress },
    /// The shell's board was replaced — restored from the cache when a link starts, or
    /// another hub's after switching — so sequence numbers folded so far say nothing about
    /// it: drop the board and fetch a new snapshot.
    Reset,
}

/// How far a recording download is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadProgress {
    /// The recording task.
    pub recording: TaskId,
    /// The file's name.
    pub name: String,
    pub bytes: u64,
    /// The file's size, once the server said.
    pub total: Option<u64>,
}

/// `call_events`: a call's events from the local cache (works with the network off), to
/// fold with the domain fold for review.
#[derive(Debug, Clone, Copy)]
pub struct GetCallEvents;

impl Command for GetCallEvents {
    const NAME: &'static str = "call_events";
    type Request = CallRequest;
    type Response = Vec<Event>;
}

/// A request naming one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    pub call: TaskId,
}

/// `call_recordings`: a call's recording files, and which are on this machine.
#[derive(Debug, Clone, Copy)]
pub struct GetCallRecordings;

impl Command for GetCallRecordings {
    const NAME: &'static str = "call_recordings";
    type Request = CallRequest;
    type Response = Vec<RecordingView>;
}

/// `download_recording`: fetches one recording file into the cache folder (resuming a
/// partial download, verifying its size); progress comes as [`LiveUpdate::Download`].
#[derive(Debug, Clone, Copy)]
pub struct DownloadRecording;

impl Command for DownloadRecording {
    const NAME: &'static str = "download_recording";
    type Request = RecordingRef;
    type Response = RecordingView;
}

/// `export_call`: writes a call's transcript, turns with metrics, interventions and notes
/// as JSON and CSV, plus its downloaded recordings, into a new folder under `dest_dir`.
#[derive(Debug, Clone, Copy)]
pub struct ExportCall;

impl Command for ExportCall {
    const NAME: &'static str = "export_call";
    type Request = ExportRequest;
    type Response = ExportSummary;
}

/// Request of [`ExportCall`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    pub call: TaskId,
    /// The folder to create the export in (chosen by the supervisor).
    pub dest_dir: String,
    /// Replace an earlier export of the same call there.
    #[serde(default)]
    pub replace: bool,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportSummary {
    /// The export's folder.
    pub dir: String,
    /// Files written, relative to `dir`.
    pub files: Vec<String>,
    /// Recording files not included (not downloaded, incomplete, gone), by name.
    pub missing_recordings: Vec<String>,
}

/// `search`: full-text search over the cached calls' final sentences (Chinese and
/// English), newest first, narrowed by the filters given.
#[derive(Debug, Clone, Copy)]
pub struct Search;

impl Command for Search {
    const NAME: &'static str = "search";
    type Request = SearchRequest;
    type Response = Vec<SearchResult>;
}

/// Request of [`Search`]; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchRequest {
    pub query: String,
    /// Calls that started at or after this time (ms since the epoch).
    pub started_from: Option<u64>,
    /// Calls that started before this time.
    pub started_before: Option<u64>,
    /// Calls with this tag (e.g. the scenario).
    pub tag: Option<String>,
    pub has_error: Option<bool>,
    /// Sentences of turns whose LLM first token took longer than this many ms.
    pub slow_turn_ms: Option<f64>,
    /// Calls a supervisor stepped into (or not).
    pub intervened: Option<bool>,
    /// At most this many (1–200; 50 when 0).
    pub limit: u32,
}

/// A sentence that matched, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    pub call: TaskId,
    pub round: crate::ids::RoundId,
    pub speaker: Option<crate::event::Speaker>,
    /// When the sentence was final, and when its call started (ms since the epoch).
    pub at_ms: u64,
    pub call_started_ms: u64,
    /// The sentence around its hits, in pieces; render as text, highlighting the marked ones.
    pub snippet: Vec<SnippetPart>,
}

/// A piece of a search snippet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnippetPart {
    pub text: String,
    pub hit: bool,
}

/// One recording file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingRef {
    /// The recording task.
    pub recording: TaskId,
    pub name: String,
}

/// A recording file as the review screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingView {
    pub recording: TaskId,
    pub name: String,
    /// Where it is on this machine, once downloaded and verified.
    pub local_path: Option<String>,
    /// Bytes on this machine (a partial download counts).
    pub local_bytes: u64,
    pub verified: bool,
    /// TRTC has stored the file (its VOD callback came), so it can be downloaded. A file
    /// announced while the call is still being recorded is not ready yet.
    #[serde(default)]
    pub ready: bool,
}

/// `test_hub_connection`: checks a hub URL and token without changing anything.
#[derive(Debug, Clone, Copy)]
pub struct TestHubConnection;

impl Command for TestHubConnection {
    const NAME: &'static str = "test_hub_connection";
    type Request = HubCredentials;
    type Response = HubCheck;
}

/// `connect_hub`: checks, then keeps the token (keychain, else a private file) and the
/// URL, and relinks the console to that hub; answers the new [`AppInfo`].
#[derive(Debug, Clone, Copy)]
pub struct ConnectHub;

impl Command for ConnectHub {
    const NAME: &'static str = "connect_hub";
    type Request = HubCredentials;
    type Response = AppInfo;
}

/// `use_demo`: forgets the configured hub and relinks to the built-in demo.
#[derive(Debug, Clone, Copy)]
pub struct UseDemo;

impl Command for UseDemo {
    const NAME: &'static str = "use_demo";
    type Request = NoArgs;
    type Response = AppInfo;
}

/// A hub address and a supervisor token as typed in the settings screen. `Debug` never
/// shows the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubCredentials {
    pub url: String,
    pub token: String,
}

impl std::fmt::Debug for HubCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubCredentials").field("url", &self.url).field("token", &"***").finish()
    }
}

/// What a hub said about a token: who it belongs to and what they may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubCheck {
    pub user: String,
    /// `viewer`, `supervisor` or `lead`.
    pub role: String,
    /// The hub's newest sequence number.
    pub last_seq: u64,
}

/// `alerts`: the fired alerts, newest first.
#[derive(Debug, Clone, Copy)]
pub struct GetAlerts;

impl Command for GetAlerts {
    const NAME: &'static str = "alerts";
    type Request = NoArgs;
    type Response = Vec<AlertEntry>;
}

/// A fired alert as the alert list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertEntry {
    pub alert: FiredAlert,
    pub acknowledged: bool,
}

/// `acknowledge_alert`: marks one fired alert as seen; answers the updated list.
#[derive(Debug, Clone, Copy)]
pub struct AcknowledgeAlert;

impl Command for AcknowledgeAlert {
    const NAME: &'static str = "acknowledge_alert";
    type Request = AlertRef;
    type Response = Vec<AlertEntry>;
}

/// Which fired alert (one per call and rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRef {
    pub call: TaskId,
    pub rule: RuleId,
}

/// `alert_rules`: the rules in force.
#[derive(Debug, Clone, Copy)]
pub struct GetAlertRules;

impl Command for GetAlertRules {
    const NAME: &'static str = "alert_rules";
    type Request = NoArgs;
    type Response = AlertRules;
}

/// `set_alert_rules`: validates, stores and applies new rules; answers them.
#[derive(Debug, Clone, Copy)]
pub struct SetAlertRules;

impl Command for SetAlertRules {
    const NAME: &'static str = "set_alert_rules";
    type Request = SetAlertRulesRequest;
    type Response = AlertRules;
}

/// Request of [`SetAlertRules`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetAlertRulesRequest {
    pub rules: AlertRules,
}

/// The request of commands that take nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoArgs {}

/// Request of [`SetLanguage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetLanguageRequest {
    pub language: Language,
}

/// What the shell tells the UI about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The app's version (`CARGO_PKG_VERSION` of the shell).
    pub version: String,
    /// Where the console keeps its settings and cache, as an absolute path.
    pub data_dir: String,
    /// The operating system's locale as reported at start (BCP 47, e.g. `zh-CN`).
    pub os_locale: Option<String>,
    /// The language the UI should use: the saved choice, else derived from `os_locale`.
    pub language: Language,
    /// Whether `language` is a saved choice (true) or the OS default (false).
    pub language_saved: bool,
    /// The console's link to a hub.
    pub connection: ConnectionStatus,
    /// Things that happened at start-up the supervisor should know about.
    #[serde(default)]
    pub notices: Vec<Notice>,
    /// The hub the console is linked to, once the link has been set up.
    #[serde(default)]
    pub hub: Option<HubInfo>,
}

/// The hub the console talks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubInfo {
    /// The hub's base URL.
    pub url: String,
    /// The built-in demo (in-process hub and TRTC emulator) rather than a configured hub.
    pub demo: bool,
    /// Where the token is kept; `None` for the demo (its token lives with its credentials).
    pub token_storage: Option<TokenStorage>,
}

/// Something the console did on its own that the supervisor should hear about.
/// The UI localises it; the data is what the message needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Notice {
    /// `settings.json` could not be parsed; it was renamed to `moved_to` and defaults are used.
    #[serde(rename_all = "camelCase")]
    SettingsMovedAside { moved_to: String },
    /// The cache database failed its integrity check; it was renamed to `moved_to` and is
    /// being rebuilt from the hub.
    #[serde(rename_all = "camelCase")]
    CacheMovedAside { moved_to: String },
    /// Writing the cache fails (`message` says why, e.g. the disk is full); events wait in
    /// the hub and are caught up once writing works again.
    #[serde(rename_all = "camelCase")]
    CacheWriteFailing { message: String },
    /// Writing the cache works again after a failure.
    CacheWriteRecovered,
    /// The link could not be set up at all (`message` says why).
    #[serde(rename_all = "camelCase")]
    LinkFailed { message: String },
}

/// A UI language. Chinese is first-class; every string exists in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Language {
    /// Every language, in the order the language switch shows them.
    pub const ALL: [Language; 2] = [Language::ZhCn, Language::En];

    /// The language for an OS locale string such as `zh_CN.UTF-8`, `zh-Hans-CN`, `en-US`.
    /// Any Chinese locale gives Chinese; everything else (or nothing) gives English.
    pub fn from_locale(locale: Option<&str>) -> Language {
        match locale {
            Some(tag) if tag.trim().to_ascii_lowercase().starts_with("zh") => Language::ZhCn,
            _ => Language::En,
        }
    }

    /// The BCP 47 tag, also used for the document's `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::ZhCn => "简体中文",
            Language::En => "English",
        }
    }
}

/// The console's link to a hub, as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum ConnectionStatus {
    /// No hub is configured and no built-in demo is running.
    NotConfigured,
    /// Subscribed and up to date.
    Live,
    /// Subscribed and replaying the log; `lag_events` behind, oldest `lag_secs` old.
    #[serde(rename_all = "camelCase")]
    CatchingUp { lag_events: u64, lag_secs: u64 },
    /// Not connected; `reason` says why (already localised-neutral: a short code).
    #[serde(rename_all = "camelCase")]
    Offline { reason: String },
    /// Opening the link (first attempt, or again after [`ConnectionStatus::Offline`]).
    Connecting,
}

/// Where the console keeps the supervisor's hub token, as the settings screen says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TokenStorage {
    /// The operating system's keychain (Keychain, Credential Manager, Secret Service).
    Keychain,
    /// No keychain answered: a file readable by this user only (permissions 0600).
    File { path: String },
}

/// The one error shape at the IPC edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

/// What kind of failure an [`ApiError`] is, for the UI to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request was malformed or named something that does not exist.
    BadRequest,
    /// Reading or writing the console's files failed.
    Storage,
    /// The hub could not be reached, refused the token, or refused the request.
    Hub,
    /// The bridge itself failed (no shell, or the shell did not answer).
    Ipc,
    /// Anything else; the message says what.
    Internal,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into() }
    }
}

// ---- review: notes, tags and QA scores on a call ----

/// `add_note`: adds a note to a call (stored here at once, so it works offline, then pushed
/// to the hub so other supervisors see it); answers the call's review.
#[derive(Debug, Clone, Copy)]
pub struct AddNote;

impl Command for AddNote {
    const NAME: &'static str = "add_note";
    type Request = AddNoteRequest;
    type Response = CallReview;
}

/// Request of [`AddNote`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddNoteRequest {
    pub call: TaskId,
    pub text: String,
    /// The turn the note is about, if any.
    #[serde(default)]
    pub round: Option<RoundId>,
}

/// `set_tags`: replaces a call's tags (an empty list clears them), locally then on the hub;
/// answers the call's review.
#[derive(Debug, Clone, Copy)]
pub struct SetTags;

impl Command for SetTags {
    const NAME: &'static str = "set_tags";
    type Request = SetTagsRequest;
    type Response = CallReview;
}

/// Request of [`SetTags`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetTagsRequest {
    pub call: TaskId,
    pub tags: Vec<String>,
}

/// `set_qa_score`: scores a call 0–100 with an optional comment, locally then on the hub;
/// answers the call's review.
#[derive(Debug, Clone, Copy)]
pub struct SetQaScore;

impl Command for SetQaScore {
    const NAME: &'static str = "set_qa_score";
    type Request = SetQaScoreRequest;
    type Response = CallReview;
}

/// Request of [`SetQaScore`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetQaScoreRequest {
    pub call: TaskId,
    /// 0–100.
    pub score: u8,
    #[serde(default)]
    pub comment: Option<String>,
}

/// `call_review`: a call's notes, tags and QA score from the local cache (every
/// supervisor's, as far as the hub's events have arrived, and this console's own).
#[derive(Debug, Clone, Copy)]
pub struct GetCallReview;

impl Command for GetCallReview {
    const NAME: &'static str = "call_review";
    type Request = CallRequest;
    type Response = CallReview;
}

/// What supervisors wrote about a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallReview {
    pub call: TaskId,
    /// Oldest first.
    pub notes: Vec<ReviewNote>,
    /// Sorted.
    pub tags: Vec<String>,
    /// Whether the hub has these tags (false while this console's change waits to be pushed).
    pub tags_pushed: bool,
    /// Why the hub refused this console's tag change, if it did.
    pub tags_push_error: Option<String>,
    pub qa: Option<ReviewQa>,
}

/// One note on a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewNote {
    /// The note's id everywhere (a UUID).
    pub id: String,
    pub author: String,
    /// When it was written (Unix ms).
    pub at_ms: u64,
    pub round: Option<RoundId>,
    pub text: String,
    /// Whether the hub has it (false while it waits to be pushed).
    pub pushed: bool,
    /// Why the hub refused it, if it did (it is not pushed again).
    pub push_error: Option<String>,
}

/// A call's QA score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewQa {
    pub score: u8,
    pub comment: Option<String>,
    pub reviewer: String,
    /// When it was given (Unix ms).
    pub at_ms: u64,
    /// Whether the hub has it (false while this console's score waits to be pushed).
    pub pushed: bool,
    /// Why the hub refused this console's score, if it did.
    pub push_error: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
        let json = serde_json::to_string(value).expect("serialises");
        let back: T = serde_json::from_str(&json).expect("deserialises its own output");
        assert_eq!(&back, value, "round trip changed the value; json was {json}");
    }

    #[test]
    fn chinese_locales_default_to_chinese_and_everything_else_to_english() {
        for (locale, expected) in [
            (Some("zh-CN"), Language::ZhCn),
            (Some("zh_CN.UTF-8"), Language::ZhCn),
            (Some("zh-Hans-CN"), Language::ZhCn),
            (Some("ZH-TW"), Language::ZhCn),
            (Some("en-US"), Language::En),
            (Some("de_DE.UTF-8"), Language::En),
            (Some("C"), Language::En),
            (Some(""), Language::En),
            (None, Language::En),
        ] {
            assert_eq!(Language::from_locale(locale), expected, "locale {locale:?}");
        }
    }

    #[test]
    fn languages_use_bcp47_tags_on_the_wire() {
        assert_eq!(serde_json::to_string(&Language::ZhCn).unwrap(), "\"zh-CN\"");
        assert_eq!(serde_json::to_string(&Language::En).unwrap(), "\"en\"");
        for language in Language::ALL {
            assert_eq!(serde_json::to_string(&language).unwrap(), format!("\"{}\"", language.tag()));
        }
    }

    #[test]
    fn every_ipc_type_survives_a_serde_round_trip() {
        round_trip(&NoArgs {});
        round_trip(&SetLanguageRequest { language: Language::ZhCn });
        for connection in [
            ConnectionStatus::NotConfigured,
            ConnectionStatus::Live,
            ConnectionStatus::CatchingUp { lag_events: 12, lag_secs: 3 },
            ConnectionStatus::Offline { reason: "refused".into() },
            ConnectionStatus::Connecting,
        ] {
            round_trip(&AppInfo {
                version: "0.1.0".into(),
                data_dir: "/tmp/switchboard".into(),
                os_locale: Some("zh-CN".into()),
                language: Language::ZhCn,
                language_saved: false,
                connection,
                notices: vec![Notice::SettingsMovedAside { moved_to: "/d/settings.json.corrupt".into() }],
                hub: Some(HubInfo {
                    url: "http://127.0.0.1:8720".into(),
                    demo: false,
                    token_storage: Some(TokenStorage::File { path: "/d/hub-token.json".into() }),
                }),
            });
        }
        round_trip(&ApiError::new(ErrorCode::Storage, "disk full"));
        round_trip(&LiveSnapshot { events: vec![], last_seq: 7, connection: ConnectionStatus::Live });
        for update in [
            LiveUpdate::Events { events: vec![] },
            LiveUpdate::Connection { status: ConnectionStatus::Connecting },
            LiveUpdate::Notice { notice: Notice::CacheWriteFailing { message: "disk full".into() } },
            LiveUpdate::Notice { notice: Notice::CacheWriteRecovered },
            LiveUpdate::Notice { notice: Notice::CacheMovedAside { moved_to: "/d/cache.sqlite.corrupt".into() } },
        ] {
            round_trip(&update);
        }
    }

    #[test]
    fn review_types_survive_a_round_trip_with_the_names_the_ui_sends() {
        let call = TaskId::new("task-1");
        round_trip(&AddNoteRequest {
            call: call.clone(),
            text: "客户要求回电".into(),
            round: Some(RoundId::new("r2")),
        });
        round_trip(&SetTagsRequest { call: call.clone(), tags: vec!["vip".into(), "投诉".into()] });
        round_trip(&SetQaScoreRequest { call: call.clone(), score: 85, comment: None });
        let review = CallReview {
            call: call.clone(),
            notes: vec![ReviewNote {
                id: "3f2b9c1e-0c7a-4a55-9a53-2f1d2b0d7e11".into(),
                author: "li".into(),
                at_ms: 5,
                round: None,
                text: "ok".into(),
                pushed: false,
                push_error: None,
            }],
            tags: vec!["vip".into()],
            tags_pushed: true,
            tags_push_error: None,
            qa: Some(ReviewQa {
                score: 85,
                comment: Some("语气好".into()),
                reviewer: "wang".into(),
                at_ms: 6,
                pushed: true,
                push_error: None,
            }),
        };
        round_trip(&review);
        let json = serde_json::to_value(&review).unwrap();
        assert_eq!(json["tagsPushed"], true);
        assert_eq!(json["notes"][0]["atMs"], 5);
        let minimal: AddNoteRequest =
            serde_json::from_value(serde_json::json!({"call": "task-1", "text": "hi"})).unwrap();
        assert_eq!(minimal.round, None, "round may be left out");
        let score: SetQaScoreRequest =
            serde_json::from_value(serde_json::json!({"call": "task-1", "score": 70})).unwrap();
        assert_eq!(score.comment, None, "comment may be left out");
        assert_eq!(
            [AddNote::NAME, SetTags::NAME, SetQaScore::NAME, GetCallReview::NAME],
            ["add_note", "set_tags", "set_qa_score", "call_review"]
        );
    }

    #[test]
    fn requests_use_camel_case_field_names_the_ui_sends() {
        let json = serde_json::to_value(AppInfo {
            version: "1".into(),
            data_dir: "/d".into(),
            os_locale: None,
            language: Language::En,
            language_saved: true,
            connection: ConnectionStatus::CatchingUp { lag_events: 1, lag_secs: 2 },
            notices: vec![],
            hub: None,
        })
        .unwrap();
        assert_eq!(json["dataDir"], "/d");
        assert_eq!(json["languageSaved"], true);
        assert_eq!(json["connection"]["state"], "catchingUp");
        assert_eq!(json["connection"]["lagEvents"], 1);
    }
}
