//! A call's script: which persona calls, what the customer says in which order, and every
//! random draw the call needs (latencies, one-word answers, errors, interruptions) — all
//! made up front from the seed, so a seed plays the same call whatever commands arrive.
//!
//! Rates (an ordinary caller; `personas::Profile` sets the others): a customer turn is
//! followed by a one-word answer before the next sentence 12 % of the time; a reply fails
//! at the [`ErrorRates`] of its stages (by default ASR 1 %, LLM 2 %, TTS 1 %: 4 % in all,
//! drawn as one 4 % chance split 25/50/25 between the stages, so a seed plays the same
//! call as before the rates were configurable); otherwise 9 % of replies
//! that have a next sentence are interrupted by it (about 8 % of all turns), and 15 % of
//! replies get a brief "嗯"/"uh-huh" over them, too short to interrupt. A
//! non-escalating call asks for a human before its closing 20 % of the time.
//!
//! Branches: when the robot's reply asks for something (an order number, an address) that
//! the customer's remaining sentences do not give, the customer gives it next; when the
//! robot fails to answer (a pipeline error), the customer says it again or complains.
//!
//! What deliberately does not live here: playing the script (see `runner`).

use std::borrow::Cow;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::personas::{self, Exchange, Persona, Profile};
use super::timing::{self, AsrTiming, LlmTiming, StartTiming, TtsTiming};
use super::{ErrorRates, Language};

/// Everything one seed plays.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Script {
    pub scenario: &'static str,
    pub start: StartTiming,
    pub lines: Vec<Line>,
    /// Silence the customer keeps after the robot's last reply before hanging up (a
    /// silent caller; 0 for everyone else).
    pub lingers: u64,
}

#[cfg(test)]
impl Script {
    /// Customer sentences that become turns (one-word answers are dropped).
    pub(crate) fn sentences(&self) -> impl Iterator<Item = (&Line, &Reply)> {
        self.lines.iter().filter_map(|line| match &line.kind {
            LineKind::Sentence(reply) => Some((line, reply.as_ref())),
            LineKind::OneWord => None,
        })
    }
}

/// One thing the customer says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub text: String,
    /// Silence before the customer starts (after the robot finished, or after 909 / the
    /// welcome line for the first line).
    pub pause_before: u64,
    pub asr: AsrTiming,
    /// A far-field caller: interim results mishear words.
    pub garbled: bool,
    pub kind: LineKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LineKind {
    /// Dropped by `FilterOneWord`: no 903, no reply.
    OneWord,
    /// A sentence and what the robot does about it.
    Sentence(Box<Reply>),
}

/// The robot's side of a turn.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub text: String,
    pub llm: LlmTiming,
    pub tts: TtsTiming,
    pub discontinuity: u64,
    /// The pipeline fails in this turn (and the robot does not answer).
    pub failure: Option<Failure>,
    /// The next sentence starts while the robot speaks, after this fraction of its playback.
    pub barge_in: Option<f64>,
    /// A brief sound ("嗯", "uh-huh") the customer makes over the reply: (fraction of its
    /// playback, ms) — shorter than `InterruptSpeechDuration`'s default, so no interruption.
    pub over_talk: Option<(f64, u64)>,
}

/// A pipeline stage that can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Asr,
    Llm,
    Tts,
}

impl Stage {
    /// The 908 `Metric` / 10030 `metric`.
    pub(crate) fn metric(self) -> &'static str {
        match self {
            Stage::Asr => "asr_error",
            Stage::Llm => "llm_error",
            Stage::Tts => "tts_error",
        }
    }
}

/// A pipeline error (trtc-contract.md §3.3) and how long the stage took to fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub stage: Stage,
    pub code: i64,
    /// What the stage said (a real LLM's answer is embedded here, as TRTC does).
    pub message: Cow<'static, str>,
    pub after: u64,
}

/// The script of `seed` in `language`, with pipeline errors at `rates`.
pub(crate) fn plan(language: Language, seed: u64, rates: ErrorRates) -> Script {
    let mut rng = StdRng::seed_from_u64(seed);
    let all = personas::of(language);
    let persona = all[rng.random_range(0..all.len())];
    let profile = persona.profile;
    let start = timing::start(&mut rng);
    let exchanges = with_branches(language, &choose_exchanges(&persona, language, &mut rng));
    let pause_factor = between(&mut rng, profile.pause_factor);
    let think = |rng: &mut StdRng| (timing::think_pause(rng) as f64 * pause_factor) as u64;

    let mut lines = Vec::new();
    for (index, exchange) in exchanges.iter().enumerate() {
        let mut pause = if index == 0 { start.first_line } else { think(&mut rng) };
        if index > 0 && rng.random_bool(profile.one_word) {
            for _ in 0..rng.random_range(1..=profile.one_words_max.max(1)) {
                let words = personas::one_words(language);
                let word = words[rng.random_range(0..words.len())];
                let asr = customer_asr(&mut rng, language, profile, word);
                let kind = LineKind::OneWord;
                lines.push(Line { text: word.to_owned(), pause_before: pause, asr, garbled: profile.garbled, kind });
                pause = timing::after_one_word(&mut rng);
            }
        }
        let failure = draw_failure(&mut rng, profile, rates);
        let failed = failure.is_some();
        lines.push(sentence(&mut rng, language, profile, exchange.customer.to_owned(), exchange.robot, pause, failure));
        if failed {
            // The robot did not answer: the customer says it again, or complains.
            let text = personas::after_failure(language, rng.random_range(0..3), exchange.customer);
            let pause = think(&mut rng);
            let failure = draw_failure(&mut rng, profile, rates);
            lines.push(sentence(&mut rng, language, profile, text, exchange.robot, pause, failure));
        }
    }

    for index in 0..lines.len() {
        let next_is_sentence = lines.get(index + 1).is_some_and(|next| matches!(next.kind, LineKind::Sentence(_)));
        if let LineKind::Sentence(reply) = &mut lines[index].kind {
            if reply.failure.is_none() && next_is_sentence && rng.random_bool(0.09) {
                reply.barge_in = Some(rng.random_range(0.25..0.7));
            }
        }
    }
    // Over-talk draws from a generator of their own, so they shift none of the others.
    let mut over = StdRng::seed_from_u64(seed ^ 0x0be7_7a1c_0000_0001);
    for line in &mut lines {
        if let LineKind::Sentence(reply) = &mut line.kind {
            if reply.failure.is_none() && over.random_bool(0.15) {
                reply.over_talk = Some((over.random_range(0.1..0.8), timing::over_talk(&mut over)));
            }
        }
    }
    let (lo, hi) = profile.lingers;
    let lingers = if hi > lo { rng.random_range(lo..=hi) } else { lo };
    Script { scenario: persona.scenario, start, lines, lingers }
}

/// A draw from `[lo, hi)`, or `lo` when the range is empty.
fn between(rng: &mut StdRng, (lo, hi): (f64, f64)) -> f64 {
    if hi > lo {
        rng.random_range(lo..hi)
    } else {
        lo
    }
}

/// The customer's ASR leg, slowed down for a far-field caller.
fn customer_asr(rng: &mut StdRng, language: Language, profile: &Profile, text: &str) -> AsrTiming {
    let mut asr = timing::asr(rng, language, text);
    let (lo, hi) = profile.asr_extra;
    if hi > 0 {
        asr.recognition += rng.random_range(lo..=hi.max(lo));
    }
    asr
}

/// A customer sentence and the robot's reply to it.
fn sentence(
    rng: &mut StdRng,
    language: Language,
    profile: &Profile,
    text: String,
    robot: &str,
    pause_before: u64,
    failure: Option<Failure>,
) -> Line {
    let asr = customer_asr(rng, language, profile, &text);
    let reply = Reply {
        text: robot.to_owned(),
        llm: timing::llm(rng, language),
        tts: timing::tts(rng, language),
        discontinuity: timing::discontinuity(rng),
        failure,
        barge_in: None,
        over_talk: None,
    };
    Line { text, pause_before, asr, garbled: profile.garbled, kind: LineKind::Sentence(Box::new(reply)) }
}

/// Whether this sentence's pipeline fails: ASR more often for a far-field caller, then
/// one draw at the sum of the stages' rates (at most 1), the stage picked in proportion to
/// its rate — so each stage fails at exactly its rate while the rates add up to 1 or less,
/// and a stage at rate 0 never fails.
fn draw_failure(rng: &mut StdRng, profile: &Profile, rates: ErrorRates) -> Option<Failure> {
    if rng.random_bool(profile.asr_failure) {
        let code = [30100, 30102][rng.random_range(0..2)];
        return Some(failure_of(rng, Stage::Asr, code));
    }
    let total = rates.asr + rates.llm + rates.tts;
    if total > 0.0 && rng.random_bool(total.min(1.0)) {
        Some(failure(rng, rates, total))
    } else {
        None
    }
}

/// Opening, an ordered subset of the middle, closing: as many sentences as the persona's
/// profile asks (4–10 for an ordinary caller). An escalating persona keeps at least one of
/// its "human / complaint" lines; a silent caller often hangs up without a closing.
fn choose_exchanges(persona: &Persona, language: Language, rng: &mut StdRng) -> Vec<Exchange> {
    let profile = persona.profile;
    let most = (persona.middle.len() + 2).min(profile.sentences.1);
    let total = rng.random_range(profile.sentences.0.clamp(2, most)..=most);
    let wanted = total - 2;
    let (mut must, mut rest): (Vec<usize>, Vec<usize>) = (0..persona.middle.len())
        .partition(|&index| persona.escalates && personas::asks_for_human(language, persona.middle[index].customer));
    must.shuffle(rng);
    must.truncate(wanted.clamp(1, 2));
    rest.shuffle(rng);
    let mut picked: Vec<usize> = must.into_iter().chain(rest).take(wanted).collect();
    picked.sort_unstable();

    let mut exchanges = vec![persona.opening];
    exchanges.extend(picked.into_iter().map(|index| persona.middle[index]));
    exchanges.push(persona.closing);
    if !persona.escalates && rng.random_bool(profile.asks_for_human) {
        let human = personas::human_request(language);
        let before_closing = exchanges.len() - 1;
        if exchanges.len() >= profile.sentences.1 {
            exchanges[before_closing - 1] = human;
        } else {
            exchanges.insert(before_closing, human);
        }
    }
    if rng.random_bool(profile.skips_closing) {
        exchanges.pop();
    }
    exchanges
}

/// Branches on what the robot says (`personas::branches`): when a reply asks for something
/// none of the customer's remaining sentences gives, the customer gives it next.
fn with_branches(language: Language, exchanges: &[Exchange]) -> Vec<Exchange> {
    let branches = personas::branches(language);
    let mut taken = vec![false; branches.len()];
    let mut out = Vec::with_capacity(exchanges.len() + branches.len());
    for (index, exchange) in exchanges.iter().enumerate() {
        out.push(*exchange);
        let rest = &exchanges[index + 1..];
        if rest.is_empty() {
            continue;
        }
        let robot = exchange.robot.to_lowercase();
        for (branch, taken) in branches.iter().zip(&mut taken) {
            let asks = branch.robot_asks.iter().any(|words| robot.contains(&words.to_lowercase()));
            let answered = rest.iter().any(|later| {
                let customer = later.customer.to_lowercase();
                branch.answered_by.iter().any(|words| customer.contains(&words.to_lowercase()))
            });
            if asks && !answered && !*taken {
                *taken = true;
                out.push(branch.answer);
            }
        }
    }
    out
}

/// A failure of a stage picked in proportion to its rate (`total` is their positive sum).
fn failure(rng: &mut StdRng, rates: ErrorRates, total: f64) -> Failure {
    let roll: f64 = rng.random();
    // A stage at rate 0 is never picked, whatever rounding does to the bounds.
    let stage = if rates.asr > 0.0 && roll < rates.asr / total {
        Stage::Asr
    } else if rates.llm > 0.0 && (roll < (rates.asr + rates.llm) / total || rates.tts <= 0.0) {
        Stage::Llm
    } else if rates.tts > 0.0 {
        Stage::Tts
    } else {
        Stage::Asr
    };
    let codes: &[i64] = match stage {
        Stage::Asr => &[30100, 30102],
        Stage::Llm => &[30200, 30201, 30202],
        Stage::Tts => &[30300, 30301, 30302],
    };
    let code = codes[rng.random_range(0..codes.len())];
    failure_of(rng, stage, code)
}

/// The message of error `code` of `stage` and how long the stage took to fail.
fn failure_of(rng: &mut StdRng, stage: Stage, code: i64) -> Failure {
    let (message, after) = match code {
        30100 => ("asr request timeout", rng.random_range(2_000..=3_000)),
        30102 => ("asr internal error: recognition engine unavailable", rng.random_range(150..=800)),
        // LLMConfig.Timeout defaults to 3 s.
        30200 => ("llm request timeout: no first token within 3000ms", rng.random_range(3_000..=3_300)),
        30201 => (
            "llm rate limited: 429 Too Many Requests {\"error\":{\"message\":\"Rate limit reached for requests\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}",
            rng.random_range(40..=200),
        ),
        30202 => (
            "llm returned failure: 500 Internal Server Error {\"error\":{\"message\":\"The server had an error while processing your request\"}}",
            rng.random_range(150..=1_200),
        ),
        30300 => ("tts request timeout", rng.random_range(2_000..=3_000)),
        30301 => ("tts rate limited: 429 Too Many Requests", rng.random_range(40..=200)),
        _ => (
            "tts returned failure: {\"error\":{\"code\":\"InvalidVoice\",\"message\":\"voice not found\"}}",
            rng.random_range(100..=600),
        ),
    };
    Failure { stage, code, message: Cow::Borrowed(message), after }
}
