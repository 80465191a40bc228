//! The timed beats of each kind of segment: the task's start, a customer sentence, and the
//! robot's speech (a reply with its LLM and TTS legs, or a fixed line). Times are emulated
//! ms since the call started; a segment's beats are ordered by time, then as pushed here.
//!
//! What deliberately does not live here: deciding which segment comes next (`runner`).

use domain::event::{MetricName, RobotState};

use super::script::{Failure, Line, LineKind, Script, Stage};
use super::timing::{self, LlmTiming, TtsTiming};
use super::wire::{Out, Who};
use super::{Language, Phase};
use crate::audio::Voice;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Act {
    Out(Out),
    /// The customer has been talking over the robot for `InterruptSpeechDuration`.
    BargeIn,
    /// The customer made a brief sound ("嗯", "uh-huh") of `ms` over the robot, ending now.
    OverTalk {
        ms: u64,
    },
    /// The task moves to another phase (what `DescribeAIConversation` reports).
    Phase(Phase),
    /// The segment is over.
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Beat {
    pub at: u64,
    pub act: Act,
}

impl Beat {
    fn out(at: u64, out: Out) -> Beat {
        Beat { at, act: Act::Out(out) }
    }
}

/// What the robot is about to say and how its pipeline behaves.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RobotPlan {
    pub text: String,
    /// `None` for fixed lines (welcome, pushed text): no LLM involved.
    pub llm: Option<LlmTiming>,
    pub tts: TtsTiming,
    /// The TTS voice the line is spoken in (from `TTSConfig` when the plan was made);
    /// `None` for the language's own voice.
    pub voice: Option<Voice>,
    /// `tts_discontinuity` to report at the end, if any.
    pub discontinuity: Option<u64>,
    pub failure: Option<Failure>,
    pub barge_in: Option<f64>,
    /// A brief sound the customer makes over the robot: (fraction of playback, ms).
    pub over_talk: Option<(f64, u64)>,
    /// Send 10001 state 2 first (an `InvokeLLM` reply; a scripted reply's thinking state
    /// comes with the customer's final sentence).
    pub thinking: bool,
    /// Report the LLM/TTS latency metrics.
    pub metrics: bool,
}

/// Customer and robot enter, 901, audio, 909. The task is `Idle` for the first half of
/// the robot's start-up, `Preparing` from then until 909, `InProgress` after.
pub(crate) fn start(script: &Script) -> (Vec<Beat>, u64) {
    let started = script.start.started;
    let ready = started + script.start.ready;
    let beats = vec![
        Beat { at: started / 2, act: Act::Phase(Phase::Preparing) },
        Beat { at: ready, act: Act::Phase(Phase::InProgress) },
        Beat::out(0, Out::Entered(Who::Customer)),
        Beat::out(0, Out::AudioStarted(Who::Customer)),
        Beat::out(started, Out::Entered(Who::Robot)),
        Beat::out(started, Out::Started),
        Beat::out(ready, Out::AudioStarted(Who::Robot)),
        Beat::out(ready, Out::SessionReady),
    ];
    (beats, ready)
}

fn state(at: u64, round: &str, state: RobotState) -> Beat {
    Beat::out(at, Out::State { round: round.to_owned(), state })
}

fn metric(at: u64, round: &str, metric: MetricName, value: u64) -> Beat {
    Beat::out(at, Out::Metric { round: round.to_owned(), metric, value })
}

/// 908 + 10030, and the robot listens again.
pub(crate) fn failed(mut beats: Vec<Beat>, round: &str, failure: &Failure, at: u64) -> (Vec<Beat>, u64) {
    beats.push(Beat::out(at, Out::Failed { round: round.to_owned(), failure: failure.clone() }));
    beats.push(state(at, round, RobotState::Listening));
    (beats, at)
}

/// The customer says script line `index` from `started` (before `now` when they talked
/// over the robot): 904, interim subtitles, then the final sentence — unless it is a
/// dropped one-word answer or ASR fails. Returns the beats, the end, and `Some(index)`
/// when a reply is owed.
pub(crate) fn ask(
    language: Language,
    line: &Line,
    index: usize,
    round: &str,
    now: u64,
    started: u64,
) -> (Vec<Beat>, u64, Option<usize>) {
    let subtitle = |text: String, at: u64, end: bool| Out::Subtitle {
        who: Who::Customer,
        round: round.to_owned(),
        text,
        start_at: started,
        end_at: at,
        end,
        voice: None,
    };
    let mut beats =
        vec![Beat::out(now, Out::SpeechStarted { round: round.to_owned() }), state(now, round, RobotState::Listening)];
    let asr = line.asr;
    let speech_end = (started + asr.speech).max(now + 1);
    let spoken = speech_end - started;
    let mut last = String::new();
    let mut at = started + asr.partial_every.min(spoken / 2).max(1);
    while at < speech_end {
        if at >= now {
            let text = interim(language, line, (at - started) as f64 / spoken as f64);
            if text != last {
                beats.push(Beat::out(at, subtitle(text.clone(), at, false)));
                last = text;
            }
        }
        at += asr.partial_every;
    }
    if last.is_empty() {
        let at = now + (speech_end - now) / 2;
        beats.push(Beat::out(at, subtitle(interim(language, line, 0.5), at, false)));
    }
    let silence_end = speech_end + asr.vad;
    let LineKind::Sentence(reply) = &line.kind else {
        return (beats, silence_end, None);
    };
    if let Some(failure) = reply.failure.as_ref().filter(|failure| failure.stage == Stage::Asr) {
        let (beats, end) = failed(beats, round, failure, silence_end + failure.after);
        return (beats, end, None);
    }
    let at = silence_end + asr.recognition;
    beats.push(Beat::out(at, subtitle(line.text.clone(), speech_end, true)));
    beats.push(Beat::out(
        at,
        Out::Sentence {
            who: Who::Customer,
            round: round.to_owned(),
            text: line.text.clone(),
            start_at: started,
            end_at: speech_end,
        },
    ));
    beats.push(state(at, round, RobotState::Thinking));
    beats.push(metric(at, round, MetricName::AsrLatency, asr.vad + asr.recognition));
    (beats, at, Some(index))
}

/// What ASR has heard of `line` after `fraction` of it (misheard for a far-field caller).
fn interim(language: Language, line: &Line, fraction: f64) -> String {
    let text = timing::interim_text(language, &line.text, fraction);
    if line.garbled {
        timing::garble(language, &text)
    } else {
        text
    }
}

/// The robot thinks (when there is an LLM leg) and speaks `plan.text` from `now`.
/// Returns the beats and when the robot is done.
/// `interrupt_ms` is `InterruptSpeechDuration`: a barge-in is due that long after the
/// customer starts talking over the robot.
pub(crate) fn robot(
    language: Language,
    subtitle_mode: u64,
    plan: &RobotPlan,
    round: &str,
    now: u64,
    interrupt_ms: u64,
) -> (Vec<Beat>, u64) {
    let mut beats = Vec::new();
    if plan.thinking {
        beats.push(state(now, round, RobotState::Thinking));
    }
    // When the reply's text starts to exist, and how fast the rest of it streams.
    let (text_from, per_char) = match plan.llm {
        Some(llm) => {
            if let Some(failure) = plan.failure.as_ref().filter(|failure| failure.stage == Stage::Llm) {
                return failed(beats, round, failure, now + failure.after);
            }
            let first_token = now + llm.first_token;
            if plan.metrics {
                beats.push(metric(first_token, round, MetricName::LlmNetworkLatency, llm.network));
                beats.push(metric(first_token, round, MetricName::LlmFirstToken, llm.first_token));
            }
            (first_token, llm.per_char)
        }
        None => (now, 0),
    };
    let (mut spoken, end) = speak(language, subtitle_mode, plan, round, text_from, per_char, now, interrupt_ms);
    beats.append(&mut spoken);
    (beats, end)
}

/// The robot speaks `plan.text`, whose first token existed at `text_from` and which
/// streamed at `per_char` ms a character: TTS (or its failure), subtitles, 903, 905 and
/// the states. Nothing happens before `not_before` (an answer that arrived late).
#[allow(clippy::too_many_arguments)]
pub(crate) fn speak(
    language: Language,
    subtitle_mode: u64,
    plan: &RobotPlan,
    round: &str,
    text_from: u64,
    per_char: u64,
    not_before: u64,
    interrupt_ms: u64,
) -> (Vec<Beat>, u64) {
    let mut beats = Vec::new();
    if let Some(failure) = plan.failure.as_ref().filter(|failure| failure.stage == Stage::Tts) {
        return failed(beats, round, failure, (text_from + failure.after).max(not_before));
    }
    let speak = (text_from + plan.tts.first_frame).max(not_before);
    if plan.metrics {
        beats.push(metric(speak, round, MetricName::TtsNetworkLatency, plan.tts.network));
        beats.push(metric(speak, round, MetricName::TtsFirstFrameLatency, plan.tts.first_frame));
    }
    beats.push(state(speak, round, RobotState::Speaking));

    let sentences = timing::sentences(&plan.text);
    let mut spans = Vec::with_capacity(sentences.len());
    let mut cursor = speak;
    for sentence in &sentences {
        let duration = timing::playback(sentence, plan.tts.per_char).max(1);
        spans.push((cursor, cursor + duration));
        cursor += duration;
    }
    let end = cursor.max(speak + 1);
    let subtitle = |text: String, start_at: u64, end_at: u64, end: bool| Out::Subtitle {
        who: Who::Robot,
        round: round.to_owned(),
        text,
        start_at,
        end_at,
        end,
        voice: plan.voice,
    };
    if subtitle_mode == 1 {
        // Sentence by sentence, as each is played; the client appends them.
        for (sentence, (from, to)) in sentences.iter().zip(&spans) {
            beats.push(Beat::out(*from, subtitle(sentence.clone(), *from, *to, true)));
        }
    } else {
        // The whole text so far, as fast as the LLM streams it (once audio has begun).
        let chunks = cumulative(language, &plan.text);
        let last = chunks.len().saturating_sub(1);
        for (index, (chars, text)) in chunks.into_iter().enumerate() {
            let at = (text_from + chars * per_char).clamp(speak, end);
            beats.push(Beat::out(at, subtitle(text, speak, at, index == last)));
        }
    }
    let generated = text_from + plan.text.chars().count() as u64 * per_char;
    beats.push(Beat::out(
        generated.clamp(speak, end),
        Out::Sentence {
            who: Who::Robot,
            round: round.to_owned(),
            text: plan.text.clone(),
            start_at: speak,
            end_at: end,
        },
    ));

    // What Tencent's UI kit reads as "round complete", then 905 and the states.
    beats.push(Beat::out(end, subtitle(String::new(), end, end, true)));
    if let Some(discontinuity) = plan.discontinuity {
        beats.push(metric(end, round, MetricName::TtsDiscontinuity, discontinuity));
    }
    beats.push(Beat::out(end, Out::Finished { round: round.to_owned(), text: plan.text.clone() }));
    beats.push(state(end, round, RobotState::Finished));
    beats.push(state(end, round, RobotState::Listening));
    if let Some(fraction) = plan.barge_in {
        let at = (speak + ((end - speak) as f64 * fraction) as u64).max(speak + interrupt_ms);
        if at < end {
            beats.push(Beat { at, act: Act::BargeIn });
        }
    }
    if let Some((fraction, ms)) = plan.over_talk {
        let at = speak + ((end - speak) as f64 * fraction) as u64 + ms;
        if at < end {
            beats.push(Beat { at, act: Act::OverTalk { ms } });
        }
    }
    (beats, end)
}

/// Cumulative robot subtitles: (characters so far, text so far), growing by six
/// characters (Chinese) or three words (English); the last is the whole text.
fn cumulative(language: Language, text: &str) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = Vec::new();
    match language {
        Language::Zh => {
            let chars: Vec<char> = text.chars().collect();
            let mut count = 0;
            while count < chars.len() {
                count = (count + 6).min(chars.len());
                out.push((count as u64, chars[..count].iter().collect()));
            }
        }
        Language::En => {
            let words: Vec<&str> = text.split_whitespace().collect();
            let mut count = 0;
            while count < words.len() {
                count = (count + 3).min(words.len());
                let so_far = words[..count].join(" ");
                out.push((so_far.chars().count() as u64, so_far));
            }
        }
    }
    if let Some(last) = out.last_mut() {
        text.clone_into(&mut last.1);
    }
    out
}
