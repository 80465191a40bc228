//! Alert rules over the live fold, and their evaluation.
//!
//! What lives here: the rules a supervisor configures ([`AlertRule`], [`RuleKind`], the set
//! [`AlertRules`] with its defaults and [`AlertRules::validate`]), what a rule reports when
//! it fires ([`FiredAlert`] with structured [`AlertDetail`] the UI localises, and a short
//! zh-CN / English [`FiredAlert::summary`] for OS notifications and logs), and
//! [`AlertEvaluator`], which checks a [`Call`](crate::call::Call) against the rules at a
//! caller-given `now` and returns only alerts not yet fired for that call and rule.
//!
//! Every type here crosses the IPC to the UI as plain camelCase data.
//!
//! What deliberately does not: storing rules or fired alerts, notifications, and any clock —
//! the engine does those. The fold itself (what a turn, an error or a robot state is) is
//! [`crate::call`]; the "robot thinking too long" condition is [`crate::call::Call::health`]'s
//! own, so the wall and the alerts agree on it.
//!
//! How each rule reads the fold:
//! - **Slow first token**: the `llm_first_token` metric of each turn. Only turns that
//!   reported it count, so a turn still in progress (or one the LLM never answered) takes no
//!   slot in the window. Every window of the call is checked, not only the latest, so the
//!   outcome does not depend on when evaluation runs or on metrics arriving late.
//! - **Pipeline error**: any 908 / 10030 error, in a turn or without a round; the earliest
//!   is reported, with its code's meaning key from [`crate::event::PipelineError::meaning`].
//! - **TTS discontinuity**: the contract's `tts_discontinuity` metric ("count of gaps
//!   between consecutive streaming TTS requests"; its unit is UNCONFIRMED, read here as a
//!   count per turn): a turn reporting at least the rule's number of gaps.
//! - **Interruptions**: turns the fold marks interrupted (10001 state 4 or the
//!   `interruption` metric), each at the source time of its first interrupted state; the
//!   rule fires when more than its limit fall within less than 60 s.
//! - **Robot thinking**, **customer silence** and **call length** depend on `now`, so they
//!   fire without a new event; thinking and silence only while the call is live. Silence
//!   runs from the latest of: the call's start, 909, the robot's current state's time, and
//!   the customer's last speech (904 or their sentence); it does not run while the robot is
//!   thinking or speaking, nor while a partial customer subtitle shows them mid-sentence.
//!   Call length counts for a live call or an ended one (to 902), never a failed start.
//! - **Keywords**: the customer's final sentences only (a partial ASR hypothesis may still
//!   be revised); Chinese keywords match as substrings, words in space-separated scripts
//!   match whole and case-insensitively ("human" matches "Human." but not "humane").

mod evaluate;
mod fired;
mod keyword;
mod rules;

pub use evaluate::AlertEvaluator;
pub use fired::{AlertDetail, AlertKind, FiredAlert};
pub use rules::{AlertRule, AlertRules, RuleError, RuleId, RuleKind};

#[cfg(test)]
mod tests;
