//! Exporting one call from the cache for review outside the console: its transcript, turns
//! with their metrics and errors, supervisors' interventions, notes, tags and QA score as
//! JSON and CSV, plus the recording files the console has downloaded.
//!
//! [`export_call`] writes `dest/<call>/` (the folder name is the TaskId made safe, see
//! `files.rs`):
//! - `call.json` — everything, with a schema name and version (`document.rs`);
//! - `transcript.csv`, `turns.csv`, `interventions.csv`, `notes.csv` — the same data as
//!   tables, UTF-8 with a BOM so Excel reads Chinese (`csv.rs`, `tables.rs`);
//! - `recordings/…` — copies of the recording files the cache holds a verified local copy
//!   of. A recording not downloaded, half downloaded, or whose file has gone or changed
//!   size is reported as missing ([`ExportReport::missing_recordings`] and `call.json`);
//!   it does not fail the export.
//!
//! Times are ISO 8601 UTC next to the raw milliseconds TRTC gave. The transcript and turns
//! come from folding the call's stored events with `domain::call::Call` — the one fold the
//! live view, hub and cache all use — not from re-reading derived rows.
//!
//! The export is all or nothing: it is written into a hidden folder beside the destination
//! and renamed into place once complete, so a failure (unknown call, full disk, unreadable
//! file) leaves nothing half-written, and every error names the call and the file.
//!
//! What deliberately does not live here: choosing the destination (the shell's file
//! dialog), downloading recordings (`crate::recordings`), and raw events — only the fields
//! listed in `document.rs` leave the cache, never an event body wholesale.

mod csv;
mod document;
mod files;
mod tables;
mod utc;

pub use document::{SCHEMA, SCHEMA_VERSION};

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use domain::api::Language;
use domain::board::RecordingStatus;
use domain::call::Call;
use domain::ids::TaskId;
use serde::Serialize;

use crate::cache::{Cache, CacheError, CachedRecording, CallSummary, Note, QaScore};
use document::{Document, LockFact, RecordingEntry, RecordingFileEntry, Sources, Time};
use files::Staging;

/// How to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    /// Copy the recording files the cache has verified local copies of.
    pub copy_recordings: bool,
    /// Replace an earlier export of the same call in the destination; otherwise finding
    /// one is [`ExportError::AlreadyExists`].
    pub replace_existing: bool,
    /// The language of texts the export writes itself (what error codes mean).
    pub language: Language,
}

impl ExportOptions {
    /// Recordings copied, an earlier export kept (the export fails instead).
    pub fn new(language: Language) -> ExportOptions {
        ExportOptions { copy_recordings: true, replace_existing: false, language }
    }
}

/// A file the export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrittenFile {
    /// Relative to the export's folder, `/`-separated.
    pub path: String,
    pub bytes: u64,
}

/// A recording file copied into the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopiedRecording {
    pub recording: TaskId,
    /// The remote file's name or VOD id.
    pub name: String,
    /// Relative to the export's folder (`recordings/…`).
    pub path: String,
    pub bytes: u64,
}

/// A recording file the export could not include.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingRecording {
    pub recording: TaskId,
    /// The remote file's name or VOD id; `None` when nothing of the recording was
    /// downloaded.
    pub name: Option<String>,
    #[serde(flatten)]
    pub reason: MissingReason,
}

/// Why a recording file is not in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum MissingReason {
    /// [`ExportOptions::copy_recordings`] was off.
    NotRequested,
    /// The console has not downloaded any file of the recording.
    NotDownloaded,
    /// The download is not complete (or not verified yet).
    Incomplete { downloaded_bytes: u64, expected_bytes: Option<u64> },
    /// The verified local file is no longer there.
    Gone,
    /// The local file cannot be read as a file.
    Unreadable { cause: String },
    /// The local file's size is no longer the verified one.
    SizeChanged { expected_bytes: Option<u64>, found_bytes: u64 },
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    pub task: TaskId,
    /// The export's folder.
    pub dir: PathBuf,
    /// Every file written, recordings included, in the order written.
    pub files: Vec<WrittenFile>,
    pub recordings: Vec<CopiedRecording>,
    pub missing_recordings: Vec<MissingRecording>,
    pub sentences: usize,
    pub turns: usize,
    pub interventions: usize,
    pub notes: usize,
}

/// Why a call could not be exported. Every variant names the call; those about files name
/// the file (as it would have been in the finished export).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The cache holds no such call.
    #[error("cannot export call {task}: the cache holds no such call")]
    UnknownCall { task: TaskId },
    /// The cache could not be read.
    #[error("cannot export call {task}: {source}")]
    Cache {
        task: TaskId,
        #[source]
        source: CacheError,
    },
    /// The destination already holds an export of the call and replacing was not asked for.
    #[error("cannot export call {task}: {path} already exists")]
    AlreadyExists { task: TaskId, path: PathBuf },
    /// The disk (or a quota or file size limit) is full. Nothing of the export was left.
    #[error("cannot export call {task}: no room to write {path} (the disk, a quota or a file size limit is full)")]
    Full { task: TaskId, path: PathBuf },
    /// A file or folder could not be written. Nothing of the export was left.
    #[error("cannot export call {task}: cannot {operation} {path}: {source}")]
    Io {
        task: TaskId,
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A recording file could not be copied. Nothing of the export was left.
    #[error("cannot export call {task}: cannot copy the recording {from} to {to}: {source}")]
    Copy {
        task: TaskId,
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `call.json` could not be encoded.
    #[error("cannot export call {task}: cannot encode {file}: {cause}")]
    Encode { task: TaskId, file: &'static str, cause: String },
    /// The export's worker stopped before finishing (the runtime shut down, or a bug
    /// panicked). Nothing of the export was left.
    #[error("cannot export call {task}: the export stopped before it finished: {cause}")]
    Interrupted { task: TaskId, cause: String },
}

impl ExportError {
    /// The call the export was for.
    pub fn task(&self) -> &TaskId {
        match self {
            ExportError::UnknownCall { task }
            | ExportError::Cache { task, .. }
            | ExportError::AlreadyExists { task, .. }
            | ExportError::Full { task, .. }
            | ExportError::Io { task, .. }
            | ExportError::Copy { task, .. }
            | ExportError::Encode { task, .. }
            | ExportError::Interrupted { task, .. } => task,
        }
    }
}

/// Exports the call `task` from `cache` into `dest_dir/<call>/` (see the module's header
/// for what it contains), creating `dest_dir` if need be.
///
/// # Errors
/// [`ExportError::UnknownCall`] when the cache holds no such call (nothing is created);
/// [`ExportError::Cache`] when the cache cannot be read; [`ExportError::AlreadyExists`]
/// when an earlier export is there and `options.replace_existing` is off;
/// [`ExportError::Full`], [`ExportError::Io`], [`ExportError::Copy`] when writing fails —
/// in every case nothing of this export is left in `dest_dir`. Dropping the returned
/// future once writing has begun does not stop it: the export still completes, or fails
/// and cleans up, on its blocking worker.
pub async fn export_call(
    cache: &Cache,
    task: &TaskId,
    dest_dir: &Path,
    options: ExportOptions,
) -> Result<ExportReport, ExportError> {
    let read = |source| ExportError::Cache { task: task.clone(), source };
    let summary =
        cache.call_summary(task).await.map_err(read)?.ok_or_else(|| ExportError::UnknownCall { task: task.clone() })?;
    let events = cache.events_of(task).await.map_err(read)?;
    let notes = cache.notes(task).await.map_err(read)?;
    let qa = cache.qa_score(task).await.map_err(read)?;
    let recordings = cache.recordings_of(task).await.map_err(read)?;

    let mut call = Call::new(task.clone());
    for event in &events {
        call.apply(event);
    }
    let locks = document::lock_facts(task, &events);
    let exported_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let gathered = Gathered {
        task: task.clone(),
        summary,
        call,
        locks,
        notes,
        qa,
        recordings,
        exported_ms: u64::try_from(exported_ms).unwrap_or(u64::MAX),
        options,
    };
    let dest_dir = dest_dir.to_path_buf();
    let report = tokio::task::spawn_blocking(move || write_export(&gathered, &dest_dir))
        .await
        .map_err(|e| ExportError::Interrupted { task: task.clone(), cause: e.to_string() })??;
    tracing::info!(task = %task, dir = %report.dir.display(), files = report.files.len(),
        missing_recordings = report.missing_recordings.len(), "call exported");
    Ok(report)
}

/// Everything read from the cache for one export.
#[derive(Debug)]
struct Gathered {
    task: TaskId,
    summary: CallSummary,
    call: Call,
    locks: Vec<LockFact>,
    notes: Vec<Note>,
    qa: Option<QaScore>,
    recordings: Vec<CachedRecording>,
    exported_ms: u64,
    options: ExportOptions,
}

/// The file system half of the export (blocking): stage, fill, commit.
fn write_export(gathered: &Gathered, dest_dir: &Path) -> Result<ExportReport, ExportError> {
    let task = &gathered.task;
    let options = &gathered.options;
    let mut doc = document::build(&Sources {
        summary: &gathered.summary,
        call: &gathered.call,
        locks: &gathered.locks,
        notes: &gathered.notes,
        qa: gathered.qa.as_ref(),
        exported_ms: gathered.exported_ms,
        language: options.language,
    });
    let name = files::call_folder_name(task);
    let staging = Staging::create(task, dest_dir, &name, options.replace_existing)?;

    let mut written = vec![
        staging.write("transcript.csv", &tables::transcript(&doc))?,
        staging.write("turns.csv", &tables::turns(&doc))?,
        staging.write("interventions.csv", &tables::interventions(&doc))?,
        staging.write("notes.csv", &tables::notes(&doc))?,
    ];
    let copied = copy_recordings(&staging, &gathered.recordings, options.copy_recordings)?;
    written.extend(copied.report.iter().map(|c| WrittenFile { path: c.path.clone(), bytes: c.bytes }));
    doc.recordings = copied.entries;
    let json = serde_json::to_vec_pretty(&doc).map_err(|e| ExportError::Encode {
        task: task.clone(),
        file: "call.json",
        cause: e.to_string(),
    })?;
    written.push(staging.write("call.json", &json)?);

    let dir = staging.commit(options.replace_existing)?;
    Ok(report(task, dir, written, copied.report, copied.missing, &doc))
}

fn report(
    task: &TaskId,
    dir: PathBuf,
    files: Vec<WrittenFile>,
    recordings: Vec<CopiedRecording>,
    missing_recordings: Vec<MissingRecording>,
    doc: &Document,
) -> ExportReport {
    ExportReport {
        task: task.clone(),
        dir,
        files,
        recordings,
        missing_recordings,
        sentences: doc.transcript.len(),
        turns: doc.turns.len(),
        interventions: doc.interventions.len(),
        notes: doc.notes.len(),
    }
}

/// What became of a call's recordings.
#[derive(Debug, Default)]
struct Copied {
    entries: Vec<RecordingEntry>,
    report: Vec<CopiedRecording>,
    missing: Vec<MissingRecording>,
}

/// Copies every verified local recording file whose size still matches into
/// `recordings/`; notes every other one as missing.
fn copy_recordings(staging: &Staging, recordings: &[CachedRecording], copy: bool) -> Result<Copied, ExportError> {
    let mut copied = Copied::default();
    let mut taken = HashSet::new();
    for recording in recordings {
        let mut files = Vec::new();
        if recording.local_files.is_empty() {
            let reason = if copy { MissingReason::NotDownloaded } else { MissingReason::NotRequested };
            files.push(missing_entry(&mut copied, recording, None, reason));
        }
        for local in &recording.local_files {
            let reason = if copy { unusable(local) } else { Some(MissingReason::NotRequested) };
            if let Some(reason) = reason {
                files.push(missing_entry(&mut copied, recording, Some(&local.name), reason));
                continue;
            }
            let source_name = local.local_path.file_name().map(|n| n.to_string_lossy().into_owned());
            let file_name = files::safe_file_name(source_name.as_deref().unwrap_or(&local.name));
            let relative = format!("recordings/{}", files::unique_name(&file_name, &mut taken));
            let expected = local.expected_bytes.unwrap_or(local.downloaded_bytes);
            match staging.copy_in(&relative, &local.local_path, expected)? {
                None => files.push(missing_entry(&mut copied, recording, Some(&local.name), MissingReason::Gone)),
                Some(bytes) => {
                    files.push(RecordingFileEntry {
                        name: Some(local.name.clone()),
                        exported_as: Some(relative.clone()),
                        bytes: Some(bytes),
                        missing: None,
                    });
                    copied.report.push(CopiedRecording {
                        recording: recording.recording.clone(),
                        name: local.name.clone(),
                        path: relative,
                        bytes,
                    });
                }
            }
        }
        let (status, leave_code) = match recording.status {
            RecordingStatus::Starting => ("starting", None),
            RecordingStatus::Recording => ("recording", None),
            RecordingStatus::StartFailed => ("start_failed", None),
            RecordingStatus::Stopped { leave_code } => ("stopped", Some(leave_code.code())),
        };
        copied.entries.push(RecordingEntry {
            recording_id: recording.recording.to_string(),
            status,
            leave_code,
            first: Time::at(recording.first_ms),
            last: Time::at(recording.last_ms),
            files,
        });
    }
    Ok(copied)
}

fn missing_entry(
    copied: &mut Copied,
    recording: &CachedRecording,
    name: Option<&str>,
    reason: MissingReason,
) -> RecordingFileEntry {
    copied.missing.push(MissingRecording {
        recording: recording.recording.clone(),
        name: name.map(str::to_owned),
        reason: reason.clone(),
    });
    RecordingFileEntry { name: name.map(str::to_owned), exported_as: None, bytes: None, missing: Some(reason) }
}

/// Why a local file cannot be copied as it is, if it cannot.
fn unusable(local: &crate::cache::RecordingFile) -> Option<MissingReason> {
    if !local.verified {
        return Some(MissingReason::Incomplete {
            downloaded_bytes: local.downloaded_bytes,
            expected_bytes: local.expected_bytes,
        });
    }
    match std::fs::metadata(&local.local_path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(MissingReason::Gone),
        Err(e) => Some(MissingReason::Unreadable { cause: e.to_string() }),
        Ok(meta) if !meta.is_file() => Some(MissingReason::Unreadable { cause: "it is not a regular file".into() }),
        Ok(meta) if Some(meta.len()) != local.expected_bytes => {
            Some(MissingReason::SizeChanged { expected_bytes: local.expected_bytes, found_bytes: meta.len() })
        }
        Ok(_) => None,
    }
}
