//! The running conversations behind the Cloud API: `StartAIConversation` spawns one,
//! `Stop`/`Control`/`UpdateAIConversation` reach it through its control channel, a
//! conversation's phase answers `DescribeAIConversation`, and a conversation that ends on
//! its own (customer gone, idle timeout) marks its task stopped. All conversations share
//! one HTTP client for their LLM requests, so connections are reused.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, PoisonError, Weak,
    },
};

use serde_json::Value;
use tokio::sync::{mpsc::UnboundedSender, watch};

use crate::{
    cloud_api::Cloud,
    conversation::{
        self, CallSpec, Control, ErrorRates, Language, LlmConfig, Phase, Pipeline, Speed, TtsConfig, Update,
    },
    outputs::Outputs,
};

/// A running conversation, as the Cloud API reaches it.
#[derive(Debug)]
struct Live {
    control: UnboundedSender<Control>,
    phase: watch::Receiver<Phase>,
}

/// How conversations are played.
#[derive(Debug)]
pub struct Calls {
    outputs: Outputs,
    speed: f64,
    seed: AtomicU64,
    pipeline: Pipeline,
    controls: Mutex<HashMap<String, Live>>,
    /// Signalled when a conversation ends, for whoever waits for a free slot.
    ended: tokio::sync::Notify,
}

impl Calls {
    /// Conversations emitting into `outputs`, at `speed`, scripted from `seed` (each call
    /// takes the next seed, so a run is reproducible), with the default error rates and no
    /// LLM requests (every reply scripted); see [`Calls::with_pipeline`].
    pub fn new(outputs: Outputs, speed: f64, seed: u64) -> Calls {
        Calls::with_pipeline(outputs, speed, seed, Pipeline::default())
    }

    /// Conversations as [`Calls::new`], with `pipeline`'s HTTP client for LLM requests and
    /// its error rates.
    pub fn with_pipeline(outputs: Outputs, speed: f64, seed: u64, pipeline: Pipeline) -> Calls {
        Calls {
            outputs,
            speed,
            seed: AtomicU64::new(seed),
            pipeline,
            controls: Mutex::new(HashMap::new()),
            ended: tokio::sync::Notify::new(),
        }
    }

    /// The pipeline error rates the conversations play.
    pub fn error_rates(&self) -> ErrorRates {
        self.pipeline.rates
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
            llm: params.get("LLMConfig").and_then(Value::as_str).and_then(LlmConfig::parse),
            tts: params.get("TTSConfig").and_then(Value::as_str).and_then(TtsConfig::parse).unwrap_or_default(),
        };
        let seed = self.seed.fetch_add(1, Ordering::Relaxed);
        let spawned = conversation::spawn(spec, self.outputs.clone(), Speed(self.speed), seed, &self.pipeline);
        let live = Live { control: spawned.controls, phase: spawned.phase };
        self.controls.lock().unwrap_or_else(PoisonError::into_inner).insert(task_id.to_owned(), live);
        let task_id = task_id.to_owned();
        let handle = spawned.task;
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
        if let Some(live) = self.controls.lock().unwrap_or_else(PoisonError::into_inner).get(task_id) {
            // A closed channel means the conversation is ending; nothing left to tell it.
            let _ = live.control.send(control);
        }
    }

    /// The phase of the conversation of `task_id`, while it runs.
    pub(crate) fn phase(&self, task_id: &str) -> Option<Phase> {
        self.controls.lock().unwrap_or_else(PoisonError::into_inner).get(task_id).map(|live| *live.phase.borrow())
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

/// The conversation's [`Control::Update`] for a valid `UpdateAIConversation` body. A
/// `LLMConfig` or `TTSConfig` that is not a JSON object leaves that config unchanged.
pub(crate) fn update_of(params: &Value) -> Control {
    let config = |key: &str| params.get(key).and_then(Value::as_str);
    Control::Update(Box::new(Update {
        welcome_message: params.get("WelcomeMessage").and_then(Value::as_str).map(str::to_owned),
        interrupt_mode: params.get("InterruptMode").and_then(Value::as_u64),
        interrupt_speech_ms: params.get("InterruptSpeechDuration").and_then(Value::as_u64),
        llm: config("LLMConfig").and_then(LlmConfig::parse),
        tts: config("TTSConfig").and_then(TtsConfig::parse),
    }))
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
