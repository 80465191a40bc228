//! Speech for recordings: a spoken line becomes 22050 Hz mono 16-bit samples by running
//! `espeak-ng` (voice `cmn` for Chinese text, `en` otherwise). It is a stand-in for the
//! real participants' audio, good enough that a recording sounds like the call it records.

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

/// Whether `text` is (mostly) Chinese: it has any CJK ideograph.
pub fn is_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c))
}

/// `text` spoken at [`SAMPLE_RATE`], mono. `language_hint` (`zh…`/`en…`) picks the voice;
/// without one, Chinese characters choose `cmn`.
///
/// # Errors
/// When espeak-ng is missing, fails, or writes no WAV.
pub fn synthesize(text: &str, language_hint: Option<&str>) -> Result<Vec<i16>, AudioError> {
    let voice = match language_hint {
        Some(hint) if hint.starts_with("zh") || hint.starts_with("cmn") => "cmn",
        Some(hint) if hint.starts_with("en") => "en",
        _ if is_chinese(text) => "cmn",
        _ => "en",
    };
    // `--` so a line starting with `-` is spoken, not parsed as an option.
    let output =
        Command::new("espeak-ng").args(["-v", voice, "--stdout", "--", text]).output().map_err(AudioError::Missing)?;
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

    #[test]
    fn chinese_and_english_lines_are_spoken() {
        let zh = synthesize("您好，请问有什么可以帮您？", None).expect("espeak-ng is installed by xtask setup");
        let en = synthesize("Hello, how can I help?", Some("en")).unwrap();
        assert!(zh.len() > SAMPLE_RATE as usize / 2 && en.len() > SAMPLE_RATE as usize / 2);
        assert!(zh.iter().any(|s| s.unsigned_abs() > 1000), "not silent");
    }
}
