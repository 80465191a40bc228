//! The running conversations behind the Cloud API: `StartAIConversation` spawns one,
//! `Stop`/`Control`/`UpdateAIConversation` reach it through its control channel, and a
//! conversation that ends on its own (customer gone, idle timeout) marks its task stopped.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, PoisonError, Weak,
    },
};

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use crate::{
    cloud_api::Cloud,
    conversation::{self, CallSpec, Control, Language, Speed},
    outputs::Outputs,
};

/// How conversations are played.
#[derive(Debug)]
pub struct Calls {
    outputs: Outputs,
    speed: f64,
    seed: AtomicU64,
    controls: Mutex<HashMap<String, UnboundedSender<Control>>>,
    /// Signalled when a conversation ends, for whoever waits for a free slot.
    ended: tokio::sync::Notify,
}

impl Calls {
    /// Conversations emitting into `outputs`, at `speed`, scripted from `seed` (each call
    /// takes the next seed, so a run is reproducible).
    pub fn new(outputs: Outputs, speed: f64, seed: u64) -> Calls {
        Calls {
            outputs,
            speed,
            seed: AtomicU64::new(seed),
            controls: Mutex::new(HashMap::new()),
            ended: tokio::sync::Notify::new(),
        }
    }

    /// Number of conversations currently running.
    pub fn live(&self) -> usize {
        self.controls.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Starts the conversation of a task just created from `params` (a valid Start body).
    pub(crate) fn start(&self, cloud: Weak<Cloud>, task_id: &str, sdk_app_id: u64, params: &Value) {
        let agent = &params["AgentConfig"];
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        let number = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64);
        let language = match params.get("STTConfig").and_then(|stt| text(stt, "Language")) {
            Some(lang) if lang.starts_with("en") => Language::En,
            _ => Language::Zh,
        };
        let spec = CallSpec {
            task_id: task_id.to_owned(),
            sdk_app_id,
            room_id: text(params, "RoomId").unwrap_or_default(),
            room_id_type: number(params, "RoomIdType").unwrap_or(0),
            robot_user_id: text(agent, "UserId").unwrap_or_default(),
            customer_user_id: text(agent, "TargetUserId").unwrap_or_default(),
            welcome_message: text(agent, "WelcomeMessage"),
            language,
            interrupt_mode: number(agent, "InterruptMode").unwrap_or(0),
            interrupt_speech_ms: number(agent, "InterruptSpeechDuration")
                .unwrap_or(conversation::DEFAULT_INTERRUPT_SPEECH_MS),
            max_idle_secs: number(agent, "MaxIdleTime").unwrap_or(60),
            subtitle_mode: number(agent, "SubtitleMode").unwrap_or(0),
        };
        let seed = self.seed.fetch_add(1, Ordering::Relaxed);
        let (handle, control) = conversation::spawn(spec, self.outputs.clone(), Speed(self.speed), seed);
        self.controls.lock().unwrap_or_else(PoisonError::into_inner).insert(task_id.to_owned(), control);
        let task_id = task_id.to_owned();
        tokio::spawn(async move {
            let outcome = handle.await;
            if let Some(cloud) = cloud.upgrade() {
                cloud.conversation_ended(&task_id);
                if let Err(err) = outcome {
                    tracing::warn!(task_id = %task_id, error = %err, "a conversation stopped abnormally");
                }
            }
        });
    }

    /// Sends `control` to the conversation of `task_id`, if it is running.
    pub(crate) fn control(&self, task_id: &str, control: Control) {
        if let Some(tx) = self.controls.lock().unwrap_or_else(PoisonError::into_inner).get(task_id) {
            // A closed channel means the conversation is ending; nothing left to tell it.
            let _ = tx.send(control);
        }
    }

    /// Waits until a conversation ends (returns at once if one ended since the last wait).
    pub async fn one_ended(&self) {
        self.ended.notified().await;
    }

    pub(crate) fn forget(&self, task_id: &str) {
        self.controls.lock().unwrap_or_else(PoisonError::into_inner).remove(task_id);
        // One stored permit at most: the single waiter re-checks the count anyway.
        self.ended.notify_one();
    }
}

/// The conversation's [`Control`] for a valid `ControlAIConversation` body.
pub(crate) fn control_of(params: &Value) -> Option<Control> {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let flag = |v: &Value, key: &str| v.get(key).and_then(Value::as_bool).unwrap_or(false);
    match params.get("Command").and_then(Value::as_str)? {
        "ServerPushText" => {
            let push = params.get("ServerPushText")?;
            Some(Control::PushText {
                text: text(push, "Text"),
                interrupt: flag(push, "Interrupt"),
                stop_after_play: flag(push, "StopAfterPlay"),
                drop_mode: push.get("DropMode").and_then(Value::as_u64).unwrap_or(0),
                priority: push.get("Priority").and_then(Value::as_u64).unwrap_or(0),
                add_history: flag(push, "AddHistory"),
            })
        }
        "InvokeLLM" => {
            let invoke = params.get("InvokeLLM")?;
            Some(Control::InvokeLlm { content: text(invoke, "Content"), interrupt: flag(invoke, "Interrupt") })
        }
        _ => None,
    }
}
