//! Full-text search that works for Chinese and English: how a sentence is indexed, how a
//! query becomes an FTS5 expression, and how a highlighted snippet is marked.
//!
//! SQLite's `unicode61` tokenizer splits on spaces and punctuation, which suits English but
//! leaves a run of Chinese characters as one token (`我要投诉` would only match `我要投诉`).
//! So a sentence is stored in an *index form*: every CJK character becomes a token of its
//! own (separated by U+001F, which `unicode61` treats as a separator), and after each run of
//! punctuation a boundary token U+F8FF (private use, which `unicode61` keeps as a token) is
//! added, so that a phrase never matches across punctuation (`经理` does not match
//! `已经，理解`). A query term is put in the same form and searched as a phrase: `投诉` is
//! the phrase `投 诉`; an English term matches words it is a prefix of (`refund*`).
//!
//! Why this set-up is measured in `crates/engine/benches/cache.rs` and written up in
//! `docs/benchmarks.md`. On 60,000 zh/en sentences, three set-ups all found exactly the
//! expected Chinese hits, 1- and 2-character queries included:
//! - `trigram` needs a `LIKE` table scan for terms under 3 characters, because its index finds
//!   nothing for 投诉, 人工 or 经理. A short term with no hit cost 3.6 ms against 0.15 ms here,
//!   and the scan grows with the cache. Its index was 1.27× this one, and it returned `human`
//!   for `man`.
//! - Overlapping CJK bigrams gave a 0.82× index and faster multi-character queries. But the
//!   index holds character pairs, so FTS5 cannot make readable snippets from it, and a
//!   1-character query becomes a prefix scan.
//!
//! Every set-up answered the newest 50 hits in under 0.5 ms, apart from trigram's scans.
//! This one was chosen because FTS5 makes its snippets and no query shape needs a scan.
//!
//! The index form holds nothing but the sentence and those two characters; the text a person
//! reads is [`display_form`] of it. Snippets come from FTS5's `snippet()` with
//! [`HIGHLIGHT_START`] / [`HIGHLIGHT_END`] (private-use characters, never HTML) around each
//! hit; [`highlights`] splits one into plain and highlighted pieces.
//!
//! What deliberately does not live here: SQL (see `search.rs`); ranking.

/// Separates tokens in the index form; `unicode61` drops it (a control character).
const SEPARATOR: char = '\u{1F}';
/// Follows each run of punctuation in the index form; `unicode61` keeps it as a token
/// (private use, category Co), so that phrases do not match across punctuation.
const BOUNDARY: char = '\u{F8FF}';
/// Opens a highlighted hit in a snippet (U+E000, private use).
pub const HIGHLIGHT_START: char = '\u{E000}';
/// Closes a highlighted hit in a snippet (U+E001, private use).
pub const HIGHLIGHT_END: char = '\u{E001}';
/// Marks text left out of a snippet.
pub const ELLIPSIS: &str = "…";

/// Characters written without spaces between words, each indexed as a word of its own: Han
/// ideographs (with extensions and compatibility forms), kana, Bopomofo.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'      // Hiragana, Katakana
        | '\u{3100}'..='\u{312F}'    // Bopomofo
        | '\u{31A0}'..='\u{31BF}'    // Bopomofo extended
        | '\u{3400}'..='\u{4DBF}'    // CJK extension A
        | '\u{4E00}'..='\u{9FFF}'    // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}'    // CJK compatibility ideographs
        | '\u{20000}'..='\u{3FFFF}') // CJK extensions B and later
}

/// What `unicode61` makes of a character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Cjk,
    /// A letter or digit outside CJK: part of a word.
    Word,
    Space,
    Punctuation,
}

fn class(c: char) -> Class {
    if is_cjk(c) {
        Class::Cjk
    } else if c.is_alphanumeric() {
        Class::Word
    } else if c.is_whitespace() {
        Class::Space
    } else {
        Class::Punctuation
    }
}

/// Characters the index form and snippets reserve; removed from stored text.
fn is_reserved(c: char) -> bool {
    matches!(c, SEPARATOR | BOUNDARY | HIGHLIGHT_START | HIGHLIGHT_END)
}

/// The index form of `text` (see the module header). `display_form(index_form(t))` is `t`
/// without the four reserved characters.
pub fn index_form(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    // What the last character written was, for deciding where a separator is needed.
    let mut last: Option<Class> = None;
    let mut in_punctuation = false;
    for c in text.chars().filter(|c| !is_reserved(*c)) {
        let now = class(c);
        if in_punctuation && now != Class::Punctuation {
            out.push(SEPARATOR);
            out.push(BOUNDARY);
            out.push(SEPARATOR);
            in_punctuation = false;
            last = None;
        }
        match now {
            Class::Cjk => {
                if matches!(last, Some(Class::Cjk | Class::Word)) {
                    out.push(SEPARATOR);
                }
            }
            Class::Word => {
                if last == Some(Class::Cjk) {
                    out.push(SEPARATOR);
                }
            }
            Class::Punctuation => in_punctuation = true,
            Class::Space => {}
        }
        out.push(c);
        last = Some(now);
    }
    if in_punctuation {
        out.push(SEPARATOR);
        out.push(BOUNDARY);
    }
    out
}

/// The text a person reads, from an index form (or a snippet of one, whose highlight
/// markers are kept; two hits that touch become one).
pub fn display_form(indexed: &str) -> String {
    let mut out = String::with_capacity(indexed.len());
    for c in indexed.chars().filter(|c| !matches!(*c, SEPARATOR | BOUNDARY)) {
        if c == HIGHLIGHT_START && out.ends_with(HIGHLIGHT_END) {
            out.pop();
            continue;
        }
        out.push(c);
    }
    out
}

/// The FTS5 expression for what a person typed: whitespace-separated terms, all of which
/// must match. Each term is searched as a phrase of its index form (so `投诉` matches the
/// two characters side by side and `human-agent` the two words); a term ending in a letter
/// or digit outside CJK also matches longer words (`refund` finds `refunded`). FTS5 syntax
/// in the query has no effect: every term is quoted. `None` when no term has a letter,
/// digit or CJK character.
pub fn match_expression(query: &str) -> Option<String> {
    let terms: Vec<String> = query
        .split_whitespace()
        .filter_map(|term| {
            // Punctuation at either end would demand punctuation beside the match; people
            // do not mean that.
            let core = term.trim_matches(|c: char| class(c) == Class::Punctuation);
            if !core.chars().any(|c| matches!(class(c), Class::Cjk | Class::Word)) {
                return None;
            }
            let prefix = core.chars().last().is_some_and(|c| class(c) == Class::Word);
            Some(format!("\"{}\"{}", index_form(core).replace('"', "\"\""), if prefix { "*" } else { "" }))
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// A snippet split into pieces, each plain or highlighted, in order.
pub fn highlights(snippet: &str) -> Vec<(bool, &str)> {
    let mut pieces = Vec::new();
    let mut rest = snippet;
    let mut highlighted = false;
    while !rest.is_empty() {
        let marker = if highlighted { HIGHLIGHT_END } else { HIGHLIGHT_START };
        let (piece, after) = match rest.find(marker) {
            Some(at) => (&rest[..at], &rest[at + marker.len_utf8()..]),
            None => (rest, ""),
        };
        if !piece.is_empty() {
            pieces.push((highlighted, piece));
        }
        rest = after;
        highlighted = !highlighted;
    }
    pieces
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn each_chinese_character_is_a_token_and_words_stay_whole() {
        assert_eq!(index_form("我要投诉"), "我\u{1F}要\u{1F}投\u{1F}诉");
        assert_eq!(index_form("订单号12345好"), "订\u{1F}单\u{1F}号\u{1F}12345\u{1F}好");
        assert_eq!(index_form("human agent"), "human agent");
        assert_eq!(index_form("好，的"), "好，\u{1F}\u{F8FF}\u{1F}的");
    }

    #[test]
    fn the_display_form_gives_back_the_text_without_reserved_characters() {
        for text in ["我要投诉，找你们经理！", "I want a human agent, now.", "订单号 A-1234 已发货", "", "，，"]
        {
            assert_eq!(display_form(&index_form(text)), text);
        }
        assert_eq!(display_form(&index_form("a\u{E000}b\u{1F}c\u{F8FF}")), "abc");
    }

    #[test]
    fn touching_hits_are_merged_into_one() {
        let snippet = "我要\u{E000}投\u{E001}\u{1F}\u{E000}诉\u{E001}\u{1F}了";
        assert_eq!(display_form(snippet), "我要\u{E000}投诉\u{E001}了");
        assert_eq!(highlights(&display_form(snippet)), vec![(false, "我要"), (true, "投诉"), (false, "了")]);
    }

    #[test]
    fn queries_are_quoted_phrases_with_a_prefix_for_latin_words() {
        assert_eq!(match_expression("投诉").as_deref(), Some("\"投\u{1F}诉\""));
        assert_eq!(match_expression("  refund  经理 ").as_deref(), Some("\"refund\"* \"经\u{1F}理\""));
        assert_eq!(match_expression("say \"hi\" OR x*").as_deref(), Some("\"say\"* \"hi\"* \"OR\"* \"x\"*"));
        assert_eq!(match_expression("refund!").as_deref(), Some("\"refund\"*"));
        assert_eq!(match_expression("a\"b").as_deref(), Some("\"a\"\"\u{1F}\u{F8FF}\u{1F}b\"*"));
        assert_eq!(match_expression(" ，。 ! "), None);
        assert_eq!(match_expression(""), None);
    }
}
