//! The outbound LLM call TRTC makes for a reply (trtc-contract.md §2.4): `LLMConfig` as
//! parsed from its JSON string, the conversation history the robot keeps, the OpenAI
//! chat-completions request (body and headers), the incremental SSE reader, and the call
//! itself with its measurements and error mapping.
//!
//! What deliberately does not live here: when a call is made and what the robot does with
//! its answer (`runner`), and the emulator's own scripted endpoint ([`crate::llm_endpoint`]).
//!
//! Interpretations (also listed in the conversation module's docs):
//! - Only `LLMType` `openai` (any case) with an `http://` or `https://` `APIUrl` is called;
//!   anything else is played from the script. The legacy `APIBaseUrl` stands in for a
//!   missing `APIUrl`.
//! - `History` counts earlier rounds (a round starts with a user message). 0, the default,
//!   sends only the current user message; N also sends the N rounds before it, with the
//!   assistant lines in them. Values above 50 are read as 50.
//! - `Timeout` (seconds, default 3, read within 1–50) bounds the wait for the first content
//!   token, and after it every gap between chunks of a streamed answer.
//! - `MetaInfo` keys are merged into the body's top level, except `model`, `messages` and
//!   `stream`, which it cannot override.
//! - One attempt per reply (no retry), so every request has its own `X-Request-Id`.

use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::time::Instant;

use super::script::{Failure, Stage};

/// TRTC's default `LLMConfig.Timeout`, seconds.
pub const DEFAULT_TIMEOUT_SECS: f64 = 3.0;
/// The most `History` rounds TRTC keeps.
pub const MAX_HISTORY: u32 = 50;
/// How much of a failed answer's body is quoted in the error message.
const QUOTED_BODY: usize = 300;
/// The most of an answer read (a larger one is cut here).
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// `LLMConfig`, parsed once at the edge.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    pub llm_type: String,
    pub model: String,
    pub api_key: String,
    pub api_url: String,
    pub streaming: bool,
    pub system_prompt: Option<String>,
    /// Seconds, within 1–50.
    pub timeout_secs: f64,
    /// Earlier rounds sent with the current message, at most [`MAX_HISTORY`].
    pub history: u32,
    /// 1: only lines the robot finished saying enter the history; 0: every reply.
    pub history_mode: u64,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Pre-seeded messages: (role, content).
    pub user_messages: Vec<(String, String)>,
    pub meta_info: Option<Map<String, Value>>,
}

impl LlmConfig {
    /// From the `LLMConfig` JSON string; `None` when it is not a JSON object.
    pub fn parse(json: &str) -> Option<LlmConfig> {
        serde_json::from_str::<Value>(json).ok().as_ref().and_then(LlmConfig::from_value)
    }

    /// From the parsed `LLMConfig` object; `None` when it is not an object. Numbers given
    /// as strings are read, missing keys take TRTC's defaults.
    pub fn from_value(value: &Value) -> Option<LlmConfig> {
        let object = value.as_object()?;
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        let number = |key: &str| match object.get(key) {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let user_messages = object
            .get("UserMessages")
            .and_then(Value::as_array)
            .map(|messages| {
                messages
                    .iter()
                    .filter_map(|m| {
                        let role = m.get("Role").or_else(|| m.get("role")).and_then(Value::as_str)?;
                        let content = m.get("Content").or_else(|| m.get("content")).and_then(Value::as_str)?;
                        Some((role.to_owned(), content.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let meta_info = match object.get("MetaInfo") {
            Some(Value::Object(map)) => Some(map.clone()),
            // Tolerated: an object serialised into a string, as other MetaInfo fields are.
            Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok().and_then(|v| v.as_object().cloned()),
            _ => None,
        };
        let non_negative = |key: &str| number(key).filter(|n| n.is_finite() && *n >= 0.0);
        Some(LlmConfig {
            llm_type: text("LLMType").unwrap_or_default(),
            model: text("Model").unwrap_or_default(),
            api_key: text("APIKey").unwrap_or_default(),
            api_url: text("APIUrl").or_else(|| text("APIBaseUrl")).unwrap_or_default(),
            streaming: object.get("Streaming").and_then(Value::as_bool).unwrap_or(false),
            system_prompt: text("SystemPrompt").filter(|prompt| !prompt.trim().is_empty()),
            timeout_secs: number("Timeout").filter(|t| t.is_finite()).unwrap_or(DEFAULT_TIMEOUT_SECS).clamp(1.0, 50.0),
            history: non_negative("History").map_or(0, |h| h.min(f64::from(MAX_HISTORY)) as u32),
            history_mode: non_negative("HistoryMode").map_or(0, |m| m as u64),
            max_tokens: non_negative("MaxTokens").map(|m| m as u64),
            temperature: number("Temperature").filter(|t| t.is_finite()),
            top_p: number("TopP").filter(|t| t.is_finite()),
            user_messages,
            meta_info,
        })
    }

    /// Whether TRTC would call this endpoint: an `openai` type and an http(s) URL.
    pub fn is_callable(&self) -> bool {
        let url = self.api_url.trim();
        self.llm_type.trim().eq_ignore_ascii_case("openai")
            && (url.starts_with("http://") || url.starts_with("https://"))
    }
}

/// Who said a line of the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    User,
    Assistant,
}

impl Role {
    fn wire(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// The conversation so far, as the robot's LLM context: the customer's final sentences
/// and `InvokeLLM` contents (user), the robot's replies and pushed lines with `AddHistory`
/// (assistant). Only the last [`MAX_HISTORY`] + 1 rounds are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct History {
    lines: Vec<(Role, String)>,
}

impl History {
    pub(crate) fn push(&mut self, role: Role, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        self.lines.push((role, text.to_owned()));
        let users = self.lines.iter().filter(|(role, _)| *role == Role::User).count();
        if users > MAX_HISTORY as usize + 1 {
            let second = self.user_positions().nth(1);
            if let Some(second) = second {
                self.lines.drain(..second);
            }
        }
    }

    fn user_positions(&self) -> impl DoubleEndedIterator<Item = usize> + '_ {
        self.lines.iter().enumerate().filter(|(_, (role, _))| *role == Role::User).map(|(index, _)| index)
    }

    /// The lines sent with a request: from the `rounds`-th user message before the last
    /// one on (everything when there are not that many).
    pub(crate) fn window(&self, rounds: u32) -> &[(Role, String)] {
        match self.user_positions().rev().nth(rounds as usize) {
            Some(start) => &self.lines[start..],
            None => &self.lines,
        }
    }
}

/// The identifiers TRTC puts in the request's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestIds {
    pub task_id: String,
    pub request_id: String,
    pub sdk_app_id: u64,
    /// `X-User-Id`: the contract does not say whose id this is. The emulator sends the
    /// customer's (`TargetUserId`): the conversation the LLM continues is theirs, and an
    /// LLM gateway can tell calls apart by it; the robot's id is in no header.
    pub user_id: String,
    pub room_id: String,
    pub room_id_type: u64,
}

/// One request to an OpenAI-compatible chat-completions endpoint.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LlmRequest {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
    pub streaming: bool,
    pub timeout_secs: f64,
}

/// The request for `messages` (the history window, ending with the current user message).
pub(crate) fn build_request(
    config: &LlmConfig,
    ids: &RequestIds,
    messages: &[(Role, String)],
    invoke: bool,
) -> LlmRequest {
    let mut chat = Vec::with_capacity(messages.len() + config.user_messages.len() + 1);
    if let Some(prompt) = &config.system_prompt {
        chat.push(json!({"role": "system", "content": prompt}));
    }
    for (role, content) in &config.user_messages {
        chat.push(json!({"role": role, "content": content}));
    }
    for (role, content) in messages {
        chat.push(json!({"role": role.wire(), "content": content}));
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(config.model));
    body.insert("messages".into(), Value::Array(chat));
    body.insert("stream".into(), json!(config.streaming));
    if let Some(max_tokens) = config.max_tokens {
        body.insert("max_tokens".into(), json!(max_tokens));
    }
    if let Some(temperature) = config.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    if let Some(top_p) = config.top_p {
        body.insert("top_p".into(), json!(top_p));
    }
    for (key, value) in config.meta_info.iter().flatten() {
        if !matches!(key.as_str(), "model" | "messages" | "stream") {
            body.insert(key.clone(), value.clone());
        }
    }
    let mut headers = vec![
        ("Authorization", format!("Bearer {}", config.api_key)),
        ("X-Task-Id", ids.task_id.clone()),
        ("X-Request-Id", ids.request_id.clone()),
        ("X-Sdk-App-Id", ids.sdk_app_id.to_string()),
        ("X-User-Id", ids.user_id.clone()),
        ("X-Room-Id", ids.room_id.clone()),
        ("X-Room-Id-Type", ids.room_id_type.to_string()),
    ];
    if invoke {
        headers.push(("X-Invoke-LLM", "1".to_owned()));
    }
    if config.streaming {
        headers.push(("Accept", "text/event-stream".to_owned()));
    }
    LlmRequest {
        url: config.api_url.trim().to_owned(),
        headers,
        body: Value::Object(body),
        streaming: config.streaming,
        timeout_secs: config.timeout_secs,
    }
}

/// One event of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SseEvent {
    /// Content to speak (may be empty-looking whitespace).
    Text(String),
    /// The `meta.info` side channel: its `metainfo` object.
    MetaInfo(Value),
    /// `data: [DONE]`.
    Done,
    /// A chunk carrying an `error` object instead of content.
    Error(String),
}

/// A data line that is neither JSON nor `[DONE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unparseable(pub String);

/// Reads `text/event-stream` incrementally: bytes in, [`SseEvent`]s out. Lines may be cut
/// anywhere between chunks (even inside a UTF-8 character); `\r\n` endings, comments and
/// fields other than `data` are accepted. An event is dispatched at its blank line — or,
/// for servers that omit it, when another `data:` line follows a complete one.
#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    line: Vec<u8>,
    data: Option<String>,
}

impl SseDecoder {
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, Unparseable> {
        let mut events = Vec::new();
        for byte in bytes {
            if *byte == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.line_done(&line, &mut events)?;
            } else {
                self.line.push(*byte);
            }
        }
        Ok(events)
    }

    /// The stream ended: whatever is pending is dispatched.
    pub(crate) fn finish(&mut self) -> Result<Vec<SseEvent>, Unparseable> {
        let mut events = Vec::new();
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            self.line_done(&line, &mut events)?;
        }
        self.dispatch(&mut events)?;
        Ok(events)
    }

    fn line_done(&mut self, line: &[u8], events: &mut Vec<SseEvent>) -> Result<(), Unparseable> {
        let line = String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line)).into_owned();
        if line.is_empty() {
            return self.dispatch(events);
        }
        if line.starts_with(':') {
            return Ok(());
        }
        let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
        if field != "data" {
            return Ok(());
        }
        let value = value.strip_prefix(' ').unwrap_or(value);
        if let Some(pending) = &self.data {
            if complete(pending) {
                self.dispatch(events)?;
            }
        }
        match &mut self.data {
            Some(pending) => {
                pending.push('\n');
                pending.push_str(value);
            }
            None => self.data = Some(value.to_owned()),
        }
        Ok(())
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) -> Result<(), Unparseable> {
        let Some(data) = self.data.take() else { return Ok(()) };
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            events.push(SseEvent::Done);
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data).map_err(|_| Unparseable(quote(data)))?;
        if chunk.get("type").and_then(Value::as_str) == Some("meta.info") {
            events.push(SseEvent::MetaInfo(chunk.get("metainfo").cloned().unwrap_or_else(|| json!({}))));
        } else if let Some(error) = chunk.get("error").filter(|e| !e.is_null()) {
            events.push(SseEvent::Error(error_message(error)));
        } else if let Some(text) = chunk_text(&chunk) {
            events.push(SseEvent::Text(text.to_owned()));
        }
        Ok(())
    }
}

/// Whether pending data is a whole event already.
fn complete(data: &str) -> bool {
    let data = data.trim();
    data == "[DONE]" || serde_json::from_str::<Value>(data).is_ok()
}

/// The content of a `chat.completion.chunk` (or, tolerated, a whole message or a legacy
/// completion's `text`).
fn chunk_text(chunk: &Value) -> Option<&str> {
    let choice = chunk.get("choices")?.get(0)?;
    choice
        .pointer("/delta/content")
        .and_then(Value::as_str)
        .or_else(|| choice.pointer("/message/content").and_then(Value::as_str))
        .or_else(|| choice.get("text").and_then(Value::as_str))
}

fn error_message(error: &Value) -> String {
    error.get("message").and_then(Value::as_str).map_or_else(|| error.to_string(), str::to_owned)
}

/// The answer of a non-streaming request: `choices[0].message.content`.
pub(crate) fn parse_completion(body: &[u8]) -> Result<String, Unparseable> {
    let text = String::from_utf8_lossy(body);
    let answer: Value = serde_json::from_str(&text).map_err(|_| Unparseable(quote(&text)))?;
    if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
        return Err(Unparseable(error_message(error)));
    }
    answer
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Unparseable(quote(&text)))
}

/// At most [`QUOTED_BODY`] characters of `text`, on one line.
fn quote(text: &str) -> String {
    let one_line: String = text.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match one_line.char_indices().nth(QUOTED_BODY) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// How an LLM call went, as the runner hears it. Times are emulated ms since the request
/// was sent (wall ms × speed).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LlmEvent {
    /// The first content token arrived: `llm_network_latency` (to the response headers)
    /// and `llm_first_token`.
    FirstToken { network_ms: u64, first_token_ms: u64 },
    /// A `meta.info` line (10002), never spoken.
    MetaInfo(Value),
    /// The whole answer is in (possibly empty: nothing to say).
    Answered { text: String, first_token_ms: u64, done_ms: u64 },
    /// 30200 / 30201 / 30202.
    Failed(Failure),
    /// Nothing listens at the URL (connection refused, unknown host): play the script.
    Unreachable(String),
}

/// The failure of the LLM stage with `code` and `message`.
pub(crate) fn failure(code: i64, message: String) -> Failure {
    Failure { stage: Stage::Llm, code, message: message.into(), after: 0 }
}

/// The error for a non-2xx answer: 429 is rate limiting (30201), anything else 30202.
pub(crate) fn status_failure(status: u16, reason: &str, body: &[u8]) -> Failure {
    let body = quote(&String::from_utf8_lossy(body));
    if status == 429 {
        failure(30201, format!("llm rate limited: {status} {reason} {body}").trim_end().to_owned())
    } else {
        failure(30202, format!("llm returned failure: {status} {reason} {body}").trim_end().to_owned())
    }
}

fn timeout_failure(timeout_secs: f64, what: &str) -> Failure {
    failure(30200, format!("llm request timeout: {what} within {}ms", (timeout_secs * 1000.0).round() as u64))
}

fn unparseable_failure(Unparseable(what): Unparseable) -> Failure {
    failure(30202, format!("llm returned failure: unparseable answer: {what}"))
}

/// Makes `request` with `http`, reporting to `report` as it goes (ending with `Answered`,
/// `Failed` or `Unreachable`). `speed` scales measured wall time into emulated ms and the
/// timeout into wall time. Cancel it by aborting its task: the connection is dropped.
pub(crate) async fn call(http: reqwest::Client, request: LlmRequest, speed: f64, report: impl Fn(LlmEvent)) {
    let started = Instant::now();
    let emulated = |at: Instant| (at.duration_since(started).as_secs_f64() * 1000.0 * speed).round() as u64;
    let timeout = Duration::try_from_secs_f64(request.timeout_secs / speed).unwrap_or(Duration::from_secs(50));
    let first_deadline = started + timeout;
    let mut builder = http.post(&request.url).json(&request.body);
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    let mut response = match tokio::time::timeout_at(first_deadline, builder.send()).await {
        Err(_) => return report(LlmEvent::Failed(timeout_failure(request.timeout_secs, "no first token"))),
        Ok(Err(err)) if err.is_connect() => return report(LlmEvent::Unreachable(err.to_string())),
        Ok(Err(err)) => {
            return report(LlmEvent::Failed(failure(30202, format!("llm returned failure: request failed: {err}"))))
        }
        Ok(Ok(response)) => response,
    };
    let network_ms = emulated(Instant::now());
    let status = response.status();
    if !status.is_success() {
        // The error body is quoted when it comes in time; a slow one is not waited for.
        let mut body = Vec::new();
        let wait = Instant::now() + timeout;
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(wait, response.chunk()).await {
            body.extend_from_slice(&chunk);
            if body.len() > QUOTED_BODY * 4 {
                break;
            }
        }
        let reason = status.canonical_reason().unwrap_or_default();
        return report(LlmEvent::Failed(status_failure(status.as_u16(), reason, &body)));
    }
    let content_type =
        response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    // What the server sent decides, whatever was asked for.
    let sse = if content_type.contains("event-stream") {
        true
    } else if content_type.contains("json") {
        false
    } else {
        request.streaming
    };
    let mut decoder = SseDecoder::default();
    let mut whole = Vec::new();
    let mut text = String::new();
    let mut first_token_ms = None;
    'read: loop {
        let deadline = if first_token_ms.is_some() { Instant::now() + timeout } else { first_deadline };
        let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
            Err(_) if first_token_ms.is_none() => {
                return report(LlmEvent::Failed(timeout_failure(request.timeout_secs, "no first token")))
            }
            Err(_) => return report(LlmEvent::Failed(timeout_failure(request.timeout_secs, "no data"))),
            Ok(Err(err)) => {
                return report(LlmEvent::Failed(failure(30202, format!("llm returned failure: answer broken: {err}"))))
            }
            Ok(Ok(chunk)) => chunk,
        };
        if !sse {
            match chunk {
                Some(bytes) if whole.len() < MAX_ANSWER_BYTES => whole.extend_from_slice(&bytes),
                Some(_) => {}
                None => break 'read,
            }
            continue;
        }
        let events = match &chunk {
            Some(bytes) => decoder.feed(bytes),
            None => decoder.finish(),
        };
        let events = match events {
            Ok(events) => events,
            Err(unparseable) => return report(LlmEvent::Failed(unparseable_failure(unparseable))),
        };
        for event in events {
            match event {
                SseEvent::Text(piece) => {
                    if first_token_ms.is_none() && !piece.trim().is_empty() {
                        let ms = emulated(Instant::now());
                        first_token_ms = Some(ms);
                        report(LlmEvent::FirstToken { network_ms, first_token_ms: ms });
                    }
                    if text.len() < MAX_ANSWER_BYTES {
                        text.push_str(&piece);
                    }
                }
                SseEvent::MetaInfo(info) => report(LlmEvent::MetaInfo(info)),
                SseEvent::Done => break 'read,
                SseEvent::Error(message) => {
                    return report(LlmEvent::Failed(failure(30202, format!("llm returned failure: {message}"))))
                }
            }
        }
        if chunk.is_none() {
            break;
        }
    }
    if !sse {
        match parse_completion(&whole) {
            Ok(answer) => text = answer,
            Err(unparseable) => return report(LlmEvent::Failed(unparseable_failure(unparseable))),
        }
    }
    // An empty answer is not a failure: the robot says nothing (what an LLM gateway answers
    // when it has nothing to say).
    let text = text.trim();
    let done_ms = emulated(Instant::now());
    let first_token_ms = match first_token_ms {
        Some(ms) => ms,
        None => {
            // A whole (non-streamed) answer: its first token is its arrival.
            report(LlmEvent::FirstToken { network_ms, first_token_ms: done_ms });
            done_ms
        }
    };
    report(LlmEvent::Answered { text: text.to_owned(), first_token_ms, done_ms });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ids() -> RequestIds {
        RequestIds {
            task_id: "task-1".into(),
            request_id: "req-1".into(),
            sdk_app_id: 1_400_000_000,
            user_id: "customer_1".into(),
            room_id: "8848".into(),
            room_id_type: 0,
        }
    }

    fn header<'a>(request: &'a LlmRequest, name: &str) -> Option<&'a str> {
        request.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn llm_config_reads_every_documented_key_and_defaults_the_rest() {
        let config = LlmConfig::parse(
            r#"{"LLMType":"openai","Model":"gpt-4o","APIKey":"sk-1","APIUrl":"https://llm.example/v1/chat/completions",
                "Streaming":true,"SystemPrompt":"be brief","Timeout":"5","History":80,"HistoryMode":1,"MaxTokens":200,
                "Temperature":0.3,"TopP":0.9,"UserMessages":[{"Role":"assistant","Content":"hi"}],
                "MetaInfo":{"tenant":"acme"}}"#,
        )
        .unwrap();
        assert!(config.is_callable());
        assert_eq!((config.streaming, config.timeout_secs, config.history, config.history_mode), (true, 5.0, 50, 1));
        assert_eq!(config.user_messages, vec![("assistant".to_owned(), "hi".to_owned())]);
        assert_eq!(config.meta_info.unwrap()["tenant"], "acme");

        let bare = LlmConfig::parse(r#"{"LLMType":"openai","Model":"m","APIKey":"k","APIUrl":"http://x/v1"}"#).unwrap();
        assert_eq!((bare.streaming, bare.timeout_secs, bare.history), (false, DEFAULT_TIMEOUT_SECS, 0));
        assert!(LlmConfig::parse(r#"{"LLMType":"minimax","APIUrl":"http://x"}"#).is_some_and(|c| !c.is_callable()));
        assert!(LlmConfig::parse(r#"{"LLMType":"openai","APIUrl":"ftp://x"}"#).is_some_and(|c| !c.is_callable()));
        assert_eq!(LlmConfig::parse("[1]"), None);
    }

    #[test]
    fn history_0_sends_only_the_current_message_and_n_adds_n_earlier_rounds() {
        let mut history = History::default();
        history.push(Role::Assistant, "pushed before anyone spoke");
        history.push(Role::User, "one");
        history.push(Role::Assistant, "reply one");
        history.push(Role::User, "two");
        history.push(Role::Assistant, "reply two");
        history.push(Role::User, "three");
        let texts = |rounds| history.window(rounds).iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>();
        assert_eq!(texts(0), ["three"]);
        assert_eq!(texts(1), ["two", "reply two", "three"]);
        assert_eq!(texts(2).len(), 5);
        assert_eq!(texts(3).len(), 6, "everything when there are not that many rounds");
    }

    #[test]
    fn the_history_keeps_only_the_rounds_it_may_ever_send() {
        let mut history = History::default();
        for n in 0..200 {
            history.push(Role::User, &format!("u{n}"));
            history.push(Role::Assistant, &format!("a{n}"));
        }
        assert_eq!(history.window(MAX_HISTORY).first().unwrap().1, "u149");
        assert_eq!(history.lines.iter().filter(|(r, _)| *r == Role::User).count(), MAX_HISTORY as usize + 1);
    }

    #[test]
    fn the_request_is_an_openai_chat_completion_with_trtcs_headers() {
        let config = LlmConfig::parse(
            r#"{"LLMType":"openai","Model":"gpt-4o","APIKey":"sk-1","APIUrl":" http://llm/v1/chat/completions ",
                "Streaming":true,"SystemPrompt":"be brief","MaxTokens":200,"Temperature":0.5,"TopP":0.9,
                "UserMessages":[{"Role":"user","Content":"seed"}],"MetaInfo":{"tenant":"acme","model":"evil"}}"#,
        )
        .unwrap();
        let request = build_request(&config, &ids(), &[(Role::User, "我要退款".into())], true);
        assert_eq!(request.url, "http://llm/v1/chat/completions");
        assert_eq!(
            request.body,
            json!({"model": "gpt-4o", "stream": true, "max_tokens": 200, "temperature": 0.5, "top_p": 0.9,
                   "tenant": "acme",
                   "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "seed"},
                                {"role": "user", "content": "我要退款"}]})
        );
        assert_eq!(header(&request, "Authorization"), Some("Bearer sk-1"));
        assert_eq!(header(&request, "X-Task-Id"), Some("task-1"));
        assert_eq!(header(&request, "X-Request-Id"), Some("req-1"));
        assert_eq!(header(&request, "X-Sdk-App-Id"), Some("1400000000"));
        assert_eq!(header(&request, "X-User-Id"), Some("customer_1"));
        assert_eq!(header(&request, "X-Room-Id"), Some("8848"));
        assert_eq!(header(&request, "X-Room-Id-Type"), Some("0"));
        assert_eq!(header(&request, "X-Invoke-LLM"), Some("1"));
        let plain = build_request(&config, &ids(), &[(Role::User, "hi".into())], false);
        assert_eq!(header(&plain, "X-Invoke-LLM"), None, "only InvokeLLM sends X-Invoke-LLM");
    }

    #[test]
    fn sse_chunks_cut_anywhere_decode_to_text_meta_info_and_done() {
        let stream = "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\r\n\r\n\
                      : keep-alive\n\n\
                      data: {\"choices\":[{\"delta\":{\"content\":\"您好，\"}}]}\n\n\
                      data: {\"id\":\"x\",\"type\":\"meta.info\",\"created\":1,\"metainfo\":{\"intent\":\"refund\"}}\n\n\
                      event: message\ndata: {\"choices\":[{\"delta\":{\"content\":\"请稍等。\"}}]}\n\n\
                      data: [DONE]\n\n";
        let bytes = stream.as_bytes();
        for cut in [1, 3, 7, 50, bytes.len()] {
            let mut decoder = SseDecoder::default();
            let mut events = Vec::new();
            for piece in bytes.chunks(cut) {
                events.extend(decoder.feed(piece).unwrap());
            }
            events.extend(decoder.finish().unwrap());
            assert_eq!(
                events,
                vec![
                    SseEvent::Text("您好，".into()),
                    SseEvent::MetaInfo(json!({"intent": "refund"})),
                    SseEvent::Text("请稍等。".into()),
                    SseEvent::Done
                ],
                "cut every {cut} bytes"
            );
        }
    }

    #[test]
    fn sse_without_blank_lines_or_final_newline_still_decodes() {
        let mut decoder = SseDecoder::default();
        let mut events = decoder
            .feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}")
            .unwrap();
        events.extend(decoder.finish().unwrap());
        assert_eq!(events, vec![SseEvent::Text("a".into()), SseEvent::Text("b".into())]);
    }

    #[test]
    fn a_garbage_data_line_or_an_error_chunk_is_reported() {
        assert!(SseDecoder::default().feed(b"data: <html>oops</html>\n\n").is_err());
        let events = SseDecoder::default().feed(b"data: {\"error\":{\"message\":\"overloaded\"}}\n\n").unwrap();
        assert_eq!(events, vec![SseEvent::Error("overloaded".into())]);
    }

    #[test]
    fn a_whole_completion_gives_its_message_content() {
        let body = br#"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there."}}]}"#;
        assert_eq!(parse_completion(body), Ok("Hi there.".to_owned()));
        assert!(parse_completion(b"{\"choices\":[]}").is_err());
        assert!(parse_completion(b"not json").is_err());
    }

    #[test]
    fn http_errors_map_to_trtcs_llm_codes() {
        let limited = status_failure(429, "Too Many Requests", b"{\"error\":{\"message\":\"slow down\"}}");
        assert_eq!((limited.stage, limited.code), (Stage::Llm, 30201));
        assert!(limited.message.contains("slow down"), "{}", limited.message);
        assert_eq!(status_failure(500, "Internal Server Error", b"").code, 30202);
        assert_eq!(status_failure(401, "Unauthorized", b"").code, 30202);
        assert_eq!(timeout_failure(3.0, "no first token").code, 30200);
        let long = status_failure(502, "Bad Gateway", "x".repeat(5_000).as_bytes());
        assert!(long.message.chars().count() < 400, "a long body is quoted, not pasted");
    }
}
