//! The parameter schemas of the emulated actions, taken from trtc-contract.md §2 and §5,
//! and the checks Tencent Cloud makes before an action runs: unknown parameters, missing
//! required ones, wrong JSON types, and JSON-string fields that do not hold a JSON object.
//!
//! Deliberately independent of the `trtc` crate's models: the emulator stands in for
//! Tencent Cloud, so a mistake in our client must not be mirrored by a shared type here.

use serde_json::Value;

/// The JSON type a parameter must have.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A non-negative integer (uint64 in the schema).
    U64,
    /// Any JSON number (float in the schema).
    Num,
    Str,
    Bool,
    /// A string holding a JSON object (LLMConfig, TTSConfig, AvatarConfig, MetaInfo).
    JsonString,
    StrList,
    Object(&'static [Field]),
    /// Any JSON value (deeply nested structures the emulator does not interpret).
    Any,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field { name, kind, required: true }
}
const fn opt(name: &'static str, kind: Kind) -> Field {
    Field { name, kind, required: false }
}

/// Why parameters were refused; `path` is dotted (`AgentConfig.UserId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    Unknown { path: String },
    Missing { path: String },
    WrongType { path: String, expected: &'static str },
    NotJsonObjectString { path: String },
}

/// Checks `value` (the request body) against `fields`.
///
/// # Errors
/// The first problem found, in field order.
pub fn check(value: &Value, fields: &[Field]) -> Result<(), Invalid> {
    check_object(value, fields, "")
}

fn check_object(value: &Value, fields: &[Field], prefix: &str) -> Result<(), Invalid> {
    let path = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
    let Value::Object(map) = value else {
        return Err(Invalid::WrongType {
            path: if prefix.is_empty() { "(body)".into() } else { prefix.into() },
            expected: "object",
        });
    };
    if let Some(unknown) = map.keys().find(|key| !fields.iter().any(|f| f.name == key.as_str())) {
        return Err(Invalid::Unknown { path: path(unknown) });
    }
    for field in fields {
        match map.get(field.name) {
            // The official SDKs drop unset fields; an explicit null reads as absent.
            None | Some(Value::Null) if field.required => return Err(Invalid::Missing { path: path(field.name) }),
            None | Some(Value::Null) => {}
            Some(value) => check_kind(value, field.kind, &path(field.name))?,
        }
    }
    Ok(())
}

fn check_kind(value: &Value, kind: Kind, path: &str) -> Result<(), Invalid> {
    let wrong = |expected| Err(Invalid::WrongType { path: path.to_owned(), expected });
    match kind {
        Kind::U64 if value.as_u64().is_none() => wrong("uint64"),
        Kind::Num if !value.is_number() => wrong("number"),
        Kind::Str if !value.is_string() => wrong("string"),
        Kind::Bool if !value.is_boolean() => wrong("boolean"),
        Kind::JsonString => match value.as_str().map(serde_json::from_str::<Value>) {
            None => wrong("string"),
            Some(Ok(Value::Object(_))) => Ok(()),
            Some(_) => Err(Invalid::NotJsonObjectString { path: path.to_owned() }),
        },
        Kind::StrList => match value.as_array() {
            Some(items) if items.iter().all(Value::is_string) => Ok(()),
            _ => wrong("array of strings"),
        },
        Kind::Object(fields) => check_object(value, fields, path),
        _ => Ok(()),
    }
}

// ---- AI conversation (§2) ----

const AMBIENT_SOUND: &[Field] = &[req("Scene", Kind::Str), opt("Volume", Kind::Num)];
const VOICE_PRINT: &[Field] = &[opt("Mode", Kind::U64), opt("IdList", Kind::StrList)];
const TURN_DETECTION: &[Field] = &[opt("SemanticEagerness", Kind::Str)];

pub const AGENT_CONFIG: &[Field] = &[
    req("UserId", Kind::Str),
    req("UserSig", Kind::Str),
    req("TargetUserId", Kind::Str),
    opt("MaxIdleTime", Kind::U64),
    opt("WelcomeMessage", Kind::Str),
    opt("InterruptMode", Kind::U64),
    opt("InterruptSpeechDuration", Kind::U64),
    opt("TurnDetectionMode", Kind::U64),
    opt("FilterOneWord", Kind::Bool),
    opt("WelcomeMessagePriority", Kind::U64),
    opt("FilterBracketsContent", Kind::U64),
    opt("AmbientSound", Kind::Object(AMBIENT_SOUND)),
    opt("VoicePrint", Kind::Object(VOICE_PRINT)),
    opt("TurnDetection", Kind::Object(TURN_DETECTION)),
    opt("SubtitleMode", Kind::U64),
    opt("InterruptWordList", Kind::StrList),
];

pub const STT_CONFIG: &[Field] = &[
    opt("Language", Kind::Str),
    opt("AlternativeLanguage", Kind::StrList),
    opt("CustomParam", Kind::Str),
    opt("VadSilenceTime", Kind::U64),
    opt("HotWordList", Kind::Str),
    opt("VadLevel", Kind::U64),
];

pub const START_AI_CONVERSATION: &[Field] = &[
    req("SdkAppId", Kind::U64),
    req("RoomId", Kind::Str),
    req("AgentConfig", Kind::Object(AGENT_CONFIG)),
    opt("SessionId", Kind::Str),
    opt("RoomIdType", Kind::U64),
    opt("STTConfig", Kind::Object(STT_CONFIG)),
    // Optional in the schema, "required" in the guides: the tolerant reading (§2.1).
    opt("LLMConfig", Kind::JsonString),
    opt("TTSConfig", Kind::JsonString),
    opt("AvatarConfig", Kind::JsonString),
    opt("ExperimentalParams", Kind::Str),
];

pub const STOP_AI_CONVERSATION: &[Field] = &[req("TaskId", Kind::Str)];

pub const DESCRIBE_AI_CONVERSATION: &[Field] =
    &[opt("SdkAppId", Kind::U64), opt("TaskId", Kind::Str), opt("SessionId", Kind::Str)];

const SERVER_PUSH_TEXT: &[Field] = &[
    opt("Text", Kind::Str),
    opt("Interrupt", Kind::Bool),
    opt("StopAfterPlay", Kind::Bool),
    opt("Audio", Kind::Str),
    opt("DropMode", Kind::U64),
    opt("Priority", Kind::U64),
    opt("AddHistory", Kind::Bool),
    opt("MetaInfo", Kind::JsonString),
];
const INVOKE_LLM: &[Field] =
    &[opt("Content", Kind::Str), opt("Interrupt", Kind::Bool), opt("ExperimentalParams", Kind::Str)];

pub const CONTROL_AI_CONVERSATION: &[Field] = &[
    req("TaskId", Kind::Str),
    req("Command", Kind::Str),
    opt("ServerPushText", Kind::Object(SERVER_PUSH_TEXT)),
    opt("InvokeLLM", Kind::Object(INVOKE_LLM)),
    // Not in the contract, but present in the official Python SDK 3.1.177's request model;
    // accepted so a newer SDK is not refused (the tolerant reading).
    opt("TransparentData", Kind::Any),
];

pub const UPDATE_AI_CONVERSATION: &[Field] = &[
    req("TaskId", Kind::Str),
    opt("WelcomeMessage", Kind::Str),
    opt("InterruptMode", Kind::U64),
    opt("InterruptSpeechDuration", Kind::U64),
    opt("LLMConfig", Kind::JsonString),
    opt("TTSConfig", Kind::JsonString),
];

// ---- cloud recording (§5) ----

const SUBSCRIBE_STREAM_USER_IDS: &[Field] = &[
    opt("SubscribeAudioUserIds", Kind::StrList),
    opt("UnSubscribeAudioUserIds", Kind::StrList),
    opt("SubscribeVideoUserIds", Kind::StrList),
    opt("UnSubscribeVideoUserIds", Kind::StrList),
];
const RECORD_PARAMS: &[Field] = &[
    req("RecordMode", Kind::U64),
    opt("MaxIdleTime", Kind::U64),
    opt("StreamType", Kind::U64),
    opt("SubscribeStreamUserIds", Kind::Object(SUBSCRIBE_STREAM_USER_IDS)),
    opt("OutputFormat", Kind::U64),
    opt("AvMerge", Kind::U64),
    opt("MaxMediaFileDuration", Kind::U64),
    opt("MediaId", Kind::U64),
    opt("FillType", Kind::U64),
    opt("SubscribeAbility", Kind::U64),
];
const CLOUD_STORAGE: &[Field] = &[
    req("Vendor", Kind::U64),
    req("Region", Kind::Str),
    req("Bucket", Kind::Str),
    req("AccessKey", Kind::Str),
    req("SecretKey", Kind::Str),
    opt("FileNamePrefix", Kind::StrList),
];
const STORAGE_PARAMS: &[Field] = &[opt("CloudStorage", Kind::Object(CLOUD_STORAGE)), opt("CloudVod", Kind::Any)];

pub const CREATE_CLOUD_RECORDING: &[Field] = &[
    req("SdkAppId", Kind::U64),
    req("RoomId", Kind::Str),
    req("UserId", Kind::Str),
    req("UserSig", Kind::Str),
    req("RecordParams", Kind::Object(RECORD_PARAMS)),
    req("StorageParams", Kind::Object(STORAGE_PARAMS)),
    opt("RoomIdType", Kind::U64),
    opt("MixTranscodeParams", Kind::Any),
    opt("MixLayoutParams", Kind::Any),
    opt("ResourceExpiredHour", Kind::U64),
    opt("PrivateMapKey", Kind::Str),
];
pub const DESCRIBE_CLOUD_RECORDING: &[Field] =
    &[req("SdkAppId", Kind::U64), req("TaskId", Kind::Str), opt("RecorderKey", Kind::Str)];
pub const MODIFY_CLOUD_RECORDING: &[Field] = &[
    req("SdkAppId", Kind::U64),
    req("TaskId", Kind::Str),
    opt("MixLayoutParams", Kind::Any),
    opt("SubscribeStreamUserIds", Kind::Object(SUBSCRIBE_STREAM_USER_IDS)),
];
pub const DELETE_CLOUD_RECORDING: &[Field] = &[req("SdkAppId", Kind::U64), req("TaskId", Kind::Str)];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_contracts_start_example_passes_the_schema() {
        let body = json!({"SdkAppId":12345678,"RoomId":"room_987654321","RoomIdType":1,
            "AgentConfig":{"UserId":"user_12345","UserSig":"user_signature_example","MaxIdleTime":120,"TargetUserId":"target_user_54321"},
            "SessionId":"session_1234567890abcdef","STTConfig":{"Language":"zh"},
            "LLMConfig":"{\"LLMType\": \"openai\", \"Model\": \"gpt-3.5-turbo\", \"APIKey\": \"xxx\", \"APIUrl\": \"http://xxxx-api.xxxx.com/v1/chat/completions\", \"Streaming\": true}",
            "TTSConfig":"{\"TTSType\": \"tencent\", \"AppId\": 130000000, \"SecretId\": \"AKIDxxxxx\", \"SecretKey\": \"HlDxxxxxx\", \"VoiceType\": 1008, \"Speed\": 1}"});
        assert_eq!(check(&body, START_AI_CONVERSATION), Ok(()));
    }

    #[test]
    fn each_kind_of_bad_parameter_is_named_with_its_path() {
        let cases = [
            (json!({"TaskId": "t", "Extra": 1}), STOP_AI_CONVERSATION, Invalid::Unknown { path: "Extra".into() }),
            (json!({}), STOP_AI_CONVERSATION, Invalid::Missing { path: "TaskId".into() }),
            (json!({"TaskId": null}), STOP_AI_CONVERSATION, Invalid::Missing { path: "TaskId".into() }),
            (
                json!({"TaskId": 7}),
                STOP_AI_CONVERSATION,
                Invalid::WrongType { path: "TaskId".into(), expected: "string" },
            ),
            (
                json!({"SdkAppId": -1, "RoomId": "r", "AgentConfig": {}}),
                START_AI_CONVERSATION,
                Invalid::WrongType { path: "SdkAppId".into(), expected: "uint64" },
            ),
            (
                json!({"SdkAppId": 1, "RoomId": "r", "AgentConfig": {"UserId": "a", "UserSig": "s"}}),
                START_AI_CONVERSATION,
                Invalid::Missing { path: "AgentConfig.TargetUserId".into() },
            ),
            (
                json!({"SdkAppId": 1, "RoomId": "r", "AgentConfig": {"UserId": "a", "UserSig": "s", "TargetUserId": "u"}, "LLMConfig": {"LLMType": "openai"}}),
                START_AI_CONVERSATION,
                Invalid::WrongType { path: "LLMConfig".into(), expected: "string" },
            ),
            (
                json!({"TaskId": "t", "LLMConfig": "not json"}),
                UPDATE_AI_CONVERSATION,
                Invalid::NotJsonObjectString { path: "LLMConfig".into() },
            ),
            (json!([1, 2]), STOP_AI_CONVERSATION, Invalid::WrongType { path: "(body)".into(), expected: "object" }),
            (
                json!({"TaskId": "t", "Command": "ServerPushText", "ServerPushText": {"Text": "hi", "Interrupt": "yes"}}),
                CONTROL_AI_CONVERSATION,
                Invalid::WrongType { path: "ServerPushText.Interrupt".into(), expected: "boolean" },
            ),
        ];
        for (body, schema, expected) in cases {
            assert_eq!(check(&body, schema), Err(expected), "body {body}");
        }
    }
}
