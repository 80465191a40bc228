//! `GET /v1/stream?after=SEQ` (WebSocket, authenticated): the log after `SEQ`, then live
//! events, in sequence order with no gap and no repeat.
//!
//! Messages (JSON text frames, `type` says which):
//! - `{"type":"hello","user":…,"role":…,"after":N,"last_seq":M}` first;
//! - `{"type":"truncated","first_seq":F}` when retention deleted events after `N` —
//!   the stream goes on from `F`;
//! - `{"type":"event","event":{…,"seq":S}}` for each event;
//! - `{"type":"caught_up","last_seq":S}` whenever the replay from the log has reached the
//!   live end;
//! - `{"type":"lagged","behind":K,"resume_after":S}` when this client fell more than the
//!   live buffer behind: the hub replays the missed events from the log itself (so the
//!   client need do nothing, and nothing is dropped silently);
//! - `{"type":"heartbeat","last_seq":S,"at_ms":T}` every heartbeat interval.
//!
//! The client subscribes to the live broadcast before reading the log, so an event
//! appended during the replay is either read from the log or received live; any gap seen
//! in live events (which the writer makes only after the event is durable) is filled from
//! the log.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use domain::event::Event;
use domain::ids::Seq;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::User;
use crate::{authenticate, now_ms, HttpError, Shared};

/// Events read from the log per page while replaying.
const PAGE: usize = 1_000;

#[derive(Debug, Deserialize)]
pub(crate) struct StreamQuery {
    #[serde(default)]
    after: u64,
    token: Option<String>,
}

pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, HttpError> {
    let user = authenticate(&shared, &headers, query.token.as_deref()).await?;
    Ok(upgrade.on_upgrade(move |socket| async move {
        let client = shared.metrics.client_joined(&user.name);
        if let Err(reason) = serve(&shared, socket, &user, query.after, client).await {
            tracing::debug!(user = %user.name, reason, "stream closed");
        }
        shared.metrics.client_gone(client);
    }))
}

/// Why a stream ended (for the debug log).
type Closed = &'static str;

async fn send(socket: &mut WebSocket, value: serde_json::Value) -> Result<(), Closed> {
    socket.send(Message::Text(value.to_string().into())).await.map_err(|_| "the client went away")
}

async fn send_event(socket: &mut WebSocket, event: &Event) -> Result<(), Closed> {
    send(socket, json!({ "type": "event", "event": event })).await
}

/// Sends everything in the log after `*sent`, page by page, until the log has no more.
async fn replay(shared: &Shared, socket: &mut WebSocket, sent: &mut u64, client: u64) -> Result<(), Closed> {
    loop {
        let page = shared.log.read_after(Seq(*sent), PAGE).await.map_err(|error| {
            tracing::error!(%error, "stream replay failed");
            "the log could not be read"
        })?;
        let full = page.len() == PAGE;
        for event in &page {
            send_event(socket, event).await?;
            *sent = event.seq.map_or(*sent, |seq| seq.0);
        }
        let last = shared.last_seq.load(Ordering::Acquire);
        shared.metrics.client_lag(client, last.saturating_sub(*sent));
        if !full {
            return Ok(());
        }
    }
}

async fn serve(shared: &Shared, mut socket: WebSocket, user: &User, after: u64, client: u64) -> Result<(), Closed> {
    let mut live = shared.live.subscribe();
    let last = shared.last_seq.load(Ordering::Acquire);
    send(
        &mut socket,
        json!({ "type": "hello", "user": user.name, "role": user.role, "after": after, "last_seq": last }),
    )
    .await?;
    let mut sent = after;
    if let Ok(Some(first)) = shared.log.first_seq().await {
        if first.0 > after + 1 {
            send(&mut socket, json!({ "type": "truncated", "first_seq": first.0 })).await?;
            sent = first.0 - 1;
        }
    }
    replay(shared, &mut socket, &mut sent, client).await?;
    send(&mut socket, json!({ "type": "caught_up", "last_seq": sent })).await?;

    let mut heartbeat = tokio::time::interval(shared.config.heartbeat);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(event) => {
                    let seq = event.seq.map_or(0, |seq| seq.0);
                    if seq <= sent {
                        continue;
                    }
                    if seq > sent + 1 {
                        // Appended while we were replaying: the log has the ones in between.
                        replay(shared, &mut socket, &mut sent, client).await?;
                        if seq <= sent {
                            continue;
                        }
                    }
                    send_event(&mut socket, &event).await?;
                    sent = seq;
                    let last = shared.last_seq.load(Ordering::Acquire);
                    shared.metrics.client_lag(client, last.saturating_sub(sent));
                }
                Err(RecvError::Lagged(behind)) => {
                    send(&mut socket, json!({ "type": "lagged", "behind": behind, "resume_after": sent })).await?;
                    replay(shared, &mut socket, &mut sent, client).await?;
                    send(&mut socket, json!({ "type": "caught_up", "last_seq": sent })).await?;
                }
                Err(RecvError::Closed) => return Err("the hub is shutting down"),
            },
            _ = heartbeat.tick() => {
                let last = shared.last_seq.load(Ordering::Acquire);
                send(&mut socket, json!({ "type": "heartbeat", "last_seq": last, "at_ms": now_ms() })).await?;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                // Pings are answered by axum; anything else from the client is ignored.
                Some(Ok(_)) => {}
            },
        }
    }
}
