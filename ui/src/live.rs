//! The live feed: one fresh [`Board`] folded from the shell's snapshot, then kept current by
//! the updates pushed on `switchboard://live` — with no event missed and none folded twice.
//!
//! The sequence is the one `domain::api::LiveSnapshot` documents: the UI starts listening
//! first, so updates that arrive while the snapshot is on its way wait here
//! ([`LiveFeed::receive_events`] and [`LiveFeed::receive_connection`] buffer them); the
//! snapshot then replaces the board ([`LiveFeed::load_snapshot`]) and the waiting updates
//! are replayed in arrival order. From then on an event whose `seq` the board already covers
//! (at or below the highest sequence folded so far) is skipped; an event without a `seq` (a
//! room message, never stored by the hub) is folded as it comes.
//!
//! What lives here is plain Rust that compiles and is tested natively. What deliberately
//! does not: the Tauri bindings that deliver the updates (`ipc`), and anything about how the
//! board is shown (`wall_view`). The fold itself is `domain`'s [`Board::apply`].

use domain::api::{ConnectionStatus, LiveSnapshot};
use domain::board::Board;
use domain::event::Event;

/// An update that arrived before the snapshot, kept in arrival order.
#[derive(Debug, Clone, PartialEq)]
enum Waiting {
    Events(Vec<Event>),
    Connection(ConnectionStatus),
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Listening; the snapshot has not been folded yet.
    AwaitingSnapshot { waiting: Vec<Waiting> },
    /// The board holds the snapshot and every update since; `last_seq` is the highest
    /// sequence number folded (0: none).
    Live { last_seq: u64 },
}

/// What one call into the feed did to the board, for the caller (and the tests) to see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Folded {
    /// Events applied to the board.
    pub applied: usize,
    /// Events dropped because the board already covered their sequence number.
    pub skipped: usize,
    /// Events kept until the snapshot arrives.
    pub buffered: usize,
}

impl Folded {
    fn add(&mut self, other: Folded) {
        self.applied += other.applied;
        self.skipped += other.skipped;
        self.buffered += other.buffered;
    }
}

/// The board of live calls as the shell reported it, and the link's status.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveFeed {
    board: Board,
    phase: Phase,
    connection: Option<ConnectionStatus>,
}

impl Default for LiveFeed {
    fn default() -> LiveFeed {
        LiveFeed::new()
    }
}

impl LiveFeed {
    /// An empty feed waiting for its snapshot.
    pub fn new() -> LiveFeed {
        LiveFeed { board: Board::new(), phase: Phase::AwaitingSnapshot { waiting: Vec::new() }, connection: None }
    }

    /// The board: empty until the snapshot is folded; after a [`LiveFeed::restart`], the
    /// previous board until the next snapshot replaces it.
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// Whether a snapshot has been folded (so an empty board really means "no calls").
    pub fn has_snapshot(&self) -> bool {
        matches!(self.phase, Phase::Live { .. })
    }

    /// The highest sequence number the board covers, once a snapshot was folded.
    #[cfg(test)]
    pub fn last_seq(&self) -> Option<u64> {
        match self.phase {
            Phase::Live { last_seq } => Some(last_seq),
            Phase::AwaitingSnapshot { .. } => None,
        }
    }

    /// The link's status as the live channel last said it; `None` until the snapshot or an
    /// update after it said anything (the app info's status stands in until then).
    pub fn connection(&self) -> Option<&ConnectionStatus> {
        self.connection.as_ref()
    }

    /// New events pushed by the shell (in sequence order): folded now, or kept until the
    /// snapshot arrives.
    pub fn receive_events(&mut self, events: Vec<Event>) -> Folded {
        match &mut self.phase {
            Phase::AwaitingSnapshot { waiting } => {
                let buffered = events.len();
                waiting.push(Waiting::Events(events));
                Folded { buffered, ..Folded::default() }
            }
            Phase::Live { last_seq } => fold_after(&mut self.board, last_seq, &events),
        }
    }

    /// A change of the link's status pushed by the shell: shown now, or — before the
    /// snapshot — replayed after the snapshot's own status, as it arrived after listening
    /// began and may be newer.
    pub fn receive_connection(&mut self, status: ConnectionStatus) {
        match &mut self.phase {
            Phase::AwaitingSnapshot { waiting } => waiting.push(Waiting::Connection(status)),
            Phase::Live { .. } => self.connection = Some(status),
        }
    }

    /// The shell's snapshot: a fresh board from its events, then every update that waited
    /// for it, in arrival order, skipping events the snapshot already covers.
    pub fn load_snapshot(&mut self, snapshot: LiveSnapshot) -> Folded {
        let waiting = match std::mem::replace(&mut self.phase, Phase::Live { last_seq: 0 }) {
            Phase::AwaitingSnapshot { waiting } => waiting,
            // A snapshot without a restart before it: updates folded since the last one
            // may be newer than this snapshot; nothing waited, so nothing to replay.
            Phase::Live { .. } => Vec::new(),
        };
        let mut board = Board::new();
        for event in &snapshot.events {
            board.apply(event);
        }
        // The snapshot covers `last_seq`; should an event in it carry a higher sequence
        // (it should not), the board covers that one too.
        let highest_in_snapshot = snapshot.events.iter().filter_map(|event| event.seq).map(|seq| seq.0).max();
        let mut last_seq = snapshot.last_seq.max(highest_in_snapshot.unwrap_or(0));
        let mut folded = Folded { applied: snapshot.events.len(), ..Folded::default() };
        self.connection = Some(snapshot.connection);
        for update in waiting {
            match update {
                Waiting::Events(events) => folded.add(fold_after(&mut board, &mut last_seq, &events)),
                Waiting::Connection(status) => self.connection = Some(status),
            }
        }
        self.board = board;
        self.phase = Phase::Live { last_seq };
        folded
    }

    /// Waits for a new snapshot (after one could not be fetched): the board stays as it is
    /// until the snapshot replaces it, and updates wait again. Events that were waiting are
    /// dropped — the next snapshot is asked for after this call, so it covers every stored
    /// event among them (only unsequenced room messages, which are transient, are lost) —
    /// while the latest waiting connection status is kept.
    pub fn restart(&mut self) {
        let kept = match std::mem::replace(&mut self.phase, Phase::AwaitingSnapshot { waiting: Vec::new() }) {
            Phase::AwaitingSnapshot { waiting } => waiting.into_iter().rev().find_map(|update| match update {
                Waiting::Connection(status) => Some(Waiting::Connection(status)),
                Waiting::Events(_) => None,
            }),
            Phase::Live { .. } => None,
        };
        if let (Some(kept), Phase::AwaitingSnapshot { waiting }) = (kept, &mut self.phase) {
            waiting.push(kept);
        }
    }
}

/// Folds the events the board does not cover yet and advances `last_seq` past them.
fn fold_after(board: &mut Board, last_seq: &mut u64, events: &[Event]) -> Folded {
    let mut folded = Folded::default();
    for event in events {
        match event.seq {
            Some(seq) if seq.0 <= *last_seq => folded.skipped += 1,
            Some(seq) => {
                board.apply(event);
                *last_seq = seq.0;
                folded.applied += 1;
            }
            None => {
                board.apply(event);
                folded.applied += 1;
            }
        }
    }
    folded
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use domain::api::ConnectionStatus;
    use domain::ids::TaskId;

    use super::*;
    use crate::testkit::{self, Script};

    fn snapshot(events: Vec<Event>, last_seq: u64) -> LiveSnapshot {
        LiveSnapshot { events, last_seq, connection: ConnectionStatus::Live }
    }

    /// The board one fold of every distinct event gives: what the feed must end up with.
    fn folded_once(events: &[Event]) -> Board {
        let mut board = Board::new();
        for event in events {
            board.apply(event);
        }
        board
    }

    #[test]
    fn updates_that_arrive_before_the_snapshot_wait_and_only_the_uncovered_ones_are_folded() {
        let mut script = Script::new(1_700_000_000_000);
        let early = script.call("t-early", 0);
        let late = script.call("t-late", 2_000);
        let (covered, uncovered) = (early.clone(), late.clone());

        let mut feed = LiveFeed::new();
        // The shell pushes the last two events of the early call (already in the snapshot)
        // and the whole late call (not in it) while the snapshot is on its way.
        let overlap = covered[covered.len() - 2..].to_vec();
        assert_eq!(feed.receive_events(overlap.clone()).buffered, 2);
        assert_eq!(feed.receive_events(uncovered.clone()).buffered, uncovered.len());
        assert!(!feed.has_snapshot());
        assert!(feed.board().calls().next().is_none(), "nothing is folded before the snapshot");

        let last_seq = covered.last().unwrap().seq.unwrap().0;
        let folded = feed.load_snapshot(snapshot(covered.clone(), last_seq));

        assert_eq!(
            folded,
            Folded { applied: covered.len() + uncovered.len(), skipped: 2, buffered: 0 },
            "the two overlapping events are skipped, every other event folded once"
        );
        let all: Vec<Event> = covered.iter().chain(&uncovered).cloned().collect();
        assert_eq!(feed.board(), &folded_once(&all));
        assert_eq!(feed.last_seq(), uncovered.last().unwrap().seq.map(|s| s.0));
        assert!(feed.board().call(&TaskId::new("t-late")).is_some());
    }

    #[test]
    fn after_the_snapshot_events_at_or_below_the_last_sequence_are_ignored() {
        let mut script = Script::new(1_700_000_000_000);
        let first = script.call("t-1", 0);
        let second = script.call("t-2", 1_000);
        let mut feed = LiveFeed::new();
        feed.load_snapshot(snapshot(first.clone(), first.last().unwrap().seq.unwrap().0));

        // A redelivery of old events, then the new call, then the new call again.
        assert_eq!(feed.receive_events(first.clone()), Folded { applied: 0, skipped: first.len(), buffered: 0 });
        assert_eq!(feed.receive_events(second.clone()), Folded { applied: second.len(), skipped: 0, buffered: 0 });
        assert_eq!(feed.receive_events(second.clone()), Folded { applied: 0, skipped: second.len(), buffered: 0 });

        let all: Vec<Event> = first.iter().chain(&second).cloned().collect();
        assert_eq!(feed.board(), &folded_once(&all));
    }

    #[test]
    fn a_snapshot_watermark_above_its_events_skips_updates_it_covers() {
        // The snapshot only holds live calls' events, but covers the whole log up to
        // last_seq: an update for an event below the watermark is not folded again.
        let mut script = Script::new(1_700_000_000_000);
        let call = script.call("t-1", 0);
        let ended = script.call("t-ended", 500);
        let mut feed = LiveFeed::new();
        feed.receive_events(ended.clone());
        feed.load_snapshot(snapshot(call.clone(), ended.last().unwrap().seq.unwrap().0));
        assert!(feed.board().call(&TaskId::new("t-ended")).is_none(), "events under the watermark stay out");
        assert_eq!(feed.board(), &folded_once(&call));
    }

    #[test]
    fn events_without_a_sequence_are_folded_as_they_come_before_and_after_the_snapshot() {
        let mut script = Script::new(1_700_000_000_000);
        let call = script.call("t-1", 0);
        let room_message = testkit::robot_state("t-1", "r-1", script.at(9_000), domain::event::RobotState::Thinking);
        assert_eq!(room_message.seq, None);

        let mut feed = LiveFeed::new();
        feed.receive_events(vec![room_message.clone()]);
        let folded = feed.load_snapshot(snapshot(call.clone(), call.last().unwrap().seq.unwrap().0));
        assert_eq!(folded.applied, call.len() + 1, "the waiting room message is folded after the snapshot");

        let later = testkit::robot_state("t-1", "r-1", script.at(9_500), domain::event::RobotState::Speaking);
        assert_eq!(feed.receive_events(vec![later.clone()]).applied, 1);
        let state = feed.board().call(&TaskId::new("t-1")).unwrap().robot_state().unwrap().state;
        assert_eq!(state, domain::event::RobotState::Speaking);
        let mut all = call;
        all.extend([room_message, later]);
        assert_eq!(feed.board(), &folded_once(&all));
    }

    #[test]
    fn a_connection_change_pushed_before_the_snapshot_wins_over_the_snapshots_status() {
        let mut feed = LiveFeed::new();
        feed.receive_connection(ConnectionStatus::Live);
        assert_eq!(feed.connection(), None, "nothing is shown from the live channel before the snapshot");
        feed.load_snapshot(LiveSnapshot { events: vec![], last_seq: 0, connection: ConnectionStatus::Connecting });
        assert_eq!(feed.connection(), Some(&ConnectionStatus::Live), "the update arrived after listening began");

        feed.receive_connection(ConnectionStatus::Offline { reason: "refused".into() });
        assert_eq!(feed.connection(), Some(&ConnectionStatus::Offline { reason: "refused".into() }));
    }

    #[test]
    fn without_any_pushed_status_the_snapshots_status_is_shown() {
        let mut feed = LiveFeed::new();
        feed.load_snapshot(LiveSnapshot {
            events: vec![],
            last_seq: 0,
            connection: ConnectionStatus::CatchingUp { lag_events: 3, lag_secs: 1 },
        });
        assert_eq!(feed.connection(), Some(&ConnectionStatus::CatchingUp { lag_events: 3, lag_secs: 1 }));
        assert!(feed.has_snapshot());
        assert_eq!(feed.last_seq(), Some(0));
    }

    #[test]
    fn the_busy_wall_folds_to_the_same_board_as_every_distinct_event_once() {
        let wall = testkit::busy_wall(1_700_000_600_000);
        let mut feed = LiveFeed::new();
        let folded_early = feed.receive_events(wall.early.clone());
        assert_eq!(folded_early.buffered, wall.early.len());
        let folded = feed.load_snapshot(snapshot(wall.snapshot.clone(), wall.last_seq));
        assert_eq!(folded.skipped, 2, "the two repeated events of the snapshot are skipped");
        assert_eq!(folded.applied, wall.snapshot.len() + wall.early.len() - 2);
        let distinct: Vec<Event> = wall.snapshot.iter().chain(&wall.early[2..]).cloned().collect();
        assert_eq!(feed.board(), &folded_once(&distinct));
    }

    #[test]
    fn after_a_restart_the_next_snapshot_replaces_the_board_and_waiting_events_are_dropped() {
        let mut script = Script::new(1_700_000_000_000);
        let first = script.call("t-1", 0);
        let second = script.call("t-2", 1_000);
        let mut feed = LiveFeed::new();
        feed.receive_events(first.clone());
        feed.receive_connection(ConnectionStatus::Connecting);
        // The snapshot could not be fetched: wait for the next one.
        feed.restart();
        assert_eq!(feed.last_seq(), None);

        let folded = feed.load_snapshot(snapshot(second.clone(), second.last().unwrap().seq.unwrap().0));
        assert_eq!(folded.applied, second.len(), "events that waited before the restart are not replayed");
        assert_eq!(feed.board(), &folded_once(&second));
        assert_eq!(feed.connection(), Some(&ConnectionStatus::Connecting), "the waiting status survives");
    }
}
