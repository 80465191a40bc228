//! Speech for recordings and room audio: a spoken line becomes 22050 Hz mono 16-bit
//! samples by running `espeak-ng`. It is a stand-in for the real participants' audio, good
//! enough that a recording sounds like the call it records.
//!
//! The language follows the line (`cmn` for Chinese text, `en` otherwise). The robot's TTS
//! voice id (`TTSConfig`'s `VoiceId`, `FastVoiceType`, `VoiceType` or `VoiceName`) is heard
//! as a [`Voice`]: one of six espeak-ng voice variants (`!v/f2`, `f3`, `f4`, `m2`, `m3`,
//! `m6`), added to the language's voice (`en+f3`, `cmn+m2`). The choice is a pure function
//! of the id, so a voice sounds the same in every run, in room audio and in recordings. An
//! id that names its gender (`v-female-R2s4N9qJ`, `female-kefu-xiaomei`, `v-male-Bk7vD3xP`,
//! MiniMax's `male-qn-qingse`) keeps it; any other (Tencent's numeric `VoiceType`, Azure's
//! `en-US-JennyNeural`, …) may land on any of the six. Speech without a voice (the
//! customers', a robot whose `TTSConfig` names none) uses the language's voice unchanged.
//!
//! Deliberately not here: caching. Every line is synthesised when it is spoken; were a
//! cache added, its key must hold the text, the language and the [`Voice`].

use std::process::Command;

/// Sample rate of [`synthesize`]'s output (espeak-ng's native rate).
pub const SAMPLE_RATE: u32 = 22_050;

/// Why speech could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot run espeak-ng (is the `espeak-ng` package installed?): {0}")]
    Missing(std::io::Error),
    #[error("espeak-ng failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("espeak-ng wrote something that is not a WAV stream")]
    NotWav,
}

/// The espeak-ng voice variants voice ids are heard as: three female, then three male.
const VARIANTS: [&str; 6] = ["f2", "f3", "f4", "m2", "m3", "m6"];

/// How a TTS voice id sounds here: an espeak-ng voice variant, spoken in the line's
/// language. Built only by [`Voice::for_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Voice {
    variant: &'static str,
}

impl Voice {
    /// The voice `id` (a TTS voice id, trimmed; case does not matter for the gender) is heard
    /// as: always the same for the same id, female variants for ids containing `female`,
    /// male ones for ids containing `male` otherwise, any of the six for the rest.
    pub fn for_id(id: &str) -> Voice {
        let id = id.trim();
        let lower = id.to_ascii_lowercase();
        let pool: &[&'static str] = if lower.contains("female") {
            &VARIANTS[..3]
        } else if lower.contains("male") {
            &VARIANTS[3..]
        } else {
            &VARIANTS
        };
        let index = crate::fnv1a64(id.as_bytes()) % pool.len() as u64;
        Voice { variant: pool[usize::try_from(index).unwrap_or(0)] }
    }

    /// The espeak-ng variant's name (`f3`, `m2`, …), as after `+` in `-v en+f3`.
    pub fn variant(self) -> &'static str {
        self.variant
    }
}

/// Whether `text` is (mostly) Chinese: it has any CJK ideograph.
pub fn is_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c))
}

/// `text` spoken at [`SAMPLE_RATE`], mono, in `voice` (the language's own voice when
/// `None`). `language_hint` (`zh…`/`en…`) picks the language; without one, Chinese
/// characters choose `cmn`.
///
/// # Errors
/// When espeak-ng is missing, fails, or writes no WAV.
pub fn synthesize(text: &str, language_hint: Option<&str>, voice: Option<Voice>) -> Result<Vec<i16>, AudioError> {
    let language = match language_hint {
        Some(hint) if hint.starts_with("zh") || hint.starts_with("cmn") => "cmn",
        Some(hint) if hint.starts_with("en") => "en",
        _ if is_chinese(text) => "cmn",
        _ => "en",
    };
    let voice = match voice {
        Some(voice) => format!("{language}+{}", voice.variant),
        None => language.to_owned(),
    };
    // `--` so a line starting with `-` is spoken, not parsed as an option.
    let output =
        Command::new("espeak-ng").args(["-v", &voice, "--stdout", "--", text]).output().map_err(AudioError::Missing)?;
    if !output.status.success() {
        return Err(AudioError::Failed {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    wav_samples(&output.stdout).ok_or(AudioError::NotWav)
}

/// The s16le samples of a streamed WAV, whose RIFF and `data` sizes are placeholders:
/// walk the chunks to `data` and take everything after it.
fn wav_samples(wav: &[u8]) -> Option<Vec<i16>> {
    if wav.len() < 12 || &wav[0..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return None;
    }
    let mut pos = 12;
    while pos + 8 <= wav.len() {
        let id = &wav[pos..pos + 4];
        let size = u32::from_le_bytes([wav[pos + 4], wav[pos + 5], wav[pos + 6], wav[pos + 7]]) as usize;
        if id == b"data" {
            let data = &wav[pos + 8..];
            return Some(data.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect());
        }
        pos = pos.checked_add(8 + size + (size & 1))?;
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_wav_header_with_placeholder_sizes_is_skipped() {
        let mut wav = b"RIFF\xff\xff\xff\x7fWAVEfmt \x10\x00\x00\x00".to_vec();
        wav.extend([0u8; 16]);
        wav.extend(b"data\xff\xff\xff\x7f");
        wav.extend([1, 0, 0xff, 0xff]);
        assert_eq!(wav_samples(&wav), Some(vec![1, -1]));
        assert_eq!(wav_samples(b"not a wav"), None);
    }

    /// The median fundamental frequency (Hz) of the voiced 40 ms frames of `samples`: per
    /// frame, the lag between 70 and 400 Hz with the strongest normalised autocorrelation,
    /// counted when that correlation is above 0.6.
    fn pitch_hz(samples: &[i16]) -> f64 {
        let rate = f64::from(SAMPLE_RATE);
        let frame = (rate * 0.04) as usize;
        let (min_lag, max_lag) = ((rate / 400.0) as usize, (rate / 70.0) as usize);
        let mut pitches: Vec<f64> = samples
            .chunks_exact(frame)
            .filter_map(|chunk| {
                let x: Vec<f64> = chunk.iter().map(|s| f64::from(*s)).collect();
                let energy = x.iter().map(|v| v * v).sum::<f64>();
                if energy / (frame as f64) < 500.0 * 500.0 {
                    return None;
                }
                let (lag, corr) = (min_lag..=max_lag)
                    .map(|lag| {
                        let (a, b) = (&x[..frame - lag], &x[lag..]);
                        let dot = a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
                        let norm = (a.iter().map(|v| v * v).sum::<f64>() * b.iter().map(|v| v * v).sum::<f64>()).sqrt();
                        (lag, dot / norm.max(1.0))
                    })
                    .max_by(|p, q| p.1.total_cmp(&q.1))?;
                (corr > 0.6).then(|| rate / lag as f64)
            })
            .collect();
        assert!(pitches.len() >= 5, "the line has voiced frames to measure ({} found)", pitches.len());
        pitches.sort_by(f64::total_cmp);
        pitches[pitches.len() / 2]
    }

    #[test]
    fn voice_ids_are_heard_as_the_same_variant_every_time_keeping_a_named_gender() {
        for id in ["v-female-R2s4N9qJ", "v-female-p9Xy7Q1L", "female-kefu-xiaomei", "female-tianmei"] {
            assert!(Voice::for_id(id).variant().starts_with('f'), "{id} is a female voice");
        }
        for id in ["v-male-Bk7vD3xP", "male-qn-qingse", "MALE-narrator"] {
            assert!(Voice::for_id(id).variant().starts_with('m'), "{id} is a male voice");
        }
        assert_eq!(Voice::for_id("1008"), Voice::for_id(" 1008 "), "the same id, trimmed, is the same voice");
        let heard: std::collections::BTreeSet<&str> =
            (0..200).map(|n| Voice::for_id(&(101_000 + n).to_string()).variant()).collect();
        assert_eq!(heard.len(), VARIANTS.len(), "numeric VoiceTypes spread over every variant: {heard:?}");
    }

    #[test]
    fn one_line_in_two_voices_is_two_sounds_and_the_female_voice_is_higher() {
        let (female, male) = (Some(Voice::for_id("v-female-R2s4N9qJ")), Some(Voice::for_id("v-male-Bk7vD3xP")));
        for line in ["Thank you for calling, how can I help you today?", "您好，请问有什么可以帮您？"] {
            let high = synthesize(line, None, female).expect("espeak-ng is installed by xtask setup");
            let low = synthesize(line, None, male).unwrap();
            let plain = synthesize(line, None, None).unwrap();
            assert!(high != low && high != plain && low != plain, "three voices, three sounds for {line:?}");
            assert_eq!(synthesize(line, None, female).unwrap(), high, "a voice sounds the same every time");
            let (high_hz, low_hz) = (pitch_hz(&high), pitch_hz(&low));
            assert!(
                high_hz > low_hz * 1.4,
                "{line:?}: female {high_hz:.0} Hz should sit well above male {low_hz:.0} Hz"
            );
        }
    }

    #[test]
    fn every_variant_sounds_different() {
        let line = "Your order has shipped.";
        let mut voices: Vec<Voice> = Vec::new();
        for n in 0.. {
            let voice = Voice::for_id(&format!("voice-{n}"));
            if !voices.contains(&voice) {
                voices.push(voice);
            }
            if voices.len() == VARIANTS.len() {
                break;
            }
        }
        let sounds: Vec<Vec<i16>> = voices.iter().map(|v| synthesize(line, Some("en"), Some(*v)).unwrap()).collect();
        for (i, a) in sounds.iter().enumerate() {
            for (j, b) in sounds.iter().enumerate().skip(i + 1) {
                assert_ne!(a, b, "{:?} and {:?} are told apart", voices[i], voices[j]);
            }
        }
    }

    #[test]
    fn chinese_and_english_lines_are_spoken() {
        let zh = synthesize("您好，请问有什么可以帮您？", None, None).expect("espeak-ng is installed by xtask setup");
        let en = synthesize("Hello, how can I help?", Some("en"), None).unwrap();
        assert!(zh.len() > SAMPLE_RATE as usize / 2 && en.len() > SAMPLE_RATE as usize / 2);
        assert!(zh.iter().any(|s| s.unsigned_abs() > 1000), "not silent");
    }
}
