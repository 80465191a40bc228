//! The review screen's pure logic, tested natively: the transcript built from the domain
//! fold, which sentence is playing at a time, where a recording file starts on the
//! events' clock, the timeline's scale and lanes, and search snippets.
//!
//! What deliberately does not live here: anything shown (the components beside this file)
//! and any effect (IPC, the audio element).

use domain::api::{RecordingView, SnippetPart};
use domain::call::Call;
use domain::event::{Event, EventBody, RecordingEvent, RobotState, SentenceTimes, Speaker};
use domain::ids::{RoundId, TaskId};

/// One final sentence of the transcript, on the events' clock (source ms).
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    pub round: RoundId,
    pub speaker: Speaker,
    pub text: String,
    /// When the speaker was first heard saying it.
    pub start_ms: u64,
    /// When it was known to be final (the end of the speech, as near as the events say).
    pub end_ms: u64,
}

/// The call's final sentences in the order they were said (start, then end, then the
/// customer before the robot at the same instant).
pub fn transcript(call: &Call) -> Vec<Sentence> {
    let mut sentences: Vec<Sentence> = call
        .turns()
        .into_iter()
        .flat_map(|turn| {
            let lines = [(Speaker::User, turn.user()), (Speaker::Robot, turn.robot())];
            lines.into_iter().filter_map(move |(speaker, line)| {
                let line = line.filter(|line| line.is_final && !line.text.trim().is_empty())?;
                let end = line.final_ms.unwrap_or(line.first_ms).0.max(line.first_ms.0);
                Some(Sentence {
                    round: turn.round().clone(),
                    speaker,
                    text: line.text.clone(),
                    start_ms: spoken_from(line.times.as_ref(), line.first_ms.0, end),
                    end_ms: end,
                })
            })
        })
        .collect();
    sentences.sort_by(|a, b| {
        (a.start_ms, a.end_ms, a.speaker == Speaker::Robot).cmp(&(b.start_ms, b.end_ms, b.speaker == Speaker::Robot))
    });
    sentences
}

/// When a sentence's speech began: 903's `StartTimeMs` when it is a time on the same
/// clock (at most ten minutes before the end), else when it was first heard (a single
/// final 903 is first heard as it ends).
fn spoken_from(times: Option<&SentenceTimes>, first_ms: u64, end_ms: u64) -> u64 {
    match times {
        Some(SentenceTimes::Ms { start_ms: Some(start), .. })
            if *start <= end_ms && end_ms - start <= 600_000 && *start < first_ms =>
        {
            *start
        }
        _ => first_ms,
    }
}

/// The sentence playing at `at_ms` (source ms): the one whose span holds it, else the
/// last one that started before it (its words still on screen in the pause after it);
/// `None` before the first sentence. `sentences` must be sorted by start.
pub fn sentence_at(sentences: &[Sentence], at_ms: u64) -> Option<usize> {
    let started = sentences.partition_point(|sentence| sentence.start_ms <= at_ms);
    let latest = started.checked_sub(1)?;
    // Sentences can overlap (the customer barges in): prefer one still being said.
    (0..=latest).rev().take(4).find(|&index| sentences[index].end_ms >= at_ms).or(Some(latest))
}

/// Where a recording file's first sample sits on the events' clock, and how that was
/// decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingStart {
    pub at_ms: u64,
    pub source: StartSource,
}

/// Which recording callback gave the file's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartSource {
    /// 310's `FileMessage[].StartTimeStamp` for this file.
    FileMessage,
    /// 311's `TencentVod.StartTimeStamp` for this file.
    Vod,
    /// 307's `BeginTimeStamp` for this file (the first slice).
    FirstSlice,
    /// 301: when the recording task started.
    TaskStarted,
    /// No callback said: the call's own start (the transcript may then be early or late).
    CallStart,
}

/// Where `file`'s audio starts on the events' clock.
///
/// The transcript's times are TRTC source times (callback `EventMsTs` and room-message
/// times, ms since the epoch). The recording callbacks stamp the same clock: 310 and 311
/// give each file's `StartTimeStamp`, the time of its first sample; 307's `BeginTimeStamp`
/// is when the first slice of that file began; 301 is when the recorder joined, which
/// bounds the start of a mixed file from below. So the offset of a sentence into the file
/// is `sentence.start_ms − start`, taking the most specific of those in that order. With
/// none (callbacks lost or not yet arrived) the call's start is the best guess, and the
/// screen says the sync is approximate.
pub fn recording_start(events: &[Event], file: &RecordingView, call_start_ms: Option<u64>) -> Option<RecordingStart> {
    let mut started: Option<u64> = None;
    let mut slice: Option<u64> = None;
    let mut vod: Option<u64> = None;
    let mut message: Option<u64> = None;
    let earliest = |slot: &mut Option<u64>, at: u64| *slot = Some(slot.map_or(at, |known| known.min(at)));
    for event in events {
        let EventBody::Recording { task, event: recording, .. } = &event.body else { continue };
        if *task != file.recording {
            continue;
        }
        match recording {
            RecordingEvent::Started { .. } => earliest(&mut started, event.source_ms.0),
            RecordingEvent::FileSlice { file_name: Some(name), begin_ms: Some(begin), .. } if *name == file.name => {
                earliest(&mut slice, *begin);
            }
            RecordingEvent::Mp4Stopped { details, .. } => {
                for detail in details {
                    if let (Some(name), Some(start)) = (&detail.file_name, detail.start_ms) {
                        if *name == file.name {
                            earliest(&mut message, start);
                        }
                    }
                }
            }
            RecordingEvent::VodCommitted { file: Some(vod_file), .. } => {
                let names_it = |url: &Option<String>| url.as_deref().is_some_and(|url| url.ends_with(&file.name));
                if let Some(start) =
                    vod_file.start_ms.filter(|_| names_it(&vod_file.video_url) || names_it(&vod_file.cache_file))
                {
                    earliest(&mut vod, start);
                }
            }
            _ => {}
        }
    }
    let found = [
        (message, StartSource::FileMessage),
        (vod, StartSource::Vod),
        (slice, StartSource::FirstSlice),
        (started, StartSource::TaskStarted),
        (call_start_ms, StartSource::CallStart),
    ];
    found.into_iter().find_map(|(at, source)| at.map(|at_ms| RecordingStart { at_ms, source }))
}

/// The call folded from its cached events, and its room's recordings' events kept for
/// [`recording_start`].
pub fn fold_call(task: &TaskId, events: &[Event]) -> Call {
    let mut call = Call::new(task.clone());
    events.iter().for_each(|event| call.apply(event));
    call
}

/// The timeline's horizontal scale: source ms onto `0..=width` view-box units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub from_ms: u64,
    pub to_ms: u64,
    pub width: f64,
}

impl Scale {
    /// A scale over `from..to`; a span under a second is widened to one second so nothing
    /// divides by zero.
    pub fn new(from_ms: u64, to_ms: u64, width: f64) -> Scale {
        Scale { from_ms, to_ms: to_ms.max(from_ms + 1_000), width }
    }

    pub fn span_ms(&self) -> u64 {
        self.to_ms - self.from_ms
    }

    /// Where `at_ms` is drawn, clamped to the chart.
    pub fn x(&self, at_ms: u64) -> f64 {
        let offset = at_ms.clamp(self.from_ms, self.to_ms) - self.from_ms;
        #[allow(clippy::cast_precision_loss)] // spans of calls are far below 2^52 ms
        let ratio = offset as f64 / self.span_ms() as f64;
        ratio * self.width
    }

    /// The time at `x` view-box units (a click on the chart), clamped to the chart.
    pub fn at(&self, x: f64) -> u64 {
        let ratio = if self.width > 0.0 { (x / self.width).clamp(0.0, 1.0) } else { 0.0 };
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let offset = (ratio * self.span_ms() as f64).round() as u64;
        self.from_ms + offset
    }

    /// Tick marks: round steps (1 s … 10 min) giving at most `max` ticks, as times.
    pub fn ticks(&self, max: usize) -> Vec<u64> {
        const STEPS: [u64; 10] = [1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000];
        let span = self.span_ms();
        let max = u64::try_from(max.max(1)).unwrap_or(u64::MAX);
        let step = STEPS.into_iter().find(|step| span / step < max).unwrap_or(3_600_000);
        (0..=span / step).map(|index| self.from_ms + index * step).collect()
    }
}

/// A stretch of one robot state on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSpan {
    pub state: RobotState,
    pub from_ms: u64,
    pub to_ms: u64,
}

/// The robot's states over the call, as spans: each state lasts until the next one (the
/// last until `end_ms`). Repeats of the same state merge.
pub fn state_spans(call: &Call, end_ms: u64) -> Vec<StateSpan> {
    let mut changes: Vec<(u64, RobotState)> = call
        .turns()
        .into_iter()
        .flat_map(|turn| turn.states().iter().map(|change| (change.at.0, change.state)))
        .collect();
    changes.sort_by_key(|(at, _)| *at);
    let mut spans: Vec<StateSpan> = Vec::new();
    for (index, (at, state)) in changes.iter().enumerate() {
        let to = changes.get(index + 1).map_or(end_ms.max(*at), |(next, _)| *next);
        match spans.last_mut() {
            Some(last) if last.state == *state => last.to_ms = to,
            _ => spans.push(StateSpan { state: *state, from_ms: *at, to_ms: to }),
        }
    }
    spans
}

/// A turn's latencies for the timeline's bars (ms), at the turn's start.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnLatency {
    pub round: RoundId,
    pub at_ms: u64,
    pub llm_first_token: Option<f64>,
    pub asr: Option<f64>,
    pub tts_first_frame: Option<f64>,
}

pub fn turn_latencies(call: &Call) -> Vec<TurnLatency> {
    call.turns()
        .into_iter()
        .map(|turn| {
            let metrics = turn.metrics();
            TurnLatency {
                round: turn.round().clone(),
                at_ms: turn.first_ms().0,
                llm_first_token: metrics.llm_first_token.map(|sample| sample.value),
                asr: metrics.asr_latency.map(|sample| sample.value),
                tts_first_frame: metrics.tts_first_frame_latency.map(|sample| sample.value),
            }
        })
        .collect()
}

/// What a marker on the timeline stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerKind {
    Error,
    Alert,
    Intervention,
}

/// A point on the timeline with its label (already localised by the caller).
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub kind: MarkerKind,
    pub at_ms: u64,
    pub label: String,
}

/// Bar height in view-box units for a latency, on a scale topping out at `ceiling_ms`.
pub fn bar_height(latency_ms: f64, ceiling_ms: f64, max_height: f64) -> f64 {
    if !latency_ms.is_finite() || latency_ms <= 0.0 || ceiling_ms <= 0.0 {
        return 0.0;
    }
    (latency_ms / ceiling_ms).min(1.0) * max_height
}

/// The bars' ceiling: the slowest latency shown, rounded up to a whole 500 ms, at least 1 s.
pub fn latency_ceiling(latencies: &[TurnLatency]) -> f64 {
    let slowest = latencies
        .iter()
        .flat_map(|turn| [turn.llm_first_token, turn.asr, turn.tts_first_frame])
        .flatten()
        .filter(|value| value.is_finite())
        .fold(0.0_f64, f64::max);
    ((slowest / 500.0).ceil() * 500.0).max(1_000.0)
}

/// A snippet's pieces as they are drawn: plain text and marked hits, with empty pieces
/// dropped and neighbours of the same kind joined.
pub fn snippet_runs(parts: &[SnippetPart]) -> Vec<(bool, String)> {
    let mut runs: Vec<(bool, String)> = Vec::new();
    for part in parts.iter().filter(|part| !part.text.is_empty()) {
        match runs.last_mut() {
            Some((hit, text)) if *hit == part.hit => text.push_str(&part.text),
            _ => runs.push((part.hit, part.text.clone())),
        }
    }
    runs
}

/// `m:ss` (or `h:mm:ss`) for a non-negative offset in ms; negative offsets show as `-m:ss`.
pub fn clock(offset_ms: i64) -> String {
    let sign = if offset_ms < 0 { "-" } else { "" };
    let secs = offset_ms.unsigned_abs() / 1_000;
    let (hours, minutes, seconds) = (secs / 3_600, secs / 60 % 60, secs % 60);
    if hours > 0 {
        format!("{sign}{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{sign}{minutes}:{seconds:02}")
    }
}

/// `at_ms − origin_ms` as a signed offset.
pub fn offset(at_ms: u64, origin_ms: u64) -> i64 {
    let difference = i128::from(at_ms) - i128::from(origin_ms);
    i64::try_from(difference).unwrap_or(if difference < 0 { i64::MIN } else { i64::MAX })
}

/// How far a download is, in whole percent, when its size is known (and not zero).
pub fn download_percent(bytes: u64, total: Option<u64>) -> Option<u8> {
    let total = total.filter(|total| *total > 0)?;
    let percent = u128::from(bytes.min(total)) * 100 / u128::from(total);
    u8::try_from(percent).ok()
}

/// A media element's time (seconds; NaN before it knows, never negative in practice) as
/// whole ms into the file.
pub fn media_ms(seconds: f64) -> u64 {
    if !seconds.is_finite() || seconds <= 0.0 {
        return 0;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // finite, positive, rounded
    let ms = (seconds * 1_000.0).round().min(u64::MAX as f64) as u64;
    ms
}

/// Where in the file (seconds) the playhead at `at_ms` on the events' clock is, for a
/// file whose first sample is at `origin_ms`: 0 before the file starts, and not past
/// `duration_s` when that is known.
pub fn file_seconds(at_ms: u64, origin_ms: u64, duration_s: f64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // offsets into a call are far below 2^52 ms
    let seconds = at_ms.saturating_sub(origin_ms) as f64 / 1_000.0;
    if duration_s.is_finite() && duration_s > 0.0 {
        seconds.min(duration_s)
    } else {
        seconds
    }
}

/// Whether the audio must be moved to the playhead at `position` (source ms): not when
/// the audio itself put the playhead there (`reported`, its last `timeupdate`), nor when it
/// is already within a quarter second of it.
pub fn needs_seek(position: u64, reported: Option<u64>, wanted_s: f64, current_s: f64) -> bool {
    reported != Some(position) && (!current_s.is_finite() || (current_s - wanted_s).abs() > 0.25)
}

/// Why the audio element cannot play the file, as the screen explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybackFailure {
    /// Loading was stopped (`MEDIA_ERR_ABORTED`, `AbortError`).
    Aborted,
    /// The file could not be read (`MEDIA_ERR_NETWORK`): moved, deleted or not allowed.
    Unreadable,
    /// The file is damaged or in an unknown encoding (`MEDIA_ERR_DECODE`).
    Decode,
    /// The window cannot play this kind of file or has no way to (`MEDIA_ERR_SRC_NOT_SUPPORTED`,
    /// `NotSupportedError`) — e.g. no media framework for the format.
    Unsupported,
    /// The window refused to start sound (`NotAllowedError`).
    NotAllowed,
    /// Anything else: the browser's own words.
    Other(String),
}

impl PlaybackFailure {
    /// From the element's `error` (a `MediaError`: `code` 1–4 and an optional message).
    pub fn from_media_error(code: u16, message: &str) -> PlaybackFailure {
        match code {
            1 => PlaybackFailure::Aborted,
            2 => PlaybackFailure::Unreadable,
            3 => PlaybackFailure::Decode,
            4 => PlaybackFailure::Unsupported,
            _ => PlaybackFailure::Other(format!("{code} {message}").trim().to_owned()),
        }
    }

    /// From the `DOMException` that `play()` rejected with (its `name` and `message`).
    pub fn from_rejection(name: &str, message: &str) -> PlaybackFailure {
        match name {
            "NotAllowedError" => PlaybackFailure::NotAllowed,
            "NotSupportedError" => PlaybackFailure::Unsupported,
            "AbortError" => PlaybackFailure::Aborted,
            _ if message.trim().is_empty() => PlaybackFailure::Other(name.to_owned()),
            _ => PlaybackFailure::Other(message.trim().to_owned()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "model_tests.rs"]
pub(super) mod tests;
