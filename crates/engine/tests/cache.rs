//! The console cache on real SQLite files: exactly-once appends, atomic batches, reopening,
//! Chinese and English search, damaged files, retention, alerts, review data and a full
//! disk. Events are built by normalising TRTC callback JSON with the domain's own
//! constructors, and numbered the way the hub's log numbers them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use domain::board::{Board, RecordingStatus};
use domain::call::CallStatus;
use domain::event::{
    CallRef, CommandAction, CommandRecord, CommandStage, Event, EventBody, LeaveCode, LockChange, Speaker,
};
use domain::ids::{RoomId, RoundId, SdkAppId, Seq, SourceMs, TaskId, UserId};
use engine::cache::fts::{highlights, HIGHLIGHT_END, HIGHLIGHT_START};
use engine::cache::{
    AuditRecord, Cache, CacheError, CallQuery, FiredQuery, InterventionKind, NewFiredAlert, NewNote, QaScore,
    RecordingFile, SearchFilter, StatusFilter, StoredAlertRule,
};
use serde_json::{json, Value};
use sqlx::Connection;

const APP: SdkAppId = SdkAppId(1_400_000_000);
const ROBOT: &str = "ai_robot_1";
const CUSTOMER: &str = "customer_1";
const T0: u64 = 1_764_000_000_000;

fn callback(body: Value) -> Event {
    Event::from_callback(body.to_string().as_bytes(), Some(APP))
        .unwrap_or_else(|e| panic!("fixture {body} should normalise: {e}"))
}

/// One AI call's callbacks, as TRTC sends them.
#[derive(Debug, Clone)]
struct TestCall {
    task: String,
    room: u64,
}

impl TestCall {
    fn new(task: &str, room: u64) -> TestCall {
        TestCall { task: task.to_owned(), room }
    }

    fn id(&self) -> TaskId {
        TaskId::new(&self.task)
    }

    fn ai(&self, event_type: u64, ms: u64, payload: Value) -> Event {
        callback(json!({
            "EventGroupId": 9, "EventType": event_type, "CallbackTs": ms + 40,
            "EventInfo": {"EventMsTs": ms, "TaskId": self.task, "RoomId": self.room.to_string(), "RoomIdType": 0, "Payload": payload}
        }))
    }

    fn started(&self, ms: u64) -> Event {
        self.ai(901, ms, json!({"Status": 0}))
    }

    fn start_failed(&self, ms: u64) -> Event {
        self.ai(901, ms, json!({"Status": 1}))
    }

    fn stopped(&self, ms: u64, leave_code: u32) -> Event {
        self.ai(902, ms, json!({"LeaveCode": leave_code}))
    }

    fn sentence(&self, round: &str, ms: u64, user: &str, text: &str) -> Event {
        self.ai(
            903,
            ms,
            json!({"UserId": user, "Text": text, "StartTimeMs": ms - 900, "EndTimeMs": ms - 100, "RoundId": round}),
        )
    }

    fn failure(&self, round: &str, ms: u64, code: i64) -> Event {
        self.ai(
            908,
            ms,
            json!({"Metric": "llm_error", "Tag": {"RoundId": round, "Code": code, "Message": "llm timeout"}}),
        )
    }

    /// 904, the user's and the robot's 903, the seven 906 metrics, 905 — within 6 s of `t`.
    fn turn(&self, round: &str, t: u64, user: &str, robot: &str, llm_first_token: f64) -> Vec<Event> {
        let mut events = vec![
            self.ai(904, t, json!({"UserId": CUSTOMER, "RoundId": round})),
            self.sentence(round, t + 1_500, CUSTOMER, user),
            self.sentence(round, t + 3_000, ROBOT, robot),
        ];
        for (i, (name, value)) in [
            ("asr_latency", 900.0),
            ("llm_network_latency", 120.0),
            ("llm_first_token", llm_first_token),
            ("tts_network_latency", 80.0),
            ("tts_first_frame_latency", 400.0),
            ("tts_discontinuity", 0.0),
            ("interruption", 0.0),
        ]
        .into_iter()
        .enumerate()
        {
            events.push(self.ai(
                906,
                t + 3_100 + i as u64,
                json!({"Metric": name, "Value": value, "Tag": {"RoundId": round}}),
            ));
        }
        events.push(self.ai(905, t + 6_000, json!({"UserId": ROBOT, "RoundId": round, "Text": robot})));
        events
    }

    /// A whole call: started at `t`, one turn per (user, robot) pair, stopped with `leave`
    /// (or left live with `None`).
    fn whole(&self, t: u64, lines: &[(&str, &str)], leave: Option<u32>) -> Vec<Event> {
        let mut events = vec![self.started(t)];
        for (i, (user, robot)) in lines.iter().enumerate() {
            events.extend(self.turn(&format!("r{i}"), t + 1_000 + i as u64 * 8_000, user, robot, 700.0));
        }
        if let Some(code) = leave {
            events.push(self.stopped(t + 2_000 + lines.len() as u64 * 8_000, code));
        }
        events
    }

    fn command(&self, ms: u64, id: &str, action: CommandAction, stage: CommandStage) -> Event {
        let record = CommandRecord {
            id: id.to_owned(),
            by: "li.na".to_owned(),
            action,
            stage,
            round: Some(RoundId::new("r0")),
            summary: Some("说：请稍等".to_owned()),
            error: None,
        };
        Event::hub_fact(CallRef::task(self.id()), SourceMs(ms), EventBody::Command(record))
    }

    fn lock(&self, ms: u64, holder: Option<&str>, change: LockChange) -> Event {
        let body = EventBody::LockChanged { holder: holder.map(str::to_owned), by: "li.na".to_owned(), change };
        Event::hub_fact(CallRef::task(self.id()), SourceMs(ms), body)
    }

    fn room_event(&self, group: u64, event_type: u64, ms: u64, extra: Value) -> Event {
        let mut info = json!({"RoomId": self.room, "EventTs": ms / 1000, "EventMsTs": ms});
        info.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        callback(json!({"EventGroupId": group, "EventType": event_type, "CallbackTs": ms + 90, "EventInfo": info}))
    }

    fn recording(&self, event_type: u64, recording: &str, ms: u64, payload: Value) -> Event {
        callback(json!({
            "EventGroupId": 3, "EventType": event_type, "CallbackTs": ms + 70,
            "EventInfo": {"RoomId": self.room, "EventTs": ms / 1000, "EventMsTs": ms, "UserId": "recorder_1", "TaskId": recording, "Payload": payload}
        }))
    }
}

/// Numbers events the way the hub's log does: 1, 2, 3… in the order given.
#[derive(Debug, Default)]
struct Log {
    last: u64,
}

impl Log {
    fn number(&mut self, events: Vec<Event>) -> Vec<Event> {
        events
            .into_iter()
            .map(|event| {
                self.last += 1;
                event.with_seq(Seq(self.last))
            })
            .collect()
    }
}

async fn open(dir: &Path) -> Cache {
    let opened = Cache::open(dir.join("cache.sqlite")).await.unwrap();
    assert_eq!(opened.moved_aside, None, "a sound file is never moved aside");
    opened.cache
}

/// Runs `sql` on a connection of the test's own (for checks the cache's API does not offer).
async fn raw_scalar(path: &Path, sql: &str) -> i64 {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let value: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    value
}

#[tokio::test]
async fn a_re_delivered_batch_is_stored_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let call = TestCall::new("task-1", 101);
    let mut log = Log::default();
    let events = log.number(call.whole(T0, &[("我要投诉", "好的"), ("找经理", "请稍等")], Some(0)));
    let n = events.len();

    let first = cache.append(events.clone()).await.unwrap();
    assert_eq!((first.stored, first.skipped, first.cursor), (n, 0, Seq(n as u64)));
    assert_eq!(cache.cursor().await.unwrap(), Seq(n as u64), "the stored cursor covers the batch");
    let again = cache.append(events.clone()).await.unwrap();
    assert_eq!((again.stored, again.skipped, again.cursor), (0, n, Seq(n as u64)), "a re-delivery stores nothing");

    // An overlapping batch: the known part is skipped, the new part stored.
    let mut overlap = events[n - 3..].to_vec();
    overlap.extend(log.number(vec![call.command(T0 + 30_000, "cmd-1", CommandAction::Say, CommandStage::Done)]));
    let partly = cache.append(overlap).await.unwrap();
    assert_eq!((partly.stored, partly.skipped, partly.cursor), (1, 3, Seq(n as u64 + 1)));

    assert_eq!(cache.events_of(&call.id()).await.unwrap().len(), n + 1, "every event stored once");
    let summary = cache.call_summary(&call.id()).await.unwrap().unwrap();
    assert_eq!(summary.counts.turns, 2);
    assert_eq!(summary.counts.user_sentences, 2);
    assert_eq!(summary.interventions, 1);
    assert_eq!(cache.turns(&call.id()).await.unwrap().len(), 2);
    assert_eq!(cache.search("投诉", 10).await.unwrap().len(), 1, "one sentence, one hit");
    assert_eq!(cache.interventions(&call.id()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_batch_with_a_bad_event_fails_whole_and_leaves_the_cursor_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let call = TestCall::new("task-atomic", 102);
    let mut log = Log::default();
    let first = log.number(call.whole(T0, &[("查订单", "好的")], None));
    cache.append(first.clone()).await.unwrap();
    let cursor = cache.cursor().await.unwrap();

    // A good event, then one the hub could never have sent (no sequence number).
    let mut bad = log.number(call.turn("r1", T0 + 20_000, "我要人工客服", "正在为您转接", 900.0));
    let missing_at = bad.len();
    bad.push(call.stopped(T0 + 40_000, 0));
    let error = cache.append(bad.clone()).await.unwrap_err();
    assert_eq!(error, CacheError::MissingSeq { index: missing_at });
    assert_eq!(cache.cursor().await.unwrap(), cursor, "the cursor did not move");
    assert_eq!(cache.events_of(&call.id()).await.unwrap().len(), first.len(), "no event of the batch was kept");
    assert_eq!(cache.turns(&call.id()).await.unwrap().len(), 1, "no derived row of the batch was kept");
    assert!(cache.search("人工", 10).await.unwrap().is_empty(), "no sentence of the batch was indexed");

    // Out of order within a batch is refused the same way.
    let mut shuffled = bad[..missing_at].to_vec();
    shuffled.swap(0, 2);
    assert!(matches!(cache.append(shuffled).await, Err(CacheError::OutOfOrder { index: 1, .. })));
    assert_eq!(cache.cursor().await.unwrap(), cursor);

    // The good part, sent again, is stored once and folded onto what was there.
    let good = bad[..missing_at].to_vec();
    let stored = cache.append(good).await.unwrap();
    assert_eq!(stored.stored, missing_at);
    let summary = cache.call_summary(&call.id()).await.unwrap().unwrap();
    assert_eq!((summary.counts.turns, summary.counts.user_sentences), (2, 2));
    let hits = cache.search("人工", 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].round, RoundId::new("r1"));
}

#[tokio::test]
async fn one_callers_bad_batch_does_not_fail_the_appends_coalesced_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let calls: Vec<TestCall> = (0..8).map(|i| TestCall::new(&format!("task-c{i}"), 200 + i)).collect();
    let mut log = Log::default();
    let mut batches: Vec<Vec<Event>> =
        calls.iter().map(|c| log.number(c.whole(T0, &[("你好", "您好")], Some(0)))).collect();
    // The fourth batch carries an event without a sequence number.
    batches[3].push(calls[3].stopped(T0 + 99_000, 0));

    // Queued back to back, so the writer coalesces them.
    let answers = futures_util::future::join_all(batches.into_iter().map(|batch| cache.append(batch))).await;
    for (i, answer) in answers.iter().enumerate() {
        if i == 3 {
            assert!(matches!(answer, Err(CacheError::MissingSeq { .. })), "batch 3 fails alone: {answer:?}");
        } else {
            assert!(answer.as_ref().is_ok_and(|a| a.stored > 0), "batch {i} is stored: {answer:?}");
        }
    }
    for (i, call) in calls.iter().enumerate() {
        assert_eq!(cache.call_summary(&call.id()).await.unwrap().is_some(), i != 3, "call {i}");
    }
    assert_eq!(cache.cursor().await.unwrap(), Seq(log.last), "the last good batch moved the cursor to its end");
}

#[tokio::test]
async fn reopening_restores_the_cursor_and_folds_on_from_the_stored_events() {
    let dir = tempfile::tempdir().unwrap();
    let call = TestCall::new("task-reopen", 103);
    let mut log = Log::default();
    {
        let cache = open(dir.path()).await;
        let mut events = vec![call.started(T0)];
        events.extend(call.turn("r0", T0 + 1_000, "我想退款", "好的，请提供订单号", 800.0));
        cache.append(log.number(events)).await.unwrap();
        cache.close().await;
    }
    let cache = open(dir.path()).await;
    assert_eq!(cache.cursor().await.unwrap(), Seq(log.last), "the cursor survives a restart");
    let mut more = call.turn("r1", T0 + 10_000, "订单号是 A-1234", "查到了，已经为您退款", 3_200.0);
    more.push(call.stopped(T0 + 30_000, 0));
    cache.append(log.number(more)).await.unwrap();

    let summary = cache.call_summary(&call.id()).await.unwrap().unwrap();
    assert_eq!(summary.status, CallStatus::Ended { leave_code: LeaveCode::StoppedByApi });
    assert_eq!((summary.counts.turns, summary.counts.robot_sentences), (2, 2), "both sessions' turns are folded");
    assert_eq!(cache.search("退款", 10).await.unwrap().len(), 2, "sentences from before and after the restart");
    // Offline re-fold of the stored events gives the same call.
    let events = cache.events_of(&call.id()).await.unwrap();
    let mut refold = domain::call::Call::new(call.id());
    events.iter().for_each(|event| refold.apply(event));
    assert_eq!(refold.counts(), summary.counts);
    assert!(cache.size_bytes().unwrap() > 0);
}

#[tokio::test]
async fn chinese_and_english_search_find_sentences_with_highlighted_snippets() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let zh = TestCall::new("task-zh", 104);
    let en = TestCall::new("task-en", 105);
    let mut log = Log::default();
    let mut events = zh.whole(
        T0,
        &[
            ("我要投诉你们的服务，太慢了", "非常抱歉给您带来不便"),
            ("转人工", "好的，正在为您转接人工客服"),
            ("我已经，理解了", "感谢您的理解"),
        ],
        Some(0),
    );
    events.extend(en.whole(
        T0 + 100_000,
        &[("I want to speak to a human agent", "Sure, connecting you now."), ("Was my order refunded?", "Yes.")],
        Some(0),
    ));
    cache.append(log.number(events)).await.unwrap();

    let hits = cache.search("投诉", 10).await.unwrap();
    assert_eq!(hits.len(), 1, "a 2-character Chinese query matches: {hits:?}");
    let hit = &hits[0];
    assert_eq!((hit.task.clone(), hit.round.clone(), hit.speaker), (zh.id(), RoundId::new("r0"), Some(Speaker::User)));
    assert_eq!(hit.user, UserId::new(CUSTOMER));
    assert_eq!(hit.at, SourceMs(T0 + 1_000 + 1_500), "the sentence's source time");
    assert_eq!(hit.call_started_ms, SourceMs(T0));
    assert!(hit.snippet.contains(&format!("{HIGHLIGHT_START}投诉{HIGHLIGHT_END}")), "{}", hit.snippet);
    assert!(!hit.snippet.contains('\u{1F}') && !hit.snippet.contains('\u{F8FF}'), "no index characters shown");
    assert_eq!(highlights(&hit.snippet).iter().filter(|(hit, _)| *hit).count(), 1);

    let people: Vec<Option<Speaker>> = cache.search("人工", 10).await.unwrap().iter().map(|h| h.speaker).collect();
    assert_eq!(people.len(), 2, "the customer's and the robot's sentence");
    assert!(people.contains(&Some(Speaker::User)) && people.contains(&Some(Speaker::Robot)));

    let managers = cache.search("经理", 10).await.unwrap();
    assert!(managers.is_empty(), "经理 does not match across the comma in 已经，理解: {managers:?}");
    assert_eq!(cache.search("理解", 10).await.unwrap().len(), 2);

    let refunds = cache.search("refund", 10).await.unwrap();
    assert_eq!(refunds.len(), 1, "an English word matches as a prefix");
    assert!(
        refunds[0].snippet.contains(&format!("{HIGHLIGHT_START}refunded{HIGHLIGHT_END}")),
        "{}",
        refunds[0].snippet
    );
    let agents = cache.search("HUMAN agent", 10).await.unwrap();
    assert_eq!(agents.len(), 1, "case does not matter and every term must match");
    assert_eq!(agents[0].task, en.id());
    assert!(cache.search("human 投诉", 10).await.unwrap().is_empty(), "no sentence has both");
    assert!(cache.search(" ，！ ", 10).await.unwrap().is_empty(), "punctuation alone finds nothing");
    assert!(cache.search("\"投诉\" OR NEAR(", 10).await.is_ok(), "FTS5 syntax in a query is never an error");

    let page = cache.calls(&CallQuery { text: Some("人工".into()), ..CallQuery::default() }).await.unwrap();
    let tasks: Vec<TaskId> = page.calls.iter().map(|c| c.task.clone()).collect();
    assert_eq!(tasks, vec![zh.id()], "the history's text filter uses the same search");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_moved_aside_and_the_cache_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.sqlite");
    let garbage = b"this is not an SQLite database, just some bytes someone left here\n".repeat(200);
    std::fs::write(&path, &garbage).unwrap();
    std::fs::write(dir.path().join("cache.sqlite-wal"), b"stale wal").unwrap();

    let opened = Cache::open(&path).await.unwrap();
    let moved = opened.moved_aside.expect("the garbage file is moved aside");
    assert!(moved.path.file_name().unwrap().to_str().unwrap().starts_with("cache.sqlite.corrupt-"), "{moved:?}");
    assert_eq!(std::fs::read(&moved.path).unwrap(), garbage, "the damaged file is kept as it was");
    assert_eq!(
        std::fs::read(PathBuf::from(format!("{}-wal", moved.path.display()))).unwrap(),
        b"stale wal",
        "its WAL moved with it"
    );
    assert!(!moved.reason.is_empty());

    let cache = opened.cache;
    assert_eq!(cache.cursor().await.unwrap(), Seq(0), "a fresh cache: subscribe from seq 0");
    let call = TestCall::new("task-fresh", 106);
    cache.append(Log::default().number(call.whole(T0, &[("你好", "您好")], Some(0)))).await.unwrap();
    assert!(cache.call_summary(&call.id()).await.unwrap().is_some());
}

#[tokio::test]
async fn a_truncated_file_fails_the_integrity_check_and_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.sqlite");
    {
        let cache = open(dir.path()).await;
        let mut log = Log::default();
        for i in 0..40 {
            let call = TestCall::new(&format!("task-t{i}"), 300 + i);
            let lines =
                [("我想查询一下我的订单什么时候能到，已经等了很久了", "好的，请您提供一下订单号，我马上为您查询。"); 4];
            cache.append(log.number(call.whole(T0 + i * 60_000, &lines, Some(0)))).await.unwrap();
        }
        cache.close().await;
    }
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 64 * 1024, "enough pages to cut through ({size} bytes)");
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(size / 2).unwrap();

    let opened = Cache::open(&path).await.unwrap();
    let moved = opened.moved_aside.expect("a truncated file is moved aside");
    assert_eq!(std::fs::metadata(&moved.path).unwrap().len(), size / 2);
    assert!(moved.reason.contains("malformed") || moved.reason.starts_with("integrity check"), "{}", moved.reason);
    assert_eq!(opened.cache.cursor().await.unwrap(), Seq(0));
    assert!(opened.cache.calls(&CallQuery::default()).await.unwrap().calls.is_empty(), "rebuilt from nothing");
}

#[tokio::test]
async fn a_cache_from_a_newer_version_is_moved_aside_rather_than_misread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.sqlite");
    open(dir.path()).await.close().await;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', 1, x'00', 1)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let opened = Cache::open(&path).await.unwrap();
    let moved = opened.moved_aside.expect("a schema this build does not know is moved aside");
    assert!(moved.reason.contains("schema"), "{}", moved.reason);
    assert!(moved.path.exists());
    assert_eq!(opened.cache.cursor().await.unwrap(), Seq(0));
}

#[tokio::test]
async fn retention_deletes_old_finished_calls_only_and_keeps_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let mut log = Log::default();
    let day = 86_400_000;
    // Thirty old finished calls (enough for several small transactions), one old call that
    // never ended, one recent finished call.
    let old: Vec<TestCall> = (0..30).map(|i| TestCall::new(&format!("task-old{i}"), 400 + i)).collect();
    for (i, call) in old.iter().enumerate() {
        let mut events = vec![call.room_event(1, 103, T0 - 500, json!({"UserId": CUSTOMER, "Role": 20}))];
        events.extend(call.whole(T0 + i as u64 * 1_000, &[("旧的投诉记录", "好的"), ("再见", "再见")], Some(0)));
        cache.append(log.number(events)).await.unwrap();
    }
    let live_old = TestCall::new("task-live", 500);
    cache.append(log.number(live_old.whole(T0, &[("我还在线", "好的")], None))).await.unwrap();
    let recent = TestCall::new("task-recent", 501);
    cache.append(log.number(recent.whole(T0 + 10 * day, &[("新的投诉", "好的")], Some(0)))).await.unwrap();

    // Review data and a recording on the first old call.
    let first = old[0].clone();
    cache.add_note(note(&first, "回访过")).await.unwrap();
    cache.set_tags(&first.id(), &["complaint".into()]).await.unwrap();
    cache.set_qa_score(&first.id(), qa(60)).await.unwrap();
    cache.record_fired_alert(fired(&first, "keyword")).await.unwrap();
    let recording = vec![
        first.recording(301, "rec-old", T0 + 100, json!({"Status": 0})),
        first.recording(302, "rec-old", T0 + 20_000, json!({"LeaveCode": 0})),
    ];
    cache.append(log.number(recording)).await.unwrap();
    let local = dir.path().join("rec-old.mp4");
    cache
        .save_recording_file(&RecordingFile {
            recording: TaskId::new("rec-old"),
            name: "rec-old.mp4".into(),
            local_path: local.clone(),
            expected_bytes: Some(10),
            downloaded_bytes: 10,
            verified: true,
        })
        .await
        .unwrap();

    let audit = |id: i64, at_ms: u64| AuditRecord {
        id,
        at_ms,
        user: "li.na".into(),
        role: "lead".into(),
        task_id: Some(first.task.clone()),
        round_id: None,
        action: "room_ticket".into(),
        outcome: "issued".into(),
        detail: None,
    };
    cache.store_audit(vec![audit(1, T0), audit(2, T0 + 10 * day)]).await.unwrap();

    let purged = cache.purge_finished_before(SourceMs(T0 + 5 * day)).await.unwrap();
    assert_eq!(purged.calls, 30, "{purged:?}");
    assert_eq!(purged.audit_entries, 1, "old audit entries go too");
    assert_eq!(purged.recordings, 1);
    assert_eq!(purged.local_files, vec![local], "the recordings module is told which files to delete");
    assert!(purged.events > 30 * 20, "the calls' and their rooms' events went: {purged:?}");
    assert!(purged.steps >= 7, "the calls took more than one transaction: {purged:?}");

    for call in &old {
        assert_eq!(cache.call_summary(&call.id()).await.unwrap(), None, "{} was purged", call.task);
        assert!(cache.events_of(&call.id()).await.unwrap().is_empty());
    }
    assert!(cache.notes(&first.id()).await.unwrap().is_empty());
    assert!(cache.tags(&first.id()).await.unwrap().is_empty());
    assert_eq!(cache.qa_score(&first.id()).await.unwrap(), None);
    assert!(cache.fired_alerts(&FiredQuery::default()).await.unwrap().is_empty());
    assert!(cache.recording(&TaskId::new("rec-old")).await.unwrap().is_none());
    assert!(cache.search("旧的", 10).await.unwrap().is_empty());

    let live = cache.call_summary(&live_old.id()).await.unwrap().expect("a live call is kept however old");
    assert!(live.live);
    assert!(cache.call_summary(&recent.id()).await.unwrap().is_some(), "a recent call is kept");
    assert_eq!(cache.search("投诉", 10).await.unwrap().len(), 1, "the recent call's sentence is still found");
    assert_eq!(cache.audit_entries(None, None, 10).await.unwrap(), vec![audit(2, T0 + 10 * day)]);

    // By age on the system clock: everything finished is older than a second by now.
    let by_age = cache.purge_older_than(Duration::from_secs(1)).await.unwrap();
    assert_eq!(by_age.calls, 1, "the recent call, finished long before this test ran");
    assert!(cache.call_summary(&live_old.id()).await.unwrap().is_some(), "the live call stays");

    cache.close().await;
    let path = dir.path().join("cache.sqlite");
    let orphans = raw_scalar(
        &path,
        "SELECT count(*) FROM events WHERE task_id LIKE 'task-old%' OR room_id BETWEEN '400' AND '429'",
    )
    .await;
    assert_eq!(orphans, 0, "no event of a purged call or room is left");
    let indexed =
        raw_scalar(&path, "SELECT count(*) FROM sentences_fts WHERE sentences_fts MATCH '\"旧\u{1F}的\"'").await;
    assert_eq!(indexed, 0, "the search index forgot the purged sentences");
    assert_eq!(
        raw_scalar(&path, "SELECT count(*) FROM (SELECT 1 FROM pragma_integrity_check WHERE integrity_check != 'ok')")
            .await,
        0
    );
}

fn note(call: &TestCall, text: &str) -> NewNote {
    NewNote { task: call.id(), round: None, author: "li.na".into(), at: SourceMs(T0 + 99_000), text: text.into() }
}

fn qa(score: u8) -> QaScore {
    QaScore { score, reviewer: "wang.wei".into(), comment: Some("语气好".into()), at: SourceMs(T0 + 99_000) }
}

fn fired(call: &TestCall, rule: &str) -> NewFiredAlert {
    NewFiredAlert {
        task: call.id(),
        rule_id: rule.into(),
        fired: SourceMs(T0 + 5_000),
        detail: json!({"keyword": "投诉"}),
    }
}

#[tokio::test]
async fn a_fired_alert_is_recorded_once_per_call_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let (a, b) = (TestCall::new("task-a", 600), TestCall::new("task-b", 601));
    let mut log = Log::default();
    cache.append(log.number(a.whole(T0, &[("投诉", "好的")], None))).await.unwrap();
    cache.append(log.number(b.whole(T0 + 1_000, &[("你好", "您好")], None))).await.unwrap();

    assert!(cache.record_fired_alert(fired(&a, "keyword")).await.unwrap(), "first time: new");
    assert!(!cache.record_fired_alert(fired(&a, "keyword")).await.unwrap(), "same call and rule: not new");
    assert!(cache.record_fired_alert(fired(&a, "slow-llm")).await.unwrap(), "another rule: new");
    assert!(cache.record_fired_alert(fired(&b, "keyword")).await.unwrap(), "another call: new");
    assert!(matches!(cache.record_fired_alert(fired(&b, "  ")).await, Err(CacheError::BadInput { .. })));
    // A storm in one transaction: new or not, in order; a bad id refuses the whole batch.
    let batch = vec![fired(&a, "keyword"), fired(&b, "slow-llm"), fired(&b, "slow-llm")];
    assert_eq!(cache.record_fired_alerts(batch).await.unwrap(), [false, true, false]);
    let bad = vec![fired(&a, "storm"), fired(&b, "\u{7}")];
    assert!(matches!(cache.record_fired_alerts(bad).await, Err(CacheError::BadInput { .. })));
    assert_eq!(cache.record_fired_alerts(vec![]).await.unwrap(), Vec::<bool>::new());

    let all = cache.fired_alerts(&FiredQuery::default()).await.unwrap();
    assert_eq!(all.len(), 4, "the refused batch stored nothing");
    assert_eq!(all[0].detail, json!({"keyword": "投诉"}));
    let of_a = cache.fired_alerts(&FiredQuery { task: Some(a.id()), ..FiredQuery::default() }).await.unwrap();
    assert_eq!(of_a.len(), 2);

    let id = of_a[0].id;
    assert!(cache.acknowledge_alert(id, "li.na", SourceMs(T0 + 9_000)).await.unwrap());
    assert!(!cache.acknowledge_alert(id, "wang.wei", SourceMs(T0 + 9_500)).await.unwrap(), "the first one stands");
    let open_ones =
        cache.fired_alerts(&FiredQuery { unacknowledged_only: true, ..FiredQuery::default() }).await.unwrap();
    assert_eq!(open_ones.len(), 3);
    let acked = cache.fired_alerts(&FiredQuery { task: Some(a.id()), ..FiredQuery::default() }).await.unwrap();
    let acked = acked.iter().find(|alert| alert.id == id).unwrap();
    assert_eq!(acked.acknowledged.as_ref().map(|ack| ack.by.as_str()), Some("li.na"));

    let with_alerts = cache.calls(&CallQuery { has_alert: Some(true), ..CallQuery::default() }).await.unwrap();
    assert_eq!(with_alerts.calls.len(), 2);
    assert_eq!(cache.call_summary(&a.id()).await.unwrap().unwrap().alerts, 2);
}

#[tokio::test]
async fn a_full_disk_fails_the_write_with_a_named_cause_and_keeps_what_was_stored() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let (kept, refused) = (TestCall::new("task-kept", 700), TestCall::new("task-refused", 701));
    let mut log = Log::default();
    cache.append(log.number(kept.whole(T0, &[("我要投诉", "好的")], Some(0)))).await.unwrap();
    let cursor = cache.cursor().await.unwrap();

    cache.set_size_limit(Some(0)).await.unwrap();
    let long = "请帮我查询一下订单的物流信息，我已经等了很久了，".repeat(40);
    let lines: Vec<(&str, &str)> = (0..30).map(|_| (long.as_str(), long.as_str())).collect();
    let batch = log.number(refused.whole(T0 + 60_000, &lines, Some(0)));
    let error = cache.append(batch.clone()).await.unwrap_err();
    assert!(matches!(error, CacheError::Full { .. }), "{error:?}");
    assert!(error.to_string().contains("full"), "the message names the cause: {error}");
    // Other writes meet the same limit (a few may still fit in pages SQLite had freed).
    let big_note = "请帮我查询一下订单的物流信息。".repeat(600);
    let mut notes_refused = false;
    for _ in 0..50 {
        match cache.add_note(note(&kept, &big_note)).await {
            Ok(_) => continue,
            Err(error) => {
                assert!(matches!(error, CacheError::Full { .. }), "{error:?}");
                notes_refused = true;
                break;
            }
        }
    }
    assert!(notes_refused, "50 notes of 9,000 characters do not fit");

    assert_eq!(cache.cursor().await.unwrap(), cursor, "the cursor is where it was");
    assert!(cache.call_summary(&refused.id()).await.unwrap().is_none(), "nothing of the refused batch");
    let summary = cache.call_summary(&kept.id()).await.unwrap().unwrap();
    assert_eq!(summary.counts.turns, 1, "what was stored is intact");
    assert_eq!(cache.search("投诉", 10).await.unwrap().len(), 1);

    // With room again, the same batch goes in whole.
    cache.set_size_limit(None).await.unwrap();
    let stored = cache.append(batch).await.unwrap();
    assert_eq!(stored.cursor, Seq(log.last));
    assert_eq!(cache.call_summary(&refused.id()).await.unwrap().unwrap().counts.turns, 30);
}

#[tokio::test]
async fn the_history_lists_newest_first_with_filters_and_stable_pages() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let mut log = Log::default();
    let plain = TestCall::new("task-plain", 800);
    let erred = TestCall::new("task-error", 801);
    let taken = TestCall::new("task-taken", 802);
    let abnormal = TestCall::new("task-abnormal", 803);
    let failed = TestCall::new("task-failed", 804);
    let live = TestCall::new("task-live", 805);
    cache.append(log.number(plain.whole(T0, &[("你好", "您好")], Some(0)))).await.unwrap();
    let mut events = erred.whole(T0 + 1_000, &[("你好", "您好")], None);
    events.push(erred.failure("r0", T0 + 5_000, 30200));
    events.push(erred.stopped(T0 + 20_000, 0));
    cache.append(log.number(events)).await.unwrap();
    let mut events = taken.whole(T0 + 2_000, &[("转人工", "好的")], None);
    events.push(taken.command(T0 + 9_000, "cmd-t", CommandAction::TakeOver, CommandStage::Requested));
    events.push(taken.command(T0 + 9_001, "cmd-t", CommandAction::TakeOver, CommandStage::Done));
    events.push(taken.lock(T0 + 9_001, Some("li.na"), LockChange::Taken));
    events.push(taken.command(T0 + 15_000, "cmd-h", CommandAction::HandBack, CommandStage::Done));
    events.push(taken.stopped(T0 + 20_000, 0));
    cache.append(log.number(events)).await.unwrap();
    cache.append(log.number(abnormal.whole(T0 + 3_000, &[("你好", "您好")], Some(98)))).await.unwrap();
    cache.append(log.number(vec![failed.start_failed(T0 + 4_000)])).await.unwrap();
    cache.append(log.number(live.whole(T0 + 5_000, &[("你好", "您好")], None))).await.unwrap();
    cache.set_tags(&plain.id(), &["好评".into(), " vip ".into(), "vip".into()]).await.unwrap();

    let tasks = |page: &engine::cache::CallPage| page.calls.iter().map(|c| c.task.to_string()).collect::<Vec<_>>();
    let all = cache.calls(&CallQuery::default()).await.unwrap();
    assert_eq!(
        tasks(&all),
        ["task-live", "task-failed", "task-abnormal", "task-taken", "task-error", "task-plain"],
        "newest first"
    );
    assert_eq!(all.next, None);

    let filter = |query: CallQuery| {
        let cache = cache.clone();
        async move { tasks(&cache.calls(&query).await.unwrap()) }
    };
    assert_eq!(filter(CallQuery { status: Some(StatusFilter::Live), ..Default::default() }).await, ["task-live"]);
    assert_eq!(
        filter(CallQuery { status: Some(StatusFilter::EndedAbnormally), ..Default::default() }).await,
        ["task-abnormal"]
    );
    assert_eq!(
        filter(CallQuery { status: Some(StatusFilter::StartFailed), ..Default::default() }).await,
        ["task-failed"]
    );
    assert_eq!(filter(CallQuery { status: Some(StatusFilter::Ended), ..Default::default() }).await.len(), 4);
    assert_eq!(filter(CallQuery { has_error: Some(true), ..Default::default() }).await, ["task-error"]);
    assert_eq!(filter(CallQuery { taken_over: Some(true), ..Default::default() }).await, ["task-taken"]);
    assert_eq!(filter(CallQuery { tag: Some("vip".into()), ..Default::default() }).await, ["task-plain"]);
    assert_eq!(
        filter(CallQuery {
            started_from: Some(SourceMs(T0 + 1_000)),
            started_before: Some(SourceMs(T0 + 3_000)),
            ..Default::default()
        })
        .await,
        ["task-taken", "task-error"]
    );

    // Pages of two, with a call arriving in between: nothing repeats, nothing is skipped.
    let mut query = CallQuery { limit: 2, ..CallQuery::default() };
    let mut seen = Vec::new();
    for page_number in 0..10 {
        let page = cache.calls(&query).await.unwrap();
        seen.extend(tasks(&page));
        if page_number == 0 {
            let newer = TestCall::new("task-newer", 806);
            cache.append(log.number(newer.whole(T0 + 50_000, &[("你好", "您好")], None))).await.unwrap();
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, tasks(&all), "the pages add up to the list as it was");

    let summary = cache.call_summary(&taken.id()).await.unwrap().unwrap();
    assert!(summary.taken_over, "a take-over was done, even though the call was handed back");
    assert_eq!(summary.interventions, 2, "two commands, each counted once");
    let plain_summary = cache.call_summary(&plain.id()).await.unwrap().unwrap();
    assert_eq!(plain_summary.tags, ["vip", "好评"], "trimmed, de-duplicated, sorted");
    assert_eq!(
        cache.call_summary(&abnormal.id()).await.unwrap().unwrap().status,
        CallStatus::Ended { leave_code: LeaveCode::InternalError }
    );
}

#[tokio::test]
async fn turns_carry_the_seven_metrics_and_interventions_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let call = TestCall::new("task-metrics", 900);
    let mut log = Log::default();
    let mut events = vec![call.started(T0)];
    events.extend(call.turn("r0", T0 + 1_000, "我要投诉", "抱歉", 2_400.0));
    events.push(call.failure("r0", T0 + 4_000, 30200));
    events.push(call.command(T0 + 5_000, "cmd-1", CommandAction::Say, CommandStage::Requested));
    events.push(call.command(T0 + 5_200, "cmd-1", CommandAction::Say, CommandStage::Done));
    events.push(call.lock(T0 + 5_100, Some("li.na"), LockChange::Taken));
    cache.append(log.number(events)).await.unwrap();

    let turns = cache.turns(&call.id()).await.unwrap();
    assert_eq!(turns.len(), 1);
    let turn = &turns[0];
    assert_eq!(turn.metrics.llm_first_token, Some(2_400.0));
    assert_eq!(turn.metrics.asr_latency, Some(900.0));
    assert_eq!(turn.metrics.tts_first_frame_latency, Some(400.0));
    assert_eq!((turn.metrics.tts_discontinuity, turn.metrics.interruption), (Some(0.0), Some(0.0)));
    assert_eq!(turn.user_text.as_deref(), Some("我要投诉"));
    assert!(turn.user_final && turn.robot_final && !turn.interrupted);
    assert_eq!(turn.errors, 1);
    assert_eq!(turn.finished_ms, Some(SourceMs(T0 + 7_000)));

    let steps = cache.interventions(&call.id()).await.unwrap();
    let kinds: Vec<String> = steps
        .iter()
        .map(|step| match &step.kind {
            InterventionKind::Command { action, stage, .. } => format!("{}:{stage:?}", action.as_str()),
            InterventionKind::Lock { change, holder } => {
                format!("lock:{change:?}:{}", holder.as_deref().unwrap_or("-"))
            }
        })
        .collect();
    assert_eq!(kinds, ["say:Requested", "lock:Taken:li.na", "say:Done"], "by source time");
    assert_eq!(steps[0].actor, "li.na");
    assert_eq!(steps[0].round, Some(RoundId::new("r0")));
}

#[tokio::test]
async fn room_events_reach_the_call_through_its_room() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let call = TestCall::new("task-room", 12345);
    let mut log = Log::default();
    // The customer enters before the AI task exists; a recorder runs in the room.
    let mut events = vec![
        call.room_event(
            1,
            103,
            T0 - 2_000,
            json!({"UserId": CUSTOMER, "Role": 20, "TerminalType": 2, "UserType": 3, "Reason": 1}),
        ),
        call.recording(301, "rec-1", T0 - 1_000, json!({"Status": 0})),
    ];
    events.extend(call.whole(T0, &[("你好", "您好")], None));
    // A room message that did not know the task: it goes to the live call in its room.
    let state =
        br#"{"type":10001,"sender":"ai_robot_1","receiver":[],"payload":{"roundid":"r0","timestamp":1,"state":2}}"#;
    let room_only = CallRef { sdk_app_id: Some(APP), room: Some(RoomId::numeric(12345)), task: None };
    events.push(Event::from_room_message(state, room_only, SourceMs(T0 + 2_000)).unwrap());
    events.push(call.recording(
        311,
        "rec-1",
        T0 + 30_000,
        json!({"Status": 0, "Errmsg": "", "TencentVod": {"UserId": CUSTOMER, "TrackType": "audio", "MediaId": "main", "FileId": "528", "VideoUrl": "https://vod.invalid/f.mp4", "CacheFile": "f.mp4", "StartTimeStamp": 1, "EndTimeStamp": 2}}),
    ));
    cache.append(log.number(events.clone())).await.unwrap();

    let stored = cache.events_of(&call.id()).await.unwrap();
    assert_eq!(stored.len(), events.len(), "the call's own, its room's and the task-less room message");
    let mut board = Board::new();
    stored.iter().for_each(|event| {
        board.apply(event);
    });
    let participants: Vec<String> = board.participants(&call.id()).iter().map(|p| p.user().to_string()).collect();
    assert_eq!(participants, [CUSTOMER], "who entered before the task started is part of the call's room");

    let recordings = cache.recordings_of(&call.id()).await.unwrap();
    assert_eq!(recordings.len(), 1);
    let recording = &recordings[0];
    assert_eq!(recording.recording, TaskId::new("rec-1"));
    assert_eq!(recording.status, RecordingStatus::Recording);
    assert_eq!(recording.vod_files.len(), 1);
    assert_eq!(recording.vod_files[0].video_url.as_deref(), Some("https://vod.invalid/f.mp4"));
    assert!(recording.stored("f.mp4"), "named by the last part of its URL, as the hub serves it");
    assert!(!recording.stored("g.mp4") && !recording.stored("vod.invalid"), "only the file TRTC stored");
    assert_eq!((recording.first_ms, recording.last_ms), (SourceMs(T0 - 1_000), SourceMs(T0 + 30_000)));

    // A 302 later updates the same row.
    cache.append(log.number(vec![call.recording(302, "rec-1", T0 + 40_000, json!({"LeaveCode": 0}))])).await.unwrap();
    let recording = cache.recording(&TaskId::new("rec-1")).await.unwrap().unwrap();
    assert!(matches!(recording.status, RecordingStatus::Stopped { .. }), "{:?}", recording.status);
}

#[tokio::test]
async fn review_data_needs_a_known_call_and_valid_input() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let call = TestCall::new("task-review", 950);
    let stranger = TestCall::new("task-unknown", 951);
    cache.append(Log::default().number(call.whole(T0, &[("你好", "您好")], Some(0)))).await.unwrap();

    assert_eq!(cache.add_note(note(&stranger, "hi")).await, Err(CacheError::UnknownCall { task: stranger.id() }));
    assert!(matches!(cache.add_note(note(&call, "   ")).await, Err(CacheError::BadInput { .. })));
    let added = cache.add_note(note(&call, "  客户很满意 ")).await.unwrap();
    assert_eq!(added.text, "客户很满意");
    assert_eq!(cache.notes(&call.id()).await.unwrap(), vec![added]);

    assert!(matches!(cache.set_tags(&call.id(), &["".into()]).await, Err(CacheError::BadInput { .. })));
    assert_eq!(
        cache.set_tags(&stranger.id(), &["x".into()]).await,
        Err(CacheError::UnknownCall { task: stranger.id() })
    );
    cache.set_tags(&call.id(), &["投诉".into(), "vip".into()]).await.unwrap();
    cache.set_tags(&call.id(), &["vip".into()]).await.unwrap();
    assert_eq!(cache.tags(&call.id()).await.unwrap(), ["vip"], "tags are replaced, not added");
    assert_eq!(cache.all_tags().await.unwrap().len(), 1);

    assert!(matches!(cache.set_qa_score(&call.id(), qa(101)).await, Err(CacheError::BadInput { .. })));
    cache.set_qa_score(&call.id(), qa(80)).await.unwrap();
    cache.set_qa_score(&call.id(), qa(90)).await.unwrap();
    assert_eq!(cache.qa_score(&call.id()).await.unwrap(), Some(qa(90)));
    assert_eq!(cache.call_summary(&call.id()).await.unwrap().unwrap().qa_score, Some(90));
}

#[tokio::test]
async fn audit_entries_from_the_hub_are_stored_once_and_listed_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let entry = |id: i64, task: Option<&str>, action: &str| AuditRecord {
        id,
        at_ms: T0 + id as u64,
        user: "li.na".into(),
        role: "supervisor".into(),
        task_id: task.map(str::to_owned),
        round_id: Some("r1".into()),
        action: action.into(),
        outcome: "denied".into(),
        detail: Some("the call is locked by wang.wei".into()),
    };
    let page = vec![entry(1, Some("task-x"), "say"), entry(2, None, "login"), entry(3, Some("task-x"), "stop")];
    assert_eq!(cache.store_audit(page.clone()).await.unwrap(), 3);
    assert_eq!(cache.store_audit(page.clone()).await.unwrap(), 0, "fetched again: nothing new");
    let of_call = cache.audit_entries(Some(&TaskId::new("task-x")), None, 10).await.unwrap();
    assert_eq!(of_call, vec![page[2].clone(), page[0].clone()]);
    let older = cache.audit_entries(None, Some(3), 1).await.unwrap();
    assert_eq!(older, vec![page[1].clone()], "paged by the hub's id");
}

#[tokio::test]
async fn alert_rules_are_kept_as_json_in_the_order_saved() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let rule = |id: &str, enabled: bool, rule: Value| StoredAlertRule { id: id.into(), enabled, rule };
    cache.save_alert_rule(rule("slow-llm", true, json!({"kind": "slow_llm", "ms": 2000, "of": [3, 5]}))).await.unwrap();
    cache.save_alert_rule(rule("keyword", true, json!({"kind": "keyword", "words": ["投诉", "人工"]}))).await.unwrap();
    cache.save_alert_rule(rule("slow-llm", false, json!({"kind": "slow_llm", "ms": 3000}))).await.unwrap();
    let rules = cache.alert_rules().await.unwrap();
    assert_eq!(
        rules.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["slow-llm", "keyword"],
        "an update keeps its place"
    );
    assert_eq!(rules[0], rule("slow-llm", false, json!({"kind": "slow_llm", "ms": 3000})));
    assert!(cache.delete_alert_rule("keyword").await.unwrap());
    assert!(!cache.delete_alert_rule("keyword").await.unwrap());

    let duplicate = vec![rule("a", true, json!(1)), rule("a", true, json!(2))];
    assert!(matches!(cache.replace_alert_rules(duplicate).await, Err(CacheError::BadInput { .. })));
    cache.replace_alert_rules(vec![rule("b", true, json!({})), rule("a", false, json!([]))]).await.unwrap();
    let ids: Vec<String> = cache.alert_rules().await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["b", "a"]);
}

#[tokio::test]
async fn recording_files_keep_their_sizes_for_resuming_and_verifying() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let call = TestCall::new("task-rec", 960);
    let events = vec![call.started(T0), call.recording(301, "rec-9", T0 + 10, json!({"Status": 0}))];
    cache.append(Log::default().number(events)).await.unwrap();
    let mut file = RecordingFile {
        recording: TaskId::new("rec-9"),
        name: "rec-9.mp4".into(),
        local_path: dir.path().join("recordings").join("rec-9.mp4"),
        expected_bytes: Some(1_000),
        downloaded_bytes: 400,
        verified: false,
    };
    cache.save_recording_file(&file).await.unwrap();
    assert_eq!(cache.recording_files(&file.recording).await.unwrap(), vec![file.clone()]);

    let mut early = file.clone();
    early.verified = true;
    assert!(matches!(cache.save_recording_file(&early).await, Err(CacheError::BadInput { .. })), "not complete");
    let mut over = file.clone();
    over.downloaded_bytes = 1_001;
    assert!(matches!(cache.save_recording_file(&over).await, Err(CacheError::BadInput { .. })));

    file.downloaded_bytes = 1_000;
    file.verified = true;
    cache.save_recording_file(&file).await.unwrap();
    let recordings = cache.recordings_of(&call.id()).await.unwrap();
    assert_eq!(recordings[0].local_files, vec![file.clone()]);
    assert!(cache.forget_recording_file(&file.recording, &file.name).await.unwrap());
    assert!(cache.recording_files(&file.recording).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_closed_cache_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let clone = cache.clone();
    cache.close().await;
    let call = TestCall::new("task-closed", 970);
    let error = clone.append(Log::default().number(vec![call.started(T0)])).await.unwrap_err();
    assert!(matches!(error, CacheError::Closed { .. }), "{error:?}");
    tokio::time::timeout(Duration::from_secs(5), clone.close()).await.expect("closing twice returns");
}

#[tokio::test]
async fn search_filters_narrow_by_time_tag_errors_slow_turns_and_interventions() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let quiet = TestCall::new("task-quiet", 201);
    let busy = TestCall::new("task-busy", 202);
    let mut log = Log::default();
    let mut events = quiet.whole(T0, &[("我要退款", "好的")], Some(0));
    // The busy call: later, a slow turn, a pipeline error, a supervisor's command.
    events.push(busy.started(T0 + 100_000));
    events.push(busy.ai(904, T0 + 101_000, json!({"UserId": CUSTOMER, "RoundId": "r0"})));
    events.push(busy.sentence("r0", T0 + 102_000, CUSTOMER, "我要退款，太慢了"));
    events.push(busy.ai(
        906,
        T0 + 103_000,
        json!({"Metric": "llm_first_token", "Value": 2600.0, "Tag": {"RoundId": "r0"}}),
    ));
    events.push(busy.failure("r0", T0 + 103_500, 30200));
    events.push(busy.command(T0 + 104_000, "cmd-1", CommandAction::Say, CommandStage::Done));
    events.push(busy.stopped(T0 + 110_000, 0));
    cache.append(log.number(events)).await.unwrap();
    cache.set_tags(&busy.id(), &["退款".to_owned()]).await.unwrap();

    let tasks = |hits: Vec<engine::cache::SearchHit>| hits.into_iter().map(|hit| hit.task).collect::<Vec<_>>();
    let all = SearchFilter::default();
    assert_eq!(tasks(cache.search_with("退款", &all, 10).await.unwrap()), vec![busy.id(), quiet.id()]);
    let later = SearchFilter { started_from: Some(SourceMs(T0 + 50_000)), ..SearchFilter::default() };
    assert_eq!(tasks(cache.search_with("退款", &later, 10).await.unwrap()), vec![busy.id()]);
    let earlier = SearchFilter { started_before: Some(SourceMs(T0 + 50_000)), ..SearchFilter::default() };
    assert_eq!(tasks(cache.search_with("退款", &earlier, 10).await.unwrap()), vec![quiet.id()]);
    let tagged = SearchFilter { tag: Some("退款".into()), ..SearchFilter::default() };
    assert_eq!(tasks(cache.search_with("退款", &tagged, 10).await.unwrap()), vec![busy.id()]);
    let failing = SearchFilter { has_error: Some(true), ..SearchFilter::default() };
    assert_eq!(tasks(cache.search_with("退款", &failing, 10).await.unwrap()), vec![busy.id()]);
    let clean = SearchFilter { has_error: Some(false), ..SearchFilter::default() };
    assert_eq!(tasks(cache.search_with("退款", &clean, 10).await.unwrap()), vec![quiet.id()]);
    let slow = SearchFilter { slow_turn_ms: Some(2_000.0), ..SearchFilter::default() };
    assert_eq!(tasks(cache.search_with("退款", &slow, 10).await.unwrap()), vec![busy.id()]);
    let stepped_in = SearchFilter { intervened: Some(true), ..SearchFilter::default() };
    assert_eq!(tasks(cache.search_with("退款", &stepped_in, 10).await.unwrap()), vec![busy.id()]);
    let left_alone = SearchFilter { intervened: Some(false), ..SearchFilter::default() };
    assert_eq!(tasks(cache.search_with("退款", &left_alone, 10).await.unwrap()), vec![quiet.id()]);
}

#[tokio::test]
async fn a_selective_filter_walks_past_newer_hits_it_rejects_and_answers_the_older_ones_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path()).await;
    let tagged = TestCall::new("task-tagged", 203);
    let noisy = TestCall::new("task-noisy", 204);
    let mut log = Log::default();
    // Three matching turns in the tagged call, then 150 newer ones in an untagged call:
    // newest first, the walk meets 300 sentences the tag filter rejects before any it keeps.
    let mut events = tagged.whole(T0, &[("退款一", "好"), ("退款二", "好"), ("退款三", "好")], Some(0));
    let noise: Vec<(String, String)> = (0..150).map(|i| (format!("退款 {i}"), "退款好的".to_owned())).collect();
    let noise: Vec<(&str, &str)> = noise.iter().map(|(u, r)| (u.as_str(), r.as_str())).collect();
    events.extend(noisy.whole(T0 + 100_000, &noise, Some(0)));
    cache.append(log.number(events)).await.unwrap();
    cache.set_tags(&tagged.id(), &["vip".to_owned()]).await.unwrap();

    let filter = SearchFilter { tag: Some("vip".into()), ..SearchFilter::default() };
    let hits = cache.search_with("退款", &filter, 2).await.unwrap();
    let found: Vec<(TaskId, u64)> = hits.iter().map(|hit| (hit.task.clone(), hit.at.0)).collect();
    assert_eq!(
        found,
        // The customer's sentences of its turns 2 and 1 (its robot said 好, no match).
        vec![(tagged.id(), T0 + 18_500), (tagged.id(), T0 + 10_500)],
        "the tagged call's two newest hits, past every newer hit of the untagged call"
    );
    let unfiltered = cache.search("退款", 200).await.unwrap();
    assert_eq!(unfiltered.len(), 200);
    assert!(
        unfiltered.windows(2).all(|pair| pair[0].at >= pair[1].at),
        "without a filter too, every hit is as new as the next or newer"
    );
}

/// Copies migrations `0001` and `0002` into `dir`: a cache as the release before sentences
/// were keyed by time made it.
fn migrations_before_0003(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let target = dir.join("migrations-0002");
    std::fs::create_dir_all(&target).unwrap();
    for name in ["0001_cache.sql", "0002_review_sync.sql"] {
        std::fs::copy(source.join(name), target.join(name)).unwrap();
    }
    target
}

#[tokio::test]
async fn a_cache_from_before_sentences_were_keyed_by_time_is_re_keyed_with_its_index_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.sqlite");
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        let old = sqlx::migrate::Migrator::new(migrations_before_0003(dir.path())).await.unwrap();
        old.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO calls (task_id, status, abnormal_end, live, started_ms, last_ms, turns, user_sentences, \
             robot_sentences, interrupted_turns, errors, interventions, taken_over, last_seq) \
             VALUES ('task-old', 'ended', 0, 0, 1000, 9000, 3, 3, 0, 0, 0, 0, 0, 9)",
        )
        .execute(&pool)
        .await
        .unwrap();
        // Stored in arrival order: ids 1, 2, 3 say nothing of time.
        for (round, at, body) in
            [("r0", 5_000, "refund late"), ("r1", 2_000, "refund early"), ("r2", 5_000, "refund same")]
        {
            sqlx::query(
                "INSERT INTO sentences (task_id, round_id, user_id, speaker, at_ms, body) \
                 VALUES ('task-old', ?1, 'customer_1', 'user', ?2, ?3)",
            )
            .bind(round)
            .bind(at)
            .bind(body)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }
    let cache = open(dir.path()).await;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let ids: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, round_id FROM sentences ORDER BY id").fetch_all(&mut conn).await.unwrap();
    assert_eq!(
        ids,
        vec![(2_000 << 20, "r1".to_owned()), (5_000 << 20, "r0".to_owned()), ((5_000 << 20) + 1, "r2".to_owned())],
        "each id is the source time × 2^20 plus its place in that millisecond"
    );
    sqlx::query("INSERT INTO sentences_fts (sentences_fts) VALUES ('integrity-check')")
        .execute(&mut conn)
        .await
        .expect("the rebuilt index matches the re-keyed sentences");
    conn.close().await.unwrap();
    let hits = cache.search("refund", 10).await.unwrap();
    let rounds: Vec<&str> = hits.iter().map(|hit| hit.round.as_str()).collect();
    assert_eq!(rounds, ["r2", "r0", "r1"], "newest first by source time");
    assert_eq!(hits[2].snippet, "\u{E000}refund\u{E001} early", "snippets come from the rebuilt index");
}
