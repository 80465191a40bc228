//! The four CSV files, laid out from the same [`Document`] as `call.json`, so the two can
//! never disagree. Each time is two columns, `<name>_utc` (ISO 8601) and `<name>_ms` (the
//! raw Unix milliseconds); absent values are empty cells; booleans are `true` / `false`.
//!
//! What deliberately does not live here: CSV quoting and encoding (`csv.rs`) and what the
//! values are (`document.rs`).

use super::csv::{opt, opt_text, text, Table};
use super::document::{Document, ErrorEntry, Time};

/// The ISO and ms cells of an optional time.
fn time(value: Option<&Time>) -> [String; 2] {
    value.map_or([String::new(), String::new()], |t| [t.utc.clone(), t.ms.to_string()])
}

/// `transcript.csv`: one final sentence per row, in spoken order.
pub(crate) fn transcript(doc: &Document) -> Vec<u8> {
    let mut table = Table::new([
        "index",
        "round_id",
        "speaker",
        "user_id",
        "start_utc",
        "start_ms",
        "end_utc",
        "end_ms",
        "final_utc",
        "final_ms",
        "text",
    ]);
    for s in &doc.transcript {
        let [start_utc, start_ms] = time(s.start.as_ref());
        let [end_utc, end_ms] = time(s.end.as_ref());
        let [final_utc, final_ms] = time(Some(&s.final_at));
        table.row([
            s.index.to_string(),
            text(&s.round_id),
            s.speaker.to_owned(),
            text(&s.user_id),
            start_utc,
            start_ms,
            end_utc,
            end_ms,
            final_utc,
            final_ms,
            text(&s.text),
        ]);
    }
    table.into_bytes()
}

/// One error per line: `30200 LLM request timed out (llm): <message>`.
fn error_lines(errors: &[ErrorEntry]) -> String {
    errors
        .iter()
        .map(|e| format!("{} {} ({}): {}", e.code, e.meaning_text, e.stage, e.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `turns.csv`: one turn per row with the seven metrics (named as TRTC spells them) and its
/// errors.
pub(crate) fn turns(doc: &Document) -> Vec<u8> {
    let mut table = Table::new([
        "index",
        "round_id",
        "first_utc",
        "first_ms",
        "speech_started_utc",
        "speech_started_ms",
        "finished_utc",
        "finished_ms",
        "user_text",
        "user_final",
        "robot_text",
        "robot_final",
        "interrupted",
        "asr_latency",
        "llm_network_latency",
        "llm_first_token",
        "tts_network_latency",
        "tts_first_frame_latency",
        "tts_discontinuity",
        "interruption",
        "errors",
        "error_details",
    ]);
    for t in &doc.turns {
        let [first_utc, first_ms] = time(Some(&t.first));
        let [speech_utc, speech_ms] = time(t.speech_started.as_ref());
        let [finished_utc, finished_ms] = time(t.finished.as_ref());
        let [asr, llm_net, llm_first, tts_net, tts_first, tts_gaps, interruption] = t.metrics.values().map(opt);
        table.row([
            t.index.to_string(),
            text(&t.round_id),
            first_utc,
            first_ms,
            speech_utc,
            speech_ms,
            finished_utc,
            finished_ms,
            opt_text(t.user_text.as_deref()),
            t.user_final.to_string(),
            opt_text(t.robot_text.as_deref()),
            t.robot_final.to_string(),
            t.interrupted.to_string(),
            asr,
            llm_net,
            llm_first,
            tts_net,
            tts_first,
            tts_gaps,
            interruption,
            t.errors.len().to_string(),
            text(&error_lines(&t.errors)),
        ]);
    }
    table.into_bytes()
}

/// `interventions.csv`: one command (at its outcome) or lock change per row.
pub(crate) fn interventions(doc: &Document) -> Vec<u8> {
    let mut table = Table::new([
        "kind",
        "action",
        "by",
        "at_utc",
        "at_ms",
        "outcome",
        "outcome_utc",
        "outcome_ms",
        "round_id",
        "summary",
        "error",
        "lock_holder",
        "command_id",
    ]);
    for i in &doc.interventions {
        let [at_utc, at_ms] = time(Some(&i.at));
        let [outcome_utc, outcome_ms] = time(i.outcome_at.as_ref());
        table.row([
            i.kind.to_owned(),
            i.action.clone(),
            text(&i.by),
            at_utc,
            at_ms,
            opt(i.outcome),
            outcome_utc,
            outcome_ms,
            opt_text(i.round_id.as_deref()),
            opt_text(i.summary.as_deref()),
            opt_text(i.error.as_deref()),
            opt_text(i.lock_holder.as_deref()),
            opt_text(i.command_id.as_deref()),
        ]);
    }
    table.into_bytes()
}

/// `notes.csv`: one note per row, oldest first.
pub(crate) fn notes(doc: &Document) -> Vec<u8> {
    let mut table = Table::new(["id", "author", "at_utc", "at_ms", "round_id", "text"]);
    for n in &doc.notes {
        let [at_utc, at_ms] = time(Some(&n.at));
        table.row([n.id.to_string(), text(&n.author), at_utc, at_ms, opt_text(n.round_id.as_deref()), text(&n.text)]);
    }
    table.into_bytes()
}
