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
//!
//! Live events arrive with their frame already rendered by the writer (one serialisation
//! per event, whatever the number of clients), and are sent as those bytes; replayed
//! events are rendered here, by the same [`event_frame`].

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use domain::event::Event;
use domain::ids::Seq;
use serde::{Deserialize, Serialize};
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

/// `{"type":"event","event":{…}}`, serialised straight from the event.
#[derive(Serialize)]
struct EventFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    event: &'a Event,
}

/// The stream's frame for `event`.
///
/// # Errors
/// When the event cannot be encoded as JSON (it was encoded to be stored, so in practice
/// never).
pub(crate) fn event_frame(event: &Event) -> Result<Utf8Bytes, serde_json::Error> {
    serde_json::to_string(&EventFrame { kind: "event", event }).map(Utf8Bytes::from)
}

async fn send_frame(socket: &mut WebSocket, frame: Utf8Bytes) -> Result<(), Closed> {
    socket.send(Message::Text(frame)).await.map_err(|_| "the client went away")
}

async fn send(socket: &mut WebSocket, value: serde_json::Value) -> Result<(), Closed> {
    send_frame(socket, value.to_string().into()).await
}

async fn send_event(socket: &mut WebSocket, event: &Event) -> Result<(), Closed> {
    let frame = event_frame(event).map_err(|error| {
        tracing::error!(%error, "cannot render an event for the stream");
        "an event could not be encoded"
    })?;
    send_frame(socket, frame).await
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

/// Resolves once the hub is stopping (the guard `wait_for` gives is not held across awaits).
async fn until_stopping(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    // An error means the hub is gone altogether: stopping too.
    let _ = stopping.wait_for(|stop| *stop).await.map(|_| ());
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
    let mut stopping = shared.stopping.clone();
    loop {
        tokio::select! {
            () = until_stopping(&mut stopping) => {
                // Going away (1001): the client reconnects and resumes from its last seq.
                let close = axum::extract::ws::CloseFrame { code: 1001, reason: "the hub is stopping".into() };
                let _ = socket.send(Message::Close(Some(close))).await;
                return Err("the hub is stopping");
            }
            received = live.recv() => match received {
                Ok(published) => {
                    let seq = published.seq;
                    if seq <= sent {
                        continue;
                    }
                    if seq > sent + 1 || published.frame.is_none() {
                        // Appended while we were replaying: the log has the ones in between
                        // (and this one, when it came without its frame).
                        replay(shared, &mut socket, &mut sent, client).await?;
                        if seq <= sent {
                            continue;
                        }
                    }
                    match &published.frame {
                        Some(frame) => send_frame(&mut socket, frame.clone()).await?,
                        None => send_event(&mut socket, &published.event).await?,
                    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_event_frame_is_the_event_under_type_event() {
        let body = br#"{"EventGroupId":9,"EventType":901,"CallbackTs":1,"EventInfo":{"EventMsTs":5,"TaskId":"t1","RoomId":"8801","RoomIdType":0,"Payload":{"Status":0}}}"#;
        let event = Event::from_callback(body, None).unwrap().with_seq(Seq(3));
        let frame = event_frame(&event).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(parsed, json!({ "type": "event", "event": event }));
        assert_eq!(parsed["event"]["seq"], 3);
    }
}
