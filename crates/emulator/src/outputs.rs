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
