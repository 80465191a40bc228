//! Seeds, personas and the rarer things: interruptions, pipeline errors, requests for a
//! human, and the language spoken.

use std::collections::BTreeSet;

use super::super::personas;
use super::super::script::{self, LineKind, Stage};
use super::super::Language;
use super::scenarios::ORDINARY;
use super::*;

/// What a call said, without wall-clock times: the texts, metric values and round ids.
fn signature(played: &Played) -> Vec<Value> {
    played
        .callbacks
        .iter()
        .map(|body| {
            let mut payload = payload(body).clone();
            if let Some(fields) = payload.as_object_mut() {
                fields.remove("StartTimeMs");
                fields.remove("EndTimeMs");
            }
            json!([event_type(body), body["EventInfo"]["UserId"], payload])
        })
        .collect()
}

#[tokio::test]
async fn the_same_seed_plays_the_same_call_and_another_seed_a_different_one() {
    let played = play_many(vec![(spec(Language::Zh), 42), (spec(Language::Zh), 42), (spec(Language::Zh), 43)]).await;
    let (first, again, other) = (signature(&played[0]), signature(&played[1]), signature(&played[2]));
    assert_eq!(first, again, "seed 42 twice plays the same texts, values and rounds");
    assert_eq!(played[0].outcome, played[1].outcome);
    assert_ne!(first, other, "seed 43 plays another call");
    assert_ne!(
        script::plan(Language::Zh, 42, ErrorRates::default()),
        script::plan(Language::Zh, 43, ErrorRates::default())
    );
}

#[test]
fn scripts_vary_across_seeds_the_way_the_design_asks() {
    for language in [Language::Zh, Language::En] {
        let (mut sentences, mut one_words, mut barge_ins, mut humans) = (0, 0, 0, 0);
        let mut scenarios = BTreeSet::new();
        let mut codes = BTreeSet::new();
        let calls = 400;
        for seed in 0..calls {
            let script = script::plan(language, seed, ErrorRates::default());
            scenarios.insert(script.scenario);
            if !ORDINARY.contains(&script.scenario) {
                continue;
            }
            let count = script.sentences().count();
            // 4–10 chosen, plus the branches' answers and repeats after failures.
            assert!((4..=16).contains(&count), "{language:?}/{seed}: 4–16 turns, got {count}");
            assert!(
                matches!(script.lines.last().map(|l| &l.kind), Some(LineKind::Sentence(_))),
                "{language:?}/{seed}: a call never ends on a one-word answer"
            );
            one_words += script.lines.iter().filter(|l| l.kind == LineKind::OneWord).count();
            humans += usize::from(script.sentences().any(|(line, _)| personas::asks_for_human(language, &line.text)));
            for (_, reply) in script.sentences() {
                sentences += 1;
                barge_ins += usize::from(reply.barge_in.is_some());
                codes.extend(reply.failure.as_ref().map(|f| f.code));
            }
        }
        let failures: usize = (0..calls)
            .map(|seed| script::plan(language, seed, ErrorRates::default()))
            .filter(|script| ORDINARY.contains(&script.scenario))
            .map(|script| script.sentences().filter(|(_, r)| r.failure.is_some()).count())
            .sum();
        let share = |n: usize| n as f64 / sentences as f64;
        assert_eq!(scenarios.len(), 9, "{language:?}: every persona gets played: {scenarios:?}");
        assert!((0.05..0.11).contains(&share(barge_ins)), "{language:?}: ~8 % interrupted, got {}", share(barge_ins));
        assert!((0.02..0.07).contains(&share(failures)), "{language:?}: ~4 % failed, got {}", share(failures));
        assert!((0.05..0.2).contains(&share(one_words)), "{language:?}: one-word answers, got {}", share(one_words));
        assert!(humans as f64 / calls as f64 > 0.15, "{language:?}: calls asking for a human: {humans}/{calls}");
        let all: BTreeSet<i64> = [30100, 30102, 30200, 30201, 30202, 30300, 30301, 30302].into();
        assert_eq!(codes, all, "{language:?}: every documented error code shows up");
    }
}

#[tokio::test]
async fn an_interrupted_round_keeps_its_partial_reply_and_gets_state_4_and_the_interruption_metric() {
    let language = Language::En;
    let seed = (0..300)
        .find(|seed| {
            script::plan(language, *seed, ErrorRates::default()).sentences().any(|(_, reply)| reply.barge_in.is_some())
        })
        .expect("some seed interrupts the robot");
    let played = play(spec(language), seed).await;
    let interrupted: Vec<String> =
        rounds(&played).into_iter().filter(|round| states(&played, round).contains(&4)).collect();
    assert!(!interrupted.is_empty(), "seed {seed}: a planned barge-in interrupts the robot");
    for round in &interrupted {
        let metric = of_type(&played, 906)
            .into_iter()
            .find(|b| round_of(b) == Some(round.as_str()) && payload(b)["Metric"] == "interruption")
            .unwrap_or_else(|| panic!("{round}: 906 interruption"));
        assert_eq!(payload(metric)["Value"], 1);
        assert!(room_messages(&played, 10020, round).iter().any(|m| m["payload"]["metric"] == "interruption"));
        assert!(!of_type(&played, 905).iter().any(|b| round_of(b) == Some(round.as_str())), "{round}: no 905");
        let said: Vec<&Value> =
            room_messages(&played, 10000, round).into_iter().filter(|m| m["sender"] == ROBOT).collect();
        assert!(!said.is_empty(), "{round}: the partial reply's subtitles stay");
        let fold = fold(&played);
        let turn = fold.turn(&domain::ids::RoundId::new(round.as_str())).unwrap();
        assert!(turn.interrupted(), "{round}: the fold sees the interruption");
    }
}

#[tokio::test]
async fn a_failing_stage_reports_908_and_10030_and_its_round_gets_no_reply() {
    for stage in [Stage::Asr, Stage::Llm, Stage::Tts] {
        let language = Language::Zh;
        let seed = (0..2_000)
            .find(|seed| {
                script::plan(language, *seed, ErrorRates::default())
                    .sentences()
                    .any(|(_, reply)| reply.failure.as_ref().is_some_and(|f| f.stage == stage))
            })
            .expect("some seed fails at each stage");
        let played = play(spec(language), seed).await;
        let errors = of_type(&played, 908);
        assert!(!errors.is_empty(), "{stage:?}/{seed}: a 908");
        for error in errors {
            let round = round_of(error).unwrap();
            let p = payload(error);
            let metric = p["Metric"].as_str().unwrap();
            assert!(["asr_error", "llm_error", "tts_error"].contains(&metric), "{p}");
            let code = p["Tag"]["Code"].as_i64().unwrap();
            assert_eq!(
                code / 100 % 10,
                1 + ["asr_error", "llm_error", "tts_error"].iter().position(|m| *m == metric).unwrap() as i64
            );
            assert!(!p["Tag"]["Message"].as_str().unwrap().is_empty());
            let mirrored = room_messages(&played, 10030, round);
            assert_eq!(mirrored.len(), 1, "{round}: 10030 mirrors 908");
            assert_eq!(mirrored[0]["payload"]["tag"]["code"], code);
            assert!(sentence_of(&played, round, ROBOT).is_none(), "{round}: no robot 903");
            assert!(!of_type(&played, 905).iter().any(|b| round_of(b) == Some(round)), "{round}: no 905");
            assert_eq!(states(&played, round).last(), Some(&1), "{round}: the robot listens again");
            if metric == "asr_error" {
                assert!(sentence_of(&played, round, CUSTOMER).is_none(), "{round}: nothing was recognised");
            }
        }
    }
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

#[tokio::test]
async fn a_chinese_call_speaks_chinese_and_an_english_call_speaks_english() {
    let played = play_many(vec![(spec(Language::Zh), 3), (spec(Language::En), 3)]).await;
    for (language, played) in [Language::Zh, Language::En].into_iter().zip(&played) {
        let texts: Vec<&str> = of_type(played, 903)
            .into_iter()
            .chain(of_type(played, 905))
            .map(|b| payload(b)["Text"].as_str().unwrap())
            .chain(played.rooms.iter().filter(|m| m["type"] == 10000).map(|m| m["payload"]["text"].as_str().unwrap()))
            .filter(|text| !text.is_empty())
            .collect();
        assert!(texts.len() > 10, "{language:?}: plenty said");
        for text in texts {
            match language {
                Language::Zh => assert!(text.chars().any(is_cjk), "not Chinese: {text}"),
                Language::En => assert!(
                    !text.chars().any(is_cjk) && text.chars().any(|c| c.is_ascii_alphabetic()),
                    "not English: {text}"
                ),
            }
        }
    }
}

#[test]
fn the_stt_language_picks_the_script_language() {
    assert_eq!(Language::from_stt_language(Some("en")), Language::En);
    assert_eq!(Language::from_stt_language(Some("en-US")), Language::En);
    assert_eq!(Language::from_stt_language(Some("zh")), Language::Zh);
    assert_eq!(Language::from_stt_language(Some("16k_zh_large")), Language::Zh);
    assert_eq!(Language::from_stt_language(None), Language::Zh, "TRTC's default is zh");
}

#[tokio::test]
async fn string_rooms_are_spelt_as_strings_in_every_callback() {
    let mut spec = spec(Language::En);
    spec.room_id = "room_support_7".to_owned();
    spec.room_id_type = 1;
    let (outputs, mut receivers) = crate::outputs::Outputs::new();
    let spawned = super::super::spawn(spec, outputs, FAST, 5, &Pipeline::default());
    spawned.task.await.unwrap();
    let mut seen = 0;
    while let Ok(body) = receivers.callbacks.try_recv() {
        assert_eq!(body["EventInfo"]["RoomId"], "room_support_7", "{body}");
        if body["EventGroupId"] == 9 {
            assert_eq!(body["EventInfo"]["RoomIdType"], 1);
        }
        normalise_callback(&body);
        seen += 1;
    }
    assert!(seen > 30);
}

/// Rounds of `played` the robot was interrupted in (10001 state 4).
fn interrupted_rounds(played: &Played) -> Vec<String> {
    rounds(played).into_iter().filter(|round| states(played, round).contains(&4)).collect()
}

#[tokio::test]
async fn interrupt_speech_duration_sets_how_long_the_customer_must_talk_over_the_robot() {
    let language = Language::Zh;
    let seeds: Vec<u64> = (0..400)
        .filter(|seed| {
            script::plan(language, *seed, ErrorRates::default()).sentences().any(|(_, reply)| reply.barge_in.is_some())
        })
        .take(12)
        .collect();
    assert!(seeds.len() >= 8, "enough seeds plan a barge-in");
    let with = |ms: u64| {
        let mut spec = spec(language);
        spec.interrupt_speech_ms = ms;
        seeds.iter().map(move |seed| (spec.clone(), *seed)).collect::<Vec<_>>()
    };
    for played in play_many(with(5_000)).await {
        assert!(interrupted_rounds(&played).is_empty(), "5 s of speech over the robot is never reached");
        assert!(!of_type(&played, 906).iter().any(|b| payload(b)["Metric"] == "interruption"));
    }
    let default = play_many(with(crate::conversation::DEFAULT_INTERRUPT_SPEECH_MS)).await;
    let interrupted = default.iter().filter(|played| !interrupted_rounds(played).is_empty()).count();
    assert!(interrupted * 2 >= seeds.len(), "with the default 500 ms most planned barge-ins interrupt: {interrupted}");
}

#[tokio::test]
async fn a_brief_uh_huh_over_the_robot_never_interrupts_it() {
    for language in [Language::Zh, Language::En] {
        let seeds: Vec<u64> = (0..400)
            .filter(|seed| {
                let script = script::plan(language, *seed, ErrorRates::default());
                script.sentences().any(|(_, reply)| reply.over_talk.is_some())
                    && script.sentences().all(|(_, reply)| reply.barge_in.is_none())
            })
            .take(8)
            .collect();
        assert!(seeds.len() >= 4, "{language:?}: over-talk is common enough");
        for seed in &seeds {
            for (_, reply) in script::plan(language, *seed, ErrorRates::default()).sentences() {
                if let Some((_, ms)) = reply.over_talk {
                    assert!(ms < crate::conversation::DEFAULT_INTERRUPT_SPEECH_MS, "over-talk is short");
                }
            }
        }
        let played = play_many(seeds.iter().map(|seed| (spec(language), *seed)).collect()).await;
        for (seed, played) in seeds.iter().zip(&played) {
            assert!(
                interrupted_rounds(played).is_empty(),
                "{language:?} seed {seed}: short over-talk interrupts nothing"
            );
        }
    }
}

#[tokio::test]
async fn an_update_of_interrupt_speech_duration_applies_to_later_barge_ins() {
    let language = Language::Zh;
    let seeds: Vec<u64> = (0..400)
        .filter(|seed| {
            script::plan(language, *seed, ErrorRates::default()).sentences().any(|(_, reply)| reply.barge_in.is_some())
        })
        .take(8)
        .collect();
    for seed in seeds {
        let live = Live::start(spec(language), FAST, seed);
        live.send(Control::Update(Box::new(Update { interrupt_speech_ms: Some(5_000), ..Update::default() })));
        let played = live.finish().await;
        assert!(interrupted_rounds(&played).is_empty(), "seed {seed}: 5 s of speech over the robot is never reached");
    }
}
