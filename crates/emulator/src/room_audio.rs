//! Room audio: what a member of a call's room hears, as PCM frames for the room link.
//!
//! One task per emulator listens to every room message. When a line is final (the same
//! rule as the recorder: a 10000 subtitle with `end: true`, whose text is its own or, when
//! empty, the sender's last non-empty cumulative text), and someone has joined that room
//! through the room link, the line goes to that speaker's queue. A speaker (one per room
//! and user id) speaks its lines one after another with espeak-ng ([`crate::audio`], on the
//! blocking pool) — each in the voice it was planned with, so the robot's lines follow its
//! `TTSConfig` voice id and a mid-call update is heard from the next line on — and streams
//! them as 20 ms frames of 22050 Hz mono s16le (441 samples),
//! paced in real time divided by the emulator's speed. Different speakers are separate
//! streams, so overlapping lines overlap; each stream numbers its frames from 0.
//!
//! Rooms nobody has joined cost nothing: their lines are not synthesised.
//!
//! # Binary frame format (`PCM1`)
//!
//! Every audio frame the room link sends is one binary WebSocket message, little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `b"PCM1"` |
//! | 2 | `n`, u16: length of the speaker's user id in bytes |
//! | `n` | the user id, UTF-8 |
//! | 4 | sample rate, u32 (22050) |
//! | 4 | sequence, u32: the frame's number in this speaker's stream, from 0, +1 per frame |
//! | rest | samples, s16le mono: 441 per frame (20 ms); a line's last frame may hold fewer |
//!
//! A gap in a speaker's sequence means frames were dropped for this client (it fell behind).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::body::Bytes;
use tokio::{
    sync::{
        broadcast::{self, error::RecvError},
        mpsc,
    },
    time::MissedTickBehavior,
};

use crate::{
    audio::{self, Voice},
    outputs::{Outputs, SpokenLine, SpokenLines},
};

/// The frame header's magic.
pub const MAGIC: &[u8; 4] = b"PCM1";
/// Length of one frame.
pub const FRAME_MS: u32 = 20;
/// Samples in one full frame (20 ms at 22050 Hz).
pub const FRAME_SAMPLES: usize = (audio::SAMPLE_RATE as usize) * (FRAME_MS as usize) / 1000;
/// The header's description, as the room link's `audioFormat` frame states it.
pub const HEADER_DESCRIPTION: &str = "PCM1 magic (4 bytes), u16 LE user id length, user id (UTF-8), \
     u32 LE sample rate, u32 LE sequence (per user id, from 0), then s16le samples";
/// Audio frames held for room-link clients; a client further behind loses frames.
const AUDIO_BUFFER: usize = 1024;
/// A speaker with nothing to say for this long (wall time) ends; its sequence carries on.
const SPEAKER_IDLE: Duration = Duration::from_secs(60);

/// One frame of a speaker's stream, already encoded as the room link sends it.
#[derive(Debug, Clone)]
pub struct AudioFrame {
    pub room_id: Arc<str>,
    pub user_id: Arc<str>,
    pub seq: u32,
    /// The whole binary message (header and samples).
    pub bytes: Bytes,
}

/// Encodes one frame in the `PCM1` format.
pub fn encode_frame(user_id: &str, seq: u32, samples: &[i16]) -> Bytes {
    let id = user_id.as_bytes();
    let id_len = u16::try_from(id.len()).unwrap_or(u16::MAX);
    let id = &id[..usize::from(id_len)];
    let mut bytes = Vec::with_capacity(4 + 2 + id.len() + 8 + samples.len() * 2);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&id_len.to_le_bytes());
    bytes.extend_from_slice(id);
    bytes.extend_from_slice(&audio::SAMPLE_RATE.to_le_bytes());
    bytes.extend_from_slice(&seq.to_le_bytes());
    for sample in samples {
        bytes.extend_from_slice(&sample.to_le_bytes());
    }
    Bytes::from(bytes)
}

/// The rooms someone has joined and the audio streamed into them; shared by the speaker
/// task and the room link.
#[derive(Debug, Clone)]
pub struct RoomAudio {
    joined: Arc<Mutex<HashMap<String, usize>>>,
    frames: broadcast::Sender<AudioFrame>,
}

impl Default for RoomAudio {
    fn default() -> RoomAudio {
        RoomAudio::new()
    }
}

impl RoomAudio {
    /// Shared state with no room joined and no speaker running.
    pub fn new() -> RoomAudio {
        let (frames, _) = broadcast::channel(AUDIO_BUFFER);
        RoomAudio { joined: Arc::new(Mutex::new(HashMap::new())), frames }
    }

    /// Marks `room_id` as joined until the guard is dropped.
    pub fn join(&self, room_id: &str) -> JoinedRoom {
        *self.joined.lock().unwrap_or_else(PoisonError::into_inner).entry(room_id.to_owned()).or_insert(0) += 1;
        JoinedRoom { audio: self.clone(), room_id: room_id.to_owned() }
    }

    /// Whether any room-link client is in `room_id`.
    pub fn is_joined(&self, room_id: &str) -> bool {
        self.joined.lock().unwrap_or_else(PoisonError::into_inner).get(room_id).is_some_and(|n| *n > 0)
    }

    /// Another receiver of every room's audio frames (one per room-link client).
    pub fn subscribe(&self) -> broadcast::Receiver<AudioFrame> {
        self.frames.subscribe()
    }
}

/// A room-link client's presence in a room, for [`RoomAudio::is_joined`].
#[derive(Debug)]
pub struct JoinedRoom {
    audio: RoomAudio,
    room_id: String,
}

impl Drop for JoinedRoom {
    fn drop(&mut self) {
        let mut joined = self.audio.joined.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = joined.get_mut(&self.room_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                joined.remove(&self.room_id);
            }
        }
    }
}

/// A line to speak: its text and voice.
type Said = (String, Option<Voice>);

/// A speaker's queue and its stream's next sequence number.
struct Speaker {
    lines: mpsc::UnboundedSender<Said>,
    next_seq: Arc<Mutex<u32>>,
}

/// Starts the task that turns the rooms' final lines into audio frames. It subscribes
/// before returning, so every later room message is heard.
pub fn spawn(audio: RoomAudio, outputs: &Outputs, speed: f64) -> tokio::task::JoinHandle<()> {
    let mut rooms = outputs.subscribe_rooms();
    let period = frame_period(speed);
    tokio::spawn(async move {
        let mut spoken = SpokenLines::default();
        let mut speakers: HashMap<(String, String), Speaker> = HashMap::new();
        loop {
            let message = match rooms.recv().await {
                Ok(message) => message,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "room audio fell behind the room messages; some lines are not spoken");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let Some(SpokenLine { user_id, text, voice }) = spoken.complete(&message) else {
                continue;
            };
            if !audio.is_joined(&message.room_id) {
                continue;
            }
            let key = (message.room_id.clone(), user_id);
            let speaker = speakers.entry(key.clone()).or_insert_with(|| {
                let next_seq = Arc::new(Mutex::new(0));
                Speaker { lines: start_speaker(&audio, &key.0, &key.1, period, next_seq.clone()), next_seq }
            });
            if let Err(mpsc::error::SendError(said)) = speaker.lines.send((text, voice)) {
                // The speaker ended while idle: start it again, continuing its sequence.
                speaker.lines = start_speaker(&audio, &key.0, &key.1, period, speaker.next_seq.clone());
                let _ = speaker.lines.send(said);
            }
        }
    })
}

/// 20 ms divided by the speed (at least a microsecond).
fn frame_period(speed: f64) -> Duration {
    let speed = if speed.is_finite() && speed > 0.0 { speed } else { 1.0 };
    Duration::from_secs_f64(f64::from(FRAME_MS) / 1000.0 / speed).max(Duration::from_micros(1))
}

fn start_speaker(
    audio: &RoomAudio,
    room_id: &str,
    user_id: &str,
    period: Duration,
    next_seq: Arc<Mutex<u32>>,
) -> mpsc::UnboundedSender<Said> {
    let (lines_tx, mut lines) = mpsc::unbounded_channel::<Said>();
    let frames = audio.frames.clone();
    let room_id: Arc<str> = room_id.into();
    let user_id: Arc<str> = user_id.into();
    tokio::spawn(async move {
        while let Ok(Some((text, voice))) = tokio::time::timeout(SPEAKER_IDLE, lines.recv()).await {
            let spoken = tokio::task::spawn_blocking(move || audio::synthesize(&text, None, voice)).await;
            let samples = match spoken {
                Ok(Ok(samples)) => samples,
                Ok(Err(err)) => {
                    tracing::warn!(room_id = %room_id, user_id = %user_id, error = %err, "a line could not be spoken");
                    continue;
                }
                Err(err) => {
                    tracing::warn!(room_id = %room_id, user_id = %user_id, error = %err, "speaking a line stopped abnormally");
                    continue;
                }
            };
            let mut pace = tokio::time::interval(period);
            pace.set_missed_tick_behavior(MissedTickBehavior::Burst);
            for chunk in samples.chunks(FRAME_SAMPLES) {
                pace.tick().await;
                let seq = {
                    let mut next = next_seq.lock().unwrap_or_else(PoisonError::into_inner);
                    let seq = *next;
                    *next = next.wrapping_add(1);
                    seq
                };
                let bytes = encode_frame(&user_id, seq, chunk);
                // No receiver (everyone left) is fine: the frame is simply not heard.
                let _ = frames.send(AudioFrame { room_id: room_id.clone(), user_id: user_id.clone(), seq, bytes });
            }
        }
    });
    lines_tx
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_has_the_documented_header() {
        let bytes = encode_frame("robot", 7, &[1, -1]);
        let mut expected = b"PCM1\x05\x00robot".to_vec();
        expected.extend(22050u32.to_le_bytes());
        expected.extend(7u32.to_le_bytes());
        expected.extend([1, 0, 0xff, 0xff]);
        assert_eq!(&bytes[..], &expected[..]);
        assert_eq!(FRAME_SAMPLES, 441);
    }

    #[test]
    fn joined_rooms_are_counted_until_every_guard_is_dropped() {
        let audio = RoomAudio::new();
        let first = audio.join("r");
        let second = audio.join("r");
        drop(first);
        assert!(audio.is_joined("r"));
        drop(second);
        assert!(!audio.is_joined("r"));
    }
}
