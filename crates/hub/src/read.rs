//! The read API: call snapshots folded with the domain fold, recordings, the audit trail,
//! health and metrics.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use domain::call::{Call, HealthPolicy};
use domain::event::Speaker;
use domain::ids::{SourceMs, TaskId};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{authenticate, now_ms, HttpError, Shared};

/// One call on the wall: enough to draw its tile.
pub fn summary(call: &Call, policy: &HealthPolicy, now: SourceMs) -> Value {
    let health = call.health(policy, now);
    let oversight = call.oversight();
    json!({
        "task_id": call.task(),
        "sdk_app_id": call.sdk_app_id(),
        "room": call.room(),
        "status": call.status(),
        "live": call.is_live(),
        "robot_state": call.robot_state(),
        "started_ms": call.started_ms(),
        "ended_ms": call.ended_ms(),
        "duration_ms": call.duration_ms(now),
        "counts": call.counts(),
        "health": health,
        "last_user_sentence": call.last_final(Speaker::User).map(|line| &line.text),
        "last_robot_sentence": call.last_final(Speaker::Robot).map(|line| &line.text),
        "lock_holder": oversight.lock_holder(),
        "watchers": oversight.watchers().collect::<Vec<_>>(),
        "taken_over_by": oversight.taken_over_by(),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct CallsQuery {
    /// Only calls still going.
    #[serde(default)]
    live: bool,
}

/// `GET /v1/calls`: every call, worst health first.
pub(crate) async fn calls(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<CallsQuery>,
) -> Result<Json<Value>, HttpError> {
    authenticate(&shared, &headers, None).await?;
    let now = SourceMs(now_ms());
    let policy = HealthPolicy::default();
    let board = shared.board_read();
    let calls: Vec<Value> = board
        .by_health(&policy, now)
        .into_iter()
        .filter(|(call, _)| !query.live || call.is_live())
        .map(|(call, _)| summary(call, &policy, now))
        .collect();
    Ok(Json(json!({ "last_seq": shared.last_seq.load(Ordering::Acquire), "calls": calls })))
}

/// `GET /v1/calls/{id}`: the whole folded call.
pub(crate) async fn call(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, HttpError> {
    authenticate(&shared, &headers, None).await?;
    let now = SourceMs(now_ms());
    let policy = HealthPolicy::default();
    let board = shared.board_read();
    let call = TaskId::parse(&id)
        .and_then(|task| board.call(&task))
        .ok_or_else(|| HttpError::new(StatusCode::NOT_FOUND, "unknown_call", format!("no call {id:?}")))?;
    Ok(Json(json!({
        "last_seq": shared.last_seq.load(Ordering::Acquire),
        "summary": summary(call, &policy, now),
        "call": call,
        "commands": call.oversight().commands(),
    })))
}

/// `GET /v1/recordings`: every cloud recording the callbacks announced, with its files.
pub(crate) async fn recordings(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<Value>, HttpError> {
    authenticate(&shared, &headers, None).await?;
    let board = shared.board_read();
    let mut out = Vec::new();
    for room in board.rooms() {
        for recording in room.recordings() {
            let task = recording.task();
            let files: Vec<Value> = recording
                .vod_files()
                .into_iter()
                .map(|file| {
                    let name = file.video_url.as_deref().and_then(|url| url.rsplit('/').next()).unwrap_or_default();
                    json!({
                        "user": file.user,
                        "media": file.media,
                        "start_ms": file.start_ms,
                        "end_ms": file.end_ms,
                        "name": name,
                        "download": format!("/v1/recordings/{task}/{name}"),
                    })
                })
                .collect();
            out.push(json!({
                "recording_task_id": task,
                "room": room.key(),
                "status": recording.status(),
                "file_names": recording.files(),
                "files": files,
            }));
        }
    }
    Ok(Json(json!({ "recordings": out })))
}

/// `GET /v1/recordings/{task}/{file}`: authenticated, then redirected to where the storage
/// serves the file (the URL in its 311 callback).
pub(crate) async fn download(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((task, file)): Path<(String, String)>,
) -> Result<Response, HttpError> {
    authenticate(&shared, &headers, None).await?;
    let board = shared.board_read();
    let url = board
        .rooms()
        .flat_map(|room| room.recordings())
        .filter(|recording| recording.task().as_str() == task)
        .flat_map(|recording| recording.vod_files())
        .filter_map(|vod| vod.video_url.clone())
        .find(|url| url.rsplit('/').next() == Some(file.as_str()))
        .ok_or_else(|| {
            HttpError::new(
                StatusCode::NOT_FOUND,
                "unknown_recording",
                format!("no file {file:?} in recording {task:?}"),
            )
        })?;
    Ok(Redirect::temporary(&url).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuditQuery {
    call: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

/// `GET /v1/audit?call=&before=&limit=`: newest first.
pub(crate) async fn audit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Value>, HttpError> {
    authenticate(&shared, &headers, None).await?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1_000);
    let entries = shared.store.audit_entries(query.call.as_deref(), query.before, limit).await?;
    Ok(Json(json!({ "entries": entries })))
}

/// `GET /healthz`: no authentication; says whether the log answers.
pub(crate) async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    match shared.log.last_seq().await {
        Ok(seq) => Json(json!({ "status": "ok", "last_seq": seq.0 })).into_response(),
        Err(error) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "error", "message": error.to_string() })))
                .into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text; no authentication (counts only, no content).
pub(crate) async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let text = shared.metrics.render(shared.last_seq.load(Ordering::Acquire));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}
