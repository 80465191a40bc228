//! [`LiveBoard`]: the console's in-memory wall — the domain board of the calls that are
//! live (or ended moments ago), plus the events it was folded from.
//!
//! The engine folds every event it stores into this board (for alerts, and to answer the
//! UI's `live_snapshot`); the UI folds the same events with the same `domain` fold, so a
//! snapshot is simply the events of the calls on the wall and of their rooms, in sequence
//! order. Finished calls stay for [`KEEP_FINISHED_MS`] so the wall can show how they ended,
//! then [`LiveBoard::prune`] drops them (their history is in the cache).
//!
//! What deliberately does not live here: storage (the cache), time (callers pass `now`),
//! and any rule about calls (that is `domain`).

use std::collections::{BTreeSet, HashMap};

use domain::board::{Applied, Board, RoomKey};
use domain::event::Event;
use domain::ids::{SourceMs, TaskId};

/// How long a finished call stays on the live board.
pub const KEEP_FINISHED_MS: u64 = 5 * 60 * 1000;

/// A room with no live call is dropped once its last event is this old.
const KEEP_ROOM_MS: u64 = 30 * 60 * 1000;

/// The live wall and the events behind it.
#[derive(Debug, Default)]
pub struct LiveBoard {
    board: Board,
    call_events: HashMap<TaskId, Vec<Event>>,
    room_events: HashMap<RoomKey, Vec<Event>>,
    last_seq: u64,
}

impl LiveBoard {
    pub fn new() -> LiveBoard {
        LiveBoard::default()
    }

    /// Folds `event` and keeps it for snapshots; answers where it went.
    pub fn apply(&mut self, event: &Event) -> Applied {
        if let Some(seq) = event.seq {
            self.last_seq = self.last_seq.max(seq.0);
        }
        let applied = self.board.apply(event);
        match &applied {
            Applied::Call(task) => self.call_events.entry(task.clone()).or_default().push(event.clone()),
            Applied::Room(key) => self.room_events.entry(key.clone()).or_default().push(event.clone()),
            Applied::Ignored => {}
        }
        applied
    }

    pub fn board(&self) -> &Board {
        &self.board
    }

    /// The highest sequence number folded so far (0 = none).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The events of every call on the board and of their rooms, in sequence order, and
    /// the sequence number they cover up to.
    pub fn snapshot(&self) -> (Vec<Event>, u64) {
        let mut events: Vec<Event> =
            self.call_events.values().chain(self.room_events.values()).flatten().cloned().collect();
        events.sort_by_key(|event| (event.seq.map_or(u64::MAX, |seq| seq.0), event.source_ms));
        (events, self.last_seq)
    }

    /// Drops calls that ended more than [`KEEP_FINISHED_MS`] before `now` and rooms no
    /// call on the board uses that have been quiet for a while, then refolds what is
    /// left (the board has no removal: folding again is exact and cheap at wall sizes).
    /// Answers the TaskIds dropped.
    pub fn prune(&mut self, now: SourceMs) -> Vec<TaskId> {
        let gone: Vec<TaskId> = self
            .board
            .calls()
            .filter(|call| {
                !call.is_live()
                    && call
                        .ended_ms()
                        .or(call.last_ms())
                        .is_none_or(|end| now.0.saturating_sub(end.0) > KEEP_FINISHED_MS)
            })
            .map(|call| call.task().clone())
            .collect();
        let used_rooms: BTreeSet<RoomKey> = self
            .board
            .calls()
            .filter(|call| !gone.contains(call.task()))
            .filter_map(|call| self.board.room_of(call.task()).map(|room| room.key().clone()))
            .collect();
        let quiet_rooms: Vec<RoomKey> = self
            .room_events
            .iter()
            .filter(|(key, events)| {
                !used_rooms.contains(*key)
                    && events
                        .iter()
                        .map(|event| event.source_ms.0)
                        .max()
                        .is_none_or(|last| now.0.saturating_sub(last) > KEEP_ROOM_MS)
            })
            .map(|(key, _)| key.clone())
            .collect();
        if gone.is_empty() && quiet_rooms.is_empty() {
            return gone;
        }
        for task in &gone {
            self.call_events.remove(task);
        }
        for key in &quiet_rooms {
            self.room_events.remove(key);
        }
        let (events, _) = self.snapshot();
        self.board = Board::new();
        for event in &events {
            self.board.apply(event);
        }
        gone
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use domain::ids::{SdkAppId, Seq};
    use serde_json::json;

    /// A group-9 callback as TRTC sends it, normalised by the real constructor, with a seq.
    fn ai(seq: u64, event_type: u64, task: &str, room: &str, ms: u64, payload: serde_json::Value) -> Event {
        let body = json!({"EventGroupId": 9, "EventType": event_type, "CallbackTs": ms,
            "EventInfo": {"EventMsTs": ms, "TaskId": task, "RoomId": room, "RoomIdType": 1, "Payload": payload}});
        let mut event = Event::from_callback(body.to_string().as_bytes(), Some(SdkAppId(1_400_000_000))).unwrap();
        event.seq = Some(Seq(seq));
        event
    }

    /// A customer entering a room (group 1, event 103).
    fn entered(seq: u64, room: &str, ms: u64) -> Event {
        let body = json!({"EventGroupId": 1, "EventType": 103, "CallbackTs": ms,
            "EventInfo": {"RoomId": room, "EventTs": ms / 1000, "EventMsTs": ms, "UserId": "customer_1", "Role": 20, "TerminalType": 3, "UserType": 3, "Reason": 1}});
        let mut event = Event::from_callback(body.to_string().as_bytes(), Some(SdkAppId(1_400_000_000))).unwrap();
        event.seq = Some(Seq(seq));
        event
    }

    #[test]
    fn a_snapshot_refolds_to_the_same_board_and_pruning_drops_only_long_finished_calls() {
        let t0 = 1_700_000_000_000;
        let mut live = LiveBoard::new();
        let events = [
            entered(1, "room-old", t0),
            ai(2, 901, "task-old", "room-old", t0 + 100, json!({"Status": 0})),
            entered(3, "room-new", t0 + 200),
            ai(4, 901, "task-new", "room-new", t0 + 300, json!({"Status": 0})),
            ai(
                5,
                903,
                "task-old",
                "room-old",
                t0 + 900,
                json!({"UserId": "customer_1", "Text": "我要投诉", "StartTimeMs": t0 + 400, "EndTimeMs": t0 + 800, "RoundId": "r1"}),
            ),
            ai(6, 902, "task-old", "room-old", t0 + 2_000, json!({"LeaveCode": 0})),
        ];
        for event in &events {
            live.apply(event);
        }
        let (snapshot, last_seq) = live.snapshot();
        assert_eq!(last_seq, 6);
        assert_eq!(snapshot, events.to_vec(), "every kept event, in sequence order");
        let mut refolded = Board::new();
        for event in &snapshot {
            refolded.apply(event);
        }
        assert_eq!(&refolded, live.board(), "the UI's fold of the snapshot equals the engine's board");

        let old = TaskId::parse("task-old").unwrap();
        let new = TaskId::parse("task-new").unwrap();
        let end = t0 + 2_000;
        assert!(live.prune(SourceMs(end + 1_000)).is_empty(), "a call that just ended stays on the wall");
        assert_eq!(live.prune(SourceMs(end + KEEP_FINISHED_MS + 1)), vec![old.clone()]);
        assert!(live.board().call(&old).is_none());
        assert!(live.board().call(&new).is_some(), "a live call is never pruned, however old");
        let (snapshot, _) = live.snapshot();
        assert!(snapshot.iter().all(|event| event.call.task.as_ref() != Some(&old)));
        assert!(live.board().room_of(&new).is_some(), "the live call keeps its room");
        assert_eq!(live.last_seq(), 6, "pruning never moves the sequence back");
    }
}
