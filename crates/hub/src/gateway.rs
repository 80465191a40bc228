//! The LLM gateway: an OpenAI-compatible chat-completions endpoint
//! (`POST /v1/llm/chat/completions`) that a call's `LLMConfig.APIUrl` can point at.
//!
//! Per call (by TRTC's `X-Task-Id`) it keeps: whispers waiting for the AI's next request,
//! who has taken the call over, the request of the robot waiting for a human answer, and
//! the human segment (what the customer said and what the supervisor answered while the
//! call was taken over), which is put into the AI's context after hand-back.
//!
//! How a request is answered:
//! - **Authentication.** `Authorization: Bearer` must equal the gateway key
//!   (`HUB_LLM_GATEWAY_KEY`, the `LLMConfig.APIKey` of calls pointed here), compared in
//!   constant time over SHA-256 digests (so neither contents nor length leak). Without a
//!   gateway key every request is refused with 503. Errors have OpenAI's shape,
//!   `{"error":{"message","type","code"}}`, so TRTC and OpenAI clients read them.
//! - **Which call.** `X-Task-Id`. A request without it is forwarded plainly: no whisper,
//!   take-over or event is possible for it.
//! - **Forwarding.** To `HUB_LLM_UPSTREAM_URL` with `HUB_LLM_UPSTREAM_KEY` as bearer (the
//!   real LLM key never leaves the hub; calls only know the gateway key), copying TRTC's
//!   `X-*` headers. The body is kept byte for byte unless context must be added, and then
//!   only `messages` changes (the rest of the JSON, unknown fields included, stays as it
//!   is). The upstream's answer is relayed chunk by chunk as it arrives, never buffered
//!   (SSE for `stream: true`, JSON otherwise); on the way the content deltas are read to
//!   collect the reply and the time to first token (`meta.info` lines pass through to TRTC
//!   and are not part of the reply). An upstream error status (429, 5xx, …) is passed
//!   through with its body, so TRTC reports 30201/30202 as it would against the LLM
//!   itself; an unreachable upstream is 502, a silent one 504 (TRTC: 30202/30200). No
//!   upstream configured: 503 for calls that are not taken over.
//! - **Whispers.** Pending whispers go into the next forwarded request as one system
//!   message just before the last user message ("Supervisor guidance, not to be read
//!   out: …"); when the upstream accepts the request each whisper's command is recorded
//!   `done`. If the upstream fails they stay pending for the next request.
//! - **System prompt.** A supervisor's `update` with `system_prompt` replaces the content
//!   of the first system message of every forwarded request of that call from then on (or
//!   adds one first, where a request has none). Only calls whose requests have come
//!   through here can be given one (`Gateway::has_seen`), else the change would silently do
//!   nothing; like whispers, it lives in the hub's memory and ends with the call.
//! - **Take-over.** While a supervisor holds the call, the robot's requests are not
//!   forwarded: each waits up to [`HUMAN_REPLY_WAIT`] (below TRTC's default 3 s
//!   `LLMConfig.Timeout`) for the supervisor's `reply`, which is answered at once as a
//!   complete completion (a chunked stream or JSON, as asked). Nothing typed in time: an
//!   empty completion, so the robot says nothing this turn instead of reporting a timeout
//!   (control then pushes the late line with `ServerPushText` `AddHistory`). A newer
//!   request of the robot supersedes an older one still waiting (that one answers empty).
//!   Each exchange (the customer's last message, the supervisor's answer) is kept in the
//!   human segment; the customer's message as soon as its request arrives, so it is kept
//!   even when TRTC gives up waiting and hangs up.
//! - **Hand-back.** A request still waiting is forwarded to the AI. The next forwarded
//!   request gets the human segment's messages that TRTC's own history does not already
//!   hold (it keeps turns only when `History` > 0) and a short system note that a human
//!   agent answered those turns and the assistant continues without greeting again, both
//!   just before the last user message; then the segment is cleared.
//! - **Events.** Every answered request of a known call becomes a `GatewayExchange`
//!   (prompt, reply, author AI / human / nobody, whisper, `X-Invoke-LLM`, first token ms),
//!   recorded off the answer's path so it adds no latency. Requests are counted in
//!   `switchboard_hub_gateway_requests_total`; those waiting for a supervisor's reply right
//!   now in `switchboard_hub_gateway_waiting_for_human`.
//!
//! Robustness: bodies over [`MAX_REQUEST_BYTES`] are 413, malformed JSON or a body without
//! a `messages` array 400; nothing here panics; keys and message contents are never
//! logged.
//!
//! What deliberately does not live here: the commands themselves (roles, locks,
//! idempotency, audit — `control`), and any retry of the upstream (TRTC retries with the
//! same `X-Request-Id`, and a second retry layer would only blow its timeout).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::event::{CommandRecord, CommandStage, EventBody, GatewayExchange, ReplyAuthor};
use domain::ids::TaskId;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use crate::config::LlmGatewayConfig;
use crate::{now_ms, Shared};

/// How long a request of the robot waits for the supervisor's words while the call is
/// taken over. Below TRTC's default `LLMConfig.Timeout` (3 s) with room for the network,
/// so the robot gets an empty answer rather than a 30200 timeout error.
pub const HUMAN_REPLY_WAIT: Duration = Duration::from_millis(2_500);
/// The largest request body accepted (a long history with 50 rounds fits many times).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Connecting to the upstream may take this long before the answer is 504.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The upstream may stay silent (no byte) this long; TRTC's own timeout is at most 50 s.
const UPSTREAM_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of an upstream error body relayed, and of a JSON answer read for its event.
const MAX_COLLECTED_BYTES: usize = 1024 * 1024;
/// How a whisper is put to the AI.
const WHISPER_PREFIX: &str = "Supervisor guidance, not to be read out: ";
/// What the AI is told after a hand-back.
const HAND_BACK_NOTE: &str = "A human agent answered the customer in the turns above. Continue the conversation from \
                              where the agent left off; do not greet the customer or introduce yourself again.";

/// One message of a chat-completions request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    fn new(role: &str, content: &str) -> ChatMessage {
        ChatMessage { role: role.to_owned(), content: content.to_owned() }
    }

    fn to_value(&self) -> Value {
        json!({ "role": self.role, "content": self.content })
    }
}

/// A request of the robot waiting for the supervisor's words.
#[derive(Debug)]
struct Waiting {
    /// Tells this wait from a newer one that superseded it.
    id: u64,
    reply: oneshot::Sender<String>,
}

/// What the gateway keeps per call.
#[derive(Debug, Default)]
struct CallState {
    /// Guidance for the AI's next request, with the command that asked for it.
    whispers: Vec<(CommandRecord, String)>,
    /// The supervisor answering for the robot.
    taken_over_by: Option<String>,
    /// A request of the robot waiting for the supervisor's words.
    waiting: Option<Waiting>,
    /// The exchanges while taken over, for the AI's context after hand-back.
    human_segment: Vec<ChatMessage>,
    /// The system prompt a supervisor set, for every request from now on.
    system_prompt: Option<String>,
}

impl CallState {
    fn is_idle(&self) -> bool {
        self.whispers.is_empty()
            && self.taken_over_by.is_none()
            && self.waiting.is_none()
            && self.human_segment.is_empty()
            && self.system_prompt.is_none()
    }
}

/// What a forwarded request takes from its call's state: put back if the upstream fails.
#[derive(Debug, Default)]
struct Context {
    whispers: Vec<(CommandRecord, String)>,
    segment: Vec<ChatMessage>,
    /// Read, not taken: it applies to every request.
    system_prompt: Option<String>,
}

impl Context {
    fn is_empty(&self) -> bool {
        self.whispers.is_empty() && self.segment.is_empty() && self.system_prompt.is_none()
    }

    fn whisper_texts(&self) -> Vec<String> {
        self.whispers.iter().map(|(_, text)| text.clone()).collect()
    }
}

/// The gateway's state.
#[derive(Debug)]
pub(crate) struct Gateway {
    config: LlmGatewayConfig,
    /// One pooled client for the upstream (connections are reused between requests);
    /// `None` only if the TLS stack could not start, and then forwarding answers 503.
    http: Option<reqwest::Client>,
    calls: Mutex<HashMap<TaskId, CallState>>,
    /// Calls whose requests came through here (until they end): the calls a system prompt
    /// can be set for.
    seen: Mutex<HashSet<TaskId>>,
    next_wait: AtomicU64,
}

impl Gateway {
    pub(crate) fn new(config: &LlmGatewayConfig) -> Gateway {
        let http = reqwest::Client::builder()
            .connect_timeout(UPSTREAM_CONNECT_TIMEOUT)
            .read_timeout(UPSTREAM_READ_TIMEOUT)
            .build()
            .map_err(|error| tracing::error!(%error, "the LLM gateway cannot build its HTTP client"))
            .ok();
        Gateway {
            config: config.clone(),
            http,
            calls: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashSet::new()),
            next_wait: AtomicU64::new(0),
        }
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<TaskId, CallState>> {
        crate::unpoisoned(&self.calls)
    }

    /// Who has taken `task` over.
    pub(crate) fn taken_over_by(&self, task: &TaskId) -> Option<String> {
        self.calls().get(task).and_then(|call| call.taken_over_by.clone())
    }

    /// Whether a request of `task` has come through the gateway (since the hub started).
    pub(crate) fn has_seen(&self, task: &TaskId) -> bool {
        crate::unpoisoned(&self.seen).contains(task)
    }

    /// Every request of `task` from now on is sent with `prompt` as its system prompt.
    pub(crate) fn set_system_prompt(&self, task: &TaskId, prompt: String) {
        self.calls().entry(task.clone()).or_default().system_prompt = Some(prompt);
    }

    /// Adds private guidance to the AI's next request for `task`.
    pub(crate) fn whisper(&self, task: &TaskId, record: CommandRecord, text: String) {
        self.calls().entry(task.clone()).or_default().whispers.push((record, text));
    }

    /// From now on the robot's requests are answered with what `by` types.
    pub(crate) fn take_over(&self, task: &TaskId, by: &str) {
        self.calls().entry(task.clone()).or_default().taken_over_by = Some(by.to_owned());
    }

    /// Gives a waiting request of the robot the supervisor's words; false when none waits.
    pub(crate) fn human_reply(&self, task: &TaskId, text: &str) -> bool {
        let mut calls = self.calls();
        let Some(call) = calls.get_mut(task) else { return false };
        // Sent under the lock: a request whose wait just ended finds the text when it
        // takes the lock to stop waiting (see `answer_as_human`).
        match call.waiting.take() {
            Some(waiting) => waiting.reply.send(text.to_owned()).is_ok(),
            None => false,
        }
    }

    /// Keeps a line the supervisor had the robot say unprompted in the human segment.
    pub(crate) fn remember_human_line(&self, task: &TaskId, text: &str) {
        let mut calls = self.calls();
        let call = calls.entry(task.clone()).or_default();
        call.human_segment.push(ChatMessage::new("assistant", text));
    }

    /// Takes back the customer's line [`remember_prompt`] kept for a request that is now
    /// forwarded after all (the call was handed back while it waited).
    fn unremember_prompt(&self, task: &TaskId, prompt: &str) {
        let mut calls = self.calls();
        let Some(call) = calls.get_mut(task) else { return };
        if call.human_segment.last().is_some_and(|last| last.role == "user" && last.content == prompt) {
            call.human_segment.pop();
        }
    }

    /// Forwarding to the AI resumes (a request still waiting is forwarded).
    pub(crate) fn hand_back(&self, task: &TaskId) {
        if let Some(call) = self.calls().get_mut(task) {
            call.taken_over_by = None;
            // Dropping the sender wakes the waiting request, which then finds the call
            // handed back and forwards.
            call.waiting = None;
        }
    }

    /// The call ended: nothing of it is kept.
    pub(crate) fn forget(&self, task: &TaskId) {
        self.calls().remove(task);
        crate::unpoisoned(&self.seen).remove(task);
    }

    /// Takes the whispers and the human segment for the request about to be forwarded.
    fn take_context(&self, task: &TaskId) -> Context {
        let mut calls = self.calls();
        let Some(call) = calls.get_mut(task) else { return Context::default() };
        let context = Context {
            whispers: std::mem::take(&mut call.whispers),
            segment: std::mem::take(&mut call.human_segment),
            system_prompt: call.system_prompt.clone(),
        };
        if call.is_idle() {
            calls.remove(task);
        }
        context
    }

    /// Puts back what a failed request took, ahead of anything added since.
    fn restore_context(&self, task: &TaskId, mut context: Context) {
        if context.is_empty() {
            return;
        }
        let mut calls = self.calls();
        let call = calls.entry(task.clone()).or_default();
        context.whispers.append(&mut call.whispers);
        call.whispers = context.whispers;
        context.segment.append(&mut call.human_segment);
        call.human_segment = context.segment;
    }
}

/// An error answer in OpenAI's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GatewayError {
    status: StatusCode,
    kind: &'static str,
    code: &'static str,
    message: String,
}

impl GatewayError {
    fn new(status: StatusCode, kind: &'static str, code: &'static str, message: impl Into<String>) -> GatewayError {
        GatewayError { status, kind, code, message: message.into() }
    }

    fn invalid(code: &'static str, message: impl Into<String>) -> GatewayError {
        GatewayError::new(StatusCode::BAD_REQUEST, "invalid_request_error", code, message)
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "message": self.message, "type": self.kind, "code": self.code } });
        (self.status, Json(body)).into_response()
    }
}

/// What the gateway needs to know about one request.
#[derive(Debug, Clone)]
struct RequestMeta {
    task: Option<TaskId>,
    request_id: String,
    invoke: bool,
    streaming: bool,
    model: String,
    /// The last user message.
    prompt: String,
    arrived: Instant,
}

/// `POST /v1/llm/chat/completions`.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let arrived = Instant::now();
    shared.metrics.gateway_requests.fetch_add(1, Ordering::Relaxed);
    match answer(shared, headers, body, arrived).await {
        Ok(response) => response,
        Err(error) => {
            tracing::debug!(status = error.status.as_u16(), code = error.code, "LLM gateway refused a request");
            error.into_response()
        }
    }
}

async fn answer(
    shared: Arc<Shared>,
    headers: HeaderMap,
    body: Body,
    arrived: Instant,
) -> Result<Response, GatewayError> {
    authorize(&shared.gateway.config, &headers)?;
    let too_large = || {
        GatewayError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "request_too_large",
            format!("the request body must be at most {MAX_REQUEST_BYTES} bytes"),
        )
    };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BYTES) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await.map_err(|_| too_large())?;
    let request: Value = serde_json::from_slice(&bytes)
        .map_err(|e| GatewayError::invalid("invalid_json", format!("the body is not JSON: {e}")))?;
    let Some(messages) = request.get("messages").and_then(Value::as_array) else {
        return Err(GatewayError::invalid("invalid_messages", "the body must be an object with a `messages` array"));
    };
    let header_text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim);
    let meta = RequestMeta {
        task: header_text("x-task-id").and_then(TaskId::parse),
        request_id: header_text("x-request-id")
            .filter(|id| !id.is_empty())
            .map_or_else(|| format!("gw-{}", uuid::Uuid::new_v4().simple()), str::to_owned),
        invoke: header_text("x-invoke-llm") == Some("1"),
        streaming: request.get("stream").and_then(Value::as_bool).unwrap_or(false),
        model: request.get("model").and_then(Value::as_str).unwrap_or("switchboard").to_owned(),
        prompt: last_user_text(messages).unwrap_or_default(),
        arrived,
    };
    if let Some(task) = &meta.task {
        crate::unpoisoned(&shared.gateway.seen).insert(task.clone());
        if let Some(response) = answer_as_human(&shared, task, &meta).await {
            return Ok(response);
        }
    }
    forward(shared, &headers, bytes, request, meta).await
}

/// Checks the bearer against the gateway key in constant time.
fn authorize(config: &LlmGatewayConfig, headers: &HeaderMap) -> Result<(), GatewayError> {
    let Some(key) = &config.gateway_key else {
        return Err(GatewayError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "gateway_not_configured",
            "the hub's LLM gateway has no key configured (HUB_LLM_GATEWAY_KEY)",
        ));
    };
    let presented = crate::auth::token_from(headers, None).ok_or_else(|| {
        GatewayError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "missing_api_key",
            "send the gateway key as Authorization: Bearer KEY",
        )
    })?;
    // Digests first: equal lengths, so the comparison reveals neither contents nor length.
    let matches = Sha256::digest(presented.as_bytes()).ct_eq(&Sha256::digest(key.expose().as_bytes()));
    if bool::from(matches) {
        Ok(())
    } else {
        Err(GatewayError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "invalid_api_key",
            "the key is not this gateway's key",
        ))
    }
}

/// While `task` is taken over: waits for the supervisor's words and answers with them (or
/// with nothing in time). `None` when the call is not taken over, or was handed back while
/// the request waited: then it is forwarded.
async fn answer_as_human(shared: &Arc<Shared>, task: &TaskId, meta: &RequestMeta) -> Option<Response> {
    let gateway = &shared.gateway;
    let (id, mut receiver) = {
        let mut calls = gateway.calls();
        let call = calls.get_mut(task).filter(|call| call.taken_over_by.is_some())?;
        let (sender, receiver) = oneshot::channel();
        let id = gateway.next_wait.fetch_add(1, Ordering::Relaxed);
        // A newer request of the robot supersedes one still waiting (it answers empty).
        call.waiting = Some(Waiting { id, reply: sender });
        // Kept before the wait: when TRTC gives up on this request (its own timeout), it is
        // dropped mid-wait, and what the customer said must still reach the AI later.
        remember_prompt(&mut call.human_segment, &meta.prompt);
        (id, receiver)
    };
    let waits = Waits::start(&shared.metrics.gateway_waiting);
    let waited = tokio::time::timeout(HUMAN_REPLY_WAIT, &mut receiver).await;
    drop(waits);
    let typed = match waited {
        Ok(Ok(text)) => Some(text),
        // The sender went: handed back (forward this request) or superseded (answer empty).
        Ok(Err(_)) => {
            if gateway.taken_over_by(task).is_none() {
                // Forwarded with its own line last, so that line leaves the segment.
                gateway.unremember_prompt(task, &meta.prompt);
                return None;
            }
            None
        }
        Err(_) => {
            let mut calls = gateway.calls();
            if let Some(call) = calls.get_mut(task) {
                if call.waiting.as_ref().is_some_and(|waiting| waiting.id == id) {
                    call.waiting = None;
                }
            }
            drop(calls);
            // `human_reply` sends under the lock just taken: a reply that raced the
            // timeout is here now, and was promised to the supervisor as delivered.
            receiver.try_recv().ok()
        }
    };
    let (author, reply) = match typed {
        Some(text) => (ReplyAuthor::Human, text),
        None => (ReplyAuthor::Nobody, String::new()),
    };
    if !reply.is_empty() {
        let mut calls = gateway.calls();
        let call = calls.entry(task.clone()).or_default();
        call.human_segment.push(ChatMessage::new("assistant", &reply));
    }
    let response = completion(meta, &reply);
    let exchange = GatewayExchange {
        request_id: meta.request_id.clone(),
        prompt: meta.prompt.clone(),
        reply,
        author,
        whisper: None,
        invoke: meta.invoke,
        first_token_ms: Some(elapsed_ms(meta.arrived)),
    };
    spawn_record(shared.clone(), task.clone(), EventBody::GatewayExchange(exchange));
    Some(response)
}

/// Counts a request in `switchboard_hub_gateway_waiting_for_human` while it waits, also
/// when TRTC hangs up and the request is dropped mid-wait.
struct Waits<'a>(&'a AtomicU64);

impl Waits<'_> {
    fn start(gauge: &AtomicU64) -> Waits<'_> {
        gauge.fetch_add(1, Ordering::Relaxed);
        Waits(gauge)
    }
}

impl Drop for Waits<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Adds what the customer said in a taken-over turn to the human segment; a retried
/// request (the same line again, unanswered) is not added twice.
fn remember_prompt(segment: &mut Vec<ChatMessage>, prompt: &str) {
    let asked = ChatMessage::new("user", prompt);
    if !prompt.is_empty() && segment.last() != Some(&asked) {
        segment.push(asked);
    }
}

/// Sends the request to the upstream and relays its answer as it arrives.
async fn forward(
    shared: Arc<Shared>,
    headers: &HeaderMap,
    original: Bytes,
    mut request: Value,
    meta: RequestMeta,
) -> Result<Response, GatewayError> {
    let gateway = &shared.gateway;
    let (Some(url), Some(http)) = (gateway.config.upstream_url.as_deref(), gateway.http.as_ref()) else {
        return Err(GatewayError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "no_upstream",
            "the hub's LLM gateway has no upstream LLM configured (HUB_LLM_UPSTREAM_URL)",
        ));
    };
    let context = meta.task.as_ref().map(|task| gateway.take_context(task)).unwrap_or_default();
    let whispers = context.whisper_texts();
    let body = if context.is_empty() {
        original
    } else {
        if let Some(messages) = request.get_mut("messages").and_then(Value::as_array_mut) {
            if let Some(prompt) = &context.system_prompt {
                replace_system_prompt(messages, prompt);
            }
            add_context(messages, &whispers, &context.segment);
        }
        // A `Value` always serialises; the fallback only keeps the request going.
        serde_json::to_vec(&request).map(Bytes::from).unwrap_or(original)
    };

    let mut upstream = http.post(url).header(header::CONTENT_TYPE, "application/json").body(body);
    if let Some(key) = &gateway.config.upstream_key {
        upstream = upstream.bearer_auth(key.expose());
    }
    for (name, value) in headers {
        if name.as_str().starts_with("x-") {
            upstream = upstream.header(name, value);
        }
    }
    if let Some(accept) = headers.get(header::ACCEPT) {
        upstream = upstream.header(header::ACCEPT, accept);
    }

    let restore = |context: Context| {
        if let Some(task) = &meta.task {
            gateway.restore_context(task, context);
        }
    };
    let response = match upstream.send().await {
        Ok(response) => response,
        Err(error) => {
            restore(context);
            let error = error.without_url();
            tracing::warn!(%error, "the LLM upstream did not answer");
            return Err(if error.is_timeout() {
                GatewayError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_error",
                    "upstream_timeout",
                    "the upstream LLM did not answer in time",
                )
            } else {
                GatewayError::new(
                    StatusCode::BAD_GATEWAY,
                    "upstream_error",
                    "upstream_unreachable",
                    "the upstream LLM could not be reached",
                )
            });
        }
    };
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    if !status.is_success() {
        restore(context);
        tracing::warn!(status = status.as_u16(), "the LLM upstream answered with an error");
        return Ok(relay_error(status, content_type, response).await);
    }

    let whisper = (!whispers.is_empty()).then(|| whispers.join("\n"));
    let report = meta.task.clone().map(|task| {
        if !context.whispers.is_empty() {
            let used = context.whispers.into_iter().map(|(record, _)| record).collect();
            let shared = shared.clone();
            let task = task.clone();
            tokio::spawn(async move { record_whispers_done(&shared, &task, used).await });
        }
        Report {
            shared: shared.clone(),
            task,
            request_id: meta.request_id.clone(),
            prompt: meta.prompt.clone(),
            whisper,
            invoke: meta.invoke,
            arrived: meta.arrived,
        }
    });
    let is_sse = content_type
        .as_ref()
        .and_then(|value| value.to_str().ok())
        .map_or(meta.streaming, |value| value.starts_with("text/event-stream"));
    let relay = Relay {
        upstream: response,
        reading: if is_sse { Reading::Sse(SseReader::default()) } else { Reading::Json(Vec::new()) },
        reply: String::new(),
        first_token: None,
        complete: false,
        finished: false,
        report,
    };
    let stream = futures_util::stream::unfold(relay, |mut relay| async move {
        if relay.finished {
            return None;
        }
        match relay.upstream.chunk().await {
            Ok(Some(bytes)) => {
                relay.observe(&bytes);
                Some((Ok(bytes), relay))
            }
            Ok(None) => {
                relay.mark_complete();
                None
            }
            Err(error) => {
                let error = error.without_url();
                tracing::warn!(%error, "the LLM upstream broke off its answer");
                relay.finished = true;
                // An error ends the body abruptly, so TRTC sees the answer fail too.
                Some((Err(error), relay))
            }
        }
    });
    let mut answer = Response::new(Body::from_stream(stream));
    *answer.status_mut() = status;
    let answer_headers = answer.headers_mut();
    answer_headers.insert(
        header::CONTENT_TYPE,
        content_type.unwrap_or(HeaderValue::from_static(if is_sse { "text/event-stream" } else { "application/json" })),
    );
    if is_sse {
        answer_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    Ok(answer)
}

/// Relays an upstream error: its status and (the start of) its body.
async fn relay_error(
    status: StatusCode,
    content_type: Option<HeaderValue>,
    mut response: reqwest::Response,
) -> Response {
    let mut body = Vec::new();
    while body.len() < MAX_COLLECTED_BYTES {
        match response.chunk().await {
            Ok(Some(bytes)) => body.extend_from_slice(&bytes),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(MAX_COLLECTED_BYTES);
    if body.is_empty() {
        let message = format!("the upstream LLM answered {status}");
        return GatewayError::new(status, "upstream_error", "upstream_error", message).into_response();
    }
    let mut answer = Response::new(Body::from(body));
    *answer.status_mut() = status;
    if let Some(content_type) = content_type {
        answer.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    answer
}

async fn record_whispers_done(shared: &Shared, task: &TaskId, used: Vec<CommandRecord>) {
    for mut record in used {
        record.stage = CommandStage::Done;
        record.error = None;
        if let Err(error) = shared.record(task, EventBody::Command(record)).await {
            tracing::error!(%error, "cannot record a whisper as done");
        }
    }
}

fn spawn_record(shared: Arc<Shared>, task: TaskId, body: EventBody) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no runtime to record a gateway exchange on");
        return;
    };
    runtime.spawn(async move {
        if let Err(error) = shared.record(&task, body).await {
            tracing::error!(%error, "cannot record a gateway exchange");
        }
    });
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What a forwarded exchange becomes once its answer ends.
#[derive(Debug)]
struct Report {
    shared: Arc<Shared>,
    task: TaskId,
    request_id: String,
    prompt: String,
    whisper: Option<String>,
    invoke: bool,
    arrived: Instant,
}

/// How the upstream's answer is read on its way through.
#[derive(Debug)]
enum Reading {
    Sse(SseReader),
    /// A non-streaming answer, collected (up to a bound) to read its reply at the end.
    Json(Vec<u8>),
}

/// The upstream's answer on its way to TRTC. When it ends (completely, broken off, or
/// because TRTC hung up) the exchange is recorded with what was seen.
#[derive(Debug)]
struct Relay {
    upstream: reqwest::Response,
    reading: Reading,
    reply: String,
    first_token: Option<Instant>,
    /// The upstream's body ended normally.
    complete: bool,
    /// Nothing more is read.
    finished: bool,
    /// `None`: no call to report to (no `X-Task-Id`), so nothing is read either.
    report: Option<Report>,
}

impl Relay {
    /// The upstream's body ended normally (read when the relay is dropped).
    fn mark_complete(&mut self) {
        self.complete = true;
        self.finished = true;
    }

    fn observe(&mut self, bytes: &[u8]) {
        if self.report.is_none() {
            return;
        }
        match &mut self.reading {
            Reading::Sse(reader) => {
                let text = reader.feed(bytes);
                if !text.is_empty() {
                    self.first_token.get_or_insert_with(Instant::now);
                    self.reply.push_str(&text);
                }
            }
            Reading::Json(body) => {
                let room = MAX_COLLECTED_BYTES.saturating_sub(body.len());
                body.extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let Some(report) = self.report.take() else { return };
        let mut reply = std::mem::take(&mut self.reply);
        let mut first_token = self.first_token;
        if let Reading::Json(body) = &self.reading {
            if self.complete {
                reply = serde_json::from_slice::<Value>(body)
                    .ok()
                    .and_then(|answer| json_reply(&answer))
                    .unwrap_or_default();
                // A JSON answer can be spoken only once it is whole.
                first_token = Some(Instant::now());
            }
        }
        let exchange = GatewayExchange {
            request_id: report.request_id,
            prompt: report.prompt,
            reply,
            author: ReplyAuthor::Ai,
            whisper: report.whisper,
            invoke: report.invoke,
            first_token_ms: first_token
                .map(|at| u64::try_from(at.duration_since(report.arrived).as_millis()).unwrap_or(u64::MAX)),
        };
        spawn_record(report.shared, report.task, EventBody::GatewayExchange(exchange));
    }
}

/// Reads the text deltas out of an SSE byte stream, whatever the chunk boundaries.
#[derive(Debug, Default)]
struct SseReader {
    /// The current line so far.
    line: Vec<u8>,
    /// The current line outgrew the bound and is skipped up to its end.
    skipping: bool,
}

impl SseReader {
    /// Feeds the next bytes; the content deltas of the lines they complete, in order.
    fn feed(&mut self, bytes: &[u8]) -> String {
        let mut text = String::new();
        for piece in bytes.split_inclusive(|byte| *byte == b'\n') {
            let ends_line = piece.last() == Some(&b'\n');
            if !self.skipping {
                if self.line.len() + piece.len() > MAX_COLLECTED_BYTES {
                    self.skipping = true;
                    self.line.clear();
                } else {
                    self.line.extend_from_slice(piece);
                }
            }
            if ends_line {
                if !self.skipping {
                    if let Some(delta) = delta_text(&self.line) {
                        text.push_str(&delta);
                    }
                }
                self.line.clear();
                self.skipping = false;
            }
        }
        text
    }
}

/// The content delta of one SSE line (`data: {chat.completion.chunk}`); `None` for other
/// fields, `[DONE]`, `meta.info` side-channel lines and anything that is not a chunk.
fn delta_text(line: &[u8]) -> Option<String> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let data = line.strip_prefix(b"data:")?;
    let data = data.strip_prefix(b" ").unwrap_or(data);
    if data == b"[DONE]" {
        return None;
    }
    let chunk: Value = serde_json::from_slice(data).ok()?;
    if chunk.get("type").and_then(Value::as_str) == Some("meta.info") {
        return None;
    }
    let text: String = chunk
        .get("choices")?
        .as_array()?
        .iter()
        .filter(|choice| choice.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
        .filter_map(|choice| choice.get("delta")?.get("content")?.as_str())
        .collect();
    (!text.is_empty()).then_some(text)
}

/// The reply of a non-streaming `chat.completion`.
fn json_reply(answer: &Value) -> Option<String> {
    let content = answer.get("choices")?.as_array()?.first()?.get("message")?.get("content")?;
    Some(content_text(content))
}

/// A message's text: a string, or the text parts of an array of parts.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter(|part| part.get("type").and_then(Value::as_str).is_none_or(|kind| kind == "text"))
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

fn role(message: &Value) -> Option<&str> {
    message.get("role").and_then(Value::as_str)
}

/// The text of the last user message.
fn last_user_text(messages: &[Value]) -> Option<String> {
    messages
        .iter()
        .rev()
        .find(|message| role(message) == Some("user"))
        .map(|message| message.get("content").map(content_text).unwrap_or_default())
}

/// Makes `prompt` the request's system prompt: the first system message's content, or a
/// new first message where the request has none.
fn replace_system_prompt(messages: &mut Vec<Value>, prompt: &str) {
    match messages.iter_mut().find(|message| role(message) == Some("system")) {
        Some(Value::Object(message)) => {
            message.insert("content".to_owned(), Value::String(prompt.to_owned()));
        }
        _ => messages.insert(0, json!({ "role": "system", "content": prompt })),
    }
}

/// Puts, just before the last user message: the human segment's messages the request does
/// not already hold, the hand-back note (when there is a segment), then the whispers as one
/// system message. Everything else in `messages` stays as it was.
fn add_context(messages: &mut Vec<Value>, whispers: &[String], segment: &[ChatMessage]) {
    let last_user = messages.iter().rposition(|message| role(message) == Some("user")).unwrap_or(messages.len());
    let mut added = Vec::new();
    if !segment.is_empty() {
        let earlier = &messages[..last_user];
        let held = |wanted: &ChatMessage| {
            earlier.iter().any(|message| {
                role(message) == Some(wanted.role.as_str())
                    && message.get("content").map(content_text).as_deref() == Some(wanted.content.as_str())
            })
        };
        added.extend(segment.iter().filter(|message| !held(message)).map(ChatMessage::to_value));
        added.push(json!({ "role": "system", "content": HAND_BACK_NOTE }));
    }
    if !whispers.is_empty() {
        let guidance: Vec<String> = whispers.iter().map(|text| format!("{WHISPER_PREFIX}{text}")).collect();
        added.push(json!({ "role": "system", "content": guidance.join("\n") }));
    }
    messages.splice(last_user..last_user, added);
}

/// Splits a reply where speech may pause (after punctuation), so it streams as a model's
/// answer would; the pieces put together are the text.
fn pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        if matches!(c, '。' | '！' | '？' | '；' | '，' | '、' | '.' | '!' | '?' | ';' | ',' | '\n') {
            let end = at + c.len_utf8();
            pieces.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// The gateway's own answer with `text`: an SSE stream of `chat.completion.chunk`s ending
/// in `[DONE]` when the request streams, else one `chat.completion`.
fn completion(meta: &RequestMeta, text: &str) -> Response {
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = now_ms() / 1000;
    if meta.streaming {
        let sse = completion_stream(&id, &meta.model, created, text);
        (StatusCode::OK, [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")], sse)
            .into_response()
    } else {
        Json(completion_json(&id, &meta.model, created, text)).into_response()
    }
}

fn completion_stream(id: &str, model: &str, created: u64, text: &str) -> String {
    let chunk = |delta: Value, finish: Option<&str>| {
        let chunk = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        });
        format!("data: {chunk}\n\n")
    };
    let mut sse = chunk(json!({ "role": "assistant", "content": "" }), None);
    for piece in pieces(text) {
        sse.push_str(&chunk(json!({ "content": piece }), None));
    }
    sse.push_str(&chunk(json!({}), Some("stop")));
    sse.push_str("data: [DONE]\n\n");
    sse
}

fn completion_json(id: &str, model: &str, created: u64, text: &str) -> Value {
    json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": text },
            "finish_reason": "stop",
        }],
        "usage": { "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0 },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn message(role: &str, content: &str) -> Value {
        json!({ "role": role, "content": content })
    }

    fn roles_and_texts(messages: &[Value]) -> Vec<(String, String)> {
        messages
            .iter()
            .map(|m| (role(m).unwrap_or("").to_owned(), m.get("content").map(content_text).unwrap_or_default()))
            .collect()
    }

    #[test]
    fn a_whisper_goes_just_before_the_last_user_message() {
        let mut messages = vec![
            message("system", "You are a helpful agent."),
            message("user", "hi"),
            message("assistant", "hello"),
            message("user", "where is my parcel?"),
        ];
        add_context(&mut messages, &["offer a refund".into(), "be brief".into()], &[]);
        let texts = roles_and_texts(&messages);
        assert_eq!(texts.len(), 5, "one system message added: {texts:?}");
        assert_eq!(texts[3].0, "system");
        assert_eq!(
            texts[3].1,
            "Supervisor guidance, not to be read out: offer a refund\nSupervisor guidance, not to be read out: be brief"
        );
        assert_eq!(texts[4], ("user".into(), "where is my parcel?".into()), "the customer's line stays last");
    }

    #[test]
    fn without_a_user_message_context_goes_at_the_end() {
        let mut messages = vec![message("system", "prompt")];
        add_context(&mut messages, &["hint".into()], &[]);
        assert_eq!(roles_and_texts(&messages)[1].1, format!("{WHISPER_PREFIX}hint"));
    }

    #[test]
    fn the_human_segment_and_the_note_go_before_the_last_user_message() {
        let segment =
            vec![ChatMessage::new("user", "I want a person"), ChatMessage::new("assistant", "I'm Li, I can help.")];
        let mut messages = vec![message("system", "prompt"), message("user", "thanks, and my refund?")];
        add_context(&mut messages, &["mention the form".into()], &segment);
        let texts = roles_and_texts(&messages);
        assert_eq!(
            texts,
            vec![
                ("system".into(), "prompt".into()),
                ("user".into(), "I want a person".into()),
                ("assistant".into(), "I'm Li, I can help.".into()),
                ("system".into(), HAND_BACK_NOTE.into()),
                ("system".into(), format!("{WHISPER_PREFIX}mention the form")),
                ("user".into(), "thanks, and my refund?".into()),
            ]
        );
    }

    #[test]
    fn segment_messages_already_in_the_history_are_not_inserted_again() {
        let segment = vec![ChatMessage::new("user", "I want a person"), ChatMessage::new("assistant", "I'm Li.")];
        let mut messages = vec![
            message("system", "prompt"),
            message("user", "I want a person"),
            json!({ "role": "assistant", "content": [{ "type": "text", "text": "I'm Li." }] }),
            message("user", "ok"),
        ];
        add_context(&mut messages, &[], &segment);
        let texts = roles_and_texts(&messages);
        assert_eq!(texts.len(), 5, "only the note is added: {texts:?}");
        assert_eq!(texts[3], ("system".into(), HAND_BACK_NOTE.into()));
        assert_eq!(texts.iter().filter(|(_, text)| text == "I want a person").count(), 1);
    }

    #[test]
    fn a_partly_held_segment_gets_only_what_is_missing() {
        let segment = vec![ChatMessage::new("user", "I want a person"), ChatMessage::new("assistant", "I'm Li.")];
        let mut messages = vec![message("user", "I want a person"), message("user", "hello?")];
        add_context(&mut messages, &[], &segment);
        let texts = roles_and_texts(&messages);
        assert_eq!(texts[1], ("assistant".into(), "I'm Li.".into()));
        assert_eq!(texts.len(), 4);
    }

    #[test]
    fn unknown_fields_of_messages_are_kept() {
        let mut messages = vec![json!({ "role": "user", "content": "hi", "name": "c1", "extra": { "a": 1 } })];
        add_context(&mut messages, &["w".into()], &[]);
        assert_eq!(messages[1], json!({ "role": "user", "content": "hi", "name": "c1", "extra": { "a": 1 } }));
    }

    #[test]
    fn a_retried_unanswered_line_is_kept_once_in_the_segment() {
        let mut segment = Vec::new();
        remember_prompt(&mut segment, "hello?");
        remember_prompt(&mut segment, "hello?");
        segment.push(ChatMessage::new("assistant", "Yes, I'm here."));
        assert_eq!(segment, vec![ChatMessage::new("user", "hello?"), ChatMessage::new("assistant", "Yes, I'm here.")]);
    }

    #[test]
    fn sse_deltas_are_read_across_chunk_boundaries_and_meta_info_is_skipped() {
        let stream = concat!(
            "data: {\"id\":\"1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            "data: {\"id\":\"1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"您好，\"}}]}\r\n\r\n",
            ": keep-alive comment\n\n",
            "data: {\"id\":\"m\",\"type\":\"meta.info\",\"created\":1,\"metainfo\":{\"content\":\"not spoken\"}}\n\n",
            "data:{\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"请问有什么可以帮您？\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n",
        );
        let expected = "您好，请问有什么可以帮您？";
        for size in [1, 2, 3, 7, 64, stream.len()] {
            let mut reader = SseReader::default();
            let mut text = String::new();
            // Split at byte positions, even inside a multi-byte character.
            for chunk in stream.as_bytes().chunks(size) {
                text.push_str(&reader.feed(chunk));
            }
            assert_eq!(text, expected, "chunks of {size} bytes");
        }
    }

    #[test]
    fn lines_that_are_not_chunks_have_no_delta() {
        for line in ["data: [DONE]\n", "event: ping\n", "data: not json\n", "data: {\"choices\":[]}\n", "\n"] {
            assert_eq!(delta_text(line.as_bytes()), None, "{line:?}");
        }
        let other_choice = "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"x\"}}]}\n";
        assert_eq!(delta_text(other_choice.as_bytes()), None, "only the first choice is spoken");
    }

    #[test]
    fn a_non_streaming_reply_is_read_from_the_first_choice() {
        let answer = completion_json("id", "m", 1, "Bonjour.");
        assert_eq!(json_reply(&answer).as_deref(), Some("Bonjour."));
        assert_eq!(json_reply(&json!({ "error": {} })), None);
    }

    #[test]
    fn the_answer_stream_says_the_text_in_pieces_and_ends_with_done() {
        let text = "您好，我是客服小李。Your order ships today!";
        let sse = completion_stream("chatcmpl-1", "gpt-x", 7, text);
        assert!(sse.ends_with("data: [DONE]\n\n"), "{sse}");
        let mut reader = SseReader::default();
        assert_eq!(reader.feed(sse.as_bytes()), text);
        let chunks: Vec<Value> = sse
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .filter(|data| *data != "[DONE]")
            .map(|data| serde_json::from_str(data).unwrap())
            .collect();
        assert!(chunks.len() >= 5, "role, several pieces, stop: {chunks:?}");
        for chunk in &chunks {
            assert_eq!(chunk["object"], "chat.completion.chunk");
            assert_eq!(chunk["id"], "chatcmpl-1");
            assert_eq!(chunk["model"], "gpt-x");
        }
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(chunks.last().unwrap()["choices"][0]["finish_reason"], "stop");
    }

    #[test]
    fn an_empty_answer_is_a_valid_stream_with_no_content() {
        let sse = completion_stream("c", "m", 1, "");
        let mut reader = SseReader::default();
        assert_eq!(reader.feed(sse.as_bytes()), "");
        assert_eq!(sse.matches("data: ").count(), 3, "role, stop, [DONE]: {sse}");
        assert!(pieces("").is_empty());
    }

    #[test]
    fn the_json_answer_is_a_chat_completion() {
        let answer = completion_json("c", "m", 1, "ok");
        assert_eq!(answer["object"], "chat.completion");
        assert_eq!(answer["choices"][0]["message"], json!({ "role": "assistant", "content": "ok" }));
        assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    }

    #[test]
    fn pieces_put_together_are_the_text() {
        for text in ["a", "Hello, world. Bye!", "您好，请稍等。", "3.5 km", "no punctuation at all"] {
            assert_eq!(pieces(text).concat(), text);
        }
        assert_eq!(pieces("您好，请稍等。"), vec!["您好，", "请稍等。"]);
    }

    #[test]
    fn the_gateway_key_is_required_and_checked() {
        let config = |key: Option<&str>| LlmGatewayConfig { gateway_key: key.map(Into::into), ..Default::default() };
        let bearer = |token: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
            headers
        };
        assert_eq!(authorize(&config(Some("gw")), &bearer("gw")), Ok(()));
        assert_eq!(authorize(&config(Some("gw")), &bearer("gw2")).unwrap_err().code, "invalid_api_key");
        assert_eq!(authorize(&config(Some("gw")), &bearer("g")).unwrap_err().status, StatusCode::UNAUTHORIZED);
        assert_eq!(authorize(&config(Some("gw")), &HeaderMap::new()).unwrap_err().code, "missing_api_key");
        assert_eq!(authorize(&config(None), &bearer("gw")).unwrap_err().status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn the_last_user_text_reads_string_and_part_contents() {
        let messages = vec![
            message("user", "first"),
            json!({ "role": "user", "content": [{ "type": "text", "text": "second " }, { "type": "text", "text": "part" }] }),
            message("assistant", "reply"),
        ];
        assert_eq!(last_user_text(&messages).as_deref(), Some("second part"));
        assert_eq!(last_user_text(&[message("system", "s")]), None);
    }

    #[tokio::test]
    async fn a_reply_reaches_only_a_waiting_request_and_hand_back_releases_it() {
        let gateway = Gateway::new(&LlmGatewayConfig::default());
        let task = TaskId::parse("t1").unwrap();
        assert!(!gateway.human_reply(&task, "nobody asked"), "no request waits");
        gateway.take_over(&task, "li");
        assert_eq!(gateway.taken_over_by(&task).as_deref(), Some("li"));
        let (sender, receiver) = oneshot::channel();
        gateway.calls().get_mut(&task).unwrap().waiting = Some(Waiting { id: 0, reply: sender });
        assert!(gateway.human_reply(&task, "hello"));
        assert_eq!(receiver.await.unwrap(), "hello");
        let (sender, receiver) = oneshot::channel::<String>();
        gateway.calls().get_mut(&task).unwrap().waiting = Some(Waiting { id: 1, reply: sender });
        gateway.hand_back(&task);
        assert!(receiver.await.is_err(), "the waiting request is woken to be forwarded");
        assert_eq!(gateway.taken_over_by(&task), None);
    }

    #[test]
    fn a_failed_forward_puts_its_context_back_first() {
        let gateway = Gateway::new(&LlmGatewayConfig::default());
        let task = TaskId::parse("t1").unwrap();
        let record = |id: &str| CommandRecord {
            id: id.into(),
            by: "sam".into(),
            action: domain::event::CommandAction::Whisper,
            stage: CommandStage::Requested,
            round: None,
            summary: None,
            error: None,
        };
        gateway.whisper(&task, record("1"), "first".into());
        let taken = gateway.take_context(&task);
        assert_eq!(taken.whisper_texts(), vec!["first".to_owned()]);
        assert!(gateway.calls().get(&task).is_none(), "an idle call's state is dropped");
        gateway.whisper(&task, record("2"), "second".into());
        gateway.restore_context(&task, taken);
        assert_eq!(gateway.take_context(&task).whisper_texts(), vec!["first".to_owned(), "second".to_owned()]);
    }
}
