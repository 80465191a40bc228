//! Review: supervisors' notes, tags and QA scores on a call, recorded as the hub's own facts
//! so every console's stream carries them.
//!
//! - `POST /v1/calls/{id}/notes` with `{"id", "text", "round"?, "written_ms"?}`: `id` is the
//!   note's UUID, chosen by the console that wrote it. A retry with the same id (and the same
//!   note) answers the note as stored and adds nothing (`200`); a new note answers `201`; the
//!   id used for a different note is refused (`409 note_id_taken`).
//! - `PUT /v1/calls/{id}/tags` with `{"tags": [...], "written_ms"?}`: the call's whole tag set
//!   (an empty list clears it).
//! - `PUT /v1/calls/{id}/qa` with `{"score": 0–100, "comment"?, "written_ms"?}`.
//!
//! Every role may review (a viewer too). Bad input is a `400 invalid_field` whose message
//! starts with the field's name; an unknown call is `404 unknown_call`. `written_ms` is when
//! the supervisor wrote it (a console that was offline pushes later): it becomes the event's
//! source time, kept within [now − [`MAX_BACKDATE`], now] by the hub's clock, so notes sort
//! by when they were written and the later of two tag sets or scores wins. Each change is
//! audited like a command. The tag and QA answers give the call's tags or score as they now
//! stand (an older write than the current one is recorded but does not replace it).
//!
//! What deliberately does not live here: the rules for a note, tag or score (they are
//! `domain::call::review`'s, shared with the console) and the fold (`Call::review`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::call::review::{self, ReviewInputError};
use domain::call::Stamped;
use domain::event::{CallRef, Event, EventBody, NoteRecord, QaRecord, TagsRecord};
use domain::ids::{SourceMs, TaskId};
use serde_json::{json, Map, Value};

use crate::control::{audit, known_call};
use crate::log::{Appended, LogError, NewEvent};
use crate::{authenticate, now_ms, HttpError, Shared};

/// How far back a `written_ms` may reach; older is taken as this old.
pub const MAX_BACKDATE: Duration = Duration::from_secs(30 * 86_400);

fn invalid(error: &ReviewInputError) -> HttpError {
    HttpError::new(StatusCode::BAD_REQUEST, "invalid_field", error.to_string())
}

fn invalid_field(field: &str, reason: &str) -> HttpError {
    HttpError::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {reason}"))
}

/// The body as a JSON object holding only `allowed` fields.
fn fields(body: &[u8], allowed: &[&str]) -> Result<Map<String, Value>, HttpError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| HttpError::new(StatusCode::BAD_REQUEST, "bad_json", format!("the body is not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(HttpError::new(StatusCode::BAD_REQUEST, "bad_json", "the body must be a JSON object"));
    };
    if let Some(unknown) = map.keys().find(|key| !allowed.contains(&key.as_str())) {
        return Err(invalid_field(unknown, &format!("not a field of this request (it takes {})", allowed.join(", "))));
    }
    Ok(map)
}

/// A string field; `None` when absent or null.
fn text<'a>(map: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, HttpError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(invalid_field(field, "must be a string")),
    }
}

fn required_text<'a>(map: &'a Map<String, Value>, field: &str) -> Result<&'a str, HttpError> {
    text(map, field)?.ok_or_else(|| invalid_field(field, "is missing"))
}

/// When the supervisor wrote it: `written_ms` kept within [now − MAX_BACKDATE, now].
fn written_at(map: &Map<String, Value>, now: u64) -> Result<SourceMs, HttpError> {
    let earliest = now.saturating_sub(u64::try_from(MAX_BACKDATE.as_millis()).unwrap_or(u64::MAX));
    match map.get("written_ms") {
        None | Some(Value::Null) => Ok(SourceMs(now)),
        Some(value) => value
            .as_u64()
            .map(|ms| SourceMs(ms.clamp(earliest, now)))
            .ok_or_else(|| invalid_field("written_ms", "must be a Unix time in milliseconds")),
    }
}

/// Appends a review fact about `task` at `at`; `None` when `dedup_key` was already logged.
async fn record_at(
    shared: &Shared,
    task: &TaskId,
    at: SourceMs,
    body: EventBody,
    dedup_key: Option<String>,
) -> Result<Option<Event>, LogError> {
    let event = Event::hub_fact(CallRef::task(task.clone()), at, body);
    let appended = shared.appender.append(vec![NewEvent { event, dedup_key, received_ms: now_ms() }]).await?;
    Ok(appended.into_iter().next().and_then(|result| match result {
        Appended::Stored(event) => Some(*event),
        Appended::Duplicate => None,
    }))
}

fn clip(text: &str) -> String {
    let clipped: String = text.chars().take(200).collect();
    if clipped.len() < text.len() {
        format!("{clipped}…")
    } else {
        clipped
    }
}

fn note_json(task: &TaskId, note: &Stamped<NoteRecord>) -> Value {
    json!({
        "call_id": task,
        "id": note.value.id,
        "author": note.value.author,
        "round": note.value.round,
        "text": note.value.text,
        "at_ms": note.at.0,
    })
}

fn stored_note(shared: &Shared, task: &TaskId, id: &str) -> Option<Stamped<NoteRecord>> {
    shared.board_read().call(task).and_then(|call| call.review().note(id).cloned())
}

/// The answer to a note whose id is already on the call: the same note again, or a refusal.
fn replay(task: &TaskId, stored: &Stamped<NoteRecord>, asked: &NoteRecord) -> Result<Response, HttpError> {
    if stored.value == *asked {
        Ok((StatusCode::OK, Json(note_json(task, stored))).into_response())
    } else {
        Err(HttpError::new(
            StatusCode::CONFLICT,
            "note_id_taken",
            format!("note {} on this call is a different note; use a new id", stored.value.id),
        ))
    }
}

/// `POST /v1/calls/{id}/notes`.
pub(crate) async fn add_note(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let user = authenticate(&shared, &headers, None).await?;
    let task = known_call(&shared, &id)?;
    let map = fields(&body, &["id", "text", "round", "written_ms"])?;
    let note_id = review::note_id(required_text(&map, "id")?).map_err(|e| invalid(&e))?;
    let note_text = review::note_text(required_text(&map, "text")?).map_err(|e| invalid(&e))?;
    let round = text(&map, "round")?.map(review::note_round).transpose().map_err(|e| invalid(&e))?;
    let at = written_at(&map, now_ms())?;
    let asked = NoteRecord { id: note_id, author: user.name.clone(), round, text: note_text };

    if let Some(stored) = stored_note(&shared, &task, &asked.id) {
        return replay(&task, &stored, &asked);
    }
    let dedup_key = format!("note:{task}:{}", asked.id);
    match record_at(&shared, &task, at, EventBody::NoteAdded(asked.clone()), Some(dedup_key)).await? {
        Some(_) => {
            audit(&shared, &user, &task, asked.round.as_ref(), "note", "added", Some(clip(&asked.text))).await;
            let stored = Stamped { at, value: asked };
            Ok((StatusCode::CREATED, Json(note_json(&task, &stored))).into_response())
        }
        // Another request with this id got there first (a retry racing the original).
        None => match stored_note(&shared, &task, &asked.id) {
            Some(stored) => replay(&task, &stored, &asked),
            None => Err(HttpError::new(
                StatusCode::CONFLICT,
                "note_id_taken",
                format!("note {} was already recorded for this call", asked.id),
            )),
        },
    }
}

/// `PUT /v1/calls/{id}/tags`.
pub(crate) async fn set_tags(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, HttpError> {
    let user = authenticate(&shared, &headers, None).await?;
    let task = known_call(&shared, &id)?;
    let map = fields(&body, &["tags", "written_ms"])?;
    let listed = match map.get("tags") {
        None | Some(Value::Null) => return Err(invalid_field("tags", "is missing (send [] to clear the tags)")),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| invalid_field("tags", "must be a list of strings"))?,
        Some(_) => return Err(invalid_field("tags", "must be a list of strings")),
    };
    let tags = review::tag_set(&listed).map_err(|e| invalid(&e))?;
    let at = written_at(&map, now_ms())?;
    let detail = if tags.is_empty() { "(none)".to_owned() } else { clip(&tags.join(", ")) };
    record_at(&shared, &task, at, EventBody::TagsSet(TagsRecord { author: user.name.clone(), tags }), None).await?;
    audit(&shared, &user, &task, None, "tags", "set", Some(detail)).await;
    let current = shared.board_read().call(&task).and_then(|call| call.review().tags().cloned());
    Ok(Json(match current {
        Some(tags) => json!({ "tags": tags.value.tags, "author": tags.value.author, "at_ms": tags.at.0 }),
        None => json!({ "tags": [], "author": null, "at_ms": null }),
    }))
}

/// `PUT /v1/calls/{id}/qa`.
pub(crate) async fn set_qa(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, HttpError> {
    let user = authenticate(&shared, &headers, None).await?;
    let task = known_call(&shared, &id)?;
    let map = fields(&body, &["score", "comment", "written_ms"])?;
    let score = match map.get("score") {
        None | Some(Value::Null) => return Err(invalid_field("score", "is missing")),
        Some(value) => value.as_i64().ok_or_else(|| invalid_field("score", "must be a whole number from 0 to 100"))?,
    };
    let (score, comment) = review::qa_score(score, text(&map, "comment")?).map_err(|e| invalid(&e))?;
    let at = written_at(&map, now_ms())?;
    let detail = match &comment {
        Some(comment) => format!("{score}: {}", clip(comment)),
        None => score.to_string(),
    };
    let record = QaRecord { author: user.name.clone(), score, comment };
    record_at(&shared, &task, at, EventBody::QaScored(record), None).await?;
    audit(&shared, &user, &task, None, "qa", "scored", Some(detail)).await;
    Ok(Json(qa_json(&shared, &task)))
}

fn qa_json(shared: &Shared, task: &TaskId) -> Value {
    match shared.board_read().call(task).and_then(|call| call.review().qa().cloned()) {
        Some(qa) => json!({
            "score": qa.value.score,
            "comment": qa.value.comment,
            "author": qa.value.author,
            "at_ms": qa.at.0,
        }),
        None => json!({ "score": null, "comment": null, "author": null, "at_ms": null }),
    }
}
