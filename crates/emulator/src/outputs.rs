//! What a running emulated call emits, and where it goes.
//!
//! The conversation engine produces [`Emission`]s; each has the source time TRTC would
//! stamp on it. Server callbacks go to the callback sender (signed, posted with TRTC's
//! timeout and retry schedule); room messages go to every client in the room (the room
//! link). Keeping this a plain channel boundary lets each side be tested alone.
//!
//! A room message may carry, beside what TRTC sends, the [`Voice`] its sender's line is
//! spoken in (the robot's subtitles, from its `TTSConfig` when the line was planned). That
//! is the emulator's own bookkeeping for whatever renders speech ([`SpokenLines`]: room
//! audio, recordings); the room link never sends it to clients.

use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use crate::audio::Voice;

/// One thing a call produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Emission {
    /// A server callback body (`{"EventGroupId","EventType","CallbackTs","EventInfo"}`),
    /// not yet signed; `CallbackTs` is filled in by the sender at each attempt.
    Callback(Value),
    /// A cmdID-1 custom message in a room (`{"type","sender","receiver","payload"}`), and
    /// the voice its line is spoken in ([`RoomMessage::voice`]).
    Room { room_id: String, message: Value, voice: Option<Voice> },
}

/// The receiving ends, held by the callback sender and the room link.
#[derive(Debug)]
pub struct Receivers {
    pub callbacks: mpsc::UnboundedReceiver<Value>,
    pub rooms: broadcast::Receiver<RoomMessage>,
}

/// A room message with its room, as broadcast to room-link clients.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomMessage {
    pub room_id: String,
    pub message: Value,
    /// The voice the sender speaks the line of this message in (a robot subtitle's TTS
    /// voice); `None` for messages that are not speech and for speakers with no voice of
    /// their own (customers), who are heard in their language's voice. Never sent to
    /// room-link clients.
    pub voice: Option<Voice>,
}

/// The sending side, cloned into every running call.
#[derive(Debug, Clone)]
pub struct Outputs {
    callbacks: mpsc::UnboundedSender<Value>,
    rooms: broadcast::Sender<RoomMessage>,
}

impl Outputs {
    /// A new pair of ends. Room messages nobody listens to are dropped (TRTC does the same
    /// when no client is in the room); callbacks are queued for the sender.
    pub fn new() -> (Outputs, Receivers) {
        let (callbacks, callback_rx) = mpsc::unbounded_channel();
        let (rooms, room_rx) = broadcast::channel(4096);
        (Outputs { callbacks, rooms }, Receivers { callbacks: callback_rx, rooms: room_rx })
    }

    /// Hands an emission to its destination.
    pub fn emit(&self, emission: Emission) {
        match emission {
            Emission::Callback(body) => {
                // The receiver lives as long as the emulator; a closed channel means shutdown.
                let _ = self.callbacks.send(body);
            }
            Emission::Room { room_id, message, voice } => {
                let _ = self.rooms.send(RoomMessage { room_id, message, voice });
            }
        }
    }

    /// Another receiver of room messages (one per room-link client).
    pub fn subscribe_rooms(&self) -> broadcast::Receiver<RoomMessage> {
        self.rooms.subscribe()
    }
}

/// A line someone finished saying in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpokenLine {
    pub user_id: String,
    pub text: String,
    /// The voice to speak it in; `None` for the language's own voice.
    pub voice: Option<Voice>,
}

/// Reads completed spoken lines off room messages, for whatever renders speech (the
/// recorder, room audio): a 10000 subtitle with `end: true` completes a line, spoken with
/// its own text or, when that is empty (the robot's cumulative subtitles end that way),
/// the speaker's last non-empty text in that room — in the voice of the message that
/// completes it, or else of the one that held that text.
#[derive(Debug, Default)]
pub struct SpokenLines {
    /// (room, speaker) → the last non-empty text of the sentence in progress, and its voice.
    pending: std::collections::HashMap<(String, String), (String, Option<Voice>)>,
}

impl SpokenLines {
    /// The line that `message` completes, if any.
    pub fn complete(&mut self, message: &RoomMessage) -> Option<SpokenLine> {
        let body = &message.message;
        if body.get("type").and_then(Value::as_u64) != Some(10000) {
            return None;
        }
        let sender = body.get("sender").and_then(Value::as_str).unwrap_or_default().to_owned();
        let payload = body.get("payload")?;
        let text = payload.get("text").and_then(Value::as_str).unwrap_or_default().trim().to_owned();
        let key = (message.room_id.clone(), sender);
        if !payload.get("end").and_then(Value::as_bool).unwrap_or(false) {
            if !text.is_empty() {
                self.pending.insert(key, (text, message.voice));
            }
            return None;
        }
        let held = self.pending.remove(&key);
        let (text, held_voice) = match held {
            _ if !text.is_empty() => (text, None),
            Some(held) => held,
            None => return None,
        };
        Some(SpokenLine { user_id: key.1, text, voice: message.voice.or(held_voice) })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sub(room: &str, sender: &str, text: &str, end: bool) -> RoomMessage {
        voiced(room, sender, text, end, None)
    }

    fn voiced(room: &str, sender: &str, text: &str, end: bool, voice: Option<Voice>) -> RoomMessage {
        RoomMessage {
            room_id: room.into(),
            message: json!({"type": 10000, "sender": sender, "payload": {"text": text, "end": end}}),
            voice,
        }
    }

    fn line(user_id: &str, text: &str, voice: Option<Voice>) -> Option<SpokenLine> {
        Some(SpokenLine { user_id: user_id.into(), text: text.into(), voice })
    }

    #[test]
    fn a_final_line_is_its_own_text_or_the_speakers_last_text_in_that_room() {
        let mut spoken = SpokenLines::default();
        assert_eq!(spoken.complete(&sub("a", "robot", "您好", false)), None);
        assert_eq!(spoken.complete(&sub("a", "robot", "您好，请问", false)), None);
        assert_eq!(spoken.complete(&sub("b", "robot", "", true)), None, "another room's robot has said nothing");
        assert_eq!(spoken.complete(&sub("a", "robot", "", true)), line("robot", "您好，请问", None));
        assert_eq!(spoken.complete(&sub("a", "robot", "", true)), None, "nothing left to say");
        assert_eq!(spoken.complete(&sub("a", "customer", " 我要退款 ", true)), line("customer", "我要退款", None));
        let state = RoomMessage {
            room_id: "a".into(),
            message: json!({"type": 10001, "sender": "robot", "payload": {}}),
            voice: None,
        };
        assert_eq!(spoken.complete(&state), None);
    }

    #[test]
    fn a_line_is_spoken_in_the_voice_its_messages_carry() {
        let (female, male) = (Voice::for_id("v-female-R2s4N9qJ"), Voice::for_id("v-male-Bk7vD3xP"));
        let mut spoken = SpokenLines::default();
        assert_eq!(spoken.complete(&voiced("a", "robot", "您好", false, Some(female))), None);
        assert_eq!(
            spoken.complete(&voiced("a", "robot", "", true, Some(male))),
            line("robot", "您好", Some(male)),
            "the completing message's voice wins"
        );
        assert_eq!(spoken.complete(&voiced("a", "robot", "请稍等", false, Some(female))), None);
        assert_eq!(
            spoken.complete(&sub("a", "robot", "", true)),
            line("robot", "请稍等", Some(female)),
            "else the voice of the message that held the text"
        );
        assert_eq!(spoken.complete(&voiced("a", "robot", "好的", true, Some(male))), line("robot", "好的", Some(male)));
    }
}
