#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use super::keyword;
use super::*;
use crate::api::Language;
use crate::call::Call;
use crate::event::{Event, PipelineError, PipelineStage};
use crate::ids::{RoundId, SourceMs, TaskId};
use crate::testkit::{
    callback_turn, failure, finished, message, message_body, metric, sentence, session_ready, speech_started,
    start_failed, started, state, stopped, subtitle, Latency, CUSTOMER, QUICK, ROBOT,
};
use crate::wire::assert_round_trip;

const TASK: &str = "task-a";
const OTHER: &str = "task-b";

fn fold(task: &str, events: &[Event]) -> Call {
    let mut call = Call::new(TaskId::new(task));
    for event in events {
        call.apply(event);
    }
    call
}

fn rule(id: &str, kind: RuleKind) -> AlertRule {
    AlertRule { id: RuleId::new(id), enabled: true, kind }
}

/// An evaluator with one enabled rule, id `rule`.
fn only(kind: RuleKind) -> AlertEvaluator {
    AlertEvaluator::new(AlertRules { rules: vec![rule("rule", kind)] }).expect("the test's rule is valid")
}

/// What a fresh evaluator with one rule raises for the call folded from `events` at `now`.
fn fired(kind: RuleKind, events: &[Event], now: u64) -> Vec<FiredAlert> {
    only(kind).evaluate(&fold(TASK, events), SourceMs(now))
}

/// Folds `events` one by one, evaluating after each at that event's source time; every
/// alert raised, with the index of the event after which it was raised.
fn replay(evaluator: &mut AlertEvaluator, events: &[Event]) -> Vec<(usize, FiredAlert)> {
    let mut call = Call::new(TaskId::new(TASK));
    let mut raised = Vec::new();
    for (index, event) in events.iter().enumerate() {
        call.apply(event);
        raised.extend(evaluator.evaluate(&call, event.source_ms).into_iter().map(|alert| (index, alert)));
    }
    raised
}

fn slow(llm_first_token: f64) -> Latency {
    Latency { llm_first_token, ..QUICK }
}

/// A started call with one complete callback turn per LLM first-token value, 10 s apart
/// (rounds r1, r2, …).
fn turns_with_first_tokens(values: &[f64]) -> Vec<Event> {
    let mut events = vec![started(TASK, 1_000)];
    for (i, value) in values.iter().enumerate() {
        events.extend(callback_turn(TASK, &format!("r{}", i + 1), 10_000 * (i as u64 + 1), slow(*value)));
    }
    events
}

/// The source time `callback_turn` gives the LLM first-token metric of the turn at `t0`.
fn first_token_ms(t0: u64) -> SourceMs {
    SourceMs(t0 + 3_102)
}

const DEFAULT_SLOW: RuleKind = RuleKind::SlowFirstToken { threshold_ms: 2_000, turns_over: 3, window: 5 };

#[test]
fn slow_first_token_fires_on_the_metric_that_makes_three_of_the_last_five_turns_slow() {
    // 2000 is not over 2000; 2001 is.
    let events = turns_with_first_tokens(&[2_500.0, 2_000.0, 800.0, 2_600.0, 2_001.0]);
    let raised = replay(&mut only(DEFAULT_SLOW), &events);
    assert_eq!(raised.len(), 1, "one alert, raised once: {raised:?}");
    let (index, alert) = &raised[0];
    assert_eq!(events[*index].source_ms, first_token_ms(50_000), "raised by r5's first-token metric, not before");
    assert_eq!(alert.at, first_token_ms(50_000));
    assert_eq!(alert.round, Some(RoundId::new("r5")));
    assert_eq!(
        alert.detail,
        AlertDetail::SlowFirstToken {
            threshold_ms: 2_000,
            turns_over: 3,
            window: 5,
            worst_ms: 2_600,
            latest_ms: 2_001
        }
    );

    let at_the_threshold = turns_with_first_tokens(&[2_500.0, 2_000.0, 800.0, 2_600.0, 2_000.0]);
    assert!(
        replay(&mut only(DEFAULT_SLOW), &at_the_threshold).is_empty(),
        "a first token of exactly 2000 ms is not over"
    );
}

#[test]
fn slow_turns_count_only_within_a_window_of_the_last_m_turns() {
    let spread = [3_000.0, 500.0, 500.0, 500.0, 500.0, 3_000.0, 3_000.0];
    assert!(
        replay(&mut only(DEFAULT_SLOW), &turns_with_first_tokens(&spread)).is_empty(),
        "three slow turns in all, but never three within five consecutive turns"
    );
    let mut one_more = spread.to_vec();
    one_more.push(3_000.0);
    let alerts = fired(DEFAULT_SLOW, &turns_with_first_tokens(&one_more), 200_000);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].round, Some(RoundId::new("r8")), "turns 4 to 8 hold three slow ones");
    assert_eq!(
        alerts[0].detail,
        AlertDetail::SlowFirstToken {
            threshold_ms: 2_000,
            turns_over: 3,
            window: 5,
            worst_ms: 3_000,
            latest_ms: 3_000
        }
    );

    let early = fired(DEFAULT_SLOW, &turns_with_first_tokens(&[3_000.0, 3_000.0, 3_000.0]), 100_000);
    assert_eq!(
        early.first().map(|a| &a.detail),
        Some(&AlertDetail::SlowFirstToken {
            threshold_ms: 2_000,
            turns_over: 3,
            window: 3,
            worst_ms: 3_000,
            latest_ms: 3_000
        }),
        "three slow turns out of the three so far already make three of the last five"
    );
}

#[test]
fn turns_that_never_reported_a_first_token_take_no_slot_in_the_window() {
    let mut events = turns_with_first_tokens(&[3_000.0, 3_000.0]);
    for i in 3..=6 {
        let round = format!("r{i}");
        events.push(speech_started(TASK, &round, 10_000 * i));
        events.push(sentence(TASK, &round, 10_000 * i + 1_000, CUSTOMER, "喂？"));
    }
    events.extend(callback_turn(TASK, "r7", 70_000, slow(3_000.0)));
    let alerts = fired(DEFAULT_SLOW, &events, 80_000);
    assert_eq!(alerts.len(), 1, "r1, r2 and r7 are the last three measured turns");
    assert_eq!(alerts[0].round, Some(RoundId::new("r7")));
}

#[test]
fn a_pipeline_error_fires_with_its_stage_code_and_meaning() {
    let mut events = turns_with_first_tokens(&[700.0, 700.0]);
    assert!(fired(RuleKind::PipelineError, &events, 40_000).is_empty(), "no error, no alert");
    events.push(failure(TASK, "r2", 24_000, "llm_error", 30200, "request timeout"));
    let alerts = fired(RuleKind::PipelineError, &events, 40_000);
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    assert_eq!(
        (alert.kind, alert.at, alert.round.clone()),
        (AlertKind::PipelineError, SourceMs(24_000), Some(RoundId::new("r2")))
    );
    assert_eq!(
        alert.detail,
        AlertDetail::PipelineError {
            stage: PipelineStage::Llm,
            code: 30200,
            meaning: Some("llm_timeout".into()),
            message: "request timeout".into()
        }
    );
    assert_eq!(alert.summary(Language::En), "LLM error 30200: LLM request timed out");
    assert_eq!(alert.summary(Language::ZhCn), "大模型错误 30200：大模型请求超时");
}

#[test]
fn the_earliest_error_is_reported_whether_or_not_it_names_a_round() {
    let roundless = message(
        &message_body(10030, ROBOT, json!({"metric": "tts_error", "tag": {"code": 30999, "message": "voice gone"}})),
        TASK,
        15_000,
    );
    let events = vec![
        started(TASK, 1_000),
        failure(TASK, "r2", 24_000, "llm_error", 30201, "busy"),
        roundless,
        failure(TASK, "r1", 16_000, "asr_error", 30100, "slow"),
    ];
    let alert = fired(RuleKind::PipelineError, &events, 30_000).pop().expect("an error fires");
    assert_eq!((alert.at, alert.round.clone()), (SourceMs(15_000), None));
    assert_eq!(
        alert.detail,
        AlertDetail::PipelineError {
            stage: PipelineStage::Tts,
            code: 30999,
            meaning: None,
            message: "voice gone".into()
        }
    );
    assert_eq!(alert.summary(Language::En), "TTS error 30999: undocumented error code");
}

#[test]
fn every_documented_error_code_has_a_summary_in_both_languages() {
    for code in [30100, 30102, 30200, 30201, 30202, 30300, 30301, 30302] {
        let error = PipelineError { stage: PipelineStage::Other, code, message: String::new(), metric: String::new() };
        let detail = AlertDetail::PipelineError {
            stage: error.stage,
            code,
            meaning: error.meaning().map(str::to_owned),
            message: String::new(),
        };
        assert!(!detail.summary(Language::En).contains("undocumented"), "{code} has an English text");
        assert!(!detail.summary(Language::ZhCn).contains("未公开"), "{code} has a Chinese text");
    }
}

#[test]
fn tts_discontinuity_fires_from_the_configured_number_of_gaps() {
    let kind = RuleKind::TtsDiscontinuity { min_gaps: 2 };
    let mut events = turns_with_first_tokens(&[700.0, 700.0]);
    assert!(fired(kind.clone(), &events, 40_000).is_empty(), "callback_turn reports 0 gaps");
    events.push(metric(TASK, "r1", 17_000, "tts_discontinuity", 1.0));
    assert!(fired(kind.clone(), &events, 40_000).is_empty(), "one gap is below two");
    events.push(metric(TASK, "r2", 27_000, "tts_discontinuity", 2.0));
    let alert = fired(kind, &events, 40_000).pop().expect("two gaps reach the limit");
    assert_eq!((alert.at, alert.round.clone()), (SourceMs(27_000), Some(RoundId::new("r2"))));
    assert_eq!(alert.detail, AlertDetail::TtsDiscontinuity { gaps: 2, min_gaps: 2 });
    assert_eq!(alert.summary(Language::En), "TTS audio broke up: 2 gaps in one turn");
}

/// A turn in which the customer cuts the robot off at `at`, marked by the interruption metric.
fn interrupted_turn(round: &str, at: u64) -> Vec<Event> {
    vec![
        speech_started(TASK, round, at - 3_000),
        sentence(TASK, round, at - 2_000, CUSTOMER, "不对不对"),
        sentence(TASK, round, at - 1_000, ROBOT, "好的，我再确认一下"),
        metric(TASK, round, at, "interruption", 1.0),
    ]
}

#[test]
fn interruptions_fire_when_more_than_the_limit_fall_within_a_minute() {
    let kind = RuleKind::Interruptions { max_per_minute: 2 };
    let mut within: Vec<Event> = vec![started(TASK, 1_000)];
    within.extend(interrupted_turn("r1", 10_000));
    within.extend(interrupted_turn("r2", 30_000));
    let before = within.clone();
    within.extend(interrupted_turn("r3", 69_999));
    assert!(fired(kind.clone(), &before, 69_999).is_empty(), "two interruptions are not more than two");
    let alert = fired(kind.clone(), &within, 70_000).pop().expect("three within 59.999 s");
    assert_eq!((alert.at, alert.round.clone()), (SourceMs(69_999), Some(RoundId::new("r3"))));
    assert_eq!(alert.detail, AlertDetail::Interruptions { count: 3, max_per_minute: 2 });

    let mut spread: Vec<Event> = vec![started(TASK, 1_000)];
    spread.extend(interrupted_turn("r1", 10_000));
    spread.extend(interrupted_turn("r2", 30_000));
    spread.extend(interrupted_turn("r3", 70_000));
    assert!(fired(kind.clone(), &spread, 75_000).is_empty(), "10 s and 70 s are a full minute apart");
    // The robot's own 10001 state 4 marks an interruption too.
    spread.extend([speech_started(TASK, "r4", 78_000), state(TASK, "r4", 80_000, 4)]);
    let alert = fired(kind, &spread, 85_000).pop().expect("30 s, 70 s and 80 s are within a minute");
    assert_eq!((alert.at, alert.round), (SourceMs(80_000), Some(RoundId::new("r4"))));
}

#[test]
fn any_interruption_fires_when_the_limit_is_zero() {
    let mut events = vec![started(TASK, 1_000)];
    events.extend(callback_turn(TASK, "r1", 2_000, QUICK));
    let kind = RuleKind::Interruptions { max_per_minute: 0 };
    assert!(fired(kind.clone(), &events, 20_000).is_empty(), "an interruption metric of 0 is no interruption");
    events.extend(interrupted_turn("r2", 20_000));
    assert_eq!(fired(kind, &events, 20_000).len(), 1);
}

fn thinking_since_3s() -> Vec<Event> {
    vec![started(TASK, 1_000), speech_started(TASK, "r1", 2_000), sentence(TASK, "r1", 3_000, CUSTOMER, "在吗")]
}

#[test]
fn thinking_fires_from_now_alone_once_the_limit_is_passed() {
    let call = fold(TASK, &thinking_since_3s());
    let mut evaluator = only(RuleKind::ThinkingTooLong { limit_secs: 8 });
    assert!(evaluator.evaluate(&call, SourceMs(11_000)).is_empty(), "exactly 8 s is not longer than 8 s");
    let alerts = evaluator.evaluate(&call, SourceMs(11_001));
    assert_eq!(alerts.len(), 1, "no new event, only a later clock");
    let alert = &alerts[0];
    assert_eq!((alert.at, alert.round.clone()), (SourceMs(11_000), Some(RoundId::new("r1"))));
    assert_eq!(alert.detail, AlertDetail::ThinkingTooLong { since: SourceMs(3_000), elapsed_ms: 8_001, limit_secs: 8 });
    assert_eq!(alert.summary(Language::En), "Robot thinking for 8.0 s (limit 8 s)");
    assert_eq!(alert.summary(Language::ZhCn), "机器人已思考 8.0 秒（上限 8 秒）");
}

#[test]
fn thinking_does_not_fire_once_the_robot_speaks_or_the_call_ends() {
    let kind = RuleKind::ThinkingTooLong { limit_secs: 8 };
    let mut speaking = thinking_since_3s();
    speaking.push(sentence(TASK, "r1", 4_000, ROBOT, "在的"));
    assert!(fired(kind.clone(), &speaking, 100_000).is_empty());
    let mut ended = thinking_since_3s();
    ended.push(stopped(TASK, 5_000, 0));
    assert!(fired(kind, &ended, 100_000).is_empty(), "an ended call's robot is not thinking");
}

/// Started, ready, and one turn the robot finished at 6 s.
fn answered_at_6s() -> Vec<Event> {
    vec![
        started(TASK, 1_000),
        session_ready(TASK, 1_200),
        speech_started(TASK, "r1", 2_000),
        sentence(TASK, "r1", 3_000, CUSTOMER, "我想改地址"),
        sentence(TASK, "r1", 4_000, ROBOT, "好的，请说新地址。"),
        finished(TASK, "r1", 6_000, "好的，请说新地址。"),
    ]
}

#[test]
fn customer_silence_runs_from_the_robots_last_word_and_fires_from_now_alone() {
    let call = fold(TASK, &answered_at_6s());
    let mut evaluator = only(RuleKind::CustomerSilence { limit_secs: 20 });
    assert!(evaluator.evaluate(&call, SourceMs(26_000)).is_empty(), "exactly 20 s is not longer than 20 s");
    let alert = evaluator.evaluate(&call, SourceMs(26_001)).pop().expect("20.001 s of silence");
    assert_eq!((alert.at, alert.round.clone()), (SourceMs(26_000), None));
    assert_eq!(
        alert.detail,
        AlertDetail::CustomerSilence { since: SourceMs(6_000), elapsed_ms: 20_001, limit_secs: 20 }
    );
    assert_eq!(alert.summary(Language::En), "Customer silent for 20.0 s (limit 20 s)");

    let waiting = fold(TASK, &[started(TASK, 1_000), session_ready(TASK, 1_200)]);
    let alert = only(RuleKind::CustomerSilence { limit_secs: 20 }).evaluate(&waiting, SourceMs(21_201)).pop();
    assert_eq!(
        alert.map(|a| a.detail),
        Some(AlertDetail::CustomerSilence { since: SourceMs(1_200), elapsed_ms: 20_001, limit_secs: 20 }),
        "before any turn, silence runs from 909"
    );
}

#[test]
fn customer_silence_does_not_run_while_the_robot_talks_or_the_customer_is_mid_sentence() {
    let kind = RuleKind::CustomerSilence { limit_secs: 20 };
    let mut speaking = answered_at_6s();
    speaking.truncate(5);
    assert!(fired(kind.clone(), &speaking, 100_000).is_empty(), "the robot is still speaking");

    let mut mid_sentence = answered_at_6s();
    mid_sentence.push(subtitle(TASK, CUSTOMER, "r2", 7_000, "那个我", false));
    assert!(fired(kind.clone(), &mid_sentence, 100_000).is_empty(), "a partial subtitle: the customer is talking");

    let mut spoke_again = answered_at_6s();
    spoke_again.push(speech_started(TASK, "r2", 30_000));
    assert!(fired(kind.clone(), &spoke_again, 50_000).is_empty(), "the customer spoke at 30 s");
    assert_eq!(fired(kind.clone(), &spoke_again, 50_001).len(), 1, "and has said nothing since");

    let mut ended = answered_at_6s();
    ended.push(stopped(TASK, 8_000, 99));
    assert!(fired(kind, &ended, 100_000).is_empty(), "an ended call has no silence");
}

#[test]
fn call_length_fires_from_now_alone_for_a_live_call() {
    let call = fold(TASK, &[started(TASK, 1_000)]);
    let mut evaluator = only(RuleKind::CallTooLong { limit_secs: 900 });
    assert!(evaluator.evaluate(&call, SourceMs(901_000)).is_empty(), "exactly 15 min is not longer");
    let alert = evaluator.evaluate(&call, SourceMs(901_001)).pop().expect("15 min and 1 ms");
    assert_eq!(alert.at, SourceMs(901_000));
    assert_eq!(
        alert.detail,
        AlertDetail::CallTooLong { started: SourceMs(1_000), elapsed_ms: 900_001, limit_secs: 900 }
    );
    assert_eq!(alert.summary(Language::En), "Call running for 15 min (limit 15 min)");
    assert_eq!(alert.summary(Language::ZhCn), "通话已持续 15分钟（上限 15分钟）");
}

#[test]
fn call_length_counts_an_ended_call_to_its_end_and_never_a_failed_start() {
    let kind = RuleKind::CallTooLong { limit_secs: 900 };
    let long = [started(TASK, 1_000), stopped(TASK, 1_201_000, 0)];
    let alert = fired(kind.clone(), &long, 5_000_000).pop().expect("it ran 20 min");
    assert_eq!(
        alert.detail,
        AlertDetail::CallTooLong { started: SourceMs(1_000), elapsed_ms: 1_200_000, limit_secs: 900 }
    );
    assert_eq!(alert.summary(Language::En), "Call running for 20 min (limit 15 min)");
    let short = [started(TASK, 1_000), stopped(TASK, 601_000, 0)];
    assert!(fired(kind.clone(), &short, 5_000_000).is_empty(), "a 10 min call stays 10 min long");
    assert!(fired(kind, &[start_failed(TASK, 1_000)], 5_000_000).is_empty());
}

fn keywords(list: &[&str]) -> RuleKind {
    RuleKind::Keywords { keywords: list.iter().map(|k| (*k).to_owned()).collect() }
}

#[test]
fn keywords_match_chinese_as_substrings_and_english_as_whole_words_in_any_case() {
    let cases = [
        ("我要投诉你们", "投诉", true),
        ("帮我转人工", "人工", true),
        ("请转人工服务", "人工", true),
        ("找你们经理来", "经理", true),
        ("人工智能很厉害", "投诉", false),
        ("Can I talk to a HUMAN, please?", "human", true),
        ("Human.", "human", true),
        ("转human", "human", true),
        ("That is not humane", "human", false),
        ("a superhuman effort", "human", false),
        ("I'd like to file a Complaint!", "complaint", true),
        ("the manager's office", "manager", true),
        ("I want a HUMAN AGENT now", "human agent", true),
        ("a human \t agent", "human agent", true),
        ("a humanagent", "human agent", false),
        ("ＨＵＭＡＮ please", "human", true),
        ("human", "  human ", true),
        ("", "human", false),
    ];
    for (sentence, keyword, expected) in cases {
        assert_eq!(keyword::matches(sentence, keyword), expected, "{keyword:?} in {sentence:?}");
    }
}

#[test]
fn a_keyword_fires_on_the_customers_final_sentence_only() {
    let kind = keywords(&DEFAULT_KEYWORDS_FOR_TESTS);
    let mut events = vec![
        started(TASK, 1_000),
        speech_started(TASK, "r1", 2_000),
        sentence(TASK, "r1", 3_000, CUSTOMER, "我想查一下订单"),
        sentence(TASK, "r1", 4_000, ROBOT, "如需人工服务请说转人工"),
        speech_started(TASK, "r2", 10_000),
        subtitle(TASK, CUSTOMER, "r2", 10_500, "我要投诉", false),
    ];
    assert!(fired(kind.clone(), &events, 11_000).is_empty(), "the robot's words and a partial subtitle do not count");
    events.push(sentence(TASK, "r2", 12_000, CUSTOMER, "我要投诉你们的经理"));
    let alert = fired(kind, &events, 12_000).pop().expect("a final sentence with 投诉");
    assert_eq!((alert.at, alert.round.clone()), (SourceMs(12_000), Some(RoundId::new("r2"))));
    assert_eq!(alert.detail, AlertDetail::Keywords { keyword: "投诉".into(), sentence: "我要投诉你们的经理".into() });
    assert_eq!(alert.summary(Language::ZhCn), "客户提到“投诉”：“我要投诉你们的经理”");
}

const DEFAULT_KEYWORDS_FOR_TESTS: [&str; 6] = ["人工", "投诉", "经理", "human", "complaint", "manager"];

#[test]
fn english_keywords_fire_case_insensitively_and_not_inside_other_words() {
    let kind = keywords(&["human", "manager"]);
    let mut events = vec![
        started(TASK, 1_000),
        speech_started(TASK, "r1", 2_000),
        sentence(TASK, "r1", 3_000, CUSTOMER, "That was not very humane of you"),
    ];
    assert!(fired(kind.clone(), &events, 5_000).is_empty(), "humane is not human");
    events.push(speech_started(TASK, "r2", 6_000));
    events.push(sentence(TASK, "r2", 7_000, CUSTOMER, "Get me your MANAGER or a Human"));
    let alert = fired(kind, &events, 8_000).pop().expect("MANAGER is manager");
    assert_eq!(
        alert.detail,
        AlertDetail::Keywords { keyword: "manager".into(), sentence: "Get me your MANAGER or a Human".into() },
        "the keyword that comes first in the sentence is reported"
    );
    assert_eq!(alert.summary(Language::En), "Customer said “manager”: “Get me your MANAGER or a Human”");
}

#[test]
fn the_defaults_hold_the_keywords_of_the_issue() {
    assert_eq!(super::rules::DEFAULT_KEYWORDS, DEFAULT_KEYWORDS_FOR_TESTS);
    let defaults = AlertRules::defaults();
    let kinds: Vec<AlertKind> = defaults.rules.iter().map(|r| r.kind.alert_kind()).collect();
    assert_eq!(kinds, AlertKind::ALL, "one rule of each kind, in the settings page's order");
    assert!(defaults.rules.iter().all(|r| r.enabled));
    assert_eq!(defaults.validate(), Ok(()));
}

/// A call that breaks every rule but silence (its robot is left thinking): three slow
/// turns, an error, TTS gaps, five interruptions within a minute, 投诉, and over 15 minutes
/// long by 2,000 s.
fn everything_wrong() -> Vec<Event> {
    let mut events = turns_with_first_tokens(&[3_000.0, 3_000.0, 3_000.0]);
    events.push(failure(TASK, "r1", 15_000, "tts_error", 30302, "tts failed"));
    events.push(metric(TASK, "r2", 25_000, "tts_discontinuity", 3.0));
    for (i, at) in [100_000, 110_000, 120_000, 130_000, 140_000].into_iter().enumerate() {
        events.extend(interrupted_turn(&format!("i{i}"), at));
    }
    events.push(speech_started(TASK, "r9", 958_000));
    events.push(sentence(TASK, "r9", 960_000, CUSTOMER, "我要投诉"));
    events
}

#[test]
fn disabled_rules_never_fire() {
    let mut rules = AlertRules::defaults();
    let mut enabled = AlertEvaluator::new(rules.clone()).unwrap();
    let call = fold(TASK, &everything_wrong());
    let kinds: Vec<AlertKind> = enabled.evaluate(&call, SourceMs(2_000_000)).iter().map(|a| a.kind).collect();
    let expected: Vec<AlertKind> =
        AlertKind::ALL.into_iter().filter(|kind| *kind != AlertKind::CustomerSilence).collect();
    assert_eq!(kinds, expected, "enabled, every rule but silence fires for this call");

    rules.rules.iter_mut().for_each(|rule| rule.enabled = false);
    let mut disabled = AlertEvaluator::new(rules).unwrap();
    for now in [960_000, 2_000_000, 90_000_000] {
        assert!(disabled.evaluate(&call, SourceMs(now)).is_empty(), "nothing fires at {now}");
    }
}

#[test]
fn an_alert_fires_once_per_call_and_rule_and_other_calls_fire_independently() {
    let mut evaluator = AlertEvaluator::new(AlertRules::defaults()).unwrap();
    let call = |task: &str, code: i64| {
        let mut events = vec![started(task, 1_000)];
        events.extend(callback_turn(task, "r1", 2_000, QUICK));
        events.push(failure(task, "r1", 5_000, "llm_error", code, "x"));
        fold(task, &events)
    };
    let first = evaluator.evaluate(&call(TASK, 30200), SourceMs(9_000));
    assert_eq!(first.iter().map(|a| a.rule.as_str()).collect::<Vec<_>>(), ["pipeline-error"]);
    assert!(evaluator.evaluate(&call(TASK, 30200), SourceMs(9_000)).is_empty(), "evaluated again: nothing new");

    let mut worse = vec![started(TASK, 1_000)];
    worse.extend(callback_turn(TASK, "r1", 2_000, QUICK));
    worse.push(failure(TASK, "r1", 5_000, "llm_error", 30200, "x"));
    worse.push(failure(TASK, "r1", 6_000, "tts_error", 30302, "y"));
    assert!(
        evaluator.evaluate(&fold(TASK, &worse), SourceMs(9_000)).is_empty(),
        "a second error in the same call is the same (call, rule)"
    );

    let other = evaluator.evaluate(&call(OTHER, 30201), SourceMs(9_000));
    assert_eq!(other.len(), 1, "another call fires on its own");
    assert_eq!((other[0].call.as_str(), other[0].rule.as_str()), (OTHER, "pipeline-error"));
    assert!(evaluator.has_fired(&TaskId::new(TASK), &RuleId::new("pipeline-error")));

    evaluator.forget(&TaskId::new(TASK));
    assert!(!evaluator.has_fired(&TaskId::new(TASK), &RuleId::new("pipeline-error")));
    assert!(evaluator.has_fired(&TaskId::new(OTHER), &RuleId::new("pipeline-error")), "forget is per call");
    assert_eq!(evaluator.evaluate(&call(TASK, 30200), SourceMs(9_000)).len(), 1, "a forgotten call starts afresh");
}

#[test]
fn a_time_based_rule_fires_once_however_often_it_is_evaluated() {
    let call = fold(TASK, &thinking_since_3s());
    let mut evaluator = only(RuleKind::ThinkingTooLong { limit_secs: 8 });
    let raised: usize = (0..20).map(|tick| evaluator.evaluate(&call, SourceMs(10_000 + 1_000 * tick)).len()).sum();
    assert_eq!(raised, 1);
}

#[test]
fn alerts_restored_from_storage_are_not_raised_again() {
    let call = fold(TASK, &thinking_since_3s());
    let mut evaluator = only(RuleKind::ThinkingTooLong { limit_secs: 8 });
    evaluator.mark_fired(&TaskId::new(TASK), &RuleId::new("rule"));
    assert!(evaluator.evaluate(&call, SourceMs(60_000)).is_empty());
}

#[test]
fn editing_a_rule_keeps_what_fired_and_removing_it_forgets() {
    let call = fold(TASK, &thinking_since_3s());
    let mut evaluator = only(RuleKind::ThinkingTooLong { limit_secs: 8 });
    assert_eq!(evaluator.evaluate(&call, SourceMs(20_000)).len(), 1);

    let stricter = AlertRules { rules: vec![rule("rule", RuleKind::ThinkingTooLong { limit_secs: 5 })] };
    evaluator.set_rules(stricter).unwrap();
    assert!(evaluator.evaluate(&call, SourceMs(20_000)).is_empty(), "same rule id: already fired for this call");

    evaluator.set_rules(AlertRules { rules: vec![] }).unwrap();
    let back = AlertRules { rules: vec![rule("rule", RuleKind::ThinkingTooLong { limit_secs: 5 })] };
    evaluator.set_rules(back).unwrap();
    assert_eq!(evaluator.evaluate(&call, SourceMs(20_000)).len(), 1, "removed and re-added: fires again");

    let invalid = AlertRules { rules: vec![rule("rule", RuleKind::ThinkingTooLong { limit_secs: 0 })] };
    assert!(evaluator.set_rules(invalid).is_err());
    assert_eq!(evaluator.rules().rules[0].kind, RuleKind::ThinkingTooLong { limit_secs: 5 }, "unchanged on error");
}

#[test]
fn validation_names_the_rule_and_the_field() {
    let cases: Vec<(RuleKind, &str)> = vec![
        (RuleKind::SlowFirstToken { threshold_ms: 2_000, turns_over: 6, window: 5 }, "turnsOver"),
        (RuleKind::SlowFirstToken { threshold_ms: 2_000, turns_over: 0, window: 5 }, "turnsOver"),
        (RuleKind::SlowFirstToken { threshold_ms: 2_000, turns_over: 1, window: 0 }, "window"),
        (RuleKind::SlowFirstToken { threshold_ms: 2_000, turns_over: 1, window: -5 }, "window"),
        (RuleKind::SlowFirstToken { threshold_ms: 0, turns_over: 1, window: 1 }, "thresholdMs"),
        (RuleKind::SlowFirstToken { threshold_ms: 10_000_000, turns_over: 1, window: 1 }, "thresholdMs"),
        (RuleKind::TtsDiscontinuity { min_gaps: 0 }, "minGaps"),
        (RuleKind::Interruptions { max_per_minute: -1 }, "maxPerMinute"),
        (RuleKind::Interruptions { max_per_minute: 1_000 }, "maxPerMinute"),
        (RuleKind::ThinkingTooLong { limit_secs: 0 }, "limitSecs"),
        (RuleKind::ThinkingTooLong { limit_secs: 86_400 }, "limitSecs"),
        (RuleKind::CustomerSilence { limit_secs: -20 }, "limitSecs"),
        (RuleKind::CallTooLong { limit_secs: 0 }, "limitSecs"),
        (RuleKind::CallTooLong { limit_secs: 10 * 86_400 }, "limitSecs"),
        (keywords(&[]), "keywords"),
        (keywords(&["投诉", "  "]), "keywords[1]"),
        (keywords(&[&"很".repeat(101)]), "keywords[0]"),
    ];
    for (kind, field) in cases {
        let rules = AlertRules { rules: vec![rule("good", RuleKind::PipelineError), rule("bad", kind.clone())] };
        let error = rules.validate().expect_err("an invalid rule is rejected");
        assert_eq!(error.field(), field, "{kind:?}: {error}");
        assert!(matches!(&error, RuleError::BadValue { rule, .. } if rule.as_str() == "bad"), "{error:?}");
        assert!(error.to_string().starts_with(&format!("alert rule bad: {field} ")), "message: {error}");
        assert!(AlertEvaluator::new(rules).is_err(), "an evaluator refuses invalid rules");
    }
    let error = AlertRules { rules: vec![rule("a", RuleKind::PipelineError), rule("a", RuleKind::PipelineError)] }
        .validate()
        .unwrap_err();
    assert_eq!(error, RuleError::DuplicateId { rule: RuleId::new("a") });
    let error = AlertRules { rules: vec![rule("a", RuleKind::PipelineError), rule(" ", RuleKind::PipelineError)] }
        .validate()
        .unwrap_err();
    assert_eq!((error.clone(), error.field()), (RuleError::BlankId { position: 2 }, "id"));
    let turns_over =
        AlertRules { rules: vec![rule("x", RuleKind::SlowFirstToken { threshold_ms: 1, turns_over: 6, window: 5 })] };
    assert_eq!(
        turns_over.validate().unwrap_err().to_string(),
        "alert rule x: turnsOver is 6; it cannot exceed the window of 5 turns"
    );
}

#[test]
fn rules_travel_as_camel_case_json_and_survive_a_round_trip() {
    let defaults = AlertRules::defaults();
    assert_round_trip(&defaults);
    let json = serde_json::to_value(&defaults).unwrap();
    assert_eq!(
        json["rules"][0],
        json!({"id": "slow-first-token", "enabled": true,
               "kind": {"type": "slowFirstToken", "thresholdMs": 2000, "turnsOver": 3, "window": 5}})
    );
    assert_eq!(json["rules"][1]["kind"], json!({"type": "pipelineError"}));
    assert_eq!(json["rules"][3]["kind"], json!({"type": "interruptions", "maxPerMinute": 4}));
    assert_eq!(json["rules"][5]["kind"], json!({"type": "customerSilence", "limitSecs": 20}));
    assert_eq!(json["rules"][6]["kind"]["keywords"][0], "人工");

    let from_ui: AlertRules = serde_json::from_value(json!({"rules": [
        {"id": "t", "enabled": true, "kind": {"type": "thinkingTooLong", "limitSecs": -3}}
    ]}))
    .expect("a negative number reaches validation instead of failing to parse");
    assert_eq!(from_ui.validate().unwrap_err().field(), "limitSecs");
}

#[test]
fn fired_alerts_travel_as_camel_case_json_and_survive_a_round_trip() {
    let alerts = AlertEvaluator::new(AlertRules::defaults())
        .unwrap()
        .evaluate(&fold(TASK, &everything_wrong()), SourceMs(2_000_000));
    assert_eq!(alerts.len(), 7);
    for alert in &alerts {
        assert_round_trip(alert);
        assert_eq!(alert.kind, alert.detail.kind());
        let json = serde_json::to_value(alert).unwrap();
        assert_eq!(json["kind"], alert.kind.as_str(), "the kind travels as its wire spelling");
        assert_eq!(json["detail"]["type"], alert.kind.as_str(), "the detail carries the same tag");
        assert_eq!(AlertKind::parse(alert.kind.as_str()), Some(alert.kind));
    }
    let error = alerts.iter().find(|a| a.kind == AlertKind::PipelineError).unwrap();
    assert_eq!(
        serde_json::to_value(error).unwrap(),
        json!({"call": TASK, "rule": "pipeline-error", "kind": "pipelineError", "at": 15000, "round": "r1",
               "detail": {"type": "pipelineError", "stage": "tts", "code": 30302, "meaning": "tts_failed",
                          "message": "tts failed"}})
    );
    let thinking = alerts.iter().find(|a| a.kind == AlertKind::ThinkingTooLong).unwrap();
    assert_eq!(
        serde_json::to_value(&thinking.detail).unwrap(),
        json!({"type": "thinkingTooLong", "since": 960000, "elapsedMs": 1040000, "limitSecs": 8})
    );
}

#[test]
fn summaries_read_naturally_in_both_languages() {
    let cases = [
        (
            AlertDetail::SlowFirstToken {
                threshold_ms: 2_000,
                turns_over: 3,
                window: 5,
                worst_ms: 3_400,
                latest_ms: 2_100,
            },
            "Slow LLM: first token over 2000 ms on 3 of the last 5 turns (worst 3400 ms)",
            "大模型响应慢：最近 5 轮中有 3 轮首字延迟超过 2000 毫秒（最慢 3400 毫秒）",
        ),
        (
            AlertDetail::TtsDiscontinuity { gaps: 1, min_gaps: 1 },
            "TTS audio broke up: 1 gap in one turn",
            "语音合成不连续：一轮中断续 1 次",
        ),
        (
            AlertDetail::Interruptions { count: 5, max_per_minute: 4 },
            "5 interruptions within a minute (limit 4 a minute)",
            "1 分钟内被打断 5 次（上限每分钟 4 次）",
        ),
        (
            AlertDetail::CustomerSilence { since: SourceMs(0), elapsed_ms: 21_450, limit_secs: 20 },
            "Customer silent for 21.4 s (limit 20 s)",
            "客户已沉默 21.4 秒（上限 20 秒）",
        ),
        (
            AlertDetail::CallTooLong { started: SourceMs(0), elapsed_ms: 3_905_000, limit_secs: 3_600 },
            "Call running for 1 h 5 min 5 s (limit 1 h)",
            "通话已持续 1小时5分钟5秒（上限 1小时）",
        ),
    ];
    for (detail, en, zh) in cases {
        assert_eq!(detail.summary(Language::En), en);
        assert_eq!(detail.summary(Language::ZhCn), zh);
    }
    let long =
        AlertDetail::Keywords { keyword: "human".into(), sentence: format!("I want a human {}", "x".repeat(60)) };
    let cut = format!("I want a human {}…", "x".repeat(25));
    assert_eq!(long.summary(Language::En), format!("Customer said “human”: “{cut}”"), "cut to 40 characters");
    assert_eq!(long.summary(Language::ZhCn), format!("客户提到“human”：“{cut}”"));
}
