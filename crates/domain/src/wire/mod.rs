//! TRTC's wire formats, exactly as `trtc-contract.md` describes them.
//!
//! What lives here: serde structs for the server callback body (§3.2, §4, §5.3) with the
//! per-group `EventInfo` and per-type `Payload`, and the room custom messages 10000–10030
//! (§3.1). They are tolerant of every documented variant (numbers sent as strings,
//! `CallbackTs` vs `CallbackMsTs`, numeric or string room ids, `LeaveCode` vs `Status`) and
//! write one canonical form back, so serialise → deserialise gives an equal value.
//! Payload fields are optional here on purpose: which fields an event *needs* is decided in
//! [`crate::event`], which can then name the missing one.
//!
//! What deliberately does not: meaning. Nothing here knows what a LeaveCode or a state
//! number means, and nothing past [`crate::event`] reads these types — they are converted
//! once into domain types at the edge. Signature verification is not here either (it runs
//! on the raw bytes, in the `trtc` crate).

pub mod ai;
pub(crate) mod lenient;
pub mod message;
pub mod recording;
pub mod room;

use serde::{Deserialize, Serialize};

/// The body of every TRTC server callback (AI group 9, room 1, media 2, recording 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackBody {
    /// 1 room, 2 media, 3 recording, 9 AI conversation.
    #[serde(deserialize_with = "lenient::u64")]
    pub event_group_id: u64,
    /// The event type within the group (e.g. 901, 103, 302).
    #[serde(deserialize_with = "lenient::u64")]
    pub event_type: u64,
    /// When the callback was sent, in ms. The AI doc's field table calls it `CallbackMsTs`
    /// while every example uses `CallbackTs`: both are read, `CallbackTs` is written.
    #[serde(
        default,
        alias = "CallbackMsTs",
        deserialize_with = "lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub callback_ts: Option<u64>,
    /// Left as JSON until the group is known; see [`ai::AiEventInfo`],
    /// [`room::RoomEventInfo`] and [`recording::RecordingEventInfo`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_info: Option<serde_json::Value>,
}

/// A room id as TRTC sends it: a number for numeric rooms (room callbacks), a string for
/// string rooms — and also a string for numeric rooms in AI callbacks, where `RoomIdType`
/// tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WireRoomId {
    Number(u64),
    Text(String),
}

#[cfg(test)]
pub(crate) fn assert_round_trip<T>(value: &T)
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).unwrap_or_else(|e| panic!("{value:?} serialises: {e}"));
    let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("deserialises its own output {json}: {e}"));
    assert_eq!(&back, value, "round trip changed the value; json was {json}");
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_signature_vector_body_with_tabs_and_newlines_parses() {
        let body = "{\n\t\"EventGroupId\":\t2,\n\t\"EventType\":\t204,\n\t\"CallbackTs\":\t1664209748188,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t8489,\n\t\t\"EventTs\":\t1664209748,\n\t\t\"EventMsTs\":\t1664209748180,\n\t\t\"UserId\":\t\"user_85034614\",\n\t\t\"Reason\":\t0\n\t}\n}";
        let parsed: CallbackBody = serde_json::from_str(body).unwrap();
        assert_eq!((parsed.event_group_id, parsed.event_type), (2, 204));
        assert_eq!(parsed.callback_ts, Some(1_664_209_748_188));
        let info: room::RoomEventInfo = serde_json::from_value(parsed.event_info.unwrap()).unwrap();
        assert_eq!(info.room_id, Some(WireRoomId::Number(8489)));
        assert_eq!(info.event_ms_ts, Some(1_664_209_748_180));
        assert_eq!(info.user_id.as_deref(), Some("user_85034614"));
        assert_eq!(info.reason, Some(0));
    }

    #[test]
    fn callback_ms_ts_is_read_as_callback_ts_and_written_back_as_callback_ts() {
        let parsed: CallbackBody = serde_json::from_value(
            json!({"EventGroupId":9,"EventType":909,"CallbackMsTs":"1687770730166","EventInfo":{}}),
        )
        .unwrap();
        assert_eq!(parsed.callback_ts, Some(1_687_770_730_166));
        let written = serde_json::to_value(&parsed).unwrap();
        assert_eq!(written["CallbackTs"], 1_687_770_730_166_u64);
        assert!(written.get("CallbackMsTs").is_none(), "only the example spelling is written");
    }

    #[test]
    fn an_unknown_event_type_still_parses_as_an_envelope() {
        let parsed: CallbackBody =
            serde_json::from_value(json!({"EventGroupId":9,"EventType":907,"CallbackTs":1,"EventInfo":{"Payload":{}}}))
                .unwrap();
        assert_eq!(parsed.event_type, 907, "meaning is decided later, not by the envelope");
    }

    #[test]
    fn envelopes_and_room_ids_survive_a_serde_round_trip() {
        assert_round_trip(&CallbackBody {
            event_group_id: 9,
            event_type: 901,
            callback_ts: Some(1_687_770_730_166),
            event_info: Some(json!({"TaskId":"t","Payload":{"Status":0}})),
        });
        assert_round_trip(&CallbackBody { event_group_id: 1, event_type: 102, callback_ts: None, event_info: None });
        assert_round_trip(&WireRoomId::Number(12345));
        assert_round_trip(&WireRoomId::Text("room_987654321".into()));
        assert_round_trip(&WireRoomId::Text("1234".into()));
    }
}
