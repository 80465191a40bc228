//! The call view's use cases: who the supervisor is ([`Console::whoami`]), supervisor
//! commands on a live call ([`Console::call_action`]) and presence on it
//! ([`Console::watch_call`]) — each a thin use of the hub client's REST calls.
//!
//! Every command goes out with a fresh idempotency key; the hub checks the role and the
//! call's lock and answers a refusal the supervisor can read ("say needs the supervisor
//! role; vivian is viewer", "li holds this call's lock"), which is passed on as it is.
//! Taking a call over takes its lock first, so a call someone else holds is refused before
//! anything is asked of the robot.
//!
//! What deliberately does not live here: the lifecycle after the answer (the hub publishes
//! each stage as an event; the live board folds them) and any role or lock rule (the
//! hub's to enforce).

use domain::api::{ActionAnswer, CallActionRequest, Identity, SayTiming, SettingsChange, SupervisorAction};
use domain::api::{SupervisorRole, WatchRequest, Watchers, MAX_SYSTEM_PROMPT_CHARS};
use trtc::model::TTSConfig;

use super::{Console, ConsoleError};
use crate::hub_client::{CallCommand, HubClient, HubError, IdempotencyKey, InterruptMode, LockAction, Role, SayMode};

/// Text a supervisor typed, checked before it goes to the hub.
fn typed(text: &str, what: &'static str) -> Result<String, ConsoleError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(HubError::Invalid { what, problem: "it is empty".into() }.into());
    }
    Ok(text.to_owned())
}

/// The hub command for an action (text trimmed; blank text or an empty change refused).
fn command(action: &SupervisorAction) -> Result<CallCommand, ConsoleError> {
    Ok(match action {
        SupervisorAction::Say { text, timing } => CallCommand::Say {
            text: typed(text, "the line to say")?,
            mode: match timing {
                SayTiming::Now => SayMode::Now,
                SayTiming::AfterTurn => SayMode::AfterTurn,
            },
            // The conversation follows on from what the supervisor made the robot say.
            remember: true,
            stop_after: false,
        },
        SupervisorAction::Steer { prompt, interrupt } => {
            CallCommand::Steer { prompt: typed(prompt, "the instruction to the LLM")?, interrupt: *interrupt }
        }
        SupervisorAction::Whisper { text } => CallCommand::Whisper { text: typed(text, "the hidden guidance")? },
        SupervisorAction::Update(change) => update(change)?,
        SupervisorAction::Stop => CallCommand::Stop,
        SupervisorAction::TakeOver => CallCommand::TakeOver,
        SupervisorAction::Reply { text } => CallCommand::Reply { text: typed(text, "the reply")? },
        SupervisorAction::HandBack => CallCommand::HandBack,
    })
}

/// TRTC's built-in TTS (`TTSType` `flow`) and its one documented model.
const FLOW: &str = "flow";
const FLOW_MODEL: &str = "flow_01_turbo";

fn update(change: &SettingsChange) -> Result<CallCommand, ConsoleError> {
    if change.is_empty() {
        return Err(HubError::Invalid { what: "the settings change", problem: "it changes nothing".into() }.into());
    }
    let tts_config = match &change.voice {
        Some(voice) => {
            let provider = typed(&voice.provider, "the voice's provider")?;
            let mut config = TTSConfig::new(provider);
            config.voice_id = Some(typed(&voice.voice_id, "the voice id")?);
            // `Model` is required for TRTC's built-in voices, and the new TTSConfig replaces
            // the call's whole one; `flow_01_turbo` is the only model flow documents.
            if config.tts_type == FLOW {
                config.model = Some(FLOW_MODEL.to_owned());
            }
            Some(Box::new(config))
        }
        None => None,
    };
    let welcome_message = match &change.welcome_message {
        Some(text) => Some(typed(text, "the welcome message")?),
        None => None,
    };
    let system_prompt = match &change.system_prompt {
        Some(text) => {
            let prompt = typed(text, "the system prompt")?;
            if prompt.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
                let problem = format!("it is longer than {MAX_SYSTEM_PROMPT_CHARS} characters");
                return Err(HubError::Invalid { what: "the system prompt", problem }.into());
            }
            Some(prompt)
        }
        None => None,
    };
    Ok(CallCommand::Update {
        welcome_message,
        interrupt_mode: change.customer_can_interrupt.map(|can| {
            if can {
                InterruptMode::CustomerCanInterrupt
            } else {
                InterruptMode::Never
            }
        }),
        interrupt_speech_duration: change.interrupt_speech_ms,
        llm_config: None,
        tts_config,
        system_prompt,
    })
}

fn role(role: Role) -> SupervisorRole {
    match role {
        Role::Viewer => SupervisorRole::Viewer,
        Role::Supervisor => SupervisorRole::Supervisor,
        Role::Lead => SupervisorRole::Lead,
    }
}

impl Console {
    fn hub_client(&self) -> Result<HubClient, ConsoleError> {
        self.link().client().cloned().ok_or(ConsoleError::Offline("the link to the hub is not up yet"))
    }

    /// Who the console's token signs in as on its hub, and their role.
    ///
    /// # Errors
    /// [`ConsoleError::Offline`] before the link is up; [`ConsoleError::Hub`] when the hub
    /// cannot be reached or refuses the token.
    pub async fn whoami(&self) -> Result<Identity, ConsoleError> {
        let identity = self.hub_client()?.test_connection().await?;
        Ok(Identity { user: identity.user, role: role(identity.role) })
    }

    /// Sends one supervisor command on a call. A take-over takes the call's lock first.
    ///
    /// # Errors
    /// [`ConsoleError::Hub`] with [`HubError::Invalid`] for blank text or an empty change
    /// (nothing is sent), or the hub's refusal naming why: the role needed, the lock's
    /// holder, the call not taken over, an unknown call, the Cloud API's error.
    pub async fn call_action(&self, request: &CallActionRequest) -> Result<ActionAnswer, ConsoleError> {
        let command = command(&request.action)?;
        let client = self.hub_client()?;
        if request.action == SupervisorAction::TakeOver {
            client.lock(&request.call, LockAction::Take).await?;
        }
        let answer = client.post_command(&request.call, &IdempotencyKey::random(), &command).await?;
        Ok(ActionAnswer { command_id: answer.command_id, stage: answer.stage })
    }

    /// Marks this console as watching `request.call` (or no longer); answers who watches it.
    ///
    /// # Errors
    /// [`ConsoleError::Offline`]; [`ConsoleError::Hub`] (an unknown call, the hub
    /// unreachable).
    pub async fn watch_call(&self, request: &WatchRequest) -> Result<Watchers, ConsoleError> {
        let watchers = self.hub_client()?.presence(&request.call, request.watching).await?;
        Ok(Watchers { watchers })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use domain::api::VoiceChoice;

    use super::*;

    #[test]
    fn actions_become_the_hubs_commands() {
        let say = SupervisorAction::Say { text: "  请稍等  ".into(), timing: SayTiming::Now };
        assert_eq!(
            command(&say).unwrap(),
            CallCommand::Say { text: "请稍等".into(), mode: SayMode::Now, remember: true, stop_after: false }
        );
        let change = SettingsChange {
            customer_can_interrupt: Some(false),
            voice: Some(VoiceChoice { provider: "flow".into(), voice_id: "v-female-1".into() }),
            ..SettingsChange::default()
        };
        let CallCommand::Update { interrupt_mode, tts_config, .. } =
            command(&SupervisorAction::Update(change)).unwrap()
        else {
            panic!("an update")
        };
        assert_eq!(interrupt_mode, Some(InterruptMode::Never));
        let tts = tts_config.unwrap();
        assert_eq!((tts.tts_type.as_str(), tts.voice_id.as_deref()), ("flow", Some("v-female-1")));
        assert_eq!(tts.model.as_deref(), Some("flow_01_turbo"), "flow needs its Model in a replaced TTSConfig");
        let other = SettingsChange {
            voice: Some(VoiceChoice { provider: "cartesia".into(), voice_id: "a0e99841".into() }),
            ..SettingsChange::default()
        };
        let CallCommand::Update { tts_config, .. } = command(&SupervisorAction::Update(other)).unwrap() else {
            panic!("an update")
        };
        assert_eq!(tts_config.unwrap().model, None, "no model is guessed for other providers");
        let prompt = SettingsChange { system_prompt: Some("  Be brief.\n".into()), ..SettingsChange::default() };
        let CallCommand::Update { system_prompt, tts_config, .. } = command(&SupervisorAction::Update(prompt)).unwrap()
        else {
            panic!("an update")
        };
        assert_eq!((system_prompt.as_deref(), tts_config), (Some("Be brief."), None), "only the prompt, trimmed");
    }

    #[test]
    fn a_blank_or_overlong_system_prompt_is_refused_before_anything_is_sent() {
        let blank = SettingsChange { system_prompt: Some(" ".into()), ..SettingsChange::default() };
        assert_eq!(
            command(&SupervisorAction::Update(blank)).unwrap_err().to_string(),
            "the system prompt is not usable: it is empty"
        );
        let long = SettingsChange {
            system_prompt: Some("长".repeat(MAX_SYSTEM_PROMPT_CHARS + 1)),
            ..SettingsChange::default()
        };
        assert_eq!(
            command(&SupervisorAction::Update(long)).unwrap_err().to_string(),
            format!("the system prompt is not usable: it is longer than {MAX_SYSTEM_PROMPT_CHARS} characters")
        );
    }

    #[test]
    fn blank_text_and_empty_changes_are_refused_before_anything_is_sent() {
        let blank = SupervisorAction::Reply { text: " \n ".into() };
        assert_eq!(command(&blank).unwrap_err().to_string(), "the reply is not usable: it is empty");
        let empty = SupervisorAction::Update(SettingsChange::default());
        assert!(command(&empty).unwrap_err().to_string().contains("changes nothing"));
    }
}
