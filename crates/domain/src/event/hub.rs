//! The hub's own facts about a call: supervisors' commands and their lifecycle, the call's
//! lock, who is watching, what the LLM gateway saw, and the supervisors' review of the call
//! (notes, tags, a QA score). They travel in the same event log and stream as TRTC's
//! callbacks, so every console sees who did what.

use serde::{Deserialize, Serialize};

use crate::ids::RoundId;

/// What a supervisor asked the hub to do to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandAction {
    /// `ServerPushText`: the robot says a line.
    Say,
    /// `InvokeLLM`: the robot answers a prompt the supervisor wrote.
    Steer,
    /// Private guidance added to the AI's next LLM request (through the gateway).
    Whisper,
    /// `UpdateAIConversation`: voice, LLM, welcome or interrupt settings.
    Update,
    /// `StopAIConversation`.
    Stop,
    /// The gateway answers the robot's LLM requests with what a supervisor types.
    TakeOver,
    /// A line a supervisor typed while holding the call (spoken in the robot's voice).
    Reply,
    /// Forwarding to the AI resumes, with the human segment in its context.
    HandBack,
}

impl CommandAction {
    /// Every action, in the order a console lists them.
    pub const ALL: [CommandAction; 8] = [
        CommandAction::Say,
        CommandAction::Steer,
        CommandAction::Whisper,
        CommandAction::Update,
        CommandAction::Stop,
        CommandAction::TakeOver,
        CommandAction::Reply,
        CommandAction::HandBack,
    ];

    /// The wire name (`say`, `take_over`…).
    pub fn as_str(self) -> &'static str {
        match self {
            CommandAction::Say => "say",
            CommandAction::Steer => "steer",
            CommandAction::Whisper => "whisper",
            CommandAction::Update => "update",
            CommandAction::Stop => "stop",
            CommandAction::TakeOver => "take_over",
            CommandAction::Reply => "reply",
            CommandAction::HandBack => "hand_back",
        }
    }
}

/// Where a command is in its life: requested → accepted (by the hub and Tencent Cloud) →
/// done, or failed at any point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandStage {
    Requested,
    Accepted,
    Done,
    Failed,
}

impl CommandStage {
    /// Done and failed are final.
    pub fn is_final(self) -> bool {
        matches!(self, CommandStage::Done | CommandStage::Failed)
    }

    /// The wire name (as serialised), for tables and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandStage::Requested => "requested",
            CommandStage::Accepted => "accepted",
            CommandStage::Done => "done",
            CommandStage::Failed => "failed",
        }
    }
}

/// One step of one command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CommandRecord {
    /// The hub's id for the command (stable across its stages and across retries).
    pub id: String,
    /// The supervisor who asked.
    pub by: String,
    pub action: CommandAction,
    pub stage: CommandStage,
    /// The round in play when the command was asked, if the hub knew it.
    pub round: Option<RoundId>,
    /// What it says or changes, for people ("说：请稍等", "voice → v-female-…").
    pub summary: Option<String>,
    /// Why it failed (a Tencent Cloud error code and message, a lock held by someone else…).
    pub error: Option<String>,
}

/// How a call's lock changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockChange {
    Taken,
    Released,
    /// A lead took it from its holder.
    Broken,
    /// Nobody renewed it in time.
    Expired,
}

impl LockChange {
    /// The wire name (as serialised), for tables and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            LockChange::Taken => "taken",
            LockChange::Released => "released",
            LockChange::Broken => "broken",
            LockChange::Expired => "expired",
        }
    }
}

/// Who produced a reply the LLM gateway passed to the robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyAuthor {
    /// The upstream LLM.
    Ai,
    /// A supervisor holding the call.
    Human,
    /// Nobody in time: the robot got an empty answer (taken over, no line typed).
    Nobody,
}

/// One request of the robot's LLM that the gateway answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GatewayExchange {
    /// TRTC's `X-Request-Id` (the same on its retries).
    pub request_id: String,
    /// The last user message of the request (what the customer said, or the steer prompt).
    pub prompt: String,
    /// What the robot was given to say.
    pub reply: String,
    pub author: ReplyAuthor,
    /// Private guidance that went into this request.
    pub whisper: Option<String>,
    /// The request came from `InvokeLLM` (`X-Invoke-LLM: 1`).
    pub invoke: bool,
    /// From the request's arrival to the first token sent back, ms.
    pub first_token_ms: Option<u64>,
}

/// A supervisor's note on a call (or on one of its turns), as the hub recorded it.
///
/// The `id` is chosen by the console that wrote the note (a UUID), so a note written
/// offline keeps its identity when it reaches the hub, and a retried push is recognised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NoteRecord {
    pub id: String,
    /// The supervisor who wrote it (the hub's name for the token that pushed it).
    pub author: String,
    /// The turn the note is about, if any.
    pub round: Option<RoundId>,
    pub text: String,
}

/// A call's tags as a supervisor set them: the whole set, replacing the one before.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TagsRecord {
    pub author: String,
    /// Trimmed, without duplicates, sorted.
    pub tags: Vec<String>,
}

/// A call's QA score as a reviewer gave it, replacing the one before.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QaRecord {
    pub author: String,
    /// 0–100.
    pub score: u8,
    pub comment: Option<String>,
}
