//! Room and media callbacks (event groups 1 and 2, contract §4): one `EventInfo` shape
//! for 101–105 and 201–206. There is no `Payload`, no `TaskId` and no `SdkAppId` in the body
//! (the app id comes from the HTTP header).

use serde::{Deserialize, Serialize};

use super::{lenient, WireRoomId};

/// `EventInfo` of every group-1 and group-2 callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoomEventInfo {
    /// A number or a string — the same type the client used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<WireRoomId>,
    /// Seconds (legacy).
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub event_ts: Option<u64>,
    /// Milliseconds.
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub event_ms_ts: Option<u64>,
    /// Absent on 102 (room dismissed).
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Only for apps created before 2021-07-30; deduplicates re-entries.
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<u64>,
    /// 20 anchor, 21 audience (103/104/105).
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub role: Option<u64>,
    /// 1 Windows, 2 Android, 3 iOS, 4 Linux, 100 other (103).
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub terminal_type: Option<u64>,
    /// 1 WebRTC, 2 mini program, 3 native SDK (103).
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub user_type: Option<u64>,
    /// Enter (103) or exit (104) reason; 0 on the 2xx examples, meaning undocumented.
    #[serde(default, deserialize_with = "lenient::opt_u64", skip_serializing_if = "Option::is_none")]
    pub reason: Option<u64>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::wire::{assert_round_trip, CallbackBody};

    #[test]
    fn the_contracts_103_and_204_examples_parse() {
        let enter: CallbackBody = serde_json::from_str(r#"{"EventGroupId":1,"EventType":103,"CallbackTs":1687770731932,"EventInfo":{"RoomId":12345,"EventTs":1687770731,"EventMsTs":1687770731831,"UserId":"test","Role":21,"TerminalType":2,"UserType":3,"Reason":1}}"#).unwrap();
        let info: RoomEventInfo = serde_json::from_value(enter.event_info.unwrap()).unwrap();
        assert_eq!(info.room_id, Some(WireRoomId::Number(12345)));
        assert_eq!((info.role, info.terminal_type, info.user_type, info.reason), (Some(21), Some(2), Some(3), Some(1)));
        assert_eq!(info.event_ms_ts, Some(1_687_770_731_831));

        let stop_audio: CallbackBody = serde_json::from_str(r#"{"EventGroupId":2,"EventType":204,"CallbackTs":1687770732498,"EventInfo":{"RoomId":12345,"EventTs":1687770732,"EventMsTs":1687770732383,"UserId":"test","Reason":0}}"#).unwrap();
        let info: RoomEventInfo = serde_json::from_value(stop_audio.event_info.unwrap()).unwrap();
        assert_eq!(info.user_id.as_deref(), Some("test"));
        assert_eq!(info.role, None, "204 carries no role");
    }

    #[test]
    fn room_event_info_survives_a_serde_round_trip() {
        assert_round_trip(&RoomEventInfo {
            room_id: Some(WireRoomId::Number(12345)),
            event_ts: Some(1_687_770_731),
            event_ms_ts: Some(1_687_770_731_831),
            user_id: Some("test".into()),
            unique_id: Some(77),
            role: Some(21),
            terminal_type: Some(2),
            user_type: Some(3),
            reason: Some(1),
        });
        assert_round_trip(&RoomEventInfo {
            room_id: Some(WireRoomId::Text("room_a".into())),
            event_ts: None,
            event_ms_ts: None,
            user_id: None,
            unique_id: None,
            role: None,
            terminal_type: None,
            user_type: None,
            reason: None,
        });
    }
}
