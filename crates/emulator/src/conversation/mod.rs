//! The conversation engine: plays one emulated TRTC AI conversation call, from the
//! customer entering the room to `902`, and emits what Tencent Cloud would — the server
//! callbacks of groups 1, 2 and 9 and the cmdID-1 room messages 10000/10001/10020/10030
//! (trtc-contract.md §3, §4, §7).
//!
//! What lives here: the public API ([`CallSpec`], [`Speed`], [`Control`], [`CallOutcome`],
//! [`spawn`]); the personas (`personas`, data only); the latency and pacing distributions
//! (`timing`); the per-seed script (`script`); the wire shapes (`wire`); the timed beats of
//! each part of a call (`beats`); and the runner that plays them and reacts to
//! [`Control`]s (`runner`).
//!
//! What deliberately does not: HTTP (the Cloud API hands us a [`CallSpec`] and forwards
//! [`Control`]s), signing and posting callbacks, the room link and recordings — all of that
//! sits behind [`Outputs`]. No real LLM is called; replies are scripted.
//!
//! Interpretations of the contract, in one place:
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
//!   other push and invoke (`Priority` 1 or not) is ignored. `AddHistory` is accepted and
//!   has no effect: the scripted robot keeps no LLM context. Each is a round of its own;
//!   pushed text and the welcome line report no metrics, an `InvokeLlm` reply reports the
//!   LLM and TTS ones.
//! - The customer interrupts the robot (`InterruptMode` 0) only by talking over it for
//!   `InterruptSpeechDuration` (`CallSpec::interrupt_speech_ms`, default 500 ms): a planned
//!   barge-in whose sentence is shorter than that does not interrupt (the customer then
//!   waits for the robot), nor does the brief "嗯"/"uh-huh" some scripts make over a reply
//!   (150–400 ms, and with no emission of its own).
//! - 10000 `start_time`/`end_time` are `HH:MM:SS` offsets from the call's start in emulated
//!   time; 10001 `timestamp` is Unix seconds (the doc's example); 903 `StartTimeMs`/
//!   `EndTimeMs` are wall-clock Unix ms.
//! - `EventMsTs` is the wall clock at emission, bumped by 1 ms when two callbacks of a call
//!   would share a millisecond, so a call's callbacks are strictly ordered by source time.
//! - When the robot leaves (API stop, idle timeout) its 104 comes just before the 902.
//! - [`Outputs::emit`] cannot tell that its receivers are gone, so a call whose outputs
//!   are closed plays on silently until its script and idle time end (bounded), then stops.

mod beats;
mod personas;
mod runner;
mod script;
mod timing;
mod wire;

#[cfg(test)]
mod tests;

use rand::SeedableRng;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;

use crate::outputs::Outputs;

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

/// What a started AI conversation task looks like to the conversation engine.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// `ServerPushText`: the robot says `text` — at once if `interrupt`; else, while an
    /// interaction is in progress, `drop_mode` 0 drops it and 1 queues it until the turn
    /// ends. With `stop_after_play` the task stops (902, LeaveCode 0) after it; `priority`
    /// 1 makes the line uninterruptible (other pushes and invokes are ignored while it
    /// plays); `add_history` has no effect (the scripted robot has no LLM context).
    PushText { text: String, interrupt: bool, stop_after_play: bool, drop_mode: u64, priority: u64, add_history: bool },
    /// `InvokeLLM`: the robot replies to `content` (scripted: acknowledges and follows it).
    InvokeLlm { content: String, interrupt: bool },
    /// `UpdateAIConversation`: changes what happens from now on.
    Update { welcome_message: Option<String>, interrupt_mode: Option<u64> },
    /// `StopAIConversation`: the robot leaves and 902 LeaveCode 0 follows promptly.
    Stop,
    /// The customer hung up (left the room); 902 LeaveCode 99 follows after `MaxIdleTime`.
    CustomerLeft,
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

/// Starts playing a call on the current Tokio runtime. The script is a function of `seed`
/// (and, for round ids, of the task id): only wall-clock timestamps differ between runs.
///
/// Returns the call's task, which ends after its 902, and the sender for [`Control`]s;
/// dropping the sender just means no more commands.
pub fn spawn(
    spec: CallSpec,
    outputs: Outputs,
    speed: Speed,
    seed: u64,
) -> (JoinHandle<CallOutcome>, UnboundedSender<Control>) {
    let (sender, controls) = mpsc::unbounded_channel();
    let script = script::plan(spec.language, seed);
    let rngs = runner::Rngs {
        controls: rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed_c0de_0000_0001),
        ids: rand::rngs::StdRng::seed_from_u64(seed ^ fnv1a64(spec.task_id.as_bytes())),
    };
    let runner = runner::Runner::new(spec, outputs, speed.factor(), script, rngs);
    (tokio::spawn(runner.run(controls)), sender)
}

/// FNV-1a, 64 bit: mixes the task id into the round-id generator, so two tasks played
/// with one seed do not share round ids. Not security-relevant.
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(PRIME))
}
