//! Whole calls without commands: valid TRTC, the fold's view, and the order of things.

use domain::event::{EventBody, MetricName, Source};

use super::super::script::{self, LineKind, Stage};
use super::super::Language;
use super::*;

/// Seeds 0..8 in both languages, both subtitle modes, numeric and string rooms.
async fn many_calls() -> Vec<(Language, u64, Played)> {
    let mut calls = Vec::new();
    for language in [Language::Zh, Language::En] {
        for seed in 0..8 {
            let mut spec = spec(language);
            spec.subtitle_mode = seed % 2;
            calls.push((spec, seed));
        }
    }
    let keys: Vec<(Language, u64)> = calls.iter().map(|(spec, seed)| (spec.language, *seed)).collect();
    let played = play_many(calls).await;
    keys.into_iter().zip(played).map(|((language, seed), played)| (language, seed, played)).collect()
}

#[tokio::test]
async fn every_callback_and_room_message_of_a_full_call_normalises_as_trtc() {
    for (language, seed, played) in many_calls().await {
        assert!(played.callbacks.len() > 30, "{language:?}/{seed}: a full call sends many callbacks");
        for body in &played.callbacks {
            let event = normalise_callback(body);
            assert_eq!(event.source, Source::Callback);
            assert_eq!(event.source_ms.0, event_ms(body), "EventMsTs is the source time");
            let group = body["EventGroupId"].as_u64().unwrap();
            if group == 9 {
                assert_eq!(event.call.task.as_ref().map(|t| t.as_str()), Some(TASK), "{body}");
                assert!(body["EventInfo"]["RoomId"].is_string(), "AI callbacks spell RoomId as a string: {body}");
            } else {
                assert!(body["EventInfo"]["RoomId"].is_u64(), "a numeric room is a number in room callbacks: {body}");
                assert_eq!(body["EventInfo"]["EventTs"].as_u64(), Some(event_ms(body) / 1000), "{body}");
            }
        }
        assert!(!played.rooms.is_empty(), "{language:?}/{seed}: a call sends room messages");
        for (index, message) in played.rooms.iter().enumerate() {
            let event = normalise_room(message, 1_700_000_000_000 + index as u64);
            assert_eq!(message["receiver"], json!([]), "{message}");
            let sender = message["sender"].as_str().unwrap();
            if let EventBody::Sentence(sentence) = &event.body {
                assert!(sender == ROBOT || sender == CUSTOMER, "a subtitle's sender is a speaker: {message}");
                assert_eq!(sentence.user.as_str(), sender);
            } else {
                assert_eq!(sender, ROBOT, "state, metric and error messages come from the robot: {message}");
            }
        }
    }
}

#[tokio::test]
async fn folding_a_full_call_gives_one_complete_turn_per_scripted_sentence() {
    for (language, seed, played) in many_calls().await {
        let script = script::plan(language, seed, ErrorRates::default());
        let call = fold(&played);
        let turns = call.turns();
        let sentences: Vec<_> = script.sentences().collect();
        assert_eq!(
            turns.len(),
            sentences.len() + 1,
            "{language:?}/{seed}: the welcome line plus one turn per sentence"
        );
        assert_eq!(played.outcome.turns, turns.len(), "the outcome counts what the fold counts");

        let welcome = turns[0].robot().expect("the first turn is the welcome line");
        assert_eq!(Some(welcome.text.clone()), spec(language).welcome_message);
        assert!(turns[0].user().is_none(), "nobody asked for the welcome line");

        for (turn, (line, reply)) in turns[1..].iter().zip(&sentences) {
            let what = format!("{language:?}/{seed} round {}", turn.round());
            let failed_stage = reply.failure.as_ref().map(|failure| failure.stage);
            match failed_stage {
                Some(Stage::Asr) => assert!(turn.user().is_none(), "{what}: ASR failed, no user sentence"),
                _ => {
                    let user = turn.user().unwrap_or_else(|| panic!("{what}: the user's sentence"));
                    assert!(user.is_final, "{what}");
                    assert_eq!(user.text, line.text, "{what}");
                }
            }
            if let Some(failure) = &reply.failure {
                assert!(turn.robot().is_none(), "{what}: a failed round gets no reply");
                assert_eq!(turn.errors().len(), 1, "{what}: one error");
                assert_eq!(turn.errors()[0].error.code, failure.code, "{what}");
            } else if turn.interrupted() {
                assert!(reply.barge_in.is_some(), "{what}: only planned barge-ins interrupt");
                assert!(turn.finished_ms().is_none(), "{what}: no 905 for an interrupted round");
            } else {
                let robot = turn.robot().unwrap_or_else(|| panic!("{what}: the robot's reply"));
                assert!(robot.is_final, "{what}");
                assert_eq!(robot.text, reply.text, "{what}");
                assert!(turn.finished_ms().is_some(), "{what}: 905");
                let metrics = turn.metrics();
                assert_eq!(metrics.llm_first_token.map(|m| m.value), Some(reply.llm.first_token as f64), "{what}");
                assert_eq!(metrics.tts_first_frame_latency.map(|m| m.value), Some(reply.tts.first_frame as f64));
                assert_eq!(metrics.tts_discontinuity.map(|m| m.value), Some(reply.discontinuity as f64));
                assert!(metrics.interruption.is_none(), "{what}: interruption is reported only when it happens");
            }
            // Every metric the call reported for the round sits in its slot.
            for body in of_type(&played, 906).into_iter().filter(|b| round_of(b) == Some(turn.round().as_str())) {
                let name = MetricName::parse(payload(body)["Metric"].as_str().unwrap());
                let value = payload(body)["Value"].as_f64().unwrap();
                assert_eq!(turn.metrics().get(&name).map(|m| m.value), Some(value), "{what}: {name:?}");
            }
        }
    }
}

#[tokio::test]
async fn each_round_orders_904_then_user_903_then_robot_903_then_905_by_event_ms_ts() {
    for (language, seed, played) in many_calls().await {
        for round in rounds(&played) {
            let what = format!("{language:?}/{seed} {round}");
            let first = |event_type: u64, user: Option<&str>| {
                of_type(&played, event_type)
                    .into_iter()
                    .filter(|b| round_of(b) == Some(round.as_str()))
                    .filter(|b| user.is_none_or(|user| payload(b)["UserId"] == user))
                    .map(event_ms)
                    .min()
            };
            let chain = [first(904, None), first(903, Some(CUSTOMER)), first(903, Some(ROBOT)), first(905, None)];
            let present: Vec<u64> = chain.iter().flatten().copied().collect();
            assert!(present.windows(2).all(|w| w[0] < w[1]), "{what}: 904 < 903 user < 903 robot < 905, got {chain:?}");
            if let (Some(user), Some(robot)) = (chain[1], chain[2]) {
                assert!(user < robot, "{what}");
            }
        }
    }
}

#[tokio::test]
async fn a_call_opens_with_901_then_909_before_the_first_904_and_ends_with_902() {
    for (language, seed, played) in many_calls().await {
        let what = format!("{language:?}/{seed}");
        let types: Vec<u64> = played.callbacks.iter().map(event_type).collect();
        let position = |wanted: u64| types.iter().position(|t| *t == wanted);
        let (started, ready, spoke) = (position(901).unwrap(), position(909).unwrap(), position(904).unwrap());
        assert!(started < ready && ready < spoke, "{what}: 901 < 909 < first 904 in {types:?}");
        assert_eq!(types.first(), Some(&103), "{what}: the customer enters first");
        assert_eq!(payload(&played.callbacks[0]), &Value::Null, "room callbacks carry no Payload");
        assert_eq!(played.callbacks[0]["EventInfo"]["UserId"], CUSTOMER);
        assert_eq!(played.callbacks[0]["EventInfo"]["Role"], 20);
        assert_eq!(types.last(), Some(&902), "{what}: 902 is last");
        assert_eq!(types.iter().filter(|t| **t == 902).count(), 1, "{what}: one 902");
        assert_eq!(payload(played.callbacks.last().unwrap())["LeaveCode"], 99, "{what}: idle after the hang-up");
        assert_eq!(played.outcome.leave_code, 99);
        let exits: Vec<&Value> = of_type(&played, 104);
        assert_eq!(exits.len(), 2, "{what}: the customer hangs up, then the robot leaves");
        assert_eq!(exits[0]["EventInfo"]["UserId"], CUSTOMER);
        assert_eq!(exits[1]["EventInfo"]["UserId"], ROBOT);
        // How long 902 waits after the hang-up is checked at 100× in `controls`; at 1000×
        // the 1 ms steps that keep EventMsTs strictly increasing blur 5 ms of idle time.
        let entries: Vec<&str> =
            of_type(&played, 103).iter().map(|b| b["EventInfo"]["UserId"].as_str().unwrap()).collect();
        assert_eq!(entries, [CUSTOMER, ROBOT], "{what}");
        let audio: Vec<&str> =
            of_type(&played, 203).iter().map(|b| b["EventInfo"]["UserId"].as_str().unwrap()).collect();
        assert_eq!(audio, [CUSTOMER, ROBOT], "{what}");
    }
}

#[tokio::test]
async fn room_states_of_an_ordinary_round_go_listening_thinking_speaking_finished() {
    let mut ordinary = 0;
    for (language, seed, played) in many_calls().await {
        for round in rounds(&played) {
            let mut states = states(&played, &round);
            states.dedup();
            let what = format!("{language:?}/{seed} {round}: {states:?}");
            let heard = sentence_of(&played, &round, CUSTOMER).is_some();
            let finished = of_type(&played, 905).iter().any(|b| round_of(b) == Some(round.as_str()));
            if heard && finished {
                assert_eq!(states, [1, 2, 3, 5, 1], "{what}");
                ordinary += 1;
            } else if states.contains(&4) {
                assert!(!finished, "{what}: an interrupted round has no 905");
                assert_eq!(states.last(), Some(&4), "{what}");
            } else if !heard && finished {
                assert_eq!(states, [3, 5, 1], "{what}: the welcome line");
            }
        }
    }
    assert!(ordinary > 50, "most rounds are ordinary, saw {ordinary}");
}

#[tokio::test]
async fn partial_subtitles_precede_the_final_one_of_their_round_and_grow() {
    for (language, seed, played) in many_calls().await {
        for round in rounds(&played) {
            let customer: Vec<&Value> =
                room_messages(&played, 10000, &round).into_iter().filter(|m| m["sender"] == CUSTOMER).collect();
            let what = format!("{language:?}/{seed} {round}");
            let Some(final_at) = customer.iter().position(|m| m["payload"]["end"] == true) else { continue };
            assert_eq!(final_at, customer.len() - 1, "{what}: the final subtitle is the customer's last");
            assert!(final_at >= 1, "{what}: interim results come first");
            let partials: Vec<usize> = customer[..final_at]
                .iter()
                .filter(|m| m["payload"]["end"] == false)
                .map(|m| m["payload"]["text"].as_str().unwrap().chars().count())
                .collect();
            assert!(partials.windows(2).all(|w| w[0] <= w[1]), "{what}: interim text grows: {partials:?}");
            let final_text = customer[final_at]["payload"]["text"].as_str().unwrap();
            let user = sentence_of(&played, &round, CUSTOMER).expect("a final subtitle comes with a 903");
            assert_eq!(payload(user)["Text"], final_text, "{what}");
            let clock = customer[final_at]["payload"]["start_time"].as_str().unwrap();
            assert!(clock.len() == 8 && clock.as_bytes()[2] == b':', "{what}: HH:MM:SS, got {clock}");
        }
    }
}

#[tokio::test]
async fn event_ms_ts_never_decreases_in_emission_order() {
    for (language, seed, played) in many_calls().await {
        let stamps: Vec<u64> = played.callbacks.iter().map(event_ms).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{language:?}/{seed}: strictly increasing, got {stamps:?}");
        let now = super::unix_ms();
        assert!(stamps.iter().all(|ms| ms.abs_diff(now) < 60_000), "{language:?}/{seed}: wall-clock Unix ms");
    }
}

#[tokio::test]
async fn robot_subtitles_are_cumulative_in_mode_0_and_sentence_by_sentence_in_mode_1() {
    for (language, seed, played) in many_calls().await {
        let mode = seed % 2;
        for round in rounds(&played) {
            let Some(reply) = of_type(&played, 905).into_iter().find(|b| round_of(b) == Some(round.as_str())) else {
                continue;
            };
            let said = payload(reply)["Text"].as_str().unwrap();
            let texts: Vec<&str> = room_messages(&played, 10000, &round)
                .into_iter()
                .filter(|m| m["sender"] == ROBOT)
                .map(|m| m["payload"]["text"].as_str().unwrap())
                .filter(|text| !text.is_empty())
                .collect();
            let what = format!("{language:?}/{seed} mode {mode} {round}: {texts:?}");
            if mode == 0 {
                assert!(texts.windows(2).all(|w| w[1].starts_with(w[0])), "{what}: each holds the text so far");
                assert_eq!(texts.last().copied(), Some(said), "{what}");
            } else {
                assert_eq!(texts.concat().replace(' ', ""), said.replace(' ', ""), "{what}: the sentences add up");
            }
        }
    }
}

#[tokio::test]
async fn one_word_answers_get_a_904_and_an_interim_subtitle_but_no_turn() {
    let language = Language::Zh;
    let seed = (0..500)
        .find(|seed| {
            script::plan(language, *seed, ErrorRates::default()).lines.iter().any(|line| line.kind == LineKind::OneWord)
        })
        .expect("some seed has a one-word answer");
    let script = script::plan(language, seed, ErrorRates::default());
    let played = play(spec(language), seed).await;
    for line in script.lines.iter().filter(|line| line.kind == LineKind::OneWord) {
        let heard = played
            .rooms
            .iter()
            .find(|m| m["type"] == 10000 && m["sender"] == CUSTOMER && m["payload"]["text"] == line.text.as_str())
            .unwrap_or_else(|| panic!("seed {seed}: an interim subtitle of {:?}", line.text));
        assert_eq!(heard["payload"]["end"], false, "a one-word answer never becomes final");
        assert!(
            !of_type(&played, 903).iter().any(|b| payload(b)["Text"] == line.text.as_str()),
            "seed {seed}: no 903 for {:?}",
            line.text
        );
        let round = heard["payload"]["roundid"].as_str().unwrap();
        let starts = of_type(&played, 904).into_iter().filter(|b| round_of(b) == Some(round)).count();
        assert!(starts >= 2, "seed {seed}: the next sentence reuses the one-word answer's round");
        assert!(sentence_of(&played, round, CUSTOMER).is_some(), "seed {seed}: the round carries the real sentence");
    }
    assert_eq!(fold(&played).turns().len(), script.sentences().count() + 1);
}
