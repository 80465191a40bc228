//! The cloud recording actions (trtc-contract.md §5.1–5.2): Create, Describe, Modify and
//! Delete, with the record, storage and mix parameters.
//!
//! What deliberately does not live here: the recording callbacks (event group 3, in
//! `domain::wire`) and the file naming rules of §5.4.
//!
//! Mind the inverted `RoomIdType`: here 0 is a string room and 1 an integer room (the
//! default), the opposite of the AI actions ([`super::ai::AI_ROOM_ID_TYPE_NUMERIC`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{string_enum, Action, Secret};

/// `RoomIdType` of the recording actions for a string room.
///
/// The AI actions use 1 for this ([`super::ai::AI_ROOM_ID_TYPE_STRING`]).
pub const RECORDING_ROOM_ID_TYPE_STRING: u64 = 0;
/// `RoomIdType` of the recording actions for a 32-bit integer room (the default).
pub const RECORDING_ROOM_ID_TYPE_INTEGER: u64 = 1;

/// `CreateCloudRecording` (§5.1): a recorder bot joins the room and records to COS/S3 or VOD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateCloudRecording {
    pub sdk_app_id: u64,
    pub room_id: String,
    /// The recorder bot's UserId; reusing one interrupts the earlier recorder.
    pub user_id: String,
    pub user_sig: Secret,
    pub record_params: RecordParams,
    /// Exactly one of `CloudStorage` / `CloudVod`.
    pub storage_params: StorageParams,
    /// [`RECORDING_ROOM_ID_TYPE_STRING`] (0) or [`RECORDING_ROOM_ID_TYPE_INTEGER`] (1, the default) — inverted
    /// compared with the AI actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id_type: Option<u64>,
    /// Mixed mode only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix_transcode_params: Option<MixTranscodeParams>,
    /// Mixed mode only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix_layout_params: Option<MixLayoutParams>,
    /// Hours the task stays addressable by Describe/Modify/Delete: default 72, 6–720.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_expired_hour: Option<u64>,
    /// Only with advanced permission control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_map_key: Option<Secret>,
}

impl CreateCloudRecording {
    /// A request with the required fields and nothing else.
    pub fn new(
        sdk_app_id: u64,
        room_id: impl Into<String>,
        user_id: impl Into<String>,
        user_sig: impl Into<Secret>,
        record_params: RecordParams,
        storage_params: StorageParams,
    ) -> CreateCloudRecording {
        CreateCloudRecording {
            sdk_app_id,
            room_id: room_id.into(),
            user_id: user_id.into(),
            user_sig: user_sig.into(),
            record_params,
            storage_params,
            room_id_type: None,
            mix_transcode_params: None,
            mix_layout_params: None,
            resource_expired_hour: None,
            private_map_key: None,
        }
    }
}

/// The answer to [`CreateCloudRecording`]. `TaskId` is output-required in the schema but
/// optional here like every output field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateCloudRecordingResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    pub request_id: String,
}

impl Action for CreateCloudRecording {
    const NAME: &'static str = "CreateCloudRecording";
    const RETRY_SAFE: bool = false;
    type Response = CreateCloudRecordingResponse;
}

/// What to record and how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordParams {
    /// 1 single-stream, 2 mixed.
    pub record_mode: u64,
    /// Seconds without an anchor before stopping: default 30, 5–86400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_idle_time: Option<u64>,
    /// 0 audio+video (default), 1 audio only, 2 video only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_type: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe_stream_user_ids: Option<SubscribeStreamUserIds>,
    /// COS/third-party only: 0 hls (default), 1 hls+mp4, 2 hls+aac, 3 mp4, 4 aac.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<u64>,
    /// Single-stream: 0 separate audio/video files (default), 1 merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub av_merge: Option<u64>,
    /// Minutes per mp4/aac file, 1–1440 (default 1440); ignored for HLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_media_file_duration: Option<u64>,
    /// 0 main+aux (default), 1 main, 2 aux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<u64>,
    /// 0 repeat the last frame, 1 black.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_type: Option<u64>,
    /// 0/1: subscribe to the mix-back robot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe_ability: Option<u64>,
}

/// Allow and deny lists of user streams (≤ 32 entries each, `prefix.*$` patterns allowed;
/// allow and deny for the same media are mutually exclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeStreamUserIds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe_audio_user_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub un_subscribe_audio_user_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe_video_user_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub un_subscribe_video_user_ids: Option<Vec<String>>,
}

/// Where files go: exactly one of the two (both set → the task fails).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StorageParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_storage: Option<CloudStorage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_vod: Option<CloudVod>,
}

/// Third-party object storage (Tencent COS or AWS S3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CloudStorage {
    /// 0 Tencent COS, 1 AWS.
    pub vendor: u64,
    pub region: String,
    pub bucket: String,
    pub access_key: Secret,
    pub secret_key: Secret,
    /// `[A-Za-z0-9_-]` segments: files land under `p1/p2/<TaskId>/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name_prefix: Option<Vec<String>>,
}

/// Tencent Cloud VOD storage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CloudVod {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tencent_vod: Option<TencentVod>,
}

/// Tencent VOD upload settings. All optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TencentVod {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    /// 0 keeps the media forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_context: Option<String>,
    /// 0 mp4 (default), 1 hls, 2 aac, 3 hls+mp4, 4 hls+aac.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<u64>,
    /// ≤ 64 bytes of `[A-Za-z0-9_-]`, joined to the generated name with `__UserDefine_u_`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_define_record_id: Option<String>,
}

/// Encoding of the mixed stream. Both parts are all-required when present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MixTranscodeParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_params: Option<VideoParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_params: Option<AudioParams>,
}

/// Mixed video encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VideoParams {
    /// ≤ 1920, default 360 (W×H ≤ 1920×1080).
    pub width: u64,
    /// Default 640.
    pub height: u64,
    /// 1–60, default 15.
    pub fps: u64,
    /// bit/s, 64000–8192000, default 550000.
    pub bit_rate: u64,
    /// Seconds between key frames, default 10.
    pub gop: u64,
}

/// Mixed audio encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AudioParams {
    /// 1 = 48000 (default), 2 = 44100, 3 = 16000.
    pub sample_rate: u64,
    /// 1 or 2 (default).
    pub channel: u64,
    /// bit/s, 32000–128000, default 64000.
    pub bit_rate: u64,
}

/// The mixed picture's layout.
///
/// The watermarks (`WaterMarkList`: image, text or timestamp marks, each deeply nested)
/// are kept as raw JSON values: Switchboard records audio and never sets them, and a typed
/// model would only be a second copy of the SDK to keep in sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MixLayoutParams {
    /// 1 floating, 2 screen-share, 3 grid, 4 custom.
    pub mix_layout_mode: u64,
    /// ≤ 25 tiles, custom mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix_layout_list: Option<Vec<MixLayout>>,
    /// `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_ground_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_resolution_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_image_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_holder_mode: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_image_render_mode: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_sub_background_image: Option<String>,
    /// ≤ 25 marks, as raw JSON (see the type's doc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub water_mark_list: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_mode: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_resolution_user_align: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pure_audio_disable_layout: Option<u64>,
}

/// One tile of a custom layout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MixLayout {
    /// Pixels, 0–1920.
    pub top: u64,
    pub left: u64,
    pub width: u64,
    pub height: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// 0–255.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<u64>,
    /// 0 stretch, 1 crop (default), 2 letterbox, 3 smart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_mode: Option<u64>,
    /// 0 main, 1 aux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_layer: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_background_image: Option<String>,
}

/// `DescribeCloudRecording` (§5.2). Only valid while the task runs; afterwards the service
/// answers `ResourceNotFound`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCloudRecording {
    pub sdk_app_id: u64,
    pub task_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorder_key: Option<String>,
}

/// The answer to [`DescribeCloudRecording`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCloudRecordingResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RecordingStatus>,
    /// Always empty for VOD storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_file_list: Option<Vec<StorageFile>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorder_key: Option<String>,
    pub request_id: String,
}

impl Action for DescribeCloudRecording {
    const NAME: &'static str = "DescribeCloudRecording";
    const RETRY_SAFE: bool = true;
    type Response = DescribeCloudRecordingResponse;
}

/// `Status` of a recording task. Unknown values are kept in `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum RecordingStatus {
    Idle,
    InProgress,
    /// Exiting.
    Exited,
    /// A status this crate does not know.
    Other(String),
}

string_enum!(RecordingStatus {
    Idle => "Idle",
    InProgress => "InProgress",
    Exited => "Exited",
});

/// One recorded stream's index file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StorageFile {
    /// Empty for mixed recordings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The m3u8 index name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// `video`, `audio` or `audio_video`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_type: Option<String>,
    /// ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begin_time_stamp: Option<u64>,
}

/// `ModifyCloudRecording` (§5.2): a full overwrite of the layout and subscriptions, not a
/// patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyCloudRecording {
    pub sdk_app_id: u64,
    pub task_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix_layout_params: Option<MixLayoutParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe_stream_user_ids: Option<SubscribeStreamUserIds>,
}

/// The answer to [`ModifyCloudRecording`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyCloudRecordingResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    pub request_id: String,
}

impl Action for ModifyCloudRecording {
    const NAME: &'static str = "ModifyCloudRecording";
    const RETRY_SAFE: bool = false;
    type Response = ModifyCloudRecordingResponse;
}

/// `DeleteCloudRecording` (§5.2): stops the recorder. Upload may continue; completion is
/// reported by callbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteCloudRecording {
    pub sdk_app_id: u64,
    pub task_id: String,
}

/// The answer to [`DeleteCloudRecording`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteCloudRecordingResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    pub request_id: String,
}

impl Action for DeleteCloudRecording {
    const NAME: &'static str = "DeleteCloudRecording";
    const RETRY_SAFE: bool = false;
    type Response = DeleteCloudRecordingResponse;
}
