//! Identifiers and timestamps, parsed once at the edge.
//!
//! What lives here: the newtypes every other module speaks in — TRTC's application, task,
//! room, user and round ids, the source timestamp TRTC stamps on an event, and the hub's
//! sequence number.
//!
//! What deliberately does not: any knowledge of where an id came from (wire formats live in
//! [`crate::wire`]) and any validation beyond "not blank" — TRTC ids are opaque.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// A TRTC application id (`SdkAppId`, from the callback's HTTP header or the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SdkAppId(pub u64);

impl fmt::Display for SdkAppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A source timestamp in milliseconds since the Unix epoch, as TRTC gives it (`EventMsTs`),
/// or the time a room message was received when the message carries none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceMs(pub u64);

impl SourceMs {
    /// Milliseconds from `earlier` to `self`; zero when `earlier` is not earlier.
    pub fn since(self, earlier: SourceMs) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// The hub's sequence number for a durable event; assigned once, when the hub appends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seq(pub u64);

/// Declares an opaque, non-blank text id.
macro_rules! text_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps text the caller already knows to be an id (tests, fixtures, the emulator).
            pub fn new(text: impl Into<String>) -> $name {
                $name(text.into())
            }

            /// Parses an id from the wire: `None` when the text is blank.
            pub fn parse(text: &str) -> Option<$name> {
                if text.trim().is_empty() {
                    None
                } else {
                    Some($name(text.to_owned()))
                }
            }

            /// The id as TRTC spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(
    /// An AI conversation task (`TaskId` from `StartAIConversation`), or a cloud recording
    /// task — the two are different tasks and never the same value.
    TaskId
);
text_id!(
    /// A TRTC user in a room: a customer, the AI robot, a recorder bot or a supervisor.
    UserId
);
text_id!(
    /// One round of conversation (`RoundId` / `roundid`): a user sentence and the reply.
    RoundId
);

/// Whether a TRTC room id is numeric or a string room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomIdKind {
    /// A 32-bit integer room (the default for clients and AI tasks).
    Numeric,
    /// A string room.
    Str,
}

/// A TRTC room id in its text form (numeric 8489 is `"8489"`), plus whether it was numeric.
///
/// Equality, ordering and hashing use the text form only: the AI callbacks spell a numeric
/// room as the string `"8489"` while room callbacks send the number `8489`, and both must
/// match the same room.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoomId {
    id: String,
    kind: RoomIdKind,
}

impl RoomId {
    /// A numeric room.
    pub fn numeric(id: u64) -> RoomId {
        RoomId { id: id.to_string(), kind: RoomIdKind::Numeric }
    }

    /// A string room.
    pub fn string(id: impl Into<String>) -> RoomId {
        RoomId { id: id.into(), kind: RoomIdKind::Str }
    }

    /// A room id given as text with its kind; `None` when the text is blank.
    pub fn parse(text: &str, kind: RoomIdKind) -> Option<RoomId> {
        if text.trim().is_empty() {
            None
        } else {
            Some(RoomId { id: text.to_owned(), kind })
        }
    }

    /// The text form, as the room id is spelt in the AI API.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// Whether the room is numeric or a string room.
    pub fn kind(&self) -> RoomIdKind {
        self.kind
    }
}

impl PartialEq for RoomId {
    fn eq(&self, other: &RoomId) -> bool {
        self.id == other.id
    }
}

impl Eq for RoomId {}

impl Hash for RoomId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl PartialOrd for RoomId {
    fn partial_cmp(&self, other: &RoomId) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RoomId {
    fn cmp(&self, other: &RoomId) -> Ordering {
        self.id.cmp(&other.id)
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn numeric_and_string_spellings_of_a_room_match_the_same_room() {
        let from_room_callback = RoomId::numeric(8489);
        let from_ai_callback = RoomId::parse("8489", RoomIdKind::Str).unwrap();
        assert_eq!(from_room_callback, from_ai_callback, "room matching uses the text form");
        assert_eq!(from_room_callback.as_str(), "8489");
        assert_eq!(from_room_callback.kind(), RoomIdKind::Numeric, "the kind is still kept");
    }

    #[test]
    fn blank_ids_do_not_parse() {
        assert_eq!(TaskId::parse(""), None);
        assert_eq!(UserId::parse("   "), None);
        assert_eq!(RoundId::parse("r1"), Some(RoundId::new("r1")));
        assert_eq!(RoomId::parse(" ", RoomIdKind::Numeric), None);
    }

    #[test]
    fn ids_survive_a_serde_round_trip_in_their_plain_form() {
        assert_eq!(serde_json::to_string(&TaskId::new("t-1")).unwrap(), "\"t-1\"");
        assert_eq!(serde_json::to_string(&SourceMs(5)).unwrap(), "5");
        let room = RoomId::string("room_9");
        let back: RoomId = serde_json::from_str(&serde_json::to_string(&room).unwrap()).unwrap();
        assert_eq!(back, room);
        assert_eq!(back.kind(), RoomIdKind::Str, "the kind survives the round trip");
        let seq: Seq = serde_json::from_str("42").unwrap();
        assert_eq!(seq, Seq(42));
        let app: SdkAppId = serde_json::from_str("1400000000").unwrap();
        assert_eq!(app, SdkAppId(1_400_000_000));
    }

    #[test]
    fn source_time_differences_never_underflow() {
        assert_eq!(SourceMs(1_000).since(SourceMs(400)), 600);
        assert_eq!(SourceMs(400).since(SourceMs(1_000)), 0);
    }
}
