//! A call's review by supervisors — notes, tags and a QA score — folded from the hub's
//! facts ([`EventBody::NoteAdded`], [`EventBody::TagsSet`], [`EventBody::QaScored`]), and
//! the one set of rules for what a note, a tag set or a score may be, shared by the hub
//! (which refuses bad input with the field named) and the console's cache (which checks
//! before writing locally).
//!
//! The fold follows the call fold's rules: idempotent and independent of arrival order.
//! A note is known by its id (chosen by the console that wrote it), so the same note seen
//! twice is one note; tags and the QA score are whole values, and the one with the latest
//! source time (then the greater value) is the call's.
//!
//! What deliberately does not live here: storage, whether a note has reached the hub yet
//! (the console's cache knows that), and any clock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{keep_latest, Stamped};
use crate::event::{EventBody, NoteRecord, QaRecord, TagsRecord};
use crate::ids::{RoundId, SourceMs};

/// The longest note, in characters.
pub const NOTE_MAX_CHARS: usize = 10_000;
/// The longest tag, in characters.
pub const TAG_MAX_CHARS: usize = 64;
/// The most tags one call carries.
pub const MAX_TAGS: usize = 32;
/// The highest QA score (the lowest is 0).
pub const QA_MAX_SCORE: u8 = 100;
/// The longest QA comment, in characters.
pub const QA_COMMENT_MAX_CHARS: usize = 2_000;
/// The longest note id, in characters (a UUID has 36).
pub const NOTE_ID_MAX_CHARS: usize = 64;
/// The longest round id a note may name, in characters.
pub const ROUND_MAX_CHARS: usize = 128;

/// Review input that breaks the rules: which field, and why, for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ReviewInputError {
    /// The field as the hub's API names it (`text`, `tags`, `score`, `comment`, `id`).
    pub field: &'static str,
    pub reason: String,
}

impl ReviewInputError {
    fn new(field: &'static str, reason: impl Into<String>) -> ReviewInputError {
        ReviewInputError { field, reason: reason.into() }
    }
}

/// A note's text, trimmed: 1–[`NOTE_MAX_CHARS`] characters. Line breaks and tabs are
/// kept; other control characters are refused.
///
/// # Errors
/// [`ReviewInputError`] for field `text`.
pub fn note_text(text: &str) -> Result<String, ReviewInputError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ReviewInputError::new("text", "a note must not be empty"));
    }
    if trimmed.chars().count() > NOTE_MAX_CHARS {
        return Err(ReviewInputError::new("text", format!("a note is at most {NOTE_MAX_CHARS} characters")));
    }
    if trimmed.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ReviewInputError::new("text", "a note must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

/// A note id: 1–[`NOTE_ID_MAX_CHARS`] ASCII letters, digits, `-` or `_` (a UUID fits).
///
/// # Errors
/// [`ReviewInputError`] for field `id`.
pub fn note_id(id: &str) -> Result<String, ReviewInputError> {
    if id.is_empty() || id.len() > NOTE_ID_MAX_CHARS {
        return Err(ReviewInputError::new("id", format!("a note id is 1–{NOTE_ID_MAX_CHARS} characters")));
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(ReviewInputError::new("id", "a note id is ASCII letters, digits, '-' and '_' only (a UUID)"));
    }
    Ok(id.to_owned())
}

/// The turn a note is about: a round id, 1–[`ROUND_MAX_CHARS`] characters, not blank.
///
/// # Errors
/// [`ReviewInputError`] for field `round`.
pub fn note_round(round: &str) -> Result<RoundId, ReviewInputError> {
    if round.chars().count() > ROUND_MAX_CHARS {
        return Err(ReviewInputError::new("round", format!("a round id is at most {ROUND_MAX_CHARS} characters")));
    }
    RoundId::parse(round).ok_or_else(|| ReviewInputError::new("round", "a round id must not be blank"))
}

/// A call's tag set: each tag trimmed, 1–[`TAG_MAX_CHARS`] characters without control
/// characters; duplicates removed; at most [`MAX_TAGS`]; sorted. An empty set clears the
/// call's tags.
///
/// # Errors
/// [`ReviewInputError`] for field `tags`, naming the tag.
pub fn tag_set(tags: &[String]) -> Result<Vec<String>, ReviewInputError> {
    let mut clean = Vec::with_capacity(tags.len());
    for (index, tag) in tags.iter().enumerate() {
        let trimmed = tag.trim();
        if trimmed.is_empty() {
            return Err(ReviewInputError::new("tags", format!("tag {} is empty", index + 1)));
        }
        if trimmed.chars().count() > TAG_MAX_CHARS {
            return Err(ReviewInputError::new(
                "tags",
                format!("{trimmed:?} is longer than {TAG_MAX_CHARS} characters"),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ReviewInputError::new("tags", format!("tag {} contains control characters", index + 1)));
        }
        clean.push(trimmed.to_owned());
    }
    clean.sort();
    clean.dedup();
    if clean.len() > MAX_TAGS {
        return Err(ReviewInputError::new("tags", format!("a call carries at most {MAX_TAGS} tags")));
    }
    Ok(clean)
}

/// A QA score (0–[`QA_MAX_SCORE`]) and its comment, trimmed (blank: none), at most
/// [`QA_COMMENT_MAX_CHARS`] characters.
///
/// # Errors
/// [`ReviewInputError`] for field `score` or `comment`.
pub fn qa_score(score: i64, comment: Option<&str>) -> Result<(u8, Option<String>), ReviewInputError> {
    let score = u8::try_from(score)
        .ok()
        .filter(|score| *score <= QA_MAX_SCORE)
        .ok_or_else(|| ReviewInputError::new("score", format!("{score} is not a score from 0 to {QA_MAX_SCORE}")))?;
    let comment = comment.map(str::trim).filter(|comment| !comment.is_empty());
    if let Some(comment) = comment {
        if comment.chars().count() > QA_COMMENT_MAX_CHARS {
            return Err(ReviewInputError::new(
                "comment",
                format!("a comment is at most {QA_COMMENT_MAX_CHARS} characters"),
            ));
        }
        if comment.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(ReviewInputError::new("comment", "a comment must not contain control characters"));
        }
    }
    Ok((score, comment.map(str::to_owned)))
}

/// What supervisors wrote about a call, folded from the hub's review facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// By note id; the earliest (by time, then value) should an id ever come twice.
    notes: BTreeMap<String, Stamped<NoteRecord>>,
    tags: Option<Stamped<TagsRecord>>,
    qa: Option<Stamped<QaRecord>>,
}

impl Review {
    /// Folds a review fact observed at `at`; anything else is ignored.
    pub(crate) fn apply(&mut self, at: SourceMs, body: &EventBody) {
        match body {
            EventBody::NoteAdded(note) => {
                let seen = Stamped { at, value: note.clone() };
                match self.notes.get_mut(&note.id) {
                    Some(known) if seen < *known => *known = seen,
                    Some(_) => {}
                    None => {
                        self.notes.insert(note.id.clone(), seen);
                    }
                }
            }
            EventBody::TagsSet(tags) => keep_latest(&mut self.tags, Stamped { at, value: tags.clone() }),
            EventBody::QaScored(qa) => keep_latest(&mut self.qa, Stamped { at, value: qa.clone() }),
            _ => {}
        }
    }

    /// The notes in time order (then by id), each once.
    pub fn notes(&self) -> Vec<&Stamped<NoteRecord>> {
        let mut notes: Vec<&Stamped<NoteRecord>> = self.notes.values().collect();
        notes.sort_by(|a, b| (a.at, &a.value.id).cmp(&(b.at, &b.value.id)));
        notes
    }

    /// One note by its id.
    pub fn note(&self, id: &str) -> Option<&Stamped<NoteRecord>> {
        self.notes.get(id)
    }

    /// The call's current tags and who set them when; `None` if nobody ever did.
    pub fn tags(&self) -> Option<&Stamped<TagsRecord>> {
        self.tags.as_ref()
    }

    /// The call's latest QA score; `None` if nobody scored it.
    pub fn qa(&self) -> Option<&Stamped<QaRecord>> {
        self.qa.as_ref()
    }

    /// Whether nobody has reviewed the call.
    pub fn is_empty(&self) -> bool {
        self.notes.is_empty() && self.tags.is_none() && self.qa.is_none()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn note_text_is_trimmed_and_bounded_with_line_breaks_kept() {
        assert_eq!(note_text("  客户很满意\n下次回访 ").unwrap(), "客户很满意\n下次回访");
        for (bad, why) in [("   ", "empty"), ("a\u{7}b", "control"), (&"好".repeat(NOTE_MAX_CHARS + 1), "at most")] {
            let error = note_text(bad).unwrap_err();
            assert_eq!(error.field, "text");
            assert!(error.reason.contains(why), "{bad:?}: {error}");
        }
        assert!(note_text(&"好".repeat(NOTE_MAX_CHARS)).is_ok(), "the limit is in characters, not bytes");
    }

    #[test]
    fn note_ids_are_uuid_like_tokens() {
        assert_eq!(note_id("3f2b9c1e-0c7a-4a55-9a53-2f1d2b0d7e11").unwrap(), "3f2b9c1e-0c7a-4a55-9a53-2f1d2b0d7e11");
        for bad in ["", "has space", "../x", &"a".repeat(NOTE_ID_MAX_CHARS + 1), "中文"] {
            assert_eq!(note_id(bad).unwrap_err().field, "id", "{bad:?}");
        }
    }

    #[test]
    fn a_notes_round_is_a_bounded_non_blank_id() {
        assert_eq!(note_round("r2").unwrap(), RoundId::new("r2"));
        for bad in ["", "   ", &"r".repeat(ROUND_MAX_CHARS + 1)] {
            assert_eq!(note_round(bad).unwrap_err().field, "round", "{bad:?}");
        }
    }

    #[test]
    fn tag_sets_are_trimmed_deduplicated_sorted_and_bounded() {
        let tags = ["vip".to_owned(), " 投诉 ".into(), "vip ".into()];
        assert_eq!(tag_set(&tags).unwrap(), ["vip", "投诉"]);
        assert_eq!(tag_set(&[]).unwrap(), Vec::<String>::new(), "an empty set clears the tags");
        let many: Vec<String> = (0..=MAX_TAGS).map(|n| format!("t{n}")).collect();
        let cases: [(&[String], &str); 4] = [
            (&["ok".into(), "  ".into()], "tag 2 is empty"),
            (&["a\tb".into()], "control"),
            (&["x".repeat(TAG_MAX_CHARS + 1)], "longer than"),
            (&many, "at most"),
        ];
        for (bad, why) in cases {
            let error = tag_set(bad).unwrap_err();
            assert_eq!(error.field, "tags");
            assert!(error.reason.contains(why), "{bad:?}: {error}");
        }
        let repeated: Vec<String> = (0..MAX_TAGS * 2).map(|n| format!("t{}", n % MAX_TAGS)).collect();
        assert_eq!(tag_set(&repeated).unwrap().len(), MAX_TAGS, "duplicates do not count towards the limit");
    }

    #[test]
    fn qa_scores_are_0_to_100_with_an_optional_bounded_comment() {
        assert_eq!(qa_score(0, None).unwrap(), (0, None));
        assert_eq!(qa_score(100, Some("  语气好 ")).unwrap(), (100, Some("语气好".into())));
        assert_eq!(qa_score(55, Some("   ")).unwrap(), (55, None), "a blank comment is no comment");
        for bad in [-1, 101, 256, i64::MAX] {
            assert_eq!(qa_score(bad, None).unwrap_err().field, "score", "{bad}");
        }
        let long = "x".repeat(QA_COMMENT_MAX_CHARS + 1);
        assert_eq!(qa_score(80, Some(&long)).unwrap_err().field, "comment");
    }
}
