//! Latency and pacing distributions, in emulated milliseconds.
//!
//! The shapes follow what a TRTC AI conversation shows in production: ASR latency is the
//! VAD silence (`VadSilenceTime`, default 1000 ms) plus recognition; the LLM's first token
//! is log-normal around 700 ms with a long tail and occasional slow spikes; TTS first
//! frames land between 200 and 900 ms; `tts_discontinuity` is almost always 0.
//!
//! What deliberately does not live here: which line gets which draw (see `script`).

use rand::rngs::StdRng;
use rand::Rng;

use super::Language;

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal draw with the given median.
fn log_normal(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// A whole number of ms, clamped to `[lo, hi]`.
fn clamp_ms(value: f64, lo: u64, hi: u64) -> u64 {
    // Clamped first, so the cast neither truncates nor saturates.
    value.clamp(lo as f64, hi as f64).round() as u64
}

/// The LLM leg of one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LlmTiming {
    /// `llm_network_latency`: 50–200 ms, uniform.
    pub network: u64,
    /// `llm_first_token` (includes the network): log-normal, median 700 ms, σ 0.45, with a
    /// 4 % chance of a 2.5–5× slow spike; at least `network + 120`, at most 9 s.
    pub first_token: u64,
    /// How fast the reply streams after the first token, per character.
    pub per_char: u64,
}

/// The TTS leg of one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TtsTiming {
    /// `tts_network_latency`: log-normal, median 60 ms, within 20–300.
    pub network: u64,
    /// `tts_first_frame_latency` (includes the network): log-normal, median 420 ms,
    /// within 200–900 and at least `network + 80`.
    pub first_frame: u64,
    /// Playback time per character (a pause is added per sentence-ending mark).
    pub per_char: u64,
}

pub(crate) fn llm(rng: &mut StdRng, language: Language) -> LlmTiming {
    let network = rng.random_range(50..=200);
    let mut first_token = log_normal(rng, 700.0, 0.45);
    if rng.random_bool(0.04) {
        first_token *= rng.random_range(2.5..5.0);
    }
    let per_char = match language {
        Language::Zh => rng.random_range(25..=45),
        Language::En => rng.random_range(8..=14),
    };
    LlmTiming { network, first_token: clamp_ms(first_token, network + 120, 9_000), per_char }
}

pub(crate) fn tts(rng: &mut StdRng, language: Language) -> TtsTiming {
    let network = clamp_ms(log_normal(rng, 60.0, 0.4), 20, 300);
    let first_frame = clamp_ms(log_normal(rng, 420.0, 0.35), (network + 80).max(200), 900);
    let per_char = match language {
        // About 4.5 characters a second.
        Language::Zh => rng.random_range(200..=240),
        // About 15 characters (2.7 words) a second.
        Language::En => rng.random_range(55..=70),
    };
    TtsTiming { network, first_frame, per_char }
}

/// The ASR leg of one customer sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AsrTiming {
    /// How long the customer speaks.
    pub speech: u64,
    /// Interim results arrive this often while the customer speaks.
    pub partial_every: u64,
    /// VAD silence before the sentence counts as ended: 600–1200 ms, uniform.
    pub vad: u64,
    /// Recognition after the silence: 150–500 ms, uniform. `asr_latency` = vad + this.
    pub recognition: u64,
}

pub(crate) fn asr(rng: &mut StdRng, language: Language, text: &str) -> AsrTiming {
    let per_unit = match language {
        Language::Zh => rng.random_range(190..=260),
        Language::En => rng.random_range(280..=380),
    };
    let units = speech_units(language, text).len() as u64;
    AsrTiming {
        speech: (units * per_unit).max(350),
        partial_every: rng.random_range(280..=520),
        vad: rng.random_range(600..=1200),
        recognition: rng.random_range(150..=500),
    }
}

/// `tts_discontinuity`: 0 (88 %), 1 (8 %), 2 (3 %), 3 (1 %).
pub(crate) fn discontinuity(rng: &mut StdRng) -> u64 {
    match rng.random::<f64>() {
        p if p < 0.88 => 0,
        p if p < 0.96 => 1,
        p if p < 0.99 => 2,
        _ => 3,
    }
}

/// The customer's pause before speaking again after the robot finished.
pub(crate) fn think_pause(rng: &mut StdRng) -> u64 {
    rng.random_range(700..=3_000)
}

/// The short pause after a one-word answer before the real sentence.
pub(crate) fn after_one_word(rng: &mut StdRng) -> u64 {
    rng.random_range(300..=900)
}

/// The start of a task: robot entering and 901, then audio and 909, then the first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StartTiming {
    /// 300–800 ms after the call is spawned.
    pub started: u64,
    /// 150–450 ms after that.
    pub ready: u64,
    /// 600–2000 ms after 909 (or after the welcome line) the customer speaks.
    pub first_line: u64,
}

pub(crate) fn start(rng: &mut StdRng) -> StartTiming {
    StartTiming {
        started: rng.random_range(300..=800),
        ready: rng.random_range(150..=450),
        first_line: rng.random_range(600..=2_000),
    }
}

/// How long a brief acknowledgement ("嗯", "uh-huh") the customer makes while the robot
/// speaks lasts: always under `InterruptSpeechDuration`'s default.
pub(crate) fn over_talk(rng: &mut StdRng) -> u64 {
    rng.random_range(150..=400)
}

/// A far-field mishearing of an interim result: every third character (Chinese) or word
/// (English), from the second on, replaced by what a noisy recogniser guesses. It depends
/// only on positions, so a growing interim result stays consistent with its earlier ones.
pub(crate) fn garble(language: Language, interim: &str) -> String {
    const ZH_NOISE: [char; 5] = ['嗯', '那', '的', '呃', '这'];
    const EN_NOISE: [&str; 4] = ["uh", "the", "and", "hmm"];
    match language {
        Language::Zh => interim
            .chars()
            .enumerate()
            .map(|(index, c)| if index % 3 == 1 && !is_mark(c) { ZH_NOISE[index % ZH_NOISE.len()] } else { c })
            .collect(),
        Language::En => interim
            .split_whitespace()
            .enumerate()
            .map(|(index, word)| if index % 3 == 1 { EN_NOISE[index % EN_NOISE.len()] } else { word })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// What ASR hears grow: characters for Chinese, words for English.
pub(crate) fn speech_units(language: Language, text: &str) -> Vec<String> {
    match language {
        Language::Zh => text.chars().filter(|c| !is_mark(*c)).map(String::from).collect(),
        Language::En => text.split_whitespace().map(str::to_owned).collect(),
    }
}

/// Punctuation (full- and half-width).
pub(crate) fn is_mark(c: char) -> bool {
    "，。！？、；：,.!?;:".contains(c)
}

/// The interim ASR text after `fraction` of the speech: a prefix of the sentence without
/// trailing punctuation; never empty for a non-empty sentence.
pub(crate) fn interim_text(language: Language, text: &str, fraction: f64) -> String {
    let units = speech_units(language, text);
    let count = ((units.len() as f64 * fraction).ceil() as usize).clamp(1, units.len().max(1));
    let joined = match language {
        Language::Zh => {
            // Keep the sentence's own characters in order up to `count` spoken ones, so
            // inner punctuation survives as the final text has it.
            let mut seen = 0;
            text.chars()
                .take_while(|c| {
                    if !is_mark(*c) {
                        seen += 1;
                    }
                    seen <= count
                })
                .collect::<String>()
        }
        Language::En => units.iter().take(count).cloned().collect::<Vec<_>>().join(" "),
    };
    joined.trim_end_matches(is_mark).to_owned()
}

/// A reply split into sentences, each keeping its closing mark.
pub(crate) fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        let ends = match c {
            '。' | '！' | '？' => true,
            // A sentence ends at the text's end or before a capital ("9 a.m. and" does not).
            '.' | '!' | '?' => {
                let mut after = chars.clone().skip_while(|next| next.is_whitespace());
                chars.peek().is_none_or(|next| next.is_whitespace())
                    && after.next().is_none_or(|next| next.is_uppercase() || !next.is_ascii())
            }
            _ => false,
        };
        if ends {
            let sentence = current.trim().to_owned();
            if !sentence.is_empty() {
                out.push(sentence);
            }
            current.clear();
        }
    }
    let rest = current.trim();
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

/// How long the robot takes to say `sentence`.
pub(crate) fn playback(sentence: &str, per_char: u64) -> u64 {
    let chars = sentence.chars().filter(|c| !c.is_whitespace() && !is_mark(*c)).count() as u64;
    let marks = sentence.chars().filter(|c| is_mark(*c)).count() as u64;
    chars * per_char + marks * 120
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn llm_first_token_has_a_median_near_700_ms_and_a_long_tail_to_several_seconds() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut draws: Vec<u64> = (0..20_000).map(|_| llm(&mut rng, Language::Zh).first_token).collect();
        draws.sort_unstable();
        let median = draws[draws.len() / 2];
        let p99 = draws[draws.len() * 99 / 100];
        let max = *draws.last().unwrap();
        assert!((630..=780).contains(&median), "median {median} should be about 700 ms");
        assert!(p99 > 2_000, "p99 {p99} should reach into the seconds");
        assert!(max > 3_500, "slow spikes should reach 3.5 s and beyond, max was {max}");
    }

    #[test]
    fn tts_first_frame_stays_between_200_and_900_ms_and_includes_the_network() {
        let mut rng = StdRng::seed_from_u64(8);
        for _ in 0..5_000 {
            let tts = tts(&mut rng, Language::En);
            assert!((200..=900).contains(&tts.first_frame), "{tts:?}");
            assert!(tts.first_frame > tts.network, "{tts:?}");
        }
    }

    #[test]
    fn interim_text_grows_to_the_sentence_without_its_final_mark() {
        assert_eq!(interim_text(Language::Zh, "你好，我要退款。", 0.3), "你好");
        assert_eq!(interim_text(Language::Zh, "你好，我要退款。", 1.0), "你好，我要退款");
        assert_eq!(interim_text(Language::En, "Hi, I want a refund.", 0.5), "Hi, I want");
        assert_eq!(interim_text(Language::En, "ok", 0.1), "ok");
    }

    #[test]
    fn replies_split_into_sentences_but_not_at_abbreviations() {
        assert_eq!(sentences("好的。请稍等！"), vec!["好的。", "请稍等！"]);
        assert_eq!(sentences("Pickup is 9 a.m. to noon. Thanks!"), vec!["Pickup is 9 a.m. to noon.", "Thanks!"]);
        assert_eq!(sentences("no mark"), vec!["no mark"]);
    }
}
