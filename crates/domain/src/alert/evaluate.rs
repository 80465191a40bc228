//! [`AlertEvaluator`]: the rules, the (call, rule) pairs that already fired, and one check
//! per rule kind over the fold. How each check reads the fold is told in the module
//! header ([`crate::alert`]).

use std::collections::{BTreeMap, BTreeSet};

use super::fired::{AlertDetail, FiredAlert};
use super::keyword::Keywords;
use super::rules::{AlertRules, RuleError, RuleId, RuleKind};
use crate::call::{Call, CallStatus, HealthPolicy, HealthReason, Turn};
use crate::event::{MetricName, RobotState};
use crate::ids::{RoundId, SourceMs, TaskId};

/// Interruptions are counted within windows shorter than this.
const MINUTE_MS: u64 = 60_000;

/// Checks calls against the rules and remembers what fired, so each rule fires at most once
/// per call.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvaluator {
    rules: AlertRules,
    fired: BTreeMap<TaskId, BTreeSet<RuleId>>,
}

/// What a check found: when, in which turn, and the detail.
struct Hit {
    at: SourceMs,
    round: Option<RoundId>,
    detail: AlertDetail,
}

impl AlertEvaluator {
    /// An evaluator for `rules`, with nothing fired yet.
    ///
    /// # Errors
    /// The [`RuleError`] of [`AlertRules::validate`].
    pub fn new(rules: AlertRules) -> Result<AlertEvaluator, RuleError> {
        rules.validate()?;
        Ok(AlertEvaluator { rules, fired: BTreeMap::new() })
    }

    /// The rules in force.
    pub fn rules(&self) -> &AlertRules {
        &self.rules
    }

    /// Replaces the rules. What fired under a rule that keeps its id stays fired (editing a
    /// threshold does not repeat an alert for the same call); what fired under a removed
    /// rule is forgotten.
    ///
    /// # Errors
    /// The [`RuleError`] of [`AlertRules::validate`]; the rules in force are then unchanged.
    pub fn set_rules(&mut self, rules: AlertRules) -> Result<(), RuleError> {
        rules.validate()?;
        let kept: BTreeSet<&RuleId> = rules.rules.iter().map(|rule| &rule.id).collect();
        self.fired.retain(|_, fired| {
            fired.retain(|rule| kept.contains(rule));
            !fired.is_empty()
        });
        self.rules = rules;
        Ok(())
    }

    /// Records that `rule` already fired for `call` — for alerts restored from storage
    /// after a restart, so they are not raised again.
    pub fn mark_fired(&mut self, call: &TaskId, rule: &RuleId) {
        self.fired.entry(call.clone()).or_default().insert(rule.clone());
    }

    /// Whether `rule` has fired for `call`.
    pub fn has_fired(&self, call: &TaskId, rule: &RuleId) -> bool {
        self.fired.get(call).is_some_and(|fired| fired.contains(rule))
    }

    /// The alerts that fire for `call` at `now` and had not fired for it before, in the
    /// order of the rules. `now` is the caller's clock (wall or source) in ms since the Unix
    /// epoch; only thinking, silence and call length depend on it.
    pub fn evaluate(&mut self, call: &Call, now: SourceMs) -> Vec<FiredAlert> {
        let task = call.task();
        let pending: Vec<_> =
            self.rules.rules.iter().filter(|rule| rule.enabled && !self.has_fired(task, &rule.id)).collect();
        if pending.is_empty() {
            return Vec::new();
        }
        let turns = call.turns();
        let alerts: Vec<FiredAlert> = pending
            .into_iter()
            .filter_map(|rule| {
                check(&rule.kind, call, &turns, now).map(|hit| FiredAlert {
                    call: task.clone(),
                    rule: rule.id.clone(),
                    kind: hit.detail.kind(),
                    at: hit.at,
                    round: hit.round,
                    detail: hit.detail,
                })
            })
            .collect();
        for alert in &alerts {
            self.mark_fired(&alert.call, &alert.rule);
        }
        alerts
    }

    /// Drops what fired for `call`, once it has left the board.
    pub fn forget(&mut self, call: &TaskId) {
        self.fired.remove(call);
    }
}

/// A validated threshold as an unsigned number (a negative one, which validation rejects,
/// reads as zero).
fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn secs_to_ms(secs: u64) -> u64 {
    secs.saturating_mul(1_000)
}

fn later(at: SourceMs, ms: u64) -> SourceMs {
    SourceMs(at.0.saturating_add(ms))
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // rounded, clamped at 0
fn whole(value: f64) -> u64 {
    value.max(0.0).round() as u64
}

#[allow(clippy::cast_precision_loss)] // thresholds are far below 2^52
fn float(value: u64) -> f64 {
    value as f64
}

fn check(kind: &RuleKind, call: &Call, turns: &[&Turn], now: SourceMs) -> Option<Hit> {
    match kind {
        RuleKind::SlowFirstToken { threshold_ms, turns_over, window } => {
            slow_first_token(turns, unsigned(*threshold_ms), unsigned(*turns_over).max(1), unsigned(*window).max(1))
        }
        RuleKind::PipelineError => pipeline_error(call, turns),
        RuleKind::TtsDiscontinuity { min_gaps } => tts_discontinuity(turns, unsigned(*min_gaps).max(1)),
        RuleKind::Interruptions { max_per_minute } => interruptions(turns, unsigned(*max_per_minute)),
        RuleKind::ThinkingTooLong { limit_secs } => thinking(call, now, unsigned(*limit_secs)),
        RuleKind::CustomerSilence { limit_secs } => customer_silence(call, turns, now, unsigned(*limit_secs)),
        RuleKind::Keywords { keywords } => keywords_said(turns, keywords),
        RuleKind::CallTooLong { limit_secs } => call_too_long(call, now, unsigned(*limit_secs)),
    }
}

/// The first window of `window` measured turns with at least `turns_over` over the
/// threshold; it ends at the turn that tipped it.
fn slow_first_token(turns: &[&Turn], threshold_ms: u64, turns_over: u64, window: u64) -> Option<Hit> {
    let limit = float(threshold_ms);
    let measured: Vec<(&Turn, f64, SourceMs)> = turns
        .iter()
        .filter_map(|turn| turn.metrics().get(&MetricName::LlmFirstToken).map(|s| (*turn, s.value, s.at)))
        .collect();
    let window = usize::try_from(window).unwrap_or(usize::MAX);
    measured.iter().enumerate().find_map(|(end, (turn, latest, at))| {
        let looked_at = &measured[(end + 1).saturating_sub(window)..=end];
        let over: Vec<f64> = looked_at.iter().map(|m| m.1).filter(|value| *value > limit).collect();
        let count = u64::try_from(over.len()).unwrap_or(u64::MAX);
        (count >= turns_over).then(|| Hit {
            at: *at,
            round: Some(turn.round().clone()),
            detail: AlertDetail::SlowFirstToken {
                threshold_ms,
                turns_over: count,
                window: u64::try_from(looked_at.len()).unwrap_or(u64::MAX),
                worst_ms: whole(over.iter().copied().fold(0.0, f64::max)),
                latest_ms: whole(*latest),
            },
        })
    })
}

/// The earliest error of the call, in a turn or without a round.
fn pipeline_error(call: &Call, turns: &[&Turn]) -> Option<Hit> {
    let in_turns = turns.iter().flat_map(|turn| turn.errors().iter().map(move |error| (error, Some(turn.round()))));
    let loose = call.loose_errors().iter().map(|error| (error, None));
    let (record, round) = in_turns.chain(loose).min_by(|a, b| a.0.cmp(b.0))?;
    Some(Hit {
        at: record.at,
        round: round.cloned(),
        detail: AlertDetail::PipelineError {
            stage: record.error.stage,
            code: record.error.code,
            meaning: record.error.meaning().map(str::to_owned),
            message: record.error.message.clone(),
        },
    })
}

/// The earliest turn reporting at least `min_gaps` TTS discontinuities.
fn tts_discontinuity(turns: &[&Turn], min_gaps: u64) -> Option<Hit> {
    let limit = float(min_gaps);
    let (turn, sample) = turns
        .iter()
        .filter_map(|turn| turn.metrics().get(&MetricName::TtsDiscontinuity).map(|sample| (*turn, *sample)))
        .filter(|(_, sample)| sample.value >= limit)
        .min_by(|a, b| (a.1.at, a.0.round()).cmp(&(b.1.at, b.0.round())))?;
    Some(Hit {
        at: sample.at,
        round: Some(turn.round().clone()),
        detail: AlertDetail::TtsDiscontinuity { gaps: whole(sample.value), min_gaps },
    })
}

/// The first interruption that makes more than `max_per_minute` within less than a minute.
fn interruptions(turns: &[&Turn], max_per_minute: u64) -> Option<Hit> {
    let mut times: Vec<(SourceMs, &RoundId)> = turns
        .iter()
        .filter(|turn| turn.interrupted())
        .map(|turn| {
            let at =
                turn.states().iter().find(|s| s.state == RobotState::Interrupted).map_or(turn.first_ms(), |s| s.at);
            (at, turn.round())
        })
        .collect();
    times.sort();
    times.iter().enumerate().find_map(|(index, (at, round))| {
        let within = times[..=index].iter().filter(|(earlier, _)| at.since(*earlier) < MINUTE_MS).count();
        let count = u64::try_from(within).unwrap_or(u64::MAX);
        (count > max_per_minute).then(|| Hit {
            at: *at,
            round: Some((*round).clone()),
            detail: AlertDetail::Interruptions { count, max_per_minute },
        })
    })
}

/// The robot stuck thinking, as [`Call::health`] defines it (a live call whose robot has
/// been thinking longer than the limit).
fn thinking(call: &Call, now: SourceMs, limit_secs: u64) -> Option<Hit> {
    let limit_ms = secs_to_ms(limit_secs);
    let policy = HealthPolicy { thinking_too_long_ms: limit_ms, ..HealthPolicy::default() };
    let stuck =
        call.health(&policy, now).reasons.iter().any(|reason| matches!(reason, HealthReason::ThinkingTooLong { .. }));
    let robot = call.robot_state().filter(|_| stuck)?;
    Some(Hit {
        at: later(robot.at, limit_ms),
        round: robot.round.clone(),
        detail: AlertDetail::ThinkingTooLong { since: robot.at, elapsed_ms: now.since(robot.at), limit_secs },
    })
}

/// Nothing from the customer for longer than the limit while the robot waits.
fn customer_silence(call: &Call, turns: &[&Turn], now: SourceMs, limit_secs: u64) -> Option<Hit> {
    let robot = call.robot_state();
    let robots_turn = robot.is_some_and(|r| matches!(r.state, RobotState::Thinking | RobotState::Speaking));
    let mid_sentence = turns.last().and_then(|turn| turn.user()).is_some_and(|line| !line.is_final);
    if !call.is_live() || robots_turn || mid_sentence {
        return None;
    }
    let customer = turns.iter().flat_map(|turn| {
        let line = turn.user();
        [turn.speech_started_ms(), line.map(|l| l.first_ms), line.and_then(|l| l.final_ms)]
    });
    let since = [call.started_ms(), call.session_ready_ms(), robot.map(|r| r.at)]
        .into_iter()
        .chain(customer)
        .flatten()
        .max()?;
    let limit_ms = secs_to_ms(limit_secs);
    let elapsed_ms = now.since(since);
    (elapsed_ms > limit_ms).then(|| Hit {
        at: later(since, limit_ms),
        round: None,
        detail: AlertDetail::CustomerSilence { since, elapsed_ms, limit_secs },
    })
}

/// The first final customer sentence containing a keyword.
fn keywords_said(turns: &[&Turn], keywords: &[String]) -> Option<Hit> {
    let keywords = Keywords::new(keywords);
    turns.iter().find_map(|turn| {
        let line = turn.user().filter(|line| line.is_final)?;
        let keyword = keywords.first_in(&line.text)?;
        Some(Hit {
            at: line.final_ms.unwrap_or(line.first_ms),
            round: Some(turn.round().clone()),
            detail: AlertDetail::Keywords { keyword: keyword.to_owned(), sentence: line.text.clone() },
        })
    })
}

/// A live call running, or an ended call that ran, longer than the limit.
fn call_too_long(call: &Call, now: SourceMs, limit_secs: u64) -> Option<Hit> {
    if call.status() == CallStatus::StartFailed {
        return None;
    }
    let started = call.started_ms()?;
    let limit_ms = secs_to_ms(limit_secs);
    let elapsed_ms = call.duration_ms(now);
    (elapsed_ms > limit_ms).then(|| Hit {
        at: later(started, limit_ms),
        round: None,
        detail: AlertDetail::CallTooLong { started, elapsed_ms, limit_secs },
    })
}
