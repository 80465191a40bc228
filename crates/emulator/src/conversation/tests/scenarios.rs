//! The customer scenarios: every kind is played in both languages, the awkward callers
//! (silent, one-word, far-field) behave as such, and scripts branch on what the robot says.

use std::collections::BTreeSet;

use super::super::personas;
use super::super::script::{self, LineKind, Script, Stage};
use super::super::Language;
use super::*;

const KINDS: [&str; 9] = [
    "order delivery",
    "refund",
    "billing dispute",
    "password reset",
    "complaint escalating to a human",
    "address change",
    "silent customer",
    "one-word answerer",
    "noisy far-field caller",
];
/// The scenarios of ordinary callers (the rates of `script`'s doc are theirs).
pub(super) const ORDINARY: [&str; 6] = [
    "order delivery",
    "refund",
    "billing dispute",
    "password reset",
    "complaint escalating to a human",
    "address change",
];
const SEEDS: u64 = 400;

fn scripts(language: Language) -> Vec<(u64, Script)> {
    (0..SEEDS).map(|seed| (seed, script::plan(language, seed, ErrorRates::default()))).collect()
}

/// Mean of `value` over the scripts of `scenarios`.
fn mean(scripts: &[(u64, Script)], scenarios: &[&str], value: impl Fn(&Script) -> f64) -> f64 {
    let values: Vec<f64> =
        scripts.iter().filter(|(_, s)| scenarios.contains(&s.scenario)).map(|(_, s)| value(s)).collect();
    assert!(!values.is_empty(), "no script of {scenarios:?}");
    values.iter().sum::<f64>() / values.len() as f64
}

fn turns(script: &Script) -> f64 {
    script.sentences().count() as f64
}

fn asr_failures(script: &Script) -> f64 {
    let failed = script.sentences().filter(|(_, reply)| reply.failure.as_ref().is_some_and(|f| f.stage == Stage::Asr));
    failed.count() as f64 / turns(script)
}

#[test]
fn all_kinds_of_scenario_are_played_in_both_languages() {
    for language in [Language::Zh, Language::En] {
        let played: BTreeSet<&str> = scripts(language).iter().map(|(_, s)| s.scenario).collect();
        assert_eq!(played, KINDS.into_iter().collect(), "{language:?}");
        for (seed, script) in scripts(language).into_iter().take(20) {
            assert_eq!(
                script,
                script::plan(language, seed, ErrorRates::default()),
                "{language:?}/{seed}: a seed replays its script"
            );
        }
    }
}

#[test]
fn silent_and_one_word_callers_give_fewer_turns_and_the_silent_ones_long_gaps() {
    for language in [Language::Zh, Language::En] {
        let all = scripts(language);
        let ordinary = mean(&all, &ORDINARY, turns);
        let silent = mean(&all, &["silent customer"], turns);
        let one_word = mean(&all, &["one-word answerer"], turns);
        assert!(silent < ordinary * 0.6, "{language:?}: silent {silent} vs ordinary {ordinary} turns");
        assert!(one_word < ordinary * 0.6, "{language:?}: one-word {one_word} vs ordinary {ordinary} turns");

        let one_words = |s: &Script| s.lines.iter().filter(|l| l.kind == LineKind::OneWord).count() as f64;
        let share = |s: &Script| one_words(s) / s.lines.len() as f64;
        let one_word_share = mean(&all, &["one-word answerer"], share);
        assert!(one_word_share > 0.5, "{language:?}: mostly one-word answers, got {one_word_share}");
        assert!(mean(&all, &ORDINARY, share) < 0.2, "{language:?}: ordinary callers rarely answer with one word");

        // Every pause after the first line, pooled over the scenarios' calls.
        let gaps = |scenarios: &[&str]| {
            let pauses: Vec<u64> = all
                .iter()
                .filter(|(_, s)| scenarios.contains(&s.scenario))
                .flat_map(|(_, s)| s.lines.iter().skip(1).map(|l| l.pause_before))
                .collect();
            pauses.iter().sum::<u64>() as f64 / pauses.len() as f64
        };
        let (silent_gap, ordinary_gap) = (gaps(&["silent customer"]), gaps(&ORDINARY));
        assert!(silent_gap > 2.5 * ordinary_gap, "{language:?}: gaps {silent_gap} vs {ordinary_gap} ms");
        for (seed, script) in all.iter().filter(|(_, s)| s.scenario == "silent customer") {
            assert!(script.lingers >= 8_000, "{language:?}/{seed}: a silent caller stays quiet before hanging up");
        }
        assert!(all.iter().filter(|(_, s)| ORDINARY.contains(&s.scenario)).all(|(_, s)| s.lingers == 0));
    }
}

#[test]
fn the_far_field_caller_gets_more_and_slower_asr_errors_and_garbled_partials() {
    for language in [Language::Zh, Language::En] {
        let all = scripts(language);
        let far = mean(&all, &["noisy far-field caller"], asr_failures);
        let ordinary = mean(&all, &ORDINARY, asr_failures);
        assert!(far > 0.1 && far > 5.0 * ordinary, "{language:?}: ASR errors {far} vs {ordinary}");
        let latency = |s: &Script| {
            let asr: Vec<u64> = s.lines.iter().map(|l| l.asr.vad + l.asr.recognition).collect();
            asr.iter().sum::<u64>() as f64 / asr.len() as f64
        };
        let (far_ms, ordinary_ms) = (mean(&all, &["noisy far-field caller"], latency), mean(&all, &ORDINARY, latency));
        assert!(far_ms > ordinary_ms + 400.0, "{language:?}: asr_latency {far_ms} vs {ordinary_ms} ms");
        for (seed, script) in &all {
            let garbled = script.lines.iter().all(|l| l.garbled);
            assert_eq!(garbled, script.scenario == "noisy far-field caller", "{language:?}/{seed}");
        }
    }
}

#[test]
fn the_customer_answers_what_the_robot_asks_for() {
    for language in [Language::Zh, Language::En] {
        let mut taken = 0;
        for (seed, script) in scripts(language) {
            let sentences: Vec<_> = script.sentences().collect();
            for (index, (_, reply)) in sentences.iter().enumerate() {
                let rest = &sentences[index + 1..];
                if rest.is_empty() {
                    continue;
                }
                for branch in personas::branches(language) {
                    let robot = reply.text.to_lowercase();
                    if !branch.robot_asks.iter().any(|w| robot.contains(&w.to_lowercase())) {
                        continue;
                    }
                    let answered = rest.iter().any(|(line, _)| {
                        let customer = line.text.to_lowercase();
                        branch.answered_by.iter().any(|w| customer.contains(&w.to_lowercase()))
                    });
                    assert!(answered, "{language:?}/{seed}: the robot asked {:?} and got no answer", reply.text);
                    taken += usize::from(rest[0].0.text == branch.answer.customer);
                }
            }
        }
        assert!(taken > 20, "{language:?}: the branch answer was given {taken} times");
    }
}

#[test]
fn after_a_failed_round_the_customer_says_it_again_or_complains() {
    for language in [Language::Zh, Language::En] {
        let mut repeats = 0;
        for (seed, script) in scripts(language) {
            let sentences: Vec<_> = script.sentences().collect();
            for pair in sentences.windows(2) {
                let ((line, reply), (next, next_reply)) = (pair[0], pair[1]);
                if reply.failure.is_some() && !next.text.ends_with(line.text.as_str()) {
                    // A repeat that failed again is not repeated a second time.
                    assert!(
                        sentences.iter().any(|(earlier, _)| line.text.ends_with(earlier.text.as_str())
                            && earlier.text != line.text),
                        "{language:?}/{seed}: after {:?} failed the customer went on with {:?}",
                        line.text,
                        next.text
                    );
                } else if reply.failure.is_some() {
                    assert_ne!(next.text, line.text, "{language:?}/{seed}: it is said differently");
                    assert_eq!(next_reply.text, reply.text, "{language:?}/{seed}: and answered as planned");
                    repeats += 1;
                }
            }
        }
        assert!(repeats > 20, "{language:?}: {repeats} repeats");
    }
}

#[tokio::test]
async fn a_silent_call_ends_by_the_idle_timeout_with_few_turns() {
    for language in [Language::Zh, Language::En] {
        let (seed, script) =
            scripts(language).into_iter().find(|(_, s)| s.scenario == "silent customer").expect("a silent customer");
        // Slow enough (100×) that EventMsTs bumps under load do not matter.
        let played = Live::start(spec(language), Speed(100.0), seed).finish().await;
        assert_eq!(played.outcome.leave_code, 99, "{language:?}/{seed}");
        assert!(played.outcome.turns <= 1 + 4, "{language:?}/{seed}: few turns, got {}", played.outcome.turns);
        let last_reply = of_type(&played, 905).last().map(|b| event_ms(b)).expect("a 905");
        let stopped = of_type(&played, 902).last().map(|b| event_ms(b)).expect("a 902");
        // The customer keeps quiet, hangs up, and MaxIdleTime (5 s) later the task stops.
        let quiet = (script.lingers + 5_000) * 9 / 10 / 100;
        assert!(stopped - last_reply >= quiet, "{language:?}/{seed}: {} ms of silence", stopped - last_reply);
    }
}

#[tokio::test]
async fn a_far_field_call_shows_misheard_partials_and_the_right_final_sentence() {
    for language in [Language::Zh, Language::En] {
        let (seed, _) = scripts(language)
            .into_iter()
            .find(|(_, s)| s.scenario == "noisy far-field caller")
            .expect("a far-field caller");
        let played = play(spec(language), seed).await;
        let finals: Vec<String> =
            of_type(&played, 903).iter().map(|b| payload(b)["Text"].as_str().unwrap().to_owned()).collect();
        let misheard = played
            .rooms
            .iter()
            .filter(|m| m["type"] == 10000 && m["sender"] == CUSTOMER && m["payload"]["end"] == false)
            .filter_map(|m| m["payload"]["text"].as_str())
            .filter(|text| !finals.iter().any(|f| f.starts_with(text)))
            .count();
        assert!(misheard > 0, "{language:?}/{seed}: some partial is not a prefix of what was finally heard");
    }
}

/// Stages of the failed replies of every script of both languages at `rates`, and the
/// number of replies.
fn failures_at(rates: ErrorRates) -> (Vec<Option<Stage>>, Vec<&'static str>) {
    let mut stages = Vec::new();
    let mut scenarios = Vec::new();
    for language in [Language::Zh, Language::En] {
        for seed in 0..SEEDS {
            let script = script::plan(language, seed, rates);
            for (_, reply) in script.sentences() {
                stages.push(reply.failure.as_ref().map(|f| f.stage));
                scenarios.push(script.scenario);
            }
        }
    }
    (stages, scenarios)
}

#[test]
fn a_stage_at_rate_0_never_fails_and_at_rate_1_fails_every_reply() {
    let none = ErrorRates { asr: 0.0, llm: 0.0, tts: 0.0 };
    let (stages, scenarios) = failures_at(none);
    for (stage, scenario) in stages.iter().zip(&scenarios) {
        // A far-field caller's own ASR errors stay on top of the rates.
        if *scenario != "noisy far-field caller" {
            assert_eq!(*stage, None, "{scenario}: no failure at rate 0");
        } else {
            assert!(matches!(stage, None | Some(Stage::Asr)), "{scenario}: {stage:?}");
        }
    }
    for (stage, rates) in [
        (Stage::Asr, ErrorRates { asr: 1.0, ..none }),
        (Stage::Llm, ErrorRates { llm: 1.0, ..none }),
        (Stage::Tts, ErrorRates { tts: 1.0, ..none }),
    ] {
        let (stages, scenarios) = failures_at(rates);
        for (failed, scenario) in stages.iter().zip(&scenarios) {
            let far_field_asr = *scenario == "noisy far-field caller" && *failed == Some(Stage::Asr);
            assert!(*failed == Some(stage) || far_field_asr, "{scenario}: {failed:?} at {rates:?}");
        }
    }
}

#[test]
fn the_default_rates_fail_about_one_reply_in_25_split_1_2_1() {
    let (stages, scenarios) = failures_at(ErrorRates::default());
    let ordinary: Vec<Option<Stage>> =
        stages.into_iter().zip(scenarios).filter(|(_, s)| ORDINARY.contains(s)).map(|(stage, _)| stage).collect();
    let share =
        |wanted: Stage| ordinary.iter().filter(|stage| **stage == Some(wanted)).count() as f64 / ordinary.len() as f64;
    let (asr, llm, tts) = (share(Stage::Asr), share(Stage::Llm), share(Stage::Tts));
    assert!((0.005..0.02).contains(&asr), "ASR {asr}");
    assert!((0.012..0.03).contains(&llm), "LLM {llm}");
    assert!((0.005..0.02).contains(&tts), "TTS {tts}");
}
