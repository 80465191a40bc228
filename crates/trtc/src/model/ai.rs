//! The AI conversation actions (trtc-contract.md §2): Start, Stop, Describe, Control and
//! Update, with `AgentConfig`, `STTConfig` and the two configs that travel as JSON strings,
//! [`LLMConfig`] and [`TTSConfig`].
//!
//! What deliberately does not live here: the callbacks and room messages an AI
//! conversation produces (those are `domain::wire`), and the voiceprint and transcription
//! actions (§2.11), which Switchboard does not call.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{json_string, string_enum, Action, Secret};

/// `RoomIdType` of the AI actions for a numeric room (the default).
///
/// The recording actions code it the other way round (see
/// [`super::recording::RECORDING_ROOM_ID_TYPE_STRING`]).
pub const AI_ROOM_ID_TYPE_NUMERIC: u64 = 0;
/// `RoomIdType` of the AI actions for a string room.
pub const AI_ROOM_ID_TYPE_STRING: u64 = 1;

/// `StartAIConversation` (§2.1): puts a bot into a room that listens to one user and answers
/// through STT → LLM → TTS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartAIConversation {
    pub sdk_app_id: u64,
    /// The room id as a string, also for numeric rooms.
    pub room_id: String,
    pub agent_config: AgentConfig,
    /// Caller-chosen unique id, for de-duplication and for lookup with Describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// [`AI_ROOM_ID_TYPE_NUMERIC`] (0, the default) or [`AI_ROOM_ID_TYPE_STRING`] (1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id_type: Option<u64>,
    #[serde(rename = "STTConfig", default, skip_serializing_if = "Option::is_none")]
    pub stt_config: Option<STTConfig>,
    /// A JSON string on the wire. Optional in the schema, required by the docs and the
    /// service, so required here.
    #[serde(rename = "LLMConfig", with = "json_string")]
    pub llm_config: LLMConfig,
    /// A JSON string on the wire; required like `LLMConfig`.
    #[serde(rename = "TTSConfig", with = "json_string")]
    pub tts_config: TTSConfig,
    /// Digital-human config, itself a JSON string (allow-list only, China site only). Kept
    /// opaque and redacted in `Debug`: it carries access tokens and UserSigs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_config: Option<Secret>,
    /// Opaque, "contact support".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental_params: Option<String>,
}

impl StartAIConversation {
    /// A request with the required fields and nothing else.
    pub fn new(
        sdk_app_id: u64,
        room_id: impl Into<String>,
        agent_config: AgentConfig,
        llm_config: LLMConfig,
        tts_config: TTSConfig,
    ) -> StartAIConversation {
        StartAIConversation {
            sdk_app_id,
            room_id: room_id.into(),
            agent_config,
            session_id: None,
            room_id_type: None,
            stt_config: None,
            llm_config,
            tts_config,
            avatar_config: None,
            experimental_params: None,
        }
    }
}

/// The answer to [`StartAIConversation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartAIConversationResponse {
    /// Opaque task id (base64-ish, may contain `+`, `-`, `_`, `.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    pub request_id: String,
}

impl Action for StartAIConversation {
    const NAME: &'static str = "StartAIConversation";
    const RETRY_SAFE: bool = false;
    type Response = StartAIConversationResponse;
}

/// The bot's identity, target and turn-taking behaviour (§2.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgentConfig {
    /// The bot's UserId in the room; must not collide with a real user or another bot.
    pub user_id: String,
    /// UserSig for [`AgentConfig::user_id`].
    pub user_sig: Secret,
    /// The user whose stream the bot pulls (the client's UserId).
    pub target_user_id: String,
    /// Seconds without publishing before the task stops (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_idle_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome_message: Option<String>,
    /// 0 (default) the server interrupts on user speech; 1 the client sends interrupts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt_mode: Option<u64>,
    /// ms of continuous speech needed to interrupt (InterruptMode 0; default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt_speech_duration: Option<u64>,
    /// 0 (default) STT ends the turn; 1 the client does; 3 semantic (see `TurnDetection`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_detection_mode: Option<u64>,
    /// Drop one-word user sentences (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_one_word: Option<bool>,
    /// 0 normal (default), 1 the welcome message cannot be interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome_message_priority: Option<u64>,
    /// Do not speak text inside one kind of brackets: 1 `（）`, 2 `()`, 3 `【】`, 4 `[]`, 5 `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_brackets_content: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ambient_sound: Option<AmbientSound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_print: Option<VoicePrint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_detection: Option<TurnDetection>,
    /// 0 cumulative, unsynced bot subtitles; 1 incremental, sentence-level, synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle_mode: Option<u64>,
    /// While the bot speaks, only these words interrupt it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt_word_list: Option<Vec<String>>,
}

impl AgentConfig {
    /// An agent config with the required fields and nothing else.
    pub fn new(
        user_id: impl Into<String>,
        user_sig: impl Into<Secret>,
        target_user_id: impl Into<String>,
    ) -> AgentConfig {
        AgentConfig {
            user_id: user_id.into(),
            user_sig: user_sig.into(),
            target_user_id: target_user_id.into(),
            max_idle_time: None,
            welcome_message: None,
            interrupt_mode: None,
            interrupt_speech_duration: None,
            turn_detection_mode: None,
            filter_one_word: None,
            welcome_message_priority: None,
            filter_brackets_content: None,
            ambient_sound: None,
            voice_print: None,
            turn_detection: None,
            subtitle_mode: None,
            interrupt_word_list: None,
        }
    }
}

/// Background ambience mixed under the bot's voice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AmbientSound {
    /// `coffee_shops`, `busy_office`, `street_traffic` or `evening_mountain`.
    pub scene: String,
    /// [0, 2], default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
}

/// Speaker verification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VoicePrint {
    /// 0 off (default), 1 on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u64>,
    /// Voiceprint ids (required when Mode is 1; one id supported today).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_list: Option<Vec<String>>,
}

/// Semantic turn detection tuning.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TurnDetection {
    /// `low`, `medium`, `high` or `auto` (the default, equal to `medium`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semantic_eagerness: Option<String>,
}

/// Speech recognition settings (§2.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct STTConfig {
    /// Default `zh`; see the contract for the engine lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_language: Option<Vec<String>>,
    /// Opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_param: Option<String>,
    /// ms of silence that ends a sentence, 240–2000, default 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vad_silence_time: Option<u64>,
    /// `word|weight` entries, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_word_list: Option<String>,
    /// Far-field voice suppression 0–5 (0 off, the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vad_level: Option<u64>,
}

/// The LLM the bot talks to (§2.4), a JSON string on the wire.
///
/// `LLMType`, `Model`, `APIKey` and `APIUrl` are required by the contract. Keys not modelled
/// here are kept in [`LLMConfig::extra`] and written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LLMConfig {
    /// `"openai"` for any OpenAI-compatible chat-completions endpoint.
    #[serde(rename = "LLMType")]
    pub llm_type: String,
    #[serde(rename = "Model")]
    pub model: String,
    /// Sent to the LLM as a bearer token.
    #[serde(rename = "APIKey")]
    pub api_key: Secret,
    /// The full chat-completions URL.
    #[serde(rename = "APIUrl")]
    pub api_url: String,
    /// Default false; true recommended.
    #[serde(rename = "Streaming", default, skip_serializing_if = "Option::is_none")]
    pub streaming: Option<bool>,
    #[serde(rename = "SystemPrompt", default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Seconds, 1–50, default 3.
    #[serde(rename = "Timeout", default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Context rounds kept by TRTC, 0 (default) to 50.
    #[serde(rename = "History", default, skip_serializing_if = "Option::is_none")]
    pub history: Option<u64>,
    /// 1 keeps only text whose audio was played; 0 (default) no sync.
    #[serde(rename = "HistoryMode", default, skip_serializing_if = "Option::is_none")]
    pub history_mode: Option<u64>,
    #[serde(rename = "MaxTokens", default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(rename = "Temperature", default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(rename = "TopP", default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Pre-seeded messages.
    #[serde(rename = "UserMessages", default, skip_serializing_if = "Option::is_none")]
    pub user_messages: Option<Vec<LLMMessage>>,
    /// Merged into the body of every LLM request (an object here, not a string).
    #[serde(rename = "MetaInfo", default, skip_serializing_if = "Option::is_none")]
    pub meta_info: Option<Map<String, Value>>,
    /// Keys not modelled above, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl LLMConfig {
    /// An OpenAI-compatible LLM config (`LLMType: "openai"`) with nothing optional set.
    pub fn openai(model: impl Into<String>, api_key: impl Into<Secret>, api_url: impl Into<String>) -> LLMConfig {
        LLMConfig {
            llm_type: "openai".to_owned(),
            model: model.into(),
            api_key: api_key.into(),
            api_url: api_url.into(),
            streaming: None,
            system_prompt: None,
            timeout: None,
            history: None,
            history_mode: None,
            max_tokens: None,
            temperature: None,
            top_p: None,
            user_messages: None,
            meta_info: None,
            extra: Map::new(),
        }
    }
}

/// One pre-seeded LLM message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LLMMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

/// The voice the bot speaks with (§2.5), a JSON string on the wire.
///
/// One struct for every `TTSType`: the keys each provider documents are optional fields
/// (each field says which types use it); anything else is kept in [`TTSConfig::extra`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TTSConfig {
    /// `flow`, `tencent`, `minimax`, `azure`, `cartesia`, `elevenlabs` or `custom`.
    #[serde(rename = "TTSType")]
    pub tts_type: String,
    /// flow, cartesia, elevenlabs.
    #[serde(rename = "VoiceId", default, skip_serializing_if = "Option::is_none")]
    pub voice_id: Option<String>,
    /// flow (`flow_01_turbo`), minimax, cartesia, elevenlabs.
    #[serde(rename = "Model", default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// flow [0.5, 2], tencent [-2, 6] (0 = 1×), minimax [0.5, 2].
    #[serde(rename = "Speed", default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// flow and tencent, [0, 10].
    #[serde(rename = "Volume", default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
    /// flow, [-12, 12].
    #[serde(rename = "Pitch", default, skip_serializing_if = "Option::is_none")]
    pub pitch: Option<f64>,
    /// flow (`zh`, `en`, `yue`), azure.
    #[serde(rename = "Language", default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// tencent.
    #[serde(rename = "AppId", default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<u64>,
    /// tencent (an identifier, not a secret).
    #[serde(rename = "SecretId", default, skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
    /// tencent.
    #[serde(rename = "SecretKey", default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<Secret>,
    /// tencent (a number) and minimax (a name).
    #[serde(rename = "VoiceType", default, skip_serializing_if = "Option::is_none")]
    pub voice_type: Option<VoiceType>,
    /// tencent: 1 zh, 2 en, 3 ja.
    #[serde(rename = "PrimaryLanguage", default, skip_serializing_if = "Option::is_none")]
    pub primary_language: Option<u64>,
    /// tencent.
    #[serde(rename = "FastVoiceType", default, skip_serializing_if = "Option::is_none")]
    pub fast_voice_type: Option<String>,
    /// tencent.
    #[serde(rename = "EmotionCategory", default, skip_serializing_if = "Option::is_none")]
    pub emotion_category: Option<String>,
    /// tencent, [50, 200].
    #[serde(rename = "EmotionIntensity", default, skip_serializing_if = "Option::is_none")]
    pub emotion_intensity: Option<u64>,
    /// minimax, custom.
    #[serde(rename = "APIUrl", default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// minimax, cartesia, elevenlabs, custom.
    #[serde(rename = "APIKey", default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// minimax.
    #[serde(rename = "GroupId", default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// azure.
    #[serde(rename = "SubscriptionKey", default, skip_serializing_if = "Option::is_none")]
    pub subscription_key: Option<Secret>,
    /// azure.
    #[serde(rename = "Region", default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// azure.
    #[serde(rename = "VoiceName", default, skip_serializing_if = "Option::is_none")]
    pub voice_name: Option<String>,
    /// azure, [0.5, 2].
    #[serde(rename = "Rate", default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// custom: `pcm` or `wav` (default).
    #[serde(rename = "AudioFormat", default, skip_serializing_if = "Option::is_none")]
    pub audio_format: Option<String>,
    /// custom, default 16000.
    #[serde(rename = "SampleRate", default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u64>,
    /// custom, 1 (default) or 2.
    #[serde(rename = "AudioChannel", default, skip_serializing_if = "Option::is_none")]
    pub audio_channel: Option<u64>,
    /// Keys not modelled above, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TTSConfig {
    /// A config of the given `TTSType` with nothing else set.
    pub fn new(tts_type: impl Into<String>) -> TTSConfig {
        TTSConfig {
            tts_type: tts_type.into(),
            voice_id: None,
            model: None,
            speed: None,
            volume: None,
            pitch: None,
            language: None,
            app_id: None,
            secret_id: None,
            secret_key: None,
            voice_type: None,
            primary_language: None,
            fast_voice_type: None,
            emotion_category: None,
            emotion_intensity: None,
            api_url: None,
            api_key: None,
            group_id: None,
            subscription_key: None,
            region: None,
            voice_name: None,
            rate: None,
            audio_format: None,
            sample_rate: None,
            audio_channel: None,
            extra: Map::new(),
        }
    }
}

/// `VoiceType`: Tencent Cloud TTS numbers its voices, MiniMax names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VoiceType {
    Id(u64),
    Name(String),
}

/// `StopAIConversation` (§2.6). An unknown or finished task answers
/// `FailedOperation.TaskNotExist`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopAIConversation {
    pub task_id: String,
}

/// The answer to [`StopAIConversation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopAIConversationResponse {
    pub request_id: String,
}

impl Action for StopAIConversation {
    const NAME: &'static str = "StopAIConversation";
    const RETRY_SAFE: bool = false;
    type Response = StopAIConversationResponse;
}

/// `DescribeAIConversation` (§2.7): give `TaskId`, or `SessionId` (with `SdkAppId`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAIConversation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk_app_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// The answer to [`DescribeAIConversation`]. The configs are never returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAIConversationResponse {
    /// e.g. `"2025-04-24 16:15:48.076648"`; the timezone is not documented (probably UTC+8),
    /// so it is kept as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConversationStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Only when one was given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub request_id: String,
}

impl Action for DescribeAIConversation {
    const NAME: &'static str = "DescribeAIConversation";
    const RETRY_SAFE: bool = true;
    type Response = DescribeAIConversationResponse;
}

/// `Status` of an AI conversation task. Unknown values are kept in `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ConversationStatus {
    /// Not started.
    Idle,
    Preparing,
    InProgress,
    /// Stopped; resources are being cleaned up.
    Stopped,
    /// A status this crate does not know.
    Other(String),
}

string_enum!(ConversationStatus {
    Idle => "Idle",
    Preparing => "Preparing",
    InProgress => "InProgress",
    Stopped => "Stopped",
});

/// `ControlAIConversation` (§2.8): make the bot speak a text, or call the LLM now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ControlAIConversation {
    pub task_id: String,
    pub command: ControlCommand,
    /// With [`ControlCommand::ServerPushText`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_push_text: Option<ServerPushText>,
    /// With [`ControlCommand::InvokeLLM`].
    #[serde(rename = "InvokeLLM", default, skip_serializing_if = "Option::is_none")]
    pub invoke_llm: Option<InvokeLLM>,
}

impl ControlAIConversation {
    /// A `ServerPushText` command.
    pub fn push_text(task_id: impl Into<String>, push: ServerPushText) -> ControlAIConversation {
        ControlAIConversation {
            task_id: task_id.into(),
            command: ControlCommand::ServerPushText,
            server_push_text: Some(push),
            invoke_llm: None,
        }
    }

    /// An `InvokeLLM` command.
    pub fn invoke_llm(task_id: impl Into<String>, invoke: InvokeLLM) -> ControlAIConversation {
        ControlAIConversation {
            task_id: task_id.into(),
            command: ControlCommand::InvokeLLM,
            server_push_text: None,
            invoke_llm: Some(invoke),
        }
    }
}

/// `Command` of [`ControlAIConversation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ControlCommand {
    ServerPushText,
    #[serde(rename = "InvokeLLM")]
    InvokeLLM,
}

/// Text (or audio) for the bot to speak now. All fields optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerPushText {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// May this text interrupt current speech.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt: Option<bool>,
    /// End the task after playing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_after_play: Option<bool>,
    /// Base64 mono audio at the TTS sample rate; when present, `Text` is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<String>,
    /// With Interrupt false: 0 (default) drop if busy, 1 queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_mode: Option<u64>,
    /// 0 interruptible (default), 1 not (allow-list only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u64>,
    /// Also append the text to the LLM context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_history: Option<bool>,
    /// A JSON string on the wire, bound to the subtitle clients receive.
    #[serde(default, with = "json_string::option", skip_serializing_if = "Option::is_none")]
    pub meta_info: Option<Map<String, Value>>,
}

/// Ask the LLM to answer `Content` now (the request carries `X-Invoke-LLM: 1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvokeLLM {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt: Option<bool>,
    /// China site only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental_params: Option<String>,
}

/// The answer to [`ControlAIConversation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ControlAIConversationResponse {
    pub request_id: String,
}

impl Action for ControlAIConversation {
    const NAME: &'static str = "ControlAIConversation";
    const RETRY_SAFE: bool = false;
    type Response = ControlAIConversationResponse;
}

/// `UpdateAIConversation` (§2.9): the only settings that can change mid-call. Omitted
/// fields are left as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAIConversation {
    pub task_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt_mode: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt_speech_duration: Option<u64>,
    /// A JSON string on the wire.
    #[serde(rename = "LLMConfig", default, with = "json_string::option", skip_serializing_if = "Option::is_none")]
    pub llm_config: Option<LLMConfig>,
    /// A JSON string on the wire.
    #[serde(rename = "TTSConfig", default, with = "json_string::option", skip_serializing_if = "Option::is_none")]
    pub tts_config: Option<TTSConfig>,
}

impl UpdateAIConversation {
    /// An update of `task_id` that changes nothing yet.
    pub fn new(task_id: impl Into<String>) -> UpdateAIConversation {
        UpdateAIConversation {
            task_id: task_id.into(),
            welcome_message: None,
            interrupt_mode: None,
            interrupt_speech_duration: None,
            llm_config: None,
            tts_config: None,
        }
    }
}

/// The answer to [`UpdateAIConversation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAIConversationResponse {
    pub request_id: String,
}

impl Action for UpdateAIConversation {
    const NAME: &'static str = "UpdateAIConversation";
    const RETRY_SAFE: bool = false;
    type Response = UpdateAIConversationResponse;
}
