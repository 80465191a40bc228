//! The one typed `Event` for everything a console sees, and the edge that builds it.
//!
//! What lives here: [`Event`] (which call/room it belongs to, where it came from, its source
//! time, the hub's sequence once assigned, and a typed [`EventBody`]); the constructors
//! [`Event::from_callback`] and [`Event::from_room_message`] that turn TRTC's wire formats
//! into it exactly once; [`NormaliseError`], which names what was wrong with bad input; and
//! [`Event::dedup_key`] for TRTC's retried callbacks.
//!
//! What deliberately does not: signature checks (done by the caller on the raw bytes),
//! clocks (room messages take the caller's receive time), and any folding of events into
//! state — that is [`crate::call`] and [`crate::board`].

mod codes;
mod hub;
mod message;
mod normalise;

pub use codes::{
    meaning_text, EnterReason, ExitReason, LeaveCode, Media, MetricName, Outcome, PipelineError, PipelineStage,
    RecorderLeaveCode, RobotState, Role, Speaker, TerminalType, UploadStatus, UserType, VodStatus,
};
pub use hub::{
    CommandAction, CommandRecord, CommandStage, GatewayExchange, LockChange, NoteRecord, QaRecord, ReplyAuthor,
    TagsRecord,
};

use serde::{Deserialize, Serialize};

use crate::ids::{RoomId, RoundId, SdkAppId, Seq, SourceMs, TaskId, UserId};

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A TRTC server callback (groups 1, 2, 3, 9), received by the hub.
    Callback,
    /// A custom message inside the TRTC room (10000–10030), seen by a console in the room.
    Room,
    /// A fact the hub itself records.
    Hub,
}

/// What call or room an event belongs to, as far as its source says.
///
/// Room and media callbacks carry no TaskId (and the customer usually enters the room
/// before the AI task starts); recording callbacks carry a *recording* TaskId, which is
/// kept in [`EventBody::Recording`] and never here; the SdkAppId of callbacks comes from
/// the HTTP header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallRef {
    pub sdk_app_id: Option<SdkAppId>,
    pub room: Option<RoomId>,
    /// The AI conversation task.
    pub task: Option<TaskId>,
}

impl CallRef {
    /// A reference to an AI task.
    pub fn task(task: TaskId) -> CallRef {
        CallRef { task: Some(task), ..CallRef::default() }
    }
}

/// One normalised fact about a call or a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub call: CallRef,
    pub source: Source,
    /// TRTC's `EventMsTs` for callbacks; the receive time for room messages.
    pub source_ms: SourceMs,
    /// `None` until the hub appends the event to its log.
    pub seq: Option<Seq>,
    pub body: EventBody,
}

/// When a sentence was spoken, in whichever form the source gave it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentenceTimes {
    /// 903's `StartTimeMs` / `EndTimeMs`.
    Ms { start_ms: Option<u64>, end_ms: Option<u64> },
    /// 10000's `start_time` / `end_time`, `"HH:MM:SS"` as sent.
    Clock { start: Option<String>, end: Option<String> },
}

/// A subtitle or a complete sentence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sentence {
    /// `None` when the source does not say (903 and 10000 only name the speaker's user
    /// id); the fold then attributes it from what it knows about the call's users.
    pub speaker: Option<Speaker>,
    pub user: UserId,
    pub round: RoundId,
    pub text: String,
    /// true for 903 and for 10000 with `end: true`.
    pub is_final: bool,
    pub times: Option<SentenceTimes>,
}

/// One file of 310's `FileMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordedFile {
    pub file_name: Option<String>,
    pub user: Option<UserId>,
    pub track: Option<String>,
    /// `main` | `aux` | `mix`.
    pub media: Option<String>,
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
}

/// 311's `TencentVod`: where a committed recording can be played.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VodFile {
    pub user: Option<UserId>,
    pub track: Option<String>,
    pub media: Option<String>,
    pub file_id: Option<String>,
    pub video_url: Option<String>,
    pub cache_file: Option<String>,
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
}

/// A cloud recording callback (301–312).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordingEvent {
    /// 301.
    Started { outcome: Outcome },
    /// 302.
    Stopped { leave_code: RecorderLeaveCode },
    /// 303 (COS only).
    UploadStarted { outcome: Outcome },
    /// 304: the first m3u8 was uploaded.
    FileInfo { files: Vec<String> },
    /// 305 (COS only).
    UploadStopped { status: UploadStatus },
    /// 306: 0 means the migration completed.
    Failover { status: u32 },
    /// 307: the first ts segment was produced.
    FileSlice { file_name: Option<String>, user: Option<UserId>, track: Option<String>, begin_ms: Option<u64> },
    /// 308.
    UploadFailed { code: Option<String>, message: Option<String> },
    /// 309.
    ImageDownloadFailed { url: Option<String> },
    /// 310.
    Mp4Stopped { status: UploadStatus, files: Vec<String>, details: Vec<RecordedFile> },
    /// 311.
    VodCommitted { status: VodStatus, error: Option<String>, file: Option<VodFile> },
    /// 312: `Failed` means it stopped abnormally.
    VodStopped { outcome: Outcome },
}

impl RecordingEvent {
    /// The TRTC event type (301–312).
    pub fn event_type(&self) -> u16 {
        match self {
            RecordingEvent::Started { .. } => 301,
            RecordingEvent::Stopped { .. } => 302,
            RecordingEvent::UploadStarted { .. } => 303,
            RecordingEvent::FileInfo { .. } => 304,
            RecordingEvent::UploadStopped { .. } => 305,
            RecordingEvent::Failover { .. } => 306,
            RecordingEvent::FileSlice { .. } => 307,
            RecordingEvent::UploadFailed { .. } => 308,
            RecordingEvent::ImageDownloadFailed { .. } => 309,
            RecordingEvent::Mp4Stopped { .. } => 310,
            RecordingEvent::VodCommitted { .. } => 311,
            RecordingEvent::VodStopped { .. } => 312,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    /// 901.
    TaskStarted { outcome: Outcome },
    /// 902.
    TaskStopped { leave_code: LeaveCode },
    /// 909: the audio channel is up and the robot is ready to talk.
    SessionReady,
    /// 904: ASR heard the start of a user sentence.
    UserSpeechStarted { user: UserId, round: RoundId },
    /// 903 (final) or 10000 (partial or final).
    Sentence(Sentence),
    /// 905: the robot finished speaking this round; `text` is what it said.
    RobotFinishedSpeaking { robot: UserId, round: RoundId, text: String },
    /// 10001. `raw_timestamp` is the message's own `timestamp`, unit UNCONFIRMED.
    RobotStateChanged { robot: Option<UserId>, round: Option<RoundId>, state: RobotState, raw_timestamp: Option<f64> },
    /// 10002: the LLM's `meta.info` side channel, kept as sent.
    LlmMetaInfo { robot: Option<UserId>, round: Option<RoundId>, info: serde_json::Value },
    /// 906 or 10020.
    MetricReported { robot: Option<UserId>, round: Option<RoundId>, metric: MetricName, value: f64 },
    /// 908 or 10030.
    PipelineFailed { robot: Option<UserId>, round: Option<RoundId>, error: PipelineError },
    /// 101.
    RoomCreated,
    /// 102.
    RoomDismissed,
    /// 103.
    UserEntered {
        user: UserId,
        role: Option<Role>,
        terminal: Option<TerminalType>,
        user_type: Option<UserType>,
        reason: Option<EnterReason>,
        unique_id: Option<u64>,
    },
    /// 104.
    UserLeft { user: UserId, role: Option<Role>, reason: Option<ExitReason> },
    /// 105.
    RoleChanged { user: UserId, role: Role },
    /// 201, 203, 205.
    MediaStarted { user: UserId, media: Media },
    /// 202, 204, 206. `reason` is sent as 0 and not documented.
    MediaStopped { user: UserId, media: Media, reason: Option<u32> },
    /// 301–312, for the recording task `task` (not the AI task) and recorder bot `recorder`.
    Recording { task: TaskId, recorder: Option<UserId>, event: RecordingEvent },
    /// Hub: a supervisor's command reached a new stage.
    Command(CommandRecord),
    /// Hub: the call's lock changed; `holder` is who holds it now.
    LockChanged { holder: Option<String>, by: String, change: LockChange },
    /// Hub: a supervisor opened (`watching`) or closed the call.
    PresenceChanged { supervisor: String, watching: bool },
    /// Hub: the LLM gateway answered one of the robot's requests.
    GatewayExchange(GatewayExchange),
    /// Hub: a supervisor added a note to the call. Its source time is when it was written.
    NoteAdded(NoteRecord),
    /// Hub: a supervisor set the call's tags (the whole set).
    TagsSet(TagsRecord),
    /// Hub: a reviewer gave the call a QA score.
    QaScored(QaRecord),
}

impl EventBody {
    /// Whether this fact belongs to a room rather than to an AI task: room and media
    /// events (101–206, no TaskId) and recording events (301–312, their own TaskId). The
    /// board keeps these per room; the call fold ignores them. Exhaustive on purpose: a
    /// new kind of event must be placed on one side or the other.
    pub fn is_room_scoped(&self) -> bool {
        match self {
            EventBody::RoomCreated
            | EventBody::RoomDismissed
            | EventBody::UserEntered { .. }
            | EventBody::UserLeft { .. }
            | EventBody::RoleChanged { .. }
            | EventBody::MediaStarted { .. }
            | EventBody::MediaStopped { .. }
            | EventBody::Recording { .. } => true,
            EventBody::TaskStarted { .. }
            | EventBody::TaskStopped { .. }
            | EventBody::SessionReady
            | EventBody::UserSpeechStarted { .. }
            | EventBody::Sentence { .. }
            | EventBody::RobotFinishedSpeaking { .. }
            | EventBody::RobotStateChanged { .. }
            | EventBody::LlmMetaInfo { .. }
            | EventBody::MetricReported { .. }
            | EventBody::PipelineFailed { .. }
            | EventBody::Command(_)
            | EventBody::LockChanged { .. }
            | EventBody::PresenceChanged { .. }
            | EventBody::GatewayExchange(_)
            | EventBody::NoteAdded(_)
            | EventBody::TagsSet(_)
            | EventBody::QaScored(_) => false,
        }
    }

    /// Whether this is one of the hub's own facts (source [`Source::Hub`]).
    pub fn is_hub_fact(&self) -> bool {
        matches!(
            self,
            EventBody::Command(_)
                | EventBody::LockChanged { .. }
                | EventBody::PresenceChanged { .. }
                | EventBody::GatewayExchange(_)
                | EventBody::NoteAdded(_)
                | EventBody::TagsSet(_)
                | EventBody::QaScored(_)
        )
    }

    /// The TRTC callback event type this body comes from, `None` for room-only facts
    /// (state, meta info, partial subtitles).
    pub fn callback_event_type(&self) -> Option<u16> {
        Some(match self {
            EventBody::TaskStarted { .. } => 901,
            EventBody::TaskStopped { .. } => 902,
            EventBody::Sentence(sentence) if sentence.is_final => 903,
            EventBody::UserSpeechStarted { .. } => 904,
            EventBody::RobotFinishedSpeaking { .. } => 905,
            EventBody::MetricReported { .. } => 906,
            EventBody::PipelineFailed { .. } => 908,
            EventBody::SessionReady => 909,
            EventBody::RoomCreated => 101,
            EventBody::RoomDismissed => 102,
            EventBody::UserEntered { .. } => 103,
            EventBody::UserLeft { .. } => 104,
            EventBody::RoleChanged { .. } => 105,
            EventBody::MediaStarted { media, .. } => 201 + 2 * media_index(*media),
            EventBody::MediaStopped { media, .. } => 202 + 2 * media_index(*media),
            EventBody::Recording { event, .. } => event.event_type(),
            EventBody::Sentence(_)
            | EventBody::RobotStateChanged { .. }
            | EventBody::LlmMetaInfo { .. }
            | EventBody::Command(_)
            | EventBody::LockChanged { .. }
            | EventBody::PresenceChanged { .. }
            | EventBody::GatewayExchange(_)
            | EventBody::NoteAdded(_)
            | EventBody::TagsSet(_)
            | EventBody::QaScored(_) => return None,
        })
    }
}

fn media_index(media: Media) -> u16 {
    match media {
        Media::Video => 0,
        Media::Audio => 1,
        Media::Substream => 2,
    }
}

/// Why bytes could not become an [`Event`]. Never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormaliseError {
    /// Nothing but whitespace.
    #[error("empty body")]
    EmptyBody,
    /// Not a JSON object, or an envelope field of the wrong shape; `reason` is serde's.
    #[error("malformed JSON: {reason}")]
    MalformedJson { reason: String },
    /// A well-formed callback of a group/type the contract does not document (e.g. 907)
    /// or this crate does not model (web recording, group 8).
    #[error("unknown callback event: group {group}, type {event_type}")]
    UnknownEventType { group: u64, event_type: u64 },
    /// A well-formed room message of another type (e.g. the client → robot 20000).
    #[error("unknown room message type {message_type}")]
    UnknownMessageType { message_type: u64 },
    /// A field the event type needs is absent, null or blank.
    #[error("event type {event_type}: missing field {field}")]
    MissingField { event_type: u64, field: &'static str },
    /// A field is present but its value is of the wrong shape or out of range.
    #[error("event type {event_type}: bad value for {field}: {reason}")]
    BadValue { event_type: u64, field: &'static str, reason: String },
}

impl Event {
    /// Normalises a TRTC server callback body (groups 1, 2, 3 and 9). `sdk_app_id_header`
    /// is the `SdkAppId` HTTP header, since room and media bodies do not carry it.
    ///
    /// The caller has already verified the `Sign` header over these exact bytes.
    ///
    /// # Errors
    /// [`NormaliseError`] naming what was wrong: empty or malformed JSON, an unknown
    /// group/type, a missing field or a value of the wrong shape.
    pub fn from_callback(body: &[u8], sdk_app_id_header: Option<SdkAppId>) -> Result<Event, NormaliseError> {
        normalise::callback(body, sdk_app_id_header)
    }

    /// One of the hub's own facts about `task`, observed at `at` (the hub's clock).
    pub fn hub_fact(call: CallRef, at: SourceMs, body: EventBody) -> Event {
        Event { call, source: Source::Hub, source_ms: at, seq: None, body }
    }

    /// Normalises a room custom message (cmdID 1, types 10000–10030) received at
    /// `received_ms` for the call `call` (the console knows which room it joined).
    ///
    /// Room messages carry no millisecond source time (10001's `timestamp` has an
    /// UNCONFIRMED unit), so the receive time is the event's source time.
    ///
    /// # Errors
    /// As [`Event::from_callback`]; unknown message types (including the client → robot
    /// 20000/20001) give [`NormaliseError::UnknownMessageType`].
    pub fn from_room_message(bytes: &[u8], call: CallRef, received_ms: SourceMs) -> Result<Event, NormaliseError> {
        message::normalise(bytes, call, received_ms)
    }

    /// The event with the hub's sequence number.
    #[must_use]
    pub fn with_seq(mut self, seq: Seq) -> Event {
        self.seq = Some(seq);
        self
    }

    /// The key under which a retried callback is recognised as already seen: the AI task
    /// (or recording task, or room) + the TRTC event type + `EventMsTs` + a digest of the
    /// body. `None` for anything that is not a callback.
    pub fn dedup_key(&self) -> Option<String> {
        if self.source != Source::Callback {
            return None;
        }
        let event_type = self.body.callback_event_type()?;
        let scope = match (&self.body, &self.call.task) {
            (EventBody::Recording { task, .. }, _) => format!("recording:{task}"),
            (_, Some(task)) => format!("task:{task}"),
            (_, None) => format!(
                "room:{}:{}",
                self.call.sdk_app_id.map(|app| app.to_string()).unwrap_or_default(),
                self.call.room.as_ref().map(RoomId::as_str).unwrap_or_default()
            ),
        };
        // The body's serde form is canonical: struct fields serialise in declaration order
        // and bodies of callbacks hold no JSON maps.
        let canonical = serde_json::to_vec(&self.body).unwrap_or_default();
        Some(format!("{scope}|{event_type}|{}|{:016x}", self.source_ms.0, fnv1a64(&canonical)))
    }
}

/// FNV-1a, 64 bit. Only for telling retried callbacks apart from distinct ones — not
/// security-relevant (signatures are checked elsewhere, with HMAC).
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests;
