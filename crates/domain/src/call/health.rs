//! How a call is doing, for the wall: a level, the reasons behind it (with their data),
//! and a comparable [`Severity`] so the wall can put the worst calls first.

use std::cmp::Reverse;

use serde::{Deserialize, Serialize};

use super::{Call, CallStatus, Turn};
use crate::event::{LeaveCode, MetricName, PipelineStage, RobotState};
use crate::ids::SourceMs;

/// Thresholds for [`Call::health`]. The defaults are starting points for a customer-service
/// line; alert rules in the engine may use their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthPolicy {
    /// ASR latency above this is slow. Default 2500 ms (it includes `VadSilenceTime`,
    /// 1000 ms by default).
    pub asr_slow_ms: f64,
    /// LLM first token above this is slow. Default 2000 ms.
    pub llm_first_token_slow_ms: f64,
    /// TTS first frame above this is slow. Default 1500 ms.
    pub tts_first_frame_slow_ms: f64,
    /// How many recent turns are looked at. Default 5.
    pub window_turns: usize,
    /// A stage is slow when at least this many turns of the window are over its
    /// threshold. Default 2 (of 5).
    pub slow_turns: usize,
    /// A robot thinking longer than this is stuck. Default 6000 ms.
    pub thinking_too_long_ms: u64,
    /// This many interrupted turns within the window is an interruption storm. Default 3.
    pub interrupted_turns: usize,
}

impl Default for HealthPolicy {
    fn default() -> HealthPolicy {
        HealthPolicy {
            asr_slow_ms: 2500.0,
            llm_first_token_slow_ms: 2000.0,
            tts_first_frame_slow_ms: 1500.0,
            window_turns: 5,
            slow_turns: 2,
            thinking_too_long_ms: 6000,
            interrupted_turns: 3,
        }
    }
}

/// How bad a call is. Ordered from least to most urgent for a live wall: ended calls sort
/// below every live call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthLevel {
    Ended,
    Healthy,
    Degraded,
    Failing,
}

/// Why a call is not simply healthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum HealthReason {
    /// 901 reported a failed start.
    StartFailed,
    /// A pipeline error in the recent turns (one reason per distinct stage and code).
    PipelineError {
        stage: PipelineStage,
        code: i64,
    },
    /// 902 with an abnormal [`LeaveCode`].
    EndedAbnormally {
        leave_code: LeaveCode,
    },
    /// The robot has been thinking for `secs` seconds.
    ThinkingTooLong {
        secs: u64,
    },
    /// `turns_over` of the last `of` turns that reported LLM first token were over the
    /// threshold; `ms` is the worst of them.
    SlowLlm {
        ms: u64,
        turns_over: usize,
        of: usize,
    },
    SlowAsr {
        ms: u64,
        turns_over: usize,
        of: usize,
    },
    SlowTts {
        ms: u64,
        turns_over: usize,
        of: usize,
    },
    /// TTS stream gaps reported in the recent turns.
    TtsDiscontinuity {
        count: u64,
    },
    /// `count` of the last `of` turns were interrupted.
    Interruptions {
        count: usize,
        of: usize,
    },
}

impl HealthReason {
    /// How urgent the reason is, higher first. Stable: the UI may rely on the order.
    pub fn rank(&self) -> u8 {
        match self {
            HealthReason::StartFailed => 100,
            HealthReason::PipelineError { .. } => 90,
            HealthReason::EndedAbnormally { .. } => 80,
            HealthReason::ThinkingTooLong { .. } => 70,
            HealthReason::SlowLlm { .. } => 60,
            HealthReason::SlowAsr { .. } => 55,
            HealthReason::SlowTts { .. } => 50,
            HealthReason::TtsDiscontinuity { .. } => 40,
            HealthReason::Interruptions { .. } => 30,
        }
    }

    /// The level this reason puts a live call at.
    pub fn level(&self) -> HealthLevel {
        match self {
            HealthReason::StartFailed | HealthReason::PipelineError { .. } | HealthReason::EndedAbnormally { .. } => {
                HealthLevel::Failing
            }
            _ => HealthLevel::Degraded,
        }
    }
}

/// A call's health: its level and the reasons, most severe first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub level: HealthLevel,
    pub reasons: Vec<HealthReason>,
}

/// A comparable summary of [`Health`]: greater is worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Severity {
    pub level: HealthLevel,
    pub worst_reason: u8,
    pub reasons: usize,
}

impl Health {
    /// The comparable summary the wall sorts by (greater is worse).
    pub fn severity(&self) -> Severity {
        Severity {
            level: self.level,
            worst_reason: self.reasons.first().map_or(0, HealthReason::rank),
            reasons: self.reasons.len(),
        }
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // rounded, clamped at 0
fn whole(value: f64) -> u64 {
    value.max(0.0).round() as u64
}

/// The values of `metric` in `window`, and the reason if enough of them are over `limit`.
fn slow(
    window: &[&Turn],
    metric: &MetricName,
    limit: f64,
    policy: &HealthPolicy,
    reason: fn(u64, usize, usize) -> HealthReason,
) -> Option<HealthReason> {
    let values: Vec<f64> = window.iter().filter_map(|turn| turn.metrics().get(metric)).map(|s| s.value).collect();
    let over: Vec<f64> = values.iter().copied().filter(|v| *v > limit).collect();
    let worst = over.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (over.len() >= policy.slow_turns.max(1)).then(|| reason(whole(worst), over.len(), values.len()))
}

impl Call {
    /// The call's health under `policy` at `now` (only "thinking too long" depends on it).
    ///
    /// Ended calls have level [`HealthLevel::Ended`] whatever their reasons, so that a
    /// live wall sorts them last; a failed start is [`HealthLevel::Failing`].
    pub fn health(&self, policy: &HealthPolicy, now: SourceMs) -> Health {
        let turns = self.turns();
        let window = &turns[turns.len().saturating_sub(policy.window_turns)..];
        let mut reasons = Vec::new();

        match self.status() {
            CallStatus::StartFailed => reasons.push(HealthReason::StartFailed),
            CallStatus::Ended { leave_code } if leave_code.is_abnormal() => {
                reasons.push(HealthReason::EndedAbnormally { leave_code });
            }
            _ => {}
        }

        // Errors in the window's turns, and round-less errors since the window began;
        // most recent first, one per stage and code.
        let since = window.first().map_or(SourceMs(0), |turn| turn.first_ms());
        let mut errors: Vec<_> = window
            .iter()
            .flat_map(|turn| turn.errors())
            .chain(self.loose_errors().iter().filter(|e| e.at >= since))
            .collect();
        errors.sort_by_key(|e| Reverse((e.at, e.error.stage, e.error.code)));
        for error in errors {
            let reason = HealthReason::PipelineError { stage: error.error.stage, code: error.error.code };
            if !reasons.contains(&reason) {
                reasons.push(reason);
            }
        }

        if self.is_live() {
            if let Some(robot) = self.robot_state().filter(|r| r.state == RobotState::Thinking) {
                let thinking = now.since(robot.at);
                if thinking > policy.thinking_too_long_ms {
                    reasons.push(HealthReason::ThinkingTooLong { secs: thinking / 1000 });
                }
            }
        }

        reasons.extend(slow(
            window,
            &MetricName::LlmFirstToken,
            policy.llm_first_token_slow_ms,
            policy,
            |ms, turns_over, of| HealthReason::SlowLlm { ms, turns_over, of },
        ));
        reasons.extend(slow(window, &MetricName::AsrLatency, policy.asr_slow_ms, policy, |ms, turns_over, of| {
            HealthReason::SlowAsr { ms, turns_over, of }
        }));
        reasons.extend(slow(
            window,
            &MetricName::TtsFirstFrameLatency,
            policy.tts_first_frame_slow_ms,
            policy,
            |ms, turns_over, of| HealthReason::SlowTts { ms, turns_over, of },
        ));

        let gaps: f64 = window
            .iter()
            .filter_map(|turn| turn.metrics().get(&MetricName::TtsDiscontinuity))
            .map(|s| s.value.max(0.0))
            .sum();
        if whole(gaps) > 0 {
            reasons.push(HealthReason::TtsDiscontinuity { count: whole(gaps) });
        }

        let interrupted = window.iter().filter(|turn| turn.interrupted()).count();
        if interrupted >= policy.interrupted_turns.max(1) {
            reasons.push(HealthReason::Interruptions { count: interrupted, of: window.len() });
        }

        reasons.sort_by_key(|reason| Reverse(reason.rank()));
        let level = if matches!(self.status(), CallStatus::Ended { .. }) {
            HealthLevel::Ended
        } else {
            reasons.iter().map(HealthReason::level).max().unwrap_or(HealthLevel::Healthy)
        };
        Health { level, reasons }
    }
}
