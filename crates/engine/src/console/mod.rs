//! [`Console`]: the engine's face towards the app shell.
//!
//! One value built once at start-up and shared by every command. Each public method is
//! one use case and answers with `domain::api` types, so the shell's commands stay
//! one-line adapters. [`Console::start_link`] starts the long-running part (see
//! [`crate::link`]); the commands read what it shares. Connecting to another hub (or back
//! to the demo) stops the running link cleanly — its demo, subscription and cache — and
//! starts a new one with fresh state: each hub has its own cache file, because the cursor
//! is that hub's sequence number.

mod actions;

use std::{
    fs,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use domain::alert::{AlertRules, FiredAlert, RuleError};
use domain::api::{AddNoteRequest, CallReview, ReviewNote, ReviewQa, SetQaScoreRequest, SetTagsRequest};
use domain::api::{
    AlertEntry, AlertRef, ApiError, AppInfo, ConnectionStatus, DownloadProgress, ErrorCode, ExportRequest,
    ExportSummary, HubCheck, HubCredentials, Language, LiveSnapshot, LiveUpdate, Notice, RecordingRef, RecordingView,
    SearchRequest, SearchResult, SnippetPart,
};
use domain::event::Event;
use domain::ids::{SourceMs, TaskId};

use crate::cache::{CacheError, FiredQuery, RecordingFile as CachedFile};
use crate::cache::{NewNote, QaScore, ReviewKind};
use crate::hub_client::{ClientOptions, HubClient, HubToken};
use crate::link::{self, LinkConfig, LinkHandle, LinkState, UiSink};
use crate::settings::{Settings, SettingsError, SettingsFile, DEFAULT_RETENTION_DAYS};
use crate::token_store::TokenStore;

mod settings;
pub use settings::SettingsCommandError;
mod review;

/// The console's state for one data directory.
#[derive(Debug)]
pub struct Console {
    version: String,
    data_dir: PathBuf,
    os_locale: Option<String>,
    settings_file: SettingsFile,
    settings: Mutex<Settings>,
    notices: Vec<Notice>,
    /// The running link's shared state (a fresh one for each link).
    link_state: Mutex<Arc<LinkState>>,
    /// The running link, to stop it before starting another.
    running: tokio::sync::Mutex<Option<LinkHandle>>,
    /// Where the running link sends its updates (kept for relinking).
    sink: Mutex<Option<Arc<dyn UiSink>>>,
}

/// Why a console command failed. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("the alert rules are not valid: {0}")]
    Rules(#[from] RuleError),
    #[error("the cache is not open yet; try again in a moment")]
    NotReady,
    #[error("there is no alert for call {call} and rule {rule}")]
    NoSuchAlert { call: String, rule: String },
    #[error("{0}")]
    Hub(#[from] crate::hub_client::HubError),
    #[error(transparent)]
    Token(#[from] crate::token_store::TokenError),
    #[error("the hub lists no recording file {name:?} of recording {recording}")]
    NoSuchRecording { recording: String, name: String },
    #[error("the recording could not be downloaded: {0}")]
    Download(#[from] crate::recordings::DownloadError),
    #[error("not connected to a hub: {0}")]
    Offline(&'static str),
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    /// A note, tag set or score that breaks the rules, or for a call the cache does not hold.
    #[error("{0}")]
    BadReview(CacheError),
}

impl From<ConsoleError> for ApiError {
    fn from(err: ConsoleError) -> ApiError {
        let code = match &err {
            ConsoleError::Settings(_) | ConsoleError::Cache(_) | ConsoleError::Token(_) => ErrorCode::Storage,
            ConsoleError::Hub(_) | ConsoleError::Download(_) | ConsoleError::Offline(_) => ErrorCode::Hub,
            ConsoleError::NoSuchRecording { .. } => ErrorCode::BadRequest,
            ConsoleError::Export(_) => ErrorCode::Storage,
            ConsoleError::Rules(_) | ConsoleError::NoSuchAlert { .. } => ErrorCode::BadRequest,
            ConsoleError::NotReady => ErrorCode::Internal,
            ConsoleError::BadReview(_) => ErrorCode::BadRequest,
        };
        ApiError::new(code, err.to_string())
    }
}

/// Why the console could not open its data directory.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

impl Console {
    /// Opens (creating if needed) the console's data directory.
    ///
    /// A settings file that cannot be parsed is moved aside to `settings.json.corrupt`
    /// and the defaults are used; the UI is told through [`AppInfo::notices`].
    ///
    /// # Errors
    /// [`OpenError::DataDir`] when the directory cannot be created; [`OpenError::Settings`]
    /// when the settings file exists but cannot be read or moved aside.
    pub fn open(data_dir: &Path, version: &str, os_locale: Option<String>) -> Result<Console, OpenError> {
        fs::create_dir_all(data_dir).map_err(|source| OpenError::DataDir { path: data_dir.to_path_buf(), source })?;
        // Absolute, so the path the UI shows is the one on disk.
        let data_dir = fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let settings_file = SettingsFile::in_dir(&data_dir);
        let mut notices = Vec::new();
        let settings = match settings_file.load() {
            Ok(settings) => settings,
            Err(err @ SettingsError::Parse { .. }) => {
                let moved_to = settings_file.path().with_extension("json.corrupt");
                tracing::warn!(error = %err, moved_to = %moved_to.display(), "settings file unreadable; moving it aside and using defaults");
                fs::rename(settings_file.path(), &moved_to)
                    .map_err(|source| SettingsError::Write { path: settings_file.path().to_path_buf(), source })?;
                notices.push(Notice::SettingsMovedAside { moved_to: moved_to.display().to_string() });
                Settings::default()
            }
            Err(err) => return Err(err.into()),
        };
        Ok(Console {
            version: version.to_owned(),
            data_dir,
            os_locale,
            settings_file,
            settings: Mutex::new(settings),
            notices,
            link_state: Mutex::new(Arc::new(LinkState::default())),
            running: tokio::sync::Mutex::new(None),
            sink: Mutex::new(None),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The running link's shared state.
    fn link(&self) -> Arc<LinkState> {
        self.link_state.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// What the UI shows about the app: version, paths, language, connection and hub.
    pub fn app_info(&self) -> AppInfo {
        let link = self.link();
        let saved = self.settings.lock().unwrap_or_else(PoisonError::into_inner).language;
        AppInfo {
            version: self.version.clone(),
            data_dir: self.data_dir.display().to_string(),
            os_locale: self.os_locale.clone(),
            language: saved.unwrap_or_else(|| Language::from_locale(self.os_locale.as_deref())),
            language_saved: saved.is_some(),
            connection: link.status().unwrap_or(ConnectionStatus::NotConfigured),
            notices: self.notices.iter().cloned().chain(link.notices()).collect(),
            hub: link.hub(),
        }
    }

    /// Starts the console's link (the configured hub, or the built-in demo) in the
    /// background, sending live updates and notifications to `sink`. Must be called from
    /// within a tokio runtime. A link already running is stopped first.
    pub async fn start_link(&self, sink: Arc<dyn UiSink>) {
        *self.sink.lock().unwrap_or_else(PoisonError::into_inner) = Some(sink.clone());
        let mut running = self.running.lock().await;
        if let Some(handle) = running.take() {
            handle.stop().await;
        }
        let settings = self.settings.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let config = LinkConfig {
            data_dir: self.data_dir.clone(),
            hub_url: settings.hub_url.clone(),
            language: self.app_info().language,
            retention: Duration::from_secs(
                u64::from(settings.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS)) * 86_400,
            ),
        };
        let state = Arc::new(LinkState::default());
        *self.link_state.lock().unwrap_or_else(PoisonError::into_inner) = state.clone();
        *running = Some(link::spawn(state, config, sink));
    }

    /// Stops the running link, if any (its demo, subscription and cache writer).
    pub async fn stop_link(&self) {
        if let Some(handle) = self.running.lock().await.take() {
            handle.stop().await;
        }
    }

    /// Checks a hub URL and token: reachable, a Switchboard hub, the token accepted.
    ///
    /// # Errors
    /// [`ConsoleError::Hub`] naming what failed (bad URL, unreachable, not a hub, token refused).
    pub async fn test_hub_connection(&self, hub: &HubCredentials) -> Result<HubCheck, ConsoleError> {
        let client = HubClient::new(&hub.url, HubToken::new(hub.token.clone())?, ClientOptions::default())?;
        let identity = client.test_connection().await?;
        Ok(HubCheck { user: identity.user, role: identity.role.as_str().to_owned(), last_seq: identity.last_seq })
    }

    /// Checks `hub`, keeps its token (keychain, else a 0600 file) and URL, and relinks to it.
    ///
    /// # Errors
    /// As [`Console::test_hub_connection`] (nothing is saved then); [`ConsoleError::Token`]
    /// or [`ConsoleError::Settings`] when saving fails.
    pub async fn connect_hub(&self, hub: &HubCredentials) -> Result<AppInfo, ConsoleError> {
        self.test_hub_connection(hub).await?;
        let token = HubToken::new(hub.token.clone())?;
        let client = HubClient::new(&hub.url, token.clone(), ClientOptions::default())?;
        let url = client.base_url().to_owned();
        TokenStore::new(&self.data_dir).save(&url, &token).await?;
        self.update_settings(|settings| settings.hub_url = Some(url))?;
        self.relink().await;
        Ok(self.app_info())
    }

    /// Forgets the configured hub (its token stays saved) and relinks to the built-in demo.
    ///
    /// # Errors
    /// [`ConsoleError::Settings`] when the settings cannot be saved.
    pub async fn use_demo(&self) -> Result<AppInfo, ConsoleError> {
        self.update_settings(|settings| settings.hub_url = None)?;
        self.relink().await;
        Ok(self.app_info())
    }

    /// Restarts the link with the current settings, if it was started.
    async fn relink(&self) {
        let sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(sink) = sink {
            self.start_link(sink).await;
        }
    }

    fn update_settings(&self, change: impl FnOnce(&mut Settings)) -> Result<(), ConsoleError> {
        let mut settings = self.settings.lock().unwrap_or_else(PoisonError::into_inner);
        let mut updated = settings.clone();
        change(&mut updated);
        self.settings_file.save(&updated)?;
        *settings = updated;
        Ok(())
    }

    /// The events of the calls on the live wall, for the UI to fold (see [`LiveSnapshot`]).
    pub fn live_snapshot(&self) -> LiveSnapshot {
        let link = self.link();
        let (events, last_seq) = link.snapshot();
        LiveSnapshot { events, last_seq, connection: link.status().unwrap_or(ConnectionStatus::NotConfigured) }
    }

    /// A call's events from the local cache, for review (no network needed).
    ///
    /// # Errors
    /// [`ConsoleError::NotReady`], [`ConsoleError::Cache`].
    pub async fn call_events(&self, call: &TaskId) -> Result<Vec<Event>, ConsoleError> {
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        Ok(cache.events_of(call).await?)
    }

    /// A call's recording files as the callbacks reported them, and what of each is here.
    ///
    /// # Errors
    /// [`ConsoleError::NotReady`], [`ConsoleError::Cache`].
    pub async fn call_recordings(&self, call: &TaskId) -> Result<Vec<RecordingView>, ConsoleError> {
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        let mut views = Vec::new();
        for recording in cache.recordings_of(call).await? {
            for name in &recording.files {
                let local = recording.local_files.iter().find(|file| &file.name == name);
                views.push(RecordingView {
                    recording: recording.recording.clone(),
                    name: name.clone(),
                    local_path: local.filter(|file| file.verified).map(|file| file.local_path.display().to_string()),
                    local_bytes: local.map_or(0, |file| file.downloaded_bytes),
                    verified: local.is_some_and(|file| file.verified),
                    ready: recording.stored(name) || local.is_some_and(|file| file.verified),
                });
            }
        }
        Ok(views)
    }

    /// Downloads one recording file into `<data>/recordings/<recording>/`, resuming a
    /// partial download and verifying its size; progress goes to the UI as it comes.
    ///
    /// # Errors
    /// [`ConsoleError::Offline`] with no hub link; [`ConsoleError::NoSuchRecording`];
    /// [`ConsoleError::Download`] (interrupted: call again to resume; size mismatch).
    pub async fn download_recording(&self, which: &RecordingRef) -> Result<RecordingView, ConsoleError> {
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        let client = link.client().ok_or(ConsoleError::Offline("the link to the hub is not up"))?;
        let no_such =
            || ConsoleError::NoSuchRecording { recording: which.recording.to_string(), name: which.name.clone() };
        // A name from a callback must not walk out of the recordings folder.
        let file_name =
            Path::new(&which.name).file_name().filter(|name| *name == which.name.as_str()).ok_or_else(no_such)?;
        let listing = client.recordings().await?;
        let file = listing
            .iter()
            .filter(|recording| recording.recording_task_id == which.recording)
            .flat_map(|recording| recording.files.iter())
            .find(|file| file.name == which.name)
            .ok_or_else(no_such)?;
        let dest = self.data_dir.join("recordings").join(which.recording.as_str()).join(file_name);
        let sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let report = |progress: crate::recordings::Progress| {
            if let Some(sink) = &sink {
                sink.live(LiveUpdate::Download {
                    progress: DownloadProgress {
                        recording: which.recording.clone(),
                        name: which.name.clone(),
                        bytes: progress.bytes,
                        total: progress.total,
                    },
                });
            }
        };
        let mut record = CachedFile {
            recording: which.recording.clone(),
            name: which.name.clone(),
            local_path: dest.clone(),
            expected_bytes: None,
            downloaded_bytes: 0,
            verified: false,
        };
        match crate::recordings::download(client, file, &dest, None, report).await {
            Ok(done) => {
                record.expected_bytes = Some(done.bytes);
                record.downloaded_bytes = done.bytes;
                record.verified = true;
                cache.save_recording_file(&record).await?;
                Ok(RecordingView {
                    recording: record.recording,
                    name: record.name,
                    local_path: Some(done.path.display().to_string()),
                    local_bytes: done.bytes,
                    verified: true,
                    ready: true,
                })
            }
            Err(error) => {
                // Remember how far it got, so the review screen can offer to resume.
                if let crate::recordings::DownloadError::Interrupted { received, total, .. } = &error {
                    record.downloaded_bytes = *received;
                    record.expected_bytes = *total;
                    if let Ok(part) = crate::recordings::part_path(&dest) {
                        record.local_path = part;
                    }
                    if let Err(cache_error) = cache.save_recording_file(&record).await {
                        tracing::warn!(error = %cache_error, "cannot record a partial download");
                    }
                }
                Err(error.into())
            }
        }
    }

    /// Exports a call from the cache (see [`crate::export`]); works offline.
    ///
    /// # Errors
    /// [`ConsoleError::NotReady`]; [`ConsoleError::Export`] naming the call and the file.
    pub async fn export_call(&self, request: &ExportRequest) -> Result<ExportSummary, ConsoleError> {
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        let options = crate::export::ExportOptions {
            replace_existing: request.replace,
            ..crate::export::ExportOptions::new(self.app_info().language)
        };
        let report = crate::export::export_call(cache, &request.call, Path::new(&request.dest_dir), options).await?;
        Ok(ExportSummary {
            dir: report.dir.display().to_string(),
            files: report.files.into_iter().map(|file| file.path).collect(),
            missing_recordings: report
                .missing_recordings
                .into_iter()
                .map(|missing| missing.name.unwrap_or_else(|| missing.recording.to_string()))
                .collect(),
        })
    }

    /// Full-text search over the cached calls (works offline).
    ///
    /// # Errors
    /// [`ConsoleError::NotReady`], [`ConsoleError::Cache`].
    pub async fn search(&self, request: &SearchRequest) -> Result<Vec<SearchResult>, ConsoleError> {
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        let filter = crate::cache::SearchFilter {
            started_from: request.started_from.map(SourceMs),
            started_before: request.started_before.map(SourceMs),
            tag: request.tag.clone().filter(|tag| !tag.trim().is_empty()),
            has_error: request.has_error,
            slow_turn_ms: request.slow_turn_ms,
            intervened: request.intervened,
        };
        let limit = if request.limit == 0 { 50 } else { request.limit };
        let hits = cache.search_with(&request.query, &filter, limit).await?;
        Ok(hits
            .into_iter()
            .map(|hit| SearchResult {
                snippet: crate::cache::fts::highlights(&hit.snippet)
                    .into_iter()
                    .map(|(hit, text)| SnippetPart { text: text.to_owned(), hit })
                    .collect(),
                call: hit.task,
                round: hit.round,
                speaker: hit.speaker,
                at_ms: hit.at.0,
                call_started_ms: hit.call_started_ms.0,
            })
            .collect())
    }

    /// Fired alerts, newest first.
    ///
    /// # Errors
    /// [`ConsoleError::NotReady`] before the cache is open; [`ConsoleError::Cache`].
    pub async fn alerts(&self) -> Result<Vec<AlertEntry>, ConsoleError> {
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        let stored = cache.fired_alerts(&FiredQuery { limit: 500, ..FiredQuery::default() }).await?;
        Ok(stored
            .into_iter()
            .filter_map(|row| {
                let acknowledged = row.acknowledged.is_some();
                match serde_json::from_value::<FiredAlert>(row.detail) {
                    Ok(alert) => Some(AlertEntry { alert, acknowledged }),
                    Err(error) => {
                        tracing::warn!(id = row.id, %error, "a stored alert is unreadable; not listing it");
                        None
                    }
                }
            })
            .collect())
    }

    /// Marks one fired alert as seen by the signed-in supervisor; answers the list.
    ///
    /// # Errors
    /// [`ConsoleError::NoSuchAlert`], [`ConsoleError::NotReady`], [`ConsoleError::Cache`].
    pub async fn acknowledge_alert(&self, which: &AlertRef) -> Result<Vec<AlertEntry>, ConsoleError> {
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        let query = FiredQuery { task: Some(which.call.clone()), limit: 1_000, ..FiredQuery::default() };
        let row =
            cache.fired_alerts(&query).await?.into_iter().find(|row| row.rule_id == which.rule.as_str()).ok_or_else(
                || ConsoleError::NoSuchAlert { call: which.call.to_string(), rule: which.rule.to_string() },
            )?;
        let by = link.user().unwrap_or_else(|| "this console".to_owned());
        cache.acknowledge_alert(row.id, &by, link::now_ms()).await?;
        self.alerts().await
    }

    /// The alert rules in force.
    pub fn alert_rules(&self) -> AlertRules {
        self.link().rules()
    }

    /// Validates, stores and applies new alert rules; answers them.
    ///
    /// # Errors
    /// [`ConsoleError::Rules`] naming the rule and field; [`ConsoleError::NotReady`],
    /// [`ConsoleError::Cache`]. Nothing changes when it fails.
    pub async fn set_alert_rules(&self, rules: AlertRules) -> Result<AlertRules, ConsoleError> {
        rules.validate()?;
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        cache.replace_alert_rules(link::to_stored(&rules)).await?;
        link.set_rules(rules)?;
        Ok(link.rules())
    }

    /// Saves the supervisor's language choice and answers the updated [`AppInfo`].
    ///
    /// # Errors
    /// [`SettingsError::Write`] when the file cannot be written; the choice is then not
    /// kept in memory either, so what the UI shows matches what is on disk.
    pub fn set_language(&self, language: Language) -> Result<AppInfo, ConsoleError> {
        self.update_settings(|settings| settings.language = Some(language))?;
        self.link().set_language(language);
        Ok(self.app_info())
    }
}

// ---- review: notes, tags and QA scores ----

/// A review write's cache error as the console reports it: bad input and unknown calls are
/// the caller's to fix.
fn review_error(error: CacheError) -> ConsoleError {
    match error {
        CacheError::BadInput { .. } | CacheError::UnknownCall { .. } => ConsoleError::BadReview(error),
        other => ConsoleError::Cache(other),
    }
}

impl Console {
    /// Adds the signed-in supervisor's note to a call: stored in the cache at once (so it
    /// works offline), then pushed to the hub in the background when the link is live;
    /// answers the call's review.
    ///
    /// # Errors
    /// [`ConsoleError::BadReview`] for an empty or over-long note or an unknown call;
    /// [`ConsoleError::NotReady`], [`ConsoleError::Cache`].
    pub async fn add_note(&self, request: &AddNoteRequest) -> Result<CallReview, ConsoleError> {
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        let note = NewNote {
            task: request.call.clone(),
            round: request.round.clone(),
            author: reviewer(&link),
            at: link::now_ms(),
            text: request.text.clone(),
        };
        cache.add_note(note).await.map_err(review_error)?;
        push_if_live(&link);
        self.call_review(&request.call).await
    }

    /// Replaces a call's tags (an empty list clears them), locally then on the hub; answers
    /// the call's review.
    ///
    /// # Errors
    /// As [`Console::add_note`].
    pub async fn set_tags(&self, request: &SetTagsRequest) -> Result<CallReview, ConsoleError> {
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        cache.set_tags(&request.call, &request.tags).await.map_err(review_error)?;
        push_if_live(&link);
        self.call_review(&request.call).await
    }

    /// Scores a call (0–100, with an optional comment), locally then on the hub; answers
    /// the call's review.
    ///
    /// # Errors
    /// As [`Console::add_note`].
    pub async fn set_qa_score(&self, request: &SetQaScoreRequest) -> Result<CallReview, ConsoleError> {
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        let score = QaScore {
            score: request.score,
            reviewer: reviewer(&link),
            comment: request.comment.clone(),
            at: link::now_ms(),
        };
        cache.set_qa_score(&request.call, score).await.map_err(review_error)?;
        push_if_live(&link);
        self.call_review(&request.call).await
    }

    /// A call's notes, tags and QA score from the cache, with what has reached the hub.
    ///
    /// # Errors
    /// [`ConsoleError::NotReady`], [`ConsoleError::Cache`].
    pub async fn call_review(&self, call: &TaskId) -> Result<CallReview, ConsoleError> {
        let link = self.link();
        let cache = link.cache().ok_or(ConsoleError::NotReady)?;
        let notes = cache.notes(call).await?;
        let tags = cache.tags(call).await?;
        let qa = cache.qa_score(call).await?;
        let outbox = cache.outbox(Some(call)).await?;
        let pending = |kind: ReviewKind| outbox.iter().find(|change| change.change.kind() == kind);
        let (tags_pending, qa_pending) = (pending(ReviewKind::Tags), pending(ReviewKind::Qa));
        Ok(CallReview {
            call: call.clone(),
            notes: notes
                .into_iter()
                .map(|note| ReviewNote {
                    id: note.uid,
                    author: note.author,
                    at_ms: note.at.0,
                    round: note.round,
                    text: note.text,
                    pushed: note.pushed,
                    push_error: note.push_error,
                })
                .collect(),
            tags,
            tags_pushed: tags_pending.is_none(),
            tags_push_error: tags_pending.and_then(|change| change.push_error.clone()),
            qa: qa.map(|qa| ReviewQa {
                score: qa.score,
                comment: qa.comment,
                reviewer: qa.reviewer,
                at_ms: qa.at.0,
                pushed: qa_pending.is_none(),
                push_error: qa_pending.and_then(|change| change.push_error.clone()),
            }),
        })
    }
}

/// Who this console writes as: the hub's name for its token once signed in. Before that
/// (started offline) a placeholder, which the hub's own name replaces once the write is
/// pushed and its event comes back.
fn reviewer(link: &LinkState) -> String {
    link.user().unwrap_or_else(|| "this console".to_owned())
}

/// Pushes review data now if the link is live; otherwise the transition to live will.
fn push_if_live(link: &LinkState) {
    if link.status() == Some(ConnectionStatus::Live) {
        link.push_review();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_os_locale_decides_the_language_until_the_supervisor_chooses_one() {
        let dir = tempfile::tempdir().unwrap();
        let console = Console::open(dir.path(), "1.2.3", Some("zh_CN.UTF-8".into())).unwrap();
        let info = console.app_info();
        assert_eq!((info.language, info.language_saved), (Language::ZhCn, false));
        assert_eq!(info.version, "1.2.3");
        assert_eq!(info.connection, ConnectionStatus::NotConfigured);

        let info = console.set_language(Language::En).unwrap();
        assert_eq!((info.language, info.language_saved), (Language::En, true));

        let reopened = Console::open(dir.path(), "1.2.3", Some("zh_CN.UTF-8".into())).unwrap();
        assert_eq!(reopened.app_info().language, Language::En, "the choice must survive a restart");
    }

    #[test]
    fn a_corrupt_settings_file_is_moved_aside_and_the_ui_is_told() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("settings.json"), b"not json at all").unwrap();
        let console = Console::open(dir.path(), "1", None).expect("a corrupt file must not stop the app");
        let info = console.app_info();
        assert_eq!(info.language, Language::En);
        let [Notice::SettingsMovedAside { moved_to }] = info.notices.as_slice() else {
            panic!("expected one SettingsMovedAside notice, got {:?}", info.notices);
        };
        assert_eq!(fs::read(moved_to).unwrap(), b"not json at all", "the old bytes are kept for inspection");
        assert!(!dir.path().join("settings.json").exists());
    }

    #[test]
    fn the_data_dir_is_reported_as_an_absolute_path() {
        let dir = tempfile::tempdir().unwrap();
        let console = Console::open(&dir.path().join("a/../b"), "1", None).unwrap();
        let data_dir = console.app_info().data_dir;
        assert!(Path::new(&data_dir).is_absolute() && !data_dir.contains(".."), "got {data_dir}");
    }
}
