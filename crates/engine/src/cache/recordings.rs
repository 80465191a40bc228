//! Cloud recordings as the cache knows them — folded from recording callbacks by the
//! domain's room fold (written by the writer, see `project.rs`) — and the local files the
//! recordings module downloads for them, with the sizes it needs to resume and verify.
//!
//! A recording belongs to a room, not to an AI task (TRTC gives it its own TaskId); a call's
//! recordings are those of its room, as `domain::board::Board::recordings` decides.
//!
//! What deliberately does not live here: downloading, checking files on disk, deleting
//! them (retention answers the paths it dropped; the recordings module deletes the files).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use domain::board::RecordingStatus;
use domain::event::{RecorderLeaveCode, VodFile};
use domain::ids::{RoomId, SdkAppId, SourceMs, TaskId, UserId};
use serde::{Deserialize, Serialize};

use super::error::{to_i64, to_u64, CacheError};
use super::history::{app, room};
use super::Cache;

/// A cloud recording and the local files kept of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedRecording {
    /// The recording task (not an AI task).
    pub recording: TaskId,
    pub sdk_app_id: Option<SdkAppId>,
    pub room: RoomId,
    pub status: RecordingStatus,
    /// Source times of its first and latest callbacks.
    pub first_ms: SourceMs,
    pub last_ms: SourceMs,
    pub recorders: Vec<UserId>,
    /// Every file name the callbacks reported (304, 307, 310), sorted.
    pub files: Vec<String>,
    /// Files committed to VOD (311), where they can be played or downloaded.
    pub vod_files: Vec<VodFile>,
    /// What the console has downloaded of it.
    pub local_files: Vec<RecordingFile>,
}

impl CachedRecording {
    /// Whether TRTC has reported `name` stored (its 311 callback came), so the hub can serve
    /// it. The hub names a stored file by the last part of its URL (`GET /v1/recordings`); a
    /// file announced (307) while the call is still being recorded is not stored yet.
    pub fn stored(&self, name: &str) -> bool {
        self.vod_files.iter().any(|vod| vod.video_url.as_deref().and_then(|url| url.rsplit('/').next()) == Some(name))
    }
}

/// A recording's file in the cache folder, complete or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingFile {
    pub recording: TaskId,
    /// Which remote file this is (its file name or VOD file id).
    pub name: String,
    pub local_path: PathBuf,
    /// The size the server announced, once known.
    pub expected_bytes: Option<u64>,
    /// Bytes on disk so far: where a resumed download starts.
    pub downloaded_bytes: u64,
    /// The complete file was checked against `expected_bytes`.
    pub verified: bool,
}

#[derive(Debug, sqlx::FromRow)]
struct RecordingRow {
    recording_id: String,
    sdk_app_id: Option<i64>,
    room_id: String,
    room_numeric: bool,
    status: String,
    leave_code: Option<i64>,
    first_ms: i64,
    last_ms: i64,
    recorders: String,
    files: String,
    vod_files: String,
}

#[derive(Debug, sqlx::FromRow)]
struct FileRow {
    recording_id: String,
    name: String,
    local_path: String,
    expected_bytes: Option<i64>,
    downloaded_bytes: i64,
    verified: bool,
}

impl From<FileRow> for RecordingFile {
    fn from(row: FileRow) -> RecordingFile {
        RecordingFile {
            recording: TaskId::new(row.recording_id),
            name: row.name,
            local_path: PathBuf::from(row.local_path),
            expected_bytes: row.expected_bytes.map(to_u64),
            downloaded_bytes: to_u64(row.downloaded_bytes),
            verified: row.verified,
        }
    }
}

impl RecordingRow {
    fn into_recording(self, local_files: Vec<RecordingFile>) -> Result<CachedRecording, CacheError> {
        let what = || format!("recording {}", self.recording_id);
        let status = match self.status.as_str() {
            "starting" => RecordingStatus::Starting,
            "recording" => RecordingStatus::Recording,
            "start_failed" => RecordingStatus::StartFailed,
            "stopped" => {
                let code = self.leave_code.and_then(|code| u32::try_from(code).ok()).unwrap_or_default();
                RecordingStatus::Stopped { leave_code: RecorderLeaveCode::from(code) }
            }
            other => return Err(CacheError::unreadable(what(), format!("unknown status {other:?}"))),
        };
        Ok(CachedRecording {
            recorders: serde_json::from_str(&self.recorders).map_err(|e| CacheError::unreadable(what(), e))?,
            files: serde_json::from_str(&self.files).map_err(|e| CacheError::unreadable(what(), e))?,
            vod_files: serde_json::from_str(&self.vod_files).map_err(|e| CacheError::unreadable(what(), e))?,
            room: room(Some(self.room_id), Some(self.room_numeric))
                .ok_or_else(|| CacheError::unreadable(what(), "a blank room id"))?,
            recording: TaskId::new(self.recording_id),
            sdk_app_id: app(self.sdk_app_id),
            status,
            first_ms: SourceMs(to_u64(self.first_ms)),
            last_ms: SourceMs(to_u64(self.last_ms)),
            local_files,
        })
    }
}

const RECORDING_COLUMNS: &str = "r.recording_id, r.sdk_app_id, r.room_id, r.room_numeric, r.status, r.leave_code, \
    r.first_ms, r.last_ms, r.recorders, r.files, r.vod_files";

fn path_text(path: &Path) -> Result<String, CacheError> {
    path.to_str().map(str::to_owned).ok_or_else(|| CacheError::BadInput {
        what: "recording file path",
        reason: format!("{} is not valid UTF-8", path.display()),
    })
}

impl Cache {
    /// The recordings of a call's room, oldest first, with their local files.
    ///
    /// # Errors
    /// [`CacheError::Database`]; [`CacheError::Unreadable`] for a row that does not read back.
    pub async fn recordings_of(&self, task: &TaskId) -> Result<Vec<CachedRecording>, CacheError> {
        let rows: Vec<RecordingRow> = sqlx::query_as(&format!(
            "SELECT {RECORDING_COLUMNS} FROM calls c JOIN recordings r ON r.room_id = c.room_id \
             WHERE c.task_id = ? AND (r.sdk_app_id IS NULL OR c.sdk_app_id IS NULL OR r.sdk_app_id = c.sdk_app_id) \
             ORDER BY r.first_ms, r.recording_id"
        ))
        .bind(task.as_str())
        .fetch_all(self.reader())
        .await
        .map_err(|e| CacheError::db("read a call's recordings", e))?;
        let ids: Vec<&str> = rows.iter().map(|row| row.recording_id.as_str()).collect();
        let mut files = self.files_of(&ids).await?;
        rows.into_iter()
            .map(|row| {
                let local = files.remove(&row.recording_id).unwrap_or_default();
                row.into_recording(local)
            })
            .collect()
    }

    /// One recording by its recording TaskId.
    ///
    /// # Errors
    /// As [`Cache::recordings_of`].
    pub async fn recording(&self, recording: &TaskId) -> Result<Option<CachedRecording>, CacheError> {
        let row: Option<RecordingRow> =
            sqlx::query_as(&format!("SELECT {RECORDING_COLUMNS} FROM recordings r WHERE r.recording_id = ?"))
                .bind(recording.as_str())
                .fetch_optional(self.reader())
                .await
                .map_err(|e| CacheError::db("read a recording", e))?;
        match row {
            None => Ok(None),
            Some(row) => {
                let local = self.files_of(&[recording.as_str()]).await?.remove(recording.as_str()).unwrap_or_default();
                row.into_recording(local).map(Some)
            }
        }
    }

    /// A recording's local files, by name.
    ///
    /// # Errors
    /// [`CacheError::Database`].
    pub async fn recording_files(&self, recording: &TaskId) -> Result<Vec<RecordingFile>, CacheError> {
        Ok(self.files_of(&[recording.as_str()]).await?.remove(recording.as_str()).unwrap_or_default())
    }

    async fn files_of(&self, recordings: &[&str]) -> Result<HashMap<String, Vec<RecordingFile>>, CacheError> {
        if recordings.is_empty() {
            return Ok(HashMap::new());
        }
        let ids = serde_json::to_string(recordings)
            .map_err(|e| CacheError::Database { operation: "read recording files", cause: e.to_string() })?;
        let rows: Vec<FileRow> = sqlx::query_as(
            "SELECT recording_id, name, local_path, expected_bytes, downloaded_bytes, verified FROM recording_files \
             WHERE recording_id IN (SELECT value FROM json_each(?)) ORDER BY recording_id, name",
        )
        .bind(ids)
        .fetch_all(self.reader())
        .await
        .map_err(|e| CacheError::db("read recording files", e))?;
        let mut by_recording: HashMap<String, Vec<RecordingFile>> = HashMap::new();
        for row in rows {
            by_recording.entry(row.recording_id.clone()).or_default().push(RecordingFile::from(row));
        }
        Ok(by_recording)
    }

    /// Records (or updates) a local file of a recording: where it is, how much of it is
    /// downloaded, and whether its size was verified.
    ///
    /// # Errors
    /// [`CacheError::BadInput`] for an empty name, a path that is not UTF-8, more bytes
    /// downloaded than expected, or `verified` without the expected size downloaded;
    /// [`CacheError::Full`] / [`CacheError::Database`].
    pub async fn save_recording_file(&self, file: &RecordingFile) -> Result<(), CacheError> {
        let bad = |reason: String| CacheError::BadInput { what: "recording file", reason };
        if file.name.trim().is_empty() {
            return Err(bad("the remote file name is empty".into()));
        }
        if file.expected_bytes.is_some_and(|expected| file.downloaded_bytes > expected) {
            return Err(bad(format!(
                "{} bytes downloaded of {} expected",
                file.downloaded_bytes,
                file.expected_bytes.unwrap_or_default()
            )));
        }
        if file.verified && file.expected_bytes != Some(file.downloaded_bytes) {
            return Err(bad("only a file downloaded to its expected size can be verified".into()));
        }
        let local_path = path_text(&file.local_path)?;
        let file = file.clone();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let now = to_i64(u64::try_from(now).unwrap_or(u64::MAX));
        self.write("record a recording file", move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO recording_files (recording_id, name, local_path, expected_bytes, downloaded_bytes, \
                     verified, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (recording_id, name) DO UPDATE SET \
                     local_path = excluded.local_path, expected_bytes = excluded.expected_bytes, \
                     downloaded_bytes = excluded.downloaded_bytes, verified = excluded.verified, \
                     updated_ms = excluded.updated_ms",
                )
                .bind(file.recording.as_str())
                .bind(&file.name)
                .bind(local_path)
                .bind(file.expected_bytes.map(to_i64))
                .bind(to_i64(file.downloaded_bytes))
                .bind(file.verified)
                .bind(now)
                .execute(conn)
                .await
                .map_err(|e| CacheError::db("record a recording file", e))?;
                Ok(())
            })
        })
        .await
    }

    /// Forgets a local file (after the recordings module deleted it); answers whether the
    /// cache knew it.
    ///
    /// # Errors
    /// [`CacheError::Database`].
    pub async fn forget_recording_file(&self, recording: &TaskId, name: &str) -> Result<bool, CacheError> {
        let (recording, name) = (recording.clone(), name.to_owned());
        self.write("forget a recording file", move |conn| {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM recording_files WHERE recording_id = ? AND name = ?")
                    .bind(recording.as_str())
                    .bind(name)
                    .execute(conn)
                    .await
                    .map_err(|e| CacheError::db("forget a recording file", e))?;
                Ok(done.rows_affected() > 0)
            })
        })
        .await
    }
}
