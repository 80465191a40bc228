//! Control: supervisors' commands, the call's lock, presence and room tickets.
//!
//! `POST /v1/calls/{id}/commands` takes `{"action": …}` with an idempotency key (the
//! `Idempotency-Key` header or an `idempotency_key` field). A retried command (same user,
//! same key, same request) answers what the first answered and has no second effect; the
//! same key with a different request is refused (422). Each command:
//! 1. is checked against the role it needs (403 naming it) and the call's lock (409
//!    naming the holder) — denials are audited too;
//! 2. is recorded as `requested`, mapped to the Cloud API through `trtc` (or to the LLM
//!    gateway), and recorded `accepted` or `failed` with Tencent's error;
//! 3. becomes `done` when its effect is seen: a line is spoken (the robot's sentence with
//!    that text arrives), a steer is answered (the robot's next reply), a stop ends the
//!    call (902), a whisper is used by the gateway; settings, take-over and hand-back are
//!    done once applied. A line not spoken within [`OUTCOME_TIMEOUT`] is `failed` (TRTC
//!    drops a `DropMode` 0 push while the robot is busy, and says so nowhere).
//!
//! Say modes, as supervisors understand them: `now` (Interrupt), `after_turn` (DropMode 1:
//! queued until the current turn ends), `when_idle` (DropMode 0: dropped if the robot is
//! busy); `remember` is AddHistory; `stop_after` is StopAfterPlay. Hidden guidance is the
//! `whisper` action (through the gateway).
//!
//! Locks: one holder per call for take-over and settings; taken implicitly by `take_over`
//! and `update` when free, renewed by the holder's commands and by `renew`, released on
//! hand-back, by `release`, or after `lock_ttl` without renewal (a taken-over call is then
//! handed back). A lead may `break` someone else's lock, and then holds it. While a call is
//! taken over, only its holder may say or steer (stop stays open to every supervisor).
//!
//! Presence: consoles post `{"watching": true}` when a call is open and repeat it at least
//! every [`PRESENCE_TTL`] / 3; a console that stops renewing is taken as gone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::api::{MAX_SYSTEM_PROMPT_CHARS, SYSTEM_PROMPT_SUMMARY};
use domain::event::{CommandAction, CommandRecord, CommandStage, Event, EventBody, LockChange, Speaker};
use domain::ids::{RoomIdKind, RoundId, TaskId};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use trtc::client::{Client, ClientConfig, Endpoint};
use trtc::model::{
    ControlAIConversation, InvokeLLM, LLMConfig, ServerPushText, StopAIConversation, TTSConfig, UpdateAIConversation,
};

use crate::auth::{Role, User};
use crate::config::HubConfig;
use crate::store::{AuditEntry, Begun};
use crate::{authenticate, now_ms, HttpError, Shared};

/// How long a command may take to show its effect before it is `failed`.
pub const OUTCOME_TIMEOUT: Duration = Duration::from_secs(90);
/// A watcher that has not renewed its presence for this long is gone.
pub const PRESENCE_TTL: Duration = Duration::from_secs(90);
/// Room tickets (UserSig) live this long.
pub const TICKET_TTL_SECS: u64 = 600;

/// The Cloud API client, when credentials are configured.
pub(crate) fn cloud_client(config: &HubConfig) -> anyhow::Result<Option<Client>> {
    let Some(credentials) = config.credentials.clone() else {
        return Ok(None);
    };
    let mut client = ClientConfig::new(credentials, config.region.clone());
    if let Some(endpoint) = &config.endpoint {
        client = client.with_endpoint(Endpoint::Url(endpoint.trim_end_matches('/').to_owned()));
    }
    Ok(Some(Client::new(client).map_err(|e| anyhow::anyhow!("--endpoint (TRTC_ENDPOINT): {e}"))?))
}

#[derive(Debug, Clone)]
struct Lock {
    holder: String,
    renewed: Instant,
}

/// What a command waits to see before it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Awaiting {
    /// The robot speaks this text.
    Spoken(String),
    /// The robot's next reply.
    Reply,
    /// The call's 902.
    Stopped,
}

#[derive(Debug, Clone)]
struct Pending {
    task: TaskId,
    record: CommandRecord,
    awaiting: Awaiting,
    since: Instant,
}

/// Locks, presence and commands waiting for their effect.
#[derive(Debug)]
pub(crate) struct Control {
    trtc: Option<Client>,
    lock_ttl: Duration,
    locks: Mutex<HashMap<TaskId, Lock>>,
    presence: Mutex<HashMap<(TaskId, String), Instant>>,
    pending: Mutex<Vec<Pending>>,
}

use crate::unpoisoned as guard;

impl Control {
    pub(crate) fn new(trtc: Option<Client>, lock_ttl: Duration) -> Control {
        Control {
            trtc,
            lock_ttl,
            locks: Mutex::new(HashMap::new()),
            presence: Mutex::new(HashMap::new()),
            pending: Mutex::new(Vec::new()),
        }
    }

    fn holder(&self, task: &TaskId) -> Option<String> {
        guard(&self.locks).get(task).map(|lock| lock.holder.clone())
    }

    /// Takes or renews the lock for `user`; `Err(holder)` when someone else holds it.
    fn take(&self, task: &TaskId, user: &str) -> Result<bool, String> {
        let mut locks = guard(&self.locks);
        match locks.get_mut(task) {
            Some(lock) if lock.holder == user => {
                lock.renewed = Instant::now();
                Ok(false)
            }
            Some(lock) => Err(lock.holder.clone()),
            None => {
                locks.insert(task.clone(), Lock { holder: user.to_owned(), renewed: Instant::now() });
                Ok(true)
            }
        }
    }
}

/// A command as sent.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum CommandRequest {
    Say {
        text: String,
        #[serde(default)]
        mode: SayMode,
        #[serde(default)]
        remember: bool,
        #[serde(default)]
        stop_after: bool,
    },
    Steer {
        prompt: String,
        #[serde(default)]
        interrupt: bool,
    },
    Whisper {
        text: String,
    },
    Update {
        #[serde(default)]
        welcome_message: Option<String>,
        #[serde(default)]
        interrupt_mode: Option<u64>,
        #[serde(default)]
        interrupt_speech_duration: Option<u64>,
        #[serde(default)]
        llm_config: Option<Value>,
        #[serde(default)]
        tts_config: Option<Value>,
        /// The call's system prompt from its next LLM request on. Applied by the hub's LLM
        /// gateway (`gateway`), so only for calls whose `LLMConfig.APIUrl` points there:
        /// `UpdateAIConversation` could only replace the whole `LLMConfig`, key included.
        #[serde(default)]
        system_prompt: Option<String>,
    },
    Stop,
    TakeOver,
    Reply {
        text: String,
    },
    HandBack,
}

/// When a pushed line is spoken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SayMode {
    /// Interrupt whatever the robot is doing.
    Now,
    /// After the current turn (DropMode 1).
    #[default]
    AfterTurn,
    /// Only if the robot is idle, else dropped (DropMode 0).
    WhenIdle,
}

impl CommandRequest {
    fn action(&self) -> CommandAction {
        match self {
            CommandRequest::Say { .. } => CommandAction::Say,
            CommandRequest::Steer { .. } => CommandAction::Steer,
            CommandRequest::Whisper { .. } => CommandAction::Whisper,
            CommandRequest::Update { .. } => CommandAction::Update,
            CommandRequest::Stop => CommandAction::Stop,
            CommandRequest::TakeOver => CommandAction::TakeOver,
            CommandRequest::Reply { .. } => CommandAction::Reply,
            CommandRequest::HandBack => CommandAction::HandBack,
        }
    }

    /// A short description for people and the audit trail.
    fn summary(&self) -> Option<String> {
        let clip = |text: &str| text.chars().take(200).collect::<String>();
        match self {
            CommandRequest::Say { text, mode, remember, stop_after } => Some(format!(
                "{} [{}{}{}]",
                clip(text),
                match mode {
                    SayMode::Now => "now",
                    SayMode::AfterTurn => "after turn",
                    SayMode::WhenIdle => "when idle",
                },
                if *remember { ", remembered" } else { "" },
                if *stop_after { ", then stop" } else { "" }
            )),
            CommandRequest::Steer { prompt, .. } => Some(clip(prompt)),
            CommandRequest::Whisper { text } | CommandRequest::Reply { text } => Some(clip(text)),
            CommandRequest::Update {
                welcome_message,
                interrupt_mode,
                interrupt_speech_duration,
                llm_config,
                tts_config,
                system_prompt,
            } => {
                let mut parts = Vec::new();
                if welcome_message.is_some() {
                    parts.push("welcome message".to_owned());
                }
                if let Some(mode) = interrupt_mode {
                    parts.push(format!("interrupt mode {mode}"));
                }
                if let Some(ms) = interrupt_speech_duration {
                    parts.push(format!("interrupt after {ms} ms"));
                }
                if let Some(llm) = llm_config {
                    let model = llm.get("Model").and_then(Value::as_str).unwrap_or("?");
                    parts.push(format!("LLM {model}"));
                }
                if let Some(tts) = tts_config {
                    let voice = ["VoiceId", "VoiceType", "VoiceName"]
                        .iter()
                        .find_map(|key| tts.get(key).map(|v| v.to_string().trim_matches('"').to_owned()))
                        .unwrap_or_else(|| "?".into());
                    parts.push(format!("voice {voice}"));
                }
                // Last, as the rest of the summary is the prompt itself (clipped).
                if let Some(prompt) = system_prompt {
                    let cut = prompt.chars().count() > 200;
                    parts.push(format!("{SYSTEM_PROMPT_SUMMARY}{}{}", clip(prompt), if cut { "…" } else { "" }));
                }
                Some(parts.join(", "))
            }
            CommandRequest::Stop | CommandRequest::TakeOver | CommandRequest::HandBack => None,
        }
    }

    /// Checks what serde cannot: non-empty text, settings that parse.
    fn validate(&self) -> Result<(), HttpError> {
        let empty = |what: &str| {
            HttpError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_command", format!("{what} must not be empty"))
        };
        match self {
            CommandRequest::Say { text, .. } | CommandRequest::Whisper { text } | CommandRequest::Reply { text }
                if text.trim().is_empty() =>
            {
                Err(empty("text"))
            }
            CommandRequest::Steer { prompt, .. } if prompt.trim().is_empty() => Err(empty("prompt")),
            CommandRequest::Update {
                welcome_message,
                interrupt_mode,
                interrupt_speech_duration,
                llm_config,
                tts_config,
                system_prompt,
            } => {
                if welcome_message.is_none()
                    && interrupt_mode.is_none()
                    && interrupt_speech_duration.is_none()
                    && llm_config.is_none()
                    && tts_config.is_none()
                    && system_prompt.is_none()
                {
                    return Err(empty("an update"));
                }
                if let Some(prompt) = system_prompt {
                    if prompt.trim().is_empty() {
                        return Err(empty("system_prompt"));
                    }
                    if prompt.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
                        return Err(HttpError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "invalid_command",
                            format!("system_prompt is longer than {MAX_SYSTEM_PROMPT_CHARS} characters"),
                        ));
                    }
                }
                if interrupt_mode.is_some_and(|mode| mode > 1) {
                    return Err(HttpError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_command",
                        "interrupt_mode is 0 (the customer can interrupt) or 1 (never)",
                    ));
                }
                if let Some(llm) = llm_config {
                    serde_json::from_value::<LLMConfig>(llm.clone()).map_err(|e| {
                        HttpError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_command", format!("llm_config: {e}"))
                    })?;
                }
                if let Some(tts) = tts_config {
                    serde_json::from_value::<TTSConfig>(tts.clone()).map_err(|e| {
                        HttpError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_command", format!("tts_config: {e}"))
                    })?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The round in play: the robot's current round, else the latest turn's.
fn round_in_play(shared: &Shared, task: &TaskId) -> Option<RoundId> {
    let board = shared.board_read();
    let call = board.call(task)?;
    call.robot_state()
        .and_then(|state| state.round.clone())
        .or_else(|| call.turns().last().map(|turn| turn.round().clone()))
}

/// The call `id` names, if the hub knows it; `404 unknown_call` otherwise.
pub(crate) fn known_call(shared: &Shared, id: &str) -> Result<TaskId, HttpError> {
    TaskId::parse(id)
        .filter(|task| shared.board_read().call(task).is_some())
        .ok_or_else(|| HttpError::new(StatusCode::NOT_FOUND, "unknown_call", format!("no call {id:?}")))
}

/// Appends to the audit trail (a failure is logged, never fatal to the request).
pub(crate) async fn audit(
    shared: &Shared,
    user: &User,
    task: &TaskId,
    round: Option<&RoundId>,
    action: &str,
    outcome: &str,
    detail: Option<String>,
) {
    let entry = AuditEntry {
        id: 0,
        at_ms: now_ms(),
        user: user.name.clone(),
        role: user.role.as_str().to_owned(),
        task_id: Some(task.as_str().to_owned()),
        round_id: round.map(|round| round.as_str().to_owned()),
        action: action.to_owned(),
        outcome: outcome.to_owned(),
        detail,
    };
    if let Err(error) = shared.store.audit(&entry).await {
        tracing::error!(%error, "cannot write the audit trail");
    }
}

async fn record_stage(shared: &Shared, task: &TaskId, record: &CommandRecord) {
    if let Err(error) = shared.record(task, EventBody::Command(record.clone())).await {
        tracing::error!(%error, "cannot record a command's stage");
    }
}

async fn record_lock(shared: &Shared, task: &TaskId, holder: Option<String>, by: &str, change: LockChange) {
    let body = EventBody::LockChanged { holder, by: by.to_owned(), change };
    if let Err(error) = shared.record(task, body).await {
        tracing::error!(%error, "cannot record a lock change");
    }
}

/// `POST /v1/calls/{id}/commands`.
pub(crate) async fn command(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, HttpError> {
    let user = authenticate(&shared, &headers, None).await?;
    shared.metrics.commands.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let key = headers
        .get("Idempotency-Key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or_else(|| body.get("idempotency_key").and_then(Value::as_str).map(str::to_owned))
        .filter(|key| !key.trim().is_empty() && key.len() <= 200)
        .ok_or_else(|| {
            HttpError::new(
                StatusCode::BAD_REQUEST,
                "missing_idempotency_key",
                "send an Idempotency-Key header (or idempotency_key field) of at most 200 characters",
            )
        })?;
    let mut request_body = body.clone();
    if let Some(object) = request_body.as_object_mut() {
        object.remove("idempotency_key");
    }
    let request: CommandRequest = serde_json::from_value(request_body)
        .map_err(|e| HttpError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_command", e.to_string()))?;
    request.validate()?;
    let task = known_call(&shared, &id)?;
    let action = request.action();
    let round = round_in_play(&shared, &task);
    if !user.role.may(action) {
        let needed = Role::needed_for(action);
        audit(
            &shared,
            &user,
            &task,
            round.as_ref(),
            action.as_str(),
            "denied",
            Some(format!("needs role {}", needed.as_str())),
        )
        .await;
        return Err(HttpError::new(
            StatusCode::FORBIDDEN,
            "role",
            format!("{} needs the {} role; {} is {}", action.as_str(), needed.as_str(), user.name, user.role.as_str()),
        ));
    }
    let canonical = serde_json::to_string(&request).unwrap_or_default();
    let command_id = match shared.store.begin_command(&user.name, &key, task.as_str(), &canonical, now_ms()).await? {
        Begun::New { command_id } => command_id,
        Begun::Replay { status, response, .. } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let body: Value = serde_json::from_str(&response).unwrap_or(Value::Null);
            return Ok((status, Json(body)).into_response());
        }
        Begun::InFlight { command_id } => {
            return Err(HttpError::new(
                StatusCode::CONFLICT,
                "in_flight",
                format!("command {command_id} with this key is still running; retry shortly"),
            ))
        }
        Begun::Conflict => {
            return Err(HttpError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this idempotency key was used for a different command",
            ))
        }
    };
    let (status, answer) = run(&shared, &user, &task, round, command_id.clone(), request).await;
    shared.store.finish_command(&command_id, status.as_u16(), &answer.to_string()).await?;
    Ok((status, Json(answer)).into_response())
}

/// Runs a new command to `accepted`/`done`/`failed`; the answer is stored for retries.
async fn run(
    shared: &Shared,
    user: &User,
    task: &TaskId,
    round: Option<RoundId>,
    command_id: String,
    request: CommandRequest,
) -> (StatusCode, Value) {
    let action = request.action();
    let mut record = CommandRecord {
        id: command_id.clone(),
        by: user.name.clone(),
        action,
        stage: CommandStage::Requested,
        round: round.clone(),
        summary: request.summary(),
        error: None,
    };
    let fail = |record: &mut CommandRecord, status: StatusCode, code: &str, message: String| {
        record.stage = CommandStage::Failed;
        record.error = Some(message.clone());
        (status, json!({ "command_id": record.id, "stage": "failed", "error": { "code": code, "message": message } }))
    };

    // The lock: who may act on a call someone holds.
    let holder = shared.control.holder(task);
    let lock_needed = matches!(action, CommandAction::Update | CommandAction::TakeOver);
    let holder_only = matches!(action, CommandAction::Reply | CommandAction::HandBack)
        || (matches!(action, CommandAction::Say | CommandAction::Steer | CommandAction::Whisper)
            && shared.gateway.taken_over_by(task).is_some());
    let denied = match &holder {
        Some(holder) if holder != &user.name && (lock_needed || holder_only) => {
            Some(format!("{holder} holds this call's lock"))
        }
        None if matches!(action, CommandAction::Reply | CommandAction::HandBack) => {
            Some("the call is not taken over".to_owned())
        }
        _ => None,
    };
    if let Some(reason) = denied {
        audit(shared, user, task, round.as_ref(), action.as_str(), "denied", Some(reason.clone())).await;
        return fail(&mut record, StatusCode::CONFLICT, "locked", reason);
    }
    record_stage(shared, task, &record).await;

    if lock_needed {
        match shared.control.take(task, &user.name) {
            Ok(true) => {
                record_lock(shared, task, Some(user.name.clone()), &user.name, LockChange::Taken).await;
                audit(shared, user, task, round.as_ref(), "lock", "taken", Some(action.as_str().into())).await;
            }
            Ok(false) => {}
            Err(holder) => {
                let answer =
                    fail(&mut record, StatusCode::CONFLICT, "locked", format!("{holder} holds this call's lock"));
                record_stage(shared, task, &record).await;
                return answer;
            }
        }
    } else if holder.as_deref() == Some(user.name.as_str()) {
        let _ = shared.control.take(task, &user.name);
    }

    let outcome = execute(shared, user, task, &record, request).await;
    let answer = match outcome {
        Ok(stage) => {
            record.stage = stage;
            (StatusCode::ACCEPTED, json!({ "command_id": record.id, "stage": stage }))
        }
        Err((status, code, message)) => fail(&mut record, status, code, message),
    };
    record_stage(shared, task, &record).await;
    let outcome = match record.stage {
        CommandStage::Failed => "failed",
        CommandStage::Done => "done",
        _ => "accepted",
    };
    audit(
        shared,
        user,
        task,
        round.as_ref(),
        action.as_str(),
        outcome,
        record.error.clone().or(record.summary.clone()),
    )
    .await;
    answer
}

type Failure = (StatusCode, &'static str, String);

fn cloud(shared: &Shared) -> Result<&Client, Failure> {
    shared.control.trtc.as_ref().ok_or((
        StatusCode::SERVICE_UNAVAILABLE,
        "no_credentials",
        "the hub has no Cloud API credentials (TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY)".to_owned(),
    ))
}

fn cloud_failure(error: trtc::error::ClientError) -> Failure {
    let status = if error.api().is_some() { StatusCode::BAD_GATEWAY } else { StatusCode::GATEWAY_TIMEOUT };
    (status, "cloud_api", error.to_string())
}

/// Registers what the command waits for, before the Cloud API is asked, so the effect
/// cannot arrive unseen.
fn expect(shared: &Shared, task: &TaskId, record: &CommandRecord, awaiting: Awaiting) {
    let mut record = record.clone();
    record.stage = CommandStage::Done;
    guard(&shared.control.pending).push(Pending { task: task.clone(), record, awaiting, since: Instant::now() });
}

fn unexpect(shared: &Shared, record: &CommandRecord) {
    guard(&shared.control.pending).retain(|pending| pending.record.id != record.id);
}

/// A Cloud API answer as the command's stage: accepted, or failed with Tencent's error
/// (and no longer waiting for an effect that will not come).
fn accepted<T>(
    shared: &Shared,
    record: &CommandRecord,
    result: Result<T, trtc::error::ClientError>,
) -> Result<CommandStage, Failure> {
    result.map(|_| CommandStage::Accepted).map_err(|error| {
        unexpect(shared, record);
        cloud_failure(error)
    })
}

/// Carries the command out; the stage it reached, or why it failed.
async fn execute(
    shared: &Shared,
    user: &User,
    task: &TaskId,
    record: &CommandRecord,
    request: CommandRequest,
) -> Result<CommandStage, Failure> {
    match request {
        CommandRequest::Say { text, mode, remember, stop_after } => {
            let client = cloud(shared)?;
            let push = ServerPushText {
                text: Some(text.clone()),
                interrupt: Some(mode == SayMode::Now),
                stop_after_play: Some(stop_after),
                drop_mode: Some(u64::from(mode == SayMode::AfterTurn)),
                add_history: Some(remember),
                ..ServerPushText::default()
            };
            expect(shared, task, record, Awaiting::Spoken(text));
            let result = client.control_ai_conversation(&ControlAIConversation::push_text(task.as_str(), push)).await;
            accepted(shared, record, result)
        }
        CommandRequest::Steer { prompt, interrupt } => {
            let client = cloud(shared)?;
            let invoke = InvokeLLM { content: Some(prompt), interrupt: Some(interrupt), experimental_params: None };
            expect(shared, task, record, Awaiting::Reply);
            let result =
                client.control_ai_conversation(&ControlAIConversation::invoke_llm(task.as_str(), invoke)).await;
            accepted(shared, record, result)
        }
        CommandRequest::Whisper { text } => {
            shared.gateway.whisper(task, record.clone(), text);
            Ok(CommandStage::Accepted)
        }
        CommandRequest::Update {
            welcome_message,
            interrupt_mode,
            interrupt_speech_duration,
            llm_config,
            tts_config,
            system_prompt,
        } => {
            let cloud_part = welcome_message.is_some()
                || interrupt_mode.is_some()
                || interrupt_speech_duration.is_some()
                || llm_config.is_some()
                || tts_config.is_some();
            if let Some(prompt) = &system_prompt {
                // Refused before anything changes: a prompt for a call whose LLM requests
                // never came through the gateway would silently do nothing.
                if !shared.gateway.has_seen(task) {
                    return Err((
                        StatusCode::CONFLICT,
                        "prompt_needs_gateway",
                        "no LLM request of this call has come through the hub's LLM gateway yet (a call whose LLMConfig.APIUrl points elsewhere never sends one), so its system prompt cannot be changed here yet".into(),
                    ));
                }
                if !cloud_part {
                    shared.gateway.set_system_prompt(task, prompt.clone());
                    return Ok(CommandStage::Done);
                }
            }
            let client = cloud(shared)?;
            let mut update = UpdateAIConversation::new(task.as_str());
            update.welcome_message = welcome_message;
            update.interrupt_mode = interrupt_mode;
            update.interrupt_speech_duration = interrupt_speech_duration;
            // Validated before: these parse.
            update.llm_config = llm_config.and_then(|llm| serde_json::from_value(llm).ok());
            update.tts_config = tts_config.and_then(|tts| serde_json::from_value(tts).ok());
            client.update_ai_conversation(&update).await.map_err(cloud_failure)?;
            // Only once TRTC took the rest, so a refused update changes nothing at all.
            if let Some(prompt) = system_prompt {
                shared.gateway.set_system_prompt(task, prompt);
            }
            Ok(CommandStage::Done)
        }
        CommandRequest::Stop => {
            let client = cloud(shared)?;
            expect(shared, task, record, Awaiting::Stopped);
            let stop = StopAIConversation { task_id: task.as_str().to_owned() };
            accepted(shared, record, client.stop_ai_conversation(&stop).await)
        }
        CommandRequest::TakeOver => {
            shared.gateway.take_over(task, &user.name);
            Ok(CommandStage::Done)
        }
        CommandRequest::Reply { text } => {
            if shared.gateway.human_reply(task, &text) {
                // A request of the robot was waiting: the text goes out as its answer.
                expect(shared, task, record, Awaiting::Spoken(text));
                return Ok(CommandStage::Accepted);
            }
            // Nobody asked yet: the robot says it now, and keeps it in its history.
            let client = cloud(shared)?;
            let push = ServerPushText {
                text: Some(text.clone()),
                interrupt: Some(false),
                drop_mode: Some(1),
                add_history: Some(true),
                ..ServerPushText::default()
            };
            shared.gateway.remember_human_line(task, &text);
            expect(shared, task, record, Awaiting::Spoken(text));
            let result = client.control_ai_conversation(&ControlAIConversation::push_text(task.as_str(), push)).await;
            accepted(shared, record, result)
        }
        CommandRequest::HandBack => {
            shared.gateway.hand_back(task);
            if guard(&shared.control.locks).remove(task).is_some() {
                record_lock(shared, task, None, &user.name, LockChange::Released).await;
                audit(shared, user, task, record.round.as_ref(), "lock", "released", Some("hand back".into())).await;
            }
            Ok(CommandStage::Done)
        }
    }
}

/// Marks commands done when the event they wait for arrives; runs for the hub's life.
pub(crate) async fn watch_outcomes(shared: Arc<Shared>) {
    let mut live = shared.live.subscribe();
    loop {
        match live.recv().await {
            Ok(published) => settle(&shared, &published.event).await,
            // Missed events can only delay a `done` until the timeout marks it failed.
            Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
    }
}

fn same_text(a: &str, b: &str) -> bool {
    let squash = |text: &str| text.split_whitespace().collect::<String>();
    squash(a) == squash(b)
}

async fn settle(shared: &Shared, event: &Event) {
    let Some(task) = &event.call.task else { return };
    let robot_line: Option<&str> = match &event.body {
        EventBody::Sentence(sentence) if sentence.is_final && sentence.speaker != Some(Speaker::User) => {
            Some(sentence.text.as_str())
        }
        EventBody::RobotFinishedSpeaking { text, .. } => Some(text.as_str()),
        _ => None,
    };
    let stopped = matches!(event.body, EventBody::TaskStopped { .. });
    if robot_line.is_none() && !stopped {
        return;
    }
    let settled: Vec<Pending> = {
        let mut pending = guard(&shared.control.pending);
        let (done, rest): (Vec<Pending>, Vec<Pending>) = pending.drain(..).partition(|p| {
            &p.task == task
                && match (&p.awaiting, robot_line) {
                    (Awaiting::Spoken(text), Some(line)) => same_text(text, line),
                    (Awaiting::Reply, Some(_)) => true,
                    (Awaiting::Stopped, _) => stopped,
                    _ => false,
                }
        });
        *pending = rest;
        done
    };
    for done in settled {
        record_stage(shared, &done.task, &done.record).await;
    }
    if stopped {
        // The call is over: its gateway state goes, and so does its lock.
        shared.gateway.forget(task);
        let holder = guard(&shared.control.locks).remove(task).map(|lock| lock.holder);
        if let Some(holder) = holder {
            record_lock(shared, task, None, &holder, LockChange::Released).await;
        }
    }
}

/// Fails commands whose effect never came, ends stale presence and expired locks.
pub(crate) async fn expire_locks(shared: &Shared) {
    let now = Instant::now();
    let overdue: Vec<Pending> = {
        let mut pending = guard(&shared.control.pending);
        let (overdue, rest): (Vec<Pending>, Vec<Pending>) =
            pending.drain(..).partition(|p| now.duration_since(p.since) > OUTCOME_TIMEOUT);
        *pending = rest;
        overdue
    };
    for mut late in overdue {
        late.record.stage = CommandStage::Failed;
        late.record.error = Some(match late.awaiting {
            Awaiting::Spoken(_) => "not spoken: TRTC dropped the line (the robot was busy) or the call ended".into(),
            Awaiting::Reply => "the robot did not reply".into(),
            Awaiting::Stopped => "the call did not stop".into(),
        });
        record_stage(shared, &late.task, &late.record).await;
    }
    let expired: Vec<(TaskId, String)> = {
        let mut locks = guard(&shared.control.locks);
        let ttl = shared.control.lock_ttl;
        let expired: Vec<(TaskId, String)> = locks
            .iter()
            .filter(|(_, lock)| now.duration_since(lock.renewed) > ttl)
            .map(|(task, lock)| (task.clone(), lock.holder.clone()))
            .collect();
        for (task, _) in &expired {
            locks.remove(task);
        }
        expired
    };
    for (task, holder) in expired {
        if shared.gateway.taken_over_by(&task).is_some() {
            shared.gateway.hand_back(&task);
        }
        record_lock(shared, &task, None, &holder, LockChange::Expired).await;
    }
    let gone: Vec<(TaskId, String)> = {
        let mut presence = guard(&shared.control.presence);
        let gone: Vec<(TaskId, String)> = presence
            .iter()
            .filter(|(_, seen)| now.duration_since(**seen) > PRESENCE_TTL)
            .map(|(key, _)| key.clone())
            .collect();
        for key in &gone {
            presence.remove(key);
        }
        gone
    };
    for (task, supervisor) in gone {
        let _ = shared.record(&task, EventBody::PresenceChanged { supervisor, watching: false }).await;
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct LockRequest {
    action: LockAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LockAction {
    Take,
    Renew,
    Release,
    Break,
}

/// `POST /v1/calls/{id}/lock` with `{"action": "take" | "renew" | "release" | "break"}`.
pub(crate) async fn lock(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(request): Json<LockRequest>,
) -> Result<Json<Value>, HttpError> {
    let user = authenticate(&shared, &headers, None).await?;
    let task = known_call(&shared, &id)?;
    let round = round_in_play(&shared, &task);
    let name = user.name.clone();
    let deny = |reason: String| HttpError::new(StatusCode::CONFLICT, "locked", reason);
    let result: Result<Option<(Option<String>, LockChange)>, HttpError> = match request.action {
        LockAction::Take | LockAction::Renew => {
            if user.role < Role::Lead {
                Err(HttpError::new(StatusCode::FORBIDDEN, "role", "taking a call's lock needs the lead role"))
            } else {
                match shared.control.take(&task, &name) {
                    Ok(true) => Ok(Some((Some(name.clone()), LockChange::Taken))),
                    Ok(false) => Ok(None),
                    Err(holder) => Err(deny(format!("{holder} holds this call's lock"))),
                }
            }
        }
        LockAction::Release => {
            let mut locks = guard(&shared.control.locks);
            match locks.get(&task) {
                Some(lock) if lock.holder == name => {
                    locks.remove(&task);
                    Ok(Some((None, LockChange::Released)))
                }
                Some(lock) => Err(deny(format!("{} holds this call's lock, not {name}", lock.holder))),
                None => Ok(None),
            }
        }
        LockAction::Break => {
            if user.role < Role::Lead {
                Err(HttpError::new(StatusCode::FORBIDDEN, "role", "breaking a lock needs the lead role"))
            } else {
                let mut locks = guard(&shared.control.locks);
                let previous = locks.insert(task.clone(), Lock { holder: name.clone(), renewed: Instant::now() });
                Ok(Some((Some(name.clone()), if previous.is_some() { LockChange::Broken } else { LockChange::Taken })))
            }
        }
    };
    let action = format!("lock_{:?}", request.action).to_lowercase();
    match result {
        Ok(change) => {
            if let Some((holder, change)) = change {
                if change == LockChange::Released && shared.gateway.taken_over_by(&task).is_some() {
                    shared.gateway.hand_back(&task);
                }
                if let Some(previous) = shared.gateway.taken_over_by(&task).filter(|_| change == LockChange::Broken) {
                    // The lead who broke the lock now answers for the robot; say so in the log.
                    shared.gateway.take_over(&task, &name);
                    let record = CommandRecord {
                        id: uuid::Uuid::new_v4().to_string(),
                        by: name.clone(),
                        action: CommandAction::TakeOver,
                        stage: CommandStage::Done,
                        round: round.clone(),
                        summary: Some(format!("took over from {previous} (lock broken)")),
                        error: None,
                    };
                    record_stage(&shared, &task, &record).await;
                }
                record_lock(&shared, &task, holder, &name, change).await;
                audit(&shared, &user, &task, round.as_ref(), &action, &format!("{change:?}").to_lowercase(), None)
                    .await;
            }
            Ok(Json(json!({ "holder": shared.control.holder(&task) })))
        }
        Err(error) => {
            audit(&shared, &user, &task, round.as_ref(), &action, "denied", Some(error.message.clone())).await;
            Err(error)
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PresenceRequest {
    watching: bool,
}

/// `POST /v1/calls/{id}/presence` with `{"watching": bool}`; repeat while the call is open.
pub(crate) async fn presence(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(request): Json<PresenceRequest>,
) -> Result<Json<Value>, HttpError> {
    let user = authenticate(&shared, &headers, None).await?;
    let task = known_call(&shared, &id)?;
    let key = (task.clone(), user.name.clone());
    let changed = {
        let mut presence = guard(&shared.control.presence);
        if request.watching {
            presence.insert(key, Instant::now()).is_none()
        } else {
            presence.remove(&key).is_some()
        }
    };
    if changed {
        shared
            .record(&task, EventBody::PresenceChanged { supervisor: user.name.clone(), watching: request.watching })
            .await?;
    }
    let watchers: Vec<String> = shared
        .board_read()
        .call(&task)
        .map_or_else(Vec::new, |call| call.oversight().watchers().map(str::to_owned).collect());
    Ok(Json(json!({ "watchers": watchers })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct TicketRequest {
    call_id: String,
}

/// `POST /v1/room-tickets` with `{"call_id"}`: a short-lived UserSig for a hidden
/// supervisor user in the call's room. Every role may watch.
pub(crate) async fn room_ticket(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(request): Json<TicketRequest>,
) -> Result<Json<Value>, HttpError> {
    let user = authenticate(&shared, &headers, None).await?;
    let task = known_call(&shared, &request.call_id)?;
    let secret = shared.config.sdk_secret_key.as_ref().ok_or_else(|| {
        HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_sdk_secret",
            "the hub has no SDK secret key (TRTC_SDK_SECRET_KEY) to issue room tickets",
        )
    })?;
    let room = shared.board_read().call(&task).and_then(|call| call.room().cloned()).ok_or_else(|| {
        HttpError::new(StatusCode::CONFLICT, "no_room_yet", "the call's room is not known yet; retry in a moment")
    })?;
    // A hidden user per supervisor and ticket: letters, digits, '_' and '-' only.
    let name: String = user.name.chars().filter(|c| c.is_ascii_alphanumeric()).take(16).collect();
    let user_id = format!("sb_sup_{name}_{:06x}", rand::random::<u32>() & 0xff_ffff);
    let now = now_ms() / 1000;
    let user_sig = trtc::usersig::generate(shared.config.sdk_app_id, secret.expose(), &user_id, TICKET_TTL_SECS, now)
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "usersig", e.to_string()))?;
    audit(&shared, &user, &task, None, "room_ticket", "issued", Some(user_id.clone())).await;
    Ok(Json(json!({
        "sdk_app_id": shared.config.sdk_app_id,
        "room_id": room.as_str(),
        "room_id_type": u8::from(room.kind() == RoomIdKind::Str),
        "user_id": user_id,
        "user_sig": user_sig,
        "expires_at": now + TICKET_TTL_SECS,
    })))
}
