//! The board: every call and every room, folded from one stream of events — the wall's
//! model.
//!
//! What lives here: [`Board::apply`], which routes each event — AI events to their call by
//! TaskId, room/media and recording events to their room — and the queries the wall and
//! the call view need: calls, live calls, calls by health, and a call's room with its
//! participants and recordings. Room events usually arrive before the AI task exists (the
//! customer enters first); keeping them per room, not per call, means the call sees them
//! whenever it appears.
//!
//! What deliberately does not: per-call rules (those are [`Call::apply`], called from
//! here), storage, and any notion of time beyond the `now` a caller passes in.

mod room;

pub use room::{Entry, Participant, Recording, RecordingStatus, Room, RoomKey, Toggle};

use std::cmp::Reverse;
use std::collections::BTreeMap;

use crate::call::{Call, Health, HealthPolicy};
use crate::event::Event;
use crate::ids::{RoomId, SdkAppId, SourceMs, TaskId};

/// Where [`Board::apply`] put an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Folded into this AI call.
    Call(TaskId),
    /// Folded into this room (room, media or recording event).
    Room(RoomKey),
    /// Nowhere: an AI event with neither a task nor a room that has a live call, or a
    /// room event without a room.
    Ignored,
}

/// Every call and room the console knows about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Board {
    calls: BTreeMap<TaskId, Call>,
    rooms: BTreeMap<RoomKey, Room>,
}

/// Whether two app ids can be the same application (an unknown one matches any).
fn same_app(a: Option<SdkAppId>, b: Option<SdkAppId>) -> bool {
    a.is_none() || b.is_none() || a == b
}

impl Board {
    /// An empty board.
    pub fn new() -> Board {
        Board::default()
    }

    /// Folds one event into the board. Idempotent and order-independent, like
    /// [`Call::apply`].
    ///
    /// An AI event without a TaskId (a room message from a console that did not know the
    /// task) goes to the live call in its room that started last.
    pub fn apply(&mut self, event: &Event) -> Applied {
        if event.body.is_room_scoped() {
            let Some(room) = event.call.room.clone() else {
                return Applied::Ignored;
            };
            let key = RoomKey { sdk_app_id: event.call.sdk_app_id, room };
            self.rooms.entry(key.clone()).or_insert_with(|| Room::new(key.clone())).apply(event);
            return Applied::Room(key);
        }
        let task = match &event.call.task {
            Some(task) => task.clone(),
            None => match event.call.room.as_ref().and_then(|room| self.live_call_in(event.call.sdk_app_id, room)) {
                Some(task) => task,
                None => return Applied::Ignored,
            },
        };
        self.calls.entry(task.clone()).or_insert_with(|| Call::new(task.clone())).apply(event);
        Applied::Call(task)
    }

    fn live_call_in(&self, app: Option<SdkAppId>, room: &RoomId) -> Option<TaskId> {
        self.calls
            .values()
            .filter(|call| call.is_live() && call.room() == Some(room) && same_app(call.sdk_app_id(), app))
            .max_by_key(|call| (call.started_ms(), call.task()))
            .map(|call| call.task().clone())
    }

    /// Every call, by TaskId.
    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.calls.values()
    }

    /// The call for an AI task, if any event named it.
    pub fn call(&self, task: &TaskId) -> Option<&Call> {
        self.calls.get(task)
    }

    /// Calls that have neither ended nor failed to start.
    pub fn live_calls(&self) -> impl Iterator<Item = &Call> {
        self.calls.values().filter(|call| call.is_live())
    }

    /// Every call with its health, worst first; ties go to the longer call, then by
    /// TaskId, so the order is stable.
    pub fn by_health(&self, policy: &HealthPolicy, now: SourceMs) -> Vec<(&Call, Health)> {
        let mut calls: Vec<(&Call, Health)> =
            self.calls.values().map(|call| (call, call.health(policy, now))).collect();
        calls.sort_by_key(|(call, health)| {
            (Reverse(health.severity()), Reverse(call.duration_ms(now)), call.task().clone())
        });
        calls
    }

    /// Every room, by key.
    pub fn rooms(&self) -> impl Iterator<Item = &Room> {
        self.rooms.values()
    }

    /// A room by app and room id.
    pub fn room(&self, key: &RoomKey) -> Option<&Room> {
        self.rooms.get(key)
    }

    /// The room a call runs in: the same app and room id, or the same room id where one
    /// side does not know the app.
    pub fn room_of(&self, task: &TaskId) -> Option<&Room> {
        let call = self.calls.get(task)?;
        let room = call.room()?;
        let exact = RoomKey { sdk_app_id: call.sdk_app_id(), room: room.clone() };
        self.rooms.get(&exact).or_else(|| {
            self.rooms.values().find(|r| r.key().room == *room && same_app(r.key().sdk_app_id, call.sdk_app_id()))
        })
    }

    /// Everyone seen in a call's room, including those who entered before the task
    /// started; empty when the room is unknown.
    pub fn participants(&self, task: &TaskId) -> Vec<&Participant> {
        self.room_of(task).map(|room| room.participants().collect()).unwrap_or_default()
    }

    /// The cloud recordings of a call's room.
    pub fn recordings(&self, task: &TaskId) -> Vec<&Recording> {
        self.room_of(task).map(|room| room.recordings().collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
