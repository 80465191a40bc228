//! What a running emulated call emits, and where it goes.
//!
//! The conversation engine produces [`Emission`]s; each has the source time TRTC would
//! stamp on it. Server callbacks go to the callback sender (signed, posted with TRTC's
//! timeout and retry schedule); room messages go to every client in the room (the room
//! link). Keeping this a plain channel boundary lets each side be tested alone.

use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

/// One thing a call produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Emission {
    /// A server callback body (`{"EventGroupId","EventType","CallbackTs","EventInfo"}`),
    /// not yet signed; `CallbackTs` is filled in by the sender at each attempt.
    Callback(Value),
    /// A cmdID-1 custom message in a room (`{"type","sender","receiver","payload"}`).
    Room { room_id: String, message: Value },
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
            Emission::Room { room_id, message } => {
                let _ = self.rooms.send(RoomMessage { room_id, message });
            }
        }
    }

    /// Another receiver of room messages (one per room-link client).
    pub fn subscribe_rooms(&self) -> broadcast::Receiver<RoomMessage> {
        self.rooms.subscribe()
    }
}

/// Reads completed spoken lines off room messages, for whatever renders speech (the
/// recorder, room audio): a 10000 subtitle with `end: true` completes a line, spoken with
/// its own text or, when that is empty (the robot's cumulative subtitles end that way),
/// the speaker's last non-empty text in that room.
#[derive(Debug, Default)]
pub struct SpokenLines {
    /// (room, speaker) → the last non-empty text of the sentence in progress.
    pending: std::collections::HashMap<(String, String), String>,
}

impl SpokenLines {
    /// The (speaker, text) that `message` completes, if any.
    pub fn complete(&mut self, message: &RoomMessage) -> Option<(String, String)> {
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
                self.pending.insert(key, text);
            }
            return None;
        }
        let held = self.pending.remove(&key);
        let text = if text.is_empty() { held? } else { text };
        Some((key.1, text))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sub(room: &str, sender: &str, text: &str, end: bool) -> RoomMessage {
        RoomMessage {
            room_id: room.into(),
            message: json!({"type": 10000, "sender": sender, "payload": {"text": text, "end": end}}),
        }
    }

    #[test]
    fn a_final_line_is_its_own_text_or_the_speakers_last_text_in_that_room() {
        let mut spoken = SpokenLines::default();
        assert_eq!(spoken.complete(&sub("a", "robot", "您好", false)), None);
        assert_eq!(spoken.complete(&sub("a", "robot", "您好，请问", false)), None);
        assert_eq!(spoken.complete(&sub("b", "robot", "", true)), None, "another room's robot has said nothing");
        assert_eq!(spoken.complete(&sub("a", "robot", "", true)), Some(("robot".into(), "您好，请问".into())));
        assert_eq!(spoken.complete(&sub("a", "robot", "", true)), None, "nothing left to say");
        assert_eq!(
            spoken.complete(&sub("a", "customer", " 我要退款 ", true)),
            Some(("customer".into(), "我要退款".into()))
        );
        let state =
            RoomMessage { room_id: "a".into(), message: json!({"type": 10001, "sender": "robot", "payload": {}}) };
        assert_eq!(spoken.complete(&state), None);
    }
}
