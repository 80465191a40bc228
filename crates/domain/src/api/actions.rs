//! The IPC contract of the call view's actions: who the supervisor is, what they may do to a
//! live call, and their presence on it.
//!
//! What lives here: [`WhoAmI`] (the hub's name and role for this console's token),
//! [`CallAction`] (say a line, steer, whisper, change settings, stop, take over, reply,
//! hand back — each one command on the hub), [`WatchCall`] (presence) and the role rule
//! the UI shows before a click ([`SupervisorRole::needed_for`]; the hub applies the same
//! rule and has the last word).
//!
//! What deliberately does not: how a command travels (the engine's hub client), its
//! lifecycle after the answer (that arrives as `EventBody::Command` events on the live
//! board and is folded by `Call::apply`), and the lock rules (the hub's).

use serde::{Deserialize, Serialize};

use super::{Command, NoArgs};
use crate::event::{CommandAction, CommandStage};
use crate::ids::TaskId;

/// `whoami`: the supervisor the console's hub token belongs to, and their role.
#[derive(Debug, Clone, Copy)]
pub struct WhoAmI;

impl Command for WhoAmI {
    const NAME: &'static str = "whoami";
    type Request = NoArgs;
    type Response = Identity;
}

/// Who the console acts as on its hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// The hub's name for the token (shown as the lock holder, watcher, command author).
    pub user: String,
    pub role: SupervisorRole,
}

/// A supervisor's role on the hub. Cumulative: each role may do what the ones before may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupervisorRole {
    /// Watches and reviews.
    Viewer,
    /// Also says lines (and whispers), steers and stops calls.
    Supervisor,
    /// Also takes calls over, changes a call's settings and breaks locks.
    Lead,
}

impl SupervisorRole {
    /// The wire name (`viewer`, `supervisor`, `lead`).
    pub fn as_str(self) -> &'static str {
        match self {
            SupervisorRole::Viewer => "viewer",
            SupervisorRole::Supervisor => "supervisor",
            SupervisorRole::Lead => "lead",
        }
    }

    /// The role for a wire name.
    pub fn parse(text: &str) -> Option<SupervisorRole> {
        match text {
            "viewer" => Some(SupervisorRole::Viewer),
            "supervisor" => Some(SupervisorRole::Supervisor),
            "lead" => Some(SupervisorRole::Lead),
            _ => None,
        }
    }

    /// The least role that may ask for `action` (the hub's rule, shown before a click).
    pub fn needed_for(action: CommandAction) -> SupervisorRole {
        match action {
            CommandAction::Say | CommandAction::Steer | CommandAction::Whisper | CommandAction::Stop => {
                SupervisorRole::Supervisor
            }
            CommandAction::Update | CommandAction::TakeOver | CommandAction::Reply | CommandAction::HandBack => {
                SupervisorRole::Lead
            }
        }
    }

    /// Whether this role may ask for `action`.
    pub fn may(self, action: CommandAction) -> bool {
        self >= SupervisorRole::needed_for(action)
    }
}

/// `call_action`: one supervisor command on a live call, sent to the hub with a fresh
/// idempotency key. The answer is the command's id and the stage it reached; later stages
/// arrive as command events on the live board.
#[derive(Debug, Clone, Copy)]
pub struct CallAction;

impl Command for CallAction {
    const NAME: &'static str = "call_action";
    type Request = CallActionRequest;
    type Response = ActionAnswer;
}

/// Request of [`CallAction`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallActionRequest {
    pub call: TaskId,
    pub action: SupervisorAction,
}

/// When a line the supervisor typed is spoken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SayTiming {
    /// At once, interrupting the robot.
    Now,
    /// Once the robot finishes its current turn.
    #[default]
    AfterTurn,
}

/// What a supervisor asks of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SupervisorAction {
    /// The robot says `text` (kept in its history, so the conversation follows on).
    Say { text: String, timing: SayTiming },
    /// The robot answers `prompt` through its LLM.
    Steer { prompt: String, interrupt: bool },
    /// Hidden guidance added to the robot's next LLM request; the customer hears nothing.
    Whisper { text: String },
    /// Changes the call's settings.
    Update(SettingsChange),
    /// Ends the call (cannot be undone).
    Stop,
    /// The supervisor answers in the robot's place (takes the call's lock first).
    TakeOver,
    /// The supervisor's line while holding the call, spoken in the robot's voice.
    Reply { text: String },
    /// Gives the call back to the AI (and its lock).
    HandBack,
}

impl SupervisorAction {
    /// The hub command this action is.
    pub fn command(&self) -> CommandAction {
        match self {
            SupervisorAction::Say { .. } => CommandAction::Say,
            SupervisorAction::Steer { .. } => CommandAction::Steer,
            SupervisorAction::Whisper { .. } => CommandAction::Whisper,
            SupervisorAction::Update(_) => CommandAction::Update,
            SupervisorAction::Stop => CommandAction::Stop,
            SupervisorAction::TakeOver => CommandAction::TakeOver,
            SupervisorAction::Reply { .. } => CommandAction::Reply,
            SupervisorAction::HandBack => CommandAction::HandBack,
        }
    }
}

/// A change of a call's settings; fields left `None` stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SettingsChange {
    /// Whether the customer's speech interrupts the robot.
    pub customer_can_interrupt: Option<bool>,
    /// How long (ms) the customer must speak to interrupt the robot.
    pub interrupt_speech_ms: Option<u64>,
    /// The TTS voice: the provider (`TTSType`, e.g. `flow`) and the voice id.
    pub voice: Option<VoiceChoice>,
    /// The welcome line (for a call that is restarted).
    pub welcome_message: Option<String>,
    /// The LLM's system prompt from the next turn on (through the hub's LLM gateway).
    pub system_prompt: Option<String>,
}

impl SettingsChange {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.customer_can_interrupt.is_none()
            && self.interrupt_speech_ms.is_none()
            && self.voice.is_none()
            && self.welcome_message.is_none()
            && self.system_prompt.is_none()
    }
}

/// The longest system prompt an update may set, in characters (the hub refuses longer).
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 4_000;

/// How the hub's summary of an update introduces a new system prompt: the prompt follows,
/// cut at 200 characters with "…", and ends the summary (`"voice v-1, system prompt: …"`),
/// so every console can show what the prompt is now.
pub const SYSTEM_PROMPT_SUMMARY: &str = "system prompt: ";

/// A TTS voice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoiceChoice {
    /// `TTSType`: `flow`, `tencent`, `minimax`, `azure`, `cartesia`, `elevenlabs`, `custom`.
    pub provider: String,
    pub voice_id: String,
}

/// What the hub answered an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionAnswer {
    /// The hub's id for the command; its later stages carry the same id.
    pub command_id: String,
    /// `accepted` or `done` (a refusal is an error instead).
    pub stage: CommandStage,
}

/// `watch_call`: marks this console as watching a call (or no longer); answers who is
/// watching it now. Repeat `watching: true` at least every 30 s while the call is open.
#[derive(Debug, Clone, Copy)]
pub struct WatchCall;

impl Command for WatchCall {
    const NAME: &'static str = "watch_call";
    type Request = WatchRequest;
    type Response = Watchers;
}

/// Request of [`WatchCall`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchRequest {
    pub call: TaskId,
    pub watching: bool,
}

/// Who is watching a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Watchers {
    pub watchers: Vec<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn roles_are_cumulative_like_the_hubs() {
        let allowed = |role: SupervisorRole| -> Vec<CommandAction> {
            CommandAction::ALL.into_iter().filter(|action| role.may(*action)).collect()
        };
        assert!(allowed(SupervisorRole::Viewer).is_empty());
        use CommandAction::*;
        assert_eq!(allowed(SupervisorRole::Supervisor), [Say, Steer, Whisper, Stop]);
        assert_eq!(allowed(SupervisorRole::Lead), CommandAction::ALL);
        for role in [SupervisorRole::Viewer, SupervisorRole::Supervisor, SupervisorRole::Lead] {
            assert_eq!(SupervisorRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(SupervisorRole::parse("admin"), None);
    }

    #[test]
    fn actions_cross_the_bridge_as_tagged_objects() {
        let say = SupervisorAction::Say { text: "请稍等".into(), timing: SayTiming::Now };
        let request = CallActionRequest { call: TaskId::new("t-1"), action: say.clone() };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json, json!({"call": "t-1", "action": {"kind": "say", "text": "请稍等", "timing": "now"}}));
        assert_eq!(serde_json::from_value::<CallActionRequest>(json).unwrap(), request);
        let update = SupervisorAction::Update(SettingsChange {
            customer_can_interrupt: Some(false),
            ..SettingsChange::default()
        });
        let json = serde_json::to_value(&update).unwrap();
        assert_eq!(
            json,
            json!({"kind": "update", "customerCanInterrupt": false, "interruptSpeechMs": null, "voice": null, "welcomeMessage": null, "systemPrompt": null})
        );
        assert_eq!(serde_json::from_value::<SupervisorAction>(json).unwrap(), update);
        // A window built before the field existed still sends a change the shell reads.
        let older = json!({"kind": "update", "customerCanInterrupt": false});
        assert_eq!(serde_json::from_value::<SupervisorAction>(older).unwrap(), update);
        assert_eq!(serde_json::to_value(SupervisorAction::HandBack).unwrap(), json!({"kind": "handBack"}));
        assert_eq!(update.command(), CommandAction::Update);
        assert!(SettingsChange::default().is_empty());
    }
}
