//! The review screen's part of the IPC contract: the history of cached calls, paged and
//! filtered.
//!
//! What deliberately does not live here: notes, tags, QA scores, search, recordings and
//! export — they predate the screen and live in `api/mod.rs`. A call's own detail comes
//! from `call_events` and the domain fold, not from a summary type here.

use serde::{Deserialize, Serialize};

use super::Command;
use crate::call::CallStatus;
use crate::ids::TaskId;

/// `call_history`: the cached calls, newest first (by when they started), narrowed by the
/// filters given and paged with a cursor; works with the network off.
#[derive(Debug, Clone, Copy)]
pub struct GetCallHistory;

impl Command for GetCallHistory {
    const NAME: &'static str = "call_history";
    type Request = HistoryRequest;
    type Response = HistoryPage;
}

/// Request of [`GetCallHistory`]; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HistoryRequest {
    /// Calls that started at or after this time (ms since the epoch).
    pub started_from: Option<u64>,
    /// Calls that started before this time.
    pub started_before: Option<u64>,
    /// Calls with this tag (e.g. the scenario).
    pub tag: Option<String>,
    /// With (or without) at least one pipeline error.
    pub has_error: Option<bool>,
    /// Calls with at least one turn whose LLM first token took longer than this many ms.
    pub slow_turn_ms: Option<f64>,
    /// Calls a supervisor stepped into (a command or a take-over), or not.
    pub intervened: Option<bool>,
    /// The page after this call; `None` for the first page.
    pub after: Option<HistoryCursor>,
    /// At most this many calls (1–200; 50 when 0).
    pub limit: u32,
}

/// Where the next page of the history starts: after this call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryCursor {
    pub started_ms: u64,
    pub call: TaskId,
}

/// One page of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    pub calls: Vec<HistoryCall>,
    /// Pass as [`HistoryRequest::after`] for the next page; `None` on the last page.
    pub next: Option<HistoryCursor>,
}

/// A cached call as the history lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryCall {
    pub call: TaskId,
    /// The room, as TRTC names it.
    pub room: Option<String>,
    pub status: CallStatus,
    pub live: bool,
    /// When it started, ended, and its latest event (ms since the epoch, source time).
    pub started_ms: u64,
    pub ended_ms: Option<u64>,
    pub last_ms: u64,
    pub turns: usize,
    pub errors: usize,
    /// Supervisors' commands, each once.
    pub interventions: usize,
    pub taken_over: bool,
    pub alerts: usize,
    /// Sorted.
    pub tags: Vec<String>,
    pub qa_score: Option<u8>,
    pub notes: usize,
    /// The slowest LLM first token of its turns (ms), when any turn reported one.
    pub slowest_llm_first_token_ms: Option<f64>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::event::LeaveCode;

    #[test]
    fn history_types_use_the_names_the_ui_sends_and_survive_a_round_trip() {
        let empty: HistoryRequest = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(empty, HistoryRequest::default(), "every field of the request may be left out");
        let request = HistoryRequest {
            started_from: Some(1),
            slow_turn_ms: Some(1500.0),
            intervened: Some(true),
            after: Some(HistoryCursor { started_ms: 9, call: TaskId::new("t-9") }),
            limit: 20,
            ..HistoryRequest::default()
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["slowTurnMs"], 1500.0);
        assert_eq!(json["after"]["startedMs"], 9);
        assert_eq!(serde_json::from_value::<HistoryRequest>(json).unwrap(), request);
        let page = HistoryPage {
            calls: vec![HistoryCall {
                call: TaskId::new("t-1"),
                room: Some("20688".into()),
                status: CallStatus::Ended { leave_code: LeaveCode::from(0) },
                live: false,
                started_ms: 1,
                ended_ms: Some(2),
                last_ms: 2,
                turns: 3,
                errors: 0,
                interventions: 1,
                taken_over: false,
                alerts: 0,
                tags: vec!["vip".into()],
                qa_score: Some(80),
                notes: 2,
                slowest_llm_first_token_ms: Some(812.5),
            }],
            next: None,
        };
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(json["calls"][0]["qaScore"], 80);
        assert_eq!(serde_json::from_value::<HistoryPage>(json).unwrap(), page);
        assert_eq!(GetCallHistory::NAME, "call_history");
    }
}
