#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use super::*;
use crate::ids::RoomIdKind;
use crate::testkit::{self, ai_body, message_body, recording_body, room_body, APP, ROBOT};
use crate::wire::assert_round_trip;

fn normalise(bytes: &[u8]) -> Event {
    testkit::callback(bytes)
}

#[test]
fn the_contracts_901_example_becomes_a_task_start_in_its_room() {
    let body = br#"{"EventGroupId":9,"EventType":901,"CallbackTs":1687770730166,
 "EventInfo":{"EventMsTs":1622186275757,"TaskId":"xx","RoomId":"1234","RoomIdType":0,"Payload":{"Status":0}}}"#;
    let event = Event::from_callback(body, Some(APP)).unwrap();
    assert_eq!(event.body, EventBody::TaskStarted { outcome: Outcome::Ok });
    assert_eq!(event.source, Source::Callback);
    assert_eq!(event.source_ms, SourceMs(1_622_186_275_757), "source time is EventMsTs, not CallbackTs");
    assert_eq!(event.seq, None, "only the hub assigns sequence numbers");
    assert_eq!(event.call.task, Some(TaskId::new("xx")));
    assert_eq!(event.call.sdk_app_id, Some(APP), "the app id comes from the header");
    let room = event.call.room.unwrap();
    assert_eq!((room.as_str(), room.kind()), ("1234", RoomIdKind::Numeric), "RoomIdType 0 is numeric");
}

#[test]
fn the_contracts_103_example_becomes_a_typed_user_entry_without_a_task() {
    let event = normalise(br#"{"EventGroupId":1,"EventType":103,"CallbackTs":1687770731932,"EventInfo":{"RoomId":12345,"EventTs":1687770731,"EventMsTs":1687770731831,"UserId":"test","Role":21,"TerminalType":2,"UserType":3,"Reason":1}}"#);
    assert_eq!(
        event.body,
        EventBody::UserEntered {
            user: UserId::new("test"),
            role: Some(Role::Audience),
            terminal: Some(TerminalType::Android),
            user_type: Some(UserType::NativeSdk),
            reason: Some(EnterReason::Normal),
            unique_id: None,
        }
    );
    assert_eq!(event.call.task, None, "room callbacks carry no TaskId");
    assert_eq!(event.call.room, Some(RoomId::numeric(12345)));
    assert_eq!(event.source_ms, SourceMs(1_687_770_731_831));
}

#[test]
fn the_contracts_204_example_becomes_an_audio_stop() {
    let event = normalise(br#"{"EventGroupId":2,"EventType":204,"CallbackTs":1687770732498,"EventInfo":{"RoomId":12345,"EventTs":1687770732,"EventMsTs":1687770732383,"UserId":"test","Reason":0}}"#);
    assert_eq!(event.body, EventBody::MediaStopped { user: UserId::new("test"), media: Media::Audio, reason: Some(0) });
}

#[test]
fn the_signature_vector_body_normalises_as_sent() {
    let body = "{\n\t\"EventGroupId\":\t2,\n\t\"EventType\":\t204,\n\t\"CallbackTs\":\t1664209748188,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t8489,\n\t\t\"EventTs\":\t1664209748,\n\t\t\"EventMsTs\":\t1664209748180,\n\t\t\"UserId\":\t\"user_85034614\",\n\t\t\"Reason\":\t0\n\t}\n}";
    let event = normalise(body.as_bytes());
    assert_eq!(event.call.room, Some(RoomId::numeric(8489)));
    assert_eq!(event.source_ms, SourceMs(1_664_209_748_180));
    assert_eq!(
        event.body,
        EventBody::MediaStopped { user: UserId::new("user_85034614"), media: Media::Audio, reason: Some(0) }
    );
}

#[test]
fn a_string_typed_event_ms_ts_gives_the_same_event_as_a_number() {
    let as_number = normalise(br#"{"EventGroupId":9,"EventType":909,"CallbackTs":1,"EventInfo":{"EventMsTs":1622186275757,"TaskId":"t","Payload":{"Status":"session_ready"}}}"#);
    let as_string = normalise(br#"{"EventGroupId":9,"EventType":909,"CallbackMsTs":2,"EventInfo":{"EventMsTs":"1622186275757","TaskId":"t","Payload":{"Status":"session_ready"}}}"#);
    assert_eq!(as_number, as_string);
    assert_eq!(as_number.body, EventBody::SessionReady);
}

#[test]
fn every_ai_event_type_normalises_to_its_typed_body() {
    let round = || RoundId::new("r1");
    let cases: Vec<(u64, serde_json::Value, EventBody)> = vec![
        (901, json!({"Status": 1}), EventBody::TaskStarted { outcome: Outcome::Failed }),
        (902, json!({"LeaveCode": 98}), EventBody::TaskStopped { leave_code: LeaveCode::InternalError }),
        (902, json!({"LeaveCode": 42}), EventBody::TaskStopped { leave_code: LeaveCode::Other(42) }),
        (
            903,
            json!({"UserId": "u", "Text": "你好", "StartTimeMs": 10, "EndTimeMs": 20, "RoundId": "r1"}),
            EventBody::Sentence(Sentence {
                speaker: None,
                user: UserId::new("u"),
                round: round(),
                text: "你好".into(),
                is_final: true,
                times: Some(SentenceTimes::Ms { start_ms: Some(10), end_ms: Some(20) }),
            }),
        ),
        (
            904,
            json!({"UserId": "u", "RoundId": "r1"}),
            EventBody::UserSpeechStarted { user: UserId::new("u"), round: round() },
        ),
        (
            905,
            json!({"UserId": "bot", "RoundId": "r1", "Text": "再见"}),
            EventBody::RobotFinishedSpeaking { robot: UserId::new("bot"), round: round(), text: "再见".into() },
        ),
        (
            906,
            json!({"Metric": "llm_first_token", "Value": 812, "Tag": {"RoundId": "r1"}}),
            EventBody::MetricReported {
                robot: None,
                round: Some(round()),
                metric: MetricName::LlmFirstToken,
                value: 812.0,
            },
        ),
        (
            908,
            json!({"Metric": "llm_error", "Tag": {"RoundId": "r1", "Code": 30200, "Message": "timeout"}}),
            EventBody::PipelineFailed {
                robot: None,
                round: Some(round()),
                error: PipelineError {
                    stage: PipelineStage::Llm,
                    code: 30200,
                    message: "timeout".into(),
                    metric: "llm_error".into(),
                },
            },
        ),
        (
            908,
            json!({"Metric": "llm_first_token", "Tag": {"Code": 30301}}),
            EventBody::PipelineFailed {
                robot: None,
                round: None,
                error: PipelineError {
                    stage: PipelineStage::Tts,
                    code: 30301,
                    message: String::new(),
                    metric: "llm_first_token".into(),
                },
            },
        ),
        (909, json!({"Status": "session_ready"}), EventBody::SessionReady),
    ];
    for (event_type, payload, expected) in cases {
        let event = normalise(&ai_body(event_type, "task-1", 1_000, payload));
        assert_eq!(event.body, expected, "event type {event_type}");
        assert_eq!(event.call.task, Some(TaskId::new("task-1")));
        assert_round_trip(&event);
    }
}

#[test]
fn every_room_and_media_event_type_normalises_to_its_typed_body() {
    let user = || UserId::new("u");
    let cases: Vec<(u64, u64, serde_json::Value, EventBody)> = vec![
        (1, 101, json!({}), EventBody::RoomCreated),
        (1, 102, json!({}), EventBody::RoomDismissed),
        (
            1,
            104,
            json!({"UserId": "u", "Role": 20, "Reason": 2}),
            EventBody::UserLeft { user: user(), role: Some(Role::Anchor), reason: Some(ExitReason::Timeout) },
        ),
        (1, 105, json!({"UserId": "u", "Role": 20}), EventBody::RoleChanged { user: user(), role: Role::Anchor }),
        (2, 201, json!({"UserId": "u"}), EventBody::MediaStarted { user: user(), media: Media::Video }),
        (
            2,
            202,
            json!({"UserId": "u", "Reason": 0}),
            EventBody::MediaStopped { user: user(), media: Media::Video, reason: Some(0) },
        ),
        (2, 203, json!({"UserId": "u"}), EventBody::MediaStarted { user: user(), media: Media::Audio }),
        (2, 205, json!({"UserId": "u"}), EventBody::MediaStarted { user: user(), media: Media::Substream }),
        (
            2,
            206,
            json!({"UserId": "u"}),
            EventBody::MediaStopped { user: user(), media: Media::Substream, reason: None },
        ),
    ];
    for (group, event_type, extra, expected) in cases {
        let event = normalise(&room_body(group, event_type, 5_000, extra));
        assert_eq!(event.body, expected, "event type {event_type}");
        assert_eq!(event.body.callback_event_type(), Some(u16::try_from(event_type).unwrap()));
        assert_round_trip(&event);
    }
}

#[test]
fn a_room_event_without_event_ms_ts_falls_back_to_event_ts_in_seconds() {
    let event = normalise(
        br#"{"EventGroupId":1,"EventType":101,"CallbackTs":9,"EventInfo":{"RoomId":"room_a","EventTs":"1687770731"}}"#,
    );
    assert_eq!(event.source_ms, SourceMs(1_687_770_731_000));
    assert_eq!(event.call.room.unwrap().kind(), RoomIdKind::Str);
}

#[test]
fn every_recording_event_type_normalises_to_its_typed_body() {
    let cases: Vec<(u64, serde_json::Value, RecordingEvent)> = vec![
        (301, json!({"Status": 0}), RecordingEvent::Started { outcome: Outcome::Ok }),
        (302, json!({"LeaveCode": 99}), RecordingEvent::Stopped { leave_code: RecorderLeaveCode::NoAnchor }),
        (303, json!({"Status": 1}), RecordingEvent::UploadStarted { outcome: Outcome::Failed }),
        (304, json!({"FileList": "a.m3u8"}), RecordingEvent::FileInfo { files: vec!["a.m3u8".into()] }),
        (305, json!({"LeaveCode": 0}), RecordingEvent::UploadStopped { status: UploadStatus::AllUploaded }),
        (305, json!({"Status": 2}), RecordingEvent::UploadStopped { status: UploadStatus::StuckFilesRecovered }),
        (306, json!({"Status": 0}), RecordingEvent::Failover { status: 0 }),
        (
            307,
            json!({"FileName": "a.ts", "UserId": "u", "TrackType": "audio", "BeginTimeStamp": 7}),
            RecordingEvent::FileSlice {
                file_name: Some("a.ts".into()),
                user: Some(UserId::new("u")),
                track: Some("audio".into()),
                begin_ms: Some(7),
            },
        ),
        (
            308,
            json!({"Code": 403, "Message": "denied"}),
            RecordingEvent::UploadFailed { code: Some("403".into()), message: Some("denied".into()) },
        ),
        (
            309,
            json!({"Url": "https://x.invalid/a.png"}),
            RecordingEvent::ImageDownloadFailed { url: Some("https://x.invalid/a.png".into()) },
        ),
        (
            310,
            json!({"Status": 0, "FileList": ["a_1.mp4"], "FileMessage": [{"FileName": "a_1.mp4", "UserId": "u", "TrackType": "audio_video", "MediaId": "main", "StartTimeStamp": 1, "EndTimeStamp": 2}]}),
            RecordingEvent::Mp4Stopped {
                status: UploadStatus::AllUploaded,
                files: vec!["a_1.mp4".into()],
                details: vec![RecordedFile {
                    file_name: Some("a_1.mp4".into()),
                    user: Some(UserId::new("u")),
                    track: Some("audio_video".into()),
                    media: Some("main".into()),
                    start_ms: Some(1),
                    end_ms: Some(2),
                }],
            },
        ),
        (
            311,
            json!({"Status": 0, "Errmsg": "", "TencentVod": {"UserId": "u", "TrackType": "audio_video", "MediaId": "main", "FileId": "528", "VideoUrl": "https://vod.invalid/f.mp4", "CacheFile": "f.mp4", "StartTimeStamp": 1, "EndTimeStamp": 2}}),
            RecordingEvent::VodCommitted {
                status: VodStatus::Committed,
                error: None,
                file: Some(VodFile {
                    user: Some(UserId::new("u")),
                    track: Some("audio_video".into()),
                    media: Some("main".into()),
                    file_id: Some("528".into()),
                    video_url: Some("https://vod.invalid/f.mp4".into()),
                    cache_file: Some("f.mp4".into()),
                    start_ms: Some(1),
                    end_ms: Some(2),
                }),
            },
        ),
        (312, json!({"Status": 1}), RecordingEvent::VodStopped { outcome: Outcome::Failed }),
    ];
    for (event_type, payload, expected) in cases {
        let event = normalise(&recording_body(event_type, "rec-1", 9_000, payload));
        assert_eq!(
            event.body,
            EventBody::Recording {
                task: TaskId::new("rec-1"),
                recorder: Some(UserId::new("recorder_1")),
                event: expected
            },
            "event type {event_type}"
        );
        assert_eq!(event.call.task, None, "a recording TaskId is not the AI task");
        assert_eq!(event.call.room, Some(RoomId::numeric(testkit::ROOM)));
        assert_round_trip(&event);
    }
}

#[test]
fn every_room_message_type_normalises_with_the_receive_time_as_source_time() {
    let cases: Vec<(u64, serde_json::Value, EventBody)> = vec![
        (
            10000,
            json!({"text": "您好", "start_time": "00:00:01", "end_time": "00:00:02", "roundid": "r1", "end": false}),
            EventBody::Sentence(Sentence {
                speaker: None,
                user: UserId::new(ROBOT),
                round: RoundId::new("r1"),
                text: "您好".into(),
                is_final: false,
                times: Some(SentenceTimes::Clock { start: Some("00:00:01".into()), end: Some("00:00:02".into()) }),
            }),
        ),
        (
            10001,
            json!({"roundid": "r1", "timestamp": 1629384755, "state": 4}),
            EventBody::RobotStateChanged {
                robot: Some(UserId::new(ROBOT)),
                round: Some(RoundId::new("r1")),
                state: RobotState::Interrupted,
                raw_timestamp: Some(1_629_384_755.0),
            },
        ),
        (
            10020,
            json!({"metric": "tts_first_frame_latency", "value": 420.5, "tag": {"roundid": "r1"}}),
            EventBody::MetricReported {
                robot: Some(UserId::new(ROBOT)),
                round: Some(RoundId::new("r1")),
                metric: MetricName::TtsFirstFrameLatency,
                value: 420.5,
            },
        ),
        (
            10030,
            json!({"metric": "asr_error", "tag": {"roundid": "r1", "code": 30100, "message": "asr timeout"}}),
            EventBody::PipelineFailed {
                robot: Some(UserId::new(ROBOT)),
                round: Some(RoundId::new("r1")),
                error: PipelineError {
                    stage: PipelineStage::Asr,
                    code: 30100,
                    message: "asr timeout".into(),
                    metric: "asr_error".into(),
                },
            },
        ),
    ];
    for (message_type, payload, expected) in cases {
        let event = testkit::message(&message_body(message_type, ROBOT, payload), "task-1", 77_000);
        assert_eq!(event.body, expected, "message type {message_type}");
        assert_eq!((event.source, event.source_ms), (Source::Room, SourceMs(77_000)));
        assert_eq!(event.dedup_key(), None, "room messages are not deduplicated by key");
        assert_round_trip(&event);
    }
}

#[test]
fn meta_info_is_kept_as_json_with_its_top_level_round() {
    let bytes = br#"{"type":10002,"sender":"ai_robot_1","receiver":[],"roundid":"r9","payload":{"intent":"refund","score":0.9}}"#;
    let event = testkit::message(bytes, "task-1", 5);
    assert_eq!(
        event.body,
        EventBody::LlmMetaInfo {
            robot: Some(UserId::new(ROBOT)),
            round: Some(RoundId::new("r9")),
            info: json!({"intent": "refund", "score": 0.9}),
        }
    );
    assert_round_trip(&event);
}

fn error_of(bytes: &[u8]) -> NormaliseError {
    match Event::from_callback(bytes, Some(APP)) {
        Ok(event) => panic!("{} should have been rejected, got {event:?}", String::from_utf8_lossy(bytes)),
        Err(error) => error,
    }
}

/// What was sent, the bytes, and what the error must look like.
type RejectionCase = (&'static str, Vec<u8>, fn(&NormaliseError) -> bool);

#[test]
fn malformed_callbacks_are_rejected_with_an_error_naming_what_was_wrong() {
    let good = ai_body(901, "t", 1_000, json!({"Status": 0}));
    let truncated = &good[..good.len() / 2];
    let cases: Vec<RejectionCase> = vec![
        ("empty body", vec![], |e| *e == NormaliseError::EmptyBody),
        ("whitespace only", b" \n\t".to_vec(), |e| *e == NormaliseError::EmptyBody),
        ("truncated JSON", truncated.to_vec(), |e| matches!(e, NormaliseError::MalformedJson { .. })),
        ("not an object", b"[1,2]".to_vec(), |e| matches!(e, NormaliseError::MalformedJson { .. })),
        ("null", b"null".to_vec(), |e| matches!(e, NormaliseError::MalformedJson { .. })),
        ("invalid UTF-8", vec![b'{', 0xff, 0xfe, b'}'], |e| matches!(e, NormaliseError::MalformedJson { .. })),
        (
            "EventType of the wrong type",
            br#"{"EventGroupId":9,"EventType":"nine-oh-one","EventInfo":{}}"#.to_vec(),
            |e| matches!(e, NormaliseError::MalformedJson { .. }),
        ),
        (
            "EventType too large for any integer",
            br#"{"EventGroupId":9,"EventType":18446744073709551616,"EventInfo":{}}"#.to_vec(),
            |e| matches!(e, NormaliseError::MalformedJson { .. }),
        ),
        ("undocumented 907", ai_body(907, "t", 1, json!({})), |e| {
            *e == NormaliseError::UnknownEventType { group: 9, event_type: 907 }
        }),
        ("web recording group 8", room_body(8, 801, 1, json!({})), |e| {
            *e == NormaliseError::UnknownEventType { group: 8, event_type: 801 }
        }),
        ("a type from another group", room_body(9, 103, 1, json!({})), |e| {
            *e == NormaliseError::UnknownEventType { group: 9, event_type: 103 }
        }),
        ("no TaskId", br#"{"EventGroupId":9,"EventType":901,"EventInfo":{"EventMsTs":1,"Payload":{"Status":0}}}"#.to_vec(), |e| {
            *e == NormaliseError::MissingField { event_type: 901, field: "TaskId" }
        }),
        ("blank TaskId", br#"{"EventGroupId":9,"EventType":901,"EventInfo":{"EventMsTs":1,"TaskId":" ","Payload":{"Status":0}}}"#.to_vec(), |e| {
            *e == NormaliseError::MissingField { event_type: 901, field: "TaskId" }
        }),
        ("no EventInfo", br#"{"EventGroupId":9,"EventType":901}"#.to_vec(), |e| {
            *e == NormaliseError::MissingField { event_type: 901, field: "EventInfo" }
        }),
        ("no EventMsTs", br#"{"EventGroupId":9,"EventType":901,"EventInfo":{"TaskId":"t","Payload":{"Status":0}}}"#.to_vec(), |e| {
            *e == NormaliseError::MissingField { event_type: 901, field: "EventMsTs" }
        }),
        ("no Payload", br#"{"EventGroupId":9,"EventType":902,"EventInfo":{"EventMsTs":1,"TaskId":"t"}}"#.to_vec(), |e| {
            *e == NormaliseError::MissingField { event_type: 902, field: "Payload" }
        }),
        ("no LeaveCode", ai_body(902, "t", 1, json!({})), |e| *e == NormaliseError::MissingField { event_type: 902, field: "LeaveCode" }),
        ("no RoundId on a sentence", ai_body(903, "t", 1, json!({"UserId": "u", "Text": "x"})), |e| {
            *e == NormaliseError::MissingField { event_type: 903, field: "RoundId" }
        }),
        ("no error code", ai_body(908, "t", 1, json!({"Metric": "llm_error", "Tag": {}})), |e| {
            *e == NormaliseError::MissingField { event_type: 908, field: "Tag.Code" }
        }),
        ("a Status of the wrong type", ai_body(901, "t", 1, json!({"Status": "ok"})), |e| {
            matches!(e, NormaliseError::BadValue { event_type: 901, field: "Payload", .. })
        }),
        ("a Payload that is not an object", ai_body(901, "t", 1, json!([0])), |e| {
            matches!(e, NormaliseError::BadValue { event_type: 901, field: "Payload", .. })
        }),
        ("a huge LeaveCode", ai_body(902, "t", 1, json!({"LeaveCode": 99_999_999_999_u64})), |e| {
            matches!(e, NormaliseError::BadValue { event_type: 902, field: "LeaveCode", .. })
        }),
        ("a huge EventMsTs", br#"{"EventGroupId":9,"EventType":909,"EventInfo":{"EventMsTs":1e30,"TaskId":"t","Payload":{"Status":"session_ready"}}}"#.to_vec(), |e| {
            matches!(e, NormaliseError::BadValue { event_type: 909, field: "EventInfo", .. })
        }),
        ("an EventTs that overflows milliseconds", br#"{"EventGroupId":1,"EventType":101,"EventInfo":{"RoomId":1,"EventTs":18446744073709551615}}"#.to_vec(), |e| {
            matches!(e, NormaliseError::BadValue { event_type: 101, field: "EventTs", .. })
        }),
        ("a Value that is not a number", ai_body(906, "t", 1, json!({"Metric": "asr_latency", "Value": "fast"})), |e| {
            matches!(e, NormaliseError::BadValue { event_type: 906, .. })
        }),
        ("an undocumented session status", ai_body(909, "t", 1, json!({"Status": "session_lost"})), |e| {
            matches!(e, NormaliseError::BadValue { event_type: 909, field: "Status", .. })
        }),
        ("a room event without a room", br#"{"EventGroupId":1,"EventType":103,"EventInfo":{"EventMsTs":1,"UserId":"u"}}"#.to_vec(), |e| {
            *e == NormaliseError::MissingField { event_type: 103, field: "RoomId" }
        }),
        ("an entry without a user", room_body(1, 103, 1, json!({"Role": 21})), |e| {
            *e == NormaliseError::MissingField { event_type: 103, field: "UserId" }
        }),
        ("a role change without a role", room_body(1, 105, 1, json!({"UserId": "u"})), |e| {
            *e == NormaliseError::MissingField { event_type: 105, field: "Role" }
        }),
        ("an upload stop with neither spelling", recording_body(305, "rec", 1, json!({})), |e| {
            *e == NormaliseError::MissingField { event_type: 305, field: "LeaveCode" }
        }),
    ];
    for (what, bytes, expected) in cases {
        let error = error_of(&bytes);
        assert!(expected(&error), "{what}: unexpected error {error:?}");
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn malformed_room_messages_are_rejected_with_an_error_naming_what_was_wrong() {
    let call = CallRef::task(TaskId::new("t"));
    let reject = |bytes: &[u8]| Event::from_room_message(bytes, call.clone(), SourceMs(1)).unwrap_err();
    assert_eq!(reject(b""), NormaliseError::EmptyBody);
    assert!(matches!(reject(br#"{"type":10001,"payload":{"state":"#), NormaliseError::MalformedJson { .. }));
    assert_eq!(
        reject(&message_body(20000, "u", json!({"id": "x", "message": "hi", "timestamp": 1}))),
        NormaliseError::UnknownMessageType { message_type: 20000 }
    );
    assert!(matches!(
        reject(&message_body(10001, ROBOT, json!({"roundid": "r", "state": 7}))),
        NormaliseError::BadValue { event_type: 10001, field: "state", .. }
    ));
    assert_eq!(
        reject(&message_body(10001, ROBOT, json!({"roundid": "r"}))),
        NormaliseError::MissingField { event_type: 10001, field: "state" }
    );
    assert_eq!(
        reject(br#"{"type":10000,"payload":{"text":"hi","roundid":"r"}}"#),
        NormaliseError::MissingField { event_type: 10000, field: "sender" }
    );
    assert_eq!(
        reject(br#"{"type":10020,"sender":"b"}"#),
        NormaliseError::MissingField { event_type: 10020, field: "payload" }
    );
    assert!(matches!(
        reject(&message_body(10020, ROBOT, json!({"metric": "asr_latency", "value": [1]}))),
        NormaliseError::BadValue { event_type: 10020, field: "payload", .. }
    ));
}

/// A small deterministic generator, so the mangling below is the same on every run.
fn next(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

#[test]
fn no_prefix_or_mangling_of_a_valid_body_panics() {
    let bodies = [
        ai_body(
            903,
            "t",
            1_000,
            json!({"UserId": "u", "Text": "你好", "StartTimeMs": 1, "EndTimeMs": 2, "RoundId": "r"}),
        ),
        room_body(1, 103, 1_000, json!({"UserId": "u", "Role": 21, "TerminalType": 2, "UserType": 3, "Reason": 1})),
        recording_body(311, "rec", 1_000, json!({"Status": 0, "TencentVod": {"FileId": "1"}})),
        message_body(10000, "u", json!({"text": "hi", "roundid": "r", "end": true})),
    ];
    let mut seed = 7;
    for body in &bodies {
        for cut in 0..body.len() {
            let _ = Event::from_callback(&body[..cut], Some(APP));
            let _ = Event::from_room_message(&body[..cut], CallRef::default(), SourceMs(0));
        }
        for _ in 0..300 {
            let mut mangled = body.clone();
            let at = usize::try_from(next(&mut seed)).unwrap() % mangled.len();
            mangled[at] = u8::try_from(next(&mut seed) % 256).unwrap();
            let _ = Event::from_callback(&mangled, None);
            let _ = Event::from_room_message(&mangled, CallRef::default(), SourceMs(0));
        }
    }
}

#[test]
fn a_retried_callback_has_the_same_dedup_key_and_a_different_event_does_not() {
    let first =
        normalise(&ai_body(906, "t", 1_000, json!({"Metric": "asr_latency", "Value": 900, "Tag": {"RoundId": "r"}})));
    let mut retry_bytes: serde_json::Value = serde_json::from_slice(&ai_body(
        906,
        "t",
        1_000,
        json!({"Metric": "asr_latency", "Value": 900, "Tag": {"RoundId": "r"}}),
    ))
    .unwrap();
    retry_bytes["CallbackTs"] = json!(11_000);
    let retry = normalise(retry_bytes.to_string().as_bytes());
    let other_value =
        normalise(&ai_body(906, "t", 1_000, json!({"Metric": "asr_latency", "Value": 901, "Tag": {"RoundId": "r"}})));
    let other_time =
        normalise(&ai_body(906, "t", 1_001, json!({"Metric": "asr_latency", "Value": 900, "Tag": {"RoundId": "r"}})));
    let other_task =
        normalise(&ai_body(906, "u", 1_000, json!({"Metric": "asr_latency", "Value": 900, "Tag": {"RoundId": "r"}})));
    let key = first.dedup_key().unwrap();
    assert!(key.starts_with("task:t|906|1000|"), "key was {key}");
    assert_eq!(retry.dedup_key().unwrap(), key, "a retry only changes CallbackTs");
    for other in [&other_value, &other_time, &other_task] {
        assert_ne!(other.dedup_key().unwrap(), key, "{other:?} is a distinct event");
    }
    let enter = normalise(&room_body(1, 103, 5, json!({"UserId": "a"})));
    let enter_other = normalise(&room_body(1, 103, 5, json!({"UserId": "b"})));
    assert!(enter.dedup_key().unwrap().starts_with("room:1400000000:12345|103|5|"));
    assert_ne!(enter.dedup_key(), enter_other.dedup_key(), "two users entering in the same ms");
    let recording = normalise(&recording_body(301, "rec-9", 5, json!({"Status": 0})));
    assert!(recording.dedup_key().unwrap().starts_with("recording:rec-9|301|5|"));
}

#[test]
fn the_body_digest_is_fnv1a_64() {
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn a_sequence_number_is_attached_without_changing_anything_else() {
    let event = testkit::started("t", 1);
    let sequenced = event.clone().with_seq(Seq(41));
    assert_eq!(sequenced.seq, Some(Seq(41)));
    assert_eq!(Event { seq: None, ..sequenced.clone() }, event);
    assert_round_trip(&sequenced);
}

#[test]
fn review_facts_are_hub_facts_of_a_call_with_a_flat_wire_form() {
    let note = EventBody::NoteAdded(NoteRecord {
        id: "3f2b9c1e-0c7a-4a55-9a53-2f1d2b0d7e11".into(),
        author: "li".into(),
        round: Some(RoundId::new("r2")),
        text: "客户要求回电".into(),
    });
    let tags = EventBody::TagsSet(TagsRecord { author: "wang".into(), tags: vec!["vip".into()] });
    let qa = EventBody::QaScored(QaRecord { author: "wang".into(), score: 85, comment: Some("语气好".into()) });
    for (body, kind) in [(note, "note_added"), (tags, "tags_set"), (qa, "qa_scored")] {
        assert!(body.is_hub_fact() && !body.is_room_scoped(), "{kind}");
        assert_eq!(body.callback_event_type(), None, "{kind}");
        let event = Event::hub_fact(CallRef::task(TaskId::new("t1")), SourceMs(5), body);
        assert_eq!(event.dedup_key(), None, "{kind}: only callbacks have a source key");
        let json = serde_json::to_value(&event.body).unwrap();
        assert_eq!(json["kind"], kind);
        assert_round_trip(&event);
    }
    let json =
        serde_json::to_value(EventBody::QaScored(QaRecord { author: "a".into(), score: 7, comment: None })).unwrap();
    assert_eq!(json, json!({"kind": "qa_scored", "author": "a", "score": 7, "comment": null}));
}
