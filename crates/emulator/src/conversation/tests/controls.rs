//! Commands sent to a running call: stop, push text, invoke the LLM, update, hang up.

use std::time::{Duration, Instant};

use super::super::script;
use super::super::Language;
use super::*;

/// For calls a test watches and steers.
const WATCHED: Speed = Speed(200.0);

/// A welcome line long enough (minutes of speech, a second of wall time at 200×) that a
/// command sent on seeing its 903 surely arrives while the robot is still saying it.
fn long_welcome(language: Language) -> CallSpec {
    let mut spec = spec(language);
    let sentence = match language {
        Language::Zh => "感谢您的来电，本次通话可能会被录音以提升服务质量。",
        Language::En => "Thank you for calling, this call may be recorded to improve our service. ",
    };
    spec.welcome_message = Some(sentence.repeat(30).trim().to_owned());
    spec
}

/// A `ServerPushText` that does not stop the call.
fn push(text: &str, interrupt: bool, drop_mode: u64, priority: u64) -> Control {
    Control::PushText {
        text: text.to_owned(),
        interrupt,
        stop_after_play: false,
        drop_mode,
        priority,
        add_history: true,
    }
}

/// A welcome line of a few sentences: tens of ms of wall time at 200×, long enough for a
/// command sent on its 903 to arrive while it plays.
fn medium_welcome(language: Language) -> CallSpec {
    let mut spec = spec(language);
    spec.welcome_message = Some("感谢您的来电，本次通话可能会被录音以提升服务质量。".repeat(4));
    spec
}

fn is_welcome(body: &Value) -> bool {
    event_type(body) == 903 && payload(body)["UserId"] == ROBOT
}

fn is(event_type_wanted: u64) -> impl Fn(&Value) -> bool {
    move |body| event_type(body) == event_type_wanted
}

fn robot_sentence_saying(text: &str) -> impl Fn(&Value) -> bool + '_ {
    move |body| event_type(body) == 903 && payload(body)["UserId"] == ROBOT && payload(body)["Text"] == text
}

#[tokio::test]
async fn stop_mid_call_sends_902_with_leave_code_0_promptly_and_nothing_after() {
    let mut live = Live::start(spec(Language::Zh), WATCHED, 11);
    live.until("the customer's first sentence", |b| event_type(b) == 903 && payload(b)["UserId"] == CUSTOMER).await;
    let asked = Instant::now();
    live.send(Control::Stop);
    let stopped = live.until("902", is(902)).await;
    let took = asked.elapsed();
    assert!(took < Duration::from_millis(200), "902 follows a stop promptly, took {took:?}");
    assert_eq!(payload(&stopped)["LeaveCode"], 0);
    let played = live.finish().await;
    assert_eq!(played.outcome.leave_code, 0);
    assert_eq!(event_type(played.callbacks.last().unwrap()), 902, "nothing follows 902");
    let before = &played.callbacks[played.callbacks.len() - 2];
    assert_eq!((event_type(before), before["EventInfo"]["UserId"].as_str()), (104, Some(ROBOT)), "the robot leaves");
}

#[tokio::test]
async fn pushed_text_is_said_word_for_word_by_the_robot_after_the_current_turn() {
    let text = "您好，我是值班主管，接下来由我协助您处理这个问题。";
    let mut live = Live::start(long_welcome(Language::Zh), WATCHED, 12);
    let welcome = live.until("the welcome line", is_welcome).await;
    let busy_round = round_of(&welcome).unwrap().to_owned();
    live.send(push(text, false, 1, 0));
    let said = live.until("the pushed line", robot_sentence_saying(text)).await;
    let round = round_of(&said).unwrap().to_owned();
    live.until("905 of the pushed line", |b| event_type(b) == 905 && round_of(b) == Some(round.as_str())).await;
    live.send(Control::Stop);
    let played = live.finish().await;
    assert_ne!(round, busy_round, "the pushed line is a round of its own");
    assert_eq!(states(&played, &busy_round), [3, 5, 1], "without interrupt the current line is not cut");
    let finished = |r: &str| played.callbacks.iter().position(|b| event_type(b) == 905 && round_of(b) == Some(r));
    assert!(finished(&busy_round) < finished(&round), "it waits for the current turn to end");
    let finished_line = of_type(&played, 905).into_iter().find(|b| round_of(b) == Some(round.as_str())).unwrap();
    assert_eq!(payload(finished_line)["Text"], text);
    assert_eq!(states(&played, &round), [3, 5, 1]);
}

#[tokio::test]
async fn an_interrupting_push_cuts_the_robot_off_and_stop_after_play_ends_the_call() {
    let text = "Sorry to cut in: a human agent will call you back within ten minutes.";
    let mut live = Live::start(long_welcome(Language::En), WATCHED, 13);
    let welcome = live.until("the welcome line", is_welcome).await;
    let cut_round = round_of(&welcome).unwrap().to_owned();
    live.send(Control::PushText {
        text: text.to_owned(),
        interrupt: true,
        stop_after_play: true,
        drop_mode: 0,
        priority: 0,
        add_history: false,
    });
    let played = live.finish().await;
    assert_eq!(played.outcome.leave_code, 0, "stop after play");
    assert_eq!(states(&played, &cut_round), [3, 4], "the line in progress is interrupted");
    assert!(!of_type(&played, 905).iter().any(|b| round_of(b) == Some(cut_round.as_str())), "no 905 when cut");
    assert!(of_type(&played, 906)
        .iter()
        .any(|b| round_of(b) == Some(cut_round.as_str()) && payload(b)["Metric"] == "interruption"));
    let said = of_type(&played, 903).into_iter().find(|b| robot_sentence_saying(text)(b)).expect("the robot says it");
    let round = round_of(said).unwrap();
    assert!(of_type(&played, 905).iter().any(|b| round_of(b) == Some(round) && payload(b)["Text"] == text));
    assert!(of_type(&played, 904).is_empty(), "the call ends before the customer speaks");
    let types: Vec<u64> = played.callbacks.iter().map(event_type).collect();
    assert_eq!(&types[types.len() - 2..], [104, 902], "the robot leaves after playing, then 902");
    assert_eq!(payload(played.callbacks.last().unwrap())["LeaveCode"], 0);
}

#[tokio::test]
async fn invoke_llm_gets_a_reply_that_acknowledges_and_follows_the_content() {
    let content = "Tell the customer their refund was approved today";
    let mut live = Live::start(spec(Language::En), WATCHED, 14);
    live.until("909", is(909)).await;
    live.send(Control::InvokeLlm { content: content.to_owned(), interrupt: true });
    let said = live
        .until("the invoked reply", |b| {
            event_type(b) == 903
                && payload(b)["UserId"] == ROBOT
                && payload(b)["Text"].as_str().unwrap().contains(content)
        })
        .await;
    let round = round_of(&said).unwrap().to_owned();
    live.until("905 of the invoked reply", |b| event_type(b) == 905 && round_of(b) == Some(round.as_str())).await;
    live.send(Control::Stop);
    let played = live.finish().await;
    assert!(payload(&said)["Text"].as_str().unwrap().starts_with("Understood."));
    assert_eq!(states(&played, &round), [2, 3, 5, 1], "it thinks, then speaks");
    let metrics: Vec<&str> = of_type(&played, 906)
        .into_iter()
        .filter(|b| round_of(b) == Some(round.as_str()))
        .map(|b| payload(b)["Metric"].as_str().unwrap())
        .collect();
    for name in ["llm_network_latency", "llm_first_token", "tts_network_latency", "tts_first_frame_latency"] {
        assert!(metrics.contains(&name), "{name} in {metrics:?}");
    }
}

#[tokio::test]
async fn a_customer_hanging_up_ends_the_call_with_902_99_after_max_idle_time() {
    let mut spec = spec(Language::Zh);
    spec.max_idle_secs = 40;
    let mut live = Live::start(spec, WATCHED, 15);
    live.until("the customer speaking", is(904)).await;
    live.send(Control::CustomerLeft);
    let played = live.finish().await;
    assert_eq!(played.outcome.leave_code, 99);
    let left = played
        .callbacks
        .iter()
        .position(|b| event_type(b) == 104 && b["EventInfo"]["UserId"] == CUSTOMER)
        .expect("the customer's 104");
    assert!(!played.callbacks[left..].iter().any(|b| event_type(b) == 904), "nobody speaks after the hang-up");
    let idle = event_ms(played.callbacks.last().unwrap()) - event_ms(&played.callbacks[left]);
    // MaxIdleTime 40 s at 200× is 200 ms.
    assert!((190..1_000).contains(&idle), "902 comes MaxIdleTime after the hang-up, came after {idle} ms");
}

#[tokio::test]
async fn updates_change_the_welcome_line_and_interrupt_mode_1_lets_the_robot_finish() {
    let language = Language::En;
    let seed = (0..300)
        .find(|seed| {
            script::plan(language, *seed, ErrorRates::default()).sentences().any(|(_, reply)| reply.barge_in.is_some())
        })
        .expect("some seed interrupts the robot");
    let welcome = "Hi, this is the updated greeting.";
    let live = Live::start(spec(language), FAST, seed);
    live.send(Control::Update(Box::new(Update {
        welcome_message: Some(welcome.to_owned()),
        interrupt_mode: Some(1),
        ..Update::default()
    })));
    let played = live.finish().await;
    let first_robot = of_type(&played, 903).into_iter().find(|b| payload(b)["UserId"] == ROBOT).unwrap();
    assert_eq!(payload(first_robot)["Text"], welcome, "the welcome line is the updated one");
    assert!(
        !played.rooms.iter().any(|m| m["type"] == 10001 && m["payload"]["state"] == 4),
        "InterruptMode 1: the server never interrupts"
    );
    let script = script::plan(language, seed, ErrorRates::default());
    let replies = script.sentences().filter(|(_, reply)| reply.failure.is_none()).count();
    assert_eq!(of_type(&played, 905).len(), replies + 1, "every reply and the welcome line finish");
}

#[tokio::test]
async fn a_call_plays_to_its_end_when_nobody_keeps_the_control_sender() {
    let (outputs, mut receivers) = crate::outputs::Outputs::new();
    let Spawned { task, controls, .. } = spawn(spec(Language::Zh), outputs, FAST, 16, &Pipeline::default());
    drop(controls);
    let outcome = tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    assert_eq!(outcome.leave_code, 99);
    let mut last = None;
    while let Ok(body) = receivers.callbacks.try_recv() {
        last = Some(body);
    }
    assert_eq!(last.map(|b| event_type(&b)), Some(902));
}

#[tokio::test]
async fn a_push_without_interrupt_and_drop_mode_0_is_dropped_while_the_robot_speaks() {
    let text = "这条消息应当被丢弃。";
    let mut live = Live::start(medium_welcome(Language::Zh), WATCHED, 21);
    let welcome = live.until("the welcome line", is_welcome).await;
    let welcome_round = round_of(&welcome).unwrap().to_owned();
    live.send(push(text, false, 0, 0));
    live.until("905 of the welcome", |b| event_type(b) == 905 && round_of(b) == Some(welcome_round.as_str())).await;
    live.until("the customer's first sentence", |b| event_type(b) == 903 && payload(b)["UserId"] == CUSTOMER).await;
    live.send(Control::Stop);
    let played = live.finish().await;
    assert_eq!(states(&played, &welcome_round), [3, 5, 1], "the welcome is not cut");
    assert!(!of_type(&played, 903).iter().any(|b| payload(b)["Text"] == text), "DropMode 0 drops the push");
}

#[tokio::test]
async fn queued_pushes_are_cleared_when_the_robot_is_interrupted() {
    let (queued, urgent) = ("排队的消息。", "插话的消息，请稍等。");
    let mut live = Live::start(medium_welcome(Language::Zh), WATCHED, 22);
    let welcome = live.until("the welcome line", is_welcome).await;
    let welcome_round = round_of(&welcome).unwrap().to_owned();
    live.send(push(queued, false, 1, 0));
    live.send(push(urgent, true, 0, 0));
    let said = live.until("the interrupting line", robot_sentence_saying(urgent)).await;
    let round = round_of(&said).unwrap().to_owned();
    live.until("905 of the interrupting line", |b| event_type(b) == 905 && round_of(b) == Some(round.as_str())).await;
    live.until("the customer's first sentence", |b| event_type(b) == 903 && payload(b)["UserId"] == CUSTOMER).await;
    live.send(Control::Stop);
    let played = live.finish().await;
    assert_eq!(states(&played, &welcome_round), [3, 4], "the welcome is interrupted");
    assert!(!of_type(&played, 903).iter().any(|b| payload(b)["Text"] == queued), "the queue was cleared");
}

#[tokio::test]
async fn a_priority_push_is_not_interrupted_and_other_commands_during_it_are_ignored() {
    let (first, ignored) = ("优先播报：系统将于今晚升级，请您知悉。", "这条插话应当被忽略。");
    let mut live = Live::start(medium_welcome(Language::Zh), WATCHED, 23);
    live.until("the welcome line", is_welcome).await;
    live.send(push(&first.repeat(3), true, 0, 1));
    let said = live.until("the priority line", robot_sentence_saying(&first.repeat(3))).await;
    let round = round_of(&said).unwrap().to_owned();
    live.send(push(ignored, true, 0, 1));
    live.send(push(ignored, false, 1, 0));
    live.send(Control::InvokeLlm { content: "say something else".to_owned(), interrupt: true });
    live.until("905 of the priority line", |b| event_type(b) == 905 && round_of(b) == Some(round.as_str())).await;
    live.until("the customer's first sentence", |b| event_type(b) == 903 && payload(b)["UserId"] == CUSTOMER).await;
    live.send(Control::Stop);
    let played = live.finish().await;
    assert_eq!(states(&played, &round), [3, 5, 1], "the priority line plays to its end");
    assert!(!of_type(&played, 903).iter().any(|b| payload(b)["Text"] == ignored), "pushes during it are ignored");
    let robot_rounds = of_type(&played, 903).iter().filter(|b| payload(b)["UserId"] == ROBOT).count();
    assert_eq!(robot_rounds, 2, "the welcome and the priority line only: the invoke was ignored too");
}

#[test]
fn server_push_text_fields_come_from_the_control_body() {
    let body = json!({"Command": "ServerPushText", "ServerPushText": {"Text": "hi", "DropMode": 1, "Priority": 1, "AddHistory": true}});
    assert_eq!(
        crate::calls::control_of(&body),
        Some(Control::PushText {
            text: "hi".to_owned(),
            interrupt: false,
            stop_after_play: false,
            drop_mode: 1,
            priority: 1,
            add_history: true
        })
    );
    let body = json!({"Command": "ServerPushText", "ServerPushText": {"Text": "hi"}});
    let Some(Control::PushText { drop_mode, priority, add_history, .. }) = crate::calls::control_of(&body) else {
        panic!("a push");
    };
    assert_eq!((drop_mode, priority, add_history), (0, 0, false), "the contract's defaults");
}

#[tokio::test]
async fn a_push_with_drop_mode_0_is_said_when_no_interaction_is_in_progress() {
    let text = "Before we start: this call may be recorded.";
    let mut spec = spec(Language::En);
    spec.welcome_message = None;
    let mut live = Live::start(spec, WATCHED, 24);
    live.send(push(text, false, 0, 0));
    let said = live.until("the pushed line", robot_sentence_saying(text)).await;
    let round = round_of(&said).unwrap().to_owned();
    live.until("905 of the pushed line", |b| event_type(b) == 905 && round_of(b) == Some(round.as_str())).await;
    live.send(Control::Stop);
    let played = live.finish().await;
    assert_eq!(states(&played, &round), [3, 5, 1]);
}

#[tokio::test]
async fn the_task_is_idle_until_its_robot_starts_preparing_until_909_then_in_progress() {
    let mut live = Live::start(spec(Language::Zh), Speed(5.0), 3);
    assert_eq!(*live.phase.borrow(), Phase::Idle, "accepted, nothing started yet");
    live.until("901", is(901)).await;
    assert_eq!(*live.phase.borrow(), Phase::Preparing, "the robot is in, the session not ready");
    live.until("909", is(909)).await;
    assert_eq!(*live.phase.borrow(), Phase::InProgress, "909 session_ready");
}

/// How long the robot's first line (the welcome) played, in wall ms as its 903 states it.
fn welcome_wall_ms(played: &Played) -> f64 {
    let welcome = of_type(played, 903).into_iter().find(|body| payload(body)["UserId"] == ROBOT).unwrap();
    (payload(welcome)["EndTimeMs"].as_u64().unwrap() - payload(welcome)["StartTimeMs"].as_u64().unwrap()) as f64
}

#[tokio::test]
async fn a_tts_speed_update_makes_later_lines_play_at_that_speed() {
    let normal = Live::start(long_welcome(Language::Zh), FAST, 9).finish().await;
    let live = Live::start(long_welcome(Language::Zh), FAST, 9);
    let tts = TtsConfig::parse(r#"{"TTSType":"flow","VoiceId":"v-male-Bk7vD3xP","Speed":2.0}"#);
    assert_eq!(tts.as_ref().map(|t| t.speed), Some(2.0));
    live.send(Control::Update(Box::new(Update { tts, ..Update::default() })));
    let faster = live.finish().await;
    let ratio = welcome_wall_ms(&faster) / welcome_wall_ms(&normal);
    assert!((0.45..0.56).contains(&ratio), "twice as fast: {ratio}");
}

#[tokio::test]
async fn a_voice_update_changes_the_voice_of_later_lines_and_not_of_the_line_being_spoken() {
    let (female_id, male_id) = ("v-female-R2s4N9qJ", "v-male-Bk7vD3xP");
    let (female, male) = (Voice::for_id(female_id), Voice::for_id(male_id));
    assert_ne!(female, male, "the two ids are heard differently");
    let mut spec = long_welcome(Language::Zh);
    spec.tts = TtsConfig::parse(&format!(r#"{{"TTSType":"flow","VoiceId":"{female_id}"}}"#)).unwrap();
    let mut live = Live::start(spec, WATCHED, 9);
    // The welcome's 903 comes as it starts playing; it plays on for a while after.
    let welcome =
        live.until("the welcome's 903", |body| event_type(body) == 903 && payload(body)["UserId"] == ROBOT).await;
    let welcome_round = round_of(&welcome).unwrap().to_owned();
    let tts = TtsConfig::parse(&format!(r#"{{"TTSType":"flow","VoiceId":"{male_id}"}}"#));
    live.send(Control::Update(Box::new(Update { tts, ..Update::default() })));
    let played = live.finish().await;

    // Every subtitle of the welcome, the round-complete one sent after the update included.
    let welcome_voices: Vec<_> = played
        .rooms
        .iter()
        .zip(&played.voices)
        .filter(|(m, _)| m["type"] == 10000 && m["sender"] == ROBOT && m["payload"]["roundid"] == welcome_round)
        .map(|(_, voice)| *voice)
        .collect();
    assert!(welcome_voices.len() >= 2, "the welcome has its subtitles: {welcome_voices:?}");
    assert!(welcome_voices.iter().all(|v| *v == Some(female)), "the welcome keeps its voice: {welcome_voices:?}");

    let robot: Vec<_> = played.spoken.iter().filter(|line| line.user_id == ROBOT).collect();
    assert!(robot.len() >= 3, "the welcome and replies were spoken: {robot:?}");
    assert_eq!(robot[0].voice, Some(female), "the welcome is heard in the first voice: {:?}", robot[0]);
    for line in &robot[1..] {
        assert_eq!(line.voice, Some(male), "a line planned after the update has the new voice: {line:?}");
    }
    let customer: Vec<_> = played.spoken.iter().filter(|line| line.user_id == CUSTOMER).collect();
    assert!(!customer.is_empty() && customer.iter().all(|line| line.voice.is_none()), "customers: {customer:?}");
}

#[test]
fn the_voice_id_is_read_from_every_engines_field() {
    let voice = |json: &str| TtsConfig::parse(json).unwrap().voice;
    assert_eq!(voice(r#"{"TTSType":"flow","VoiceId":"v-female-R2s4N9qJ"}"#).as_deref(), Some("v-female-R2s4N9qJ"));
    assert_eq!(voice(r#"{"TTSType":"tencent","VoiceType":1008}"#).as_deref(), Some("1008"));
    assert_eq!(
        voice(r#"{"TTSType":"tencent","VoiceType":1008,"FastVoiceType":"fv-1"}"#).as_deref(),
        Some("fv-1"),
        "a cloned voice is used instead of the VoiceType"
    );
    assert_eq!(voice(r#"{"TTSType":"minimax","VoiceType":"female-tianmei"}"#).as_deref(), Some("female-tianmei"));
    assert_eq!(voice(r#"{"TTSType":"azure","VoiceName":"en-US-JennyNeural"}"#).as_deref(), Some("en-US-JennyNeural"));
    assert_eq!(voice(r#"{"TTSType":"elevenlabs","VoiceId":"  "}"#), None, "a blank id is no voice");
    assert_eq!(voice(r#"{"TTSType":"custom","APIUrl":"http://127.0.0.1:9/tts"}"#), None);
}

#[test]
fn tts_speed_is_read_per_engine() {
    let speed = |json: &str| TtsConfig::parse(json).unwrap().speed;
    assert_eq!(speed(r#"{"TTSType":"flow","VoiceId":"v"}"#), 1.0);
    assert_eq!(speed(r#"{"TTSType":"minimax","Speed":0.5}"#), 0.5);
    assert!((speed(r#"{"TTSType":"tencent","VoiceType":1008,"Speed":-2}"#) - 0.6).abs() < 1e-9);
    assert!((speed(r#"{"TTSType":"tencent","Speed":2}"#) - 1.5).abs() < 1e-9);
    assert!((speed(r#"{"TTSType":"tencent","Speed":6}"#) - 2.5).abs() < 1e-9);
    assert_eq!(speed(r#"{"TTSType":"azure","Rate":1.5}"#), 1.5);
    assert_eq!(speed(r#"{"TTSType":"flow","Speed":9}"#), 2.0, "read within 0.5–2");
    assert_eq!(TtsConfig::parse(r#"{"TTSType":"tencent","VoiceType":1008}"#).unwrap().voice.as_deref(), Some("1008"));
}
