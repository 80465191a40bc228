#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use super::*;
use crate::call::{HealthLevel, HealthReason};
use crate::event::{CallRef, Media, RecorderLeaveCode, Role, Source};
use crate::ids::UserId;
use crate::testkit::{
    callback, callback_turn, failure, message_body, recording_body, room_body, started, stopped, Latency, APP,
    CUSTOMER, QUICK, ROBOT, ROOM,
};
use crate::wire::assert_round_trip;

fn board(events: &[Event]) -> Board {
    let mut board = Board::new();
    for event in events {
        board.apply(event);
    }
    board
}

fn enter(user: &str, ms: u64, role: u32) -> Event {
    callback(&room_body(
        1,
        103,
        ms,
        json!({"UserId": user, "Role": role, "TerminalType": 3, "UserType": 1, "Reason": 1}),
    ))
}

fn leave(user: &str, ms: u64) -> Event {
    callback(&room_body(1, 104, ms, json!({"UserId": user, "Role": 20, "Reason": 1})))
}

fn media(user: &str, ms: u64, event_type: u64) -> Event {
    callback(&room_body(2, event_type, ms, json!({"UserId": user, "Reason": 0})))
}

fn task() -> TaskId {
    TaskId::new("task-1")
}

#[test]
fn a_customer_who_entered_before_the_task_started_is_a_participant_of_the_call() {
    let events = [
        callback(&room_body(1, 101, 500, json!({}))),
        enter(CUSTOMER, 1_000, 20),
        media(CUSTOMER, 1_100, 203),
        started("task-1", 3_000),
        enter(ROBOT, 3_100, 20),
    ];
    let board = board(&events);
    assert_eq!(
        Board::new().apply(&events[1]),
        Applied::Room(RoomKey { sdk_app_id: Some(APP), room: RoomId::numeric(ROOM) }),
        "an entry without a task goes to its room"
    );
    let participants = board.participants(&task());
    let users: Vec<&str> = participants.iter().map(|p| p.user().as_str()).collect();
    assert_eq!(users, [ROBOT, CUSTOMER], "both are in the call's room, listed by user id");
    let customer = participants.iter().find(|p| p.user().as_str() == CUSTOMER).unwrap();
    assert!(customer.present(), "the customer entered and has not left");
    assert_eq!(customer.role(), Some(Role::Anchor));
    assert!(customer.publishing(Media::Audio));
    assert!(!customer.publishing(Media::Video), "video was never turned on");
    assert_eq!(board.calls().count(), 1, "room events create no calls");
}

#[test]
fn leaving_ends_presence_and_publishing_whatever_the_arrival_order() {
    let events = [
        enter(CUSTOMER, 1_000, 20),
        media(CUSTOMER, 1_100, 203),
        media(CUSTOMER, 1_200, 201),
        media(CUSTOMER, 2_000, 202),
        callback(&room_body(1, 105, 2_500, json!({"UserId": CUSTOMER, "Role": 21}))),
        leave(CUSTOMER, 5_000),
    ];
    let in_order = board(&events);
    let reversed: Vec<Event> = events.iter().rev().cloned().collect();
    assert_eq!(board(&reversed), in_order, "the room fold does not depend on arrival order");
    let doubled: Vec<Event> = events.iter().flat_map(|e| [e.clone(), e.clone()]).collect();
    assert_eq!(board(&doubled), in_order, "retried callbacks change nothing");

    let room = in_order.rooms().next().unwrap();
    let customer = room.participant(&UserId::new(CUSTOMER)).unwrap();
    assert!(!customer.present(), "104 is later than every sign of presence");
    assert!(!customer.publishing(Media::Audio), "leaving stops audio even without a 204");
    assert_eq!(customer.role(), Some(Role::Anchor), "104's role (at 5000) is later than 105's (at 2500)");

    let before_leaving = board(&events[..5]);
    let customer = before_leaving.rooms().next().unwrap().participant(&UserId::new(CUSTOMER)).cloned().unwrap();
    assert!(customer.present());
    assert!(customer.publishing(Media::Audio) && !customer.publishing(Media::Video), "202 turned video off");
    assert_eq!(customer.role(), Some(Role::Audience));
}

#[test]
fn recording_events_attach_to_the_room_and_keep_their_own_task_id() {
    let events = [
        started("task-1", 1_000),
        callback(&recording_body(301, "rec-7", 1_500, json!({"Status": 0}))),
        callback(&recording_body(304, "rec-7", 2_000, json!({"FileList": "a.m3u8"}))),
        callback(&recording_body(310, "rec-7", 9_000, json!({"Status": 0, "FileList": ["a_1.mp4"]}))),
        callback(&recording_body(
            311,
            "rec-7",
            9_500,
            json!({"Status": 0, "TencentVod": {"FileId": "528", "VideoUrl": "https://vod.invalid/a.mp4"}}),
        )),
        callback(&recording_body(302, "rec-7", 9_000, json!({"LeaveCode": 0}))),
    ];
    let board = board(&events);
    assert!(board.call(&TaskId::new("rec-7")).is_none(), "a recording task is not a call");
    let recordings = board.recordings(&task());
    assert_eq!(recordings.len(), 1);
    let recording = recordings[0];
    assert_eq!(recording.task(), &TaskId::new("rec-7"));
    assert_eq!(recording.recorders().map(UserId::as_str).collect::<Vec<_>>(), ["recorder_1"]);
    assert_eq!(recording.status(), RecordingStatus::Stopped { leave_code: RecorderLeaveCode::StoppedByApi });
    assert_eq!(recording.files().into_iter().collect::<Vec<_>>(), ["a.m3u8", "a_1.mp4"]);
    assert_eq!(recording.vod_files()[0].video_url.as_deref(), Some("https://vod.invalid/a.mp4"));
    assert_eq!(recording.events().len(), 5);
}

#[test]
fn a_room_message_without_a_task_goes_to_the_live_call_in_its_room() {
    let mut board = board(&[started("old", 1_000), stopped("old", 2_000, 0), started("task-1", 3_000)]);
    let call = CallRef { sdk_app_id: Some(APP), room: Some(RoomId::numeric(ROOM)), task: None };
    let bytes = message_body(10001, ROBOT, json!({"roundid": "r1", "state": 1}));
    let event = Event::from_room_message(&bytes, call.clone(), SourceMs(4_000)).unwrap();
    assert_eq!(event.source, Source::Room);
    assert_eq!(board.apply(&event), Applied::Call(task()), "the ended call is not a candidate");
    assert!(board.call(&task()).unwrap().robot_state().is_some());

    let elsewhere = CallRef { room: Some(RoomId::string("other")), ..call };
    let stray = Event::from_room_message(&bytes, elsewhere, SourceMs(4_000)).unwrap();
    assert_eq!(board.apply(&stray), Applied::Ignored);
}

fn call_events(task: &str, t0: u64, llm_first_token: f64) -> Vec<Event> {
    let mut events = vec![started(task, t0)];
    for i in 0..2_u64 {
        let latency = Latency { llm_first_token, ..QUICK };
        events.extend(callback_turn(task, &format!("{task}-r{i}"), t0 + 1_000 + i * 10_000, latency));
    }
    events
}

#[test]
fn the_wall_lists_calls_worst_first_with_stable_tie_breaks() {
    let mut events = Vec::new();
    events.extend(call_events("failing", 10_000, 700.0));
    events.push(failure("failing", "failing-r1", 25_000, "tts_error", 30302, "TTS failed"));
    events.extend(call_events("slow", 10_000, 2_400.0));
    events.extend(call_events("healthy-long", 1_000, 700.0));
    events.extend(call_events("healthy-b", 10_000, 700.0));
    events.extend(call_events("healthy-a", 10_000, 700.0));
    events.extend(call_events("ended", 0, 700.0));
    events.push(stopped("ended", 40_000, 98));
    let board = board(&events);

    let wall = board.by_health(&HealthPolicy::default(), SourceMs(50_000));
    let order: Vec<(&str, HealthLevel)> =
        wall.iter().map(|(call, health)| (call.task().as_str(), health.level)).collect();
    assert_eq!(
        order,
        [
            ("failing", HealthLevel::Failing),
            ("slow", HealthLevel::Degraded),
            ("healthy-long", HealthLevel::Healthy),
            ("healthy-a", HealthLevel::Healthy),
            ("healthy-b", HealthLevel::Healthy),
            ("ended", HealthLevel::Ended),
        ],
        "worst first; equal health goes to the longer call, then by TaskId"
    );
    assert!(matches!(wall[1].1.reasons[..], [HealthReason::SlowLlm { turns_over: 2, of: 2, .. }]));
    let live: Vec<&str> = board.live_calls().map(|c| c.task().as_str()).collect();
    assert_eq!(live, ["failing", "healthy-a", "healthy-b", "healthy-long", "slow"]);
}

#[test]
fn room_snapshots_survive_a_serde_round_trip() {
    let board = board(&[
        enter(CUSTOMER, 1_000, 20),
        media(CUSTOMER, 1_100, 203),
        leave(CUSTOMER, 9_000),
        callback(&recording_body(301, "rec-7", 1_500, json!({"Status": 1}))),
    ]);
    let room = board.rooms().next().unwrap();
    assert_round_trip(room);
    assert_round_trip(room.key());
    assert_eq!(room.recordings().next().unwrap().status(), RecordingStatus::StartFailed);
}
