//! Keyword matching in customer sentences.
//!
//! Both sides are folded first: full-width ASCII forms (what some Chinese input produces)
//! become ASCII, runs of white space one space, and everything is lower-cased. A keyword
//! then matches where it occurs with no letter or digit of a space-separated script glued
//! to either end, so "human" matches "Human." and "转human" but not "humane" or
//! "superhuman". Chinese (and Japanese kana) have no spaces between words, so at an
//! ideographic end no boundary is required: 投诉 matches inside 我要投诉你们.

/// A rule's keywords, folded once for all the sentences they are matched against.
pub(super) struct Keywords<'k> {
    needles: Vec<(Vec<char>, &'k str)>,
}

impl<'k> Keywords<'k> {
    pub(super) fn new(keywords: &'k [String]) -> Keywords<'k> {
        Keywords { needles: keywords.iter().map(|keyword| (fold(keyword.trim()), keyword.trim())).collect() }
    }

    /// The keyword that occurs first in `sentence` (the longer one when two start at the
    /// same place), as configured less surrounding white space.
    pub(super) fn first_in(&self, sentence: &str) -> Option<&'k str> {
        let text = fold(sentence);
        self.needles
            .iter()
            .filter_map(|(needle, keyword)| {
                find(&text, needle).map(|start| (start, std::cmp::Reverse(needle.len()), *keyword))
            })
            .min()
            .map(|(_, _, keyword)| keyword)
    }
}

/// Whether `keyword` occurs in `sentence` under the rules above.
#[cfg(test)]
pub(super) fn matches(sentence: &str, keyword: &str) -> bool {
    find(&fold(sentence), &fold(keyword.trim())).is_some()
}

/// The first position (in folded chars) where `needle` matches in `text`.
fn find(text: &[char], needle: &[char]) -> Option<usize> {
    let (Some(&first), Some(&last)) = (needle.first(), needle.last()) else {
        return None;
    };
    let glued = |at: Option<&char>| at.is_some_and(|c| is_word(*c));
    text.windows(needle.len())
        .enumerate()
        .find(|(start, window)| {
            *window == needle
                && !(is_word(first) && glued(start.checked_sub(1).and_then(|before| text.get(before))))
                && !(is_word(last) && glued(text.get(start + needle.len())))
        })
        .map(|(start, _)| start)
}

/// Full-width ASCII forms become ASCII, every run of white space one space, and letters
/// lower case.
fn fold(text: &str) -> Vec<char> {
    let mut folded: Vec<char> = Vec::with_capacity(text.len());
    let chars = text.chars().map(|c| match u32::from(c) {
        // U+FF01..=U+FF5E are full-width forms of U+0021..=U+007E.
        code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
        _ => c,
    });
    for c in chars.flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            if folded.last() != Some(&' ') {
                folded.push(' ');
            }
        } else {
            folded.push(c);
        }
    }
    folded
}

/// A letter or digit of a script that separates words with spaces.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() && !is_ideographic(c)
}

/// Han ideographs and Japanese kana: scripts written without spaces between words.
fn is_ideographic(c: char) -> bool {
    matches!(
        u32::from(c),
        0x3040..=0x30FF // hiragana, katakana
            | 0x3400..=0x4DBF // CJK extension A
            | 0x4E00..=0x9FFF // CJK unified ideographs
            | 0xF900..=0xFAFF // CJK compatibility ideographs
            | 0x20000..=0x3134F // CJK extensions B–G
    )
}
