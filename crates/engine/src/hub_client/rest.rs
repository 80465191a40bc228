//! The hub's REST API as typed methods of [`HubClient`]: health and the connection test,
//! call snapshots, commands (with an idempotency key), the call's lock, presence, room
//! tickets, recordings, the audit trail, and a call's review (notes, tags, QA score).
//!
//! Requests and answers mirror the hub's `control` and `read` modules field for field;
//! the domain types (`Call`, `Health`, `CommandStage`, …) are the same ones the hub
//! serialises. Every method answers a typed result or a [`HubError`] naming what failed.
//!
//! What deliberately does not: the event stream (`stream`), downloads
//! ([`crate::recordings`]), retries (a command is retried by sending it again with the same
//! [`IdempotencyKey`]; the hub answers what it answered the first time).

use std::fmt;

use domain::board::{RecordingStatus, RoomKey};
use domain::call::{Call, CallCounts, CallStatus, Health, RobotStateAt, Stamped};
use domain::event::{CommandRecord, CommandStage};
use domain::ids::{RoomId, RoundId, SdkAppId, SourceMs, TaskId, UserId};
use hub::auth::Role;
use reqwest::Method;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::json;
use trtc::model::{LLMConfig, TTSConfig};

use super::{HubClient, HubError};

/// What `GET /healthz` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct HubHealth {
    /// The hub's last event sequence.
    pub last_seq: u64,
}

/// Who a token signs in as, and how far the hub's log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubIdentity {
    pub user: String,
    pub role: Role,
    pub last_seq: u64,
}

/// `GET /v1/calls`: every call, worst health first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CallsPage {
    /// The hub's last sequence when the page was made.
    pub last_seq: u64,
    pub calls: Vec<CallSummary>,
}

/// One call on the wall, as the hub summarises it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CallSummary {
    pub task_id: TaskId,
    pub sdk_app_id: Option<SdkAppId>,
    pub room: Option<RoomId>,
    pub status: CallStatus,
    pub live: bool,
    pub robot_state: Option<RobotStateAt>,
    pub started_ms: Option<SourceMs>,
    pub ended_ms: Option<SourceMs>,
    pub duration_ms: u64,
    pub counts: CallCounts,
    pub health: Health,
    pub last_user_sentence: Option<String>,
    pub last_robot_sentence: Option<String>,
    pub lock_holder: Option<String>,
    pub watchers: Vec<String>,
    pub taken_over_by: Option<String>,
}

/// `GET /v1/calls/{id}`: the whole folded call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CallSnapshot {
    pub last_seq: u64,
    pub summary: CallSummary,
    pub call: Call,
    /// Each command's latest stage, in source-time order.
    pub commands: Vec<Stamped<CommandRecord>>,
}

/// When a pushed line is spoken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SayMode {
    /// Interrupt whatever the robot is doing.
    Now,
    /// After the current turn.
    #[default]
    AfterTurn,
    /// Only if the robot is idle, else dropped.
    WhenIdle,
}

/// Whether the customer can interrupt the robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterruptMode {
    /// The customer's speech interrupts the robot (TRTC's 0).
    CustomerCanInterrupt,
    /// The robot always finishes (TRTC's 1).
    Never,
}

impl Serialize for InterruptMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(match self {
            InterruptMode::CustomerCanInterrupt => 0,
            InterruptMode::Never => 1,
        })
    }
}

/// A supervisor's command on a call (`POST /v1/calls/{id}/commands`). The role each
/// needs is the hub's to check: say, steer, whisper and stop need `supervisor`; the
/// others `lead`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CallCommand {
    /// Make the robot say `text`.
    Say {
        text: String,
        mode: SayMode,
        /// Keep the line in the robot's history.
        remember: bool,
        /// End the call once the line is spoken.
        stop_after: bool,
    },
    /// Ask the LLM for a reply guided by `prompt`.
    Steer { prompt: String, interrupt: bool },
    /// Private guidance added to the robot's next LLM request.
    Whisper { text: String },
    /// Change the call's settings (at least one field).
    Update {
        #[serde(skip_serializing_if = "Option::is_none")]
        welcome_message: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        interrupt_mode: Option<InterruptMode>,
        /// Milliseconds of customer speech that interrupt the robot.
        #[serde(skip_serializing_if = "Option::is_none")]
        interrupt_speech_duration: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        llm_config: Option<Box<LLMConfig>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tts_config: Option<Box<TTSConfig>>,
        /// Applied by the hub's LLM gateway, from the call's next LLM request on.
        #[serde(skip_serializing_if = "Option::is_none")]
        system_prompt: Option<String>,
    },
    /// End the call.
    Stop,
    /// Answer for the robot as a human (takes the call's lock).
    TakeOver,
    /// The human's line while the call is taken over.
    Reply { text: String },
    /// Give the call back to the AI.
    HandBack,
}

/// A command's idempotency key: the same key with the same command is applied once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh random key (UUID v4).
    pub fn random() -> IdempotencyKey {
        IdempotencyKey(uuid::Uuid::new_v4().to_string())
    }

    /// A key the caller keeps (e.g. stored with a queued command to retry it later).
    ///
    /// # Errors
    /// [`HubError::Invalid`] when blank, longer than 200 bytes, or not a header value.
    pub fn parse(key: &str) -> Result<IdempotencyKey, HubError> {
        let invalid = |problem: &str| HubError::Invalid { what: "the idempotency key", problem: problem.into() };
        if key.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        if key.len() > 200 {
            return Err(invalid("it is longer than 200 bytes"));
        }
        if !key.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(invalid("it may only contain visible ASCII characters"));
        }
        Ok(IdempotencyKey(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the hub answered a command: its id and the stage it reached (`accepted` or
/// `done`; the rest arrives as events). A retried command answers the same.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CommandAnswer {
    pub command_id: String,
    pub stage: CommandStage,
}

/// What to do with a call's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockAction {
    /// Take it when free (lead).
    Take,
    /// Keep holding it (lead).
    Renew,
    /// Let it go (the holder).
    Release,
    /// Take it from whoever holds it (lead).
    Break,
}

/// The call's lock after a lock request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LockAnswer {
    /// Who holds it now (`None`: free).
    pub holder: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Watchers {
    watchers: Vec<String>,
}

/// A short-lived ticket into the call's TRTC room (a hidden supervisor user). Its
/// `Debug` hides the UserSig.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct RoomTicket {
    pub sdk_app_id: u64,
    pub room_id: String,
    /// 0: numeric room, 1: string room.
    pub room_id_type: u8,
    pub user_id: String,
    pub user_sig: String,
    /// Unix seconds.
    pub expires_at: u64,
}

impl fmt::Debug for RoomTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoomTicket")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("room_id", &self.room_id)
            .field("room_id_type", &self.room_id_type)
            .field("user_id", &self.user_id)
            .field("user_sig", &"***")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// One cloud recording the hub heard of, with its files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Recording {
    /// The recording task (not the AI task).
    pub recording_task_id: TaskId,
    pub room: RoomKey,
    pub status: RecordingStatus,
    /// Every file name reported so far.
    pub file_names: Vec<String>,
    /// Files committed and downloadable.
    pub files: Vec<RecordingFile>,
}

/// A downloadable recording file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecordingFile {
    pub user: Option<UserId>,
    pub media: Option<String>,
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
    /// The file's name.
    pub name: String,
    /// The hub path that redirects to the file (`/v1/recordings/{task}/{name}`).
    pub download: String,
}

#[derive(Debug, Deserialize)]
struct Recordings {
    recordings: Vec<Recording>,
}

/// Which audit entries to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this call's.
    pub call: Option<TaskId>,
    /// Only entries older than this id (for paging back).
    pub before: Option<i64>,
    /// At most this many (the hub allows 1–1000; default 100).
    pub limit: Option<u32>,
}

/// One audit entry, newest first (the cache keeps these as they came).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The hub's id for the entry.
    pub id: i64,
    pub at_ms: u64,
    pub user: String,
    pub role: String,
    pub task_id: Option<String>,
    pub round_id: Option<String>,
    pub action: String,
    pub outcome: String,
    pub detail: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AuditPage {
    entries: Vec<AuditEntry>,
}

impl HubClient {
    /// `GET /healthz` (no token).
    ///
    /// # Errors
    /// [`HubError::Unreachable`] / [`HubError::Timeout`] when nothing answers;
    /// [`HubError::NotAHub`] when the answer is not the hub's health JSON;
    /// [`HubError::Refused`] when the hub says it is unhealthy (503).
    pub async fn health(&self) -> Result<HubHealth, HubError> {
        let url = self.url(&["healthz"]);
        let (url, response) = self.send(self.inner.http.get(url)).await?;
        let status = response.status();
        let body = response.bytes().await.map_err(|error| HubError::from_transport(url.as_str(), &error))?;
        let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        let field = |name: &str| parsed.as_ref().and_then(|value| value.get(name));
        match field("status").and_then(serde_json::Value::as_str) {
            Some("ok") => match field("last_seq").and_then(serde_json::Value::as_u64) {
                Some(last_seq) => Ok(HubHealth { last_seq }),
                None => Err(not_a_hub(self, "/healthz has no last_seq")),
            },
            Some("error") => Err(HubError::Refused(super::Refusal {
                status: status.as_u16(),
                code: "unhealthy".into(),
                message: field("message").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned(),
                command_id: None,
            })),
            _ => Err(not_a_hub(self, &format!("GET /healthz answered {status} without the hub's health JSON"))),
        }
    }

    /// Checks the address, the token and the role, as the settings screen's "Test"
    /// does: the hub answers its health, then greets this token on its stream.
    ///
    /// # Errors
    /// Each failure named: [`HubError::Unreachable`] (nothing listens, or the address
    /// does not resolve), [`HubError::Timeout`], [`HubError::NotAHub`] (something else
    /// answers there), [`HubError::Unauthorized`] (the token was refused),
    /// [`HubError::Stream`] (the stream could not be opened).
    pub async fn test_connection(&self) -> Result<HubIdentity, HubError> {
        let health = self.health().await?;
        let (user, role, last_seq) = self.greet(health.last_seq).await?;
        Ok(HubIdentity { user, role, last_seq })
    }

    /// `GET /v1/calls` (only live calls when `live_only`).
    ///
    /// # Errors
    /// As every request: unreachable, timeout, token refused, or an unreadable answer.
    pub async fn calls(&self, live_only: bool) -> Result<CallsPage, HubError> {
        let mut url = self.url(&["v1", "calls"]);
        if live_only {
            url.set_query(Some("live=true"));
        }
        self.send_json("GET /v1/calls", self.request(Method::GET, url)).await
    }

    /// `GET /v1/calls/{id}`.
    ///
    /// # Errors
    /// [`HubError::Refused`] with `unknown_call` (404) for a call the hub does not know.
    pub async fn call(&self, task: &TaskId) -> Result<CallSnapshot, HubError> {
        let url = self.url(&["v1", "calls", task.as_str()]);
        self.send_json("GET /v1/calls/{id}", self.request(Method::GET, url)).await
    }

    /// `POST /v1/calls/{id}/commands` with `key` as the `Idempotency-Key`.
    ///
    /// # Errors
    /// [`HubError::Refused`] with the hub's code: `role` (403) when the supervisor's role
    /// may not, `locked` (409) when someone else holds the call, `invalid_command` (422),
    /// `idempotency_key_reused` (422) for a key used with another command, `in_flight`
    /// (409) while the first of two identical requests still runs, `unknown_call` (404),
    /// `no_credentials` (503) and `cloud_api` (502/504) from the Cloud API; a refusal after
    /// the command was recorded carries its `command_id`.
    pub async fn post_command(
        &self,
        task: &TaskId,
        key: &IdempotencyKey,
        command: &CallCommand,
    ) -> Result<CommandAnswer, HubError> {
        let url = self.url(&["v1", "calls", task.as_str(), "commands"]);
        let request = self.request(Method::POST, url).header("Idempotency-Key", key.as_str()).json(command);
        self.send_json("a command", request).await
    }

    /// `POST /v1/calls/{id}/lock`.
    ///
    /// # Errors
    /// [`HubError::Refused`] with `role` (403) for take/renew/break without the lead role,
    /// `locked` (409) when someone else holds it.
    pub async fn lock(&self, task: &TaskId, action: LockAction) -> Result<LockAnswer, HubError> {
        let url = self.url(&["v1", "calls", task.as_str(), "lock"]);
        self.send_json("a lock request", self.request(Method::POST, url).json(&json!({ "action": action }))).await
    }

    /// `POST /v1/calls/{id}/presence`: the console is (or is no longer) watching the
    /// call; repeat `true` at least every 30 s while it is open. Answers who is watching.
    ///
    /// # Errors
    /// As every request; `unknown_call` (404).
    pub async fn presence(&self, task: &TaskId, watching: bool) -> Result<Vec<String>, HubError> {
        let url = self.url(&["v1", "calls", task.as_str(), "presence"]);
        let request = self.request(Method::POST, url).json(&json!({ "watching": watching }));
        let answer: Watchers = self.send_json("a presence update", request).await?;
        Ok(answer.watchers)
    }

    /// `POST /v1/room-tickets`: a UserSig to join the call's room hidden.
    ///
    /// # Errors
    /// `no_sdk_secret` (503) when the hub cannot issue tickets, `no_room_yet` (409).
    pub async fn room_ticket(&self, task: &TaskId) -> Result<RoomTicket, HubError> {
        let url = self.url(&["v1", "room-tickets"]);
        let request = self.request(Method::POST, url).json(&json!({ "call_id": task.as_str() }));
        self.send_json("a room ticket", request).await
    }

    /// `GET /v1/recordings`.
    ///
    /// # Errors
    /// As every request.
    pub async fn recordings(&self) -> Result<Vec<Recording>, HubError> {
        let url = self.url(&["v1", "recordings"]);
        let page: Recordings = self.send_json("GET /v1/recordings", self.request(Method::GET, url)).await?;
        Ok(page.recordings)
    }

    /// `GET /v1/audit`, newest first.
    ///
    /// # Errors
    /// As every request.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, HubError> {
        let mut url = self.url(&["v1", "audit"]);
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(call) = &query.call {
                pairs.append_pair("call", call.as_str());
            }
            if let Some(before) = query.before {
                pairs.append_pair("before", &before.to_string());
            }
            if let Some(limit) = query.limit {
                pairs.append_pair("limit", &limit.to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let page: AuditPage = self.send_json("GET /v1/audit", self.request(Method::GET, url)).await?;
        Ok(page.entries)
    }
}

fn not_a_hub(client: &HubClient, detail: &str) -> HubError {
    HubError::NotAHub { url: client.base_url().to_owned(), detail: detail.to_owned() }
}

// ---- review: notes, tags, QA scores ----

/// A note to push: `POST /v1/calls/{id}/notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteRequest {
    /// The note's UUID, chosen when it was written; a retry with the same id adds nothing.
    pub id: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round: Option<RoundId>,
    /// When it was written (the hub keeps it, within the last 30 days).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_ms: Option<u64>,
}

/// A note as the hub recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoredNote {
    pub call_id: TaskId,
    pub id: String,
    /// The supervisor the token belongs to.
    pub author: String,
    pub round: Option<RoundId>,
    pub text: String,
    /// The note's time on the hub (its event's source time).
    pub at_ms: u64,
}

/// A call's tags as they stand on the hub after a change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CallTags {
    pub tags: Vec<String>,
    /// Who set them, and when; `None` if nobody ever did.
    pub author: Option<String>,
    pub at_ms: Option<u64>,
}

/// A call's QA score as it stands on the hub after a change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CallQa {
    pub score: Option<u8>,
    pub comment: Option<String>,
    pub author: Option<String>,
    pub at_ms: Option<u64>,
}

impl HubClient {
    /// `POST /v1/calls/{id}/notes`: adds a note, or finds it already there (same id, same
    /// note) — either way answers the note as the hub has it. Every role may.
    ///
    /// # Errors
    /// [`HubError::Refused`] with `invalid_field` (400, the message names the field),
    /// `unknown_call` (404), `note_id_taken` (409: the id belongs to another note); as
    /// every request otherwise.
    pub async fn add_note(&self, task: &TaskId, note: &NoteRequest) -> Result<StoredNote, HubError> {
        let url = self.url(&["v1", "calls", task.as_str(), "notes"]);
        self.send_json("a note", self.request(Method::POST, url).json(note)).await
    }

    /// `PUT /v1/calls/{id}/tags`: replaces the call's tag set (empty clears it); `written`
    /// is when the supervisor set it. Answers the call's tags as they now stand.
    ///
    /// # Errors
    /// As [`HubClient::add_note`], without `note_id_taken`.
    pub async fn set_tags(
        &self,
        task: &TaskId,
        tags: &[String],
        written: Option<SourceMs>,
    ) -> Result<CallTags, HubError> {
        let url = self.url(&["v1", "calls", task.as_str(), "tags"]);
        let mut body = json!({ "tags": tags });
        if let Some(written) = written {
            body["written_ms"] = json!(written.0);
        }
        self.send_json("a tag change", self.request(Method::PUT, url).json(&body)).await
    }

    /// `PUT /v1/calls/{id}/qa`: scores the call (0–100) with an optional comment; `written`
    /// is when the reviewer scored it. Answers the call's score as it now stands.
    ///
    /// # Errors
    /// As [`HubClient::set_tags`].
    pub async fn set_qa(
        &self,
        task: &TaskId,
        score: u8,
        comment: Option<&str>,
        written: Option<SourceMs>,
    ) -> Result<CallQa, HubError> {
        let url = self.url(&["v1", "calls", task.as_str(), "qa"]);
        let mut body = json!({ "score": score, "comment": comment });
        if let Some(written) = written {
            body["written_ms"] = json!(written.0);
        }
        self.send_json("a QA score", self.request(Method::PUT, url).json(&body)).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn commands_serialise_as_the_hub_reads_them() {
        let cases = [
            (
                CallCommand::Say { text: "请稍等".into(), mode: SayMode::Now, remember: true, stop_after: false },
                json!({"action": "say", "text": "请稍等", "mode": "now", "remember": true, "stop_after": false}),
            ),
            (
                CallCommand::Steer { prompt: "be brief".into(), interrupt: false },
                json!({"action": "steer", "prompt": "be brief", "interrupt": false}),
            ),
            (
                CallCommand::Whisper { text: "offer a refund".into() },
                json!({"action": "whisper", "text": "offer a refund"}),
            ),
            (
                CallCommand::Update {
                    welcome_message: None,
                    interrupt_mode: Some(InterruptMode::Never),
                    interrupt_speech_duration: Some(500),
                    llm_config: None,
                    tts_config: None,
                    system_prompt: None,
                },
                json!({"action": "update", "interrupt_mode": 1, "interrupt_speech_duration": 500}),
            ),
            (
                CallCommand::Update {
                    welcome_message: None,
                    interrupt_mode: None,
                    interrupt_speech_duration: None,
                    llm_config: None,
                    tts_config: None,
                    system_prompt: Some("Be brief.".into()),
                },
                json!({"action": "update", "system_prompt": "Be brief."}),
            ),
            (CallCommand::Stop, json!({"action": "stop"})),
            (CallCommand::TakeOver, json!({"action": "take_over"})),
            (CallCommand::Reply { text: "I can help".into() }, json!({"action": "reply", "text": "I can help"})),
            (CallCommand::HandBack, json!({"action": "hand_back"})),
        ];
        for (command, expected) in cases {
            assert_eq!(serde_json::to_value(&command).unwrap(), expected, "{command:?}");
        }
        let json = serde_json::to_value(LockAction::Break).unwrap();
        assert_eq!(json, "break");
    }

    #[test]
    fn idempotency_keys_are_checked() {
        assert_ne!(IdempotencyKey::random(), IdempotencyKey::random());
        assert_eq!(IdempotencyKey::parse("say-1").unwrap().as_str(), "say-1");
        for bad in ["", "  ", "has space", &"k".repeat(201)] {
            assert_eq!(IdempotencyKey::parse(bad).unwrap_err().code(), "invalid", "{bad:?}");
        }
    }

    #[test]
    fn a_room_tickets_user_sig_never_shows_in_debug_output() {
        let ticket = RoomTicket {
            sdk_app_id: 1,
            room_id: "8801".into(),
            room_id_type: 0,
            user_id: "sb_sup_li_000001".into(),
            user_sig: "eJyrVspOrSjISc1MUbIyMjA0MDQ".into(),
            expires_at: 2,
        };
        let shown = format!("{ticket:?}");
        assert!(!shown.contains("eJyr") && shown.contains("sb_sup_li"), "{shown}");
    }
}
