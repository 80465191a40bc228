//! The emulator's own OpenAI-compatible LLM: `POST /v1/chat/completions` on the emulator's
//! base URL, answering with the scripted robot lines, so generated calls make real LLM
//! requests (and LLM-stage errors come from real HTTP) without any model.
//!
//! - It needs `Authorization: Bearer <anything>` (401 with an OpenAI error object
//!   otherwise) and a body with `messages`; `stream: true` answers `text/event-stream`
//!   (`chat.completion.chunk`s of a few characters, then `data: [DONE]`), anything else one
//!   `chat.completion` JSON.
//! - The answer is the scripted robot line for the last user message
//!   ([`personas::scripted_reply`]: any persona, either language, branch answers and the
//!   "after a failure" forms included), else a generic reply in that message's language.
//!   A request with `X-Invoke-LLM: 1` acknowledges and follows the instruction, as the
//!   scripted robot does.
//! - Timing comes from `timing::llm` (network latency before the headers, first token,
//!   per-character pacing), divided by the speed factor. The first token is capped at
//!   2.8 s emulated so that, below TRTC's default 3 s `Timeout`, only injected stalls time
//!   out.
//! - At the LLM error rate a request fails: 429 (the robot reports 30201), 500 (30202), or
//!   a stall of 60 s emulated before any byte (30200), one third each.
//! - An order-status answer streams a `meta.info` line (`{"intent":"order_status",…}`)
//!   after its first chunk, so 10002 is exercised.
//! - Draws are deterministic per (`X-Task-Id`, `X-Request-Id`) when either is present, and
//!   random otherwise.
//!
//! What deliberately does not live here: calling an LLM (`conversation::llm`).

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::{
    audio,
    conversation::{personas, timing, Language},
};

/// The path, as OpenAI spells it.
pub const PATH: &str = "/v1/chat/completions";
/// The longest first token the endpoint plans (emulated ms), under TRTC's default timeout.
const MAX_FIRST_TOKEN_MS: u64 = 2_800;
/// How long an injected stall lasts before anything is sent (emulated ms).
const STALL_MS: u64 = 60_000;
/// The model named in answers when the request names none.
const DEFAULT_MODEL: &str = "trtc-emulator-script";

/// How the endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EndpointConfig {
    /// The emulator's speed factor: delays are divided by it.
    pub speed: f64,
    /// Chance (0–1) that a request fails.
    pub error_rate: f64,
    /// Mixed into every draw, so two runs with one seed answer alike.
    pub seed: u64,
}

/// `POST /v1/chat/completions`, to be merged into the emulator's server.
pub fn router(config: EndpointConfig) -> Router {
    Router::new().route(PATH, post(complete)).with_state(config)
}

/// An OpenAI-shaped error answer.
fn error(status: StatusCode, kind: &str, code: &str, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// What a request asks, read once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Asked {
    pub model: String,
    pub stream: bool,
    pub last_user: String,
}

/// The model, `stream` and the last user message's text (string content, or the text
/// parts of an array content).
pub(crate) fn read_request(body: &[u8]) -> Result<Asked, String> {
    let request: Value = serde_json::from_slice(body).map_err(|err| format!("the body is not JSON: {err}"))?;
    let messages = request.get("messages").and_then(Value::as_array).ok_or("`messages` must be an array")?;
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .ok_or("`messages` has no user message")?;
    let text = match last_user.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => {
            parts.iter().filter_map(|part| part.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("")
        }
        _ => return Err("the last user message has no text content".into()),
    };
    Ok(Asked {
        model: request.get("model").and_then(Value::as_str).unwrap_or(DEFAULT_MODEL).to_owned(),
        stream: request.get("stream").and_then(Value::as_bool).unwrap_or(false),
        last_user: text,
    })
}

/// The scripted answer to `asked` (an acknowledgement for `InvokeLLM`).
pub(crate) fn answer(last_user: &str, invoke: bool) -> (Language, String) {
    let language = if audio::is_chinese(last_user) { Language::Zh } else { Language::En };
    if invoke {
        return (language, personas::acknowledge(language, last_user));
    }
    match personas::scripted_reply(last_user) {
        Some((language, robot)) => (language, robot.to_owned()),
        None => (language, personas::generic_reply(language).to_owned()),
    }
}

/// How a request is failed on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    RateLimited,
    ServerError,
    Stall,
}

/// The FNV-1a hash of the ids, so a retried request is answered alike.
fn request_seed(seed: u64, headers: &HeaderMap) -> Option<u64> {
    let task = headers.get("x-task-id").and_then(|v| v.to_str().ok());
    let request = headers.get("x-request-id").and_then(|v| v.to_str().ok());
    if task.is_none() && request.is_none() {
        return None;
    }
    let key = format!("{}\u{0}{}", task.unwrap_or_default(), request.unwrap_or_default());
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    Some(hash ^ seed)
}

fn wall(emulated_ms: u64, speed: f64) -> Duration {
    Duration::try_from_secs_f64(emulated_ms as f64 / 1000.0 / speed).unwrap_or(Duration::from_secs(3600))
}

fn unix_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Pieces of a few characters (2–4 Chinese characters, or a word or two of English with
/// their spaces), in order; together exactly `text`.
pub(crate) fn pieces(rng: &mut StdRng, language: Language, text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let take = match language {
            Language::Zh => rng.random_range(2..=4),
            Language::En => {
                // Up to the end of the next one or two words.
                let words = rng.random_range(1..=2);
                let mut end = at;
                for _ in 0..words {
                    while end < chars.len() && chars[end] == ' ' {
                        end += 1;
                    }
                    while end < chars.len() && chars[end] != ' ' {
                        end += 1;
                    }
                }
                (end - at).max(1)
            }
        };
        let end = (at + take).min(chars.len());
        out.push(chars[at..end].iter().collect());
        at = end;
    }
    out
}

/// Whether an answer is about an order's status (it then carries a `meta.info` line).
fn is_order_status(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("订单") || lower.contains("order") || lower.contains("package") || lower.contains("包裹")
}

/// A body fed through a channel: each item is sent as soon as it is queued.
struct Fed(mpsc::Receiver<Bytes>);

impl futures_core::Stream for Fed {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(Ok))
    }
}

async fn complete(State(config): State<EndpointConfig>, headers: HeaderMap, body: Bytes) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| !token.trim().is_empty());
    if !bearer {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "invalid_api_key",
            "You didn't provide an API key. Send it as `Authorization: Bearer <key>`.",
        );
    }
    let asked = match read_request(&body) {
        Ok(asked) => asked,
        Err(why) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", "invalid_request", &why),
    };
    let speed = if config.speed.is_finite() && config.speed > 0.0 { config.speed } else { 1.0 };
    let mut rng = match request_seed(config.seed, &headers) {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_rng(&mut rand::rng()),
    };
    let invoke = headers.get("x-invoke-llm").and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() == "1");
    let (language, text) = answer(&asked.last_user, invoke);
    let mut timing = timing::llm(&mut rng, language);
    timing.first_token = timing.first_token.min(MAX_FIRST_TOKEN_MS);
    let rate = config.error_rate.clamp(0.0, 1.0);
    let injected = rng.random_bool(rate).then(|| match rng.random_range(0..3) {
        0 => Injected::RateLimited,
        1 => Injected::ServerError,
        _ => Injected::Stall,
    });
    tokio::time::sleep(wall(timing.network, speed)).await;
    match injected {
        Some(Injected::RateLimited) => {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "requests",
                "rate_limit_exceeded",
                "Rate limit reached for requests (injected by the TRTC emulator)",
            )
        }
        Some(Injected::ServerError) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal_error",
                "The server had an error while processing your request (injected by the TRTC emulator)",
            )
        }
        Some(Injected::Stall) => {
            tokio::time::sleep(wall(STALL_MS, speed)).await;
            return error(
                StatusCode::GATEWAY_TIMEOUT,
                "server_error",
                "timeout",
                "stalled (injected by the TRTC emulator)",
            );
        }
        None => {}
    }
    let id = format!("chatcmpl-emu{:016x}", rng.random::<u64>());
    let created = unix_secs();
    let first_wait = timing.first_token.saturating_sub(timing.network);
    if !asked.stream {
        let streaming = text.chars().count() as u64 * timing.per_char;
        tokio::time::sleep(wall(first_wait + streaming, speed)).await;
        let completion = json!({
            "id": id, "object": "chat.completion", "created": created, "model": asked.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": asked.last_user.chars().count(), "completion_tokens": text.chars().count(),
                      "total_tokens": asked.last_user.chars().count() + text.chars().count()},
        });
        return (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], completion.to_string()).into_response();
    }
    let pieces = pieces(&mut rng, language, &text);
    let meta = is_order_status(&text).then(|| {
        json!({"id": id, "type": "meta.info", "created": created,
               "metainfo": {"intent": "order_status", "source": "trtc-emulator"}})
    });
    let (sender, receiver) = mpsc::channel::<Bytes>(8);
    let model = asked.model;
    let per_char = timing.per_char;
    tokio::spawn(async move {
        let chunk = |delta: Value, finish: Value| {
            let chunk = json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
            Bytes::from(format!("data: {chunk}\n\n"))
        };
        tokio::time::sleep(wall(first_wait, speed)).await;
        // A closed channel means the caller hung up: nothing more to send.
        if sender.send(chunk(json!({"role": "assistant", "content": ""}), Value::Null)).await.is_err() {
            return;
        }
        for (index, piece) in pieces.iter().enumerate() {
            if index > 0 {
                tokio::time::sleep(wall(piece.chars().count() as u64 * per_char, speed)).await;
            }
            if sender.send(chunk(json!({"content": piece}), Value::Null)).await.is_err() {
                return;
            }
            if index == 0 {
                if let Some(meta) = &meta {
                    if sender.send(Bytes::from(format!("data: {meta}\n\n"))).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = sender.send(chunk(json!({}), json!("stop"))).await;
        let _ = sender.send(Bytes::from_static(b"data: [DONE]\n\n")).await;
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(Fed(receiver)))
        .unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "internal_error", "bad response"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_last_user_message_is_read_from_string_or_part_content() {
        let asked = read_request(
            br#"{"model":"m","stream":true,"messages":[{"role":"system","content":"s"},{"role":"user","content":"one"},
                {"role":"assistant","content":"a"},{"role":"user","content":[{"type":"text","text":"tw"},{"type":"text","text":"o"}]}]}"#,
        )
        .unwrap();
        assert_eq!(asked, Asked { model: "m".into(), stream: true, last_user: "two".into() });
        assert!(read_request(br#"{"messages":[{"role":"system","content":"s"}]}"#).is_err());
        assert!(read_request(b"nope").is_err());
    }

    #[test]
    fn a_scripted_line_gets_its_robot_line_a_stranger_a_generic_one_and_an_invoke_an_acknowledgement() {
        let (language, text) = answer("Why is my bill 80 dollars higher this month?", false);
        assert_eq!(
            (language, text.as_str()),
            (Language::En, "Let me pull up your billing details. One moment, please.")
        );
        assert_eq!(answer("今天天气怎么样？", false), (Language::Zh, personas::generic_reply(Language::Zh).to_owned()));
        assert_eq!(answer("请安抚客户", true).1, "好的，明白了。请安抚客户。");
    }

    #[test]
    fn pieces_are_a_few_characters_and_add_up_to_the_text() {
        let mut rng = StdRng::seed_from_u64(3);
        for (language, text) in [
            (Language::Zh, "您好，很抱歉让您久等了。"),
            (Language::En, "Thank you. Your package is at the local station."),
        ] {
            let pieces = pieces(&mut rng, language, text);
            assert_eq!(pieces.concat(), text);
            assert!(pieces.len() > 3, "{pieces:?}");
            assert!(pieces.iter().all(|p| p.chars().count() <= 20), "{pieces:?}");
        }
    }

    #[test]
    fn the_same_task_and_request_ids_draw_alike() {
        let mut headers = HeaderMap::new();
        headers.insert("x-task-id", "t1".parse().unwrap());
        headers.insert("x-request-id", "r1".parse().unwrap());
        let first = request_seed(7, &headers);
        assert_eq!(first, request_seed(7, &headers));
        headers.insert("x-request-id", "r2".parse().unwrap());
        assert_ne!(first, request_seed(7, &headers));
        assert_eq!(request_seed(7, &HeaderMap::new()), None);
    }
}
