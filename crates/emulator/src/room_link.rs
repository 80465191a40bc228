//! The room link: the emulator's stand-in for being inside a TRTC room, so a console can
//! follow the call a supervisor has open (DESIGN.md, "Ephemeral detail") and send the
//! client → robot messages of `trtc-contract.md` §3.1.6–§3.1.7.
//!
//! # Joining: `GET /room` upgraded to a WebSocket
//!
//! Query parameters, as a TRTC SDK's `enterRoom` takes them:
//! - `sdkappid`: the application; must be the one this emulator hosts ([`RoomLinkConfig::sdk_app_id`]);
//! - `roomid`: the room, exactly as the call's `StartAIConversation` spelt it (numeric rooms
//!   as their decimal string; 1–64 bytes, no control characters);
//! - `userid`: who joins, 1–32 bytes of `[A-Za-z0-9_-]` (§6);
//! - `usersig`: a UserSig (TLSSigAPIv2, §6) for `userid` in `sdkappid`, e.g. the short-lived
//!   one the hub issues. It is verified against [`RoomLinkConfig::sdk_secret_key`] at the
//!   emulator's clock ([`RoomLinkConfig::clock`], with `--clock-offset-secs`); **with no
//!   secret key configured, UserSigs are not checked at all** (any or none is accepted).
//!
//! A refused join is answered before the upgrade with `{"code": "...", "message": "..."}`:
//! HTTP 400 for a missing or wrong `sdkappid` / `roomid` / `userid` (`sdkappid_missing`,
//! `sdkappid_invalid`, `sdkappid_unknown`, `roomid_missing`, `roomid_invalid`,
//! `userid_missing`, `userid_invalid`), HTTP 401 for the UserSig (`usersig_missing`,
//! `usersig_malformed`, `usersig_unsupported`, `usersig_wrong_user`, `usersig_wrong_app`,
//! `usersig_expired`, `usersig_bad_signature`), HTTP 500 `secret_key_empty` when the
//! configured secret key is the empty string (a misconfiguration that would accept forgeries).
//!
//! # Frames, server → client (text, one JSON object each)
//!
//! - `{"kind":"joined","roomId":"…","userId":"…"}` first. Everything emitted into the room
//!   after it is delivered (the member subscribes before this frame is sent).
//! - `{"kind":"custom","cmdId":1,"sender":"…","seq":N,"data":{…}}` for each room message
//!   (TRTC's `onRecvCustomCmdMsg`): `data` is the message exactly as emitted, `sender` its
//!   `sender` field, `seq` counts the custom frames of this connection from 1. `cmdId` is 1
//!   for the robot's messages and 2 for the client messages 20000 / 20001 that other members
//!   sent (the channel they travel on, §3.1.6–§3.1.7). A member never receives its own
//!   20000 / 20001 messages back: in TRTC a user id is in a room once and the sender is not
//!   echoed.
//! - `{"kind":"lagged","missed":N}` when this connection fell behind the room's broadcast and
//!   `N` messages are lost to it (TRTC's `onMissCustomCmdMsg`); the connection continues with
//!   the oldest message still held.
//! - `{"kind":"sent","seq":N}` acknowledges the client's `N`th accepted message (counted
//!   from 1, separately from the custom frames' `seq`).
//! - `{"kind":"error","code":"…","message":"…"}` refuses one client frame; the connection
//!   stays open.
//!
//! # Room audio (server → client, binary)
//!
//! When the emulator serves room audio ([`router_with_audio`], as `start_emulator` does),
//! the frame right after `joined` is
//! `{"kind":"audioFormat","sampleRate":22050,"channels":1,"frameMs":20,"encoding":"s16le","header":"PCM1 …"}`
//! and from then on the room's speech arrives as binary frames, one per 20 ms of one
//! speaker's audio, in the `PCM1` format of [`crate::room_audio`]: `b"PCM1"`, u16 LE user-id
//! length, the user id, u32 LE sample rate, u32 LE sequence (per user id), then the s16le
//! samples. Audio is paced in real time divided by the emulator's speed. A client that
//! falls behind loses audio frames (never text frames, which keep the behaviour above);
//! the count is logged when it leaves, and the gap shows in the speaker's sequence.
//!
//! # Frames, client → server
//!
//! `{"cmdId":2,"data":{"type":20000|20001,"sender":"<own userid>","receiver":["<bot>"],"payload":{…}}}`
//! (other top-level fields are ignored). Checked in this order, each failure with its own
//! error code: JSON (`malformed_json`), `cmdId` an integer 1–10 (`cmd_id_invalid`), `data` an
//! object (`data_invalid`) of at most 1 KB serialised (`message_too_large`), `type` 20000 or
//! 20001 (`type_not_allowed`; the robot's types are not the client's to send) on cmdId 2
//! (`cmd_id_mismatch`), `sender` the joined user id (`sender_mismatch`, the service checks
//! it), `receiver` a non-empty array of user ids (`receiver_invalid`), the payload fields of
//! §3.1.6 (`id`, `message`, `timestamp`) or §3.1.7 (`id`, `timestamp`) (`payload_invalid`),
//! then the channel limits of §3.1.8 per connection: ≤ 30 messages and ≤ 8 KB in any second
//! (`rate_limited`). Binary frames get `binary_not_supported`. An accepted message is
//! acknowledged and emitted into the room through [`Outputs::emit`], where the other members
//! and the conversation engine see it.
//!
//! # Heartbeat and leaving
//!
//! The server pings every 15 s; a client heard from (any frame, pongs included) for none of
//! 45 s is closed (`1001`), as is one that leaves a frame unread for 30 s. A client's close
//! frame is answered and the connection ends cleanly. Joining and leaving are logged at debug.
//! Frames over 64 KiB end the connection (TRTC's SDK refuses anything over 1 KB before sending).
//!
//! Deliberately not here: TRTC's anchor / audience roles (every member may send — who takes over is the hub's
//! decision); room callbacks (103/104) for members joining — a console joins hidden.

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    time::Duration,
};

use axum::{
    extract::{
        rejection::QueryRejection,
        ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade},
        Query, State,
    },
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Serialize;
use serde_json::Value;
use tokio::{
    sync::broadcast::{self, error::RecvError},
    time::{Instant, MissedTickBehavior},
};
use trtc::usersig::UserSigError;

use crate::{
    clock::CloudClock,
    cloud_api::CloudConfig,
    outputs::{Emission, Outputs, RoomMessage},
    room_audio::{self, AudioFrame, RoomAudio},
};

/// How often the server pings each member.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// A member not heard from for this long is closed (three missed heartbeats).
pub const SILENCE_LIMIT: Duration = Duration::from_secs(45);
/// How long one frame may wait for a client that does not read before it is closed.
pub const SEND_PATIENCE: Duration = Duration::from_secs(30);
/// Largest client frame read at all; bigger ones end the connection.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Largest custom message, serialised (§3.1.8).
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Messages one sender may send in any second (§3.1.8).
pub const MAX_MESSAGES_PER_SEC: usize = 30;
/// Bytes one sender may send in any second (§3.1.8).
pub const MAX_BYTES_PER_SEC: usize = 8 * 1024;

/// The chat / turn signal a client sends the robot (§3.1.6).
const TYPE_CHAT: u64 = 20000;
/// The interrupt a client sends the robot (§3.1.7).
const TYPE_INTERRUPT: u64 = 20001;
/// The custom-message channel the robot sends on (§3.1).
const CMD_ID_ROBOT: u64 = 1;
/// The channel a client sends the robot 20000 / 20001 on (§3.1.6–§3.1.7).
const CMD_ID_CLIENT: u64 = 2;

/// What the room link needs to know about the application it hosts.
#[derive(Clone)]
pub struct RoomLinkConfig {
    /// The one TRTC application whose rooms can be joined.
    pub sdk_app_id: u64,
    /// The application's SDK secret, to verify UserSigs; `None` accepts any UserSig, or none.
    pub sdk_secret_key: Option<String>,
    /// The clock UserSig expiry is checked on: the cloud's ([`CloudConfig::clock`]).
    pub clock: CloudClock,
}

impl fmt::Debug for RoomLinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoomLinkConfig")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("sdk_secret_key", &self.sdk_secret_key.as_ref().map(|_| "***"))
            .field("clock", &self.clock)
            .finish()
    }
}

impl From<&CloudConfig> for RoomLinkConfig {
    /// The same application, SDK secret and clock the Cloud API checks UserSigs with.
    fn from(cloud: &CloudConfig) -> RoomLinkConfig {
        RoomLinkConfig {
            sdk_app_id: cloud.sdk_app_id,
            sdk_secret_key: cloud.sdk_secret_key.clone(),
            clock: cloud.clock(),
        }
    }
}

#[derive(Debug, Clone)]
struct LinkState {
    outputs: Outputs,
    config: RoomLinkConfig,
    audio: Option<RoomAudio>,
}

/// The room link router (`GET /room`) without room audio: text frames only.
pub fn router(outputs: Outputs, config: RoomLinkConfig) -> Router {
    Router::new().route("/room", get(join)).with_state(LinkState { outputs, config, audio: None })
}

/// The room link router (`GET /room`) with room audio: members mark their room joined in
/// `audio` (so its lines are spoken) and receive its `PCM1` frames.
pub fn router_with_audio(outputs: Outputs, config: RoomLinkConfig, audio: RoomAudio) -> Router {
    Router::new().route("/room", get(join)).with_state(LinkState { outputs, config, audio: Some(audio) })
}

/// Who joined which room, once the join was accepted.
#[derive(Debug, Clone)]
struct Member {
    room_id: String,
    user_id: String,
}

async fn join(
    State(state): State<LinkState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let member =
        match query.map_err(|e| JoinRefused::Query(e.body_text())).and_then(|Query(q)| admit(&state.config, &q)) {
            Ok(member) => member,
            Err(refused) => return refused.into_response(),
        };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    // Subscribing before answering makes "joined" the cut: everything emitted later arrives.
    let rooms = state.outputs.subscribe_rooms();
    let outputs = state.outputs.clone();
    let audio = state.audio.as_ref().map(|audio| Listening {
        frames: audio.subscribe(),
        _presence: audio.join(&member.room_id),
        dropped: 0,
    });
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| serve_member(socket, rooms, audio, outputs, member))
}

/// Why a join was refused before the upgrade.
#[derive(Debug, thiserror::Error)]
enum JoinRefused {
    #[error("the query string could not be read: {0}")]
    Query(String),
    #[error("the `sdkappid` query parameter is missing")]
    SdkAppIdMissing,
    #[error("`sdkappid` must be a decimal number, not {0:?}")]
    SdkAppIdInvalid(String),
    #[error("this emulator hosts SdkAppId {hosted}, not {given}")]
    SdkAppIdUnknown { given: u64, hosted: u64 },
    #[error("the `roomid` query parameter is missing or empty")]
    RoomIdMissing,
    #[error("`roomid` must be 1–64 bytes without control characters; this one is {len} bytes")]
    RoomIdInvalid { len: usize },
    #[error("the `userid` query parameter is missing or empty")]
    UserIdMissing,
    #[error("`userid` must be 1–32 bytes of [A-Za-z0-9_-]; this one is {len} bytes and does not match")]
    UserIdInvalid { len: usize },
    #[error("the `usersig` query parameter is missing or empty")]
    UserSigMissing,
    #[error(transparent)]
    UserSig(UserSigError),
}

impl JoinRefused {
    fn status(&self) -> StatusCode {
        match self {
            JoinRefused::UserSigMissing => StatusCode::UNAUTHORIZED,
            JoinRefused::UserSig(UserSigError::EmptySecretKey) => StatusCode::INTERNAL_SERVER_ERROR,
            JoinRefused::UserSig(_) => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            JoinRefused::Query(_) => "query_malformed",
            JoinRefused::SdkAppIdMissing => "sdkappid_missing",
            JoinRefused::SdkAppIdInvalid(_) => "sdkappid_invalid",
            JoinRefused::SdkAppIdUnknown { .. } => "sdkappid_unknown",
            JoinRefused::RoomIdMissing => "roomid_missing",
            JoinRefused::RoomIdInvalid { .. } => "roomid_invalid",
            JoinRefused::UserIdMissing => "userid_missing",
            JoinRefused::UserIdInvalid { .. } => "userid_invalid",
            JoinRefused::UserSigMissing => "usersig_missing",
            JoinRefused::UserSig(err) => match err {
                UserSigError::EmptySecretKey => "secret_key_empty",
                UserSigError::WrongUser { .. } => "usersig_wrong_user",
                UserSigError::WrongSdkAppId { .. } => "usersig_wrong_app",
                UserSigError::Expired { .. } => "usersig_expired",
                UserSigError::BadSignature => "usersig_bad_signature",
                UserSigError::UnsupportedUserBuf => "usersig_unsupported",
                UserSigError::InvalidUserId { .. }
                | UserSigError::Malformed(_)
                | UserSigError::WrongVersion { .. }
                | UserSigError::Encode(_) => "usersig_malformed",
            },
        }
    }

    fn message(&self) -> String {
        match self {
            JoinRefused::UserSig(UserSigError::Expired { expired_at, now }) => format!(
                "the UserSig expired at {} (Unix {expired_at}), {} s before this join; ask the hub for a new one",
                rfc3339(*expired_at),
                now.saturating_sub(*expired_at)
            ),
            JoinRefused::UserSig(UserSigError::EmptySecretKey) => {
                "the room link's SDK secret key is configured but empty, so no UserSig can be trusted".to_owned()
            }
            // The ticket's own identifier only appears after trtc checked its syntax.
            JoinRefused::UserSig(UserSigError::InvalidUserId { .. }) => {
                "malformed UserSig: the user id inside it is not 1–32 bytes of [A-Za-z0-9_-]".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// The HTTP edge's one error shape.
#[derive(Debug, Serialize)]
struct WireError {
    code: &'static str,
    message: String,
}

impl IntoResponse for JoinRefused {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = WireError { code: self.code(), message: self.message() };
        if status.is_server_error() {
            tracing::error!(code = body.code, error = %self, "room join refused: the room link is misconfigured");
        } else {
            tracing::debug!(code = body.code, error = %self, "room join refused");
        }
        (status, Json(body)).into_response()
    }
}

/// `time` as RFC 3339 UTC, or the bare number when it is out of range.
fn rfc3339(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("Unix second {unix}"))
}

/// Checks the join parameters in order (app, room, user, ticket) and names the first problem.
fn admit(config: &RoomLinkConfig, query: &HashMap<String, String>) -> Result<Member, JoinRefused> {
    let present = |name: &str| query.get(name).map(String::as_str).filter(|value| !value.is_empty());
    let app = present("sdkappid").ok_or(JoinRefused::SdkAppIdMissing)?;
    let app: u64 = app.trim().parse().map_err(|_| JoinRefused::SdkAppIdInvalid(shorten(app)))?;
    if app != config.sdk_app_id {
        return Err(JoinRefused::SdkAppIdUnknown { given: app, hosted: config.sdk_app_id });
    }
    let room_id = present("roomid").ok_or(JoinRefused::RoomIdMissing)?;
    if room_id.len() > 64 || room_id.chars().any(char::is_control) {
        return Err(JoinRefused::RoomIdInvalid { len: room_id.len() });
    }
    let user_id = present("userid").ok_or(JoinRefused::UserIdMissing)?;
    if !is_user_id(user_id) {
        return Err(JoinRefused::UserIdInvalid { len: user_id.len() });
    }
    if let Some(secret) = &config.sdk_secret_key {
        let user_sig = present("usersig").ok_or(JoinRefused::UserSigMissing)?;
        trtc::usersig::verify(user_sig, config.sdk_app_id, secret, user_id, config.clock.now_secs())
            .map_err(JoinRefused::UserSig)?;
    }
    Ok(Member { room_id: room_id.to_owned(), user_id: user_id.to_owned() })
}

fn is_user_id(id: &str) -> bool {
    (1..=trtc::usersig::MAX_USER_ID_BYTES).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Untrusted input echoed in a message, cut to a readable length.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 32 {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(32).collect::<String>())
    }
}

/// A frame the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase", rename_all_fields = "camelCase")]
enum Frame<'a> {
    Joined {
        room_id: &'a str,
        user_id: &'a str,
    },
    Custom {
        cmd_id: u64,
        sender: &'a str,
        seq: u64,
        data: &'a Value,
    },
    Lagged {
        missed: u64,
    },
    Sent {
        seq: u64,
    },
    Error {
        code: &'static str,
        message: String,
    },
    #[serde(rename = "audioFormat")]
    AudioFormat {
        sample_rate: u32,
        channels: u16,
        frame_ms: u32,
        encoding: &'static str,
        header: &'static str,
    },
}

/// A member's subscription to the room audio.
#[derive(Debug)]
struct Listening {
    frames: broadcast::Receiver<AudioFrame>,
    /// Keeps the room marked joined while the member is in it.
    _presence: room_audio::JoinedRoom,
    /// Audio frames lost because this member fell behind.
    dropped: u64,
}

/// The next audio frame, or never when the member has no audio.
async fn next_audio(audio: &mut Option<Listening>) -> Result<AudioFrame, RecvError> {
    match audio {
        Some(listening) => listening.frames.recv().await,
        None => std::future::pending().await,
    }
}

/// Why the connection ended, for the leave log.
#[derive(Debug)]
enum Ending {
    ClientClosed,
    ClientGone,
    Silent,
    SlowReader,
    Transport(String),
    EmulatorStopped,
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::ClientClosed => f.write_str("the client closed the connection"),
            Ending::ClientGone => f.write_str("the client went away without a close frame"),
            Ending::Silent => write!(f, "nothing heard from the client for {} s", SILENCE_LIMIT.as_secs()),
            Ending::SlowReader => write!(f, "the client left a frame unread for {} s", SEND_PATIENCE.as_secs()),
            Ending::Transport(err) => write!(f, "the connection failed: {err}"),
            Ending::EmulatorStopped => f.write_str("the emulator is stopping"),
        }
    }
}

async fn serve_member(
    mut socket: WebSocket,
    mut rooms: broadcast::Receiver<RoomMessage>,
    mut audio: Option<Listening>,
    outputs: Outputs,
    member: Member,
) {
    tracing::debug!(room_id = %member.room_id, user_id = %member.user_id, "joined the room");
    let mut link = Link::new(member);
    let joined = Frame::Joined { room_id: &link.member.room_id, user_id: &link.member.user_id };
    let mut greeted = send(&mut socket, &joined).await;
    if greeted.is_ok() && audio.is_some() {
        let format = Frame::AudioFormat {
            sample_rate: crate::audio::SAMPLE_RATE,
            channels: 1,
            frame_ms: room_audio::FRAME_MS,
            encoding: "s16le",
            header: room_audio::HEADER_DESCRIPTION,
        };
        greeted = send(&mut socket, &format).await;
    }
    let ending = match greeted {
        Err(ending) => ending,
        Ok(()) => link.run(&mut socket, &mut rooms, &mut audio, &outputs).await,
    };
    farewell(&mut socket, &ending).await;
    let dropped = audio.as_ref().map_or(0, |listening| listening.dropped);
    tracing::debug!(
        room_id = %link.member.room_id,
        user_id = %link.member.user_id,
        ending = %ending,
        audio_frames_dropped = dropped,
        "left the room"
    );
}

/// One member's connection state.
#[derive(Debug)]
struct Link {
    member: Member,
    /// Custom frames delivered so far.
    received: u64,
    /// Client messages accepted so far.
    sent: u64,
    budget: SendBudget,
}

impl Link {
    fn new(member: Member) -> Link {
        Link { member, received: 0, sent: 0, budget: SendBudget::default() }
    }

    async fn run(
        &mut self,
        socket: &mut WebSocket,
        rooms: &mut broadcast::Receiver<RoomMessage>,
        audio: &mut Option<Listening>,
        outputs: &Outputs,
    ) -> Ending {
        let mut heartbeat = tokio::time::interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        loop {
            let step = tokio::select! {
                incoming = socket.recv() => {
                    last_heard = Instant::now();
                    match incoming {
                        None => return Ending::ClientGone,
                        Some(Err(err)) => return Ending::Transport(err.to_string()),
                        Some(Ok(Message::Close(_))) => return Ending::ClientClosed,
                        Some(Ok(Message::Text(text))) => {
                            let reply = self.receive(text.as_str(), outputs);
                            send(socket, &reply).await
                        }
                        Some(Ok(Message::Binary(_))) => {
                            let message = "frames are JSON text; binary frames are not read".to_owned();
                            send(socket, &Frame::Error { code: "binary_not_supported", message }).await
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                    }
                }
                message = rooms.recv() => match message {
                    Ok(message) => match self.deliver(&message) {
                        Some((cmd_id, seq)) => {
                            let sender = message.message.get("sender").and_then(Value::as_str).unwrap_or_default();
                            send(socket, &Frame::Custom { cmd_id, sender, seq, data: &message.message }).await
                        }
                        None => Ok(()),
                    },
                    Err(RecvError::Lagged(missed)) => send(socket, &Frame::Lagged { missed }).await,
                    Err(RecvError::Closed) => return Ending::EmulatorStopped,
                },
                frame = next_audio(audio) => match frame {
                    Ok(frame) if *frame.room_id == *self.member.room_id => {
                        send_message(socket, Message::Binary(frame.bytes)).await
                    }
                    Ok(_) => Ok(()),
                    Err(RecvError::Lagged(missed)) => {
                        if let Some(listening) = audio.as_mut() {
                            listening.dropped += missed;
                        }
                        Ok(())
                    }
                    Err(RecvError::Closed) => {
                        // The room audio stopped; text frames carry on.
                        *audio = None;
                        Ok(())
                    }
                },
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() >= SILENCE_LIMIT {
                        return Ending::Silent;
                    }
                    send_message(socket, Message::Ping(axum::body::Bytes::new())).await
                }
            };
            if let Err(ending) = step {
                return ending;
            }
        }
    }

    /// Whether a room message is this member's to see, and with which cmdID and seq.
    fn deliver(&mut self, message: &RoomMessage) -> Option<(u64, u64)> {
        if message.room_id != self.member.room_id {
            return None;
        }
        let message_type = message.message.get("type").and_then(Value::as_u64);
        let from_client = matches!(message_type, Some(TYPE_CHAT | TYPE_INTERRUPT));
        let sender = message.message.get("sender").and_then(Value::as_str);
        if from_client && sender == Some(self.member.user_id.as_str()) {
            return None;
        }
        self.received += 1;
        Some((if from_client { CMD_ID_CLIENT } else { CMD_ID_ROBOT }, self.received))
    }

    /// Checks one client text frame; an accepted message is emitted and acknowledged.
    fn receive(&mut self, text: &str, outputs: &Outputs) -> Frame<'static> {
        let checked = check(text, &self.member).and_then(|(data, bytes)| {
            self.budget.admit(Instant::now(), bytes)?;
            Ok(data)
        });
        match checked {
            Ok(data) => {
                self.sent += 1;
                outputs.emit(Emission::Room { room_id: self.member.room_id.clone(), message: data, voice: None });
                Frame::Sent { seq: self.sent }
            }
            Err(refusal) => {
                tracing::debug!(
                    room_id = %self.member.room_id,
                    user_id = %self.member.user_id,
                    code = refusal.code,
                    message = %refusal.message,
                    "room message refused"
                );
                Frame::Error { code: refusal.code, message: refusal.message }
            }
        }
    }
}

/// Why one client frame was refused.
#[derive(Debug)]
struct Refusal {
    code: &'static str,
    message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal { code, message: message.into() }
}

/// A client frame's message and its serialised size, when it is one a client may send.
fn check(text: &str, member: &Member) -> Result<(Value, usize), Refusal> {
    let frame: Value =
        serde_json::from_str(text).map_err(|e| refuse("malformed_json", format!("the frame is not JSON: {e}")))?;
    let Value::Object(mut frame) = frame else {
        return Err(refuse("malformed_json", "the frame must be a JSON object {\"cmdId\":2,\"data\":{…}}"));
    };
    let cmd_id = frame.get("cmdId").and_then(Value::as_u64).filter(|id| (1..=10).contains(id));
    let Some(cmd_id) = cmd_id else {
        return Err(refuse("cmd_id_invalid", "`cmdId` must be an integer from 1 to 10 (§3.1.8)"));
    };
    let data = match frame.remove("data") {
        Some(data @ Value::Object(_)) => data,
        Some(_) => return Err(refuse("data_invalid", "`data` must be a JSON object (the custom message)")),
        None => return Err(refuse("data_invalid", "`data` is missing")),
    };
    let bytes = serde_json::to_vec(&data).map(|v| v.len()).unwrap_or(usize::MAX);
    if bytes > MAX_MESSAGE_BYTES {
        return Err(refuse(
            "message_too_large",
            format!("the message is {bytes} bytes serialised; at most {MAX_MESSAGE_BYTES} are allowed (§3.1.8)"),
        ));
    }
    let message_type = data.get("type").and_then(Value::as_u64);
    let Some(message_type @ (TYPE_CHAT | TYPE_INTERRUPT)) = message_type else {
        let found = data.get("type").map_or_else(|| "none".to_owned(), |t| shorten(&t.to_string()));
        return Err(refuse(
            "type_not_allowed",
            format!("a client may send type 20000 (chat) or 20001 (interrupt), not {found}"),
        ));
    };
    if cmd_id != CMD_ID_CLIENT {
        return Err(refuse(
            "cmd_id_mismatch",
            format!("type {message_type} travels on cmdId {CMD_ID_CLIENT}, not {cmd_id} (the robot reads only that)"),
        ));
    }
    match data.get("sender").and_then(Value::as_str) {
        Some(sender) if sender == member.user_id => {}
        Some(sender) => {
            return Err(refuse(
                "sender_mismatch",
                format!("`sender` is {:?} but this connection joined as {:?}", shorten(sender), member.user_id),
            ))
        }
        None => return Err(refuse("sender_mismatch", "`sender` must be the joined user id, as a string")),
    }
    let receivers = data.get("receiver").and_then(Value::as_array);
    let receivers_ok = receivers
        .is_some_and(|list| !list.is_empty() && list.iter().all(|r| r.as_str().is_some_and(|id| !id.is_empty())));
    if !receivers_ok {
        return Err(refuse("receiver_invalid", "`receiver` must be a non-empty array of user ids (the robot's)"));
    }
    let payload = data.get("payload").and_then(Value::as_object);
    let Some(payload) = payload else {
        return Err(refuse("payload_invalid", "`payload` must be a JSON object"));
    };
    let text_field = |name: &str| payload.get(name).and_then(Value::as_str);
    if text_field("id").is_none_or(str::is_empty) {
        return Err(refuse("payload_invalid", format!("type {message_type} needs `payload.id`, a non-empty string")));
    }
    if message_type == TYPE_CHAT && text_field("message").is_none() {
        return Err(refuse("payload_invalid", "type 20000 needs `payload.message`, a string"));
    }
    if !payload.get("timestamp").is_some_and(Value::is_number) {
        return Err(refuse("payload_invalid", format!("type {message_type} needs `payload.timestamp`, a number")));
    }
    Ok((data, bytes))
}

/// The channel limits of §3.1.8 over a sliding second: accepted messages and their bytes.
#[derive(Debug, Default)]
struct SendBudget {
    recent: VecDeque<(Instant, usize)>,
}

impl SendBudget {
    fn admit(&mut self, now: Instant, bytes: usize) -> Result<(), Refusal> {
        while self.recent.front().is_some_and(|(at, _)| now.duration_since(*at) >= Duration::from_secs(1)) {
            self.recent.pop_front();
        }
        if self.recent.len() >= MAX_MESSAGES_PER_SEC {
            return Err(refuse(
                "rate_limited",
                format!("at most {MAX_MESSAGES_PER_SEC} messages per second per sender (§3.1.8); try again shortly"),
            ));
        }
        let spent: usize = self.recent.iter().map(|(_, b)| b).sum();
        if spent + bytes > MAX_BYTES_PER_SEC {
            return Err(refuse(
                "rate_limited",
                format!(
                    "at most {MAX_BYTES_PER_SEC} bytes per second per sender (§3.1.8); {spent} sent in the last second"
                ),
            ));
        }
        self.recent.push_back((now, bytes));
        Ok(())
    }
}

async fn send(socket: &mut WebSocket, frame: &Frame<'_>) -> Result<(), Ending> {
    match serde_json::to_string(frame) {
        Ok(text) => send_message(socket, Message::text(text)).await,
        Err(err) => {
            // Not expected: every frame is built from JSON values and strings.
            tracing::error!(error = %err, "a room-link frame could not be serialised; skipped");
            Ok(())
        }
    }
}

async fn send_message(socket: &mut WebSocket, message: Message) -> Result<(), Ending> {
    match tokio::time::timeout(SEND_PATIENCE, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(Ending::Transport(err.to_string())),
        Err(_) => Err(Ending::SlowReader),
    }
}

/// Ends the WebSocket handshake: answers a client's close (the reply goes out on the next
/// read) or sends ours, then waits briefly for the other side.
async fn farewell(socket: &mut WebSocket, ending: &Ending) {
    let reason = match ending {
        Ending::ClientGone | Ending::Transport(_) | Ending::SlowReader => return,
        Ending::ClientClosed => None,
        Ending::Silent => Some("no frame from the client for 45 s"),
        Ending::EmulatorStopped => Some("the emulator is stopping"),
    };
    if let Some(reason) = reason {
        let close = CloseFrame { code: close_code::AWAY, reason: reason.into() };
        if socket.send(Message::Close(Some(close))).await.is_err() {
            return;
        }
    }
    let drain = async { while let Some(Ok(_)) = socket.recv().await {} };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Member {
        Member { room_id: "8801".into(), user_id: "alice".into() }
    }

    fn chat(sender: &str) -> Value {
        serde_json::json!({
            "type": 20000, "sender": sender, "receiver": ["robot"],
            "payload": {"id": "b3c1", "message": "hello", "timestamp": 1_700_000_000_000u64}
        })
    }

    #[test]
    fn client_frames_are_refused_with_a_code_naming_the_problem() {
        let member = alice();
        let framed = |data: Value| serde_json::json!({"cmdId": 2, "data": data}).to_string();
        let mut interrupt = chat("alice");
        interrupt["type"] = 20001.into();
        interrupt["payload"] = serde_json::json!({"id": "1400000000_8801", "timestamp": 1_700_000_000u64});
        let mut no_message = chat("alice");
        if let Some(payload) = no_message["payload"].as_object_mut() {
            payload.remove("message");
        }
        let cases: Vec<(String, Option<&str>)> = vec![
            (framed(chat("alice")), None),
            (framed(interrupt), None),
            ("{not json".into(), Some("malformed_json")),
            ("[1,2]".into(), Some("malformed_json")),
            (serde_json::json!({"cmdId": 11, "data": chat("alice")}).to_string(), Some("cmd_id_invalid")),
            (serde_json::json!({"cmdId": "2", "data": chat("alice")}).to_string(), Some("cmd_id_invalid")),
            (serde_json::json!({"cmdId": 3, "data": chat("alice")}).to_string(), Some("cmd_id_mismatch")),
            (serde_json::json!({"cmdId": 2}).to_string(), Some("data_invalid")),
            (serde_json::json!({"cmdId": 2, "data": "text"}).to_string(), Some("data_invalid")),
            (framed(serde_json::json!({"type": 10000, "sender": "alice"})), Some("type_not_allowed")),
            (framed(chat("bob")), Some("sender_mismatch")),
            (framed(serde_json::json!({"type": 20000, "sender": "alice", "receiver": []})), Some("receiver_invalid")),
            (framed(no_message), Some("payload_invalid")),
        ];
        for (frame, expected) in cases {
            let got = check(&frame, &member).err().map(|refusal| refusal.code);
            assert_eq!(got, expected, "frame {frame}");
        }
    }

    #[test]
    fn the_budget_allows_thirty_messages_and_eight_kilobytes_a_second() {
        let start = Instant::now();
        let mut budget = SendBudget::default();
        for _ in 0..MAX_MESSAGES_PER_SEC {
            assert!(budget.admit(start, 10).is_ok(), "30 small messages in a second are allowed");
        }
        assert!(budget.admit(start, 10).is_err(), "the 31st in the same second is refused");
        assert!(budget.admit(start + Duration::from_secs(1), 10).is_ok(), "a second later there is room again");

        let mut budget = SendBudget::default();
        for _ in 0..8 {
            assert!(budget.admit(start, 1000).is_ok(), "8000 bytes fit in a second");
        }
        assert!(budget.admit(start, 1000).is_err(), "9000 bytes in a second are refused");
    }
}
