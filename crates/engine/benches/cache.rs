//! Benchmark of the console cache: which full-text index suits Chinese and English call
//! transcripts, and what the real cache does with a stream of calls.
//! Run with `cargo bench -p engine --bench cache` (about a minute).
//!
//! Part 1 puts one fixed corpus of zh/en customer-service sentences into three SQLite
//! FTS5 set-ups, side by side in the same run:
//! - **trigram**: the `trigram` tokenizer over the text, with a `LIKE '%…%'` scan for query
//!   terms shorter than 3 characters (trigram cannot match those from its index);
//! - **unicode61 + CJK split** (what the cache uses, `engine::cache::fts`): every CJK
//!   character its own token, a boundary token after punctuation, phrase queries;
//! - **bigram**: CJK runs indexed as overlapping character pairs (plus each run's last
//!   character), phrase queries of pairs; the index holds no displayable text, so it has no
//!   snippets.
//!
//! For each: database size and what the index adds over the bare sentences table, insert
//! rate (median of three builds), query latency (median of several runs, for the newest 50 hits and for all hits) and
//! correctness against a reference computed in Rust: a CJK term matches where it occurs as a
//! substring, a Latin term where a word starts with it, and every term must match.
//!
//! Part 2 drives the real `Cache`: appends (in batches and one event at a time), searches,
//! history pages and a purge. Every figure is the median of several samples in this run.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use domain::event::{CallRef, CommandAction, CommandRecord, CommandStage, Event, EventBody};
use domain::ids::{SdkAppId, Seq, SourceMs, TaskId};
use engine::cache::fts::{index_form, match_expression};
use engine::cache::{Cache, CallQuery};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection};

const SENTENCES: usize = 60_000;
const SAMPLES: usize = 7;
/// Times each index set-up is built (for a median insert rate).
const BUILDS: usize = 3;
const CALLS: usize = 500;
const TURNS: usize = 8;
const SINGLE_EVENT_APPENDS: usize = 2_000;
const APP: SdkAppId = SdkAppId(1_400_000_000);

// ---- corpus ----

const CUSTOMER_ZH: &[&str] = &[
    "我要投诉你们的服务",
    "你们的客服态度太差了，我要投诉",
    "转人工",
    "我要找人工客服",
    "叫你们经理来跟我说",
    "我想申请退款",
    "订单号是{n}",
    "我的订单号{n}怎么还没发货",
    "快递已经三天没更新了",
    "我已经，理解了，谢谢",
    "我已经理解你的意思了",
    "这个商品能退货吗",
    "能不能便宜一点",
    "我不需要了，取消吧",
    "你们的经理电话是多少",
    "人呢？怎么没人说话",
    "工作日几点上班",
    "我是老客户了，这次真的很失望",
    "order 订单号 {n} 帮我查一下",
];
const ROBOT_ZH: &[&str] = &[
    "您好，请问有什么可以帮您？",
    "好的，请您提供一下订单号",
    "非常抱歉给您带来不便，我马上为您处理",
    "正在为您转接人工客服，请稍等",
    "退款将在三个工作日内原路退回",
    "您的订单{n}已经发货，预计明天送达",
    "请问还有其他问题吗？",
];
const EN: &[&str] = &[
    "I want to speak to a human agent",
    "Can I talk to your manager?",
    "Where is my refund?",
    "My order {n} was refunded twice",
    "This is unacceptable, I want to file a complaint",
    "Hello, how can I help you today?",
    "Sure, connecting you to a human agent now.",
    "Your refund has been processed.",
    "The manager will call you back.",
    "Thanks, that's all.",
    "Human resources is not this department",
];

const QUERIES: &[&str] = &[
    "投诉",
    "人工",
    "经理",
    "退款",
    "订单号",
    "我要投诉",
    "转人工",
    "人",
    "发票",
    "refund",
    "human agent",
    "manag",
    "man",
    "订单号 order",
];

/// A small deterministic generator (64-bit LCG): the corpus is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[(self.next() as usize) % list.len()]
    }
}

fn fill(template: &str, rng: &mut Lcg) -> String {
    template.replace("{n}", &format!("A{:06}", rng.next() % 1_000_000))
}

fn corpus() -> Vec<String> {
    let mut rng = Lcg(20_261_124);
    (0..SENTENCES)
        .map(|_| {
            let list = match rng.next() % 10 {
                0..=3 => CUSTOMER_ZH,
                4..=6 => ROBOT_ZH,
                _ => EN,
            };
            fill(rng.pick(list), &mut rng)
        })
        .collect()
}

// ---- reference matching ----

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

fn reference(query: &str, text: &str) -> bool {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric() || is_cjk(c)).collect();
    query.split_whitespace().all(|term| {
        let term = term.to_lowercase();
        if term.chars().any(is_cjk) {
            lower.contains(&term)
        } else {
            words.iter().any(|word| word.starts_with(&term))
        }
    })
}

// ---- the three set-ups ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Bare,
    Trigram,
    Unicode61,
    Bigram,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::Bare => "sentences table alone",
            Setup::Trigram => "trigram + LIKE under 3 chars",
            Setup::Unicode61 => "unicode61 + CJK split (cache)",
            Setup::Bigram => "bigram",
        }
    }

    fn schema(self) -> &'static [&'static str] {
        match self {
            Setup::Bare => &["CREATE TABLE s (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"],
            Setup::Trigram => &[
                "CREATE TABLE s (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
                "CREATE VIRTUAL TABLE fts USING fts5 (text, content = 's', content_rowid = 'id', tokenize = 'trigram')",
                "CREATE TRIGGER s_ai AFTER INSERT ON s BEGIN INSERT INTO fts (rowid, text) VALUES (new.id, new.text); END",
            ],
            Setup::Unicode61 => &[
                "CREATE TABLE s (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
                "CREATE VIRTUAL TABLE fts USING fts5 (text, content = 's', content_rowid = 'id', \
                 tokenize = 'unicode61 remove_diacritics 2')",
                "CREATE TRIGGER s_ai AFTER INSERT ON s BEGIN INSERT INTO fts (rowid, text) VALUES (new.id, new.text); END",
            ],
            Setup::Bigram => &[
                "CREATE TABLE s (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
                "CREATE VIRTUAL TABLE fts USING fts5 (text, content = '', tokenize = 'unicode61 remove_diacritics 2')",
            ],
        }
    }

    /// What goes into `s.text`, and for the bigram set-up into the contentless index.
    fn stored(self, text: &str) -> (String, Option<String>) {
        match self {
            Setup::Bare | Setup::Trigram => (text.to_owned(), None),
            Setup::Unicode61 => (index_form(text), None),
            Setup::Bigram => (text.to_owned(), Some(bigram_form(text))),
        }
    }
}

/// CJK runs as overlapping pairs plus the run's last character; everything else as is.
fn bigram_form(text: &str) -> String {
    let mut out = String::new();
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        for pair in run.windows(2) {
            out.push(' ');
            out.extend(pair);
        }
        if let Some(last) = run.last() {
            out.push(' ');
            out.push(*last);
        }
        out.push(' ');
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The bigram set-up's FTS5 expression: a CJK term as the phrase of its pairs (a single
/// character as a prefix over pairs), a Latin term as a word prefix.
fn bigram_query(query: &str) -> String {
    query
        .split_whitespace()
        .map(|term| {
            let chars: Vec<char> = term.chars().collect();
            if chars.iter().any(|c| is_cjk(*c)) {
                if chars.len() == 1 {
                    format!("\"{term}\"*")
                } else {
                    let pairs: Vec<String> = chars.windows(2).map(|pair| pair.iter().collect()).collect();
                    format!("\"{}\"", pairs.join(" "))
                }
            } else {
                format!("\"{term}\"*")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

async fn connect(path: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .disable_statement_logging()
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

async fn exec(conn: &mut SqliteConnection, sql: &str) {
    sqlx::query(sql).execute(&mut *conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Builds one set-up; answers (insert time, database bytes).
async fn build(conn: &mut SqliteConnection, setup: Setup, corpus: &[String]) -> (Duration, u64) {
    for sql in setup.schema() {
        exec(conn, sql).await;
    }
    let started = Instant::now();
    for (chunk_index, chunk) in corpus.chunks(500).enumerate() {
        let rows: Vec<(usize, String, Option<String>)> = chunk
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let (stored, extra) = setup.stored(text);
                (chunk_index * 500 + i + 1, stored, extra)
            })
            .collect();
        let json = serde_json::to_string(&rows).unwrap_or_default();
        let mut tx = conn.begin().await.unwrap_or_else(|e| panic!("begin: {e}"));
        sqlx::query("INSERT INTO s (id, text) SELECT value ->> 0, value ->> 1 FROM json_each(?1)")
            .bind(&json)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("insert: {e}"));
        if setup == Setup::Bigram {
            sqlx::query("INSERT INTO fts (rowid, text) SELECT value ->> 0, value ->> 2 FROM json_each(?1)")
                .bind(&json)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("index: {e}"));
        }
        tx.commit().await.unwrap_or_else(|e| panic!("commit: {e}"));
    }
    let took = started.elapsed();
    exec(conn, "PRAGMA wal_checkpoint(TRUNCATE)").await;
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&mut *conn).await.unwrap_or(0);
    let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&mut *conn).await.unwrap_or(0);
    (took, u64::try_from(pages * page_size).unwrap_or(0))
}

/// The ids a query finds: `limit` newest, or all of them.
async fn find(conn: &mut SqliteConnection, setup: Setup, query: &str, limit: Option<i64>) -> Vec<i64> {
    let limit = limit.unwrap_or(-1);
    let result = match setup {
        Setup::Bare => Ok(Vec::new()),
        Setup::Unicode61 | Setup::Bigram => {
            let expression = match setup {
                Setup::Unicode61 => match_expression(query).unwrap_or_default(),
                _ => bigram_query(query),
            };
            sqlx::query_scalar("SELECT rowid FROM fts WHERE fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2")
                .bind(expression)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await
        }
        Setup::Trigram => {
            // Terms of 3+ characters from the index, shorter ones by scanning.
            let (long, short): (Vec<&str>, Vec<&str>) =
                query.split_whitespace().partition(|term| term.chars().count() >= 3);
            let mut binds: Vec<String> = Vec::new();
            let (mut sql, order) = if short.is_empty() {
                // The same shape as the other set-ups: FTS5 walks its rowids newest first.
                ("SELECT rowid FROM fts WHERE fts MATCH ?".to_owned(), " ORDER BY rowid DESC LIMIT ?")
            } else if long.is_empty() {
                ("SELECT s.id FROM s WHERE 1".to_owned(), " ORDER BY s.id DESC LIMIT ?")
            } else {
                let join = "SELECT s.id FROM s JOIN fts ON fts.rowid = s.id WHERE fts MATCH ?";
                (join.to_owned(), " ORDER BY s.id DESC LIMIT ?")
            };
            if !long.is_empty() {
                let phrases: Vec<String> = long.iter().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect();
                binds.push(phrases.join(" "));
            }
            for term in short {
                sql.push_str(" AND s.text LIKE ?");
                binds.push(format!("%{term}%"));
            }
            sql.push_str(order);
            let mut q = sqlx::query_scalar(&sql);
            for bind in binds {
                q = q.bind(bind);
            }
            q.bind(limit).fetch_all(&mut *conn).await
        }
    };
    result.unwrap_or_else(|e| panic!("{} {query:?}: {e}", setup.name()))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

struct Measured {
    setup: Setup,
    insert: Duration,
    bytes: u64,
    queries: Vec<QueryFigure>,
}

/// One query on one set-up.
struct QueryFigure {
    /// Median ms for the newest 50 hits.
    top_ms: f64,
    /// Median ms for all hits.
    all_ms: f64,
    right: usize,
    false_positives: usize,
    missed: usize,
}

async fn part_one(dir: &Path) -> Vec<Measured> {
    let corpus = corpus();
    let chars: usize = corpus.iter().map(|s| s.chars().count()).sum();
    println!(
        "Part 1: {SENTENCES} sentences ({chars} characters, zh and en), {} queries, {SAMPLES} samples each\n",
        QUERIES.len()
    );
    let setups = [Setup::Bare, Setup::Trigram, Setup::Unicode61, Setup::Bigram];
    // Each set-up is built BUILDS times, the set-ups taking turns, so a noisy neighbour
    // slows them alike; the median insert time counts, the last build is queried.
    let mut inserts: Vec<Vec<Duration>> = vec![Vec::new(); setups.len()];
    let mut built: Vec<Option<(SqliteConnection, u64)>> = setups.iter().map(|_| None).collect();
    for round in 0..BUILDS {
        for (index, setup) in setups.iter().enumerate() {
            if let Some((conn, _)) = built[index].take() {
                let _ = conn.close().await;
            }
            let path = dir.join(format!("fts-{setup:?}-{round}.sqlite"));
            let mut conn = connect(&path).await;
            let (insert, bytes) = build(&mut conn, *setup, &corpus).await;
            inserts[index].push(insert);
            built[index] = Some((conn, bytes));
        }
    }
    let mut results = Vec::new();
    for ((setup, insert), built) in setups.into_iter().zip(inserts).zip(built) {
        let Some((mut conn, bytes)) = built else { continue };
        let insert = median(insert);
        let mut queries = Vec::new();
        if setup == Setup::Trigram {
            // What the fallback is for: the trigram index alone finds nothing shorter than 3.
            for query in QUERIES.iter().filter(|q| q.split_whitespace().any(|t| t.chars().count() < 3)) {
                let alone: i64 = sqlx::query_scalar("SELECT count(*) FROM fts WHERE fts MATCH ?")
                    .bind(format!("\"{query}\""))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("trigram alone {query:?}: {e}"));
                println!("trigram index alone, without LIKE: {query:?} finds {alone}");
            }
            println!();
        }
        if setup != Setup::Bare {
            for query in QUERIES {
                let expected: BTreeSet<i64> =
                    (0..corpus.len()).filter(|i| reference(query, &corpus[*i])).map(|i| i as i64 + 1).collect();
                let found: BTreeSet<i64> = find(&mut conn, setup, query, None).await.into_iter().collect();
                let right = found.intersection(&expected).count();
                let mut top = Vec::new();
                let mut all = Vec::new();
                find(&mut conn, setup, query, Some(50)).await; // warm-up
                for _ in 0..SAMPLES {
                    let started = Instant::now();
                    find(&mut conn, setup, query, Some(50)).await;
                    top.push(started.elapsed());
                    let started = Instant::now();
                    find(&mut conn, setup, query, None).await;
                    all.push(started.elapsed());
                }
                queries.push(QueryFigure {
                    top_ms: ms(median(top)),
                    all_ms: ms(median(all)),
                    right,
                    false_positives: found.len() - right,
                    missed: expected.len() - right,
                });
            }
        }
        let _ = conn.close().await;
        results.push(Measured { setup, insert, bytes, queries });
    }

    let bare = results[0].bytes;
    println!("{:<32} {:>10} {:>12} {:>14}", "set-up", "DB MiB", "index MiB", "inserts /s");
    for r in &results {
        println!(
            "{:<32} {:>10.2} {:>12.2} {:>14.0}",
            r.setup.name(),
            r.bytes as f64 / 1_048_576.0,
            r.bytes.saturating_sub(bare) as f64 / 1_048_576.0,
            SENTENCES as f64 / r.insert.as_secs_f64()
        );
    }
    for (title, pick) in [("newest 50 hits, median ms", 0), ("all hits, median ms", 1)] {
        println!("\n{title}:");
        print!("{:<14}", "query");
        for r in &results[1..] {
            print!(" {:>30}", r.setup.name());
        }
        println!();
        for (i, query) in QUERIES.iter().enumerate() {
            print!("{:<14}", query);
            for r in &results[1..] {
                let figure = &r.queries[i];
                print!(" {:>30.3}", if pick == 0 { figure.top_ms } else { figure.all_ms });
            }
            println!();
        }
    }
    println!("\ncorrectness against the reference (hits right / false positives / missed):");
    for (i, query) in QUERIES.iter().enumerate() {
        print!("{:<14}", query);
        for r in &results[1..] {
            let figure = &r.queries[i];
            print!(" {:>30}", format!("{} / {} / {}", figure.right, figure.false_positives, figure.missed));
        }
        println!();
    }
    let unicode = &results[2];
    for other in [&results[1], &results[3]] {
        let total = |r: &Measured, pick: fn(&QueryFigure) -> f64| -> f64 { r.queries.iter().map(pick).sum() };
        println!(
            "\nratios, {} / unicode61 + CJK split: index size {:.2}x, insert time {:.2}x, \
             sum of newest-50 latencies {:.2}x, sum of all-hits latencies {:.2}x",
            other.setup.name(),
            other.bytes.saturating_sub(bare) as f64 / unicode.bytes.saturating_sub(bare).max(1) as f64,
            other.insert.as_secs_f64() / unicode.insert.as_secs_f64(),
            total(other, |q| q.top_ms) / total(unicode, |q| q.top_ms),
            total(other, |q| q.all_ms) / total(unicode, |q| q.all_ms),
        );
    }
    results
}

// ---- part 2: the real cache ----

fn ai(task: &str, room: usize, event_type: u64, ms: u64, payload: serde_json::Value) -> Event {
    let body = json!({
        "EventGroupId": 9, "EventType": event_type, "CallbackTs": ms + 40,
        "EventInfo": {"EventMsTs": ms, "TaskId": task, "RoomId": room.to_string(), "RoomIdType": 0, "Payload": payload}
    });
    Event::from_callback(body.to_string().as_bytes(), Some(APP))
        .unwrap_or_else(|e| panic!("the benchmark's own callback must normalise: {e}"))
}

/// `CALLS` calls of `TURNS` turns with lines from the corpus, interleaved by source time and
/// numbered as the hub would.
fn stream() -> Vec<Event> {
    let mut rng = Lcg(7);
    let t0 = 1_764_000_000_000u64;
    let mut all: Vec<Event> = Vec::new();
    for call in 0..CALLS {
        let task = format!("bench-task-{call:05}");
        let start = t0 + call as u64 * 2_000;
        all.push(ai(&task, call, 901, start, json!({"Status": 0})));
        for turn in 0..TURNS {
            let round = format!("r{turn}");
            let t = start + 1_000 + turn as u64 * 8_000;
            let (user, robot) = if rng.next() % 4 == 0 {
                (fill(rng.pick(EN), &mut rng), fill(rng.pick(EN), &mut rng))
            } else {
                (fill(rng.pick(CUSTOMER_ZH), &mut rng), fill(rng.pick(ROBOT_ZH), &mut rng))
            };
            all.push(ai(&task, call, 904, t, json!({"UserId": "customer", "RoundId": round})));
            all.push(ai(&task, call, 903, t + 1_500, json!({"UserId": "customer", "Text": user, "RoundId": round})));
            all.push(ai(&task, call, 903, t + 3_000, json!({"UserId": "robot", "Text": robot, "RoundId": round})));
            for (i, name) in [
                "asr_latency",
                "llm_network_latency",
                "llm_first_token",
                "tts_network_latency",
                "tts_first_frame_latency",
                "tts_discontinuity",
                "interruption",
            ]
            .into_iter()
            .enumerate()
            {
                let value = if name == "interruption" || name == "tts_discontinuity" {
                    0.0
                } else {
                    (rng.next() % 2_000) as f64
                };
                all.push(ai(
                    &task,
                    call,
                    906,
                    t + 3_100 + i as u64,
                    json!({"Metric": name, "Value": value, "Tag": {"RoundId": round}}),
                ));
            }
            all.push(ai(&task, call, 905, t + 6_000, json!({"UserId": "robot", "RoundId": round, "Text": robot})));
        }
        if call % 10 == 0 {
            let record = CommandRecord {
                id: format!("cmd-{call}"),
                by: "li.na".into(),
                action: CommandAction::Say,
                stage: CommandStage::Done,
                round: None,
                summary: Some("说：请稍等".into()),
                error: None,
            };
            all.push(Event::hub_fact(
                CallRef::task(TaskId::new(&task)),
                SourceMs(start + 5_000),
                EventBody::Command(record),
            ));
        }
        all.push(ai(&task, call, 902, start + 2_000 + TURNS as u64 * 8_000, json!({"LeaveCode": 0})));
    }
    all.sort_by_key(|event| event.source_ms);
    all.into_iter().enumerate().map(|(i, event)| event.with_seq(Seq(i as u64 + 1))).collect()
}

async fn timed<T>(future: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = future.await;
    (out, started.elapsed())
}

async fn part_two(dir: &Path) {
    let events = stream();
    let n = events.len();
    println!("\nPart 2: the cache, {CALLS} calls x {TURNS} turns = {n} events\n");

    let cache = Cache::open(dir.join("batched.sqlite")).await.unwrap_or_else(|e| panic!("{e}")).cache;
    let (_, batched) = timed(async {
        for chunk in events.chunks(500) {
            cache.append(chunk.to_vec()).await.unwrap_or_else(|e| panic!("append: {e}"));
        }
    })
    .await;
    let single = Cache::open(dir.join("single.sqlite")).await.unwrap_or_else(|e| panic!("{e}")).cache;
    let (_, one_by_one) = timed(async {
        for event in &events[..SINGLE_EVENT_APPENDS] {
            single.append(vec![event.clone()]).await.unwrap_or_else(|e| panic!("append: {e}"));
        }
    })
    .await;
    single.close().await;
    let batched_rate = n as f64 / batched.as_secs_f64();
    let single_rate = SINGLE_EVENT_APPENDS as f64 / one_by_one.as_secs_f64();
    println!("append, batches of 500            {batched_rate:>10.0} events/s");
    println!("append, one event per transaction {single_rate:>10.0} events/s (first {SINGLE_EVENT_APPENDS})");
    println!(
        "size on disk                      {:>10.1} KiB per call",
        cache.size_bytes().unwrap_or(0) as f64 / 1024.0 / CALLS as f64
    );

    let mut figures = Vec::new();
    for query in ["投诉", "人", "human agent", "订单号 order"] {
        let mut samples = Vec::new();
        let mut hits = 0;
        for _ in 0..SAMPLES {
            let (found, took) = timed(cache.search(query, 50)).await;
            hits = found.unwrap_or_else(|e| panic!("search: {e}")).len();
            samples.push(took);
        }
        figures.push((format!("search {query:?} ({hits} hits shown)"), median(samples)));
    }
    for (name, query) in [
        ("history: first page", CallQuery::default()),
        ("history: text \"投诉\"", CallQuery { text: Some("投诉".into()), ..CallQuery::default() }),
        ("history: with an error", CallQuery { has_error: Some(true), ..CallQuery::default() }),
    ] {
        let mut samples = Vec::new();
        for _ in 0..SAMPLES {
            let (page, took) = timed(cache.calls(&query)).await;
            page.unwrap_or_else(|e| panic!("calls: {e}"));
            samples.push(took);
        }
        figures.push((name.to_owned(), median(samples)));
    }
    for (name, took) in &figures {
        println!("{name:<40} median {:>8.2} ms", ms(*took));
    }

    let (purged, took) = timed(cache.purge_finished_before(SourceMs(u64::MAX / 2))).await;
    let purged = purged.unwrap_or_else(|e| panic!("purge: {e}"));
    println!(
        "purge every call: {} calls, {} events in {} transactions, {:.0} ms ({:.0} events/s)",
        purged.calls,
        purged.events,
        purged.steps,
        ms(took),
        purged.events as f64 / took.as_secs_f64()
    );
    cache.close().await;
    println!(
        "\nratio: batched append / one event per transaction, per event: {:.1}x faster",
        batched_rate / single_rate
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temporary folder: {e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start tokio: {e}"));
    runtime.block_on(async {
        part_one(dir.path()).await;
        part_two(dir.path()).await;
    });
}
