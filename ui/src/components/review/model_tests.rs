use domain::api::{RecordingView, SnippetPart};
use domain::event::{
    CallRef, Event, EventBody, LeaveCode, Outcome, RecordedFile, RecordingEvent, RobotState, Source, Speaker,
    UploadStatus, VodFile, VodStatus,
};
use domain::ids::{RoomId, SourceMs, TaskId};

use super::*;
use crate::testkit::{Spec, APP};

const T0: u64 = 1_700_000_000_000;

fn call_events() -> (Spec, Vec<Event>) {
    let spec = Spec::new("task-r", 20_688, "customer_7");
    let mut events = vec![spec.started(T0), spec.ready(T0 + 500)];
    events.extend(spec.turn("1", T0 + 1_000, "我想查一下账单", "好的，请稍等", [300.0, 900.0, 400.0]));
    events.extend(spec.turn("2", T0 + 10_000, "谢谢", "不客气", [250.0, 2_400.0, 380.0]));
    events.push(spec.stopped(T0 + 20_000, LeaveCode::from(0)));
    (spec, events)
}

fn recording_event(ms: u64, event: RecordingEvent) -> Event {
    Event {
        call: CallRef { sdk_app_id: Some(APP), room: Some(RoomId::numeric(20_688)), task: None },
        source: Source::Callback,
        source_ms: SourceMs(ms),
        seq: None,
        body: EventBody::Recording { task: TaskId::new("rec-1"), recorder: None, event },
    }
}

/// A file of recording `rec-1`, stored by TRTC and not downloaded (also for `call`'s tests).
pub(in crate::components::review) fn view(name: &str) -> RecordingView {
    RecordingView {
        recording: TaskId::new("rec-1"),
        name: name.to_owned(),
        local_path: None,
        local_bytes: 0,
        verified: false,
        ready: true,
    }
}

#[test]
fn the_transcript_lists_final_sentences_in_spoken_order_with_their_spans() {
    let (spec, events) = call_events();
    let call = fold_call(&TaskId::new(&spec.task), &events);
    let sentences = transcript(&call);
    let said: Vec<(&str, Speaker)> = sentences.iter().map(|s| (s.text.as_str(), s.speaker)).collect();
    assert_eq!(
        said,
        [
            ("我想查一下账单", Speaker::User),
            ("好的，请稍等", Speaker::Robot),
            ("谢谢", Speaker::User),
            ("不客气", Speaker::Robot)
        ]
    );
    // 903 at t0+1500 says it started 900 ms before it was final.
    assert_eq!((sentences[0].start_ms, sentences[0].end_ms), (T0 + 1_600, T0 + 2_500));
    assert!(sentences.windows(2).all(|pair| pair[0].start_ms <= pair[1].start_ms));
}

#[test]
fn the_sentence_at_a_time_is_the_one_being_said_else_the_last_one_started() {
    let sentence = |start_ms, end_ms| Sentence {
        round: domain::ids::RoundId::new("1"),
        speaker: Speaker::User,
        text: String::new(),
        start_ms,
        end_ms,
    };
    let sentences = [sentence(1_000, 2_000), sentence(3_000, 6_000), sentence(4_000, 4_500), sentence(8_000, 9_000)];
    assert_eq!(sentence_at(&sentences, 999), None, "nothing said yet");
    assert_eq!(sentence_at(&sentences, 1_000), Some(0));
    assert_eq!(sentence_at(&sentences, 2_500), Some(0), "the pause after a sentence keeps it");
    assert_eq!(sentence_at(&sentences, 4_200), Some(2), "the barge-in while the robot speaks");
    assert_eq!(sentence_at(&sentences, 5_000), Some(1), "the robot goes on after the barge-in");
    assert_eq!(sentence_at(&sentences, 50_000), Some(3));
    assert_eq!(sentence_at(&[], 5), None);
}

#[test]
fn a_files_start_comes_from_the_most_specific_recording_callback() {
    let name = "1400000000_20688.wav";
    let started = recording_event(T0 + 200, RecordingEvent::Started { outcome: Outcome::Ok });
    let slice = recording_event(
        T0 + 2_000,
        RecordingEvent::FileSlice { file_name: Some(name.into()), user: None, track: None, begin_ms: Some(T0 + 1_900) },
    );
    let stopped = recording_event(
        T0 + 21_000,
        RecordingEvent::Mp4Stopped {
            status: UploadStatus::from(0),
            files: vec![name.into()],
            details: vec![RecordedFile {
                file_name: Some(name.into()),
                user: None,
                track: None,
                media: None,
                start_ms: Some(T0 + 250),
                end_ms: Some(T0 + 20_500),
            }],
        },
    );
    let vod = recording_event(
        T0 + 21_500,
        RecordingEvent::VodCommitted {
            status: VodStatus::from(0),
            error: None,
            file: Some(VodFile {
                user: None,
                track: None,
                media: None,
                file_id: None,
                video_url: Some(format!("http://127.0.0.1/recordings/rec-1/{name}")),
                cache_file: None,
                start_ms: Some(T0 + 260),
                end_ms: None,
            }),
        },
    );
    let other = recording_event(
        T0 + 2_000,
        RecordingEvent::FileSlice { file_name: Some("other.wav".into()), user: None, track: None, begin_ms: Some(T0) },
    );
    let start = |events: &[Event]| recording_start(events, &view(name), Some(T0 - 5_000));
    let all = [started.clone(), slice.clone(), stopped, vod.clone(), other.clone()];
    assert_eq!(start(&all), Some(RecordingStart { at_ms: T0 + 250, source: StartSource::FileMessage }));
    assert_eq!(
        start(&[started.clone(), slice.clone(), vod]),
        Some(RecordingStart { at_ms: T0 + 260, source: StartSource::Vod })
    );
    assert_eq!(
        start(&[started.clone(), slice, other.clone()]),
        Some(RecordingStart { at_ms: T0 + 1_900, source: StartSource::FirstSlice }),
        "another file's slice is not this file's"
    );
    assert_eq!(start(&[started, other]), Some(RecordingStart { at_ms: T0 + 200, source: StartSource::TaskStarted }));
    assert_eq!(start(&[]), Some(RecordingStart { at_ms: T0 - 5_000, source: StartSource::CallStart }));
    assert_eq!(recording_start(&[], &view(name), None), None);
}

#[test]
fn the_scale_maps_times_to_the_chart_and_clicks_back_to_times() {
    let scale = Scale::new(T0, T0 + 20_000, 1_000.0);
    assert!((scale.x(T0 + 5_000) - 250.0).abs() < 1e-9);
    assert!((scale.x(T0 - 1) - 0.0).abs() < 1e-9, "before the chart clamps to its left edge");
    assert!((scale.x(T0 + 99_000) - 1_000.0).abs() < 1e-9);
    assert_eq!(scale.at(500.0), T0 + 10_000);
    assert_eq!(scale.at(-3.0), T0);
    assert_eq!(scale.ticks(8), vec![T0, T0 + 5_000, T0 + 10_000, T0 + 15_000, T0 + 20_000]);
    let instant = Scale::new(T0, T0, 1_000.0);
    assert_eq!(instant.span_ms(), 1_000, "a zero span is widened, not divided by");
    assert!(instant.x(T0).is_finite());
}

#[test]
fn robot_states_become_spans_and_latencies_scale_to_bars() {
    let spec = Spec::new("task-s", 1, "c");
    let events = vec![
        spec.started(T0),
        spec.state("1", T0 + 1_000, RobotState::Listening),
        spec.state("1", T0 + 2_000, RobotState::Thinking),
        spec.state("1", T0 + 3_000, RobotState::Speaking),
        spec.state("2", T0 + 5_000, RobotState::Speaking),
        spec.state("2", T0 + 6_000, RobotState::Listening),
    ];
    let call = fold_call(&TaskId::new("task-s"), &events);
    let spans = state_spans(&call, T0 + 9_000);
    let shape: Vec<(RobotState, u64, u64)> = spans.iter().map(|s| (s.state, s.from_ms - T0, s.to_ms - T0)).collect();
    assert_eq!(
        shape,
        [
            (RobotState::Listening, 1_000, 2_000),
            (RobotState::Thinking, 2_000, 3_000),
            (RobotState::Speaking, 3_000, 6_000),
            (RobotState::Listening, 6_000, 9_000)
        ]
    );
    let (spec, events) = call_events();
    let call = fold_call(&TaskId::new(&spec.task), &events);
    let latencies = turn_latencies(&call);
    assert_eq!(latencies.iter().map(|t| t.llm_first_token).collect::<Vec<_>>(), [Some(900.0), Some(2_400.0)]);
    let ceiling = latency_ceiling(&latencies);
    assert!((ceiling - 2_500.0).abs() < 1e-9, "2.4 s rounds up to 2.5 s, got {ceiling}");
    assert!((bar_height(1_250.0, ceiling, 40.0) - 20.0).abs() < 1e-9);
    assert!((bar_height(9_000.0, ceiling, 40.0) - 40.0).abs() < 1e-9, "capped at the lane");
    assert!(bar_height(f64::NAN, ceiling, 40.0).abs() < 1e-9);
    assert!((latency_ceiling(&[]) - 1_000.0).abs() < 1e-9);
}

#[test]
fn snippets_render_as_runs_of_plain_and_marked_text() {
    let part = |text: &str, hit| SnippetPart { text: text.into(), hit };
    let runs =
        snippet_runs(&[part("我想", false), part("", true), part("查", true), part("账单", true), part("。", false)]);
    assert_eq!(runs, vec![(false, "我想".to_owned()), (true, "查账单".to_owned()), (false, "。".to_owned())]);
    assert!(snippet_runs(&[]).is_empty());
}

#[test]
fn clocks_read_minutes_and_seconds_and_offsets_can_be_negative() {
    assert_eq!(clock(0), "0:00");
    assert_eq!(clock(61_999), "1:01");
    assert_eq!(clock(3_723_000), "1:02:03");
    assert_eq!(clock(-1_500), "-0:01");
    assert_eq!(offset(T0, T0 + 2_000), -2_000);
    assert_eq!(offset(T0 + 2_000, T0), 2_000);
}

#[test]
fn download_progress_is_a_whole_percentage_only_when_the_size_is_known() {
    assert_eq!(download_percent(0, Some(2_000)), Some(0));
    assert_eq!(download_percent(999, Some(2_000)), Some(49));
    assert_eq!(download_percent(2_000, Some(2_000)), Some(100));
    assert_eq!(download_percent(5_000, Some(2_000)), Some(100), "never past the whole file");
    assert_eq!(download_percent(u64::MAX - 1, Some(u64::MAX)), Some(99), "no overflow near the top");
    assert_eq!(download_percent(10, None), None);
    assert_eq!(download_percent(10, Some(0)), None, "an empty size says nothing");
}

#[test]
fn the_audio_time_maps_onto_the_events_clock_and_back() {
    assert_eq!(media_ms(12.3456), 12_346);
    assert_eq!(media_ms(f64::NAN), 0, "before the element knows");
    assert_eq!(media_ms(-1.0), 0);
    assert_eq!(media_ms(f64::INFINITY), 0);
    // A sentence 7.5 s after the file's first sample plays 7.5 s into the file.
    assert!((file_seconds(T0 + 7_500, T0, 60.0) - 7.5).abs() < 1e-9);
    assert!(file_seconds(T0 - 3_000, T0, 60.0).abs() < 1e-9, "before the file: its start");
    assert!((file_seconds(T0 + 90_000, T0, 60.0) - 60.0).abs() < 1e-9, "past the file: its end");
    assert!((file_seconds(T0 + 90_000, T0, f64::NAN) - 90.0).abs() < 1e-9, "no length known yet");
}

#[test]
fn the_audio_is_moved_only_to_a_playhead_it_did_not_report_itself() {
    // A click on a sentence 10 s in while the audio is at 2 s: seek.
    assert!(needs_seek(T0 + 10_000, Some(T0 + 2_000), 10.0, 2.0));
    // The audio's own report coming back (it has moved on a little since): leave it playing.
    assert!(!needs_seek(T0 + 2_000, Some(T0 + 2_000), 2.0, 2.2));
    // A click within a quarter second of where it is: nothing to do.
    assert!(!needs_seek(T0 + 2_100, Some(T0 + 2_000), 2.1, 2.0));
    // Before the audio said anything (just loaded, a search hit to open at): seek.
    assert!(needs_seek(T0 + 5_000, None, 5.0, 0.0));
    assert!(needs_seek(T0 + 5_000, None, 5.0, f64::NAN));
}

#[test]
fn playback_failures_are_named_from_media_errors_and_play_rejections() {
    assert_eq!(PlaybackFailure::from_media_error(1, ""), PlaybackFailure::Aborted);
    assert_eq!(PlaybackFailure::from_media_error(2, "x"), PlaybackFailure::Unreadable);
    assert_eq!(PlaybackFailure::from_media_error(3, ""), PlaybackFailure::Decode);
    assert_eq!(PlaybackFailure::from_media_error(4, "no source"), PlaybackFailure::Unsupported);
    assert_eq!(PlaybackFailure::from_media_error(9, "odd"), PlaybackFailure::Other("9 odd".into()));
    assert_eq!(PlaybackFailure::from_rejection("NotAllowedError", "user gesture"), PlaybackFailure::NotAllowed);
    assert_eq!(PlaybackFailure::from_rejection("NotSupportedError", ""), PlaybackFailure::Unsupported);
    assert_eq!(PlaybackFailure::from_rejection("AbortError", ""), PlaybackFailure::Aborted);
    assert_eq!(
        PlaybackFailure::from_rejection("Error", " no audio sink "),
        PlaybackFailure::Other("no audio sink".into())
    );
    assert_eq!(PlaybackFailure::from_rejection("Error", ""), PlaybackFailure::Other("Error".into()));
}
