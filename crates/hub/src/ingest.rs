//! `POST /callbacks/trtc`: TRTC's server callbacks, verified before anything is parsed.
//!
//! In order: the body is read up to the size limit (413 beyond); the `Sign` header is
//! checked over the raw bytes in constant time (401) and the `SdkAppId` header against
//! ours (403); the envelope is parsed (400) and its `CallbackTs` must be within the replay
//! window of the hub's clock (400, `stale_callback_ts`); the callback becomes a domain
//! event (400 when a documented event is malformed), is deduplicated on its source key,
//! appended and published, and only then answered 200 — all far within TRTC's 5 s.
//!
//! Interpretations:
//! - A callback without `CallbackTs`/`CallbackMsTs` is accepted: the contract does not
//!   promise it on every group, and the signature still holds.
//! - A correctly signed callback of an event type we do not model (907, web recording…)
//!   is answered 200 and counted as `ignored`: refusing it would only make TRTC retry it
//!   for a minute.
//!
//! Every refusal is counted by reason and logged with the reason, the peer and the body's
//! length — never the body or its signature.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::event::{Event, NormaliseError};
use serde_json::json;
use trtc::callback::{self, CallbackError, CallbackHeaders};

use crate::log::{Appended, NewEvent};
use crate::{now_ms, Shared};

/// Why a callback was refused: an HTTP status and a stable reason label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: StatusCode,
    pub reason: &'static str,
    pub message: String,
}

impl Rejection {
    fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Rejection {
        Rejection { status, reason, message: message.into() }
    }
}

impl From<CallbackError> for Rejection {
    fn from(error: CallbackError) -> Rejection {
        let status = match error {
            CallbackError::EmptyKey => StatusCode::SERVICE_UNAVAILABLE,
            CallbackError::MissingSign | CallbackError::MalformedSign | CallbackError::BadSign => {
                StatusCode::UNAUTHORIZED
            }
            CallbackError::MissingSdkAppId | CallbackError::MalformedSdkAppId | CallbackError::WrongSdkAppId { .. } => {
                StatusCode::FORBIDDEN
            }
            CallbackError::Malformed(_) => StatusCode::BAD_REQUEST,
        };
        Rejection::new(status, error.reason(), error.to_string())
    }
}

/// What became of a verified callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    Stored {
        seq: u64,
    },
    Duplicate,
    /// Signed and well-formed, but of an event type the hub does not model.
    Ignored,
}

/// Verifies and normalises one callback (everything but storing it).
///
/// # Errors
/// A [`Rejection`] naming the first check that failed.
pub fn verify(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
    now_ms: u64,
) -> Result<Option<(Event, Option<String>)>, Rejection> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let config = &shared.config;
    let verified = callback::verify_and_parse(
        config.callback_key.expose(),
        Some(config.sdk_app_id),
        CallbackHeaders { sign: header("Sign"), sdk_app_id: header("SdkAppId") },
        body,
    )?;
    if let Some(sent_ms) = callback::callback_ts_ms(&verified.body) {
        let window = u64::try_from(config.replay_window.as_millis()).unwrap_or(u64::MAX);
        if sent_ms.abs_diff(now_ms) > window {
            return Err(Rejection::new(
                StatusCode::BAD_REQUEST,
                "stale_callback_ts",
                format!(
                    "CallbackTs is {} s away from the hub's clock; the replay window is {} s",
                    sent_ms.abs_diff(now_ms) / 1000,
                    window / 1000
                ),
            ));
        }
    }
    match Event::from_callback(body, verified.sdk_app_id) {
        Ok(event) => {
            let key = event.dedup_key();
            Ok(Some((event, key)))
        }
        Err(NormaliseError::UnknownEventType { .. }) => Ok(None),
        Err(error) => Err(Rejection::new(StatusCode::BAD_REQUEST, "malformed_event", error.to_string())),
    }
}

/// Verifies, stores and publishes one callback.
pub async fn accept(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Accepted, Rejection> {
    let now = now_ms();
    let Some((event, dedup_key)) = verify(shared, headers, body, now)? else {
        shared.metrics.callbacks_ignored.fetch_add(1, Ordering::Relaxed);
        return Ok(Accepted::Ignored);
    };
    let appended = shared
        .appender
        .append(vec![NewEvent { event, dedup_key, received_ms: now }])
        .await
        .map_err(|error| Rejection::new(StatusCode::SERVICE_UNAVAILABLE, "log_unavailable", error.to_string()))?;
    match appended.into_iter().next() {
        Some(Appended::Stored(event)) => {
            shared.metrics.callbacks_accepted.fetch_add(1, Ordering::Relaxed);
            Ok(Accepted::Stored { seq: event.seq.map_or(0, |seq| seq.0) })
        }
        _ => {
            shared.metrics.callbacks_duplicate.fetch_add(1, Ordering::Relaxed);
            Ok(Accepted::Duplicate)
        }
    }
}

/// The axum handler.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = shared.config.max_body_bytes;
    let result = match to_bytes(body, limit).await {
        Ok(bytes) => accept(&shared, &headers, &bytes).await,
        Err(_) => Err(Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {limit} bytes"),
        )),
    };
    match result {
        Ok(Accepted::Stored { seq }) => (StatusCode::OK, Json(json!({ "code": 0, "seq": seq }))).into_response(),
        Ok(Accepted::Duplicate) => (StatusCode::OK, Json(json!({ "code": 0, "duplicate": true }))).into_response(),
        Ok(Accepted::Ignored) => (StatusCode::OK, Json(json!({ "code": 0, "ignored": true }))).into_response(),
        Err(rejection) => {
            shared.metrics.reject(rejection.reason);
            tracing::warn!(reason = rejection.reason, %peer, "callback refused: {}", rejection.message);
            let body =
                json!({ "code": rejection.status.as_u16(), "reason": rejection.reason, "message": rejection.message });
            (rejection.status, Json(body)).into_response()
        }
    }
}
