//! The conversation engine: plays one emulated TRTC AI conversation call, from the
//! customer entering the room to `902`, and emits what Tencent Cloud would — the server
//! callbacks of groups 1, 2 and 9 and the cmdID-1 room messages 10000/10001/10020/10030
//! (trtc-contract.md §3, §4, §7).
//!
//! What lives here: the public API ([`CallSpec`], [`Speed`], [`Control`], [`CallOutcome`],
//! [`spawn`], [`Pipeline`], [`ErrorRates`], [`Phase`]); the personas (`personas`, data
//! only); the latency and pacing distributions (`timing`); the per-seed script (`script`);
//! the outbound LLM call (`llm`: `LLMConfig`, history, request, SSE, error mapping); the
//! wire shapes (`wire`); the timed beats of each part of a call (`beats`); and the runner
//! that plays them, waits for the LLM and reacts to [`Control`]s (`runner`).
//!
//! What deliberately does not: the Cloud API (it hands us a [`CallSpec`] and forwards
//! [`Control`]s), signing and posting callbacks, the room link and recordings — all of that
//! sits behind [`Outputs`] — and the emulator's own LLM endpoint ([`crate::llm_endpoint`]).
//!
//! Interpretations of the contract, in one place:
//! - Replies come from a real LLM when the task's `LLMConfig` has `LLMType` `openai` and an
//!   http(s) `APIUrl` (DESIGN.md: "calling the configured OpenAI-compatible LLM endpoint
//!   when one is reachable"): a customer sentence's reply and an `InvokeLLM` reply are each
//!   one POST of an OpenAI chat completion (`model`; `messages` = `SystemPrompt` as system,
//!   `UserMessages`, then the history window; `stream` = `Streaming`; `max_tokens`,
//!   `temperature`, `top_p`; `MetaInfo` merged into the body) with `Authorization: Bearer
//!   <APIKey>`, `X-Task-Id`, `X-Request-Id` (a fresh UUID; no retries, so never reused),
//!   `X-Sdk-App-Id`, `X-User-Id` (the customer's `TargetUserId` — the contract does not
//!   say whose id it is), `X-Room-Id`, `X-Room-Id-Type`, and `X-Invoke-LLM: 1` for an
//!   `InvokeLLM`. The robot says exactly the text the LLM returned (outer whitespace
//!   trimmed). Streamed (SSE) and whole JSON answers are both read, whatever was asked
//!   for; a `meta.info` line becomes a 10002 room message (roundid beside the payload),
//!   never spoken.
//! - A real LLM's timings are measured: `llm_network_latency` to the response headers,
//!   `llm_first_token` to the first content token (for a whole JSON answer, its arrival),
//!   both in emulated ms = wall ms × speed (at speed 1, the wall clock). They are emitted
//!   when the first token arrives; the robot starts speaking `tts_first_frame_latency`
//!   after the first token, but not before the whole answer is in (TTS of a partial
//!   answer is not modelled); its cumulative subtitles follow the measured streaming pace.
//! - Errors of a real LLM: no first token within `LLMConfig.Timeout` (seconds, default 3,
//!   read within 1–50; wall time = Timeout / speed), or a streamed answer silent for that
//!   long after it → 30200; HTTP 429 → 30201; any other non-2xx, a broken or unparseable
//!   answer or an `error` chunk → 30202. The message quotes the status and up to 300
//!   characters of the body. An empty answer is no error: the robot says nothing and
//!   listens again (state 1; no 903, no 905).
//! - An endpoint that is not reachable at all (connection refused, unknown host) makes the
//!   robot play the scripted reply instead (logged at info once per call); a call whose
//!   `LLMConfig` is callable draws no LLM failures from its script either way — with a
//!   real endpoint, LLM errors come from real HTTP only. ASR and TTS errors are still
//!   drawn from the script (at [`ErrorRates`]).
//! - The LLM context (`History`): the customer's final sentences and `InvokeLLM` contents
//!   as user messages; the robot's replies and pushed lines with `AddHistory` as assistant
//!   messages — with `HistoryMode` 0 when the line is complete (its 903), with 1 only once
//!   played out (its 905; an interrupted line never enters). The welcome line does not.
//!   `History` N sends the current user message and the N rounds before it (a round starts
//!   at a user message); 0, the default, sends only the current user message.
//! - `UpdateAIConversation` replaces the whole `LLMConfig` (used from the next request on)
//!   and `TTSConfig` (from the next line on), and sets `InterruptSpeechDuration`,
//!   `InterruptMode` and `WelcomeMessage`. A TTS change alters the speaking rate (`Speed`;
//!   Tencent TTS's levels -2…6 as 0.6×…2.5×) and the voice of lines planned after it: the
//!   voice id (`VoiceId`, `FastVoiceType`, `VoiceType` or `VoiceName`, the first given) is
//!   heard as one of espeak-ng's voice variants ([`crate::audio::Voice`]), carried beside
//!   the robot's subtitles to room audio and recordings. A line already planned (speaking,
//!   or waiting for its LLM answer) keeps the voice and rate it was planned with.
//! - `DescribeAIConversation`: `Idle` from the accepted Start until the robot starts
//!   (half of its 300–800 ms start-up), `Preparing` while it joins the room and connects
//!   (901 comes meanwhile) until 909 `session_ready`, then `InProgress`; `Stopped` after
//!   Stop or the call's end, for a grace period.
//! - A round id is `round-<n>-<8 hex>`, deterministic for a seed and task. A one-word answer
//!   dropped by `FilterOneWord` (always on here, its default) gets a 904 and an interim
//!   subtitle but no 903; its round id is reused by the customer's next sentence, so it
//!   never becomes a turn of its own.
//! - A pipeline error (908 + 10030, metric `asr_error` / `llm_error` / `tts_error` by stage)
//!   ends its round without a robot reply (no apology line): the robot goes back to
//!   listening (10001 state 1). An ASR error also means no final subtitle and no user 903.
//! - The robot's 903 is sent when the LLM's reply is complete (never before speech starts);
//!   a reply cut off before that has none. An interrupted round gets 10001 state 4 and the
//!   `interruption` metric (value 1), keeps its subtitles, and has no 905. A finished one
//!   ends with an empty `end: true` robot subtitle (what Tencent's UI kit reads as "round
//!   complete"), `tts_discontinuity`, 905, then 10001 states 5 and 1.
//! - SubtitleMode 0 robot subtitles carry the whole text so far and follow the LLM's stream
//!   (from the first audio frame on, the last one `end: true`); SubtitleMode 1 sends each
//!   sentence once, `end: true`, as it starts playing.
//! - With `InterruptMode` 1 the server never interrupts: customers wait for the robot.
//! - Customer scenarios (nine a language, `personas`) are chosen by the seed. A silent
//!   customer says little with long gaps, stays quiet after the robot's last reply and
//!   hangs up, often without a goodbye: the call ends by the idle timeout (902 LeaveCode
//!   99). A one-word answerer's words are mostly dropped by `FilterOneWord`. A far-field
//!   caller gets more ASR errors (30100/30102), a longer `asr_latency` and misheard
//!   interim subtitles; the final sentence is what they said.
//! - Scripts branch on the robot's replies: asked for something (an order number, an
//!   address) their remaining lines do not give, the customer gives it next; after a round
//!   that failed (no reply) the customer says it again or complains, once.
//! - `PushText`/`InvokeLlm` with `interrupt` cut what the robot is thinking or saying
//!   (state 4 + `interruption` on that round) and are spoken at once (right after the
//!   customer's sentence, if the customer is speaking). Without it, a push with `DropMode`
//!   0 (the default) is dropped while an interaction is in progress (a customer sentence,
//!   the robot thinking or speaking, or a reply owed) and said at once otherwise;
//!   `DropMode` 1 and a non-interrupting `InvokeLlm` are queued until the current turn
//!   ends. Whenever the robot is interrupted (by a command or by the customer) that queue
//!   is cleared. A push with `Priority` 1 cannot be interrupted, and while it plays every
//!   other push and invoke (`Priority` 1 or not) is ignored. `AddHistory` puts the line in
//!   the LLM context (see above). Each is a round of its own;
//!   pushed text and the welcome line report no metrics, an `InvokeLlm` reply reports the
//!   LLM and TTS ones.
//! - The customer interrupts the robot (`InterruptMode` 0) only by talking over it for
//!   `InterruptSpeechDuration` (`CallSpec::interrupt_speech_ms`, default 500 ms): a planned
//!   barge-in whose sentence is shorter than that does not interrupt (the customer then
//!   waits for the robot), nor does the brief "嗯"/"uh-huh" some scripts make over a reply
//!   (150–400 ms, and with no emission of its own).
//! - 10000 `start_time`/`end_time` are `HH:MM:SS` offsets from the call's start in emulated
//!   time; 10001 `timestamp` is Unix seconds (the doc's example); 903 `StartTimeMs`/
//!   `EndTimeMs` are Unix ms.
//! - `EventMsTs` (and `EventTs`) is the cloud's clock at emission ([`Pipeline::clock`]: the
//!   wall clock plus `--clock-offset-secs`, as for the Cloud API and recordings), bumped by
//!   1 ms when two callbacks of a call would share a millisecond, so a call's callbacks are
//!   strictly ordered by source time. 903's `StartTimeMs`/`EndTimeMs` and 10001's
//!   `timestamp` are on that clock too.
//! - When the robot leaves (API stop, idle timeout) its 104 comes just before the 902.
//! - [`Outputs::emit`] cannot tell that its receivers are gone, so a call whose outputs
//!   are closed plays on silently until its script and idle time end (bounded), then stops.

mod beats;
mod llm;
pub(crate) mod personas;
mod runner;
mod script;
pub(crate) mod timing;
mod wire;

#[cfg(test)]
mod tests;

use rand::SeedableRng;
use serde_json::Value;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{clock::CloudClock, outputs::Outputs};

pub use llm::LlmConfig;

/// The language the customer and the robot speak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Language {
    #[default]
    Zh,
    En,
}

impl Language {
    /// From `STTConfig.Language`: anything starting with `en` is English, everything else
    /// (including no language, TRTC's default `zh`) Chinese.
    pub fn from_stt_language(language: Option<&str>) -> Language {
        match language {
            Some(language) if language.trim().to_ascii_lowercase().starts_with("en") => Language::En,
            _ => Language::Zh,
        }
    }
}

/// TRTC's default `InterruptSpeechDuration` (ms).
pub const DEFAULT_INTERRUPT_SPEECH_MS: u64 = 500;

/// The chance that a reply fails at each pipeline stage (908 + 10030), each a fraction
/// 0–1 per reply. While they add up to at most 1 each stage fails at exactly its rate;
/// beyond that, every reply fails and the stage is picked in proportion to the rates.
/// A far-field caller's extra ASR errors come on top.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorRates {
    pub asr: f64,
    pub llm: f64,
    pub tts: f64,
}

impl Default for ErrorRates {
    /// 1 % ASR, 2 % LLM, 1 % TTS: one reply in 25 fails.
    fn default() -> ErrorRates {
        ErrorRates { asr: 0.01, llm: 0.02, tts: 0.01 }
    }
}

impl ErrorRates {
    /// The first stage whose rate is not a number within 0–1, with that rate.
    pub fn invalid(&self) -> Option<(&'static str, f64)> {
        [("asr", self.asr), ("llm", self.llm), ("tts", self.tts)]
            .into_iter()
            .find(|(_, rate)| !(rate.is_finite() && (0.0..=1.0).contains(rate)))
    }
}

/// `TTSConfig` as far as the emulator plays it: the speaking rate and the voice.
#[derive(Debug, Clone, PartialEq)]
pub struct TtsConfig {
    /// Playback speed relative to normal (1.0), from `Speed` (`Rate` for Azure).
    pub speed: f64,
    /// The voice id: `VoiceId` (flow, Cartesia, ElevenLabs), `FastVoiceType` (Tencent's
    /// cloned voice, used instead of its `VoiceType` when given), `VoiceType` (Tencent's
    /// number, MiniMax's name) or `VoiceName` (Azure) — the first of these given.
    pub voice: Option<String>,
}

impl Default for TtsConfig {
    fn default() -> TtsConfig {
        TtsConfig { speed: 1.0, voice: None }
    }
}

impl TtsConfig {
    /// From the `TTSConfig` JSON string; `None` when it is not a JSON object.
    pub fn parse(json: &str) -> Option<TtsConfig> {
        serde_json::from_str::<Value>(json).ok().as_ref().and_then(TtsConfig::from_value)
    }

    /// From the parsed `TTSConfig` object. Tencent Cloud TTS's `Speed` is a level in
    /// [-2, 6] (0 = 1.0×), read as -2 → 0.6×, -1 → 0.8×, 1 → 1.2×, 2 → 1.5×, then linear to
    /// 6 → 2.5× (Tencent TTS's published table); every other engine's `Speed` (Azure's
    /// `Rate`) is the factor itself, read within 0.5–2.
    pub fn from_value(value: &Value) -> Option<TtsConfig> {
        let object = value.as_object()?;
        let number = |key: &str| {
            match object.get(key) {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            }
            .filter(|n: &f64| n.is_finite())
        };
        let tts_type = object.get("TTSType").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
        let speed = match tts_type.as_str() {
            "tencent" => number("Speed").map_or(1.0, |level| {
                let level = level.clamp(-2.0, 6.0);
                match level {
                    l if l <= 1.0 => 1.0 + l * 0.2,
                    l if l <= 2.0 => 1.2 + (l - 1.0) * 0.3,
                    l => 1.5 + (l - 2.0) * 0.25,
                }
            }),
            "azure" => number("Rate").unwrap_or(1.0).clamp(0.5, 2.0),
            _ => number("Speed").unwrap_or(1.0).clamp(0.5, 2.0),
        };
        let voice =
            ["VoiceId", "FastVoiceType", "VoiceType", "VoiceName"].into_iter().find_map(|key| match object.get(key) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            });
        Some(TtsConfig { speed, voice })
    }
}

/// What all calls share: the HTTP client for LLM requests (one, so connections are
/// reused; `None` plays every reply from the script), the pipeline error rates, and the
/// cloud's clock their timestamps are read from.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub http: Option<reqwest::Client>,
    pub rates: ErrorRates,
    /// The cloud's clock ([`crate::CloudConfig::clock`]); the default is the unshifted wall
    /// clock.
    pub clock: CloudClock,
}

/// Where a task is, as `DescribeAIConversation` reports it (before `Stopped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Accepted, the robot not yet being started.
    Idle,
    /// The robot is joining the room and connecting its pipeline (901 comes meanwhile).
    Preparing,
    /// From 909 `session_ready` on.
    InProgress,
}

/// What a started AI conversation task looks like to the conversation engine.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSpec {
    pub task_id: String,
    pub sdk_app_id: u64,
    pub room_id: String,
    /// 0 numeric, 1 string, as in `StartAIConversation`.
    pub room_id_type: u64,
    /// `AgentConfig.UserId`.
    pub robot_user_id: String,
    /// `AgentConfig.TargetUserId`.
    pub customer_user_id: String,
    pub welcome_message: Option<String>,
    pub language: Language,
    /// `AgentConfig.InterruptMode`: 0 the server interrupts on customer speech, 1 never.
    pub interrupt_mode: u64,
    /// `AgentConfig.InterruptSpeechDuration`: ms of continuous customer speech over the
    /// robot before the server interrupts it (with `InterruptMode` 0; TRTC's default 500).
    pub interrupt_speech_ms: u64,
    /// `AgentConfig.MaxIdleTime` in seconds (TRTC's default is 60).
    pub max_idle_secs: u64,
    /// `AgentConfig.SubtitleMode`: 0 cumulative robot subtitles, 1 sentence-level incremental.
    pub subtitle_mode: u64,
    /// `LLMConfig`; `None` (or one that is not callable) plays replies from the script.
    pub llm: Option<LlmConfig>,
    /// `TTSConfig`.
    pub tts: TtsConfig,
}

/// How fast emulated time runs: wall-clock durations are divided by it (`Speed(1.0)` is
/// real time, `Speed(50.0)` fifty times faster). Relative timings and metric values stay
/// as emulated. A speed that is not a positive finite number is read as 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed(pub f64);

impl Speed {
    fn factor(self) -> f64 {
        if self.0.is_finite() && self.0 > 0.0 {
            self.0
        } else {
            1.0
        }
    }
}

/// A command for a running call (from the Cloud API's Control/Update/Stop actions).
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// `ServerPushText`: the robot says `text` — at once if `interrupt`; else, while an
    /// interaction is in progress, `drop_mode` 0 drops it and 1 queues it until the turn
    /// ends. With `stop_after_play` the task stops (902, LeaveCode 0) after it; `priority`
    /// 1 makes the line uninterruptible (other pushes and invokes are ignored while it
    /// plays); with `add_history` the line joins the LLM context as an assistant message.
    PushText { text: String, interrupt: bool, stop_after_play: bool, drop_mode: u64, priority: u64, add_history: bool },
    /// `InvokeLLM`: the robot replies to `content` (the LLM's answer, with `X-Invoke-LLM: 1`;
    /// scripted: acknowledges and follows it).
    InvokeLlm { content: String, interrupt: bool },
    /// `UpdateAIConversation`: changes what happens from now on; `None` leaves a field as
    /// it is.
    Update(Box<Update>),
    /// `StopAIConversation`: the robot leaves and 902 LeaveCode 0 follows promptly.
    Stop,
    /// The customer hung up (left the room); 902 LeaveCode 99 follows after `MaxIdleTime`.
    CustomerLeft,
}

/// The fields of `UpdateAIConversation` (§2.9); `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub welcome_message: Option<String>,
    pub interrupt_mode: Option<u64>,
    pub interrupt_speech_ms: Option<u64>,
    /// Replaces the whole `LLMConfig` from the next request on.
    pub llm: Option<LlmConfig>,
    /// Replaces the whole `TTSConfig` from the next line on.
    pub tts: Option<TtsConfig>,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOutcome {
    /// 902's `LeaveCode`: 0 stopped through the API, 99 idle after the customer left.
    pub leave_code: u32,
    /// Rounds the call emitted (distinct RoundIds: customer turns, the welcome line,
    /// pushed lines and `InvokeLLM` replies) — what `domain::call::Call` counts as turns.
    pub turns: usize,
}

/// A call being played.
#[derive(Debug)]
pub struct Spawned {
    /// Ends after the call's 902.
    pub task: JoinHandle<CallOutcome>,
    /// Dropping it just means no more commands.
    pub controls: UnboundedSender<Control>,
    /// The task's phase until it stops.
    pub phase: watch::Receiver<Phase>,
}

/// Starts playing a call on the current Tokio runtime. The script is a function of `seed`
/// (and, for round ids, of the task id): only wall-clock timestamps — and, when the call
/// uses a real LLM, that LLM's answers and timings — differ between runs. A call whose
/// `LLMConfig` is callable draws no LLM failures from the script: its endpoint decides.
pub fn spawn(spec: CallSpec, outputs: Outputs, speed: Speed, seed: u64, pipeline: &Pipeline) -> Spawned {
    let (sender, controls) = mpsc::unbounded_channel();
    let mut rates = pipeline.rates;
    let real_llm = pipeline.http.is_some() && spec.llm.as_ref().is_some_and(LlmConfig::is_callable);
    if real_llm {
        rates.llm = 0.0;
    }
    let script = script::plan(spec.language, seed, rates);
    let rngs = runner::Rngs {
        controls: rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed_c0de_0000_0001),
        // The task id is mixed in so two tasks played with one seed do not share round ids.
        ids: rand::rngs::StdRng::seed_from_u64(seed ^ crate::fnv1a64(spec.task_id.as_bytes())),
    };
    let (phase_tx, phase) = watch::channel(Phase::Idle);
    let runner = runner::Runner::new(spec, outputs, speed.factor(), script, rngs, pipeline, phase_tx);
    Spawned { task: tokio::spawn(runner.run(controls)), controls: sender, phase }
}
