//! Review data in the console cache, on real SQLite files: the hub's review events (from
//! any supervisor) projected into notes, tags and QA scores in the same append as the
//! events; this console's own writes kept as not yet pushed, and — when their event comes
//! back — the same row, now pushed; a pending change that is later than the hub's stands,
//! one the hub's events have caught up with leaves the outbox; and review data written
//! before review sync existed (schema 1) waiting to be pushed after the upgrade.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use domain::event::{CallRef, Event, EventBody, NoteRecord, QaRecord, TagsRecord};
use domain::ids::{RoundId, SdkAppId, Seq, SourceMs, TaskId};
use engine::cache::{Cache, NewNote, QaScore, ReviewChange, ReviewKind};
use serde_json::json;
use sqlx::Connection;

const APP: SdkAppId = SdkAppId(1_400_000_000);
const TASK: &str = "task-review";

fn now_ms() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

fn task() -> TaskId {
    TaskId::new(TASK)
}

fn started(ms: u64) -> Event {
    let body = json!({
        "EventGroupId": 9, "EventType": 901, "CallbackTs": ms + 40,
        "EventInfo": {"EventMsTs": ms, "TaskId": TASK, "RoomId": "8801", "RoomIdType": 0, "Payload": {"Status": 0}}
    });
    Event::from_callback(body.to_string().as_bytes(), Some(APP)).unwrap()
}

fn hub_fact(ms: u64, body: EventBody) -> Event {
    Event::hub_fact(CallRef::task(task()), SourceMs(ms), body)
}

fn note_added(ms: u64, id: &str, author: &str, text: &str) -> Event {
    hub_fact(
        ms,
        EventBody::NoteAdded(NoteRecord { id: id.into(), author: author.into(), round: None, text: text.into() }),
    )
}

fn tags_set(ms: u64, author: &str, tags: &[&str]) -> Event {
    let tags = tags.iter().map(|tag| (*tag).to_owned()).collect();
    hub_fact(ms, EventBody::TagsSet(TagsRecord { author: author.into(), tags }))
}

fn qa_scored(ms: u64, author: &str, score: u8) -> Event {
    hub_fact(ms, EventBody::QaScored(QaRecord { author: author.into(), score, comment: Some("checked".into()) }))
}

/// Appends events numbered after the cache's cursor, as the hub's stream delivers them.
async fn deliver(cache: &Cache, events: Vec<Event>) {
    let mut seq = cache.cursor().await.unwrap().0;
    let numbered = events
        .into_iter()
        .map(|event| {
            seq += 1;
            event.with_seq(Seq(seq))
        })
        .collect();
    let appended = cache.append(numbered).await.unwrap();
    assert_eq!(appended.cursor, Seq(seq));
}

async fn cache_with_call(dir: &Path) -> Cache {
    let opened = Cache::open(dir.join("cache.sqlite")).await.unwrap();
    deliver(&opened.cache, vec![started(now_ms() - 3_600_000)]).await;
    opened.cache
}

fn local_note(text: &str, at: u64) -> NewNote {
    NewNote {
        task: task(),
        round: Some(RoundId::new("r1")),
        author: "this console".into(),
        at: SourceMs(at),
        text: text.into(),
    }
}

#[tokio::test]
async fn review_events_from_another_supervisor_land_in_the_notes_tags_and_qa_tables() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_with_call(dir.path()).await;
    let t = now_ms() - 60_000;
    deliver(
        &cache,
        vec![
            note_added(t + 2_000, "n-2", "wang", "second"),
            note_added(t, "n-1", "wang", "first"),
            tags_set(t, "wang", &["vip", "投诉"]),
            qa_scored(t, "wang", 72),
        ],
    )
    .await;

    let notes = cache.notes(&task()).await.unwrap();
    let seen: Vec<(&str, &str, u64, bool)> =
        notes.iter().map(|n| (n.uid.as_str(), n.author.as_str(), n.at.0, n.pushed)).collect();
    assert_eq!(seen, [("n-1", "wang", t, true), ("n-2", "wang", t + 2_000, true)], "in time order, from the hub");
    assert_eq!(cache.tags(&task()).await.unwrap(), ["vip", "投诉"]);
    let qa = cache.qa_score(&task()).await.unwrap().unwrap();
    assert_eq!((qa.score, qa.reviewer.as_str(), qa.at), (72, "wang", SourceMs(t)));
    assert!(cache.unpushed_notes().await.unwrap().is_empty(), "nothing of another's is pushed from here");
    assert!(cache.outbox(None).await.unwrap().is_empty());
    let summary = cache.call_summary(&task()).await.unwrap().unwrap();
    assert_eq!((summary.notes, summary.qa_score), (2, Some(72)), "the history list sees them too");

    // The same events again (a re-delivery) and a cache reopened (the call folded again
    // from its stored events) change nothing.
    deliver(&cache, vec![note_added(t, "n-1", "wang", "first")]).await;
    cache.close().await;
    let cache = Cache::open(dir.path().join("cache.sqlite")).await.unwrap().cache;
    deliver(&cache, vec![qa_scored(t - 1, "li", 10)]).await;
    assert_eq!(cache.notes(&task()).await.unwrap().len(), 2, "one row per note id");
    assert_eq!(cache.qa_score(&task()).await.unwrap().unwrap().score, 72, "an older score does not replace");
}

#[tokio::test]
async fn this_consoles_note_and_its_returning_event_are_one_row_marked_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_with_call(dir.path()).await;
    let written = now_ms() - 5_000;
    let mine = cache.add_note(local_note("  客户要求回电 ", written)).await.unwrap();
    assert_eq!(mine.text, "客户要求回电");
    assert!(!mine.pushed && mine.push_error.is_none(), "written locally first, not yet pushed");
    assert_eq!(mine.uid.len(), 36, "a UUID: {}", mine.uid);
    assert_eq!(cache.unpushed_notes().await.unwrap(), vec![mine.clone()]);

    // The hub records it under the signed-in supervisor's name and sends it back.
    deliver(&cache, vec![note_added(written, &mine.uid, "li", "客户要求回电")]).await;
    let notes = cache.notes(&task()).await.unwrap();
    assert_eq!(notes.len(), 1, "the returning event is the same note, not a second one: {notes:?}");
    assert_eq!((notes[0].id, notes[0].author.as_str(), notes[0].pushed), (mine.id, "li", true));
    assert!(cache.unpushed_notes().await.unwrap().is_empty());

    // The push's own answer arriving after the event changes nothing; neither does a
    // refusal that comes too late.
    cache.note_pushed(&task(), &mine.uid).await.unwrap();
    cache.note_refused(&task(), &mine.uid, "409 note_id_taken: late").await.unwrap();
    let notes = cache.notes(&task()).await.unwrap();
    assert_eq!((notes.len(), notes[0].pushed, notes[0].push_error.as_deref()), (1, true, None));
}

#[tokio::test]
async fn a_note_the_hub_refuses_is_kept_with_the_reason_and_not_pushed_again() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_with_call(dir.path()).await;
    let refused = cache.add_note(local_note("refused one", now_ms())).await.unwrap();
    let kept = cache.add_note(local_note("still pending", now_ms())).await.unwrap();
    cache.note_refused(&task(), &refused.uid, "404 unknown_call: no call").await.unwrap();
    assert_eq!(cache.unpushed_notes().await.unwrap(), vec![kept], "only the pending one is pushed");
    let stored = cache.notes(&task()).await.unwrap();
    let refused = stored.iter().find(|note| note.uid == refused.uid).unwrap();
    assert_eq!((refused.pushed, refused.push_error.as_deref()), (false, Some("404 unknown_call: no call")));
}

#[tokio::test]
async fn a_pending_tag_set_stands_over_older_hub_events_and_leaves_when_the_hub_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_with_call(dir.path()).await;
    cache.set_tags(&task(), &["mine".into()]).await.unwrap();
    let [pending] = cache.outbox(Some(&task())).await.unwrap().try_into().unwrap();
    assert_eq!(pending.change, ReviewChange::Tags(vec!["mine".into()]));
    let written = pending.written.0;

    // Someone's set from before this console's (it was offline) does not replace it…
    deliver(&cache, vec![tags_set(written - 60_000, "wang", &["theirs"])]).await;
    assert_eq!(cache.tags(&task()).await.unwrap(), ["mine"], "the later local change stands");
    assert_eq!(cache.outbox(None).await.unwrap().len(), 1, "and is still to be pushed");

    // …its own event coming back acknowledges it…
    deliver(&cache, vec![tags_set(written, "li", &["mine"])]).await;
    assert_eq!(cache.tags(&task()).await.unwrap(), ["mine"]);
    assert!(cache.outbox(None).await.unwrap().is_empty(), "acknowledged by its own event");

    // …and a later set by someone else supersedes a pending one.
    cache.set_tags(&task(), &["again".into()]).await.unwrap();
    let written = cache.outbox(None).await.unwrap()[0].written.0;
    deliver(&cache, vec![tags_set(written + 1, "wang", &["newer"])]).await;
    assert_eq!(cache.tags(&task()).await.unwrap(), ["newer"]);
    assert!(cache.outbox(None).await.unwrap().is_empty(), "superseded: nothing left to push");
}

#[tokio::test]
async fn a_pending_qa_score_is_acknowledged_by_the_push_only_for_the_change_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_with_call(dir.path()).await;
    let t = now_ms();
    let score = |score: u8, at: u64| QaScore { score, reviewer: "li".into(), comment: None, at: SourceMs(at) };
    cache.set_qa_score(&task(), score(60, t)).await.unwrap();
    // A newer score is written while the first is being pushed; the first push's answer
    // must not take the newer one out of the outbox.
    cache.set_qa_score(&task(), score(90, t + 10)).await.unwrap();
    cache.outbox_pushed(&task(), ReviewKind::Qa, SourceMs(t)).await.unwrap();
    let outbox = cache.outbox(None).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(
        (outbox[0].change.clone(), outbox[0].written),
        (ReviewChange::Qa { score: 90, comment: None }, SourceMs(t + 10))
    );

    // An older score from the hub does not replace the pending one.
    deliver(&cache, vec![qa_scored(t - 1_000, "wang", 20)]).await;
    assert_eq!(cache.qa_score(&task()).await.unwrap().unwrap().score, 90);

    // A refusal marks it and keeps it out of pushes; the newer write clears the mark.
    cache.outbox_refused(&task(), ReviewKind::Qa, SourceMs(t + 10), "400 invalid_field: score: no").await.unwrap();
    assert_eq!(cache.outbox(None).await.unwrap()[0].push_error.as_deref(), Some("400 invalid_field: score: no"));
    cache.set_qa_score(&task(), score(91, t + 20)).await.unwrap();
    assert_eq!(cache.outbox(None).await.unwrap()[0].push_error, None);
    cache.outbox_pushed(&task(), ReviewKind::Qa, SourceMs(t + 20)).await.unwrap();
    assert!(cache.outbox(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn review_data_written_before_the_upgrade_is_kept_and_waits_to_be_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.sqlite");
    // A cache at schema 1, written by the release before review sync.
    let mut migrator = sqlx::migrate::Migrator::new(Path::new("../../migrations")).await.unwrap();
    let first: Vec<_> = migrator.migrations.iter().filter(|m| m.version == 1).cloned().collect();
    assert_eq!(first.len(), 1);
    migrator.migrations = Cow::Owned(first);
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    migrator.run(&mut conn).await.unwrap();
    for sql in [
        "INSERT INTO calls (task_id, status, abnormal_end, live, started_ms, last_ms, turns, user_sentences, \
         robot_sentences, interrupted_turns, errors, interventions, taken_over, last_seq) \
         VALUES ('task-review', 'ended', 0, 0, 1000, 2000, 0, 0, 0, 0, 0, 0, 0, 0)",
        "INSERT INTO notes (task_id, round_id, author, at_ms, text) VALUES ('task-review', NULL, 'li', 1500, 'old one')",
        "INSERT INTO notes (task_id, round_id, author, at_ms, text) VALUES ('task-review', 'r1', 'li', 1600, 'old two')",
        "INSERT INTO call_tags (task_id, tag) VALUES ('task-review', 'vip'), ('task-review', 'follow-up')",
        "INSERT INTO qa_scores (task_id, score, reviewer, comment, at_ms) VALUES ('task-review', 77, 'li', 'ok', 1700)",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    conn.close().await.unwrap();

    let opened = Cache::open(&path).await.unwrap();
    assert_eq!(opened.moved_aside, None, "an older schema is migrated, not moved aside");
    let cache = opened.cache;
    let notes = cache.notes(&task()).await.unwrap();
    assert_eq!(notes.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(), ["old one", "old two"]);
    for note in &notes {
        let uuid = uuid_shape(&note.uid);
        assert!(uuid, "{} is a v4 UUID", note.uid);
        assert!(!note.pushed);
    }
    assert_ne!(notes[0].uid, notes[1].uid);
    assert_eq!(cache.unpushed_notes().await.unwrap().len(), 2, "old notes wait to be pushed");
    let mut outbox: Vec<ReviewChange> = cache.outbox(None).await.unwrap().into_iter().map(|c| c.change).collect();
    outbox.sort_by_key(|change| change.kind() == ReviewKind::Tags);
    assert_eq!(
        outbox,
        [
            ReviewChange::Qa { score: 77, comment: Some("ok".into()) },
            ReviewChange::Tags(vec!["follow-up".into(), "vip".into()])
        ]
    );
}

/// `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`, lower-case hex.
fn uuid_shape(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let hex = |part: &str| part.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
    parts.iter().map(|part| part.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts.iter().all(|part| hex(part))
        && parts[2].starts_with('4')
        && parts[3].starts_with(['8', '9', 'a', 'b'])
}
