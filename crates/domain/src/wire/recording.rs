//! Cloud recording callbacks (event group 3, contract §5.3): `EventInfo` and the payloads of
//! 301–312. The `TaskId` here is the *recording* task, never the AI task. Web-page
//! recording (group 8) is not modelled.

use serde::{Deserialize, Serialize};

use super::{lenient, WireRoomId};

/// `EventInfo` of every group-3 callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordingEventInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<WireRoomId>,
    /// Seconds; sometimes a string in the examples.
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub event_ts: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub event_ms_ts: Option<u64>,
    /// The recorder bot.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The recording task.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

/// `Status` alone: 301 start, 303 upload start, 306 failover, 312 VOD stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatusPayload {
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub status: Option<u64>,
}

/// 302 RECORDER_STOP: `LeaveCode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecorderStopPayload {
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub leave_code: Option<u64>,
}

/// A file list: a single m3u8 name (304, as documented) or a list of names (310).
/// 304 is also read as a list in case it is sent like 310's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FileList {
    One(String),
    Many(Vec<String>),
}

impl FileList {
    /// The names, in the order given.
    pub fn names(&self) -> Vec<String> {
        match self {
            FileList::One(name) => vec![name.clone()],
            FileList::Many(names) => names.clone(),
        }
    }
}

/// 304 FILE_INFO: the first m3u8 was uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileInfoPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_list: Option<FileList>,
}

/// 305 UPLOAD_STOP: the new doc names the code `LeaveCode`, the old doc `Status`; either
/// is read and kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UploadStopPayload {
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub leave_code: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub status: Option<u64>,
}

/// 307 FILE_SLICE: the first ts segment was produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileSlicePayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub begin_time_stamp: Option<u64>,
}

/// 308 UPLOAD_ERROR (older doc only): the storage vendor's `Code` (string or number) and
/// `Message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UploadErrorPayload {
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// 309 DOWNLOAD_IMAGE_ERROR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DownloadImageErrorPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One entry of 310's `FileMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mp4FileMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_type: Option<String>,
    /// `main` | `aux` | `mix`.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub start_time_stamp: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub end_time_stamp: Option<u64>,
}

/// 310 MP4_STOP (may fire several times).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mp4StopPayload {
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub status: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_list: Option<FileList>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_message: Vec<Mp4FileMessage>,
}

/// 311's `TencentVod` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TencentVod {
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// The contract's brief mentioned `VideoUrlList`; no source has it, `VideoUrl` is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub start_time_stamp: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub end_time_stamp: Option<u64>,
}

/// 311 VOD_COMMIT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VodCommitPayload {
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub status: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errmsg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tencent_vod: Option<TencentVod>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::wire::assert_round_trip;

    #[test]
    fn upload_stop_reads_both_the_new_and_the_old_spelling() {
        let new: UploadStopPayload = serde_json::from_str(r#"{"LeaveCode":1}"#).unwrap();
        let old: UploadStopPayload = serde_json::from_str(r#"{"Status":2}"#).unwrap();
        assert_eq!((new.leave_code, new.status), (Some(1), None));
        assert_eq!((old.leave_code, old.status), (None, Some(2)));
    }

    #[test]
    fn a_string_event_ts_in_recording_info_reads_as_a_number() {
        let info: RecordingEventInfo = serde_json::from_str(
            r#"{"RoomId":"room_1","EventTs":"1622186275","EventMsTs":1622186275757,"UserId":"rec","TaskId":"rec-task","Payload":{"Status":0}}"#,
        )
        .unwrap();
        assert_eq!(info.event_ts, Some(1_622_186_275));
    }

    #[test]
    fn every_recording_wire_type_survives_a_serde_round_trip() {
        assert_round_trip(&RecordingEventInfo {
            room_id: Some(WireRoomId::Text("room_1".into())),
            event_ts: Some(1_622_186_275),
            event_ms_ts: Some(1_622_186_275_757),
            user_id: Some("rec".into()),
            task_id: Some("rec-task".into()),
            payload: Some(serde_json::json!({"Status":0})),
        });
        assert_round_trip(&StatusPayload { status: Some(1) });
        assert_round_trip(&RecorderStopPayload { leave_code: Some(99) });
        assert_round_trip(&FileInfoPayload { file_list: Some(FileList::One("a.m3u8".into())) });
        assert_round_trip(&FileInfoPayload { file_list: Some(FileList::Many(vec!["a.m3u8".into()])) });
        assert_round_trip(&UploadStopPayload { leave_code: Some(0), status: None });
        assert_round_trip(&UploadStopPayload { leave_code: None, status: Some(1) });
        assert_round_trip(&FileSlicePayload {
            file_name: Some("x.ts".into()),
            user_id: Some("u".into()),
            track_type: Some("audio".into()),
            begin_time_stamp: Some(1_622_186_275_757),
        });
        assert_round_trip(&UploadErrorPayload {
            code: Some("InvalidAccessKeyId".into()),
            message: Some("bad key".into()),
        });
        assert_round_trip(&DownloadImageErrorPayload { url: Some("https://example.invalid/bg.png".into()) });
        assert_round_trip(&Mp4StopPayload {
            status: Some(0),
            file_list: Some(FileList::Many(vec!["a_1.mp4".into(), "a_2.mp4".into()])),
            file_message: vec![Mp4FileMessage {
                file_name: Some("a_1.mp4".into()),
                user_id: Some("u".into()),
                track_type: Some("audio_video".into()),
                media_id: Some("main".into()),
                start_time_stamp: Some(1),
                end_time_stamp: Some(2),
            }],
        });
        assert_round_trip(&VodCommitPayload {
            status: Some(0),
            errmsg: None,
            tencent_vod: Some(TencentVod {
                user_id: Some("u".into()),
                track_type: Some("audio_video".into()),
                media_id: Some("main".into()),
                file_id: Some("5285890781".into()),
                video_url: Some("https://vod.example.invalid/f.mp4".into()),
                cache_file: Some("f.mp4".into()),
                start_time_stamp: Some(1),
                end_time_stamp: Some(2),
            }),
        });
    }
}
