//! Cloud recording files (trtc-contract.md §5): a recorder per `CreateCloudRecording` that
//! listens to its room, and the recording callbacks of event group 3.
//!
//! The recorder collects every final spoken line in the room (the 10000 subtitles: who,
//! what, when). It stops on `DeleteCloudRecording` (302 `LeaveCode` 0) or after
//! `RecordParams.MaxIdleTime` (default 30 s, divided by the speed) without any room message
//! while no conversation runs in the room (302 `LeaveCode` 99): a quiet stretch inside a
//! call does not end its recording. Then it speaks each line with espeak-ng ([`crate::audio`]), in
//! the voice it was said in (the robot's `TTSConfig` voice id when the line was planned, so
//! a call whose voice was updated mid-call is recorded in both voices), and writes the files under `<data-dir>/recordings/<TaskId>/`, named as in §5.4:
//! `<SdkAppId>_<RoomId>.wav` for RecordMode 2 (mixed) and
//! `<SdkAppId>_<RoomId>__UserId_s_<UserId>__UserId_e_main_audio.wav` per speaker for
//! RecordMode 1 (UserId and string RoomIds Base64 with `/`→`-`, `=`→`.`).
//!
//! Honest differences from TRTC: real recordings are m3u8/ts, mp4 or aac uploaded to COS
//! or VOD; the emulator writes 16-bit 22050 Hz mono **WAV** and serves it itself at
//! `GET /recordings/{TaskId}/{file}` (311's `VideoUrl` points there). A line's speech
//! ends where its final subtitle arrived; the file lasts as long as the emulated call
//! (wall time × speed). Stream subscriptions and mix layouts are accepted but not applied,
//! and `DescribeCloudRecording` lists files only for CloudStorage (VOD lists none, §5.2).
//!
//! Timestamps (`EventMsTs`, `BeginTimeStamp`, file start and end) come from the Cloud API's
//! clock ([`crate::clock`]): the wall clock plus `--clock-offset-secs`.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError, Weak},
    time::Duration,
};

use axum::{
    extract::{Path as UrlPath, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use base64::Engine as _;
use serde_json::{json, Value};
use tokio::sync::{broadcast::error::RecvError, oneshot};

use crate::{
    audio,
    clock::CloudClock,
    cloud_api::Cloud,
    outputs::{Emission, Outputs, SpokenLine, SpokenLines},
};

/// `LeaveCode` of 302 after `DeleteCloudRecording`.
pub const LEAVE_API_STOP: u64 = 0;
/// `LeaveCode` of 302 after `MaxIdleTime` without anyone in the room.
pub const LEAVE_IDLE: u64 = 99;

/// Where a recording is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `StorageParams.CloudStorage` (COS or a third party): 310, 305.
    CloudStorage,
    /// `StorageParams.CloudVod`: 310, 311 per file.
    CloudVod,
}

/// One recording task, as created through the Cloud API.
#[derive(Debug, Clone)]
pub struct RecordingSpec {
    pub task_id: String,
    pub sdk_app_id: u64,
    pub room_id: String,
    /// Recording semantics: 0 string room, 1 integer room (the default).
    pub room_id_type: u64,
    pub recorder_user_id: String,
    /// 1 one file per speaker, 2 one mixed file.
    pub record_mode: u64,
    pub max_idle_secs: u64,
    pub storage: Storage,
}

/// A final line spoken in the room.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub user_id: String,
    pub text: String,
    /// The voice it is spoken in; `None` for the language's own voice.
    pub voice: Option<audio::Voice>,
    /// Unix ms on the cloud's clock at which the line was final (its speech ended).
    pub at_ms: u64,
}

/// A file the recorder wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Produced {
    pub file_name: String,
    /// Empty for the mixed file.
    pub user_id: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

#[derive(Debug)]
struct Live {
    spec: RecordingSpec,
    started_ms: u64,
    lines: Vec<Line>,
    stop: Option<oneshot::Sender<()>>,
}

/// The recorders of one emulator, and the files they produced.
#[derive(Debug)]
pub struct Recorder {
    outputs: Outputs,
    speed: f64,
    /// `<data-dir>/recordings`.
    dir: PathBuf,
    /// `http://ADDR` of this emulator, for 311's `VideoUrl`.
    base_url: String,
    live: Mutex<HashMap<String, Live>>,
    produced: Mutex<HashMap<String, Vec<String>>>,
    /// The Cloud API's clock (`--clock-offset-secs`).
    clock: CloudClock,
}

/// Base64 with `/`→`-` and `=`→`.`, as TRTC spells user ids and string rooms in file names.
pub fn file_name_base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text).replace('/', "-").replace('=', ".")
}

impl RecordingSpec {
    fn room_part(&self) -> String {
        if self.room_id_type == 0 {
            file_name_base64(&self.room_id)
        } else {
            self.room_id.clone()
        }
    }

    /// §5.4 name of the mixed file.
    pub fn mixed_file_name(&self) -> String {
        format!("{}_{}.wav", self.sdk_app_id, self.room_part())
    }

    /// §5.4 name of `user_id`'s single-stream audio file.
    pub fn user_file_name(&self, user_id: &str) -> String {
        format!(
            "{}_{}__UserId_s_{}__UserId_e_main_audio.wav",
            self.sdk_app_id,
            self.room_part(),
            file_name_base64(user_id)
        )
    }

    /// `RoomId` in callbacks: a number for integer rooms.
    fn room_json(&self) -> Value {
        match self.room_id.trim().parse::<u64>() {
            Ok(number) if self.room_id_type != 0 => json!(number),
            _ => json!(self.room_id),
        }
    }

    /// A group-3 callback body.
    fn callback(&self, event_type: u16, ms: u64, payload: Value) -> Emission {
        Emission::Callback(json!({
            "EventGroupId": 3,
            "EventType": event_type,
            "EventInfo": {
                "RoomId": self.room_json(),
                "EventTs": ms / 1000,
                "EventMsTs": ms,
                "UserId": self.recorder_user_id,
                "TaskId": self.task_id,
                "Payload": payload,
            },
        }))
    }
}

impl Recorder {
    /// Recorders writing under `<data_dir>/recordings`, emitting through `outputs`, on the
    /// unshifted wall clock.
    pub fn new(outputs: Outputs, speed: f64, data_dir: &Path, base_url: String) -> Arc<Recorder> {
        Recorder::with_clock(outputs, speed, data_dir, base_url, CloudClock::default())
    }

    /// Recorders as [`Recorder::new`] stamping with `clock` — the Cloud API's
    /// ([`crate::CloudConfig::clock`], shifted by `--clock-offset-secs`).
    pub fn with_clock(
        outputs: Outputs,
        speed: f64,
        data_dir: &Path,
        base_url: String,
        clock: CloudClock,
    ) -> Arc<Recorder> {
        Arc::new(Recorder {
            outputs,
            speed,
            dir: data_dir.join("recordings"),
            base_url,
            live: Mutex::new(HashMap::new()),
            produced: Mutex::new(HashMap::new()),
            clock,
        })
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The directory without `--data-dir`: `<temp>/trtc-emulator-<pid>`.
    pub fn default_data_dir() -> PathBuf {
        std::env::temp_dir().join(format!("trtc-emulator-{}", std::process::id()))
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn produced(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<String>>> {
        self.produced.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts recording a task just created through the API: 301, then listen.
    pub(crate) fn start(self: &Arc<Self>, cloud: Weak<Cloud>, spec: RecordingSpec) {
        let mut rooms = self.outputs.subscribe_rooms();
        let started_ms = self.now_ms();
        self.outputs.emit(spec.callback(301, started_ms, json!({"Status": 0})));
        let (stop_tx, mut stop_rx) = oneshot::channel();
        self.live().insert(
            spec.task_id.clone(),
            Live { spec: spec.clone(), started_ms, lines: Vec::new(), stop: Some(stop_tx) },
        );
        let recorder = self.clone();
        let idle = Duration::from_secs_f64(spec.max_idle_secs.max(1) as f64 / self.speed.max(1e-6));
        tokio::spawn(async move {
            let mut spoken = SpokenLines::default();
            let mut deadline = tokio::time::Instant::now() + idle;
            let leave_code = loop {
                tokio::select! {
                    _ = &mut stop_rx => break LEAVE_API_STOP,
                    () = tokio::time::sleep_until(deadline) => {
                        // Quiet, but the call is still on: TRTC counts idle time only
                        // without anyone in the room.
                        let in_use = cloud.upgrade().is_some_and(|cloud| cloud.room_in_use(spec.sdk_app_id, &spec.room_id));
                        if !in_use {
                            break LEAVE_IDLE;
                        }
                        deadline = tokio::time::Instant::now() + idle;
                    }
                    received = rooms.recv() => match received {
                        Ok(message) if message.room_id == spec.room_id => {
                            deadline = tokio::time::Instant::now() + idle;
                            if let Some(SpokenLine { user_id, text, voice }) = spoken.complete(&message) {
                                let at_ms = recorder.now_ms();
                                recorder.heard(&spec, Line { user_id, text, voice, at_ms });
                            }
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => break LEAVE_IDLE,
                    },
                }
            };
            // An idle recorder's task exits before its last callbacks, as after Delete.
            if leave_code == LEAVE_IDLE {
                if let Some(cloud) = cloud.upgrade() {
                    cloud.recording_ended(spec.sdk_app_id, &spec.task_id);
                }
            }
            recorder.finish(&spec.task_id, leave_code).await;
        });
    }

    fn heard(&self, spec: &RecordingSpec, line: Line) {
        let mut live = self.live();
        let Some(task) = live.get_mut(&spec.task_id) else { return };
        if task.lines.is_empty() {
            let file_name = match spec.record_mode {
                1 => spec.user_file_name(&line.user_id),
                _ => spec.mixed_file_name(),
            };
            let user_id = if spec.record_mode == 1 { line.user_id.clone() } else { String::new() };
            self.outputs.emit(spec.callback(
                307,
                line.at_ms,
                json!({"FileName": file_name, "UserId": user_id, "TrackType": "audio", "BeginTimeStamp": line.at_ms}),
            ));
        }
        task.lines.push(line);
    }

    /// Ends a recording through `DeleteCloudRecording`.
    pub(crate) fn stop(&self, task_id: &str) {
        if let Some(stop) = self.live().get_mut(task_id).and_then(|t| t.stop.take()) {
            // A closed channel means the recorder is already finishing.
            let _ = stop.send(());
        }
    }

    /// `DescribeCloudRecording.StorageFileList` of a live task (empty for VOD, §5.2).
    pub(crate) fn storage_files(&self, task_id: &str) -> Vec<Value> {
        let live = self.live();
        let Some(task) = live.get(task_id) else { return Vec::new() };
        if task.spec.storage == Storage::CloudVod {
            return Vec::new();
        }
        let file = |name: String, user: &str, begin: u64| json!({"UserId": user, "FileName": name, "TrackType": "audio", "BeginTimeStamp": begin});
        match task.spec.record_mode {
            1 => {
                let mut files: Vec<Value> = Vec::new();
                let mut seen: Vec<&str> = Vec::new();
                for line in &task.lines {
                    if !seen.contains(&line.user_id.as_str()) {
                        seen.push(&line.user_id);
                        files.push(file(task.spec.user_file_name(&line.user_id), &line.user_id, line.at_ms));
                    }
                }
                files
            }
            _ => vec![file(task.spec.mixed_file_name(), "", task.started_ms)],
        }
    }

    /// The path of a file this emulator produced, if `file` is exactly one of its names.
    pub fn file_path(&self, task_id: &str, file: &str) -> Option<PathBuf> {
        let produced = self.produced();
        let names = produced.get(task_id)?;
        names.iter().any(|n| n == file).then(|| self.dir.join(task_id).join(file))
    }

    async fn finish(&self, task_id: &str, leave_code: u64) {
        let Some(task) = self.live().remove(task_id) else { return };
        let stopped_ms = self.now_ms().max(task.started_ms);
        let dir = self.dir.join(task_id);
        let (spec, started_ms, speed) = (task.spec.clone(), task.started_ms, self.speed);
        let lines = task.lines;
        let rendered =
            tokio::task::spawn_blocking(move || render(&dir, &spec, &lines, started_ms, stopped_ms, speed)).await;
        let spec = &task.spec;
        let files = match rendered {
            Ok(Ok(files)) => files,
            Ok(Err(err)) => {
                tracing::warn!(task_id, error = %err, "a recording could not be written");
                Vec::new()
            }
            Err(err) => {
                tracing::warn!(task_id, error = %err, "rendering a recording stopped abnormally");
                Vec::new()
            }
        };
        self.produced().insert(task_id.to_owned(), files.iter().map(|f| f.file_name.clone()).collect());
        let ms = self.now_ms();
        let status = u64::from(files.is_empty() && spec.record_mode == 2);
        let messages: Vec<Value> = files
            .iter()
            .map(|f| {
                json!({"FileName": f.file_name, "UserId": f.user_id, "TrackType": "audio", "MediaId": "main",
                       "StartTimeStamp": f.start_ms, "EndTimeStamp": f.end_ms})
            })
            .collect();
        let names: Vec<&str> = files.iter().map(|f| f.file_name.as_str()).collect();
        self.outputs.emit(spec.callback(
            310,
            ms,
            json!({"Status": status, "FileList": names, "FileMessage": messages}),
        ));
        match spec.storage {
            Storage::CloudVod => {
                for (index, f) in files.iter().enumerate() {
                    let url = format!("{}/recordings/{}/{}", self.base_url, task_id, f.file_name);
                    let vod = json!({"UserId": f.user_id, "TrackType": "audio", "MediaId": "main",
                                     "FileId": format!("{}{}", ms, index + 1), "VideoUrl": url,
                                     "StartTimeStamp": f.start_ms, "EndTimeStamp": f.end_ms});
                    self.outputs.emit(spec.callback(311, ms, json!({"Status": 0, "TencentVod": vod})));
                }
            }
            Storage::CloudStorage => {
                self.outputs.emit(spec.callback(305, ms, json!({"LeaveCode": 0})));
            }
        }
        self.outputs.emit(spec.callback(302, ms, json!({"LeaveCode": leave_code})));
    }
}

/// Samples mixed at a time when writing a file (one second).
const BLOCK: usize = audio::SAMPLE_RATE as usize;

/// Writes the files of a finished recording; speech that cannot be made stays silent.
///
/// # Errors
/// When the directory or a WAV file cannot be written.
pub fn render(
    dir: &Path,
    spec: &RecordingSpec,
    lines: &[Line],
    started_ms: u64,
    stopped_ms: u64,
    speed: f64,
) -> Result<Vec<Produced>, hound::Error> {
    std::fs::create_dir_all(dir)?;
    let rate = f64::from(audio::SAMPLE_RATE);
    let samples_at = |ms: u64| (ms.saturating_sub(started_ms) as f64 * speed / 1000.0 * rate).round() as usize;
    let span = samples_at(stopped_ms);
    let speech: Vec<Vec<i16>> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            lines.iter().map(|line| scope.spawn(|| audio::synthesize(&line.text, None, line.voice))).collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(Ok(samples)) => samples,
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "a recorded line stays silent");
                    Vec::new()
                }
                Err(_) => Vec::new(),
            })
            .collect()
    });
    let groups: Vec<(String, String, Vec<usize>)> = match spec.record_mode {
        1 => {
            let mut groups: Vec<(String, String, Vec<usize>)> = Vec::new();
            for (index, line) in lines.iter().enumerate() {
                match groups.iter_mut().find(|g| g.1 == line.user_id) {
                    Some(group) => group.2.push(index),
                    None => groups.push((spec.user_file_name(&line.user_id), line.user_id.clone(), vec![index])),
                }
            }
            groups
        }
        _ => vec![(spec.mixed_file_name(), String::new(), (0..lines.len()).collect())],
    };
    let wav = hound::WavSpec {
        channels: 1,
        sample_rate: audio::SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut produced = Vec::new();
    for (file_name, user_id, indices) in groups {
        // (first sample, speech) of each line, written block by block so a long call's
        // silence never sits in memory.
        let placed: Vec<(usize, &[i16])> = indices
            .iter()
            .map(|&index| {
                let said = speech[index].as_slice();
                (samples_at(lines[index].at_ms).saturating_sub(said.len()), said)
            })
            .collect();
        let total = placed.iter().map(|(start, said)| start + said.len()).fold(span, usize::max);
        let mut writer = hound::WavWriter::create(dir.join(&file_name), wav)?;
        let mut block = vec![0i32; BLOCK];
        for from in (0..total).step_by(BLOCK) {
            let to = (from + BLOCK).min(total);
            block.iter_mut().for_each(|s| *s = 0);
            for &(start, said) in &placed {
                let (lo, hi) = (start.max(from), (start + said.len()).min(to));
                for at in lo..hi {
                    block[at - from] += i32::from(said[at - start]);
                }
            }
            for sample in &block[..to - from] {
                writer.write_sample((*sample).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16)?;
            }
        }
        writer.finalize()?;
        let start_ms =
            if user_id.is_empty() { started_ms } else { indices.first().map_or(started_ms, |&i| lines[i].at_ms) };
        produced.push(Produced { file_name, user_id, start_ms, end_ms: stopped_ms });
    }
    Ok(produced)
}

/// `GET /recordings/{task_id}/{file}`: a produced file as `audio/wav`; anything else 404.
pub fn router(recorder: Arc<Recorder>) -> Router {
    Router::new().route("/recordings/{task_id}/{file}", get(serve_file)).with_state(recorder)
}

async fn serve_file(
    State(recorder): State<Arc<Recorder>>,
    UrlPath((task_id, file)): UrlPath<(String, String)>,
) -> Response {
    let Some(path) = recorder.file_path(&task_id, &file) else {
        return (StatusCode::NOT_FOUND, "no such recording file").into_response();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => (StatusCode::OK, [(header::CONTENT_TYPE, "audio/wav")], bytes).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no such recording file").into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn spec(mode: u64, room_id_type: u64) -> RecordingSpec {
        RecordingSpec {
            task_id: "rec_1".into(),
            sdk_app_id: 1_400_123_456,
            room_id: "12345".into(),
            room_id_type,
            recorder_user_id: "recorder".into(),
            record_mode: mode,
            max_idle_secs: 30,
            storage: Storage::CloudVod,
        }
    }

    #[test]
    fn file_names_follow_the_documented_pattern() {
        assert_eq!(spec(2, 1).mixed_file_name(), "1400123456_12345.wav");
        assert_eq!(
            spec(1, 1).user_file_name("1686119"),
            "1400123456_12345__UserId_s_MTY4NjExOQ..__UserId_e_main_audio.wav",
            "the documented example's user id"
        );
        assert_eq!(spec(2, 0).mixed_file_name(), "1400123456_MTIzNDU..wav", "string rooms are Base64 too");
    }
}
