//! The hub's stream protocol, checked frame by frame for one connection — no I/O.
//!
//! [`Link`] parses each text frame (`hello`, `truncated`, `event`, `caught_up`, `lagged`,
//! `heartbeat`; unknown types are ignored so a newer hub can add some) and answers what it
//! means as a [`Step`], or a [`ProtocolError`] when the hub broke its promise: no hello
//! first, an event out of sequence (a gap the hub did not announce as `truncated`, or a
//! repeat), a `caught_up` or `lagged` that disagrees with what was received. The caller
//! then drops the connection and resumes after the last event it delivered, so nothing is
//! ever delivered out of order or twice.
//!
//! What deliberately does not: sockets, timers, batching and status reporting (`stream`).

use domain::event::Event;
use hub::auth::Role;
use serde::Deserialize;

/// One frame as the hub sends it.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Frame {
    Hello {
        user: String,
        role: Role,
        after: u64,
        last_seq: u64,
    },
    Truncated {
        first_seq: u64,
    },
    Event {
        event: Box<Event>,
    },
    CaughtUp {
        last_seq: u64,
    },
    Lagged {
        behind: u64,
        resume_after: u64,
    },
    Heartbeat {
        last_seq: u64,
        #[allow(dead_code)]
        at_ms: u64,
    },
    #[serde(other)]
    Unknown,
}

/// What a frame means for the caller.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// The hub greeted: who we are, and how far its log goes.
    Hello {
        user: String,
        role: Role,
    },
    /// Retention deleted events after the requested position; the next is `first_seq`.
    Truncated {
        first_seq: u64,
    },
    /// The next event, in sequence.
    Event(Box<Event>),
    /// The replay reached the live end.
    CaughtUp,
    /// This client fell `behind` live events; the hub replays them from its log.
    Lagged {
        behind: u64,
    },
    Heartbeat,
    /// A frame type this client does not know.
    Ignored,
}

/// The hub broke the stream protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProtocolError {
    #[error("not a stream frame: {0}")]
    Malformed(String),
    #[error("the first frame was not hello")]
    NoHello,
    #[error("a second hello on one connection")]
    SecondHello,
    #[error("hello answered after={got}, but the stream was opened after={asked}")]
    WrongAfter { asked: u64, got: u64 },
    #[error("truncated to {first_seq} after events were already received (last {last})")]
    LateTruncation { first_seq: u64, last: u64 },
    #[error("truncated to {first_seq}, which is not past {last}")]
    BadTruncation { first_seq: u64, last: u64 },
    #[error("an event without a sequence number")]
    NoSeq,
    #[error("event {seq} repeats: {last} was already received")]
    Repeat { seq: u64, last: u64 },
    #[error("event {seq} came after {last}: {missing} event(s) missing")]
    Gap { seq: u64, last: u64, missing: u64 },
    #[error("caught_up at {hub} but the last event received is {ours}")]
    CaughtUpMismatch { hub: u64, ours: u64 },
    #[error("lagged resumes after {hub} but the last event received is {ours}")]
    LaggedMismatch { hub: u64, ours: u64 },
}

/// One connection's view of the stream.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    asked_after: u64,
    /// The last sequence accepted on this connection (starts at `asked_after`).
    last: u64,
    greeted: bool,
    received_event: bool,
    /// The highest `last_seq` the hub has announced.
    hub_last_seq: u64,
    caught_up: bool,
}

impl Link {
    /// A connection opened with `?after=asked_after`.
    pub(crate) fn new(asked_after: u64) -> Link {
        Link {
            asked_after,
            last: asked_after,
            greeted: false,
            received_event: false,
            hub_last_seq: asked_after,
            caught_up: false,
        }
    }

    /// The highest sequence the hub said it has.
    pub(crate) fn hub_last_seq(&self) -> u64 {
        self.hub_last_seq
    }

    /// Whether the replay has reached the live end (and no `lagged` came since).
    pub(crate) fn is_caught_up(&self) -> bool {
        self.caught_up
    }

    /// Reads one text frame.
    pub(crate) fn on_text(&mut self, text: &str) -> Result<Step, ProtocolError> {
        let frame: Frame = serde_json::from_str(text).map_err(|error| ProtocolError::Malformed(error.to_string()))?;
        self.on_frame(frame)
    }

    fn on_frame(&mut self, frame: Frame) -> Result<Step, ProtocolError> {
        if !self.greeted && !matches!(frame, Frame::Hello { .. }) {
            return Err(ProtocolError::NoHello);
        }
        match frame {
            Frame::Hello { user, role, after, last_seq } => {
                if self.greeted {
                    return Err(ProtocolError::SecondHello);
                }
                if after != self.asked_after {
                    return Err(ProtocolError::WrongAfter { asked: self.asked_after, got: after });
                }
                self.greeted = true;
                self.hub_last_seq = self.hub_last_seq.max(last_seq);
                Ok(Step::Hello { user, role })
            }
            Frame::Truncated { first_seq } => {
                if self.received_event {
                    return Err(ProtocolError::LateTruncation { first_seq, last: self.last });
                }
                if first_seq <= self.last.saturating_add(1) {
                    return Err(ProtocolError::BadTruncation { first_seq, last: self.last });
                }
                self.last = first_seq - 1;
                Ok(Step::Truncated { first_seq })
            }
            Frame::Event { event } => {
                let seq = event.seq.ok_or(ProtocolError::NoSeq)?.0;
                if seq <= self.last {
                    return Err(ProtocolError::Repeat { seq, last: self.last });
                }
                if seq != self.last + 1 {
                    return Err(ProtocolError::Gap { seq, last: self.last, missing: seq - self.last - 1 });
                }
                self.last = seq;
                self.received_event = true;
                self.hub_last_seq = self.hub_last_seq.max(seq);
                Ok(Step::Event(event))
            }
            Frame::CaughtUp { last_seq } => {
                if last_seq != self.last {
                    return Err(ProtocolError::CaughtUpMismatch { hub: last_seq, ours: self.last });
                }
                self.caught_up = true;
                Ok(Step::CaughtUp)
            }
            Frame::Lagged { behind, resume_after } => {
                if resume_after != self.last {
                    return Err(ProtocolError::LaggedMismatch { hub: resume_after, ours: self.last });
                }
                self.caught_up = false;
                self.hub_last_seq = self.hub_last_seq.max(self.last.saturating_add(behind));
                Ok(Step::Lagged { behind })
            }
            Frame::Heartbeat { last_seq, .. } => {
                self.hub_last_seq = self.hub_last_seq.max(last_seq);
                Ok(Step::Heartbeat)
            }
            Frame::Unknown => Ok(Step::Ignored),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hello(after: u64, last_seq: u64) -> String {
        json!({"type": "hello", "user": "li", "role": "lead", "after": after, "last_seq": last_seq}).to_string()
    }

    fn event(seq: u64) -> String {
        json!({"type": "event", "event": {
            "call": {"sdk_app_id": null, "room": null, "task": "task-1"},
            "source": "hub", "source_ms": 1_700_000_000_000u64 + seq, "seq": seq,
            "body": {"kind": "session_ready"}
        }})
        .to_string()
    }

    fn frame(value: serde_json::Value) -> String {
        value.to_string()
    }

    /// Feeds `frames` to a link opened after `after`; answers each step or error.
    fn run(after: u64, frames: &[String]) -> Vec<Result<Step, ProtocolError>> {
        let mut link = Link::new(after);
        frames.iter().map(|text| link.on_text(text)).collect()
    }

    fn seq_of(step: &Result<Step, ProtocolError>) -> Option<u64> {
        match step {
            Ok(Step::Event(event)) => event.seq.map(|seq| seq.0),
            _ => None,
        }
    }

    #[test]
    fn a_replay_then_live_events_are_accepted_in_sequence() {
        let frames = [
            hello(3, 5),
            event(4),
            event(5),
            frame(json!({"type": "caught_up", "last_seq": 5})),
            frame(json!({"type": "heartbeat", "last_seq": 6, "at_ms": 1})),
            event(6),
        ];
        let steps = run(3, &frames);
        assert!(steps.iter().all(Result::is_ok), "{steps:?}");
        assert_eq!(steps.iter().filter_map(seq_of).collect::<Vec<_>>(), [4, 5, 6]);
        assert_eq!(steps[0], Ok(Step::Hello { user: "li".into(), role: Role::Lead }));
        assert_eq!(steps[3], Ok(Step::CaughtUp));
    }

    #[test]
    fn protocol_breaches_are_named() {
        let caught_up = |seq: u64| frame(json!({"type": "caught_up", "last_seq": seq}));
        let cases: Vec<(&str, u64, Vec<String>, ProtocolError)> = vec![
            ("no hello first", 0, vec![event(1)], ProtocolError::NoHello),
            ("second hello", 0, vec![hello(0, 0), hello(0, 0)], ProtocolError::SecondHello),
            ("hello for another position", 4, vec![hello(0, 9)], ProtocolError::WrongAfter { asked: 4, got: 0 }),
            ("a gap", 0, vec![hello(0, 3), event(1), event(3)], ProtocolError::Gap { seq: 3, last: 1, missing: 1 }),
            ("a repeat", 0, vec![hello(0, 3), event(1), event(1)], ProtocolError::Repeat { seq: 1, last: 1 }),
            ("an old event", 5, vec![hello(5, 9), event(2)], ProtocolError::Repeat { seq: 2, last: 5 }),
            (
                "caught up too early",
                0,
                vec![hello(0, 2), event(1), caught_up(2)],
                ProtocolError::CaughtUpMismatch { hub: 2, ours: 1 },
            ),
            (
                "lagged from elsewhere",
                0,
                vec![hello(0, 2), event(1), frame(json!({"type": "lagged", "behind": 3, "resume_after": 4}))],
                ProtocolError::LaggedMismatch { hub: 4, ours: 1 },
            ),
            (
                "truncation after events",
                0,
                vec![hello(0, 9), event(1), frame(json!({"type": "truncated", "first_seq": 5}))],
                ProtocolError::LateTruncation { first_seq: 5, last: 1 },
            ),
            (
                "truncation backwards",
                4,
                vec![hello(4, 9), frame(json!({"type": "truncated", "first_seq": 3}))],
                ProtocolError::BadTruncation { first_seq: 3, last: 4 },
            ),
        ];
        for (name, after, frames, expected) in cases {
            let steps = run(after, &frames);
            let last = steps.last().unwrap();
            assert_eq!(last, &Err(expected), "{name}: {steps:?}");
            assert!(steps[..steps.len() - 1].iter().all(Result::is_ok), "{name}: only the last frame is wrong");
        }
    }

    #[test]
    fn an_event_without_a_sequence_or_malformed_json_is_refused() {
        let unsequenced = frame(json!({"type": "event", "event": {
            "call": {}, "source": "hub", "source_ms": 1, "seq": null, "body": {"kind": "session_ready"}}}));
        assert_eq!(run(0, &[hello(0, 0), unsequenced]).pop().unwrap(), Err(ProtocolError::NoSeq));
        let steps = run(0, &[hello(0, 0), "{not json".into()]);
        assert!(matches!(steps.last(), Some(Err(ProtocolError::Malformed(_)))), "{steps:?}");
        let steps = run(0, &[hello(0, 0), frame(json!({"type": "event", "event": {"body": "?"}}))]);
        assert!(matches!(steps.last(), Some(Err(ProtocolError::Malformed(_)))), "{steps:?}");
    }

    #[test]
    fn a_truncation_moves_the_expected_sequence_and_unknown_frames_are_ignored() {
        let frames = [
            hello(2, 12),
            frame(json!({"type": "truncated", "first_seq": 10})),
            frame(json!({"type": "something_new", "x": 1})),
            event(10),
            event(11),
        ];
        let steps = run(2, &frames);
        assert!(steps.iter().all(Result::is_ok), "{steps:?}");
        assert_eq!(steps[1], Ok(Step::Truncated { first_seq: 10 }));
        assert_eq!(steps[2], Ok(Step::Ignored));
        assert_eq!(steps.iter().filter_map(seq_of).collect::<Vec<_>>(), [10, 11]);
    }

    #[test]
    fn lagged_leaves_the_live_end_until_the_next_caught_up() {
        let mut link = Link::new(0);
        link.on_text(&hello(0, 1)).unwrap();
        link.on_text(&event(1)).unwrap();
        link.on_text(&frame(json!({"type": "caught_up", "last_seq": 1}))).unwrap();
        assert!(link.is_caught_up());
        assert_eq!(
            link.on_text(&frame(json!({"type": "lagged", "behind": 40, "resume_after": 1}))).unwrap(),
            Step::Lagged { behind: 40 }
        );
        assert!(!link.is_caught_up());
        assert_eq!(link.hub_last_seq(), 41, "the hub is at least `behind` ahead");
        link.on_text(&event(2)).unwrap();
        link.on_text(&frame(json!({"type": "caught_up", "last_seq": 2}))).unwrap();
        assert!(link.is_caught_up());
    }
}
