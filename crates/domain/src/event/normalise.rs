//! Server callback body → [`Event`]: the one place that reads [`crate::wire`] callbacks.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    CallRef, EnterReason, Event, EventBody, ExitReason, LeaveCode, Media, MetricName, NormaliseError, Outcome,
    PipelineError, PipelineStage, RecordedFile, RecorderLeaveCode, RecordingEvent, Role, Sentence, SentenceTimes,
    Source, TerminalType, UploadStatus, UserType, VodFile, VodStatus,
};
use crate::ids::{RoomId, RoomIdKind, RoundId, SdkAppId, SourceMs, TaskId, UserId};
use crate::wire::{ai, recording, room, CallbackBody, WireRoomId};

/// Reads fields of one event type and names the type in every error.
pub(super) struct Fields {
    pub(super) event_type: u64,
}

impl Fields {
    /// Reads a nested JSON object (an `EventInfo` or `Payload`) into its wire struct.
    pub(super) fn parse<T: DeserializeOwned>(&self, value: Value, field: &'static str) -> Result<T, NormaliseError> {
        if !value.is_object() {
            return Err(NormaliseError::BadValue {
                event_type: self.event_type,
                field,
                reason: format!("expected a JSON object, got {}", json_kind(&value)),
            });
        }
        serde_json::from_value(value).map_err(|e| NormaliseError::BadValue {
            event_type: self.event_type,
            field,
            reason: e.to_string(),
        })
    }

    pub(super) fn require<T>(&self, value: Option<T>, field: &'static str) -> Result<T, NormaliseError> {
        value.ok_or(NormaliseError::MissingField { event_type: self.event_type, field })
    }

    /// A TRTC code, which must fit in 32 bits.
    pub(super) fn code(&self, value: u64, field: &'static str) -> Result<u32, NormaliseError> {
        u32::try_from(value).map_err(|_| NormaliseError::BadValue {
            event_type: self.event_type,
            field,
            reason: format!("{value} is not a 32-bit code"),
        })
    }

    fn opt_code<T: From<u32>>(&self, value: Option<u64>, field: &'static str) -> Result<Option<T>, NormaliseError> {
        value.map(|v| self.code(v, field).map(T::from)).transpose()
    }

    /// `EventMsTs`, else the legacy `EventTs` in seconds. `CallbackTs` is deliberately not a
    /// fallback: it changes on every retry and would defeat deduplication.
    fn source_time(&self, ms: Option<u64>, secs: Option<u64>) -> Result<SourceMs, NormaliseError> {
        match (ms, secs) {
            (Some(ms), _) => Ok(SourceMs(ms)),
            (None, Some(secs)) => secs.checked_mul(1000).map(SourceMs).ok_or(NormaliseError::BadValue {
                event_type: self.event_type,
                field: "EventTs",
                reason: format!("{secs} s does not fit in milliseconds"),
            }),
            (None, None) => Err(NormaliseError::MissingField { event_type: self.event_type, field: "EventMsTs" }),
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads a JSON object into `T`. Anything that is not an object is refused first: serde's
/// derived structs would otherwise accept a JSON array field by field.
pub(super) fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, NormaliseError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(NormaliseError::EmptyBody),
        Some(b'{') => {
            serde_json::from_slice(bytes).map_err(|e| NormaliseError::MalformedJson { reason: e.to_string() })
        }
        Some(_) => Err(NormaliseError::MalformedJson { reason: "expected a JSON object".to_owned() }),
    }
}

fn is_known(group: u64, event_type: u64) -> bool {
    match group {
        1 => (101..=105).contains(&event_type),
        2 => (201..=206).contains(&event_type),
        3 => (301..=312).contains(&event_type),
        9 => matches!(event_type, 901..=906 | 908 | 909),
        _ => false,
    }
}

pub(super) fn callback(bytes: &[u8], sdk_app_id: Option<SdkAppId>) -> Result<Event, NormaliseError> {
    let body: CallbackBody = parse_object(bytes)?;
    let (group, event_type) = (body.event_group_id, body.event_type);
    // Checked before EventInfo so that an unknown type (e.g. the undocumented 907) is
    // reported as such, not as whatever field it happens to lack.
    if !is_known(group, event_type) {
        return Err(NormaliseError::UnknownEventType { group, event_type });
    }
    let fields = Fields { event_type };
    let info = fields.require(body.event_info, "EventInfo")?;
    match group {
        9 => ai_event(&fields, info, sdk_app_id),
        3 => recording_event(&fields, info, sdk_app_id),
        _ => room_event(&fields, group, info, sdk_app_id),
    }
}

/// A room id from room and recording callbacks, where the JSON type is the room's type.
fn room_from_wire(room: &WireRoomId) -> Option<RoomId> {
    match room {
        WireRoomId::Number(id) => Some(RoomId::numeric(*id)),
        WireRoomId::Text(id) => RoomId::parse(id, RoomIdKind::Str),
    }
}

/// A room id from AI callbacks, which send it as a string and say its kind in
/// `RoomIdType` (0 numeric, the default; 1 string).
fn room_from_ai(room: &WireRoomId, room_id_type: Option<u64>) -> Option<RoomId> {
    match (room, room_id_type) {
        (WireRoomId::Number(id), _) => Some(RoomId::numeric(*id)),
        (WireRoomId::Text(id), Some(1)) => RoomId::parse(id, RoomIdKind::Str),
        (WireRoomId::Text(id), _) if id.trim().parse::<u64>().is_ok() => RoomId::parse(id, RoomIdKind::Numeric),
        (WireRoomId::Text(id), _) => RoomId::parse(id, RoomIdKind::Str),
    }
}

fn round(text: Option<&str>) -> Option<RoundId> {
    text.and_then(RoundId::parse)
}

fn user(text: Option<&str>) -> Option<UserId> {
    text.and_then(UserId::parse)
}

fn ai_event(fields: &Fields, info: Value, sdk_app_id: Option<SdkAppId>) -> Result<Event, NormaliseError> {
    let info: ai::AiEventInfo = fields.parse(info, "EventInfo")?;
    let source_ms = fields.source_time(info.event_ms_ts, None)?;
    let task = fields.require(info.task_id.as_deref().and_then(TaskId::parse), "TaskId")?;
    let room = info.room_id.as_ref().and_then(|r| room_from_ai(r, info.room_id_type));
    let payload = fields.require(info.payload, "Payload")?;
    let body = match fields.event_type {
        901 => {
            let p: ai::StartPayload = fields.parse(payload, "Payload")?;
            EventBody::TaskStarted { outcome: Outcome::from_status(fields.require(p.status, "Status")?) }
        }
        902 => {
            let p: ai::StopPayload = fields.parse(payload, "Payload")?;
            let code = fields.code(fields.require(p.leave_code, "LeaveCode")?, "LeaveCode")?;
            EventBody::TaskStopped { leave_code: LeaveCode::from(code) }
        }
        903 => {
            let p: ai::SentencePayload = fields.parse(payload, "Payload")?;
            EventBody::Sentence(Sentence {
                speaker: None,
                user: fields.require(user(p.user_id.as_deref()), "UserId")?,
                round: fields.require(round(p.round_id.as_deref()), "RoundId")?,
                text: fields.require(p.text, "Text")?,
                is_final: true,
                times: (p.start_time_ms.is_some() || p.end_time_ms.is_some())
                    .then_some(SentenceTimes::Ms { start_ms: p.start_time_ms, end_ms: p.end_time_ms }),
            })
        }
        904 => {
            let p: ai::SpeechStartPayload = fields.parse(payload, "Payload")?;
            EventBody::UserSpeechStarted {
                user: fields.require(user(p.user_id.as_deref()), "UserId")?,
                round: fields.require(round(p.round_id.as_deref()), "RoundId")?,
            }
        }
        905 => {
            let p: ai::SpeakingFinishedPayload = fields.parse(payload, "Payload")?;
            EventBody::RobotFinishedSpeaking {
                robot: fields.require(user(p.user_id.as_deref()), "UserId")?,
                round: fields.require(round(p.round_id.as_deref()), "RoundId")?,
                text: p.text.unwrap_or_default(),
            }
        }
        906 => {
            let p: ai::MetricPayload = fields.parse(payload, "Payload")?;
            EventBody::MetricReported {
                robot: None,
                round: round(p.tag.and_then(|t| t.round_id).as_deref()),
                metric: MetricName::parse(&fields.require(p.metric, "Metric")?),
                value: fields.require(p.value, "Value")?,
            }
        }
        908 => {
            let p: ai::ErrorPayload = fields.parse(payload, "Payload")?;
            let tag = p.tag.unwrap_or_default();
            let code = fields.require(tag.code, "Tag.Code")?;
            let metric = p.metric.unwrap_or_default();
            EventBody::PipelineFailed {
                robot: None,
                round: round(tag.round_id.as_deref()),
                error: PipelineError {
                    stage: PipelineStage::classify(&metric, code),
                    code,
                    message: tag.message.unwrap_or_default(),
                    metric,
                },
            }
        }
        909 => {
            let p: ai::SessionStatusPayload = fields.parse(payload, "Payload")?;
            match fields.require(p.status, "Status")?.as_str() {
                "session_ready" => EventBody::SessionReady,
                other => {
                    return Err(NormaliseError::BadValue {
                        event_type: 909,
                        field: "Status",
                        reason: format!("{other:?} is not the documented \"session_ready\""),
                    })
                }
            }
        }
        event_type => return Err(NormaliseError::UnknownEventType { group: 9, event_type }),
    };
    let call = CallRef { sdk_app_id, room, task: Some(task) };
    Ok(Event { call, source: Source::Callback, source_ms, seq: None, body })
}

fn room_event(fields: &Fields, group: u64, info: Value, sdk_app_id: Option<SdkAppId>) -> Result<Event, NormaliseError> {
    let info: room::RoomEventInfo = fields.parse(info, "EventInfo")?;
    let source_ms = fields.source_time(info.event_ms_ts, info.event_ts)?;
    let room = fields.require(info.room_id.as_ref().and_then(room_from_wire), "RoomId")?;
    let participant = || fields.require(user(info.user_id.as_deref()), "UserId");
    let role = fields.opt_code::<Role>(info.role, "Role")?;
    let body = match fields.event_type {
        101 => EventBody::RoomCreated,
        102 => EventBody::RoomDismissed,
        103 => EventBody::UserEntered {
            user: participant()?,
            role,
            terminal: fields.opt_code::<TerminalType>(info.terminal_type, "TerminalType")?,
            user_type: fields.opt_code::<UserType>(info.user_type, "UserType")?,
            reason: fields.opt_code::<EnterReason>(info.reason, "Reason")?,
            unique_id: info.unique_id,
        },
        104 => EventBody::UserLeft {
            user: participant()?,
            role,
            reason: fields.opt_code::<ExitReason>(info.reason, "Reason")?,
        },
        105 => EventBody::RoleChanged { user: participant()?, role: fields.require(role, "Role")? },
        event_type @ 201..=206 => {
            let media = match (event_type - 201) / 2 {
                0 => Media::Video,
                1 => Media::Audio,
                _ => Media::Substream,
            };
            if event_type % 2 == 1 {
                EventBody::MediaStarted { user: participant()?, media }
            } else {
                EventBody::MediaStopped {
                    user: participant()?,
                    media,
                    reason: fields.opt_code::<u32>(info.reason, "Reason")?,
                }
            }
        }
        event_type => return Err(NormaliseError::UnknownEventType { group, event_type }),
    };
    let call = CallRef { sdk_app_id, room: Some(room), task: None };
    Ok(Event { call, source: Source::Callback, source_ms, seq: None, body })
}

fn recording_event(fields: &Fields, info: Value, sdk_app_id: Option<SdkAppId>) -> Result<Event, NormaliseError> {
    let info: recording::RecordingEventInfo = fields.parse(info, "EventInfo")?;
    let source_ms = fields.source_time(info.event_ms_ts, info.event_ts)?;
    let task = fields.require(info.task_id.as_deref().and_then(TaskId::parse), "TaskId")?;
    let room = info.room_id.as_ref().and_then(room_from_wire);
    let payload = fields.require(info.payload, "Payload")?;
    let status = |payload: Value| -> Result<u64, NormaliseError> {
        let p: recording::StatusPayload = fields.parse(payload, "Payload")?;
        fields.require(p.status, "Status")
    };
    let event = match fields.event_type {
        301 => RecordingEvent::Started { outcome: Outcome::from_status(status(payload)?) },
        302 => {
            let p: recording::RecorderStopPayload = fields.parse(payload, "Payload")?;
            let code = fields.code(fields.require(p.leave_code, "LeaveCode")?, "LeaveCode")?;
            RecordingEvent::Stopped { leave_code: RecorderLeaveCode::from(code) }
        }
        303 => RecordingEvent::UploadStarted { outcome: Outcome::from_status(status(payload)?) },
        304 => {
            let p: recording::FileInfoPayload = fields.parse(payload, "Payload")?;
            RecordingEvent::FileInfo { files: fields.require(p.file_list, "FileList")?.names() }
        }
        305 => {
            let p: recording::UploadStopPayload = fields.parse(payload, "Payload")?;
            let code = fields.require(p.leave_code.or(p.status), "LeaveCode")?;
            RecordingEvent::UploadStopped { status: UploadStatus::from(fields.code(code, "LeaveCode")?) }
        }
        306 => RecordingEvent::Failover { status: fields.code(status(payload)?, "Status")? },
        307 => {
            let p: recording::FileSlicePayload = fields.parse(payload, "Payload")?;
            RecordingEvent::FileSlice {
                file_name: p.file_name,
                user: user(p.user_id.as_deref()),
                track: p.track_type,
                begin_ms: p.begin_time_stamp,
            }
        }
        308 => {
            let p: recording::UploadErrorPayload = fields.parse(payload, "Payload")?;
            RecordingEvent::UploadFailed { code: p.code, message: p.message }
        }
        309 => {
            let p: recording::DownloadImageErrorPayload = fields.parse(payload, "Payload")?;
            RecordingEvent::ImageDownloadFailed { url: p.url }
        }
        310 => {
            let p: recording::Mp4StopPayload = fields.parse(payload, "Payload")?;
            RecordingEvent::Mp4Stopped {
                status: UploadStatus::from(fields.code(fields.require(p.status, "Status")?, "Status")?),
                files: p.file_list.map(|list| list.names()).unwrap_or_default(),
                details: p
                    .file_message
                    .into_iter()
                    .map(|m| RecordedFile {
                        file_name: m.file_name,
                        user: user(m.user_id.as_deref()),
                        track: m.track_type,
                        media: m.media_id,
                        start_ms: m.start_time_stamp,
                        end_ms: m.end_time_stamp,
                    })
                    .collect(),
            }
        }
        311 => {
            let p: recording::VodCommitPayload = fields.parse(payload, "Payload")?;
            RecordingEvent::VodCommitted {
                status: VodStatus::from(fields.code(fields.require(p.status, "Status")?, "Status")?),
                error: p.errmsg.filter(|e| !e.is_empty()),
                file: p.tencent_vod.map(|v| VodFile {
                    user: user(v.user_id.as_deref()),
                    track: v.track_type,
                    media: v.media_id,
                    file_id: v.file_id,
                    video_url: v.video_url,
                    cache_file: v.cache_file,
                    start_ms: v.start_time_stamp,
                    end_ms: v.end_time_stamp,
                }),
            }
        }
        312 => RecordingEvent::VodStopped { outcome: Outcome::from_status(status(payload)?) },
        event_type => return Err(NormaliseError::UnknownEventType { group: 3, event_type }),
    };
    let body = EventBody::Recording { task, recorder: user(info.user_id.as_deref()), event };
    let call = CallRef { sdk_app_id, room, task: None };
    Ok(Event { call, source: Source::Callback, source_ms, seq: None, body })
}
