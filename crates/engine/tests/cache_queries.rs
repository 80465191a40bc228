//! One `#[sqlx::test]` per query of the console cache (`engine::cache`): each test names the
//! statement it exercises and checks what that statement alone decides — its filters,
//! ordering, conflict handling, triggers and cascades.
//!
//! The cache's queries are private to its modules and its API cannot be handed a pool: a
//! `Cache` opens its own writer connection and read pool on a file. So each test takes the
//! connect options of the fresh database `#[sqlx::test]` creates and migrates with the
//! cache's own `migrations/` (which also proves a file migrated by sqlx's migrator is one
//! `Cache::open` accepts as its own), opens the real cache on that file, and drives the
//! query through the public API; a connection of the test's own to the same file checks
//! what the API does not show. sqlx deletes the file after a passing test. (sqlx creates the
//! file without the incremental auto-vacuum the cache's own files have; `cache_on` converts
//! it first, so retention runs on the layout it runs on in the app.)
//!
//! What deliberately does not live here: stories across several queries (crash safety,
//! damaged files, a full disk, coalesced appends) — those are in `tests/cache.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use domain::board::RecordingStatus;
use domain::call::CallStatus;
use domain::event::{CallRef, CommandAction, CommandRecord, CommandStage, Event, EventBody, LeaveCode, LockChange};
use domain::ids::{RoomId, RoundId, SdkAppId, Seq, SourceMs, TaskId};
use engine::cache::{
    AuditRecord, Cache, CacheError, CallQuery, FiredQuery, InterventionKind, NewFiredAlert, NewNote, PageCursor,
    QaScore, RecordingFile, StatusFilter, StoredAlertRule,
};
use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection, SqliteConnection};

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

    fn stopped(&self, ms: u64, leave_code: u32) -> Event {
        self.ai(902, ms, json!({"LeaveCode": leave_code}))
    }

    fn sentence(&self, round: &str, ms: u64, user: &str, text: &str) -> Event {
        self.ai(903, ms, json!({"UserId": user, "Text": text, "RoundId": round}))
    }

    fn metric(&self, round: &str, ms: u64, name: &str, value: f64) -> Event {
        self.ai(906, ms, json!({"Metric": name, "Value": value, "Tag": {"RoundId": round}}))
    }

    fn failure(&self, round: &str, ms: u64) -> Event {
        self.ai(
            908,
            ms,
            json!({"Metric": "llm_error", "Tag": {"RoundId": round, "Code": 500, "Message": "llm timeout"}}),
        )
    }

    /// 904, the customer's and the robot's final sentences, 905: within 4 s of `t`.
    fn turn(&self, round: &str, t: u64, user: &str, robot: &str) -> Vec<Event> {
        vec![
            self.ai(904, t, json!({"UserId": CUSTOMER, "RoundId": round})),
            self.sentence(round, t + 1_000, CUSTOMER, user),
            self.sentence(round, t + 2_000, ROBOT, robot),
            self.ai(905, t + 3_000, json!({"UserId": ROBOT, "RoundId": round, "Text": robot})),
        ]
    }

    /// Started at `t`, one turn per (customer, robot) pair 8 s apart, stopped with `leave`.
    fn whole(&self, t: u64, lines: &[(&str, &str)], leave: Option<u32>) -> Vec<Event> {
        let mut events = vec![self.started(t)];
        for (i, (user, robot)) in lines.iter().enumerate() {
            events.extend(self.turn(&format!("r{i}"), t + 1_000 + i as u64 * 8_000, user, robot));
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

    fn room_event(&self, event_type: u64, ms: u64, user: &str) -> Event {
        callback(json!({
            "EventGroupId": 1, "EventType": event_type, "CallbackTs": ms + 90,
            "EventInfo": {"RoomId": self.room, "EventTs": ms / 1000, "EventMsTs": ms, "UserId": user, "Role": 20, "TerminalType": 2, "UserType": 3, "Reason": 1}
        }))
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

/// The real cache on the database `#[sqlx::test]` made and migrated for this test.
///
/// sqlx creates the file without incremental auto-vacuum, which the cache sets before its
/// first table (and retention relies on); `VACUUM` after setting it gives the file the
/// layout of one the cache created itself.
async fn cache_on(opts: &SqliteConnectOptions) -> Cache {
    let mut conn = inspect(opts).await;
    if scalar(&mut conn, "PRAGMA auto_vacuum").await != 2 {
        sqlx::query("PRAGMA auto_vacuum = INCREMENTAL").execute(&mut conn).await.unwrap();
        sqlx::query("VACUUM").execute(&mut conn).await.unwrap();
        assert_eq!(scalar(&mut conn, "PRAGMA auto_vacuum").await, 2, "incremental auto-vacuum, as the cache's own");
    }
    conn.close().await.unwrap();
    let opened = Cache::open(opts.get_filename()).await.expect("the cache opens the database sqlx migrated");
    assert_eq!(opened.moved_aside, None, "a file migrated with the cache's migrations is the cache's own");
    opened.cache
}

/// Closes the cache and removes its `-wal`/`-shm`: sqlx's clean-up after a passing test
/// deletes only the database file, and the cache's read-only readers may finish closing
/// after `close` answers, leaving the WAL behind. (A failing test never gets here, so its
/// files stay for inspection.)
async fn finish(cache: Cache, opts: &SqliteConnectOptions) {
    cache.close().await;
    for suffix in ["-wal", "-shm"] {
        let mut path = opts.get_filename().as_os_str().to_owned();
        path.push(suffix);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("cannot remove {}: {e}", PathBuf::from(path).display()),
        }
    }
}

/// A connection of the test's own to the same file.
async fn inspect(opts: &SqliteConnectOptions) -> SqliteConnection {
    opts.clone().connect().await.expect("the test's own connection opens")
}

async fn scalar(conn: &mut SqliteConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&mut *conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A row of `events`, as the test reads it.
#[derive(Debug, sqlx::FromRow)]
struct EventRow {
    seq: i64,
    task_id: Option<String>,
    sdk_app_id: Option<i64>,
    room_id: Option<String>,
    room_scoped: bool,
    kind: String,
    source_ms: i64,
    body: String,
}

fn tasks(page: &engine::cache::CallPage) -> Vec<String> {
    page.calls.iter().map(|call| call.task.to_string()).collect()
}

// ---- the stream cursor ----

/// `SELECT seq FROM stream_cursor` and the writer's `UPDATE stream_cursor`.
#[sqlx::test(migrations = "../../migrations")]
async fn the_cursor_starts_at_zero_and_follows_the_last_stored_seq(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    assert_eq!(cache.cursor().await.unwrap(), Seq(0), "the migration's single cursor row starts at 0");
    let call = TestCall::new("task-cursor", 100);
    let events: Vec<Event> = call.whole(T0, &[("你好", "您好")], None);
    let last = events.len() as u64 + 40;
    let numbered: Vec<Event> = events.into_iter().enumerate().map(|(i, e)| e.with_seq(Seq(41 + i as u64))).collect();
    cache.append(numbered).await.unwrap();
    assert_eq!(cache.cursor().await.unwrap(), Seq(last), "the hub's numbers, gaps and all");
    let mut conn = inspect(&opts).await;
    assert_eq!(scalar(&mut conn, "SELECT count(*) FROM stream_cursor").await, 1, "still one cursor row");
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

// ---- what an append writes ----

/// `INSERT INTO events … FROM json_each(?1)`.
#[sqlx::test(migrations = "../../migrations")]
async fn each_event_is_stored_with_its_call_room_and_kind(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-events", 101);
    let mut log = Log::default();
    let events = log.number(vec![call.room_event(103, T0 - 500, CUSTOMER), call.started(T0)]);
    cache.append(events.clone()).await.unwrap();
    let mut conn = inspect(&opts).await;
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT seq, task_id, sdk_app_id, room_id, room_scoped, kind, source_ms, body FROM events ORDER BY seq",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    let app = Some(APP.0 as i64);
    let room = &rows[0];
    assert_eq!(
        (room.task_id.as_deref(), room.sdk_app_id, room.room_id.as_deref(), room.room_scoped, room.kind.as_str()),
        (None, app, Some("101"), true, "user_entered"),
        "a room event belongs to no call"
    );
    assert_eq!(room.source_ms, (T0 - 500) as i64);
    let ai = &rows[1];
    assert_eq!(
        (ai.task_id.as_deref(), ai.room_id.as_deref(), ai.room_scoped, ai.kind.as_str()),
        (Some("task-events"), Some("101"), false, "task_started")
    );
    for (row, event) in rows.iter().zip(&events) {
        let stored: Event = serde_json::from_str(&row.body).unwrap();
        assert_eq!(&stored, event, "the body is the event as the hub sent it, seq included");
        assert_eq!(Some(Seq(row.seq as u64)), event.seq);
    }
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

/// The `calls` upsert (`ON CONFLICT (task_id) DO UPDATE`).
#[sqlx::test(migrations = "../../migrations")]
async fn a_later_batch_updates_the_one_call_row(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-upsert", 102);
    let mut log = Log::default();
    cache.append(log.number(call.whole(T0, &[("你好", "您好")], None))).await.unwrap();
    let live = cache.call_summary(&call.id()).await.unwrap().unwrap();
    assert_eq!((live.status, live.live, live.ended_ms), (CallStatus::InProgress, true, None));
    cache.append(log.number(vec![call.stopped(T0 + 20_000, 0)])).await.unwrap();
    let ended = cache.call_summary(&call.id()).await.unwrap().unwrap();
    assert_eq!(ended.status, CallStatus::Ended { leave_code: LeaveCode::from(0) });
    assert_eq!((ended.live, ended.ended_ms, ended.last_seq), (false, Some(SourceMs(T0 + 20_000)), Seq(log.last)));
    let mut conn = inspect(&opts).await;
    assert_eq!(scalar(&mut conn, "SELECT count(*) FROM calls").await, 1, "updated in place, not added");
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

/// The `turns` upsert (`ON CONFLICT (task_id, round_id) DO UPDATE`).
#[sqlx::test(migrations = "../../migrations")]
async fn a_metric_in_a_later_batch_updates_its_turn_row(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-turn", 103);
    let mut log = Log::default();
    cache.append(log.number(call.whole(T0, &[("你好", "您好")], None))).await.unwrap();
    assert_eq!(cache.turns(&call.id()).await.unwrap()[0].metrics.llm_first_token, None);
    cache.append(log.number(vec![call.metric("r0", T0 + 3_500, "llm_first_token", 640.0)])).await.unwrap();
    let turns = cache.turns(&call.id()).await.unwrap();
    assert_eq!(turns.len(), 1, "the same turn, updated");
    assert_eq!(turns[0].metrics.llm_first_token, Some(640.0));
    assert_eq!(turns[0].user_text.as_deref(), Some("你好"), "the other columns are rewritten as they were");
    finish(cache, &opts).await;
}

/// The `sentences` upsert and the `sentences_fts_update` trigger.
#[sqlx::test(migrations = "../../migrations")]
async fn a_corrected_sentence_replaces_its_text_in_the_search_index(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-correct", 104);
    let mut log = Log::default();
    cache.append(log.number(call.whole(T0, &[("我要退款", "好的")], None))).await.unwrap();
    assert_eq!(cache.search("退款", 10).await.unwrap().len(), 1);
    // TRTC sends the customer's sentence again, later and corrected.
    cache.append(log.number(vec![call.sentence("r0", T0 + 2_500, CUSTOMER, "我要投诉")])).await.unwrap();
    assert_eq!(cache.turns(&call.id()).await.unwrap()[0].user_text.as_deref(), Some("我要投诉"));
    assert!(cache.search("退款", 10).await.unwrap().is_empty(), "the old text is gone from the index");
    let hits = cache.search("投诉", 10).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let mut conn = inspect(&opts).await;
    assert_eq!(scalar(&mut conn, "SELECT count(*) FROM sentences").await, 2, "one row per speaker and round");
    sqlx::query("INSERT INTO sentences_fts (sentences_fts) VALUES ('integrity-check')")
        .execute(&mut conn)
        .await
        .expect("the index matches its sentences");
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

/// `DELETE FROM sentences WHERE (task_id, round_id, user_id) IN …` and the delete trigger.
#[sqlx::test(migrations = "../../migrations")]
async fn a_sentence_that_becomes_blank_is_deleted_with_its_index_entry(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-blank", 105);
    let mut log = Log::default();
    cache.append(log.number(call.whole(T0, &[("我要退款", "好的")], None))).await.unwrap();
    cache.append(log.number(vec![call.sentence("r0", T0 + 2_500, CUSTOMER, "   ")])).await.unwrap();
    assert!(cache.search("退款", 10).await.unwrap().is_empty(), "nothing left to find");
    let mut conn = inspect(&opts).await;
    let speakers: Vec<String> = sqlx::query_scalar("SELECT user_id FROM sentences").fetch_all(&mut conn).await.unwrap();
    assert_eq!(speakers, [ROBOT], "the customer's blank line is no final sentence");
    sqlx::query("INSERT INTO sentences_fts (sentences_fts) VALUES ('integrity-check')")
        .execute(&mut conn)
        .await
        .expect("the index matches its sentences");
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

/// `SELECT seq, body FROM events WHERE task_id = ?` (folding a call again after a restart)
/// and the full rewrite: `DELETE FROM sentences/turns WHERE task_id IN (json_each)`.
#[sqlx::test(migrations = "../../migrations")]
async fn after_a_restart_a_call_is_folded_from_its_events_and_rewritten_whole(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let call = TestCall::new("task-reload", 106);
    let mut log = Log::default();
    let cache = cache_on(&opts).await;
    cache.append(log.number(call.whole(T0, &[("我要投诉", "好的"), ("转人工", "请稍等")], None))).await.unwrap();
    cache.close().await;

    let cache = cache_on(&opts).await;
    cache.append(log.number(call.turn("r2", T0 + 20_000, "经理在吗", "马上为您转接"))).await.unwrap();
    let summary = cache.call_summary(&call.id()).await.unwrap().unwrap();
    assert_eq!((summary.counts.turns, summary.counts.user_sentences), (3, 3), "counted from every stored event");
    let rounds: Vec<String> = cache.turns(&call.id()).await.unwrap().into_iter().map(|t| t.round.to_string()).collect();
    assert_eq!(rounds, ["r0", "r1", "r2"]);
    for query in ["投诉", "转人工", "经理"] {
        assert_eq!(cache.search(query, 10).await.unwrap().len(), 1, "{query} is found exactly once");
    }
    let mut conn = inspect(&opts).await;
    assert_eq!(scalar(&mut conn, "SELECT count(*) FROM sentences").await, 6);
    sqlx::query("INSERT INTO sentences_fts (sentences_fts) VALUES ('integrity-check')")
        .execute(&mut conn)
        .await
        .expect("the index matches its sentences after the rewrite");
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

/// `SELECT task_id, started_ms, sdk_app_id FROM calls WHERE room_id = ? AND live = 1`.
#[sqlx::test(migrations = "../../migrations")]
async fn an_ai_event_without_a_task_goes_to_the_live_call_its_room_started_last(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let (old, new) = (TestCall::new("task-old", 107), TestCall::new("task-new", 107));
    let mut log = Log::default();
    let cache = cache_on(&opts).await;
    let mut events = old.whole(T0, &[("你好", "您好")], None);
    events.extend(new.whole(T0 + 60_000, &[("在吗", "在的")], None));
    cache.append(log.number(events)).await.unwrap();
    // Forget the folds: the route must come from the calls table.
    cache.close().await;
    let cache = cache_on(&opts).await;
    let room_only = CallRef { sdk_app_id: Some(APP), room: Some(RoomId::numeric(107)), task: None };
    let state =
        br#"{"type":10001,"sender":"ai_robot_1","receiver":[],"payload":{"roundid":"r0","timestamp":1,"state":2}}"#;
    cache
        .append(log.number(vec![Event::from_room_message(state, room_only, SourceMs(T0 + 70_000)).unwrap()]))
        .await
        .unwrap();
    let mut conn = inspect(&opts).await;
    let task: Option<String> = sqlx::query_scalar("SELECT task_id FROM events WHERE seq = ?")
        .bind(log.last as i64)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(task.as_deref(), Some("task-new"), "the live call that started last in the room");
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

/// `SELECT seq, body FROM events WHERE task_id IS NULL AND room_scoped = 1 AND room_id = ?
/// AND sdk_app_id IS ?` (folding a room again after a restart) and the `recordings` upsert.
#[sqlx::test(migrations = "../../migrations")]
async fn after_a_restart_a_recording_is_folded_on_from_its_rooms_events(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let call = TestCall::new("task-recording", 108);
    let mut log = Log::default();
    let cache = cache_on(&opts).await;
    cache
        .append(log.number(vec![call.started(T0), call.recording(301, "rec-1", T0 + 100, json!({"Status": 0}))]))
        .await
        .unwrap();
    assert_eq!(cache.recording(&TaskId::new("rec-1")).await.unwrap().unwrap().status, RecordingStatus::Recording);
    cache.close().await;
    let cache = cache_on(&opts).await;
    cache.append(log.number(vec![call.recording(302, "rec-1", T0 + 9_000, json!({"LeaveCode": 0}))])).await.unwrap();
    let recording = cache.recording(&TaskId::new("rec-1")).await.unwrap().unwrap();
    assert!(matches!(recording.status, RecordingStatus::Stopped { .. }), "{:?}", recording.status);
    assert_eq!((recording.first_ms, recording.last_ms), (SourceMs(T0 + 100), SourceMs(T0 + 9_000)), "both callbacks");
    let mut conn = inspect(&opts).await;
    assert_eq!(scalar(&mut conn, "SELECT count(*) FROM recordings").await, 1, "upserted, not added");
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

/// `INSERT INTO interventions … ON CONFLICT (seq) DO NOTHING` and the read
/// `… FROM interventions WHERE task_id = ? ORDER BY at_ms, seq`.
#[sqlx::test(migrations = "../../migrations")]
async fn every_command_stage_and_lock_change_is_one_intervention_in_source_time_order(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-oversight", 109);
    let mut log = Log::default();
    let mut events = call.whole(T0, &[("你好", "您好")], None);
    // Delivered out of source-time order: the list must not follow arrival.
    events.push(call.command(T0 + 5_000, "cmd-1", CommandAction::Say, CommandStage::Done));
    events.push(call.lock(T0 + 4_000, Some("li.na"), LockChange::Taken));
    events.push(call.command(T0 + 4_500, "cmd-1", CommandAction::Say, CommandStage::Requested));
    cache.append(log.number(events)).await.unwrap();
    let listed = cache.interventions(&call.id()).await.unwrap();
    let at: Vec<u64> = listed.iter().map(|i| i.at.0).collect();
    assert_eq!(at, [T0 + 4_000, T0 + 4_500, T0 + 5_000]);
    assert_eq!(listed[0].kind, InterventionKind::Lock { change: LockChange::Taken, holder: Some("li.na".into()) });
    assert!(
        matches!(&listed[2].kind, InterventionKind::Command { stage: CommandStage::Done, id, .. } if id == "cmd-1")
    );
    assert_eq!(listed[1].round, Some(RoundId::new("r0")));
    assert!(cache.interventions(&TaskId::new("task-other")).await.unwrap().is_empty());
    finish(cache, &opts).await;
}

// ---- reading calls back ----

/// The history list: `SUMMARY_SELECT … WHERE …` with each filter, newest first, paged.
#[sqlx::test(migrations = "../../migrations")]
async fn the_history_filters_orders_and_pages_calls(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let mut log = Log::default();
    let a = TestCall::new("task-a", 110);
    let b = TestCall::new("task-b", 111);
    let c = TestCall::new("task-c", 112);
    let mut events = a.whole(T0, &[("我要投诉", "好的")], Some(0));
    events.extend(b.whole(T0 + 100_000, &[("你好", "您好")], Some(98)));
    events.push(b.failure("r0", T0 + 101_500));
    events.extend(c.whole(T0 + 200_000, &[("hello", "hi")], None));
    events.push(c.command(T0 + 205_000, "cmd-t", CommandAction::TakeOver, CommandStage::Done));
    cache.append(log.number(events)).await.unwrap();
    cache.set_tags(&a.id(), &["vip".into()]).await.unwrap();
    let rule = NewFiredAlert { task: b.id(), rule_id: "slow".into(), fired: SourceMs(T0), detail: json!({}) };
    cache.record_fired_alert(rule).await.unwrap();

    let query = |q: CallQuery| {
        let cache = cache.clone();
        async move { tasks(&cache.calls(&q).await.unwrap()) }
    };
    let all = CallQuery::default();
    assert_eq!(query(all.clone()).await, ["task-c", "task-b", "task-a"], "newest first");
    assert_eq!(
        query(CallQuery { started_from: Some(SourceMs(T0 + 100_000)), ..all.clone() }).await,
        ["task-c", "task-b"]
    );
    assert_eq!(query(CallQuery { started_before: Some(SourceMs(T0 + 100_000)), ..all.clone() }).await, ["task-a"]);
    assert_eq!(query(CallQuery { status: Some(StatusFilter::Live), ..all.clone() }).await, ["task-c"]);
    assert_eq!(query(CallQuery { status: Some(StatusFilter::Ended), ..all.clone() }).await, ["task-b", "task-a"]);
    assert_eq!(query(CallQuery { status: Some(StatusFilter::EndedAbnormally), ..all.clone() }).await, ["task-b"]);
    assert!(query(CallQuery { status: Some(StatusFilter::StartFailed), ..all.clone() }).await.is_empty());
    assert_eq!(query(CallQuery { has_error: Some(true), ..all.clone() }).await, ["task-b"]);
    assert_eq!(query(CallQuery { has_error: Some(false), ..all.clone() }).await, ["task-c", "task-a"]);
    assert_eq!(query(CallQuery { taken_over: Some(true), ..all.clone() }).await, ["task-c"]);
    assert_eq!(query(CallQuery { has_alert: Some(true), ..all.clone() }).await, ["task-b"]);
    assert_eq!(query(CallQuery { has_alert: Some(false), ..all.clone() }).await, ["task-c", "task-a"]);
    assert_eq!(query(CallQuery { tag: Some(" vip ".into()), ..all.clone() }).await, ["task-a"]);
    assert_eq!(query(CallQuery { text: Some("投诉".into()), ..all.clone() }).await, ["task-a"]);
    assert_eq!(
        query(CallQuery { text: Some("，".into()), ..all.clone() }).await.len(),
        3,
        "no searchable text: no filter"
    );

    let first = cache.calls(&CallQuery { limit: 2, ..all.clone() }).await.unwrap();
    assert_eq!(tasks(&first), ["task-c", "task-b"]);
    assert_eq!(first.next, Some(PageCursor { started_ms: SourceMs(T0 + 100_000), task: b.id() }));
    let second = cache.calls(&CallQuery { limit: 2, after: first.next.clone(), ..all.clone() }).await.unwrap();
    assert_eq!((tasks(&second), second.next), (vec!["task-a".to_owned()], None), "the last page says so");
    finish(cache, &opts).await;
}

/// `SUMMARY_SELECT WHERE c.task_id = ?`, with its sub-selects for alerts, tags, score, notes.
#[sqlx::test(migrations = "../../migrations")]
async fn a_call_summary_carries_the_reviews_counts_and_is_none_for_an_unknown_call(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-summary", 113);
    cache.append(Log::default().number(call.whole(T0, &[("你好", "您好"), ("再见", "再见")], Some(0)))).await.unwrap();
    cache.set_tags(&call.id(), &["vip".into(), "投诉".into()]).await.unwrap();
    cache
        .set_qa_score(&call.id(), QaScore { score: 70, reviewer: "wang".into(), comment: None, at: SourceMs(T0) })
        .await
        .unwrap();
    for text in ["一", "二"] {
        let note = NewNote { task: call.id(), round: None, author: "wang".into(), at: SourceMs(T0), text: text.into() };
        cache.add_note(note).await.unwrap();
    }
    let summary = cache.call_summary(&call.id()).await.unwrap().unwrap();
    assert_eq!((summary.counts.turns, summary.counts.user_sentences, summary.counts.robot_sentences), (2, 2, 2));
    assert_eq!(
        (summary.tags, summary.qa_score, summary.notes, summary.alerts),
        (vec!["vip".into(), "投诉".into()], Some(70), 2, 0)
    );
    assert_eq!((summary.room, summary.sdk_app_id), (Some(RoomId::numeric(113)), Some(APP)));
    assert_eq!(cache.call_summary(&TaskId::new("task-none")).await.unwrap(), None);
    finish(cache, &opts).await;
}

/// `… FROM turns WHERE task_id = ? ORDER BY first_ms, round_id`.
#[sqlx::test(migrations = "../../migrations")]
async fn turns_come_in_the_order_they_began_not_by_round_name(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-order", 114);
    let mut events = vec![call.started(T0)];
    // "r10" sorts before "r9" as text; it began later.
    events.extend(call.turn("r9", T0 + 1_000, "先", "好"));
    events.extend(call.turn("r10", T0 + 9_000, "后", "好"));
    events.push(call.metric("r10", T0 + 12_500, "asr_latency", 880.0));
    cache.append(Log::default().number(events)).await.unwrap();
    let turns = cache.turns(&call.id()).await.unwrap();
    let rounds: Vec<&str> = turns.iter().map(|t| t.round.as_str()).collect();
    assert_eq!(rounds, ["r9", "r10"]);
    assert_eq!(
        (turns[1].user_text.as_deref(), turns[1].user_final, turns[1].metrics.asr_latency),
        (Some("后"), true, Some(880.0))
    );
    assert!(cache.turns(&TaskId::new("task-none")).await.unwrap().is_empty());
    finish(cache, &opts).await;
}

/// `events_of`: the call's own events `UNION ALL` its room's, same app or unknown, by seq.
#[sqlx::test(migrations = "../../migrations")]
async fn a_calls_events_include_its_rooms_and_no_other_rooms(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-scope", 115);
    let neighbour = TestCall::new("task-neighbour", 116);
    let mut log = Log::default();
    let mut events = vec![call.room_event(103, T0 - 1_000, CUSTOMER), neighbour.room_event(103, T0 - 900, "someone")];
    events.extend(call.whole(T0, &[("你好", "您好")], None));
    events.extend(neighbour.whole(T0 + 10, &[("在吗", "在")], None));
    let events = log.number(events);
    cache.append(events.clone()).await.unwrap();
    let stored = cache.events_of(&call.id()).await.unwrap();
    let expected: Vec<Event> = events
        .iter()
        .filter(|e| {
            e.call.task.as_ref() == Some(&call.id())
                || (e.body.is_room_scoped() && e.call.room == Some(RoomId::numeric(115)))
        })
        .cloned()
        .collect();
    assert_eq!(stored, expected, "the call's and its room's events, in seq order, nothing of the neighbour");
    assert!(cache.events_of(&TaskId::new("task-none")).await.unwrap().is_empty());
    finish(cache, &opts).await;
}

/// `events_of` reads the events as one JSON array built by SQLite (`group_concat … ORDER BY
/// seq`): text that JSON must escape survives it, order is by seq even when source times
/// disagree, and a stored event that no longer decodes is named by its seq.
#[sqlx::test(migrations = "../../migrations")]
async fn a_calls_events_read_back_whole_in_seq_order_and_a_damaged_one_is_named(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-\"quoted\"", 119);
    let mut log = Log::default();
    let awkward = "他说：\"退款\"，路径 C:\\订单\\1 ,] [{ 换行\n制表\t😀 \u{2028} end";
    let mut events = call.whole(T0, &[(awkward, "好的'单引号'"), ("第二句", "}]")], None);
    // Stored out of source-time order: seq decides.
    events.swap(1, 2);
    let events = log.number(events);
    cache.append(events.clone()).await.unwrap();
    let stored = cache.events_of(&call.id()).await.unwrap();
    assert_eq!(stored, events, "every event, text intact, in seq order");
    assert!(cache.events_of(&TaskId::new("task-\"none\"")).await.unwrap().is_empty(), "no events: none");

    let mut conn = inspect(&opts).await;
    sqlx::query("UPDATE events SET body = '{\"not\": \"an event\"}' WHERE seq = 3").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    match cache.events_of(&call.id()).await {
        Err(CacheError::Unreadable { what, .. }) => assert_eq!(what, "event 3", "the damaged event is named"),
        other => panic!("a damaged event must be reported, got {other:?}"),
    }
    finish(cache, &opts).await;
}

// ---- search ----

/// `Cache::search`'s two statements: hits joined with calls, newest first by source time,
/// `LIMIT`; then `snippet()` for just those rowids.
#[sqlx::test(migrations = "../../migrations")]
async fn search_answers_the_newest_hits_first_up_to_the_limit_with_snippets(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let cache = cache_on(&opts).await;
    let (early, late) = (TestCall::new("task-early", 117), TestCall::new("task-late", 118));
    let mut log = Log::default();
    // The later call is stored first: order must follow source time, not arrival.
    let mut events = late.whole(T0 + 60_000, &[("我要投诉，马上", "好的"), ("还是投诉", "好的")], None);
    events.extend(early.whole(T0, &[("投诉你们", "好的")], None));
    cache.append(log.number(events)).await.unwrap();
    let hits = cache.search("投诉", 10).await.unwrap();
    let order: Vec<(String, u64)> = hits.iter().map(|h| (h.task.to_string(), h.at.0)).collect();
    assert_eq!(
        order,
        [
            ("task-late".to_owned(), T0 + 70_000),
            ("task-late".to_owned(), T0 + 62_000),
            ("task-early".to_owned(), T0 + 2_000)
        ]
    );
    assert_eq!(hits[2].call_started_ms, SourceMs(T0), "from the calls row");
    assert_eq!(hits[1].snippet, "我要\u{E000}投诉\u{E001}，马上", "the sentence as written, the hit marked");
    assert_eq!(cache.search("投诉", 2).await.unwrap().len(), 2, "the limit holds");
    assert_eq!(cache.search("投诉", 0).await.unwrap().len(), 1, "a limit below 1 answers one hit");
    assert!(cache.search("退款", 10).await.unwrap().is_empty());
    assert!(cache.search(" ，。 ", 10).await.unwrap().is_empty(), "nothing searchable: nothing found");
    finish(cache, &opts).await;
}

// ---- the writer ----

/// The writer's multi-row `INSERT … VALUES`: a batch whose rows need more bound parameters
/// than SQLite allows in one statement (32,766) is split, and stored whole in one append.
#[sqlx::test(migrations = "../../migrations")]
async fn a_batch_beyond_sqlites_parameter_limit_is_stored_whole(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let mut log = Log::default();
    // 1,900 calls: 5,700 events (8 columns: 4,095 rows a statement), 1,900 calls rows (20
    // columns: 1,638) and 1,900 turns (18 columns: 1,820).
    let mut events = Vec::new();
    for i in 0..1_900_u64 {
        let call = TestCall::new(&format!("task-bulk-{i:04}"), 2_000 + i);
        events.push(call.started(T0 + i));
        events.push(call.ai(904, T0 + 10 + i, json!({"UserId": CUSTOMER, "RoundId": "r0"})));
        events.push(call.sentence("r0", T0 + 20 + i, CUSTOMER, "我要投诉"));
    }
    cache.append(log.number(events)).await.unwrap();
    assert_eq!(cache.cursor().await.unwrap(), Seq(5_700));
    let mut conn = inspect(&opts).await;
    for (table, expected) in [("events", 5_700), ("calls", 1_900), ("turns", 1_900), ("sentences", 1_900)] {
        assert_eq!(scalar(&mut conn, &format!("SELECT count(*) FROM {table}")).await, expected, "rows in {table}");
    }
    conn.close().await.unwrap();
    let hits = cache.search("投诉", 200).await.unwrap();
    assert_eq!(hits.len(), 200);
    assert_eq!(hits[0].task, TaskId::new("task-bulk-1899"), "the newest sentence first");
    finish(cache, &opts).await;
}

/// The writer's sentence ids (`at_ms × 2^20 + n`, migration 0003): a sentence whose source
/// time changes is stored again under an id of its new time, with its index entry, and
/// search's rowid walk follows it.
#[sqlx::test(migrations = "../../migrations")]
async fn a_sentence_whose_time_changes_is_re_keyed_and_found_in_its_new_place(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let cache = cache_on(&opts).await;
    let (first, second) = (TestCall::new("task-moves", 120), TestCall::new("task-stays", 121));
    let mut log = Log::default();
    let mut events = vec![first.started(T0), second.started(T0)];
    events.push(first.sentence("r0", T0 + 9_000, CUSTOMER, "我要投诉"));
    events.push(second.sentence("r0", T0 + 5_000, CUSTOMER, "投诉一下"));
    events.push(second.sentence("r1", T0 + 5_000, ROBOT, "好的，投诉已记录"));
    cache.append(log.number(events)).await.unwrap();
    let order = |hits: Vec<engine::cache::SearchHit>| -> Vec<(String, u64)> {
        hits.into_iter().map(|hit| (hit.task.to_string(), hit.at.0)).collect()
    };
    assert_eq!(
        order(cache.search("投诉", 10).await.unwrap()),
        [
            ("task-moves".to_owned(), T0 + 9_000),
            ("task-stays".to_owned(), T0 + 5_000),
            ("task-stays".to_owned(), T0 + 5_000)
        ]
    );
    // The same sentence, reported earlier: its line is final from the earlier time on.
    cache.append(log.number(vec![first.sentence("r0", T0 + 1_000, CUSTOMER, "我要投诉")])).await.unwrap();
    assert_eq!(
        order(cache.search("投诉", 10).await.unwrap()),
        [
            ("task-stays".to_owned(), T0 + 5_000),
            ("task-stays".to_owned(), T0 + 5_000),
            ("task-moves".to_owned(), T0 + 1_000)
        ],
        "the moved sentence now comes last"
    );
    let mut conn = inspect(&opts).await;
    assert_eq!(scalar(&mut conn, "SELECT count(*) FROM sentences").await, 3, "moved, not copied");
    assert_eq!(
        scalar(&mut conn, "SELECT count(*) FROM sentences WHERE id >> 20 != at_ms").await,
        0,
        "every id carries its sentence's source time"
    );
    assert_eq!(
        scalar(&mut conn, "SELECT count(DISTINCT id) FROM sentences WHERE at_ms = 1764000005000").await,
        2,
        "two sentences of the same millisecond, two ids"
    );
    sqlx::query("INSERT INTO sentences_fts (sentences_fts) VALUES ('integrity-check')")
        .execute(&mut conn)
        .await
        .expect("the index follows the re-keyed sentence");
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

// ---- the hub's audit trail ----

/// `INSERT INTO audit_entries … ON CONFLICT (id) DO NOTHING` and the read
/// `… WHERE (?1 IS NULL OR task_id = ?1) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3`.
#[sqlx::test(migrations = "../../migrations")]
async fn audit_entries_are_stored_once_and_paged_newest_first(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let entry = |id: i64, task: Option<&str>| AuditRecord {
        id,
        at_ms: T0 + id as u64,
        user: "li.na".into(),
        role: "supervisor".into(),
        task_id: task.map(str::to_owned),
        round_id: None,
        action: "say".into(),
        outcome: "done".into(),
        detail: None,
    };
    let entries = vec![entry(1, Some("task-x")), entry(2, None), entry(3, Some("task-x")), entry(4, Some("task-y"))];
    assert_eq!(cache.store_audit(entries[..2].to_vec()).await.unwrap(), 2);
    assert_eq!(cache.store_audit(entries.clone()).await.unwrap(), 2, "ids already stored are left alone");
    let ids = |listed: Vec<AuditRecord>| listed.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(cache.audit_entries(None, None, 10).await.unwrap()), [4, 3, 2, 1]);
    assert_eq!(ids(cache.audit_entries(Some(&TaskId::new("task-x")), None, 10).await.unwrap()), [3, 1]);
    assert_eq!(ids(cache.audit_entries(None, Some(3), 10).await.unwrap()), [2, 1]);
    assert_eq!(ids(cache.audit_entries(None, None, 1).await.unwrap()), [4]);
    assert_eq!(cache.audit_entries(None, None, 10).await.unwrap()[0], entries[3], "every field read back");
    finish(cache, &opts).await;
}

// ---- alert rules and fired alerts ----

fn rule(id: &str, enabled: bool, rule: Value) -> StoredAlertRule {
    StoredAlertRule { id: id.into(), enabled, rule }
}

/// `SELECT id, enabled, rule FROM alert_rules ORDER BY position, id`.
#[sqlx::test(migrations = "../../migrations")]
async fn alert_rules_are_listed_in_the_order_first_saved(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    assert!(cache.alert_rules().await.unwrap().is_empty());
    for id in ["z-last-by-name", "a-first-by-name"] {
        cache.save_alert_rule(rule(id, true, json!({"kind": id}))).await.unwrap();
    }
    let ids: Vec<String> = cache.alert_rules().await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["z-last-by-name", "a-first-by-name"], "by position, not by id");
    finish(cache, &opts).await;
}

/// The rule upsert: a new id at `max(position) + 1`, a known id keeps its position.
#[sqlx::test(migrations = "../../migrations")]
async fn saving_a_known_rule_updates_it_in_place(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    cache.save_alert_rule(rule("one", true, json!({"ms": 1}))).await.unwrap();
    cache.save_alert_rule(rule("two", true, json!({"ms": 2}))).await.unwrap();
    cache.save_alert_rule(rule("one", false, json!({"ms": 10}))).await.unwrap();
    assert_eq!(
        cache.alert_rules().await.unwrap(),
        vec![rule("one", false, json!({"ms": 10})), rule("two", true, json!({"ms": 2}))]
    );
    let mut conn = inspect(&opts).await;
    let positions: Vec<i64> =
        sqlx::query_scalar("SELECT position FROM alert_rules ORDER BY id").fetch_all(&mut conn).await.unwrap();
    assert_eq!(positions, [1, 2]);
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

/// `DELETE FROM alert_rules` then the inserts, in one transaction.
#[sqlx::test(migrations = "../../migrations")]
async fn replacing_the_rules_drops_the_old_ones_and_keeps_the_new_order(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let cache = cache_on(&opts).await;
    cache.save_alert_rule(rule("old", true, json!({}))).await.unwrap();
    cache.replace_alert_rules(vec![rule("b", true, json!(1)), rule("a", false, json!(2))]).await.unwrap();
    assert_eq!(cache.alert_rules().await.unwrap(), vec![rule("b", true, json!(1)), rule("a", false, json!(2))]);
    let twice = vec![rule("c", true, json!(1)), rule("c", true, json!(2))];
    assert!(matches!(cache.replace_alert_rules(twice).await, Err(CacheError::BadInput { .. })));
    assert_eq!(cache.alert_rules().await.unwrap().len(), 2, "a refused replacement changes nothing");
    finish(cache, &opts).await;
}

/// `DELETE FROM alert_rules WHERE id = ?`.
#[sqlx::test(migrations = "../../migrations")]
async fn deleting_a_rule_says_whether_there_was_one(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    cache.save_alert_rule(rule("keyword", true, json!({}))).await.unwrap();
    cache.save_alert_rule(rule("slow", true, json!({}))).await.unwrap();
    assert!(cache.delete_alert_rule(" keyword ").await.unwrap(), "the id is trimmed as when saved");
    assert!(!cache.delete_alert_rule("keyword").await.unwrap());
    let ids: Vec<String> = cache.alert_rules().await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["slow"]);
    finish(cache, &opts).await;
}

/// `INSERT INTO fired_alerts … ON CONFLICT (task_id, rule_id) DO NOTHING`.
#[sqlx::test(migrations = "../../migrations")]
async fn a_rule_fires_once_per_call(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let fired = |task: &str, rule: &str, ms: u64| NewFiredAlert {
        task: TaskId::new(task),
        rule_id: rule.into(),
        fired: SourceMs(ms),
        detail: json!({"round": "r1"}),
    };
    assert!(cache.record_fired_alert(fired("task-1", "slow", T0)).await.unwrap());
    assert!(!cache.record_fired_alert(fired("task-1", "slow", T0 + 5)).await.unwrap(), "the same call and rule");
    assert!(cache.record_fired_alert(fired("task-1", "keyword", T0 + 6)).await.unwrap());
    assert!(cache.record_fired_alert(fired("task-2", "slow", T0 + 7)).await.unwrap());
    let listed = cache.fired_alerts(&FiredQuery::default()).await.unwrap();
    assert_eq!(listed.len(), 3);
    let first = listed.iter().find(|a| a.rule_id == "slow" && a.task == TaskId::new("task-1")).unwrap();
    assert_eq!((first.fired, &first.detail), (SourceMs(T0), &json!({"round": "r1"})), "the first firing stands");
    finish(cache, &opts).await;
}

/// `… FROM fired_alerts WHERE (?1 IS NULL OR task_id = ?1) AND (?2 = 0 OR acknowledged_ms
/// IS NULL) AND (?3 IS NULL OR id < ?3) ORDER BY fired_ms DESC, id DESC LIMIT ?4`, and the
/// acknowledgement `UPDATE … WHERE id = ? AND acknowledged_ms IS NULL`.
#[sqlx::test(migrations = "../../migrations")]
async fn fired_alerts_filter_page_and_keep_the_first_acknowledgement(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    for (task, rule, ms) in [("task-1", "a", T0 + 30), ("task-1", "b", T0 + 10), ("task-2", "a", T0 + 20)] {
        let alert =
            NewFiredAlert { task: TaskId::new(task), rule_id: rule.into(), fired: SourceMs(ms), detail: json!({}) };
        cache.record_fired_alert(alert).await.unwrap();
    }
    let list = |query: FiredQuery| {
        let cache = cache.clone();
        async move {
            cache
                .fired_alerts(&query)
                .await
                .unwrap()
                .into_iter()
                .map(|a| (a.task.to_string(), a.rule_id))
                .collect::<Vec<_>>()
        }
    };
    let pair = |task: &str, rule: &str| (task.to_owned(), rule.to_owned());
    assert_eq!(list(FiredQuery::default()).await, [pair("task-1", "a"), pair("task-2", "a"), pair("task-1", "b")]);
    assert_eq!(
        list(FiredQuery { task: Some(TaskId::new("task-2")), ..FiredQuery::default() }).await,
        [pair("task-2", "a")]
    );
    assert_eq!(list(FiredQuery { limit: 1, ..FiredQuery::default() }).await, [pair("task-1", "a")]);

    let all = cache.fired_alerts(&FiredQuery::default()).await.unwrap();
    let second = all[1].id;
    let last_recorded = all.iter().map(|a| a.id).max().unwrap();
    let below =
        cache.fired_alerts(&FiredQuery { before_id: Some(last_recorded), ..FiredQuery::default() }).await.unwrap();
    let below: Vec<i64> = below.into_iter().map(|a| a.id).collect();
    assert_eq!(below.len(), 2, "paged by id: {below:?}");
    assert!(below.iter().all(|id| *id < last_recorded), "paged by id: {below:?}");

    assert!(cache.acknowledge_alert(second, "wang", SourceMs(T0 + 100)).await.unwrap());
    assert!(!cache.acknowledge_alert(second, "li", SourceMs(T0 + 200)).await.unwrap(), "already acknowledged");
    assert!(!cache.acknowledge_alert(9_999, "wang", SourceMs(T0)).await.unwrap(), "no such alert");
    let acknowledged =
        cache.fired_alerts(&FiredQuery::default()).await.unwrap().into_iter().find(|a| a.id == second).unwrap();
    assert_eq!(acknowledged.acknowledged.map(|a| (a.by, a.at)), Some(("wang".to_owned(), SourceMs(T0 + 100))));
    let open = list(FiredQuery { unacknowledged_only: true, ..FiredQuery::default() }).await;
    assert_eq!(open, [pair("task-1", "a"), pair("task-1", "b")]);
    finish(cache, &opts).await;
}

// ---- recordings ----

fn file(recording: &str, name: &str, downloaded: u64) -> RecordingFile {
    RecordingFile {
        recording: TaskId::new(recording),
        name: name.into(),
        local_path: PathBuf::from(format!("/var/cache/switchboard/{recording}/{name}")),
        expected_bytes: Some(1_000),
        downloaded_bytes: downloaded,
        verified: false,
    }
}

/// `recordings_of`: `calls c JOIN recordings r ON r.room_id = c.room_id` (same app or
/// unknown) `ORDER BY r.first_ms, r.recording_id`, with each recording's local files.
#[sqlx::test(migrations = "../../migrations")]
async fn a_calls_recordings_are_those_of_its_room_oldest_first_with_their_files(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-recs", 120);
    let other = TestCall::new("task-other-room", 121);
    let events = vec![
        call.started(T0),
        call.recording(301, "rec-late", T0 + 500, json!({"Status": 0})),
        call.recording(301, "rec-early", T0 + 100, json!({"Status": 0})),
        other.started(T0),
        other.recording(301, "rec-elsewhere", T0 + 50, json!({"Status": 0})),
    ];
    cache.append(Log::default().number(events)).await.unwrap();
    cache.save_recording_file(&file("rec-early", "a.mp4", 10)).await.unwrap();
    let recordings = cache.recordings_of(&call.id()).await.unwrap();
    let ids: Vec<&str> = recordings.iter().map(|r| r.recording.as_str()).collect();
    assert_eq!(ids, ["rec-early", "rec-late"]);
    assert_eq!(recordings[0].local_files, vec![file("rec-early", "a.mp4", 10)]);
    assert!(recordings[1].local_files.is_empty());
    assert_eq!(recordings[0].room, RoomId::numeric(120));
    assert!(cache.recordings_of(&TaskId::new("task-none")).await.unwrap().is_empty());
    finish(cache, &opts).await;
}

/// `… FROM recordings r WHERE r.recording_id = ?`.
#[sqlx::test(migrations = "../../migrations")]
async fn one_recording_reads_back_by_its_id(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-one-rec", 122);
    let events = vec![call.started(T0), call.recording(301, "rec-1", T0 + 100, json!({"Status": 0}))];
    cache.append(Log::default().number(events)).await.unwrap();
    let recording = cache.recording(&TaskId::new("rec-1")).await.unwrap().unwrap();
    assert_eq!(
        (recording.sdk_app_id, recording.status, recording.first_ms),
        (Some(APP), RecordingStatus::Recording, SourceMs(T0 + 100))
    );
    assert_eq!(cache.recording(&TaskId::new("rec-none")).await.unwrap(), None);
    finish(cache, &opts).await;
}

/// `… FROM recording_files WHERE recording_id IN (json_each) ORDER BY recording_id, name`.
#[sqlx::test(migrations = "../../migrations")]
async fn a_recordings_files_are_listed_by_name(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    for (recording, name) in [("rec-1", "b.mp4"), ("rec-1", "a.m3u8"), ("rec-2", "c.mp4")] {
        cache.save_recording_file(&file(recording, name, 0)).await.unwrap();
    }
    let names: Vec<String> =
        cache.recording_files(&TaskId::new("rec-1")).await.unwrap().into_iter().map(|f| f.name).collect();
    assert_eq!(names, ["a.m3u8", "b.mp4"]);
    assert!(cache.recording_files(&TaskId::new("rec-3")).await.unwrap().is_empty());
    finish(cache, &opts).await;
}

/// The `recording_files` upsert (`ON CONFLICT (recording_id, name) DO UPDATE`).
#[sqlx::test(migrations = "../../migrations")]
async fn saving_a_file_again_updates_its_progress(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    cache.save_recording_file(&file("rec-1", "a.mp4", 100)).await.unwrap();
    let mut done = file("rec-1", "a.mp4", 1_000);
    done.verified = true;
    cache.save_recording_file(&done).await.unwrap();
    assert_eq!(cache.recording_files(&TaskId::new("rec-1")).await.unwrap(), vec![done]);
    finish(cache, &opts).await;
}

/// `DELETE FROM recording_files WHERE recording_id = ? AND name = ?`.
#[sqlx::test(migrations = "../../migrations")]
async fn forgetting_a_file_removes_that_file_only(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    cache.save_recording_file(&file("rec-1", "a.mp4", 1)).await.unwrap();
    cache.save_recording_file(&file("rec-1", "b.mp4", 1)).await.unwrap();
    assert!(cache.forget_recording_file(&TaskId::new("rec-1"), "a.mp4").await.unwrap());
    assert!(!cache.forget_recording_file(&TaskId::new("rec-1"), "a.mp4").await.unwrap());
    assert_eq!(cache.recording_files(&TaskId::new("rec-1")).await.unwrap(), vec![file("rec-1", "b.mp4", 1)]);
    finish(cache, &opts).await;
}

// ---- review ----

fn note(task: &TaskId, at: u64, text: &str) -> NewNote {
    NewNote {
        task: task.clone(),
        round: Some(RoundId::new("r0")),
        author: "wang".into(),
        at: SourceMs(at),
        text: text.into(),
    }
}

/// `SELECT 1 FROM calls WHERE task_id = ?` then `INSERT INTO notes … RETURNING id`.
#[sqlx::test(migrations = "../../migrations")]
async fn a_note_is_added_to_a_known_call_only(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-note", 130);
    cache.append(Log::default().number(vec![call.started(T0)])).await.unwrap();
    let unknown = TaskId::new("task-none");
    assert_eq!(cache.add_note(note(&unknown, T0, "hi")).await, Err(CacheError::UnknownCall { task: unknown }));
    let first = cache.add_note(note(&call.id(), T0, "一")).await.unwrap();
    let second = cache.add_note(note(&call.id(), T0, "二")).await.unwrap();
    assert!(second.id > first.id, "ids come from the insert");
    finish(cache, &opts).await;
}

/// `SELECT … FROM notes WHERE task_id = ? ORDER BY at_ms, note_id`: by time, ties by the
/// note's id (a UUID), so every console lists a shared call's notes in the same order.
#[sqlx::test(migrations = "../../migrations")]
async fn notes_are_listed_by_time_then_by_note_id(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-notes", 131);
    cache.append(Log::default().number(vec![call.started(T0)])).await.unwrap();
    let late = cache.add_note(note(&call.id(), T0 + 50, "late")).await.unwrap();
    let early = cache.add_note(note(&call.id(), T0 + 10, "early")).await.unwrap();
    let tie = cache.add_note(note(&call.id(), T0 + 50, "tie")).await.unwrap();
    let mut ties = vec![late, tie];
    ties.sort_by(|a, b| a.uid.cmp(&b.uid));
    let expected: Vec<_> = std::iter::once(early).chain(ties).collect();
    assert_eq!(cache.notes(&call.id()).await.unwrap(), expected);
    assert!(cache.notes(&TaskId::new("task-none")).await.unwrap().is_empty());
    finish(cache, &opts).await;
}

/// `DELETE FROM call_tags WHERE task_id = ?` then `INSERT INTO call_tags … json_each`.
#[sqlx::test(migrations = "../../migrations")]
async fn setting_tags_replaces_a_calls_tags(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let (a, b) = (TestCall::new("task-tag-a", 132), TestCall::new("task-tag-b", 133));
    cache.append(Log::default().number(vec![a.started(T0), b.started(T0)])).await.unwrap();
    cache.set_tags(&a.id(), &["vip".into(), "投诉".into()]).await.unwrap();
    cache.set_tags(&b.id(), &["vip".into()]).await.unwrap();
    let kept = cache.set_tags(&a.id(), &["退款".into(), "退款".into()]).await.unwrap();
    assert_eq!(kept, ["退款"], "duplicates collapse");
    assert_eq!(cache.tags(&a.id()).await.unwrap(), ["退款"]);
    assert_eq!(cache.tags(&b.id()).await.unwrap(), ["vip"], "another call's tags are untouched");
    let unknown = TaskId::new("task-none");
    assert_eq!(cache.set_tags(&unknown, &["x".into()]).await, Err(CacheError::UnknownCall { task: unknown }));
    finish(cache, &opts).await;
}

/// `SELECT tag FROM call_tags WHERE task_id = ? ORDER BY tag`.
#[sqlx::test(migrations = "../../migrations")]
async fn a_calls_tags_read_back_sorted(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-tags", 134);
    cache.append(Log::default().number(vec![call.started(T0)])).await.unwrap();
    cache.set_tags(&call.id(), &["zeta".into(), "alpha".into(), "mid".into()]).await.unwrap();
    assert_eq!(cache.tags(&call.id()).await.unwrap(), ["alpha", "mid", "zeta"]);
    assert!(cache.tags(&TaskId::new("task-none")).await.unwrap().is_empty());
    finish(cache, &opts).await;
}

/// `SELECT tag, count(*) AS n FROM call_tags GROUP BY tag ORDER BY n DESC, tag`.
#[sqlx::test(migrations = "../../migrations")]
async fn all_tags_are_counted_most_used_first(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let calls: Vec<TestCall> = (0..3).map(|i| TestCall::new(&format!("task-all-{i}"), 140 + i)).collect();
    cache.append(Log::default().number(calls.iter().map(|c| c.started(T0)).collect())).await.unwrap();
    cache.set_tags(&calls[0].id(), &["vip".into(), "b".into()]).await.unwrap();
    cache.set_tags(&calls[1].id(), &["vip".into(), "a".into()]).await.unwrap();
    cache.set_tags(&calls[2].id(), &["vip".into()]).await.unwrap();
    let counts: Vec<(String, usize)> = cache.all_tags().await.unwrap().into_iter().map(|t| (t.tag, t.calls)).collect();
    assert_eq!(counts, [("vip".to_owned(), 3), ("a".to_owned(), 1), ("b".to_owned(), 1)]);
    finish(cache, &opts).await;
}

/// The `qa_scores` upsert (`ON CONFLICT (task_id) DO UPDATE`) and
/// `SELECT score, reviewer, comment, at_ms FROM qa_scores WHERE task_id = ?`.
#[sqlx::test(migrations = "../../migrations")]
async fn a_qa_score_is_one_per_call_and_the_latest_stands(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let call = TestCall::new("task-qa", 135);
    cache.append(Log::default().number(vec![call.started(T0)])).await.unwrap();
    assert_eq!(cache.qa_score(&call.id()).await.unwrap(), None);
    let score = |score: u8, comment: Option<&str>| QaScore {
        score,
        reviewer: "wang".into(),
        comment: comment.map(str::to_owned),
        at: SourceMs(T0 + u64::from(score)),
    };
    cache.set_qa_score(&call.id(), score(60, Some("slow answers"))).await.unwrap();
    cache.set_qa_score(&call.id(), score(85, Some("  "))).await.unwrap();
    assert_eq!(cache.qa_score(&call.id()).await.unwrap(), Some(score(85, None)), "a blank comment is none");
    let mut conn = inspect(&opts).await;
    assert_eq!(scalar(&mut conn, "SELECT count(*) FROM qa_scores").await, 1);
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

// ---- retention ----

/// The calls step: candidates `WHERE c.live = 0 AND c.last_ms < ?1`, then the deletes of
/// events, sentences (with the index), fired alerts and calls (turns, interventions, notes,
/// tags and scores by cascade).
#[sqlx::test(migrations = "../../migrations")]
async fn a_purge_deletes_old_finished_calls_with_everything_of_theirs(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let cache = cache_on(&opts).await;
    let (old, live, recent) =
        (TestCall::new("task-old", 150), TestCall::new("task-live", 151), TestCall::new("task-recent", 152));
    let mut events = old.whole(T0, &[("我要投诉", "好的")], Some(0));
    events.push(old.command(T0 + 3_000, "cmd-o", CommandAction::Say, CommandStage::Done));
    events.extend(live.whole(T0, &[("我要投诉", "好的")], None));
    events.extend(recent.whole(T0 + 100_000, &[("我要投诉", "好的")], Some(0)));
    cache.append(Log::default().number(events)).await.unwrap();
    cache.set_tags(&old.id(), &["vip".into()]).await.unwrap();
    cache.add_note(note(&old.id(), T0, "n")).await.unwrap();
    cache
        .set_qa_score(&old.id(), QaScore { score: 1, reviewer: "w".into(), comment: None, at: SourceMs(T0) })
        .await
        .unwrap();
    cache
        .record_fired_alert(NewFiredAlert {
            task: old.id(),
            rule_id: "r".into(),
            fired: SourceMs(T0),
            detail: json!({}),
        })
        .await
        .unwrap();

    let purged = cache.purge_finished_before(SourceMs(T0 + 50_000)).await.unwrap();
    assert_eq!(purged.calls, 1, "only the old, finished call: {purged:?}");
    let left: Vec<String> = tasks(&cache.calls(&CallQuery::default()).await.unwrap());
    assert_eq!(left, ["task-recent", "task-live"]);
    let hits: Vec<String> = cache.search("投诉", 10).await.unwrap().into_iter().map(|h| h.task.to_string()).collect();
    assert!(!hits.contains(&"task-old".to_owned()) && hits.len() == 2, "{hits:?}");
    let mut conn = inspect(&opts).await;
    for table in ["events", "turns", "sentences", "interventions", "notes", "call_tags", "qa_scores", "fired_alerts"] {
        let sql = format!("SELECT count(*) FROM {table} WHERE task_id = 'task-old'");
        assert_eq!(scalar(&mut conn, &sql).await, 0, "{table} keeps nothing of the purged call");
    }
    sqlx::query("INSERT INTO sentences_fts (sentences_fts) VALUES ('integrity-check')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

/// The room-events, recordings and orphan-files steps: room events and recordings before the
/// cut-off in rooms no call uses, and local file rows of recordings no longer known.
#[sqlx::test(migrations = "../../migrations")]
async fn a_purge_deletes_old_room_events_recordings_and_orphan_files(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let (gone, kept) = (TestCall::new("task-gone", 160), TestCall::new("task-kept", 161));
    let mut events =
        vec![gone.room_event(103, T0 - 10, CUSTOMER), gone.recording(301, "rec-gone", T0, json!({"Status": 0}))];
    events.extend(gone.whole(T0, &[("你好", "您好")], Some(0)));
    events.push(kept.room_event(103, T0 - 10, CUSTOMER));
    events.push(kept.recording(301, "rec-kept", T0, json!({"Status": 0})));
    events.extend(kept.whole(T0, &[("你好", "您好")], None));
    cache.append(Log::default().number(events)).await.unwrap();
    cache.save_recording_file(&file("rec-gone", "a.mp4", 5)).await.unwrap();
    cache.save_recording_file(&file("rec-unknown", "b.mp4", 5)).await.unwrap();

    // Local file rows count as untouched before the cut-off only if their update is older.
    let cutoff = SourceMs(
        u64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
            + 60_000,
    );
    let purged = cache.purge_finished_before(cutoff).await.unwrap();
    assert_eq!((purged.calls, purged.recordings), (1, 1), "{purged:?}");
    let mut files = purged.local_files.clone();
    files.sort();
    assert_eq!(files, [file("rec-gone", "a.mp4", 5).local_path, file("rec-unknown", "b.mp4", 5).local_path]);
    assert_eq!(cache.recording(&TaskId::new("rec-gone")).await.unwrap(), None);
    assert!(cache.recording(&TaskId::new("rec-kept")).await.unwrap().is_some(), "its room still has a call");
    let mut conn = inspect(&opts).await;
    assert_eq!(scalar(&mut conn, "SELECT count(*) FROM events WHERE room_id = '160'").await, 0);
    assert_eq!(scalar(&mut conn, "SELECT count(*) FROM events WHERE room_id = '161' AND task_id IS NULL").await, 2);
    assert_eq!(scalar(&mut conn, "SELECT count(*) FROM recording_files").await, 0);
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

/// The audit step (`DELETE FROM audit_entries WHERE id IN (… at_ms < ?1 LIMIT ?2)`) and the
/// vacuum step (`PRAGMA incremental_vacuum`, `PRAGMA freelist_count`).
#[sqlx::test(migrations = "../../migrations")]
async fn a_purge_deletes_old_audit_entries_and_gives_free_pages_back(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let cache = cache_on(&opts).await;
    let entries: Vec<AuditRecord> = (1..=1_200)
        .map(|id| AuditRecord {
            id,
            at_ms: if id <= 1_100 { T0 } else { T0 + 100_000 },
            user: "li.na".into(),
            role: "supervisor".into(),
            task_id: None,
            round_id: None,
            action: "say".into(),
            outcome: "done".into(),
            detail: Some("x".repeat(400)),
        })
        .collect();
    cache.store_audit(entries).await.unwrap();
    let purged = cache.purge_finished_before(SourceMs(T0 + 50_000)).await.unwrap();
    assert_eq!(purged.audit_entries, 1_100, "in batches, all of them: {purged:?}");
    let left: Vec<i64> = cache.audit_entries(None, None, 500).await.unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(left.len(), 100);
    assert!(left.iter().all(|id| *id > 1_100));
    let mut conn = inspect(&opts).await;
    assert_eq!(scalar(&mut conn, "PRAGMA freelist_count").await, 0, "free pages went back to the file system");
    conn.close().await.unwrap();
    finish(cache, &opts).await;
}

/// The vacuum step on a file made without incremental auto-vacuum (an old or foreign one):
/// `PRAGMA incremental_vacuum` gives nothing back there, and the purge must still end.
#[sqlx::test(migrations = "../../migrations")]
async fn a_purge_ends_on_a_file_without_incremental_auto_vacuum(_: SqlitePoolOptions, opts: SqliteConnectOptions) {
    let mut conn = inspect(&opts).await;
    assert_ne!(scalar(&mut conn, "PRAGMA auto_vacuum").await, 2, "sqlx's file is not incremental");
    conn.close().await.unwrap();
    let cache = Cache::open(opts.get_filename()).await.unwrap().cache;
    let entries: Vec<AuditRecord> = (1..=600)
        .map(|id| AuditRecord {
            id,
            at_ms: T0,
            user: "li.na".into(),
            role: "supervisor".into(),
            task_id: None,
            round_id: None,
            action: "say".into(),
            outcome: "done".into(),
            detail: Some("x".repeat(400)),
        })
        .collect();
    cache.store_audit(entries).await.unwrap();
    let purged =
        tokio::time::timeout(std::time::Duration::from_secs(20), cache.purge_finished_before(SourceMs(T0 + 50_000)))
            .await
            .expect("the purge ends")
            .unwrap();
    assert_eq!(purged.audit_entries, 600);
    finish(cache, &opts).await;
}

// ---- the size limit ----

/// `PRAGMA page_size` and `PRAGMA max_page_count = …` on the writer's connection.
#[sqlx::test(migrations = "../../migrations")]
async fn a_size_limit_is_set_in_pages_never_below_the_file_and_can_be_lifted(
    _: SqlitePoolOptions,
    opts: SqliteConnectOptions,
) {
    let cache = cache_on(&opts).await;
    let mut conn = inspect(&opts).await;
    let page = scalar(&mut conn, "PRAGMA page_size").await as u64;
    let pages = scalar(&mut conn, "PRAGMA page_count").await as u64;
    conn.close().await.unwrap();
    assert_eq!(cache.set_size_limit(Some(1)).await.unwrap(), pages * page, "never below what the file holds");
    let limit = cache.set_size_limit(Some(64 * 1024 * 1024)).await.unwrap();
    assert_eq!(limit, 64 * 1024 * 1024 / page * page, "whole pages");
    let lifted = cache.set_size_limit(None).await.unwrap();
    assert!(lifted > 1 << 40, "lifted to SQLite's own maximum: {lifted}");
    finish(cache, &opts).await;
}
