//! The LLM gateway: an OpenAI-compatible chat-completions endpoint
//! (`POST /v1/llm/chat/completions`) that a call's `LLMConfig.APIUrl` can point at.
//!
//! Per call (by TRTC's `X-Task-Id`) it keeps: whispers waiting for the AI's next request,
//! who has taken the call over, the request of the robot waiting for a human answer, and
//! the human segment (what the customer said and what the supervisor answered while the
//! call was taken over), which is put into the AI's context after hand-back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::event::CommandRecord;
use domain::ids::TaskId;
use tokio::sync::oneshot;

use crate::config::LlmGatewayConfig;
use crate::{HttpError, Shared};

/// One message of a chat-completions request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatMessage {
    pub role: String,
    pub content: String,
}

/// What the gateway keeps per call.
#[derive(Debug, Default)]
struct CallState {
    /// Guidance for the AI's next request, with the command that asked for it.
    whispers: Vec<(CommandRecord, String)>,
    /// The supervisor answering for the robot.
    taken_over_by: Option<String>,
    /// A request of the robot waiting for the supervisor's words.
    waiting: Option<oneshot::Sender<String>>,
    /// The exchanges while taken over, for the AI's context after hand-back.
    human_segment: Vec<ChatMessage>,
}

/// The gateway's state.
#[derive(Debug)]
pub(crate) struct Gateway {
    config: LlmGatewayConfig,
    calls: Mutex<HashMap<TaskId, CallState>>,
}

impl Gateway {
    pub(crate) fn new(config: &LlmGatewayConfig) -> Gateway {
        Gateway { config: config.clone(), calls: Mutex::new(HashMap::new()) }
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<TaskId, CallState>> {
        self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Who has taken `task` over.
    pub(crate) fn taken_over_by(&self, task: &TaskId) -> Option<String> {
        self.calls().get(task).and_then(|call| call.taken_over_by.clone())
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
        match call.waiting.take() {
            Some(waiting) => waiting.send(text.to_owned()).is_ok(),
            None => false,
        }
    }

    /// Keeps a line the supervisor had the robot say unprompted in the human segment.
    pub(crate) fn remember_human_line(&self, task: &TaskId, text: &str) {
        let mut calls = self.calls();
        let call = calls.entry(task.clone()).or_default();
        call.human_segment.push(ChatMessage { role: "assistant".into(), content: text.to_owned() });
    }

    /// Forwarding to the AI resumes.
    pub(crate) fn hand_back(&self, task: &TaskId) {
        if let Some(call) = self.calls().get_mut(task) {
            call.taken_over_by = None;
            call.waiting = None;
        }
    }
}

/// `POST /v1/llm/chat/completions`.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, _headers: HeaderMap) -> Result<Response, HttpError> {
    let _ = &shared.gateway.config;
    Err(HttpError::new(StatusCode::NOT_IMPLEMENTED, "not_implemented", "the LLM gateway's forwarding is not built yet"))
}
