//! Room custom messages the AI robot broadcasts with cmdID 1 (contract §3.1): the common
//! envelope and the payloads of 10000 subtitles, 10001 robot state, 10002 LLM meta info,
//! 10020 metrics and 10030 errors. Field names are lower-case here, unlike the callbacks.

use serde::{Deserialize, Serialize};

use super::lenient;

/// `{ type, sender, receiver, payload }`; 10002 also carries `roundid` at the top level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomMessage {
    #[serde(rename = "type", deserialize_with = "lenient::u64")]
    pub message_type: u64,
    /// The speaker for 10000 (user or robot); the robot for every other type.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// Informational; messages are broadcast to the room (usually `[]`).
    #[serde(default)]
    pub receiver: Vec<String>,
    /// Only 10002, where the doc's example puts it beside `payload`.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub roundid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

/// 10000 subtitle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtitlePayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `"HH:MM:SS"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// `"HH:MM:SS"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub roundid: Option<String>,
    /// true = sentence complete, false = interim.
    #[serde(default, deserialize_with = "lenient::opt_bool", skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

/// 10001 robot state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatePayload {
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub roundid: Option<String>,
    /// UNCONFIRMED unit: the doc's example `1629384755` looks like seconds. Kept raw (and
    /// read as any number, integer or not) rather than guessed.
    #[serde(default, deserialize_with = "lenient::opt_f64", skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
    /// 1 listening, 2 thinking, 3 speaking, 4 interrupted, 5 finished speaking.
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub state: Option<u64>,
}

/// `tag` of 10020.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageMetricTag {
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub roundid: Option<String>,
}

/// 10020 metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricMessagePayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_f64", skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<MessageMetricTag>,
}

/// `tag` of 10030.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageErrorTag {
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub roundid: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64", skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// 10030 error: `metric` `asr_error` | `llm_error` | `tts_error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessagePayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<MessageErrorTag>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::wire::assert_round_trip;

    #[test]
    fn the_documented_state_message_parses() {
        let msg: RoomMessage = serde_json::from_str(r#"{ "type": 10001, "sender": "ai_assistant_001", "receiver": [], "payload": { "roundid": "conversation_789012", "timestamp": 1629384755, "state": 2 } }"#).unwrap();
        assert_eq!(msg.message_type, 10001);
        let state: StatePayload = serde_json::from_value(msg.payload.unwrap()).unwrap();
        assert_eq!((state.roundid.as_deref(), state.state), (Some("conversation_789012"), Some(2)));
        assert_eq!(state.timestamp, Some(1_629_384_755.0));
    }

    #[test]
    fn meta_info_keeps_its_top_level_round_id() {
        let msg: RoomMessage = serde_json::from_str(
            r#"{"type":10002,"sender":"bot","receiver":[],"roundid":"r7","payload":{"intent":"refund"}}"#,
        )
        .unwrap();
        assert_eq!(msg.roundid.as_deref(), Some("r7"));
        assert_eq!(msg.payload.unwrap()["intent"], "refund");
    }

    #[test]
    fn every_room_message_wire_type_survives_a_serde_round_trip() {
        assert_round_trip(&RoomMessage {
            message_type: 10000,
            sender: Some("user".into()),
            receiver: vec![],
            roundid: None,
            payload: Some(serde_json::json!({"text":"hi","end":false})),
        });
        assert_round_trip(&RoomMessage {
            message_type: 10002,
            sender: Some("bot".into()),
            receiver: vec!["user".into()],
            roundid: Some("r".into()),
            payload: Some(serde_json::json!({"k":[1,2]})),
        });
        assert_round_trip(&SubtitlePayload {
            text: Some("你好".into()),
            start_time: Some("00:00:01".into()),
            end_time: Some("00:00:02".into()),
            roundid: Some("r".into()),
            end: Some(true),
        });
        assert_round_trip(&StatePayload {
            roundid: Some("r".into()),
            timestamp: Some(1_629_384_755.0),
            state: Some(3),
        });
        assert_round_trip(&MetricMessagePayload {
            metric: Some("asr_latency".into()),
            value: Some(640.0),
            tag: Some(MessageMetricTag { roundid: Some("r".into()) }),
        });
        assert_round_trip(&ErrorMessagePayload {
            metric: Some("tts_error".into()),
            tag: Some(MessageErrorTag {
                roundid: Some("r".into()),
                code: Some(30301),
                message: Some("rate limited".into()),
            }),
        });
    }
}
