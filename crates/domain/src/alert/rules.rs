//! The rules a supervisor configures: one [`RuleKind`] per kind of alert with its
//! thresholds, the set with its defaults, and validation that names the rule and field.
//!
//! Thresholds are signed on the wire so that a negative value from a form reaches
//! [`AlertRules::validate`] and is reported against its field, instead of failing
//! deserialisation with a message that names no field.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::fired::AlertKind;

/// A rule's stable id: chosen when the rule is created, kept across edits, and the key fired
/// alerts are de-duplicated by (with the call).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleId(String);

impl RuleId {
    /// Wraps an id; [`AlertRules::validate`] rejects blank ones.
    pub fn new(text: impl Into<String>) -> RuleId {
        RuleId(text.into())
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a rule watches for, with its thresholds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum RuleKind {
    /// The LLM's first token took more than `threshold_ms` on at least `turns_over` of the
    /// last `window` turns that reported it.
    SlowFirstToken { threshold_ms: i64, turns_over: i64, window: i64 },
    /// Any pipeline error (ASR, LLM or TTS; 908 / 10030).
    PipelineError,
    /// A turn reported at least `min_gaps` TTS discontinuities.
    TtsDiscontinuity { min_gaps: i64 },
    /// More than `max_per_minute` interruptions within one minute (0: any interruption).
    Interruptions { max_per_minute: i64 },
    /// The robot has been thinking for longer than `limit_secs`.
    ThinkingTooLong { limit_secs: i64 },
    /// The customer has said nothing for longer than `limit_secs` while the robot waits.
    CustomerSilence { limit_secs: i64 },
    /// A final customer sentence contains one of `keywords`.
    Keywords { keywords: Vec<String> },
    /// The call has lasted longer than `limit_secs`.
    CallTooLong { limit_secs: i64 },
}

impl RuleKind {
    /// Which kind of alert this rule fires.
    pub fn alert_kind(&self) -> AlertKind {
        match self {
            RuleKind::SlowFirstToken { .. } => AlertKind::SlowFirstToken,
            RuleKind::PipelineError => AlertKind::PipelineError,
            RuleKind::TtsDiscontinuity { .. } => AlertKind::TtsDiscontinuity,
            RuleKind::Interruptions { .. } => AlertKind::Interruptions,
            RuleKind::ThinkingTooLong { .. } => AlertKind::ThinkingTooLong,
            RuleKind::CustomerSilence { .. } => AlertKind::CustomerSilence,
            RuleKind::Keywords { .. } => AlertKind::Keywords,
            RuleKind::CallTooLong { .. } => AlertKind::CallTooLong,
        }
    }
}

/// One configured rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRule {
    pub id: RuleId,
    /// A disabled rule never fires.
    pub enabled: bool,
    pub kind: RuleKind,
}

/// Every configured rule, in the order the settings page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRules {
    pub rules: Vec<AlertRule>,
}

impl Default for AlertRules {
    fn default() -> AlertRules {
        AlertRules::defaults()
    }
}

/// Why a set of rules cannot be used. Fields are named as they are spelt on the wire, so
/// the settings page can point at the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The rule at `position` (from 1) has a blank id.
    #[error("alert rule #{position}: id is blank")]
    BlankId { position: usize },
    /// Two rules share an id.
    #[error("alert rule {rule}: id is used by more than one rule")]
    DuplicateId { rule: RuleId },
    /// A threshold or keyword is out of range.
    #[error("alert rule {rule}: {field} {reason}")]
    BadValue { rule: RuleId, field: String, reason: String },
}

impl RuleError {
    /// The wire name of the offending field (`id` for id problems).
    pub fn field(&self) -> &str {
        match self {
            RuleError::BlankId { .. } | RuleError::DuplicateId { .. } => "id",
            RuleError::BadValue { field, .. } => field,
        }
    }
}

/// The thresholds a supervisor may set; anything outside is a typo, not a policy.
const FIRST_TOKEN_MS: RangeInclusive<i64> = 1..=120_000;
const WINDOW_TURNS: RangeInclusive<i64> = 1..=100;
const TTS_GAPS: RangeInclusive<i64> = 1..=1_000;
const INTERRUPTIONS_PER_MINUTE: RangeInclusive<i64> = 0..=60;
const THINKING_SECS: RangeInclusive<i64> = 1..=3_600;
const SILENCE_SECS: RangeInclusive<i64> = 1..=3_600;
const CALL_SECS: RangeInclusive<i64> = 1..=86_400;
const KEYWORD_CHARS: usize = 100;

/// The default keywords: a customer asking for a person, a complaint or a manager.
pub(super) const DEFAULT_KEYWORDS: [&str; 6] = ["人工", "投诉", "经理", "human", "complaint", "manager"];

impl AlertRules {
    /// One enabled rule of each kind with starting thresholds for a customer-service line:
    /// first token over 2000 ms on 3 of the last 5 turns, any pipeline error, any TTS
    /// discontinuity, more than 4 interruptions a minute, thinking over 8 s, silence over
    /// 20 s, the keywords 人工 / 投诉 / 经理 / human / complaint / manager, calls over 15 min.
    pub fn defaults() -> AlertRules {
        let rule = |id: &str, kind| AlertRule { id: RuleId::new(id), enabled: true, kind };
        AlertRules {
            rules: vec![
                rule("slow-first-token", RuleKind::SlowFirstToken { threshold_ms: 2_000, turns_over: 3, window: 5 }),
                rule("pipeline-error", RuleKind::PipelineError),
                rule("tts-discontinuity", RuleKind::TtsDiscontinuity { min_gaps: 1 }),
                rule("interruptions", RuleKind::Interruptions { max_per_minute: 4 }),
                rule("robot-thinking", RuleKind::ThinkingTooLong { limit_secs: 8 }),
                rule("customer-silence", RuleKind::CustomerSilence { limit_secs: 20 }),
                rule(
                    "keywords",
                    RuleKind::Keywords { keywords: DEFAULT_KEYWORDS.iter().map(|k| (*k).to_owned()).collect() },
                ),
                rule("call-length", RuleKind::CallTooLong { limit_secs: 15 * 60 }),
            ],
        }
    }

    /// Checks every rule; the first problem found is returned.
    ///
    /// # Errors
    /// [`RuleError`] naming the rule and field: a blank or repeated id, a threshold or window
    /// of zero, negative or absurd size, more slow turns than the window holds, an empty
    /// keyword list, or a blank or overlong keyword.
    pub fn validate(&self) -> Result<(), RuleError> {
        let mut seen = BTreeSet::new();
        for (index, rule) in self.rules.iter().enumerate() {
            if rule.id.as_str().trim().is_empty() {
                return Err(RuleError::BlankId { position: index + 1 });
            }
            if !seen.insert(&rule.id) {
                return Err(RuleError::DuplicateId { rule: rule.id.clone() });
            }
            validate_kind(&rule.id, &rule.kind)?;
        }
        Ok(())
    }

    /// The rule with this id.
    pub fn get(&self, id: &RuleId) -> Option<&AlertRule> {
        self.rules.iter().find(|rule| rule.id == *id)
    }
}

fn validate_kind(rule: &RuleId, kind: &RuleKind) -> Result<(), RuleError> {
    let bad = |field: &str, reason: String| RuleError::BadValue { rule: rule.clone(), field: field.to_owned(), reason };
    let within = |field: &str, value: i64, range: RangeInclusive<i64>| {
        if range.contains(&value) {
            Ok(())
        } else {
            Err(bad(field, format!("is {value}; it must be between {} and {}", range.start(), range.end())))
        }
    };
    match kind {
        RuleKind::SlowFirstToken { threshold_ms, turns_over, window } => {
            within("thresholdMs", *threshold_ms, FIRST_TOKEN_MS)?;
            within("window", *window, WINDOW_TURNS)?;
            within("turnsOver", *turns_over, WINDOW_TURNS)?;
            if turns_over > window {
                return Err(bad(
                    "turnsOver",
                    format!("is {turns_over}; it cannot exceed the window of {window} turns"),
                ));
            }
        }
        RuleKind::PipelineError => {}
        RuleKind::TtsDiscontinuity { min_gaps } => within("minGaps", *min_gaps, TTS_GAPS)?,
        RuleKind::Interruptions { max_per_minute } => {
            within("maxPerMinute", *max_per_minute, INTERRUPTIONS_PER_MINUTE)?;
        }
        RuleKind::ThinkingTooLong { limit_secs } => within("limitSecs", *limit_secs, THINKING_SECS)?,
        RuleKind::CustomerSilence { limit_secs } => within("limitSecs", *limit_secs, SILENCE_SECS)?,
        RuleKind::CallTooLong { limit_secs } => within("limitSecs", *limit_secs, CALL_SECS)?,
        RuleKind::Keywords { keywords } => {
            if keywords.is_empty() {
                return Err(bad("keywords", "is empty; add at least one keyword".to_owned()));
            }
            for (index, keyword) in keywords.iter().enumerate() {
                let field = format!("keywords[{index}]");
                if keyword.trim().is_empty() {
                    return Err(bad(&field, "is blank".to_owned()));
                }
                let chars = keyword.trim().chars().count();
                if chars > KEYWORD_CHARS {
                    return Err(bad(&field, format!("has {chars} characters; at most {KEYWORD_CHARS} are allowed")));
                }
            }
        }
    }
    Ok(())
}
