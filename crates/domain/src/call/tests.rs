#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::event::{MetricName, PipelineStage};
use crate::testkit::{
    callback_turn, failure, finished, metric, room_body, room_metric, sentence, session_ready, speech_started,
    start_failed, started, state, stopped, subtitle, Latency, CUSTOMER, QUICK, ROBOT,
};
use crate::wire::assert_round_trip;

const TASK: &str = "task-1";

fn fold(events: &[Event]) -> Call {
    let mut call = Call::new(TaskId::new(TASK));
    for event in events {
        call.apply(event);
    }
    call
}

fn happy_call() -> Vec<Event> {
    let mut events = vec![started(TASK, 1_000), session_ready(TASK, 1_200)];
    events.extend(callback_turn(TASK, "r1", 2_000, QUICK));
    events.extend(callback_turn(TASK, "r2", 12_000, QUICK));
    events.push(stopped(TASK, 30_000, 0));
    events
}

/// One realistic round seen from both sides: callbacks and the room's custom messages.
fn mixed_turn() -> Vec<Event> {
    let r = "r1";
    vec![
        started(TASK, 9_000),
        session_ready(TASK, 9_100),
        speech_started(TASK, r, 10_000),
        subtitle(TASK, CUSTOMER, r, 10_200, "我想", false),
        subtitle(TASK, CUSTOMER, r, 10_600, "我想退货", false),
        subtitle(TASK, CUSTOMER, r, 11_000, "我想退货。", true),
        state(TASK, r, 11_050, 2),
        sentence(TASK, r, 11_400, CUSTOMER, "我想退货。"),
        state(TASK, r, 12_000, 3),
        subtitle(TASK, ROBOT, r, 12_100, "好的，", false),
        subtitle(TASK, ROBOT, r, 12_500, "请提供订单号。", false),
        sentence(TASK, r, 12_600, ROBOT, "好的，请提供订单号。"),
        metric(TASK, r, 12_650, "asr_latency", 980.0),
        metric(TASK, r, 12_651, "llm_first_token", 640.0),
        room_metric(TASK, r, 12_700, "llm_first_token", 655.0),
        metric(TASK, r, 12_652, "tts_first_frame_latency", 380.0),
        metric(TASK, r, 12_653, "interruption", 0.0),
        finished(TASK, r, 15_000, "好的，请提供订单号。"),
        state(TASK, r, 15_010, 5),
    ]
}

#[test]
fn a_happy_two_turn_call_folds_into_two_complete_turns() {
    let events = happy_call();
    let live = fold(&events[..events.len() - 1]);
    assert_eq!(live.status(), CallStatus::InProgress);
    assert_eq!(live.health(&HealthPolicy::default(), SourceMs(25_000)).level, HealthLevel::Healthy);

    let call = fold(&events);
    assert_eq!(call.status(), CallStatus::Ended { leave_code: LeaveCode::StoppedByApi });
    assert!(!call.is_live());
    assert_eq!((call.started_ms(), call.ended_ms()), (Some(SourceMs(1_000)), Some(SourceMs(30_000))));
    assert_eq!(call.duration_ms(SourceMs(99_999)), 29_000, "an ended call's duration stops at 902");
    assert_eq!(call.room().map(RoomId::as_str), Some("12345"));
    let rounds: Vec<&str> = call.turns().iter().map(|t| t.round().as_str()).collect();
    assert_eq!(rounds, ["r1", "r2"]);
    for turn in call.turns() {
        let user = turn.user().expect("the customer's sentence is attributed to the user");
        assert_eq!((user.user.as_str(), user.text.as_str(), user.is_final), (CUSTOMER, "我想查一下订单", true));
        let robot = turn.robot().expect("the reply is attributed to the robot");
        assert_eq!((robot.user.as_str(), robot.text.as_str(), robot.is_final), (ROBOT, "好的，请告诉我订单号。", true));
        for name in MetricName::DOCUMENTED {
            assert!(turn.metrics().get(&name).is_some(), "{} is in its slot", name.as_str());
        }
        assert_eq!(turn.metrics().llm_first_token.unwrap().value, 700.0);
        assert!(!turn.interrupted(), "an interruption metric of 0 is not an interruption");
        let states: Vec<RobotState> = turn.states().iter().map(|s| s.state).collect();
        assert_eq!(states, [RobotState::Listening, RobotState::Thinking, RobotState::Speaking, RobotState::Finished]);
    }
    assert_eq!(call.robot_state().map(|r| (r.state, r.at)), Some((RobotState::Finished, SourceMs(18_000))));
    assert_eq!(
        call.counts(),
        CallCounts { turns: 2, user_sentences: 2, robot_sentences: 2, interrupted_turns: 0, errors: 0 }
    );
    assert_eq!(call.last_final(Speaker::Robot).map(|l| l.text.as_str()), Some("好的，请告诉我订单号。"));
    let health = call.health(&HealthPolicy::default(), SourceMs(40_000));
    assert_eq!(health, Health { level: HealthLevel::Ended, reasons: vec![] });
}

#[test]
fn applying_every_event_twice_gives_the_same_call_as_applying_it_once() {
    for events in [happy_call(), mixed_turn()] {
        let once = fold(&events);
        let twice_in_a_row: Vec<Event> = events.iter().flat_map(|e| [e.clone(), e.clone()]).collect();
        let replayed: Vec<Event> = events.iter().chain(events.iter()).cloned().collect();
        assert_eq!(fold(&twice_in_a_row), once, "an immediate retry changed the call");
        assert_eq!(fold(&replayed), once, "a late retry of everything changed the call");
    }
}

fn permutations(events: &[Event]) -> Vec<(String, Vec<Event>)> {
    let n = events.len();
    let mut out = vec![("reversed".to_owned(), events.iter().rev().cloned().collect())];
    for k in [1, n / 3, n / 2] {
        let mut rotated = events.to_vec();
        rotated.rotate_left(k);
        out.push((format!("rotated by {k}"), rotated));
    }
    let (even, odd): (Vec<_>, Vec<_>) = events.iter().cloned().enumerate().partition(|(i, _)| i % 2 == 0);
    out.push(("odd then even".into(), odd.into_iter().chain(even).map(|(_, e)| e).collect()));
    for seed in [3_u64, 17, 2024] {
        let mut shuffled = events.to_vec();
        let mut state = seed;
        for i in (1..n).rev() {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            shuffled.swap(i, usize::try_from(state >> 33).unwrap() % (i + 1));
        }
        out.push((format!("shuffled with seed {seed}"), shuffled));
    }
    out
}

#[test]
fn any_arrival_order_of_a_turns_events_gives_the_same_call() {
    for events in [mixed_turn(), happy_call()] {
        let in_order = fold(&events);
        for (name, permuted) in permutations(&events) {
            assert_eq!(fold(&permuted), in_order, "arrival order {name} changed the call");
        }
    }
    let turn = fold(&mixed_turn());
    let turn = turn.turn(&RoundId::new("r1")).unwrap();
    assert_eq!(turn.user().unwrap().text, "我想退货。");
    assert_eq!(turn.robot().unwrap().text, "好的，请提供订单号。");
    assert_eq!(turn.metrics().llm_first_token.unwrap().value, 655.0, "the later 10020 wins over the 906");
}

#[test]
fn a_late_older_state_message_does_not_overwrite_a_newer_state() {
    let call = fold(&[state(TASK, "r1", 2_000, 3), state(TASK, "r1", 1_000, 2)]);
    let robot = call.robot_state().unwrap();
    assert_eq!((robot.state, robot.at), (RobotState::Speaking, SourceMs(2_000)));
    let turn = call.turn(&RoundId::new("r1")).unwrap();
    let states: Vec<(u64, RobotState)> = turn.states().iter().map(|s| (s.at.0, s.state)).collect();
    assert_eq!(states, [(1_000, RobotState::Thinking), (2_000, RobotState::Speaking)], "sorted by source time");
}

#[test]
fn without_room_messages_the_robot_state_is_derived_from_callbacks() {
    let steps: Vec<(Event, RobotState)> = vec![
        (speech_started(TASK, "r1", 1_000), RobotState::Listening),
        (sentence(TASK, "r1", 2_000, CUSTOMER, "你好"), RobotState::Thinking),
        (sentence(TASK, "r1", 3_000, ROBOT, "您好"), RobotState::Speaking),
        (finished(TASK, "r1", 4_000, "您好"), RobotState::Finished),
        (speech_started(TASK, "r2", 5_000), RobotState::Listening),
        (metric(TASK, "r2", 6_000, "interruption", 1.0), RobotState::Interrupted),
    ];
    let mut call = Call::new(TaskId::new(TASK));
    for (event, expected) in steps {
        call.apply(&event);
        let robot = call.robot_state().unwrap();
        assert_eq!((robot.state, robot.origin), (expected, StateOrigin::Derived), "after {:?}", event.body);
    }
    call.apply(&state(TASK, "r2", 6_500, 1));
    assert_eq!(call.robot_state().unwrap().state, RobotState::Listening, "a later 10001 wins");
    call.apply(&state(TASK, "r2", 5_500, 3));
    assert_eq!(call.robot_state().unwrap().state, RobotState::Listening, "an earlier 10001 does not");
}

#[test]
fn a_room_state_wins_over_a_derived_state_at_the_same_source_time() {
    let call = fold(&[finished(TASK, "r1", 4_000, "您好"), state(TASK, "r1", 4_000, 4)]);
    let robot = call.robot_state().unwrap();
    assert_eq!((robot.state, robot.origin), (RobotState::Interrupted, StateOrigin::Room));
}

#[test]
fn turns_are_listed_by_the_source_time_they_were_first_seen() {
    let call = fold(&[
        speech_started(TASK, "a-late", 9_000),
        speech_started(TASK, "z-early", 1_000),
        sentence(TASK, "m-middle", 5_000, CUSTOMER, "嗯"),
        metric(TASK, "z-early", 20_000, "asr_latency", 1.0),
    ]);
    let rounds: Vec<&str> = call.turns().iter().map(|t| t.round().as_str()).collect();
    assert_eq!(rounds, ["z-early", "m-middle", "a-late"], "ordered by first source time, not by id or arrival");
}

#[test]
fn the_metric_with_the_latest_source_time_wins_per_turn() {
    let call = fold(&[
        metric(TASK, "r1", 2_000, "llm_first_token", 900.0),
        room_metric(TASK, "r1", 1_500, "llm_first_token", 1_200.0),
        metric(TASK, "r1", 1_800, "vad_latency", 10.0),
        metric(TASK, "r1", 1_700, "vad_latency", 20.0),
    ]);
    let metrics = call.turn(&RoundId::new("r1")).unwrap().metrics();
    assert_eq!(metrics.llm_first_token.map(|s| (s.value, s.at)), Some((900.0, SourceMs(2_000))));
    assert_eq!(metrics.get(&MetricName::Other("vad_latency".into())).map(|s| s.value), Some(10.0));
}

#[test]
fn a_turn_interrupted_mid_speech_keeps_the_partial_reply_and_is_marked_interrupted() {
    let call = fold(&[
        speech_started(TASK, "r1", 1_000),
        sentence(TASK, "r1", 2_000, CUSTOMER, "我要投诉"),
        state(TASK, "r1", 2_100, 2),
        state(TASK, "r1", 3_000, 3),
        subtitle(TASK, ROBOT, "r1", 3_100, "非常抱歉", false),
        subtitle(TASK, ROBOT, "r1", 3_400, "给您带来", false),
        state(TASK, "r1", 3_600, 4),
        room_metric(TASK, "r1", 3_650, "interruption", 1.0),
    ]);
    let turn = call.turn(&RoundId::new("r1")).unwrap();
    let robot = turn.robot().expect("the partial reply is kept");
    assert_eq!((robot.text.as_str(), robot.is_final), ("非常抱歉给您带来", false), "incremental subtitles append");
    assert!(turn.interrupted());
    assert_eq!(call.robot_state().unwrap().state, RobotState::Interrupted);
    assert_eq!(call.counts().interrupted_turns, 1);
}

#[test]
fn cumulative_robot_subtitles_are_replaced_and_then_superseded_by_the_final_reply() {
    let partial = [
        subtitle(TASK, ROBOT, "r1", 1_000, "好的", false),
        subtitle(TASK, ROBOT, "r1", 1_100, "好的，请稍等", false),
        state(TASK, "r1", 900, 3),
    ];
    let call = fold(&partial);
    assert_eq!(call.turn(&RoundId::new("r1")).unwrap().robot().unwrap().text, "好的，请稍等");
    let mut all = partial.to_vec();
    all.push(sentence(TASK, "r1", 1_500, ROBOT, "好的，请稍等，我查一下。"));
    let robot = fold(&all).turn(&RoundId::new("r1")).unwrap().robot().cloned().unwrap();
    assert_eq!((robot.text.as_str(), robot.is_final), ("好的，请稍等，我查一下。", true));
}

#[test]
fn user_subtitles_replace_each_other_until_the_sentence_ends() {
    let call = fold(&[
        speech_started(TASK, "r1", 900),
        subtitle(TASK, CUSTOMER, "r1", 1_000, "我想", false),
        subtitle(TASK, CUSTOMER, "r1", 1_200, "我想问", false),
        subtitle(TASK, CUSTOMER, "r1", 1_400, "我想，问一下", false),
    ]);
    let user = call.turn(&RoundId::new("r1")).unwrap().user().cloned().unwrap();
    assert_eq!((user.text.as_str(), user.is_final), ("我想，问一下", false), "an ASR hypothesis replaces the last");
    let mut call = call;
    call.apply(&subtitle(TASK, CUSTOMER, "r1", 1_600, "我想问一下。", true));
    let user = call.turn(&RoundId::new("r1")).unwrap().user().cloned().unwrap();
    assert_eq!((user.text.as_str(), user.is_final, user.final_ms), ("我想问一下。", true, Some(SourceMs(1_600))));
}

#[test]
fn sentences_from_unknown_speakers_are_attributed_by_what_the_turn_makes_certain() {
    let call = fold(&[sentence(TASK, "r1", 2_000, "cust-9", "喂？"), sentence(TASK, "r1", 3_000, "bot-9", "您好")]);
    let turn = call.turn(&RoundId::new("r1")).unwrap();
    assert_eq!(turn.user().map(|l| l.user.as_str()), Some("cust-9"), "the first speaker of a round is the user");
    assert_eq!(turn.robot().map(|l| l.user.as_str()), Some("bot-9"));

    let lone = fold(&[sentence(TASK, "r1", 2_000, "who", "嗯")]);
    let turn = lone.turn(&RoundId::new("r1")).unwrap();
    assert!(turn.user().is_none() && turn.robot().is_none(), "one unknown speaker stays unattributed");
    assert_eq!(turn.others().len(), 1);

    let mut learnt = lone.clone();
    learnt.apply(&finished(TASK, "r2", 9_000, ""));
    learnt.apply(&sentence(TASK, "r2", 8_000, ROBOT, "再见"));
    learnt.apply(&speech_started(TASK, "r3", 10_000));
    let robot_line = learnt.turn(&RoundId::new("r2")).unwrap().robot().map(|l| l.text.clone());
    assert_eq!(robot_line.as_deref(), Some("再见"), "905 taught the fold who the robot is");
}

#[test]
fn an_error_turn_carries_the_error_and_makes_the_call_fail() {
    let mut events = callback_turn(TASK, "r1", 1_000, QUICK);
    events.push(failure(TASK, "r2", 12_000, "llm_error", 30200, "LLM request timeout"));
    events.push(crate::testkit::message(
        &crate::testkit::message_body(
            10030,
            ROBOT,
            serde_json::json!({"metric": "llm_error", "tag": {"roundid": "r2", "code": 30200, "message": "LLM request timeout"}}),
        ),
        TASK,
        12_300,
    ));
    let call = fold(&events);
    let errors = call.turn(&RoundId::new("r2")).unwrap().errors();
    assert_eq!(errors.len(), 1, "908 and 10030 report the same error once");
    assert_eq!(
        (errors[0].at, errors[0].error.stage, errors[0].error.meaning()),
        (SourceMs(12_000), PipelineStage::Llm, Some("llm_timeout"))
    );
    let health = call.health(&HealthPolicy::default(), SourceMs(13_000));
    assert_eq!(health.level, HealthLevel::Failing);
    assert_eq!(health.reasons, vec![HealthReason::PipelineError { stage: PipelineStage::Llm, code: 30200 }]);
}

fn turns_with_llm(first_tokens: &[f64]) -> Vec<Event> {
    let mut events = vec![started(TASK, 500)];
    for (i, first_token) in first_tokens.iter().enumerate() {
        let latency = Latency { llm_first_token: *first_token, ..QUICK };
        events.extend(callback_turn(TASK, &format!("r{i}"), 1_000 + 10_000 * i as u64, latency));
    }
    events
}

#[test]
fn a_slow_llm_on_two_of_the_last_five_turns_degrades_the_call() {
    let policy = HealthPolicy::default();
    let now = SourceMs(100_000);
    let slow = fold(&turns_with_llm(&[700.0, 2_600.0, 650.0, 3_100.0, 800.0]));
    let health = slow.health(&policy, now);
    assert_eq!(health.level, HealthLevel::Degraded);
    assert_eq!(health.reasons, vec![HealthReason::SlowLlm { ms: 3_100, turns_over: 2, of: 5 }]);

    let once = fold(&turns_with_llm(&[700.0, 2_600.0, 650.0, 700.0, 800.0]));
    assert_eq!(once.health(&policy, now).level, HealthLevel::Healthy, "one slow turn in five is not a trend");

    let long_ago = fold(&turns_with_llm(&[2_600.0, 3_100.0, 700.0, 650.0, 700.0, 800.0, 700.0]));
    assert_eq!(
        long_ago.health(&policy, now).level,
        HealthLevel::Healthy,
        "slow turns outside the window are forgotten"
    );
}

#[test]
fn a_task_stopped_with_leave_code_98_ended_abnormally() {
    let mut events = callback_turn(TASK, "r1", 1_000, QUICK);
    events.push(stopped(TASK, 20_000, 98));
    let health = fold(&events).health(&HealthPolicy::default(), SourceMs(30_000));
    assert_eq!(health.level, HealthLevel::Ended);
    assert_eq!(health.reasons, vec![HealthReason::EndedAbnormally { leave_code: LeaveCode::InternalError }]);
}

#[test]
fn a_robot_thinking_for_too_long_degrades_the_call() {
    let call =
        fold(&[started(TASK, 0), speech_started(TASK, "r1", 1_000), sentence(TASK, "r1", 2_000, CUSTOMER, "在吗")]);
    let policy = HealthPolicy::default();
    assert_eq!(call.robot_state().unwrap().state, RobotState::Thinking);
    assert_eq!(call.health(&policy, SourceMs(5_000)).level, HealthLevel::Healthy);
    let health = call.health(&policy, SourceMs(9_500));
    assert_eq!(
        (health.level, health.reasons),
        (HealthLevel::Degraded, vec![HealthReason::ThinkingTooLong { secs: 7 }])
    );
}

#[test]
fn a_failed_start_is_failing_and_interruption_storms_degrade() {
    let failed = fold(&[start_failed(TASK, 1_000)]);
    assert_eq!(failed.status(), CallStatus::StartFailed);
    assert_eq!(failed.health(&HealthPolicy::default(), SourceMs(2_000)).reasons, vec![HealthReason::StartFailed]);

    let mut events = vec![started(TASK, 0)];
    for i in 0..3_u64 {
        let round = format!("r{i}");
        events.extend(callback_turn(TASK, &round, 1_000 + i * 10_000, QUICK));
        events.push(metric(TASK, &round, 5_000 + i * 10_000, "interruption", 1.0));
        events.push(metric(TASK, &round, 5_000 + i * 10_000, "tts_discontinuity", 2.0));
    }
    let health = fold(&events).health(&HealthPolicy::default(), SourceMs(40_000));
    assert_eq!(health.level, HealthLevel::Degraded);
    assert_eq!(
        health.reasons,
        vec![HealthReason::TtsDiscontinuity { count: 6 }, HealthReason::Interruptions { count: 3, of: 3 }],
        "most severe first"
    );
}

#[test]
fn severities_order_failing_above_degraded_above_healthy_above_ended() {
    let health = |level, reasons| Health { level, reasons };
    let ordered = [
        health(HealthLevel::Ended, vec![HealthReason::EndedAbnormally { leave_code: LeaveCode::InternalError }]),
        health(HealthLevel::Healthy, vec![]),
        health(HealthLevel::Degraded, vec![HealthReason::Interruptions { count: 3, of: 5 }]),
        health(HealthLevel::Degraded, vec![HealthReason::SlowLlm { ms: 2_500, turns_over: 2, of: 5 }]),
        health(HealthLevel::Failing, vec![HealthReason::PipelineError { stage: PipelineStage::Tts, code: 30302 }]),
    ];
    for pair in ordered.windows(2) {
        assert!(pair[0].severity() < pair[1].severity(), "{:?} should be less severe than {:?}", pair[0], pair[1]);
    }
}

#[test]
fn events_for_other_tasks_and_room_events_leave_the_call_untouched() {
    let call = fold(&happy_call());
    let mut touched = call.clone();
    touched.apply(&started("another-task", 1));
    touched.apply(&crate::testkit::callback(&room_body(1, 103, 5, serde_json::json!({"UserId": "x"}))));
    assert_eq!(touched, call);
}

#[test]
fn call_snapshots_and_health_survive_a_serde_round_trip() {
    let call = fold(&mixed_turn());
    assert_round_trip(&call);
    assert_round_trip(&fold(&happy_call()));
    let mut interrupted = mixed_turn();
    interrupted.push(failure(TASK, "r1", 16_000, "tts_error", 30301, "rate limited"));
    assert_round_trip(&fold(&interrupted));
    assert_round_trip(&HealthPolicy::default());
    for reason in [
        HealthReason::StartFailed,
        HealthReason::PipelineError { stage: PipelineStage::Asr, code: 30100 },
        HealthReason::EndedAbnormally { leave_code: LeaveCode::Other(7) },
        HealthReason::ThinkingTooLong { secs: 9 },
        HealthReason::SlowLlm { ms: 2_100, turns_over: 2, of: 5 },
        HealthReason::SlowAsr { ms: 2_600, turns_over: 3, of: 4 },
        HealthReason::SlowTts { ms: 1_600, turns_over: 2, of: 2 },
        HealthReason::TtsDiscontinuity { count: 4 },
        HealthReason::Interruptions { count: 3, of: 5 },
    ] {
        let health = Health { level: reason.level(), reasons: vec![reason] };
        assert_round_trip(&health);
        assert_round_trip(&health.severity());
    }
}

fn hub(ms: u64, body: EventBody) -> Event {
    Event::hub_fact(crate::event::CallRef::task(TaskId::new(TASK)), SourceMs(ms), body)
}

fn command(ms: u64, id: &str, by: &str, action: CommandAction, stage: CommandStage) -> Event {
    let record = CommandRecord { id: id.into(), by: by.into(), action, stage, round: None, summary: None, error: None };
    hub(ms, EventBody::Command(record))
}

fn oversight_events() -> Vec<Event> {
    vec![
        started(TASK, 1_000),
        command(2_000, "c1", "li", CommandAction::Say, CommandStage::Requested),
        command(2_050, "c1", "li", CommandAction::Say, CommandStage::Accepted),
        command(2_900, "c1", "li", CommandAction::Say, CommandStage::Done),
        hub(
            3_000,
            EventBody::LockChanged { holder: Some("wang".into()), by: "wang".into(), change: LockChange::Taken },
        ),
        command(3_100, "c2", "wang", CommandAction::TakeOver, CommandStage::Requested),
        command(3_200, "c2", "wang", CommandAction::TakeOver, CommandStage::Done),
        hub(3_300, EventBody::PresenceChanged { supervisor: "li".into(), watching: true }),
        hub(3_400, EventBody::PresenceChanged { supervisor: "wang".into(), watching: true }),
        hub(9_000, EventBody::PresenceChanged { supervisor: "li".into(), watching: false }),
    ]
}

#[test]
fn hub_facts_fold_into_commands_at_their_latest_stage_lock_watchers_and_take_over() {
    let call = fold(&oversight_events());
    let oversight = call.oversight();
    let commands: Vec<(&str, CommandStage)> =
        oversight.commands().iter().map(|c| (c.value.id.as_str(), c.value.stage)).collect();
    assert_eq!(commands, [("c1", CommandStage::Done), ("c2", CommandStage::Done)]);
    assert_eq!(oversight.command_steps().len(), 5);
    assert_eq!(oversight.lock_holder(), Some("wang"));
    assert_eq!(oversight.watchers().collect::<Vec<_>>(), ["wang"]);
    assert_eq!(oversight.taken_over_by(), Some("wang"));
    // Supervisors' doings do not move the call's own timeline.
    assert_eq!(call.last_ms(), Some(SourceMs(1_000)));
    assert_eq!(call.counts().turns, 0);
}

#[test]
fn hub_facts_fold_the_same_in_any_order_and_twice() {
    let forward = fold(&oversight_events());
    let mut backward: Vec<Event> = oversight_events();
    backward.reverse();
    backward.extend(oversight_events());
    assert_eq!(fold(&backward), forward);
}

#[test]
fn a_hand_back_after_a_take_over_and_a_released_lock_leave_the_call_to_the_ai() {
    let mut events = oversight_events();
    events.push(command(5_000, "c3", "wang", CommandAction::HandBack, CommandStage::Done));
    events.push(hub(5_001, EventBody::LockChanged { holder: None, by: "wang".into(), change: LockChange::Released }));
    let call = fold(&events);
    assert_eq!(call.oversight().taken_over_by(), None);
    assert_eq!(call.oversight().lock_holder(), None);
    assert_round_trip(&call);
}

#[test]
fn a_final_stage_wins_over_an_acceptance_recorded_later() {
    let events = [
        started(TASK, 1_000),
        command(2_000, "w", "li", CommandAction::Whisper, CommandStage::Requested),
        command(2_001, "w", "li", CommandAction::Whisper, CommandStage::Done),
        command(2_002, "w", "li", CommandAction::Whisper, CommandStage::Accepted),
    ];
    let call = fold(&events);
    assert_eq!(call.oversight().commands()[0].value.stage, CommandStage::Done);
}

// ---- review: notes, tags, QA ----

fn note(ms: u64, id: &str, author: &str, text: &str) -> Event {
    let record = crate::event::NoteRecord { id: id.into(), author: author.into(), round: None, text: text.into() };
    hub(ms, EventBody::NoteAdded(record))
}

fn tags(ms: u64, author: &str, tags: &[&str]) -> Event {
    let record =
        crate::event::TagsRecord { author: author.into(), tags: tags.iter().map(|t| (*t).to_owned()).collect() };
    hub(ms, EventBody::TagsSet(record))
}

fn qa(ms: u64, author: &str, score: u8) -> Event {
    hub(ms, EventBody::QaScored(crate::event::QaRecord { author: author.into(), score, comment: None }))
}

fn review_events() -> Vec<Event> {
    vec![
        started(TASK, 1_000),
        note(40_000, "n2", "wang", "客户要求回电"),
        tags(41_000, "li", &["投诉", "vip"]),
        note(20_000, "n1", "li", "robot was slow in round 2"),
        qa(50_000, "li", 60),
        tags(45_000, "wang", &["vip"]),
        qa(55_000, "wang", 85),
        note(60_000, "n3", "li", "follow-up done"),
    ]
}

#[test]
fn review_facts_fold_into_notes_in_time_order_the_latest_tags_and_the_latest_qa_score() {
    let call = fold(&review_events());
    let review = call.review();
    let notes: Vec<(&str, &str, u64)> =
        review.notes().iter().map(|n| (n.value.id.as_str(), n.value.author.as_str(), n.at.0)).collect();
    assert_eq!(notes, [("n1", "li", 20_000), ("n2", "wang", 40_000), ("n3", "li", 60_000)]);
    let current = review.tags().expect("tags were set");
    assert_eq!((current.value.author.as_str(), current.value.tags.as_slice()), ("wang", ["vip".to_owned()].as_slice()));
    let score = review.qa().expect("the call was scored");
    assert_eq!((score.value.author.as_str(), score.value.score, score.at), ("wang", 85, SourceMs(55_000)));
    // Reviews neither start a call nor move its timeline.
    assert_eq!(call.last_ms(), Some(SourceMs(1_000)));
    assert_eq!(call.oversight().commands().len(), 0);
    assert_round_trip(&call);
}

#[test]
fn a_note_seen_twice_is_one_note_whatever_the_order() {
    let forward = fold(&review_events());
    let mut twice: Vec<Event> = review_events();
    twice.reverse();
    twice.extend(review_events());
    let folded = fold(&twice);
    assert_eq!(folded, forward, "the same events in another order, twice, fold to the same call");
    assert_eq!(folded.review().notes().len(), 3);

    // The same note id recorded again later (a retried push after the hub lost its log)
    // stays the one note, at its first time.
    let mut again = review_events();
    again.push(note(90_000, "n1", "li", "robot was slow in round 2"));
    let call = fold(&again);
    assert_eq!(call.review().notes().len(), 3);
    assert_eq!(call.review().note("n1").map(|n| n.at), Some(SourceMs(20_000)));
}

#[test]
fn a_call_nobody_reviewed_has_an_empty_review_and_a_tag_set_may_clear_the_tags() {
    let call = fold(&happy_call());
    assert!(call.review().is_empty());
    assert!(call.review().tags().is_none() && call.review().qa().is_none());

    let mut events = review_events();
    events.push(tags(70_000, "li", &[]));
    let cleared = fold(&events);
    assert_eq!(cleared.review().tags().map(|t| t.value.tags.len()), Some(0), "the latest set is empty");
}

/// The call-level view a fold keeps up to date event by event, against the same view
/// recomputed from every turn; `step` names the event for the failure message.
fn assert_view_matches_a_recomputation(call: &Call, step: &str) {
    assert_eq!(call.status(), call.derive_status(), "status after {step}");
    assert_eq!(call.robot_state(), call.derive_robot_state().as_ref(), "robot state after {step}");
    assert_eq!(call.counts(), call.derive_counts(), "counts after {step}");
}

/// A small seeded generator (PCG's LCG step), so every run folds the same sequences.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[usize::try_from(self.below(items.len() as u64)).unwrap()]
    }
}

/// Any event the fold reads, in any order: rounds revisited long after they began, source
/// times out of order, speakers nobody named yet, states and errors without a round,
/// interruption metrics that a later sample withdraws, starts, stops and retries.
fn arbitrary_call(rng: &mut Lcg, len: usize) -> Vec<Event> {
    let rounds: Vec<String> = (0..1 + rng.below(30)).map(|i| format!("r{i}")).collect();
    let speakers = [CUSTOMER, ROBOT, "stranger_1", "stranger_2"];
    let texts = ["", "我想", "我想退货。", "好的，", "请提供订单号。", "human agent please"];
    let metrics = ["asr_latency", "llm_first_token", "tts_discontinuity", "interruption", "interruption", "x_custom"];
    let mut events: Vec<Event> = Vec::with_capacity(len);
    while events.len() < len {
        let round = rounds[usize::try_from(rng.below(rounds.len() as u64)).unwrap()].as_str();
        let ms = 1_000 + rng.below(200_000);
        let event = match rng.below(17) {
            0 => speech_started(TASK, round, ms),
            1 | 2 => sentence(TASK, round, ms, rng.pick(&speakers), rng.pick(&texts[1..])),
            3 | 4 => {
                let end = rng.below(3) == 0;
                subtitle(TASK, rng.pick(&speakers), round, ms, rng.pick(&texts), end)
            }
            5 => finished(TASK, round, ms, rng.pick(&texts)),
            6 | 7 => metric(TASK, round, ms, rng.pick(&metrics), rng.below(3) as f64),
            8 => room_metric(TASK, round, ms, rng.pick(&metrics), rng.below(2) as f64),
            9 | 10 => state(TASK, round, ms, u8::try_from(1 + rng.below(5)).unwrap()),
            11 => crate::testkit::message(
                &crate::testkit::message_body(
                    10001,
                    rng.pick(&[ROBOT, "stranger_2"]),
                    serde_json::json!({"timestamp": ms / 1000, "state": 1 + rng.below(5)}),
                ),
                TASK,
                ms,
            ),
            12 => failure(TASK, round, ms, "llm_error", 30_200 + i64::try_from(rng.below(3)).unwrap(), "timeout"),
            13 => crate::testkit::callback(&crate::testkit::ai_body(
                908,
                TASK,
                ms,
                serde_json::json!({"Metric": "tts_error", "Tag": {"Code": 30_300 + rng.below(2), "Message": "busy"}}),
            )),
            14 => match rng.below(4) {
                0 => started(TASK, ms),
                1 => start_failed(TASK, ms),
                2 => session_ready(TASK, ms),
                _ => stopped(TASK, ms, u32::try_from(rng.below(2)).unwrap()),
            },
            // A retry of something already delivered.
            _ if !events.is_empty() => events[usize::try_from(rng.below(events.len() as u64)).unwrap()].clone(),
            _ => speech_started(TASK, round, ms),
        };
        events.push(event);
    }
    events
}

#[test]
fn the_call_level_view_kept_event_by_event_equals_one_recomputed_from_every_turn() {
    let mut robot_state_moved_back = 0;
    let mut loose = (0, 0);
    for seed in 0..60 {
        let mut rng = Lcg(seed);
        let events = arbitrary_call(&mut rng, 400);
        let mut call = Call::new(TaskId::new(TASK));
        for (i, event) in events.iter().enumerate() {
            let state_before = call.robot_state().map(|s| (s.change(), s.round.clone()));
            call.apply(event);
            assert_view_matches_a_recomputation(&call, &format!("event {i} of seed {seed}: {:?}", event.body));
            let state_after = call.robot_state().map(|s| (s.change(), s.round.clone()));
            robot_state_moved_back += usize::from(state_after < state_before);
        }
        loose.0 += call.loose_errors().len();
        loose.1 += call.loose_states.len();
        let reversed: Vec<Event> = events.iter().rev().cloned().collect();
        assert_eq!(fold(&reversed), call, "seed {seed}: the fold depends on arrival order");
    }
    // The sequences must reach the rare paths, or this test would prove less than it says.
    assert!(robot_state_moved_back > 0, "no sequence withdrew the latest robot state");
    assert!(loose.0 > 0 && loose.1 > 0, "no sequence had errors and states without a round: {loose:?}");
}

#[test]
fn a_long_call_keeps_the_same_counts_as_a_recomputation_at_every_event() {
    let mut call = Call::new(TaskId::new(TASK));
    let mut events = vec![started(TASK, 1_000), session_ready(TASK, 1_100)];
    for turn in 0..500_u64 {
        let mut round = callback_turn(TASK, &format!("r{turn}"), 2_000 + turn * 10_000, QUICK);
        if turn % 7 == 3 {
            round.push(metric(TASK, &format!("r{turn}"), 2_000 + turn * 10_000 + 5_000, "interruption", 1.0));
        }
        if turn % 11 == 5 {
            round.push(failure(TASK, &format!("r{turn}"), 2_000 + turn * 10_000 + 4_000, "llm_error", 30_200, "x"));
        }
        events.extend(round);
    }
    events.push(stopped(TASK, 6_000_000, 0));
    for (i, event) in events.iter().enumerate() {
        call.apply(event);
        assert_view_matches_a_recomputation(&call, &format!("event {i}"));
    }
    assert_eq!(
        call.counts(),
        CallCounts { turns: 500, user_sentences: 500, robot_sentences: 500, interrupted_turns: 71, errors: 45 }
    );
}
