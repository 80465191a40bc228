//! Pushing this console's review writes — notes, tag sets, QA scores — to the hub, so other
//! supervisors see them.
//!
//! The console writes review data to its cache first (it works offline; see
//! `cache/review.rs`) and then asks for a push with [`push_soon`]; the link asks too when it
//! goes live again (the transition to live) and once a minute while live, for whatever a
//! failed push left behind. A push round sends every unpushed note (with its id, so a retry
//! adds nothing on the hub) and every pending tag set and score (with when it was written),
//! and records each answer in the cache:
//! - the hub has it → the note is marked pushed / the change leaves the outbox (its own
//!   event, coming back on the stream, says the same, whichever comes first);
//! - the hub refuses it for good (bad input, unknown call, a note id taken, no permission)
//!   → marked with the reason and not pushed again;
//! - anything else (the hub unreachable, slow, unhealthy, the token refused) → left as it
//!   is, and the round stops: the next live transition or retry tries again.
//!
//! One round at a time per link: rounds asked for while one runs wait for it, so a note is
//! not sent twice at once. What deliberately does not live here: the SQL (the cache), the
//! HTTP (the hub client), and when the link is live (the link).

use std::sync::Arc;

use crate::cache::{Cache, CacheError, Note, Outgoing, ReviewChange};
use crate::hub_client::{HubClient, HubError, NoteRequest};

/// Serialises push rounds of one link.
#[derive(Debug, Default)]
pub(crate) struct PushGate(Arc<tokio::sync::Mutex<()>>);

/// What one push round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PushReport {
    /// Notes and changes the hub now has.
    pub pushed: usize,
    /// Refused for good (marked, not pushed again).
    pub refused: usize,
    /// Whether the round stopped early because the hub could not be reached or answered.
    pub interrupted: bool,
}

/// Runs a push round in the background (after any round already running).
pub(crate) fn push_soon(gate: &PushGate, cache: &Cache, client: &HubClient) {
    let (gate, cache, client) = (gate.0.clone(), cache.clone(), client.clone());
    tokio::spawn(async move {
        let _one_at_a_time = gate.lock().await;
        match push_pending(&cache, &client).await {
            Ok(report) if report.pushed + report.refused > 0 || report.interrupted => {
                tracing::info!(?report, "review push round");
            }
            Ok(_) => {}
            // The link may have closed the cache meanwhile; the items wait for the next round.
            Err(error) => tracing::warn!(%error, "review push round could not read or record"),
        }
    });
}

/// How the hub's answer is recorded.
enum Outcome {
    Pushed,
    Refused(String),
    /// Not reached or not answered: try again later.
    Retry(HubError),
}

fn outcome<T>(result: Result<T, HubError>) -> Outcome {
    match result {
        // A success whose body could not be read is still a success: the hub has it.
        Ok(_) | Err(HubError::BadAnswer { .. }) => Outcome::Pushed,
        Err(HubError::Refused(refusal)) if matches!(refusal.status, 400 | 403 | 404 | 409 | 413 | 422) => {
            Outcome::Refused(refusal.to_string())
        }
        Err(error) => Outcome::Retry(error),
    }
}

/// Pushes everything pending, recording each answer; stops at the first failure to reach
/// the hub.
///
/// # Errors
/// [`CacheError`] when the cache cannot be read or an answer cannot be recorded.
pub(crate) async fn push_pending(cache: &Cache, client: &HubClient) -> Result<PushReport, CacheError> {
    let mut report = PushReport::default();
    // Bounded: each round reads at most a batch, and another is read only if this one
    // moved every item it read.
    for _ in 0..100 {
        let notes = cache.unpushed_notes().await?;
        let changes: Vec<Outgoing> =
            cache.outbox(None).await?.into_iter().filter(|change| change.push_error.is_none()).collect();
        if notes.is_empty() && changes.is_empty() {
            break;
        }
        let before = report.pushed + report.refused;
        let read = notes.len() + changes.len();
        for note in notes {
            match outcome(push_note(client, &note).await) {
                Outcome::Pushed => {
                    cache.note_pushed(&note.task, &note.uid).await?;
                    report.pushed += 1;
                }
                Outcome::Refused(reason) => {
                    tracing::warn!(call = %note.task, note = %note.uid, %reason, "the hub refused a note");
                    cache.note_refused(&note.task, &note.uid, &reason).await?;
                    report.refused += 1;
                }
                Outcome::Retry(error) => {
                    tracing::info!(%error, "the hub cannot take review data now; kept for later");
                    report.interrupted = true;
                    return Ok(report);
                }
            }
        }
        for change in changes {
            let kind = change.change.kind();
            let result = match &change.change {
                ReviewChange::Tags(tags) => outcome(client.set_tags(&change.task, tags, Some(change.written)).await),
                ReviewChange::Qa { score, comment } => {
                    outcome(client.set_qa(&change.task, *score, comment.as_deref(), Some(change.written)).await)
                }
            };
            match result {
                Outcome::Pushed => {
                    cache.outbox_pushed(&change.task, kind, change.written).await?;
                    report.pushed += 1;
                }
                Outcome::Refused(reason) => {
                    tracing::warn!(call = %change.task, ?kind, %reason, "the hub refused a review change");
                    cache.outbox_refused(&change.task, kind, change.written, &reason).await?;
                    report.refused += 1;
                }
                Outcome::Retry(error) => {
                    tracing::info!(%error, "the hub cannot take review data now; kept for later");
                    report.interrupted = true;
                    return Ok(report);
                }
            }
        }
        if report.pushed + report.refused - before < read {
            break;
        }
    }
    Ok(report)
}

async fn push_note(client: &HubClient, note: &Note) -> Result<crate::hub_client::StoredNote, HubError> {
    let request = NoteRequest {
        id: note.uid.clone(),
        text: note.text.clone(),
        round: note.round.clone(),
        written_ms: Some(note.at.0),
    };
    client.add_note(&note.task, &request).await
}
