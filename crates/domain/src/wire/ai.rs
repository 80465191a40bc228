//! AI conversation callbacks (event group 9, contract §3.2): `EventInfo` and one payload
//! struct per event type. Server payloads use `Metric/Value/Tag/RoundId` (PascalCase); the
//! room messages in [`super::message`] use the lower-case spelling.

use serde::{Deserialize, Serialize};

use super::{lenient, WireRoomId};

/// `EventInfo` of every group-9 callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AiEventInfo {
    /// ms; the field table says String, the examples show a number — both are read.
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub event_ms_ts: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<WireRoomId>,
    /// 0 numeric (the default), 1 string — the AI API's coding, opposite to recording's.
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub room_id_type: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

/// 901 AI_SERVICE_START and 909's sibling shape: `Status` 0 started, 1 failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartPayload {
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub status: Option<u64>,
}

/// 902 AI_SERVICE_STOP: `LeaveCode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopPayload {
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub leave_code: Option<u64>,
}

/// 903 AI_SERVICE_MSG: a complete STT sentence or the complete LLM reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SentencePayload {
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub start_time_ms: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub end_time_ms: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub round_id: Option<String>,
}

/// 904 AI_START_OF_SPEECH: STT heard the start of a user sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SpeechStartPayload {
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub round_id: Option<String>,
}

/// 905 AI_SPEAKING_FINISHED: the robot (`UserId`) finished speaking `Text` this round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SpeakingFinishedPayload {
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub round_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `Tag` of 906.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricTag {
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub round_id: Option<String>,
}

/// 906 AI_METRIC_MESSAGE: one of the seven metric names with its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_f64", skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<MetricTag>,
}

/// `Tag` of 908.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorTag {
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub round_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64", skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// 908 AI_ERROR_METRIC_CALLBACK: `Metric` `asr_error` | `llm_error` | `tts_error` (the doc
/// wrongly lists the 906 names here) with the error in `Tag`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<ErrorTag>,
}

/// 909 AI_SESSION_STATUS_CALLBACK: `Status: "session_ready"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionStatusPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::wire::{assert_round_trip, CallbackBody};

    #[test]
    fn the_contracts_901_example_parses_down_to_its_payload() {
        let body: CallbackBody = serde_json::from_str(
            r#"{"EventGroupId":9,"EventType":901,"CallbackTs":1687770730166,
 "EventInfo":{"EventMsTs":1622186275757,"TaskId":"xx","RoomId":"1234","RoomIdType":0,"Payload":{"Status":0}}}"#,
        )
        .unwrap();
        let info: AiEventInfo = serde_json::from_value(body.event_info.unwrap()).unwrap();
        assert_eq!(info.event_ms_ts, Some(1_622_186_275_757));
        assert_eq!(info.task_id.as_deref(), Some("xx"));
        assert_eq!(info.room_id, Some(WireRoomId::Text("1234".into())));
        assert_eq!(info.room_id_type, Some(0));
        let payload: StartPayload = serde_json::from_value(info.payload.unwrap()).unwrap();
        assert_eq!(payload.status, Some(0));
    }

    #[test]
    fn a_string_typed_event_ms_ts_reads_as_the_same_number() {
        let info: AiEventInfo = serde_json::from_str(r#"{"EventMsTs":"1622186275757","TaskId":"xx"}"#).unwrap();
        assert_eq!(info.event_ms_ts, Some(1_622_186_275_757));
    }

    #[test]
    fn every_group_9_wire_type_survives_a_serde_round_trip() {
        assert_round_trip(&AiEventInfo {
            event_ms_ts: Some(1_622_186_275_757),
            task_id: Some("task".into()),
            room_id: Some(WireRoomId::Text("1234".into())),
            room_id_type: Some(0),
            payload: Some(serde_json::json!({"Status":0})),
        });
        assert_round_trip(&AiEventInfo {
            event_ms_ts: None,
            task_id: None,
            room_id: None,
            room_id_type: None,
            payload: None,
        });
        assert_round_trip(&StartPayload { status: Some(1) });
        assert_round_trip(&StopPayload { leave_code: Some(98) });
        assert_round_trip(&SentencePayload {
            user_id: Some("user".into()),
            text: Some("你好".into()),
            start_time_ms: Some(1),
            end_time_ms: Some(2),
            round_id: Some("r1".into()),
        });
        assert_round_trip(&SpeechStartPayload { user_id: Some("u".into()), round_id: Some("r".into()) });
        assert_round_trip(&SpeakingFinishedPayload {
            user_id: Some("bot".into()),
            round_id: Some("r".into()),
            text: Some("好的".into()),
        });
        assert_round_trip(&MetricPayload {
            metric: Some("llm_first_token".into()),
            value: Some(812.5),
            tag: Some(MetricTag { round_id: Some("r".into()) }),
        });
        assert_round_trip(&ErrorPayload {
            metric: Some("llm_error".into()),
            tag: Some(ErrorTag { round_id: Some("r".into()), code: Some(30200), message: Some("timeout".into()) }),
        });
        assert_round_trip(&SessionStatusPayload { status: Some("session_ready".into()) });
    }
}
