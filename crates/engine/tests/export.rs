//! Exporting a call from a real cache file: a realistic call (TRTC callback JSON normalised
//! with the domain's own constructor, numbered the way the hub's log numbers events, as in
//! `tests/cache.rs`), with supervisors' commands and lock changes, notes, tags, a QA score
//! and recordings, exported and read back — `call.json` as JSON, every CSV through a strict
//! RFC 4180 reader written here. Also: an unknown call, an earlier export, and a disk that
//! fills up half-way (a child process under a file size limit).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use domain::api::Language;
use domain::event::{CallRef, CommandAction, CommandRecord, CommandStage, Event, EventBody, LockChange};
use domain::ids::{RoundId, SdkAppId, Seq, SourceMs, TaskId};
use engine::cache::{Cache, NewNote, QaScore, RecordingFile};
use engine::export::{export_call, ExportError, ExportOptions, MissingReason, SCHEMA, SCHEMA_VERSION};
use serde_json::{json, Value};

const APP: SdkAppId = SdkAppId(1_400_000_000);
const ROBOT: &str = "ai_robot_1";
const CUSTOMER: &str = "customer_1";
/// 2025-11-24T16:00:00.000Z.
const T0: u64 = 1_764_000_000_000;
const TASK: &str = "v2_20251124_5f0c2a9e41b7";
const ROOM: u64 = 8_801;

/// What the customer and the robot say, turn by turn (user, robot).
const LINES: [(&str, &str); 3] = [
    ("你好，我想查一下我的订单", "您好！请提供您的订单号。"),
    (
        "My order number is 12345, and it says \"delivered\" but nothing arrived.",
        "I'm sorry to hear that. Let me check order 12345 for you.",
    ),
    ("我要投诉，转人工！", "好的，正在为您转接人工客服。"),
];
/// A note with a comma, quotes and a line break.
const AWKWARD_NOTE: &str = "客户说 \"没收到\", 需要回访\nSecond line, with \"quotes\"";
/// A note a spreadsheet would run as a formula.
const FORMULA_NOTE: &str = "=HYPERLINK(\"http://evil.invalid\",\"click\")";

fn callback(body: Value) -> Event {
    Event::from_callback(body.to_string().as_bytes(), Some(APP))
        .unwrap_or_else(|e| panic!("fixture {body} should normalise: {e}"))
}

fn ai(event_type: u64, ms: u64, payload: Value) -> Event {
    callback(json!({
        "EventGroupId": 9, "EventType": event_type, "CallbackTs": ms + 40,
        "EventInfo": {"EventMsTs": ms, "TaskId": TASK, "RoomId": ROOM.to_string(), "RoomIdType": 0, "Payload": payload}
    }))
}

/// 903: spoken from `ms - 900` to `ms - 100`, reported at `ms`.
fn sentence(round: &str, ms: u64, user: &str, text: &str) -> Event {
    sentence_spoken(round, ms, ms - 900, user, text)
}

/// 903 reported at `ms`, spoken from `start` for 800 ms.
fn sentence_spoken(round: &str, ms: u64, start: u64, user: &str, text: &str) -> Event {
    ai(903, ms, json!({"UserId": user, "Text": text, "StartTimeMs": start, "EndTimeMs": start + 800, "RoundId": round}))
}

fn recording(event_type: u64, recording: &str, ms: u64, payload: Value) -> Event {
    callback(json!({
        "EventGroupId": 3, "EventType": event_type, "CallbackTs": ms + 70,
        "EventInfo": {"RoomId": ROOM, "EventTs": ms / 1000, "EventMsTs": ms, "UserId": "recorder_1", "TaskId": recording, "Payload": payload}
    }))
}

fn command(ms: u64, id: &str, action: CommandAction, stage: CommandStage, round: &str) -> Event {
    let record = CommandRecord {
        id: id.to_owned(),
        by: "li.na".to_owned(),
        action,
        stage,
        round: Some(RoundId::new(round)),
        summary: (action == CommandAction::Say).then(|| "说：请稍等, 马上为您查询".to_owned()),
        error: (stage == CommandStage::Failed).then(|| "InvalidParameter: the prompt is too long".to_owned()),
    };
    Event::hub_fact(CallRef::task(TaskId::new(TASK)), SourceMs(ms), EventBody::Command(record))
}

fn lock(ms: u64, holder: Option<&str>, change: LockChange) -> Event {
    let body = EventBody::LockChanged { holder: holder.map(str::to_owned), by: "li.na".to_owned(), change };
    Event::hub_fact(CallRef::task(TaskId::new(TASK)), SourceMs(ms), body)
}

/// When turn `i` begins.
fn turn_start(i: usize) -> u64 {
    T0 + 1_000 + i as u64 * 8_000
}

/// The call's events in the order the hub logged them. In turn r1 the customer's 903 comes
/// late — reported (and logged) after the robot's reply, though spoken before it.
fn call_events() -> Vec<Event> {
    let mut events = vec![ai(901, T0, json!({"Status": 0})), ai(909, T0 + 300, json!({"Status": "session_ready"}))];
    events.push(recording(301, "rec-1", T0 + 200, json!({"Status": 0})));
    events.push(recording(301, "rec-2", T0 + 250, json!({"Status": 0})));
    for (i, (user, robot)) in LINES.iter().enumerate() {
        let (round, t) = (format!("r{i}"), turn_start(i));
        let interrupted = i == 2;
        events.push(ai(904, t, json!({"UserId": CUSTOMER, "RoundId": round})));
        let replied = sentence(&round, t + 3_000, ROBOT, robot);
        if i == 1 {
            events.extend([replied, sentence_spoken(&round, t + 3_200, t + 600, CUSTOMER, user)]);
        } else {
            events.extend([sentence(&round, t + 1_500, CUSTOMER, user), replied]);
        }
        if interrupted {
            for (ms, metric, code, message) in [
                (t + 2_500, "llm_error", 30200, "upstream \"gpt-4o\" timed out after 3000 ms"),
                (t + 2_600, "tts_error", 30300, "first frame not received in time"),
            ] {
                events.push(ai(
                    908,
                    ms,
                    json!({"Metric": metric, "Tag": {"RoundId": round, "Code": code, "Message": message}}),
                ));
            }
        }
        for (k, (name, value)) in [
            ("asr_latency", 900.0 + i as f64),
            ("llm_network_latency", 120.0),
            ("llm_first_token", 700.0 + 100.0 * i as f64),
            ("tts_network_latency", 80.0),
            ("tts_first_frame_latency", 400.5),
            ("tts_discontinuity", 0.0),
            ("interruption", if interrupted { 1.0 } else { 0.0 }),
        ]
        .into_iter()
        .enumerate()
        {
            events.push(ai(
                906,
                t + 3_100 + k as u64,
                json!({"Metric": name, "Value": value, "Tag": {"RoundId": round}}),
            ));
        }
        events.push(ai(905, t + 6_000, json!({"UserId": ROBOT, "RoundId": round, "Text": robot})));
    }
    events.extend([
        command(T0 + 5_000, "cmd-say", CommandAction::Say, CommandStage::Requested, "r0"),
        command(T0 + 5_010, "cmd-say", CommandAction::Say, CommandStage::Accepted, "r0"),
        command(T0 + 5_500, "cmd-say", CommandAction::Say, CommandStage::Done, "r0"),
        command(T0 + 10_000, "cmd-steer", CommandAction::Steer, CommandStage::Requested, "r1"),
        command(T0 + 10_020, "cmd-steer", CommandAction::Steer, CommandStage::Failed, "r1"),
        lock(T0 + 19_000, Some("li.na"), LockChange::Taken),
        command(T0 + 19_010, "cmd-take", CommandAction::TakeOver, CommandStage::Requested, "r2"),
        command(T0 + 19_100, "cmd-take", CommandAction::TakeOver, CommandStage::Done, "r2"),
        command(T0 + 24_000, "cmd-back", CommandAction::HandBack, CommandStage::Requested, "r2"),
        command(T0 + 24_050, "cmd-back", CommandAction::HandBack, CommandStage::Done, "r2"),
        lock(T0 + 24_100, None, LockChange::Released),
        ai(902, T0 + 26_000, json!({"LeaveCode": 0})),
        recording(302, "rec-1", T0 + 26_500, json!({"LeaveCode": 0})),
    ]);
    events.into_iter().enumerate().map(|(i, event)| event.with_seq(Seq(i as u64 + 1))).collect()
}

fn task() -> TaskId {
    TaskId::new(TASK)
}

async fn open(path: &Path) -> Cache {
    let opened = Cache::open(path).await.unwrap();
    assert_eq!(opened.moved_aside, None);
    opened.cache
}

/// A real file of `bytes` bytes (not all alike, so a copy that shuffles them shows).
fn write_file(path: &Path, bytes: usize) -> Vec<u8> {
    let content: Vec<u8> = (0..bytes).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, &content).unwrap();
    content
}

/// The call with its review data and recording files: rec-1's main file downloaded and
/// verified (`main_bytes` long), its aux file half downloaded, a third verified but since
/// deleted; nothing of rec-2 downloaded. Answers the main file's content.
async fn seed(cache: &Cache, files: &Path, main_bytes: usize) -> Vec<u8> {
    cache.append(call_events()).await.unwrap();
    let note = |at: u64, round: Option<&str>, text: &str| NewNote {
        task: task(),
        round: round.map(RoundId::new),
        author: "li.na".into(),
        at: SourceMs(at),
        text: text.into(),
    };
    cache.add_note(note(T0 + 30_000, Some("r2"), AWKWARD_NOTE)).await.unwrap();
    cache.add_note(note(T0 + 31_000, None, FORMULA_NOTE)).await.unwrap();
    cache.set_tags(&task(), &["投诉".into(), "follow-up".into()]).await.unwrap();
    let qa = QaScore {
        score: 85,
        reviewer: "zhang.wei".into(),
        comment: Some("Polite, but the LLM was slow in r2".into()),
        at: SourceMs(T0 + 32_000),
    };
    cache.set_qa_score(&task(), qa).await.unwrap();

    let main = files.join("rec-1").join("rec-1_main.mp4");
    let content = write_file(&main, main_bytes);
    let size = content.len() as u64;
    let file = |name: &str, path: PathBuf, expected: u64, downloaded: u64, verified: bool| RecordingFile {
        recording: TaskId::new("rec-1"),
        name: name.into(),
        local_path: path,
        expected_bytes: Some(expected),
        downloaded_bytes: downloaded,
        verified,
    };
    cache.save_recording_file(&file("rec-1_main.mp4", main, size, size, true)).await.unwrap();
    let aux = files.join("rec-1").join("rec-1_aux.mp4");
    write_file(&aux, 1_000);
    cache.save_recording_file(&file("rec-1_aux.mp4", aux, 5_000, 1_000, false)).await.unwrap();
    let gone = files.join("rec-1").join("rec-1_gone.mp4");
    write_file(&gone, 2_000);
    cache.save_recording_file(&file("rec-1_gone.mp4", gone.clone(), 2_000, 2_000, true)).await.unwrap();
    std::fs::remove_file(gone).unwrap();
    content
}

/// Reads RFC 4180 CSV strictly: a BOM first; every record ends with CRLF; a field is either
/// plain (no quote, comma, CR or LF) or wholly quoted with inner quotes doubled; every
/// record as wide as the header. Panics naming the first departure.
fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).expect("CSV is UTF-8");
    let text = text.strip_prefix('\u{feff}').expect("CSV starts with a BOM for Excel");
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut field_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if field_start => {
                loop {
                    match chars.next() {
                        None => panic!("unterminated quoted field {field:?}"),
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(other) => field.push(other),
                    }
                }
                assert!(
                    matches!(chars.peek(), Some(',' | '\r')),
                    "after the closing quote of {field:?} comes {:?}, not a comma or CRLF",
                    chars.peek()
                );
                field_start = false;
            }
            '"' => panic!("a quote inside the unquoted field {field:?}"),
            ',' => {
                record.push(std::mem::take(&mut field));
                field_start = true;
            }
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR outside quotes only as part of CRLF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                field_start = true;
            }
            '\n' => panic!("a bare LF outside quotes after {field:?}"),
            other => {
                field.push(other);
                field_start = false;
            }
        }
    }
    assert!(record.is_empty() && field.is_empty(), "the last record ends with CRLF");
    let width = records.first().expect("a header").len();
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.len(), width, "record {i} is as wide as the header: {record:?}");
    }
    records
}

/// The CSV at `path` as its header and rows keyed by column name.
fn table(path: &Path) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut records = read_csv(&std::fs::read(path).unwrap());
    let header = records.remove(0);
    let rows = records.into_iter().map(|r| header.iter().cloned().zip(r).collect::<HashMap<_, _>>()).collect();
    (header, rows)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(read) => read.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    names.sort();
    names
}

fn options() -> ExportOptions {
    ExportOptions::new(Language::En)
}

#[tokio::test]
async fn a_call_is_exported_whole_as_json_csv_and_its_recording() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir.path().join("cache.sqlite")).await;
    let recorded = seed(&cache, &dir.path().join("recordings"), 3_000).await;
    let dest = dir.path().join("exports");

    let report = export_call(&cache, &task(), &dest, options()).await.unwrap();
    assert_eq!(report.dir, dest.join(TASK), "a lowercase TRTC id is its own folder name");
    assert_eq!(entries(&dest), [TASK], "nothing but the export is left in the destination");
    let written: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        written,
        ["transcript.csv", "turns.csv", "interventions.csv", "notes.csv", "recordings/rec-1_main.mp4", "call.json"]
    );
    for file in &report.files {
        let on_disk = std::fs::metadata(report.dir.join(&file.path)).unwrap().len();
        assert_eq!(on_disk, file.bytes, "{} is as long as reported", file.path);
    }
    assert_eq!((report.sentences, report.turns, report.interventions, report.notes), (6, 3, 6, 2));

    // The recording: copied byte for byte; the others reported, not fatal.
    let copy = report.dir.join("recordings").join("rec-1_main.mp4");
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), recorded.len() as u64, "the copy's size matches");
    assert_eq!(std::fs::read(&copy).unwrap(), recorded);
    assert_eq!(report.recordings.len(), 1);
    assert_eq!(report.recordings[0].bytes, 3_000);
    let missing: Vec<(&str, Option<&str>, &MissingReason)> =
        report.missing_recordings.iter().map(|m| (m.recording.as_str(), m.name.as_deref(), &m.reason)).collect();
    assert_eq!(
        missing,
        [
            (
                "rec-1",
                Some("rec-1_aux.mp4"),
                &MissingReason::Incomplete { downloaded_bytes: 1_000, expected_bytes: Some(5_000) }
            ),
            ("rec-1", Some("rec-1_gone.mp4"), &MissingReason::Gone),
            ("rec-2", None, &MissingReason::NotDownloaded),
        ]
    );

    // call.json
    let doc: Value = serde_json::from_slice(&std::fs::read(report.dir.join("call.json")).unwrap()).unwrap();
    assert_eq!(doc["schema"], SCHEMA);
    assert_eq!(doc["schema_version"], SCHEMA_VERSION);
    assert!(doc["exported_at"]["utc"].as_str().unwrap().ends_with('Z'));
    let call = &doc["call"];
    assert_eq!(call["task_id"], TASK);
    assert_eq!(call["room_id"], ROOM.to_string());
    assert_eq!(call["sdk_app_id"], APP.0);
    assert_eq!((call["status"].as_str(), call["leave_code"].as_u64()), (Some("ended"), Some(0)));
    assert_eq!(call["started"], json!({"ms": T0, "utc": "2025-11-24T16:00:00.000Z"}));
    assert_eq!(call["ended"], json!({"ms": T0 + 26_000, "utc": "2025-11-24T16:00:26.000Z"}));
    assert_eq!(call["duration_ms"], 26_000);
    assert_eq!(
        (call["turns"].as_u64(), call["errors"].as_u64(), call["commands"].as_u64()),
        (Some(3), Some(2), Some(4))
    );
    assert_eq!(call["taken_over"], true);
    assert_eq!(call["taken_over_by"], Value::Null, "handed back");

    // The transcript: final sentences in spoken order, texts exactly as said.
    let transcript = doc["transcript"].as_array().unwrap();
    let spoken: Vec<(u64, &str, &str, &str)> = transcript
        .iter()
        .map(|s| {
            (
                s["index"].as_u64().unwrap(),
                s["round_id"].as_str().unwrap(),
                s["speaker"].as_str().unwrap(),
                s["text"].as_str().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(u64, &str, &str, &str)> = LINES
        .iter()
        .enumerate()
        .flat_map(|(i, (user, robot))| {
            let round = ["r0", "r1", "r2"][i];
            [(2 * i as u64 + 1, round, "user", *user), (2 * i as u64 + 2, round, "robot", *robot)]
        })
        .collect();
    assert_eq!(spoken, expected, "r1's customer sentence was reported after the reply but spoken before it");
    let late = &transcript[2];
    assert_eq!(late["user_id"], CUSTOMER);
    assert_eq!(late["start"]["ms"], turn_start(1) + 600);
    assert_eq!(late["start"]["utc"], "2025-11-24T16:00:09.600Z");
    assert_eq!(late["end"]["ms"], turn_start(1) + 1_400);
    assert_eq!(late["final_at"]["ms"], turn_start(1) + 3_200);
    assert_eq!(transcript[3]["final_at"]["ms"], turn_start(1) + 3_000, "the reply was reported first");

    // Turns with all seven metrics, errors with their code's meaning.
    let turns = doc["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 3);
    for (i, turn) in turns.iter().enumerate() {
        assert_eq!(turn["round_id"], format!("r{i}"));
        assert_eq!(turn["user_text"], LINES[i].0);
        assert_eq!(turn["robot_text"], LINES[i].1);
        let metrics = turn["metrics"].as_object().unwrap();
        assert_eq!(metrics.len(), 7, "the seven documented metrics");
        for (name, metric) in metrics {
            assert!(metric["value"].is_number(), "turn {i}: {name} present: {metric}");
            assert!(metric["reported"]["utc"].is_string());
        }
        assert_eq!(metrics["llm_first_token"]["value"], 700.0 + 100.0 * i as f64);
        assert_eq!(metrics["tts_first_frame_latency"]["value"], 400.5);
    }
    assert_eq!(turns[2]["interrupted"], true);
    assert_eq!(turns[0]["interrupted"], false);
    let error = &turns[2]["errors"][0];
    assert_eq!(error["code"], 30200);
    assert_eq!(error["stage"], "llm");
    assert_eq!(error["meaning"], "llm_timeout");
    assert_eq!(error["meaning_text"], "LLM request timed out");
    assert_eq!(error["message"], "upstream \"gpt-4o\" timed out after 3000 ms");
    assert_eq!(turns[2]["errors"][1]["meaning"], "tts_timeout");
    assert_eq!(turns[2]["errors"].as_array().unwrap().len(), 2);
    assert!(turns[0]["errors"].as_array().unwrap().is_empty());
    assert!(!turns[0]["states"].as_array().unwrap().is_empty(), "states derived from callbacks");

    // Interventions: each command once at its outcome, lock changes, by time.
    let interventions: Vec<(&str, &str, Option<&str>, u64)> = doc["interventions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap(),
                i["action"].as_str().unwrap(),
                i["outcome"].as_str(),
                i["at"]["ms"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        interventions,
        [
            ("command", "say", Some("done"), T0 + 5_000),
            ("command", "steer", Some("failed"), T0 + 10_000),
            ("lock", "taken", None, T0 + 19_000),
            ("command", "take_over", Some("done"), T0 + 19_010),
            ("command", "hand_back", Some("done"), T0 + 24_000),
            ("lock", "released", None, T0 + 24_100),
        ]
    );
    let say = &doc["interventions"][0];
    assert_eq!(say["by"], "li.na");
    assert_eq!(say["outcome_at"]["ms"], T0 + 5_500);
    assert_eq!(say["summary"], "说：请稍等, 马上为您查询");
    assert_eq!(say["steps"].as_array().unwrap().len(), 3);
    assert_eq!(doc["interventions"][1]["error"], "InvalidParameter: the prompt is too long");
    assert_eq!(doc["interventions"][2]["lock_holder"], "li.na");

    // Review data, exactly as stored.
    let notes = doc["notes"].as_array().unwrap();
    assert_eq!(notes[0]["text"], AWKWARD_NOTE);
    assert_eq!(notes[0]["round_id"], "r2");
    assert_eq!(notes[1]["text"], FORMULA_NOTE, "JSON keeps text as it is");
    assert_eq!(doc["tags"], json!(["follow-up", "投诉"]));
    assert_eq!(doc["qa"]["score"], 85);
    assert_eq!(doc["qa"]["reviewer"], "zhang.wei");
    let recordings = doc["recordings"].as_array().unwrap();
    assert_eq!(recordings[0]["recording_id"], "rec-1");
    assert_eq!(recordings[0]["status"], "stopped");
    // rec-1's files by name: aux, gone, main.
    assert_eq!(recordings[0]["files"][0]["missing"]["reason"], "incomplete");
    assert_eq!(recordings[0]["files"][1]["missing"]["reason"], "gone");
    assert_eq!(recordings[0]["files"][2]["exported_as"], "recordings/rec-1_main.mp4");
    assert_eq!(recordings[0]["files"][2]["bytes"], 3_000);
    assert_eq!(recordings[1]["files"][0]["missing"]["reason"], "not_downloaded");

    // Nothing beyond the listed fields: no raw event bodies, no local paths.
    let text = std::fs::read_to_string(report.dir.join("call.json")).unwrap();
    for leaked in ["EventGroupId", "Payload", "CallbackTs", dir.path().to_str().unwrap()] {
        assert!(!text.contains(leaked), "call.json holds no {leaked:?}");
    }

    // transcript.csv
    let (header, rows) = table(&report.dir.join("transcript.csv"));
    assert_eq!(
        header,
        [
            "index",
            "round_id",
            "speaker",
            "user_id",
            "start_utc",
            "start_ms",
            "end_utc",
            "end_ms",
            "final_utc",
            "final_ms",
            "text"
        ]
    );
    let csv_spoken: Vec<(&str, &str)> = rows.iter().map(|r| (r["speaker"].as_str(), r["text"].as_str())).collect();
    let json_spoken: Vec<(&str, &str)> = expected.iter().map(|(_, _, speaker, text)| (*speaker, *text)).collect();
    assert_eq!(csv_spoken, json_spoken, "the CSV has the same sentences in the same order");
    assert_eq!(rows[2]["start_utc"], "2025-11-24T16:00:09.600Z");
    assert_eq!(rows[2]["start_ms"], (turn_start(1) + 600).to_string());
    let raw = String::from_utf8(std::fs::read(report.dir.join("transcript.csv")).unwrap()).unwrap();
    assert!(
        raw.contains("\"My order number is 12345, and it says \"\"delivered\"\" but nothing arrived.\"\r\n"),
        "a sentence with a comma and quotes is quoted, quotes doubled"
    );

    // turns.csv
    let (header, rows) = table(&report.dir.join("turns.csv"));
    for metric in [
        "asr_latency",
        "llm_network_latency",
        "llm_first_token",
        "tts_network_latency",
        "tts_first_frame_latency",
        "tts_discontinuity",
        "interruption",
    ] {
        assert!(header.iter().any(|h| h == metric), "turns.csv has a {metric} column");
        assert!(rows.iter().all(|r| !r[metric].is_empty()), "every turn has {metric}");
    }
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["user_text"], LINES[1].0);
    assert_eq!(rows[0]["llm_first_token"], "700");
    assert_eq!(rows[0]["tts_first_frame_latency"], "400.5");
    assert_eq!(rows[2]["interrupted"], "true");
    assert_eq!(rows[2]["errors"], "2");
    assert_eq!(
        rows[2]["error_details"],
        "30200 LLM request timed out (llm): upstream \"gpt-4o\" timed out after 3000 ms\n\
         30300 TTS request timed out (tts): first frame not received in time",
        "a field with quotes and a line break (and no comma) reads back intact"
    );
    assert_eq!(rows[0]["first_utc"], "2025-11-24T16:00:01.000Z");

    // interventions.csv
    let (_, rows) = table(&report.dir.join("interventions.csv"));
    let csv_interventions: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| (r["kind"].as_str(), r["action"].as_str(), r["outcome"].as_str(), r["by"].as_str()))
        .collect();
    assert_eq!(
        csv_interventions,
        [
            ("command", "say", "done", "li.na"),
            ("command", "steer", "failed", "li.na"),
            ("lock", "taken", "", "li.na"),
            ("command", "take_over", "done", "li.na"),
            ("command", "hand_back", "done", "li.na"),
            ("lock", "released", "", "li.na"),
        ]
    );
    assert_eq!(rows[0]["summary"], "说：请稍等, 马上为您查询");
    assert_eq!(rows[0]["outcome_ms"], (T0 + 5_500).to_string());

    // notes.csv: the awkward note survives quoting; the formula is defused.
    let (header, rows) = table(&report.dir.join("notes.csv"));
    assert_eq!(header, ["id", "author", "at_utc", "at_ms", "round_id", "text"]);
    assert_eq!(rows[0]["text"], AWKWARD_NOTE, "comma, quotes and line break read back intact");
    assert_eq!(rows[0]["round_id"], "r2");
    assert_eq!(rows[0]["at_utc"], "2025-11-24T16:00:30.000Z");
    assert_eq!(rows[1]["text"], format!("'{FORMULA_NOTE}"), "a spreadsheet shows it as text");
    let raw = String::from_utf8(std::fs::read(report.dir.join("notes.csv")).unwrap()).unwrap();
    assert!(raw.contains("\"客户说 \"\"没收到\"\", 需要回访\nSecond line, with \"\"quotes\"\"\"\r\n"), "{raw}");
}

#[tokio::test]
async fn an_unknown_call_is_an_error_naming_it_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir.path().join("cache.sqlite")).await;
    seed(&cache, &dir.path().join("recordings"), 100).await;
    let stranger = TaskId::new("v2_20251124_nosuchcall");

    let dest = dir.path().join("exports");
    let error = export_call(&cache, &stranger, &dest, options()).await.unwrap_err();
    assert!(matches!(&error, ExportError::UnknownCall { task } if *task == stranger), "{error:?}");
    assert_eq!(error.task(), &stranger);
    assert!(error.to_string().contains("v2_20251124_nosuchcall"), "the message names the call: {error}");
    assert!(!dest.exists(), "not even the destination folder was created");

    std::fs::create_dir(&dest).unwrap();
    export_call(&cache, &stranger, &dest, options()).await.unwrap_err();
    assert!(entries(&dest).is_empty(), "an existing destination stays empty");
}

#[tokio::test]
async fn an_earlier_export_is_kept_unless_replacing_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir.path().join("cache.sqlite")).await;
    seed(&cache, &dir.path().join("recordings"), 500).await;
    let dest = dir.path().join("exports");
    let first = export_call(&cache, &task(), &dest, options()).await.unwrap();
    let marker = first.dir.join("my-own-notes.txt");
    std::fs::write(&marker, "kept").unwrap();

    let error = export_call(&cache, &task(), &dest, options()).await.unwrap_err();
    assert!(matches!(&error, ExportError::AlreadyExists { path, .. } if *path == first.dir), "{error:?}");
    assert!(error.to_string().contains(TASK), "{error}");
    assert!(marker.exists(), "the earlier export is untouched");
    assert_eq!(entries(&dest), [TASK], "no half-written folder beside it");

    let replacing = ExportOptions { replace_existing: true, copy_recordings: false, ..options() };
    let second = export_call(&cache, &task(), &dest, replacing).await.unwrap();
    assert_eq!(second.dir, first.dir);
    assert!(!marker.exists(), "the earlier export was replaced, not merged into");
    assert!(!second.dir.join("recordings").exists(), "recordings were not asked for");
    assert!(second.missing_recordings.iter().all(|m| m.reason == MissingReason::NotRequested));
    assert_eq!(second.missing_recordings.len(), 4, "every recording file is accounted for");
    assert_eq!(entries(&dest), [TASK], "neither the staging nor the replaced folder is left");
    let doc: Value = serde_json::from_slice(&std::fs::read(second.dir.join("call.json")).unwrap()).unwrap();
    assert_eq!(doc["recordings"][0]["files"][0]["missing"]["reason"], "not_requested");
}

#[tokio::test]
async fn error_meanings_follow_the_chosen_language() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir.path().join("cache.sqlite")).await;
    seed(&cache, &dir.path().join("recordings"), 10).await;
    let report =
        export_call(&cache, &task(), &dir.path().join("exports"), ExportOptions::new(Language::ZhCn)).await.unwrap();
    let doc: Value = serde_json::from_slice(&std::fs::read(report.dir.join("call.json")).unwrap()).unwrap();
    assert_eq!(doc["turns"][2]["errors"][0]["meaning_text"], "大模型请求超时");
    assert_eq!(doc["turns"][2]["errors"][0]["meaning"], "llm_timeout", "the stable key does not change");
}

/// Where the child process of the full-disk test finds its cache.
#[cfg(unix)]
const FULL_DISK_DIR: &str = "ENGINE_EXPORT_FULL_DISK_DIR";

/// A disk that fills up while the recording is copied: the export fails naming the file,
/// and neither the finished folder nor the staging folder is left. The limit is real — the
/// export runs in a child process (this test binary again) under `ulimit -f`, so writes
/// past 1 MiB fail with EFBIG as on a full disk.
#[cfg(unix)]
#[tokio::test]
async fn a_disk_filling_up_mid_export_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir.path().join("cache.sqlite")).await;
    seed(&cache, &dir.path().join("recordings"), 8 << 20).await;
    cache.close().await;

    let exe = std::env::current_exe().unwrap();
    // 2048 blocks: 1 MiB where the shell counts 512-byte blocks, 2 MiB where 1024.
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 2048 && exec \"$0\" \"$@\"")
        .arg(exe)
        .args(["--exact", "full_disk_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(FULL_DISK_DIR, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the child's export behaved:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the child test ran:\n{stdout}");
    assert!(entries(&dir.path().join("exports")).is_empty(), "nothing left in the destination");
}

/// Run by `a_disk_filling_up_mid_export_leaves_nothing_half_written`, under a file size limit.
#[cfg(unix)]
#[tokio::test]
#[ignore = "run as a child process by a_disk_filling_up_mid_export_leaves_nothing_half_written"]
async fn full_disk_child() {
    let dir = PathBuf::from(std::env::var(FULL_DISK_DIR).expect("started by the full-disk test"));
    let cache = open(&dir.join("cache.sqlite")).await;
    let dest = dir.join("exports");
    let error = export_call(&cache, &task(), &dest, options()).await.unwrap_err();
    match &error {
        ExportError::Full { task: failed, path } => {
            assert_eq!(*failed, task());
            assert_eq!(*path, dest.join(TASK).join("recordings").join("rec-1_main.mp4"), "names the file");
        }
        other => panic!("expected a full disk, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains(TASK) && message.contains("rec-1_main.mp4"), "{message}");
    assert!(entries(&dest).is_empty(), "no staging folder, no partial export: {:?}", entries(&dest));
    println!("full-disk export failed as expected: {message}");
}
