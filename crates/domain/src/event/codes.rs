//! The typed meaning of TRTC's numeric codes and metric names.
//!
//! Every documented code gets a variant; an undocumented one is kept as `Other(code)` so
//! nothing TRTC sends is lost or misread. Coded enums travel as their TRTC number, so a
//! stored event reads the same as the callback it came from. Build them with `From<u32>`
//! (`Other(0)` built by hand would not equal the documented variant for 0).

use serde::{Deserialize, Serialize};

/// Declares an enum over documented numeric codes, with `Other(u32)` for the rest.
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $code:literal => $variant:ident, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(from = "u32", into = "u32")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A code the contract does not document.
            Other(u32),
        }

        impl $name {
            /// The TRTC number.
            pub fn code(self) -> u32 {
                match self {
                    $( $name::$variant => $code, )+
                    $name::Other(code) => code,
                }
            }
        }

        impl From<u32> for $name {
            fn from(code: u32) -> $name {
                match code {
                    $( $code => $name::$variant, )+
                    other => $name::Other(other),
                }
            }
        }

        impl From<$name> for u32 {
            fn from(value: $name) -> u32 {
                value.code()
            }
        }
    };
}

coded_enum! {
    /// Why an AI conversation task stopped (902 `LeaveCode`).
    pub enum LeaveCode {
        /// Stopped through `StopAIConversation`.
        0 => StoppedByApi,
        /// The customer's backend removed the robot from the room.
        1 => RobotRemovedByCustomer,
        /// The customer's backend dismissed the room.
        2 => RoomDismissedByCustomer,
        /// The TRTC server removed the robot.
        3 => RobotRemovedByServer,
        /// The TRTC server dismissed the room.
        4 => RoomDismissedByServer,
        /// TRTC internal error; Tencent advises a retry.
        98 => InternalError,
        /// No user stream besides the robot for longer than `MaxIdleTime`.
        99 => IdleTimeout,
    }
}

impl LeaveCode {
    /// Whether the call ended for a reason a supervisor should look at: a server-side
    /// removal or dismissal, an internal error, or an undocumented code. Stops by the
    /// customer's own backend and the idle timeout (the customer hung up) are normal ends.
    pub fn is_abnormal(self) -> bool {
        !matches!(
            self,
            LeaveCode::StoppedByApi
                | LeaveCode::RobotRemovedByCustomer
                | LeaveCode::RoomDismissedByCustomer
                | LeaveCode::IdleTimeout
        )
    }
}

coded_enum! {
    /// Why a cloud recorder stopped (302 `LeaveCode`); not the AI task's codes.
    pub enum RecorderLeaveCode {
        0 => StoppedByApi,
        1 => RecorderRemovedByCustomer,
        2 => RoomDismissedByCustomer,
        3 => RemovedByServer,
        4 => DismissedByServer,
        /// No anchor in the room for `MaxIdleTime`.
        99 => NoAnchor,
        100 => RoomTimeout,
        /// The same recorder user id entered again.
        101 => SameUserReentered,
    }
}

coded_enum! {
    /// A participant's role (`Role`).
    pub enum Role {
        20 => Anchor,
        21 => Audience,
    }
}

coded_enum! {
    /// The participant's platform (`TerminalType`, 103).
    pub enum TerminalType {
        1 => Windows,
        2 => Android,
        3 => Ios,
        4 => Linux,
        /// Documented as "other" (100).
        100 => OtherPlatform,
    }
}

coded_enum! {
    /// The participant's SDK (`UserType`, 103).
    pub enum UserType {
        1 => WebRtc,
        2 => MiniProgram,
        3 => NativeSdk,
    }
}

coded_enum! {
    /// Why a participant entered (103 `Reason`).
    pub enum EnterReason {
        1 => Normal,
        2 => NetworkChange,
        3 => TimeoutRetry,
        4 => CrossRoom,
    }
}

coded_enum! {
    /// Why a participant left (104 `Reason`). An Android force-kill shows as `Timeout`.
    pub enum ExitReason {
        1 => Normal,
        2 => Timeout,
        3 => Removed,
        4 => CrossRoomEnded,
        5 => ProcessKilled,
    }
}

coded_enum! {
    /// How an upload ended (305 `LeaveCode`/`Status`, 310 `Status`).
    pub enum UploadStatus {
        0 => AllUploaded,
        /// Finished, but at least one file is stuck on the server or backup storage.
        1 => SomeFilesStuck,
        /// Stuck files were later recovered and uploaded.
        2 => StuckFilesRecovered,
    }
}

coded_enum! {
    /// The outcome of a VOD commit (311 `Status`).
    pub enum VodStatus {
        0 => Committed,
        1 => Stuck,
        2 => Failed,
    }
}

/// Whether something started (901, 301, 303 `Status`: 0 ok, anything else failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed,
}

impl Outcome {
    /// 0 is success; every other status is a failure.
    pub fn from_status(status: u64) -> Outcome {
        if status == 0 {
            Outcome::Ok
        } else {
            Outcome::Failed
        }
    }
}

/// A kind of published stream (201–206).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    Video,
    Audio,
    /// The auxiliary stream (screen share).
    Substream,
}

/// Who spoke a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    User,
    Robot,
}

/// The robot's state (10001 `state`). Declared in the order a round goes through them,
/// which is also the tie-break when two states share a source time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RobotState {
    Listening,
    Thinking,
    Speaking,
    Interrupted,
    Finished,
}

impl RobotState {
    /// The state for a 10001 `state` number; `None` for anything but 1–5 (0 and 6 are
    /// local-only values in Tencent's UI kit, never on the wire).
    pub fn from_code(code: u64) -> Option<RobotState> {
        match code {
            1 => Some(RobotState::Listening),
            2 => Some(RobotState::Thinking),
            3 => Some(RobotState::Speaking),
            4 => Some(RobotState::Interrupted),
            5 => Some(RobotState::Finished),
            _ => None,
        }
    }

    /// The 10001 `state` number.
    pub fn code(self) -> u8 {
        match self {
            RobotState::Listening => 1,
            RobotState::Thinking => 2,
            RobotState::Speaking => 3,
            RobotState::Interrupted => 4,
            RobotState::Finished => 5,
        }
    }
}

/// A per-round metric name (906 `Metric` / 10020 `metric`). Travels as the TRTC name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum MetricName {
    /// ASR latency in ms (includes `VadSilenceTime`).
    AsrLatency,
    LlmNetworkLatency,
    /// Time to the LLM's first token in ms (includes network).
    LlmFirstToken,
    TtsNetworkLatency,
    /// Time to the first TTS audio frame in ms (includes network).
    TtsFirstFrameLatency,
    /// Count of gaps between consecutive streaming TTS requests.
    TtsDiscontinuity,
    /// Marks the round as interrupted (value semantics UNCONFIRMED).
    Interruption,
    /// A name the contract does not list.
    Other(String),
}

impl MetricName {
    /// The seven documented names, in the contract's order.
    pub const DOCUMENTED: [MetricName; 7] = [
        MetricName::AsrLatency,
        MetricName::LlmNetworkLatency,
        MetricName::LlmFirstToken,
        MetricName::TtsNetworkLatency,
        MetricName::TtsFirstFrameLatency,
        MetricName::TtsDiscontinuity,
        MetricName::Interruption,
    ];

    /// The TRTC spelling.
    pub fn as_str(&self) -> &str {
        match self {
            MetricName::AsrLatency => "asr_latency",
            MetricName::LlmNetworkLatency => "llm_network_latency",
            MetricName::LlmFirstToken => "llm_first_token",
            MetricName::TtsNetworkLatency => "tts_network_latency",
            MetricName::TtsFirstFrameLatency => "tts_first_frame_latency",
            MetricName::TtsDiscontinuity => "tts_discontinuity",
            MetricName::Interruption => "interruption",
            MetricName::Other(name) => name,
        }
    }

    /// The name for a TRTC spelling.
    pub fn parse(name: &str) -> MetricName {
        MetricName::DOCUMENTED
            .into_iter()
            .find(|known| known.as_str() == name)
            .unwrap_or_else(|| MetricName::Other(name.to_owned()))
    }
}

impl From<String> for MetricName {
    fn from(name: String) -> MetricName {
        MetricName::parse(&name)
    }
}

impl From<MetricName> for String {
    fn from(name: MetricName) -> String {
        name.as_str().to_owned()
    }
}

/// Which stage of the ASR → LLM → TTS pipeline failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineStage {
    Asr,
    Llm,
    Tts,
    Other,
}

impl PipelineStage {
    /// The stage an error metric names (`asr_error`, `llm_error`, `tts_error`), else the one
    /// its code's range implies (301xx ASR, 302xx LLM, 303xx TTS), else `Other`.
    pub fn classify(metric: &str, code: i64) -> PipelineStage {
        match metric {
            "asr_error" => PipelineStage::Asr,
            "llm_error" => PipelineStage::Llm,
            "tts_error" => PipelineStage::Tts,
            _ => match code / 100 {
                301 => PipelineStage::Asr,
                302 => PipelineStage::Llm,
                303 => PipelineStage::Tts,
                _ => PipelineStage::Other,
            },
        }
    }
}

/// A pipeline error as reported by 908 or 10030.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PipelineError {
    pub stage: PipelineStage,
    pub code: i64,
    /// Free text; third-party error details are embedded here.
    pub message: String,
    /// The metric name as sent (`llm_error`, …), kept for display.
    pub metric: String,
}

impl PipelineError {
    /// A short stable key for a documented code (the UI localises it), `None` otherwise.
    pub fn meaning(&self) -> Option<&'static str> {
        match self.code {
            30100 => Some("asr_timeout"),
            30102 => Some("asr_internal_error"),
            30200 => Some("llm_timeout"),
            30201 => Some("llm_rate_limited"),
            30202 => Some("llm_failed"),
            30300 => Some("tts_timeout"),
            30301 => Some("tts_rate_limited"),
            30302 => Some("tts_failed"),
            _ => None,
        }
    }

    /// What the code means, in `language` (the contract's table, §3.3).
    pub fn meaning_text(&self, language: crate::api::Language) -> &'static str {
        meaning_text(self.meaning(), language)
    }
}

/// The text for a key of [`PipelineError::meaning`] (`None`: an undocumented code).
pub fn meaning_text(key: Option<&str>, language: crate::api::Language) -> &'static str {
    let (en, zh) = match key {
        Some("asr_timeout") => ("ASR request timed out", "语音识别请求超时"),
        Some("asr_internal_error") => ("ASR internal error", "语音识别内部错误"),
        Some("llm_timeout") => ("LLM request timed out", "大模型请求超时"),
        Some("llm_rate_limited") => ("LLM rate limited", "大模型请求被限流"),
        Some("llm_failed") => ("LLM returned a failure", "大模型返回失败"),
        Some("tts_timeout") => ("TTS request timed out", "语音合成请求超时"),
        Some("tts_rate_limited") => ("TTS rate limited", "语音合成请求被限流"),
        Some("tts_failed") => ("TTS returned a failure", "语音合成返回失败"),
        _ => ("undocumented error code", "未公开的错误码"),
    };
    match language {
        crate::api::Language::ZhCn => zh,
        crate::api::Language::En => en,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn documented_leave_codes_map_both_ways_and_unknown_ones_are_kept() {
        for code in [0, 1, 2, 3, 4, 98, 99] {
            let leave = LeaveCode::from(code);
            assert!(!matches!(leave, LeaveCode::Other(_)), "{code} is documented");
            assert_eq!(leave.code(), code);
        }
        assert_eq!(LeaveCode::from(7), LeaveCode::Other(7));
        assert_eq!(serde_json::to_string(&LeaveCode::InternalError).unwrap(), "98");
        assert_eq!(serde_json::from_str::<LeaveCode>("12").unwrap(), LeaveCode::Other(12));
    }

    #[test]
    fn only_server_side_and_internal_stops_are_abnormal() {
        let abnormal: Vec<u32> =
            [0, 1, 2, 3, 4, 98, 99, 5].into_iter().filter(|c| LeaveCode::from(*c).is_abnormal()).collect();
        assert_eq!(abnormal, vec![3, 4, 98, 5]);
    }

    #[test]
    fn metric_names_travel_as_their_trtc_spelling() {
        for name in MetricName::DOCUMENTED {
            let json = serde_json::to_string(&name).unwrap();
            assert_eq!(json, format!("\"{}\"", name.as_str()));
            assert_eq!(serde_json::from_str::<MetricName>(&json).unwrap(), name);
        }
        assert_eq!(MetricName::parse("vad_latency"), MetricName::Other("vad_latency".into()));
    }

    #[test]
    fn the_stage_comes_from_the_metric_name_else_from_the_code_range() {
        assert_eq!(PipelineStage::classify("llm_error", 30300), PipelineStage::Llm);
        assert_eq!(PipelineStage::classify("llm_first_token", 30102), PipelineStage::Asr);
        assert_eq!(PipelineStage::classify("", 30201), PipelineStage::Llm);
        assert_eq!(PipelineStage::classify("", 30302), PipelineStage::Tts);
        assert_eq!(PipelineStage::classify("", 500), PipelineStage::Other);
    }

    #[test]
    fn every_documented_error_code_has_a_meaning() {
        let error =
            |code| PipelineError { stage: PipelineStage::Other, code, message: String::new(), metric: String::new() };
        for code in [30100, 30102, 30200, 30201, 30202, 30300, 30301, 30302] {
            assert!(error(code).meaning().is_some(), "{code} is documented");
        }
        assert_eq!(error(30200).meaning(), Some("llm_timeout"));
        assert_eq!(error(30101).meaning(), None, "30101 is not documented");
    }

    #[test]
    fn robot_states_map_to_their_wire_numbers() {
        for code in 1..=5 {
            assert_eq!(u64::from(RobotState::from_code(code).unwrap().code()), code);
        }
        assert_eq!(RobotState::from_code(0), None);
        assert_eq!(RobotState::from_code(6), None);
    }
}
