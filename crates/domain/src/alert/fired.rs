//! What a rule reports when it fires: [`FiredAlert`] with structured [`AlertDetail`] (the UI
//! localises it from the data), and a short one-line summary in zh-CN or English for OS
//! notifications and logs.

use serde::{Deserialize, Serialize};

use super::rules::RuleId;
use crate::api::Language;
use crate::event::PipelineStage;
use crate::ids::{RoundId, SourceMs, TaskId};

/// Which kind of rule fired; spelt on the wire as [`AlertKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AlertKind {
    SlowFirstToken,
    PipelineError,
    TtsDiscontinuity,
    Interruptions,
    ThinkingTooLong,
    CustomerSilence,
    Keywords,
    CallTooLong,
}

impl AlertKind {
    /// Every kind, in the order the settings page lists them.
    pub const ALL: [AlertKind; 8] = [
        AlertKind::SlowFirstToken,
        AlertKind::PipelineError,
        AlertKind::TtsDiscontinuity,
        AlertKind::Interruptions,
        AlertKind::ThinkingTooLong,
        AlertKind::CustomerSilence,
        AlertKind::Keywords,
        AlertKind::CallTooLong,
    ];

    /// The wire spelling (also the `type` tag of [`crate::alert::RuleKind`] and
    /// [`AlertDetail`]), for a storage column.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::SlowFirstToken => "slowFirstToken",
            AlertKind::PipelineError => "pipelineError",
            AlertKind::TtsDiscontinuity => "ttsDiscontinuity",
            AlertKind::Interruptions => "interruptions",
            AlertKind::ThinkingTooLong => "thinkingTooLong",
            AlertKind::CustomerSilence => "customerSilence",
            AlertKind::Keywords => "keywords",
            AlertKind::CallTooLong => "callTooLong",
        }
    }

    /// The kind for a wire spelling.
    pub fn parse(text: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// What was observed when a rule fired, with the rule's threshold beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum AlertDetail {
    /// `turns_over` of the `window` turns looked at (at most the rule's window) had a first
    /// token over `threshold_ms`; the slowest took `worst_ms`, the one that tipped it
    /// `latest_ms`.
    SlowFirstToken { threshold_ms: u64, turns_over: u64, window: u64, worst_ms: u64, latest_ms: u64 },
    /// A pipeline error; `meaning` is the documented code's key (`llm_timeout`, …), `None`
    /// for an undocumented code. `message` is TRTC's free text.
    PipelineError { stage: PipelineStage, code: i64, meaning: Option<String>, message: String },
    /// A turn reported `gaps` TTS discontinuities; the rule fires from `min_gaps`.
    TtsDiscontinuity { gaps: u64, min_gaps: u64 },
    /// `count` interruptions fell within one minute; the limit is `max_per_minute`.
    Interruptions { count: u64, max_per_minute: u64 },
    /// The robot has been thinking since `since`: `elapsed_ms` when evaluated.
    ThinkingTooLong { since: SourceMs, elapsed_ms: u64, limit_secs: u64 },
    /// The customer has been silent since `since`: `elapsed_ms` when evaluated.
    CustomerSilence { since: SourceMs, elapsed_ms: u64, limit_secs: u64 },
    /// The customer's final `sentence` contains `keyword` (as configured).
    Keywords { keyword: String, sentence: String },
    /// The call started at `started` and had lasted `elapsed_ms` when evaluated.
    CallTooLong { started: SourceMs, elapsed_ms: u64, limit_secs: u64 },
}

impl AlertDetail {
    /// The kind of rule that reports this detail.
    pub fn kind(&self) -> AlertKind {
        match self {
            AlertDetail::SlowFirstToken { .. } => AlertKind::SlowFirstToken,
            AlertDetail::PipelineError { .. } => AlertKind::PipelineError,
            AlertDetail::TtsDiscontinuity { .. } => AlertKind::TtsDiscontinuity,
            AlertDetail::Interruptions { .. } => AlertKind::Interruptions,
            AlertDetail::ThinkingTooLong { .. } => AlertKind::ThinkingTooLong,
            AlertDetail::CustomerSilence { .. } => AlertKind::CustomerSilence,
            AlertDetail::Keywords { .. } => AlertKind::Keywords,
            AlertDetail::CallTooLong { .. } => AlertKind::CallTooLong,
        }
    }

    /// One line in `language`, without the call's name (the notification's title says it).
    pub fn summary(&self, language: Language) -> String {
        let zh = language == Language::ZhCn;
        match self {
            AlertDetail::SlowFirstToken { threshold_ms, turns_over, window, worst_ms, .. } => {
                if zh {
                    format!("大模型响应慢：最近 {window} 轮中有 {turns_over} 轮首字延迟超过 {threshold_ms} 毫秒（最慢 {worst_ms} 毫秒）")
                } else {
                    format!(
                        "Slow LLM: first token over {threshold_ms} ms on {turns_over} of the last {} (worst {worst_ms} ms)",
                        plural(*window, "turn")
                    )
                }
            }
            AlertDetail::PipelineError { stage, code, meaning, .. } => {
                let meaning = crate::event::meaning_text(meaning.as_deref(), language);
                if zh {
                    format!("{}错误 {code}：{meaning}", stage_name(*stage, language))
                } else {
                    format!("{} error {code}: {meaning}", stage_name(*stage, language))
                }
            }
            AlertDetail::TtsDiscontinuity { gaps, .. } => {
                if zh {
                    format!("语音合成不连续：一轮中断续 {gaps} 次")
                } else {
                    format!("TTS audio broke up: {} in one turn", plural(*gaps, "gap"))
                }
            }
            AlertDetail::Interruptions { count, max_per_minute } => {
                if zh {
                    format!("1 分钟内被打断 {count} 次（上限每分钟 {max_per_minute} 次）")
                } else {
                    format!("{} within a minute (limit {max_per_minute} a minute)", plural(*count, "interruption"))
                }
            }
            AlertDetail::ThinkingTooLong { elapsed_ms, limit_secs, .. } => {
                let elapsed = tenths(*elapsed_ms);
                if zh {
                    format!("机器人已思考 {elapsed} 秒（上限 {limit_secs} 秒）")
                } else {
                    format!("Robot thinking for {elapsed} s (limit {limit_secs} s)")
                }
            }
            AlertDetail::CustomerSilence { elapsed_ms, limit_secs, .. } => {
                let elapsed = tenths(*elapsed_ms);
                if zh {
                    format!("客户已沉默 {elapsed} 秒（上限 {limit_secs} 秒）")
                } else {
                    format!("Customer silent for {elapsed} s (limit {limit_secs} s)")
                }
            }
            AlertDetail::Keywords { keyword, sentence } => {
                let sentence = shorten(sentence);
                if zh {
                    format!("客户提到“{keyword}”：“{sentence}”")
                } else {
                    format!("Customer said “{keyword}”: “{sentence}”")
                }
            }
            AlertDetail::CallTooLong { elapsed_ms, limit_secs, .. } => {
                let elapsed = duration(elapsed_ms / 1_000, language);
                let limit = duration(*limit_secs, language);
                if zh {
                    format!("通话已持续 {elapsed}（上限 {limit}）")
                } else {
                    format!("Call running for {elapsed} (limit {limit})")
                }
            }
        }
    }
}

/// An alert that fired for one call under one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FiredAlert {
    pub call: TaskId,
    pub rule: RuleId,
    /// Always `detail.kind()`; kept beside it for listing and filtering.
    pub kind: AlertKind,
    /// When the condition first held, in source time: the event that completed it, or for
    /// thinking, silence and call length the instant the limit was passed.
    pub at: SourceMs,
    /// The turn it concerns, when there is one.
    pub round: Option<RoundId>,
    pub detail: AlertDetail,
}

impl FiredAlert {
    /// One line for an OS notification or a log, in zh-CN or English.
    pub fn summary(&self, language: Language) -> String {
        self.detail.summary(language)
    }
}

fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Milliseconds as seconds with one decimal, without floating point.
fn tenths(ms: u64) -> String {
    format!("{}.{}", ms / 1_000, ms % 1_000 / 100)
}

/// Whole seconds as "1 h 5 min", "15 min 3 s", "40 s" (or 1小时5分钟, …).
fn duration(secs: u64, language: Language) -> String {
    let (h, m, s) = (secs / 3_600, secs % 3_600 / 60, secs % 60);
    let units: [&str; 3] = match language {
        Language::ZhCn => ["小时", "分钟", "秒"],
        Language::En => [" h", " min", " s"],
    };
    let parts: Vec<String> = [(h, units[0]), (m, units[1]), (s, units[2])]
        .into_iter()
        .filter(|(value, _)| *value > 0)
        .map(|(value, unit)| format!("{value}{unit}"))
        .collect();
    match (parts.is_empty(), language) {
        (true, Language::ZhCn) => "0秒".to_owned(),
        (true, Language::En) => "0 s".to_owned(),
        (false, Language::ZhCn) => parts.concat(),
        (false, Language::En) => parts.join(" "),
    }
}

/// A sentence cut to fit a notification.
fn shorten(sentence: &str) -> String {
    const MAX_CHARS: usize = 40;
    let sentence = sentence.trim();
    if sentence.chars().count() <= MAX_CHARS {
        sentence.to_owned()
    } else {
        let mut cut: String = sentence.chars().take(MAX_CHARS).collect();
        cut.push('…');
        cut
    }
}

fn stage_name(stage: PipelineStage, language: Language) -> &'static str {
    match (stage, language) {
        (PipelineStage::Asr, Language::ZhCn) => "语音识别",
        (PipelineStage::Llm, Language::ZhCn) => "大模型",
        (PipelineStage::Tts, Language::ZhCn) => "语音合成",
        (PipelineStage::Other, Language::ZhCn) => "流水线",
        (PipelineStage::Asr, Language::En) => "ASR",
        (PipelineStage::Llm, Language::En) => "LLM",
        (PipelineStage::Tts, Language::En) => "TTS",
        (PipelineStage::Other, Language::En) => "Pipeline",
    }
}
