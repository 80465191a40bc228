//! The alert rule editor's view model: rules as the form holds them (numbers as typed
//! text), turned back into `domain::alert::AlertRules` and checked with the domain's own
//! [`AlertRules::validate`], with the problem pinned to its rule and field and worded for
//! the supervisor in either language.
//!
//! What deliberately does not live here: the ranges and rules themselves (`domain::alert`,
//! the one place they are decided — this only rewords its errors) and any rendering.

use domain::alert::{AlertKind, AlertRule, AlertRules, RuleError, RuleId, RuleKind};

use crate::i18n::{fill, settings::SettingsStrings};

/// One rule as the form holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDraft {
    pub id: RuleId,
    pub enabled: bool,
    pub kind: AlertKind,
    /// The numeric thresholds by wire field name, as typed.
    pub numbers: Vec<(&'static str, String)>,
    /// The keywords, as typed (keyword rules only).
    pub keywords: Vec<String>,
}

/// A problem with one field of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub rule: RuleId,
    /// The wire name (`thresholdMs`, `keywords[2]`, …).
    pub field: String,
    pub problem: Problem,
}

/// What is wrong with the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not a whole number.
    NotANumber,
    /// The domain's validation refused it.
    Rule(RuleError),
}

impl RuleDraft {
    /// The form's copy of `rule`.
    pub fn from_rule(rule: &AlertRule) -> RuleDraft {
        let number = |name: &'static str, value: i64| (name, value.to_string());
        let (numbers, keywords) = match &rule.kind {
            RuleKind::SlowFirstToken { threshold_ms, turns_over, window } => (
                vec![number("thresholdMs", *threshold_ms), number("turnsOver", *turns_over), number("window", *window)],
                Vec::new(),
            ),
            RuleKind::PipelineError => (Vec::new(), Vec::new()),
            RuleKind::TtsDiscontinuity { min_gaps } => (vec![number("minGaps", *min_gaps)], Vec::new()),
            RuleKind::Interruptions { max_per_minute } => (vec![number("maxPerMinute", *max_per_minute)], Vec::new()),
            RuleKind::ThinkingTooLong { limit_secs }
            | RuleKind::CustomerSilence { limit_secs }
            | RuleKind::CallTooLong { limit_secs } => (vec![number("limitSecs", *limit_secs)], Vec::new()),
            RuleKind::Keywords { keywords } => (Vec::new(), keywords.clone()),
        };
        RuleDraft { id: rule.id.clone(), enabled: rule.enabled, kind: rule.kind.alert_kind(), numbers, keywords }
    }

    /// Replaces the text of the numeric field `field`.
    pub fn set_number(&mut self, field: &str, text: String) {
        if let Some((_, value)) = self.numbers.iter_mut().find(|(name, _)| *name == field) {
            *value = text;
        }
    }

    fn number(&self, field: &'static str) -> Result<i64, FieldError> {
        let text = self.numbers.iter().find(|(name, _)| *name == field).map_or("", |(_, text)| text.as_str());
        text.trim().parse::<i64>().map_err(|_| FieldError {
            rule: self.id.clone(),
            field: field.to_owned(),
            problem: Problem::NotANumber,
        })
    }

    /// The rule the form describes; the first field that is not a number is refused.
    pub fn to_rule(&self) -> Result<AlertRule, FieldError> {
        let kind = match self.kind {
            AlertKind::SlowFirstToken => RuleKind::SlowFirstToken {
                threshold_ms: self.number("thresholdMs")?,
                turns_over: self.number("turnsOver")?,
                window: self.number("window")?,
            },
            AlertKind::PipelineError => RuleKind::PipelineError,
            AlertKind::TtsDiscontinuity => RuleKind::TtsDiscontinuity { min_gaps: self.number("minGaps")? },
            AlertKind::Interruptions => RuleKind::Interruptions { max_per_minute: self.number("maxPerMinute")? },
            AlertKind::ThinkingTooLong => RuleKind::ThinkingTooLong { limit_secs: self.number("limitSecs")? },
            AlertKind::CustomerSilence => RuleKind::CustomerSilence { limit_secs: self.number("limitSecs")? },
            AlertKind::CallTooLong => RuleKind::CallTooLong { limit_secs: self.number("limitSecs")? },
            // Surrounding spaces are not part of a keyword (the matcher trims them too).
            AlertKind::Keywords => {
                RuleKind::Keywords { keywords: self.keywords.iter().map(|k| k.trim().to_owned()).collect() }
            }
        };
        Ok(AlertRule { id: self.id.clone(), enabled: self.enabled, kind })
    }
}

/// The form's copy of every rule.
pub fn drafts(rules: &AlertRules) -> Vec<RuleDraft> {
    rules.rules.iter().map(RuleDraft::from_rule).collect()
}

/// The rules the form describes, checked by the domain; the first problem, pinned to its
/// rule and field.
///
/// # Errors
/// [`FieldError`] for a field that is not a number or that [`AlertRules::validate`] refuses.
pub fn parse(drafts: &[RuleDraft]) -> Result<AlertRules, FieldError> {
    let rules = AlertRules { rules: drafts.iter().map(RuleDraft::to_rule).collect::<Result<_, _>>()? };
    rules.validate().map_err(|error| FieldError {
        rule: match &error {
            RuleError::BadValue { rule, .. } | RuleError::DuplicateId { rule } => rule.clone(),
            RuleError::BlankId { position } => {
                drafts.get(position.saturating_sub(1)).map_or_else(|| RuleId::new(""), |draft| draft.id.clone())
            }
        },
        field: error.field().to_owned(),
        problem: Problem::Rule(error),
    })?;
    Ok(rules)
}

/// The problem in the supervisor's language. The domain words its reasons in English for
/// logs; the known shapes are reworded here, anything else is shown as it came.
pub fn describe(problem: &Problem, text: &SettingsStrings) -> String {
    let reason = match problem {
        Problem::NotANumber => return text.err_not_number.to_owned(),
        Problem::Rule(RuleError::BadValue { reason, .. }) => reason.as_str(),
        Problem::Rule(other) => return fill(text.err_other, &[("reason", &other.to_string())]),
    };
    let numbers: Vec<&str> =
        reason.split(|c: char| !c.is_ascii_digit() && c != '-').filter(|part| !part.is_empty()).collect();
    if reason.contains("must be between") {
        if let [_, min, max, ..] = numbers.as_slice() {
            return fill(text.err_range, &[("min", min), ("max", max)]);
        }
    }
    if reason.contains("cannot exceed the window") {
        if let [_, window, ..] = numbers.as_slice() {
            return fill(text.err_exceeds_window, &[("window", window)]);
        }
    }
    if reason.starts_with("is empty") {
        return text.err_keywords_empty.to_owned();
    }
    if reason == "is blank" {
        return text.err_keyword_blank.to_owned();
    }
    if reason.contains("are allowed") {
        if let Some(max) = numbers.last() {
            return fill(text.err_keyword_long, &[("max", max)]);
        }
    }
    fill(text.err_other, &[("reason", reason)])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use domain::api::Language;

    use super::*;
    use crate::i18n::settings::settings;

    fn defaults() -> Vec<RuleDraft> {
        drafts(&AlertRules::defaults())
    }

    fn edit(drafts: &mut [RuleDraft], kind: AlertKind, field: &str, text: &str) {
        drafts.iter_mut().find(|draft| draft.kind == kind).unwrap().set_number(field, text.to_owned());
    }

    #[test]
    fn the_defaults_go_through_the_form_unchanged() {
        assert_eq!(parse(&defaults()).unwrap(), AlertRules::defaults());
        assert_eq!(defaults().len(), AlertKind::ALL.len(), "one row for each of the eight kinds");
    }

    #[test]
    fn a_threshold_that_is_not_a_number_is_pinned_to_its_rule_and_field() {
        let mut drafts = defaults();
        edit(&mut drafts, AlertKind::CustomerSilence, "limitSecs", "twenty");
        let error = parse(&drafts).unwrap_err();
        assert_eq!((error.rule.as_str(), error.field.as_str()), ("customer-silence", "limitSecs"));
        assert_eq!(error.problem, Problem::NotANumber);
        assert_eq!(describe(&error.problem, settings(Language::En)), "Enter a whole number.");
    }

    #[test]
    fn the_domains_range_check_is_shown_against_the_field_in_both_languages() {
        let mut drafts = defaults();
        edit(&mut drafts, AlertKind::SlowFirstToken, "thresholdMs", " 0 ");
        let error = parse(&drafts).unwrap_err();
        assert_eq!((error.rule.as_str(), error.field.as_str()), ("slow-first-token", "thresholdMs"));
        assert_eq!(describe(&error.problem, settings(Language::En)), "Must be between 1 and 120000.");
        assert_eq!(describe(&error.problem, settings(Language::ZhCn)), "必须在 1 到 120000 之间。");

        let mut drafts = defaults();
        edit(&mut drafts, AlertKind::SlowFirstToken, "turnsOver", "6");
        let error = parse(&drafts).unwrap_err();
        assert_eq!(error.field, "turnsOver");
        assert_eq!(describe(&error.problem, settings(Language::En)), "Cannot be more than the turns looked at (5).");

        let mut drafts = defaults();
        edit(&mut drafts, AlertKind::CallTooLong, "limitSecs", "-5");
        let error = parse(&drafts).unwrap_err();
        assert_eq!(describe(&error.problem, settings(Language::En)), "Must be between 1 and 86400.");
    }

    #[test]
    fn keywords_are_trimmed_and_a_blank_one_is_pinned_to_its_position() {
        let mut drafts = defaults();
        let keywords = drafts.iter_mut().find(|draft| draft.kind == AlertKind::Keywords).unwrap();
        keywords.keywords = vec![" 人工 ".into(), "refund".into()];
        let rules = parse(&drafts).unwrap();
        let RuleKind::Keywords { keywords: saved } = &rules.get(&RuleId::new("keywords")).unwrap().kind else {
            panic!("the keyword rule stays a keyword rule");
        };
        assert_eq!(saved, &["人工".to_owned(), "refund".to_owned()]);

        let keywords = drafts.iter_mut().find(|draft| draft.kind == AlertKind::Keywords).unwrap();
        keywords.keywords.push("  ".into());
        let error = parse(&drafts).unwrap_err();
        assert_eq!(error.field, "keywords[2]");
        assert_eq!(describe(&error.problem, settings(Language::ZhCn)), "关键词不能为空。");

        let keywords = drafts.iter_mut().find(|draft| draft.kind == AlertKind::Keywords).unwrap();
        keywords.keywords.clear();
        let error = parse(&drafts).unwrap_err();
        assert_eq!(error.field, "keywords");
        assert_eq!(describe(&error.problem, settings(Language::En)), "Add at least one keyword.");
    }

    #[test]
    fn a_disabled_rule_keeps_its_thresholds() {
        let mut drafts = defaults();
        drafts[0].enabled = false;
        let rules = parse(&drafts).unwrap();
        assert!(!rules.rules[0].enabled);
        assert_eq!(rules.rules[0].kind, AlertRules::defaults().rules[0].kind);
    }
}
