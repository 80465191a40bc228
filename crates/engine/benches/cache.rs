//! Benchmark of the console cache (`engine::cache`): which full-text index suits Chinese and
//! English transcripts, and what the real cache costs to write, search and read back, each
//! beside a baseline or goal measured in the same run.
//! Run with `cargo bench -p engine --bench cache` (the binary runs 80–100 s on 2 cores, plus
//! the release build); `cargo xtask bench` runs it with the others. Figures and what they
//! mean: `docs/benchmarks.md`, "Console cache".
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
//! rate (median of three builds), query latency (median of several runs, for the newest 50
//! hits and for all hits) and correctness against a reference computed in Rust: a CJK term
//! matches where it occurs as a substring, a Latin term where a word starts with it, and
//! every term must match.
//!
//! Part 2: events/s through `Cache::append` (500 eight-turn calls, batches of 500) beside a
//! raw baseline: the same rows inserted with plain prepared `rusqlite` statements, one
//! transaction per batch, into a file with the cache's own schema (FTS triggers included).
//! The baseline's rows are computed before its clock starts, the way `cache/project.rs`
//! derives them (the domain fold, then only the rows that changed since the last batch), and
//! both files are compared row for row after each round. Beside them, the same rows in the
//! cache's own statement shape (each table's rows of a batch as one JSON array into one
//! `INSERT … SELECT … FROM json_each`) and as multi-row `INSERT … VALUES` statements
//! (one per table per batch), both through rusqlite, and the time to derive the rows alone,
//! to show where the cache's time goes and what a faster writer would look like. Three rounds, taking turns; then
//! single-event appends, searches, history pages, bytes per sentence and a purge.
//!
//! Part 3: search over 1,000,000 final sentences (seeded zh/en corpus in 25,000-odd calls,
//! built once through `Cache::append`): p50/p95/p99 of `Cache::search` over a fixed set of
//! Chinese 1-, 2- and 3+-character and English word and prefix queries, plus per query.
//!
//! Part 4: opening a 1,000-sentence call as the review screen does (`call_events`,
//! `call_review`, `call_recordings`): `events_of` and folding them with `Call::apply`, the
//! notes, tags, QA score and outbox, and the recordings, on the same 1M-sentence file;
//! `call_summary` and `turns` are timed beside it, not counted.
//!
//! Bytes per sentence and per event (file plus WAL after a checkpoint) are measured on the
//! caches of parts 2 and 3. A summary sets every figure beside its goal.
//!
//! What deliberately does not live here: pass/fail assertions on time. A benchmark prints;
//! the goals are judged in the summary and in `docs/benchmarks.md`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

use domain::call::{Call, CallStatus, Line, Turn};
use domain::event::{CallRef, CommandAction, CommandRecord, CommandStage, Event, EventBody, Speaker};
use domain::ids::{SdkAppId, Seq, SourceMs, TaskId};
use engine::cache::fts::{index_form, match_expression, ELLIPSIS, HIGHLIGHT_END, HIGHLIGHT_START};
use engine::cache::{Cache, CallQuery};
use rusqlite::types::Value;
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection};

// Part 1.
const SENTENCES: usize = 60_000;
const SAMPLES: usize = 7;
/// Times each index set-up is built (for a median insert rate).
const BUILDS: usize = 3;

// Part 2.
const CALLS: usize = 500;
const TURNS: usize = 8;
/// Events per `append` (and per baseline transaction).
const INGEST_BATCH: usize = 500;
/// Rounds of cache-then-baseline (alternating which goes first).
const INGEST_ROUNDS: usize = 3;
const SINGLE_EVENT_APPENDS: usize = 2_000;

// Parts 3 and 4.
const BIG_SENTENCES: usize = 1_000_000;
/// Calls talking at once in the big corpus; their events interleave.
const SLOTS: usize = 64;
/// Calls of `LONG_CALL_TURNS` full turns (two final sentences each) among them.
const LONG_CALLS: usize = 5;
const LONG_CALL_TURNS: usize = 500;
/// Events per `append` while building the big cache (the writer's largest transaction).
const BUILD_BATCH: usize = 2_000;
/// Rounds over the whole search query set (at least 3; fewer than this if over budget).
const SEARCH_ROUNDS: usize = 15;
const SEARCH_BUDGET: Duration = Duration::from_secs(75);
/// Hits per search: one page of the search screen.
const SEARCH_LIMIT: u32 = 50;
/// Times each long call is opened.
const OPEN_ROUNDS: usize = 20;
/// Rounds of the statement-by-statement search breakdown.
const BREAKDOWN_ROUNDS: usize = 5;

// Goals from the issue.
const GOAL_EVENTS_PER_S: f64 = 50_000.0;
const GOAL_RAW_RATIO: f64 = 0.5;
const GOAL_SEARCH_P95_MS: f64 = 50.0;
const GOAL_OPEN_MS: f64 = 20.0;

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

// ---- shared ----

/// The nearest-rank percentile `p` (0–1) of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median_f64(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    percentile(&samples, 0.5)
}

async fn timed<T>(future: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = future.await;
    (out, started.elapsed())
}

async fn open_cache(path: &Path) -> Cache {
    Cache::open(path).await.unwrap_or_else(|e| panic!("cannot open the cache {}: {e}", path.display())).cache
}

/// A plain SQLite connection to a cache file, beside the cache's own.
fn raw_connection(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    conn.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;",
    )
    .unwrap_or_else(|e| panic!("cannot configure {}: {e}", path.display()));
    conn
}

/// Folds the WAL into the file and empties it, so the size on disk is the data's.
fn checkpoint(path: &Path) {
    let conn = raw_connection(path);
    let (busy, log, moved): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap_or_else(|e| panic!("checkpoint {}: {e}", path.display()));
    if busy != 0 {
        println!("warning: checkpoint of {} was blocked ({moved} of {log} pages moved)", path.display());
    }
}

fn count(path: &Path, sql: &str) -> i64 {
    raw_connection(path).query_row(sql, [], |row| row.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A number with thousands separators.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 {
        out.insert(0, '-');
    }
    out
}

// ---- part 2: events into the cache, beside raw inserts of the same rows ----

fn ai(task: &str, room: usize, event_type: u64, ms: u64, payload: serde_json::Value) -> Event {
    let body = json!({
        "EventGroupId": 9, "EventType": event_type, "CallbackTs": ms + 40,
        "EventInfo": {"EventMsTs": ms, "TaskId": task, "RoomId": room.to_string(), "RoomIdType": 0, "Payload": payload}
    });
    Event::from_callback(body.to_string().as_bytes(), Some(APP))
        .unwrap_or_else(|e| panic!("the benchmark's own callback must normalise: {e}"))
}

const METRICS: [&str; 7] = [
    "asr_latency",
    "llm_network_latency",
    "llm_first_token",
    "tts_network_latency",
    "tts_first_frame_latency",
    "tts_discontinuity",
    "interruption",
];

/// One full turn as TRTC reports it: 904, the customer's and the robot's final sentences,
/// the seven metrics, 905 (11 events).
fn full_turn(task: &str, room: usize, round: &str, t: u64, user: &str, robot: &str, rng: &mut Lcg) -> Vec<Event> {
    let mut out = vec![
        ai(task, room, 904, t, json!({"UserId": "customer", "RoundId": round})),
        ai(task, room, 903, t + 1_500, json!({"UserId": "customer", "Text": user, "RoundId": round})),
        ai(task, room, 903, t + 3_000, json!({"UserId": "robot", "Text": robot, "RoundId": round})),
    ];
    for (i, name) in METRICS.into_iter().enumerate() {
        let value =
            if name == "interruption" || name == "tts_discontinuity" { 0.0 } else { (rng.next() % 2_000) as f64 };
        out.push(ai(
            task,
            room,
            906,
            t + 3_100 + i as u64,
            json!({"Metric": name, "Value": value, "Tag": {"RoundId": round}}),
        ));
    }
    out.push(ai(task, room, 905, t + 6_000, json!({"UserId": "robot", "RoundId": round, "Text": robot})));
    out
}

/// `CALLS` calls of `TURNS` full turns with lines from part 1's corpus, a supervisor's
/// command in every tenth call, interleaved by source time and numbered as the hub would.
fn stream() -> Vec<Event> {
    let mut rng = Lcg(7);
    let t0 = 1_764_000_000_000u64;
    let mut all: Vec<Event> = Vec::new();
    for call in 0..CALLS {
        let task = format!("bench-task-{call:05}");
        let start = t0 + call as u64 * 2_000;
        all.push(ai(&task, call, 901, start, json!({"Status": 0})));
        for turn in 0..TURNS {
            let (user, robot) = if rng.next() % 4 == 0 {
                (fill(rng.pick(EN), &mut rng), fill(rng.pick(EN), &mut rng))
            } else {
                (fill(rng.pick(CUSTOMER_ZH), &mut rng), fill(rng.pick(ROBOT_ZH), &mut rng))
            };
            let t = start + 1_000 + turn as u64 * 8_000;
            all.extend(full_turn(&task, call, &format!("r{turn}"), t, &user, &robot, &mut rng));
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

/// One row's values, in its statement's column order.
type Row = Vec<Value>;

fn text(value: impl ToString) -> Value {
    Value::Text(value.to_string())
}

fn int(value: u64) -> Value {
    Value::Integer(i64::try_from(value).unwrap_or(i64::MAX))
}

fn opt_int(value: Option<u64>) -> Value {
    value.map_or(Value::Null, int)
}

fn opt_text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, text)
}

fn flag(value: bool) -> Value {
    Value::Integer(i64::from(value))
}

fn metric(sample: Option<domain::call::MetricSample>) -> Value {
    sample.map(|s| s.value).filter(|v| v.is_finite()).map_or(Value::Null, Value::Real)
}

/// A value's serde name, or the string field `field` of its serde form (an enum's tag).
fn serde_name(value: &impl serde::Serialize, field: Option<&str>) -> String {
    let json = serde_json::to_value(value).unwrap_or_else(|e| panic!("serialise: {e}"));
    let name = match field {
        Some(field) => json.get(field).and_then(|v| v.as_str()).map(str::to_owned),
        None => json.as_str().map(str::to_owned),
    };
    name.unwrap_or_else(|| panic!("no name in {json}"))
}

const EVENT_COLUMNS: &[&str] = &["seq", "task_id", "sdk_app_id", "room_id", "room_scoped", "kind", "source_ms", "body"];
const CALL_COLUMNS: &[&str] = &[
    "task_id",
    "sdk_app_id",
    "room_id",
    "room_numeric",
    "status",
    "leave_code",
    "abnormal_end",
    "live",
    "started_ms",
    "ready_ms",
    "ended_ms",
    "last_ms",
    "turns",
    "user_sentences",
    "robot_sentences",
    "interrupted_turns",
    "errors",
    "interventions",
    "taken_over",
    "last_seq",
];
const TURN_COLUMNS: &[&str] = &[
    "task_id",
    "round_id",
    "first_ms",
    "speech_started_ms",
    "finished_ms",
    "user_text",
    "user_final",
    "robot_text",
    "robot_final",
    "interrupted",
    "errors",
    "asr_latency",
    "llm_network_latency",
    "llm_first_token",
    "tts_network_latency",
    "tts_first_frame_latency",
    "tts_discontinuity",
    "interruption",
];
const SENTENCE_COLUMNS: &[&str] = &["task_id", "round_id", "user_id", "speaker", "at_ms", "body"];
const INTERVENTION_COLUMNS: &[&str] = &[
    "seq",
    "task_id",
    "at_ms",
    "kind",
    "actor",
    "action",
    "stage",
    "command_id",
    "round_id",
    "summary",
    "error",
    "lock_holder",
];

/// `INSERT … VALUES (?1, …)`; with `key`, an upsert overwriting every other column, as the
/// cache's own statements do.
fn insert_sql(table: &str, columns: &[&str], key: Option<&[&str]>) -> String {
    let values: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ({})", columns.join(", "), values.join(", "));
    if let Some(key) = key {
        let updates: Vec<String> =
            columns.iter().filter(|c| !key.contains(c)).map(|c| format!("{c} = excluded.{c}")).collect();
        sql.push_str(&format!(" ON CONFLICT ({}) DO UPDATE SET {}", key.join(", "), updates.join(", ")));
    }
    sql
}

/// The rows one cache transaction writes, ready to bind.
#[derive(Default)]
struct RawBatch {
    events: Vec<Row>,
    calls: Vec<Row>,
    turns: Vec<Row>,
    sentence_deletes: Vec<Row>,
    sentences: Vec<Row>,
    interventions: Vec<Row>,
    cursor: i64,
}

/// A call folded with the domain's fold, and the rows last written for it.
struct Folded {
    call: Call,
    first_ms: u64,
    last_seq: u64,
    written: Option<WrittenRows>,
}

/// A call's row, its turns by round and its final sentences by (round, speaker).
type WrittenRows = (Row, HashMap<String, Row>, HashMap<(String, String), Row>);

impl Folded {
    fn call_row(&self) -> Row {
        let call = &self.call;
        let (leave_code, abnormal) = match call.status() {
            CallStatus::Ended { leave_code } => (Some(u64::from(leave_code.code())), leave_code.is_abnormal()),
            _ => (None, false),
        };
        let counts = call.counts();
        let started = call.started_ms().map_or(self.first_ms, |ms| ms.0);
        let oversight = call.oversight();
        vec![
            text(call.task()),
            opt_int(call.sdk_app_id().map(|app| app.0)),
            opt_text(call.room().map(|room| room.as_str())),
            call.room().map_or(Value::Null, |room| flag(room.kind() == domain::ids::RoomIdKind::Numeric)),
            text(serde_name(&call.status(), Some("status"))),
            opt_int(leave_code),
            flag(abnormal),
            flag(call.is_live()),
            int(started),
            opt_int(call.session_ready_ms().map(|ms| ms.0)),
            opt_int(call.ended_ms().map(|ms| ms.0)),
            int(call.last_ms().map_or(started, |ms| ms.0).max(started)),
            int(counts.turns as u64),
            int(counts.user_sentences as u64),
            int(counts.robot_sentences as u64),
            int(counts.interrupted_turns as u64),
            int(counts.errors as u64),
            int(oversight.commands().len() as u64),
            flag(
                oversight
                    .command_steps()
                    .iter()
                    .any(|step| step.value.action == CommandAction::TakeOver && step.value.stage == CommandStage::Done),
            ),
            int(self.last_seq),
        ]
    }
}

fn turn_row(task: &str, turn: &Turn) -> Row {
    let metrics = turn.metrics();
    vec![
        text(task),
        text(turn.round()),
        int(turn.first_ms().0),
        opt_int(turn.speech_started_ms().map(|ms| ms.0)),
        opt_int(turn.finished_ms().map(|ms| ms.0)),
        opt_text(turn.user().map(|line| line.text.as_str())),
        flag(turn.user().is_some_and(|line| line.is_final)),
        opt_text(turn.robot().map(|line| line.text.as_str())),
        flag(turn.robot().is_some_and(|line| line.is_final)),
        flag(turn.interrupted()),
        int(turn.errors().len() as u64),
        metric(metrics.asr_latency),
        metric(metrics.llm_network_latency),
        metric(metrics.llm_first_token),
        metric(metrics.tts_network_latency),
        metric(metrics.tts_first_frame_latency),
        metric(metrics.tts_discontinuity),
        metric(metrics.interruption),
    ]
}

fn sentence_rows(task: &str, turn: &Turn, out: &mut HashMap<(String, String), Row>) {
    let lines: Vec<(Option<Speaker>, &Line)> = turn
        .user()
        .map(|line| (Some(Speaker::User), line))
        .into_iter()
        .chain(turn.robot().map(|line| (Some(Speaker::Robot), line)))
        .chain(turn.others().iter().map(|line| (None, line)))
        .collect();
    for (speaker, line) in lines.into_iter().filter(|(_, line)| line.is_final && !line.text.trim().is_empty()) {
        out.insert(
            (turn.round().to_string(), line.user.to_string()),
            vec![
                text(task),
                text(turn.round()),
                text(&line.user),
                speaker.map_or(Value::Null, |speaker| text(serde_name(&speaker, None))),
                int(line.final_ms.unwrap_or(line.first_ms).0),
                text(index_form(&line.text)),
            ],
        );
    }
}

fn intervention_row(seq: u64, task: &TaskId, event: &Event) -> Option<Row> {
    let at = int(event.source_ms.0);
    match &event.body {
        EventBody::Command(record) => Some(vec![
            int(seq),
            text(task),
            at,
            text("command"),
            text(&record.by),
            text(record.action.as_str()),
            text(serde_name(&record.stage, None)),
            text(&record.id),
            opt_text(record.round.as_ref().map(|round| round.as_str())),
            opt_text(record.summary.as_deref()),
            opt_text(record.error.as_deref()),
            Value::Null,
        ]),
        EventBody::LockChanged { holder, by, change } => Some(vec![
            int(seq),
            text(task),
            at,
            text("lock"),
            text(by),
            text(serde_name(change, None)),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            opt_text(holder.as_deref()),
        ]),
        _ => None,
    }
}

/// The rows the cache's writer stores for each batch, derived as `cache/project.rs` does:
/// each event's row, each call folded with `Call::apply`, and for every call the batch
/// touched its `calls` row, turns and final sentences, each only when it differs from what
/// the previous batch wrote. (The bench's stream names a task in every event, so routing is
/// by TaskId alone.)
fn raw_batches(batches: &[Vec<Event>]) -> Vec<RawBatch> {
    let mut calls: HashMap<TaskId, Folded> = HashMap::new();
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let mut rows = RawBatch::default();
        let mut dirty: BTreeSet<TaskId> = BTreeSet::new();
        for event in batch {
            let seq = event.seq.map_or(0, |seq| seq.0);
            let task = match (&event.call.task, event.body.is_room_scoped()) {
                (Some(task), false) => task.clone(),
                _ => panic!("the baseline routes by TaskId only; event {seq} has none"),
            };
            let entry = calls.entry(task.clone()).or_insert_with(|| Folded {
                call: Call::new(task.clone()),
                first_ms: u64::MAX,
                last_seq: 0,
                written: None,
            });
            entry.call.apply(event);
            entry.first_ms = entry.first_ms.min(event.source_ms.0);
            entry.last_seq = entry.last_seq.max(seq);
            dirty.insert(task.clone());
            let body = serde_json::to_string(event).unwrap_or_else(|e| panic!("encode event {seq}: {e}"));
            rows.events.push(vec![
                int(seq),
                text(&task),
                opt_int(event.call.sdk_app_id.map(|app| app.0)),
                opt_text(event.call.room.as_ref().map(|room| room.as_str())),
                flag(false),
                text(serde_name(&event.body, Some("kind"))),
                int(event.source_ms.0),
                Value::Text(body),
            ]);
            rows.interventions.extend(intervention_row(seq, &task, event));
            rows.cursor = i64::try_from(seq).unwrap_or(i64::MAX);
        }
        for task in &dirty {
            let Some(entry) = calls.get_mut(task) else { continue };
            let call_row = entry.call_row();
            let mut turns = HashMap::new();
            let mut sentences = HashMap::new();
            for turn in entry.call.turns() {
                turns.insert(turn.round().to_string(), turn_row(task.as_str(), turn));
                sentence_rows(task.as_str(), turn, &mut sentences);
            }
            match &entry.written {
                None => {
                    rows.calls.push(call_row.clone());
                    rows.turns.extend(turns.values().cloned());
                    rows.sentences.extend(sentences.values().cloned());
                }
                Some((old_call, old_turns, old_sentences)) => {
                    if *old_call != call_row {
                        rows.calls.push(call_row.clone());
                    }
                    rows.turns.extend(
                        turns.iter().filter(|(key, row)| old_turns.get(*key) != Some(*row)).map(|(_, row)| row.clone()),
                    );
                    rows.sentences.extend(
                        sentences
                            .iter()
                            .filter(|(key, row)| old_sentences.get(*key) != Some(*row))
                            .map(|(_, row)| row.clone()),
                    );
                    rows.sentence_deletes.extend(
                        old_sentences
                            .keys()
                            .filter(|key| !sentences.contains_key(*key))
                            .map(|(round, user)| vec![text(task), text(round), text(user)]),
                    );
                }
            }
            entry.written = Some((call_row, turns, sentences));
        }
        out.push(rows);
    }
    out
}

/// Inserts the batches with prepared statements, one transaction per batch; answers the
/// time from the first `BEGIN` to the last `COMMIT`.
fn raw_insert(path: &Path, batches: &[RawBatch]) -> Duration {
    let mut conn = raw_connection(path);
    let statements = [
        insert_sql("events", EVENT_COLUMNS, None),
        insert_sql("calls", CALL_COLUMNS, Some(&["task_id"])),
        insert_sql("turns", TURN_COLUMNS, Some(&["task_id", "round_id"])),
        "DELETE FROM sentences WHERE task_id = ?1 AND round_id = ?2 AND user_id = ?3".to_owned(),
        insert_sql("sentences", SENTENCE_COLUMNS, Some(&["task_id", "round_id", "user_id"])),
        format!("{} ON CONFLICT (seq) DO NOTHING", insert_sql("interventions", INTERVENTION_COLUMNS, None)),
    ];
    let failed = |e: rusqlite::Error| -> ! { panic!("raw insert into {}: {e}", path.display()) };
    let started = Instant::now();
    for batch in batches {
        let tx = conn.transaction().unwrap_or_else(|e| failed(e));
        let tables = [
            &batch.events,
            &batch.calls,
            &batch.turns,
            &batch.sentence_deletes,
            &batch.sentences,
            &batch.interventions,
        ];
        for (sql, rows) in statements.iter().zip(tables) {
            if rows.is_empty() {
                continue;
            }
            let mut statement = tx.prepare_cached(sql).unwrap_or_else(|e| failed(e));
            for row in rows {
                statement.execute(rusqlite::params_from_iter(row.iter())).unwrap_or_else(|e| failed(e));
            }
        }
        tx.execute("UPDATE stream_cursor SET seq = ?1 WHERE id = 1", [batch.cursor]).unwrap_or_else(|e| failed(e));
        tx.commit().unwrap_or_else(|e| failed(e));
    }
    started.elapsed()
}

/// The cache's own statement shape (`cache/project.rs`): `INSERT … SELECT row.value ->> 'c'
/// … FROM json_each(?1)`, one statement per table per batch; with `key`, the same upsert.
fn json_sql(table: &str, columns: &[&str], key: Option<&[&str]>) -> String {
    let values: Vec<String> = columns.iter().map(|column| format!("row.value ->> '{column}'")).collect();
    let mut sql = format!(
        "INSERT INTO {table} ({}) SELECT {} FROM json_each(?1) AS row WHERE true",
        columns.join(", "),
        values.join(", ")
    );
    if let Some(key) = key {
        let updates: Vec<String> =
            columns.iter().filter(|c| !key.contains(c)).map(|c| format!("{c} = excluded.{c}")).collect();
        sql.push_str(&format!(" ON CONFLICT ({}) DO UPDATE SET {}", key.join(", "), updates.join(", ")));
    }
    sql
}

/// Rows as one JSON array of objects keyed by column, as the cache binds them.
fn rows_json(columns: &[&str], rows: &[Row]) -> String {
    let array: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let object: serde_json::Map<String, serde_json::Value> = columns
                .iter()
                .zip(row)
                .map(|(column, value)| {
                    let value = match value {
                        Value::Null => serde_json::Value::Null,
                        Value::Integer(i) => json!(i),
                        Value::Real(r) => json!(r),
                        Value::Text(t) => json!(t),
                        Value::Blob(_) => panic!("the cache binds no blobs"),
                    };
                    ((*column).to_owned(), value)
                })
                .collect();
            serde_json::Value::Object(object)
        })
        .collect();
    serde_json::Value::Array(array).to_string()
}

/// The same rows in the cache's statement shape: each table's rows of a batch encoded as
/// one JSON array (inside the clock, as the cache does it) and inserted by one
/// `json_each` statement, one transaction per batch, through rusqlite.
fn raw_insert_json(path: &Path, batches: &[RawBatch]) -> Duration {
    let mut conn = raw_connection(path);
    let tables: [(String, &[&str]); 5] = [
        (json_sql("events", EVENT_COLUMNS, None), EVENT_COLUMNS),
        (json_sql("calls", CALL_COLUMNS, Some(&["task_id"])), CALL_COLUMNS),
        (json_sql("turns", TURN_COLUMNS, Some(&["task_id", "round_id"])), TURN_COLUMNS),
        (json_sql("sentences", SENTENCE_COLUMNS, Some(&["task_id", "round_id", "user_id"])), SENTENCE_COLUMNS),
        (
            format!("{} ON CONFLICT (seq) DO NOTHING", json_sql("interventions", INTERVENTION_COLUMNS, None)),
            INTERVENTION_COLUMNS,
        ),
    ];
    let failed = |e: rusqlite::Error| -> ! { panic!("raw json insert into {}: {e}", path.display()) };
    let started = Instant::now();
    for batch in batches {
        assert!(batch.sentence_deletes.is_empty(), "the bench's stream never blanks a sentence");
        let tx = conn.transaction().unwrap_or_else(|e| failed(e));
        let rows = [&batch.events, &batch.calls, &batch.turns, &batch.sentences, &batch.interventions];
        for ((sql, columns), rows) in tables.iter().zip(rows) {
            if rows.is_empty() {
                continue;
            }
            let json = rows_json(columns, rows);
            tx.prepare_cached(sql).unwrap_or_else(|e| failed(e)).execute([json]).unwrap_or_else(|e| failed(e));
        }
        tx.execute("UPDATE stream_cursor SET seq = ?1 WHERE id = 1", [batch.cursor]).unwrap_or_else(|e| failed(e));
        tx.commit().unwrap_or_else(|e| failed(e));
    }
    started.elapsed()
}

/// A table for `raw_insert_values`: name, columns, conflict key (upsert), statement tail.
type ValuesTable = (&'static str, &'static [&'static str], Option<&'static [&'static str]>, &'static str);

/// SQLite's default limit on bound parameters in one statement.
const MAX_PARAMETERS: usize = 32_766;

/// The same rows as multi-row `INSERT … VALUES (…), (…)` statements with bound parameters:
/// one statement per table per batch (split only at SQLite's parameter limit), no JSON.
/// The shape an sqlx writer can have with `QueryBuilder::push_values`, at one round trip per
/// statement like the cache's `json_each` one.
fn raw_insert_values(path: &Path, batches: &[RawBatch]) -> Duration {
    let mut conn = raw_connection(path);
    let tables: [ValuesTable; 5] = [
        ("events", EVENT_COLUMNS, None, ""),
        ("calls", CALL_COLUMNS, Some(&["task_id"]), ""),
        ("turns", TURN_COLUMNS, Some(&["task_id", "round_id"]), ""),
        ("sentences", SENTENCE_COLUMNS, Some(&["task_id", "round_id", "user_id"]), ""),
        ("interventions", INTERVENTION_COLUMNS, None, " ON CONFLICT (seq) DO NOTHING"),
    ];
    let failed = |e: rusqlite::Error| -> ! { panic!("raw values insert into {}: {e}", path.display()) };
    let started = Instant::now();
    for batch in batches {
        assert!(batch.sentence_deletes.is_empty(), "the bench's stream never blanks a sentence");
        let tx = conn.transaction().unwrap_or_else(|e| failed(e));
        let rows = [&batch.events, &batch.calls, &batch.turns, &batch.sentences, &batch.interventions];
        for ((table, columns, key, tail), rows) in tables.iter().zip(rows) {
            for chunk in rows.chunks(MAX_PARAMETERS / columns.len()) {
                let one = format!("({})", vec!["?"; columns.len()].join(", "));
                let mut sql = format!(
                    "INSERT INTO {table} ({}) VALUES {}",
                    columns.join(", "),
                    vec![one; chunk.len()].join(", ")
                );
                if let Some(key) = key {
                    let updates: Vec<String> =
                        columns.iter().filter(|c| !key.contains(c)).map(|c| format!("{c} = excluded.{c}")).collect();
                    sql.push_str(&format!(" ON CONFLICT ({}) DO UPDATE SET {}", key.join(", "), updates.join(", ")));
                }
                sql.push_str(tail);
                let mut statement = tx.prepare_cached(&sql).unwrap_or_else(|e| failed(e));
                statement.execute(rusqlite::params_from_iter(chunk.iter().flatten())).unwrap_or_else(|e| failed(e));
            }
        }
        tx.execute("UPDATE stream_cursor SET seq = ?1 WHERE id = 1", [batch.cursor]).unwrap_or_else(|e| failed(e));
        tx.commit().unwrap_or_else(|e| failed(e));
    }
    started.elapsed()
}

/// Rows that differ between the cache's file and the baseline's, per table (sentences
/// without their rowid, which follows insertion order), and whether both full-text indexes
/// pass FTS5's integrity check against their sentences.
fn compare(cache: &Path, raw: &Path) -> (Vec<(&'static str, i64, i64)>, bool) {
    let conn = raw_connection(cache);
    let raw_name = raw.to_str().unwrap_or_else(|| panic!("{} is not UTF-8", raw.display()));
    conn.execute("ATTACH DATABASE ?1 AS raw", [raw_name]).unwrap_or_else(|e| panic!("attach: {e}"));
    let sentence_columns = SENTENCE_COLUMNS.join(", ");
    let mut out = Vec::new();
    for (table, columns) in [
        ("events", "*"),
        ("calls", "*"),
        ("turns", "*"),
        ("sentences", sentence_columns.as_str()),
        ("interventions", "*"),
        ("stream_cursor", "*"),
    ] {
        let sql = format!(
            "SELECT (SELECT count(*) FROM main.{table}), \
             (SELECT count(*) FROM (SELECT {columns} FROM main.{table} EXCEPT SELECT {columns} FROM raw.{table})) + \
             (SELECT count(*) FROM (SELECT {columns} FROM raw.{table} EXCEPT SELECT {columns} FROM main.{table}))"
        );
        let (rows, differing): (i64, i64) =
            conn.query_row(&sql, [], |row| Ok((row.get(0)?, row.get(1)?))).unwrap_or_else(|e| panic!("{sql}: {e}"));
        out.push((table, rows, differing));
    }
    let sound = [cache, raw].into_iter().all(|path| {
        raw_connection(path).execute("INSERT INTO sentences_fts (sentences_fts) VALUES ('integrity-check')", []).is_ok()
    });
    (out, sound)
}

/// What part 2 found, for the summary.
struct IngestFigures {
    events: usize,
    cache_rate: f64,
    raw_rate: f64,
    ratio: f64,
    bytes_per_event: f64,
    bytes_per_sentence: f64,
    sentences: i64,
}

async fn part_two(dir: &Path) -> IngestFigures {
    let events = stream();
    let n = events.len();
    let batches: Vec<Vec<Event>> = events.chunks(INGEST_BATCH).map(<[Event]>::to_vec).collect();
    let raw_rows = raw_batches(&batches);
    let statements = |pick: fn(&RawBatch) -> usize| raw_rows.iter().map(pick).sum::<usize>();
    println!(
        "\nPart 2: events into the cache, {CALLS} calls x {TURNS} turns = {n} events in {} appends of {INGEST_BATCH}",
        batches.len()
    );
    println!(
        "the baseline per run: {} transactions; {} events rows, {} calls upserts, {} turns upserts, \
         {} sentences upserts (each indexed by the FTS trigger), {} sentence deletes, {} interventions rows",
        raw_rows.len(),
        statements(|b| b.events.len()),
        statements(|b| b.calls.len()),
        statements(|b| b.turns.len()),
        statements(|b| b.sentences.len()),
        statements(|b| b.sentence_deletes.len()),
        statements(|b| b.interventions.len()),
    );
    println!(
        "\n{:<8} {:>13} {:>13} {:>13} {:>13} {:>13} {:>10}   rows compared (cache vs each baseline)",
        "round", "cache", "raw prepared", "raw json_each", "raw VALUES", "rows derived", "cache/raw"
    );
    let mut cache_rates = Vec::new();
    let mut raw_rates = Vec::new();
    let mut json_rates = Vec::new();
    let mut values_rates = Vec::new();
    let mut derive_rates = Vec::new();
    let mut ratios = Vec::new();
    let mut kept: Option<(Cache, std::path::PathBuf)> = None;
    for round in 0..INGEST_ROUNDS {
        let cache_path = dir.join(format!("ingest-{round}.sqlite"));
        let raw_path = dir.join(format!("raw-{round}.sqlite"));
        let json_path = dir.join(format!("raw-json-{round}.sqlite"));
        let values_path = dir.join(format!("raw-values-{round}.sqlite"));
        // The baselines' files have the cache's schema and settings because the cache made them.
        open_cache(&raw_path).await.close().await;
        open_cache(&json_path).await.close().await;
        open_cache(&values_path).await.close().await;
        // What the cache computes before any SQL (the fold, each event's JSON, the changed
        // rows), timed alone; the baselines bind its result.
        let derive_started = Instant::now();
        let derived = std::hint::black_box(raw_batches(&batches));
        let derive_time = derive_started.elapsed();
        drop(derived);
        let cache = open_cache(&cache_path).await;
        let work = batches.clone();
        let append_all = async {
            let started = Instant::now();
            for batch in work {
                cache.append(batch).await.unwrap_or_else(|e| panic!("append: {e}"));
            }
            started.elapsed()
        };
        let (cache_time, raw_time, json_time, values_time) = if round % 2 == 0 {
            let cache_time = append_all.await;
            let raw_time = raw_insert(&raw_path, &raw_rows);
            let json_time = raw_insert_json(&json_path, &raw_rows);
            (cache_time, raw_time, json_time, raw_insert_values(&values_path, &raw_rows))
        } else {
            let values_time = raw_insert_values(&values_path, &raw_rows);
            let json_time = raw_insert_json(&json_path, &raw_rows);
            let raw_time = raw_insert(&raw_path, &raw_rows);
            (append_all.await, raw_time, json_time, values_time)
        };
        let mut verdicts = Vec::new();
        for (name, path) in [("prepared", &raw_path), ("json_each", &json_path), ("VALUES", &values_path)] {
            let (tables, sound) = compare(&cache_path, path);
            let differing: i64 = tables.iter().map(|(_, _, d)| d).sum();
            verdicts.push(if differing == 0 && sound {
                format!("{name} identical")
            } else {
                let listed: Vec<String> = tables.iter().map(|(t, _, d)| format!("{t} {d}")).collect();
                format!("{name} DIFFERENT (rows differing: {}; FTS sound: {sound})", listed.join(", "))
            });
            if round == 0 && name == "prepared" {
                let listed: Vec<String> = tables.iter().map(|(t, rows, _)| format!("{t} {rows}")).collect();
                println!("(rows in each file: {})", listed.join(", "));
            }
        }
        let rate = |time: Duration| n as f64 / time.as_secs_f64();
        let (cache_rate, raw_rate) = (rate(cache_time), rate(raw_time));
        println!(
            "{:<8} {:>13} {:>13} {:>13} {:>13} {:>13} {:>10.2}   {}",
            round + 1,
            thousands(cache_rate),
            thousands(raw_rate),
            thousands(rate(json_time)),
            thousands(rate(values_time)),
            thousands(rate(derive_time)),
            cache_rate / raw_rate,
            verdicts.join(", ")
        );
        cache_rates.push(cache_rate);
        raw_rates.push(raw_rate);
        json_rates.push(rate(json_time));
        values_rates.push(rate(values_time));
        derive_rates.push(rate(derive_time));
        ratios.push(cache_rate / raw_rate);
        if round + 1 == INGEST_ROUNDS {
            kept = Some((cache, cache_path));
        } else {
            cache.close().await;
        }
    }
    let (cache_rate, raw_rate, ratio) = (median_f64(cache_rates), median_f64(raw_rates), median_f64(ratios));
    println!(
        "{:<8} {:>13} {:>13} {:>13} {:>13} {:>13} {:>10.2}   (median of each column; all in events/s)",
        "median",
        thousands(cache_rate),
        thousands(raw_rate),
        thousands(median_f64(json_rates)),
        thousands(median_f64(values_rates)),
        thousands(median_f64(derive_rates)),
        ratio
    );
    let Some((cache, cache_path)) = kept else { panic!("no round ran") };

    let single = open_cache(&dir.join("single.sqlite")).await;
    let (_, one_by_one) = timed(async {
        for event in &events[..SINGLE_EVENT_APPENDS] {
            single.append(vec![event.clone()]).await.unwrap_or_else(|e| panic!("append: {e}"));
        }
    })
    .await;
    single.close().await;
    let single_rate = SINGLE_EVENT_APPENDS as f64 / one_by_one.as_secs_f64();
    println!(
        "\nappend, one event per transaction: {} events/s (first {SINGLE_EVENT_APPENDS}); \
         batched ÷ single: {:.1}x",
        thousands(single_rate),
        cache_rate / single_rate
    );

    checkpoint(&cache_path);
    let bytes = cache.size_bytes().unwrap_or_else(|e| panic!("size: {e}"));
    let sentences = count(&cache_path, "SELECT count(*) FROM sentences");
    let bytes_per_event = bytes as f64 / n as f64;
    let bytes_per_sentence = bytes as f64 / sentences as f64;
    println!(
        "size after a checkpoint: {:.2} MiB = {:.0} bytes per event, {:.0} bytes per final sentence \
         ({sentences} sentences), {:.1} KiB per 8-turn call",
        bytes as f64 / 1_048_576.0,
        bytes_per_event,
        bytes_per_sentence,
        bytes as f64 / 1024.0 / CALLS as f64
    );

    let mut figures = Vec::new();
    for query in ["投诉", "人", "human agent", "订单号 order"] {
        let mut samples = Vec::new();
        let mut hits = 0;
        for _ in 0..SAMPLES {
            let (found, took) = timed(cache.search(query, SEARCH_LIMIT)).await;
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
        "purge every call: {} calls, {} events in {} transactions, {:.0} ms ({} events/s)",
        purged.calls,
        purged.events,
        purged.steps,
        ms(took),
        thousands(purged.events as f64 / took.as_secs_f64())
    );
    cache.close().await;
    IngestFigures { events: n, cache_rate, raw_rate, ratio, bytes_per_event, bytes_per_sentence, sentences }
}

// ---- part 3: search over 1,000,000 sentences ----

const BIG_ZH_USER: &[&str] = &[
    "我要投诉你们的服务",
    "你们的客服态度太差了",
    "转人工",
    "我要找人工客服",
    "叫你们经理来跟我说",
    "我想申请退款",
    "订单号是{n}",
    "我的订单{n}怎么还没发货",
    "快递已经三天没更新了",
    "我已经，理解了",
    "这个{p}能退货吗",
    "能不能便宜一点",
    "我不需要了，取消吧",
    "你们经理的电话是多少",
    "人呢？怎么没人说话",
    "工作日几点上班",
    "我是老客户了，这次真的太失望了",
    "{p}坏了，屏幕不亮",
    "帮我查一下物流",
    "地址填错了，能改吗",
    "发票什么时候开",
    "优惠券用不了",
    "你们这是骗人",
    "我在{c}，几天能到",
    "会员积分怎么兑换",
    "我买的{p}少了一个配件",
    "为什么扣了两次钱",
    "你们处理得太慢了",
    "好的，谢谢",
    "嗯",
    "对",
    "不是这个意思",
    "你听不懂我说话吗",
    "order {n} 帮我查一下",
];
const BIG_ZH_ROBOT: &[&str] = &[
    "您好，请问有什么可以帮您？",
    "好的，请您提供一下订单号",
    "非常抱歉给您带来不便，我马上为您处理",
    "正在为您转接人工客服，请稍等",
    "退款将在三个工作日内原路退回",
    "您的订单{n}已经发货，预计明天送达",
    "请问还有其他问题吗？",
    "您的{p}在保修期内，可以免费维修",
    "已为您登记，稍后会有专员联系您",
    "发往{c}的快递一般需要两到三天",
    "我理解您的心情",
    "这边查到您的账户有一笔重复扣款，会在24小时内退回",
];
const BIG_EN_USER: &[&str] = &[
    "I want to speak to a human agent",
    "Can I talk to your manager?",
    "Where is my refund?",
    "My order {n} was refunded twice",
    "This is unacceptable, I want to file a complaint",
    "My {pe} stopped working",
    "How long does shipping to {ce} take?",
    "I was charged twice",
    "Cancel my subscription",
    "The app keeps crashing",
    "Yes",
    "No, that's not it",
    "Can you hear me?",
    "I need an invoice for order {n}",
];
const BIG_EN_ROBOT: &[&str] = &[
    "Hello, how can I help you today?",
    "Sure, connecting you to a human agent now.",
    "Your refund has been processed.",
    "The manager will call you back.",
    "Thanks, that's all.",
    "Could you give me your order number?",
    "I'm sorry for the trouble, let me check that for you.",
    "Your {pe} is still under warranty.",
    "Shipping to {ce} usually takes three days.",
    "Is there anything else I can help you with?",
];
const PRODUCTS_ZH: &[&str] =
    &["手机", "耳机", "充电器", "冰箱", "空调", "洗衣机", "电视", "键盘", "平板", "手表", "音箱", "路由器"];
const CITIES_ZH: &[&str] = &["北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "西安", "南京", "重庆"];
const PRODUCTS_EN: &[&str] =
    &["phone", "headset", "charger", "fridge", "laptop", "tablet", "watch", "speaker", "router", "keyboard"];
const CITIES_EN: &[&str] = &["Berlin", "London", "Toronto", "Sydney", "Chicago", "Singapore", "Dublin", "Austin"];

/// The fixed query set: (kind, query).
const QUERY_SET: &[(&str, &str)] = &[
    ("zh 1 char", "人"),
    ("zh 1 char", "慢"),
    ("zh 1 char", "骗"),
    ("zh 2 chars", "投诉"),
    ("zh 2 chars", "经理"),
    ("zh 2 chars", "退款"),
    ("zh 2 chars", "发票"),
    ("zh 2 chars", "物流"),
    ("zh 3+ chars", "订单号"),
    ("zh 3+ chars", "转人工"),
    ("zh 3+ chars", "我要投诉"),
    ("zh 3+ chars", "保修期内"),
    ("zh 3+ chars", "保险箱"),
    ("en word", "refund"),
    ("en word", "manager"),
    ("en word", "human agent"),
    ("en word", "invoice"),
    ("en word", "zebra"),
    ("en prefix", "manag"),
    ("en prefix", "refu"),
    ("en prefix", "ship"),
    ("en prefix", "warr"),
];

/// One line of a call: one to three phrases.
fn say(rng: &mut Lcg, zh: bool, robot: bool) -> String {
    let list = match (zh, robot) {
        (true, false) => BIG_ZH_USER,
        (true, true) => BIG_ZH_ROBOT,
        (false, false) => BIG_EN_USER,
        (false, true) => BIG_EN_ROBOT,
    };
    let phrases = match rng.next() % 10 {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    let mut parts = Vec::with_capacity(phrases);
    for _ in 0..phrases {
        let phrase = rng.pick(list);
        let filled = phrase
            .replace("{p}", rng.pick(PRODUCTS_ZH))
            .replace("{c}", rng.pick(CITIES_ZH))
            .replace("{pe}", rng.pick(PRODUCTS_EN))
            .replace("{ce}", rng.pick(CITIES_EN));
        parts.push(fill(&filled, rng));
    }
    parts.join(if zh { "，" } else { " " })
}

fn long_task(index: usize) -> TaskId {
    TaskId::new(format!("long-call-{index}"))
}

/// A call in progress in the big corpus.
struct Talk {
    task: String,
    room: usize,
    zh: bool,
    long: bool,
    turn: usize,
    turns: usize,
}

/// The big corpus as a stream: `SLOTS` calls talking at once, each turn of a randomly
/// picked call next, until `BIG_SENTENCES` final sentences. The first `LONG_CALLS` calls have
/// `LONG_CALL_TURNS` full turns (11 events each); the others 5–40 lean turns: the first with
/// 904 and 905 (so the fold learns who is the robot), then just the two final sentences.
struct Corpus {
    rng: Lcg,
    t: u64,
    seq: u64,
    slots: Vec<Talk>,
    calls: usize,
    sentences: usize,
    queue: VecDeque<Event>,
    done: bool,
}

impl Corpus {
    fn new() -> Corpus {
        let mut corpus = Corpus {
            rng: Lcg(1_000_003),
            t: 1_764_000_000_000,
            seq: 0,
            slots: Vec::new(),
            calls: 0,
            sentences: 0,
            queue: VecDeque::new(),
            done: false,
        };
        for _ in 0..SLOTS {
            let talk = corpus.start();
            corpus.slots.push(talk);
        }
        corpus
    }

    fn push(&mut self, event: Event) {
        self.seq += 1;
        self.queue.push_back(event.with_seq(Seq(self.seq)));
    }

    fn tick(&mut self) -> u64 {
        self.t += 1 + self.rng.next() % 9;
        self.t
    }

    /// Starts the next call (901).
    fn start(&mut self) -> Talk {
        let index = self.calls;
        self.calls += 1;
        let long = index < LONG_CALLS;
        let task = if long { long_task(index).to_string() } else { format!("call-{index:06}") };
        let talk = Talk {
            zh: long || self.rng.next() % 10 < 7,
            turns: if long { LONG_CALL_TURNS } else { 5 + (self.rng.next() % 36) as usize },
            task,
            room: index,
            long,
            turn: 0,
        };
        let at = self.tick();
        self.push(ai(&talk.task, talk.room, 901, at, json!({"Status": 0})));
        talk
    }

    fn end(&mut self, slot: usize) {
        let at = self.tick();
        let (task, room) = (self.slots[slot].task.clone(), self.slots[slot].room);
        self.push(ai(&task, room, 902, at, json!({"LeaveCode": 0})));
    }

    /// Events for the next step, into the queue.
    fn step(&mut self) {
        if self.sentences >= BIG_SENTENCES {
            for slot in 0..self.slots.len() {
                self.end(slot);
            }
            self.done = true;
            return;
        }
        let slot = (self.rng.next() % SLOTS as u64) as usize;
        if self.slots[slot].turn == self.slots[slot].turns {
            self.end(slot);
            self.slots[slot] = self.start();
            return;
        }
        let (zh, long, turn) = (self.slots[slot].zh, self.slots[slot].long, self.slots[slot].turn);
        let (task, room) = (self.slots[slot].task.clone(), self.slots[slot].room);
        let round = format!("r{turn}");
        let user = say(&mut self.rng, zh, false);
        let robot = say(&mut self.rng, zh, true);
        if long {
            let at = self.tick();
            for event in full_turn(&task, room, &round, at, &user, &robot, &mut self.rng) {
                self.push(event);
            }
            self.t += 6_000;
        } else {
            if turn == 0 {
                let at = self.tick();
                self.push(ai(&task, room, 904, at, json!({"UserId": "customer", "RoundId": round})));
            }
            let at = self.tick();
            self.push(ai(&task, room, 903, at, json!({"UserId": "customer", "Text": user, "RoundId": round})));
            let at = self.tick();
            self.push(ai(&task, room, 903, at, json!({"UserId": "robot", "Text": robot, "RoundId": round})));
            if turn == 0 {
                let at = self.tick();
                self.push(ai(&task, room, 905, at, json!({"UserId": "robot", "RoundId": round, "Text": robot})));
            }
        }
        self.slots[slot].turn += 1;
        self.sentences += 2;
    }

    /// Up to `max` next events (fewer only at the end).
    fn batch(&mut self, max: usize) -> Vec<Event> {
        while self.queue.len() < max && !self.done {
            self.step();
        }
        let take = self.queue.len().min(max);
        self.queue.drain(..take).collect()
    }
}

struct BuildFigures {
    took: Duration,
    events: usize,
    calls: usize,
    bytes_per_sentence: f64,
    bytes_per_event: f64,
}

/// Builds the big cache through `Cache::append`, generating the next batch while the writer
/// stores the one before.
async fn build_big(cache: &Cache, path: &Path) -> BuildFigures {
    let mut corpus = Corpus::new();
    let mut events = 0;
    let started = Instant::now();
    let mut pending: Option<tokio::task::JoinHandle<_>> = None;
    loop {
        let batch = corpus.batch(BUILD_BATCH);
        if batch.is_empty() {
            break;
        }
        events += batch.len();
        if let Some(append) = pending.take() {
            let done: Result<_, engine::cache::CacheError> =
                append.await.unwrap_or_else(|e| panic!("append task: {e}"));
            done.unwrap_or_else(|e| panic!("append: {e}"));
        }
        let cache = cache.clone();
        pending = Some(tokio::spawn(async move { cache.append(batch).await }));
    }
    if let Some(append) = pending {
        append.await.unwrap_or_else(|e| panic!("append task: {e}")).unwrap_or_else(|e| panic!("append: {e}"));
    }
    let took = started.elapsed();
    checkpoint(path);
    let bytes = cache.size_bytes().unwrap_or_else(|e| panic!("size: {e}"));
    let stored = count(path, "SELECT count(*) FROM sentences");
    assert_eq!(stored, BIG_SENTENCES as i64, "the big cache must hold every final sentence");
    println!(
        "built through Cache::append (batches of {BUILD_BATCH}) in {:.1} s: {} sentences in {} calls, {} events \
         ({} events/s, {} sentences/s)",
        took.as_secs_f64(),
        thousands(stored as f64),
        thousands(corpus.calls as f64),
        thousands(events as f64),
        thousands(events as f64 / took.as_secs_f64()),
        thousands(stored as f64 / took.as_secs_f64()),
    );
    println!(
        "size after a checkpoint: {:.1} MiB = {:.0} bytes per sentence, {:.0} bytes per event",
        bytes as f64 / 1_048_576.0,
        bytes as f64 / stored as f64,
        bytes as f64 / events as f64
    );
    BuildFigures {
        took,
        events,
        calls: corpus.calls,
        bytes_per_sentence: bytes as f64 / stored as f64,
        bytes_per_event: bytes as f64 / events as f64,
    }
}

struct SearchFigures {
    p50: f64,
    p95: f64,
    p99: f64,
    samples: usize,
    rounds: usize,
}

async fn part_three(cache: &Cache, path: &Path) -> SearchFigures {
    // Hits per query, counted once and outside the clock.
    let conn = raw_connection(path);
    let totals: Vec<i64> = QUERY_SET
        .iter()
        .map(|(_, query)| {
            let expression = match_expression(query).unwrap_or_else(|| panic!("{query:?} must be searchable"));
            conn.query_row("SELECT count(*) FROM sentences_fts WHERE sentences_fts MATCH ?1", [expression], |row| {
                row.get(0)
            })
            .unwrap_or_else(|e| panic!("count {query:?}: {e}"))
        })
        .collect();
    drop(conn);
    for (_, query) in QUERY_SET {
        cache.search(query, SEARCH_LIMIT).await.unwrap_or_else(|e| panic!("search {query:?}: {e}"));
    }
    let mut per_query: Vec<Vec<f64>> = vec![Vec::new(); QUERY_SET.len()];
    let mut shown = vec![0; QUERY_SET.len()];
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < SEARCH_ROUNDS && (rounds < 3 || started.elapsed() < SEARCH_BUDGET) {
        for (index, (_, query)) in QUERY_SET.iter().enumerate() {
            let (found, took) = timed(cache.search(query, SEARCH_LIMIT)).await;
            shown[index] = found.unwrap_or_else(|e| panic!("search {query:?}: {e}")).len();
            per_query[index].push(ms(took));
        }
        rounds += 1;
    }
    println!(
        "\nCache::search, newest {SEARCH_LIMIT} hits with snippets, {} queries x {rounds} rounds:\n",
        QUERY_SET.len()
    );
    println!("{:<12} {:<10} {:>10} {:>7} {:>10} {:>10}", "kind", "query", "matches", "shown", "median ms", "max ms");
    for (index, (kind, query)) in QUERY_SET.iter().enumerate() {
        let mut samples = per_query[index].clone();
        samples.sort_by(f64::total_cmp);
        println!(
            "{:<12} {:<10} {:>10} {:>7} {:>10.2} {:>10.2}",
            kind,
            query,
            thousands(totals[index] as f64),
            shown[index],
            percentile(&samples, 0.5),
            samples.last().copied().unwrap_or(f64::NAN)
        );
    }
    let mut kinds: Vec<&str> = QUERY_SET.iter().map(|(kind, _)| *kind).collect();
    kinds.dedup();
    println!();
    for kind in kinds {
        let mut samples: Vec<f64> = QUERY_SET
            .iter()
            .zip(&per_query)
            .filter(|((k, _), _)| *k == kind)
            .flat_map(|(_, samples)| samples.iter().copied())
            .collect();
        samples.sort_by(f64::total_cmp);
        println!(
            "{kind:<12} p50 {:>8.2} ms   p95 {:>8.2} ms   p99 {:>8.2} ms",
            percentile(&samples, 0.5),
            percentile(&samples, 0.95),
            percentile(&samples, 0.99)
        );
    }
    let mut all: Vec<f64> = per_query.into_iter().flatten().collect();
    all.sort_by(f64::total_cmp);
    let figures = SearchFigures {
        p50: percentile(&all, 0.5),
        p95: percentile(&all, 0.95),
        p99: percentile(&all, 0.99),
        samples: all.len(),
        rounds,
    };
    println!(
        "{:<12} p50 {:>8.2} ms   p95 {:>8.2} ms   p99 {:>8.2} ms   ({} searches)",
        "all", figures.p50, figures.p95, figures.p99, figures.samples
    );
    search_breakdown(path);
    figures
}

/// `Cache::search`'s first statement (the page of hits, newest first by source time) as it
/// was before sentences were keyed by time: it sorts every match by `at_ms`.
const HITS_SQL: &str = "SELECT s.id, s.task_id, s.round_id, s.user_id, s.speaker, s.at_ms, c.started_ms \
     FROM sentences_fts JOIN sentences s ON s.id = sentences_fts.rowid JOIN calls c ON c.task_id = s.task_id \
     WHERE sentences_fts MATCH ?1 ORDER BY s.at_ms DESC, s.id DESC LIMIT ?2";
/// Its second statement (snippets for those hits), likewise.
const SNIPPETS_SQL: &str = "SELECT rowid, snippet(sentences_fts, 0, ?2, ?3, ?4, ?5) FROM sentences_fts \
     WHERE sentences_fts MATCH ?1 AND rowid IN (SELECT value FROM json_each(?6))";
/// The snippets with `+rowid`: SQLite then no longer hands FTS5 the `IN` list as a rowid
/// equality, which FTS5 answers by running the whole MATCH once per listed id.
const SNIPPETS_ONE_SCAN_SQL: &str = "SELECT rowid, snippet(sentences_fts, 0, ?2, ?3, ?4, ?5) FROM sentences_fts \
     WHERE sentences_fts MATCH ?1 AND +rowid IN (SELECT value FROM json_each(?6))";
/// The page of hits in FTS rowid order, newest first: FTS5 walks its index backwards and
/// stops after the page. Since migration 0003 a sentence's rowid is keyed by its source time
/// (`at_ms × 2^20 + n`), so this is `Cache::search`'s first statement as `cache/search.rs`
/// runs it (without filters).
const HITS_BY_ROWID_SQL: &str = "SELECT s.id, s.task_id, s.round_id, s.user_id, s.speaker, s.at_ms, c.started_ms \
     FROM sentences_fts JOIN sentences s ON s.id = sentences_fts.rowid JOIN calls c ON c.task_id = s.task_id \
     WHERE sentences_fts MATCH ?1 ORDER BY sentences_fts.rowid DESC LIMIT ?2";

/// Where `Cache::search`'s time goes: each of its two statements run alone through
/// rusqlite on the same file (the same SQLite build), and the two changes that would make
/// it fast, measured the same way.
fn search_breakdown(path: &Path) {
    let conn = raw_connection(path);
    let hits = |sql: &str, expression: &str| -> Vec<i64> {
        let mut statement = conn.prepare_cached(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let rows = statement
            .query_map(rusqlite::params![expression, i64::from(SEARCH_LIMIT)], |row| row.get::<_, i64>(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.map(|row| row.unwrap_or_else(|e| panic!("{sql}: {e}"))).collect()
    };
    let snippets = |sql: &str, expression: &str, ids: &[i64]| -> usize {
        let ids = serde_json::to_string(ids).unwrap_or_default();
        let mut statement = conn.prepare_cached(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let rows = statement
            .query_map(
                rusqlite::params![
                    expression,
                    HIGHLIGHT_START.to_string(),
                    HIGHLIGHT_END.to_string(),
                    ELLIPSIS,
                    24i64,
                    ids
                ],
                |row| row.get::<_, String>(1),
            )
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let snippets: Vec<String> = rows.map(|row| row.unwrap_or_else(|e| panic!("{sql}: {e}"))).collect();
        snippets.len()
    };
    // Per query: [hits, snippets, snippets in one scan, hits by rowid], ms per round.
    let mut per_query: Vec<[Vec<f64>; 4]> = QUERY_SET.iter().map(|_| Default::default()).collect();
    for _ in 0..BREAKDOWN_ROUNDS {
        for (index, (_, query)) in QUERY_SET.iter().enumerate() {
            let expression = match_expression(query).unwrap_or_default();
            let started = Instant::now();
            let ids = hits(HITS_SQL, &expression);
            per_query[index][0].push(ms(started.elapsed()));
            let started = Instant::now();
            let shown = snippets(SNIPPETS_SQL, &expression, &ids);
            per_query[index][1].push(ms(started.elapsed()));
            let started = Instant::now();
            let shown_once = snippets(SNIPPETS_ONE_SCAN_SQL, &expression, &ids);
            per_query[index][2].push(ms(started.elapsed()));
            assert_eq!(shown, shown_once, "{query:?}: both snippet statements must find the same rows");
            let started = Instant::now();
            std::hint::black_box(hits(HITS_BY_ROWID_SQL, &expression));
            per_query[index][3].push(ms(started.elapsed()));
        }
    }
    println!(
        "\nwhere the time goes: each statement alone through rusqlite on the same file, median of \
         {BREAKDOWN_ROUNDS} (ms):\n"
    );
    println!(
        "{:<10} {:>14} {:>14} {:>16} {:>16}",
        "query", "1: hits", "2: snippets", "2 with +rowid", "1 by FTS rowid"
    );
    for (index, (_, query)) in QUERY_SET.iter().enumerate() {
        let [a, b, c, d] = &per_query[index];
        println!(
            "{:<10} {:>14.2} {:>14.2} {:>16.2} {:>16.2}",
            query,
            median_f64(a.clone()),
            median_f64(b.clone()),
            median_f64(c.clone()),
            median_f64(d.clone())
        );
    }
    let p95 = |parts: &[usize]| -> f64 {
        let mut sums: Vec<f64> = per_query
            .iter()
            .flat_map(|figures| (0..BREAKDOWN_ROUNDS).map(move |round| parts.iter().map(|p| figures[*p][round]).sum()))
            .collect();
        sums.sort_by(f64::total_cmp);
        percentile(&sums, 0.95)
    };
    println!(
        "\np95 of the two statements: as the cache runs them {:.2} ms; with +rowid in the snippets {:.2} ms; \
         and hits by FTS rowid {:.2} ms",
        p95(&[0, 1]),
        p95(&[0, 2]),
        p95(&[3, 2])
    );
}

// ---- part 4: opening a 1,000-sentence call ----

struct OpenFigures {
    median: f64,
    p95: f64,
    events: usize,
}

async fn part_four(cache: &Cache) -> OpenFigures {
    let tasks: Vec<TaskId> = (0..LONG_CALLS).map(long_task).collect();
    let mut steps: [Vec<f64>; 5] = Default::default();
    let mut totals = Vec::new();
    let mut events_seen = 0;
    for round in 0..=OPEN_ROUNDS {
        for task in &tasks {
            // What the review screen loads to open a call (ui/src/components/review/call.rs):
            // `call_events` (events_of, then the UI folds them), `call_review` (notes, tags,
            // QA score and the not-yet-pushed changes) and `call_recordings`.
            let started = Instant::now();
            let events = cache.events_of(task).await.unwrap_or_else(|e| panic!("events_of: {e}"));
            let read = started.elapsed();
            let mut call = Call::new(task.clone());
            for event in &events {
                call.apply(event);
            }
            let folded = started.elapsed();
            let notes = cache.notes(task).await.unwrap_or_else(|e| panic!("notes: {e}"));
            let tags = cache.tags(task).await.unwrap_or_else(|e| panic!("tags: {e}"));
            let qa = cache.qa_score(task).await.unwrap_or_else(|e| panic!("qa_score: {e}"));
            let outbox = cache.outbox(Some(task)).await.unwrap_or_else(|e| panic!("outbox: {e}"));
            let reviewed = started.elapsed();
            let recordings = cache.recordings_of(task).await.unwrap_or_else(|e| panic!("recordings_of: {e}"));
            let total = started.elapsed();
            // Not part of opening (the history and the engine's own views use them), timed
            // beside it for comparison.
            let extra = Instant::now();
            let summary = cache.call_summary(task).await.unwrap_or_else(|e| panic!("call_summary: {e}"));
            let turns = cache.turns(task).await.unwrap_or_else(|e| panic!("turns: {e}"));
            let extra = extra.elapsed();
            let counts = call.counts();
            assert!(
                summary.is_some()
                    && turns.len() == LONG_CALL_TURNS
                    && counts.user_sentences + counts.robot_sentences == 2 * LONG_CALL_TURNS,
                "{task} must open with {LONG_CALL_TURNS} turns and {} sentences (summary {}, turns {}, sentences {})",
                2 * LONG_CALL_TURNS,
                summary.is_some(),
                turns.len(),
                counts.user_sentences + counts.robot_sentences
            );
            std::hint::black_box((notes, tags, qa, outbox, recordings));
            events_seen = events.len();
            if round == 0 {
                continue; // warm-up
            }
            steps[0].push(ms(read));
            steps[1].push(ms(folded - read));
            steps[2].push(ms(reviewed - folded));
            steps[3].push(ms(total - reviewed));
            steps[4].push(ms(extra));
            totals.push(ms(total));
        }
    }
    totals.sort_by(f64::total_cmp);
    let figures = OpenFigures { median: percentile(&totals, 0.5), p95: percentile(&totals, 0.95), events: events_seen };
    println!(
        "\nPart 4: opening a call of {LONG_CALL_TURNS} turns = {} final sentences ({events_seen} events), \
         {LONG_CALLS} calls x {OPEN_ROUNDS} times, in the 1M-sentence cache, as the review screen does:\n",
        2 * LONG_CALL_TURNS
    );
    let names =
        ["events_of", "fold with Call::apply", "notes, tags, QA, outbox", "recordings_of", "(call_summary + turns)"];
    for (name, samples) in names.into_iter().zip(steps) {
        let mut samples = samples;
        samples.sort_by(f64::total_cmp);
        println!(
            "{name:<24} median {:>7.2} ms   p95 {:>7.2} ms",
            percentile(&samples, 0.5),
            percentile(&samples, 0.95)
        );
    }
    println!("{:<24} median {:>7.2} ms   p95 {:>7.2} ms", "open (first four)", figures.median, figures.p95);
    open_breakdown(cache.path(), &tasks[0]);
    events_of_shapes(cache.path(), &tasks[0]).await;
    figures
}

/// Where opening a call goes: `events_of`'s rows read alone through rusqlite, decoding
/// them, and folding the first half of the call against all of it (the fold recomputes the
/// call's counts over every turn after each event, so it grows with turns × events).
fn open_breakdown(path: &Path, task: &TaskId) {
    let conn = raw_connection(path);
    let read = || -> Vec<String> {
        let mut statement = conn
            .prepare_cached("SELECT body FROM events WHERE task_id = ?1 ORDER BY seq")
            .unwrap_or_else(|e| panic!("read events: {e}"));
        let rows = statement
            .query_map([task.as_str()], |row| row.get::<_, String>(0))
            .unwrap_or_else(|e| panic!("read events: {e}"));
        rows.map(|row| row.unwrap_or_else(|e| panic!("read events: {e}"))).collect()
    };
    let mut samples: [Vec<f64>; 4] = Default::default();
    for _ in 0..OPEN_ROUNDS {
        let started = Instant::now();
        let bodies = read();
        samples[0].push(ms(started.elapsed()));
        let started = Instant::now();
        let events: Vec<Event> =
            bodies.iter().map(|body| serde_json::from_str(body).unwrap_or_else(|e| panic!("decode: {e}"))).collect();
        samples[1].push(ms(started.elapsed()));
        for (slot, events) in [(2, &events[..events.len() / 2]), (3, &events[..])] {
            let started = Instant::now();
            let mut call = Call::new(task.clone());
            for event in events {
                call.apply(event);
            }
            std::hint::black_box(&call);
            samples[slot].push(ms(started.elapsed()));
        }
    }
    let [read_ms, decode_ms, half_ms, all_ms] = samples.map(median_f64);
    println!(
        "\nwhere the time goes (median of {OPEN_ROUNDS}): the call's event rows read through rusqlite {read_ms:.2} ms, \
         decoding their JSON {decode_ms:.2} ms; folding the first half {half_ms:.2} ms, all of it {all_ms:.2} ms \
         ({:.1}x for twice the events)",
        all_ms / half_ms
    );
}

/// `Cache::events_of`'s statement, as in `cache/history.rs` at the time of writing.
const EVENTS_OF_SQL: &str = "SELECT seq, body FROM events WHERE task_id = ?1 \
     UNION ALL \
     SELECT e.seq, e.body FROM calls c JOIN events e ON e.task_id IS NULL AND e.room_id = c.room_id \
     WHERE c.task_id = ?1 AND e.room_scoped = 1 \
     AND (e.sdk_app_id IS NULL OR c.sdk_app_id IS NULL OR e.sdk_app_id = c.sdk_app_id) \
     ORDER BY 1";

/// `events_of`'s statement through sqlx on a read-only connection like the cache's readers,
/// one row per event as the cache reads it, against the same rows folded into one JSON array
/// by SQLite and fetched as a single row.
async fn events_of_shapes(path: &Path, task: &TaskId) {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .disable_statement_logging()
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let one_row = format!("SELECT '[' || group_concat(body, ',') || ']' FROM ({EVENTS_OF_SQL})");
    let mut per_row = Vec::new();
    let mut single = Vec::new();
    for _ in 0..OPEN_ROUNDS {
        let started = Instant::now();
        let rows: Vec<(i64, String)> = sqlx::query_as(EVENTS_OF_SQL)
            .bind(task.as_str())
            .fetch_all(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("events_of: {e}"));
        let events: Vec<Event> =
            rows.iter().map(|(_, body)| serde_json::from_str(body).unwrap_or_else(|e| panic!("decode: {e}"))).collect();
        per_row.push(ms(started.elapsed()));
        let started = Instant::now();
        let array: String = sqlx::query_scalar(&one_row)
            .bind(task.as_str())
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("events_of as one row: {e}"));
        let decoded: Vec<Event> = serde_json::from_str(&array).unwrap_or_else(|e| panic!("decode: {e}"));
        single.push(ms(started.elapsed()));
        assert_eq!(events.len(), decoded.len(), "both shapes read the same events");
    }
    let _ = conn.close().await;
    println!(
        "events_of's statement through sqlx, one row per event, decoded: {:.2} ms; the same events as one \
         JSON-array row: {:.2} ms",
        median_f64(per_row),
        median_f64(single)
    );
}

// ---- summary ----

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

fn summary(ingest: &IngestFigures, build: &BuildFigures, search: &SearchFigures, open: &OpenFigures) {
    println!("\nSummary (medians where several runs were made):\n");
    println!("{:<58} {:>14} {:>12} {:>8}", "figure", "value", "goal", "");
    let rows: Vec<(String, String, String, &str)> = vec![
        (
            format!("events/s into the cache ({} events, batches of {INGEST_BATCH})", ingest.events),
            thousands(ingest.cache_rate),
            format!(">= {}", thousands(GOAL_EVENTS_PER_S)),
            verdict(ingest.cache_rate >= GOAL_EVENTS_PER_S),
        ),
        ("events/s, raw rusqlite inserts of the same rows".into(), thousands(ingest.raw_rate), "—".into(), ""),
        (
            "cache ÷ raw, events/s (median of per-round ratios)".into(),
            format!("{:.2}", ingest.ratio),
            format!(">= {GOAL_RAW_RATIO:.1}"),
            verdict(ingest.ratio >= GOAL_RAW_RATIO),
        ),
        (
            format!("search over 1M sentences, p95 ({} searches)", search.samples),
            format!("{:.2} ms", search.p95),
            format!("<= {GOAL_SEARCH_P95_MS:.0} ms"),
            verdict(search.p95 <= GOAL_SEARCH_P95_MS),
        ),
        ("… p50 / p99".into(), format!("{:.2} / {:.2} ms", search.p50, search.p99), "—".into(), ""),
        (
            format!("open a 1,000-sentence call ({} events), p95", open.events),
            format!("{:.2} ms", open.p95),
            format!("<= {GOAL_OPEN_MS:.0} ms"),
            verdict(open.p95 <= GOAL_OPEN_MS),
        ),
        (
            "… median".into(),
            format!("{:.2} ms", open.median),
            format!("<= {GOAL_OPEN_MS:.0} ms"),
            verdict(open.median <= GOAL_OPEN_MS),
        ),
        (
            format!("bytes per final sentence, 8-turn calls ({} sentences)", ingest.sentences),
            format!("{:.0}", ingest.bytes_per_sentence),
            "—".into(),
            "",
        ),
        ("bytes per event, 8-turn calls".into(), format!("{:.0}", ingest.bytes_per_event), "—".into(), ""),
        (
            "bytes per final sentence, 1M-sentence cache".into(),
            format!("{:.0}", build.bytes_per_sentence),
            "—".into(),
            "",
        ),
        ("bytes per event, 1M-sentence cache".into(), format!("{:.0}", build.bytes_per_event), "—".into(), ""),
        (
            format!(
                "build 1M sentences through append ({} events, {} calls)",
                thousands(build.events as f64),
                thousands(build.calls as f64)
            ),
            format!("{:.1} s", build.took.as_secs_f64()),
            "—".into(),
            "",
        ),
    ];
    for (figure, value, goal, met) in rows {
        println!("{figure:<58} {value:>14} {goal:>12} {met:>8}");
    }
    println!("(search rounds run: {} of {SEARCH_ROUNDS})", search.rounds);
}

fn main() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temporary folder: {e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start tokio: {e}"));
    let started = Instant::now();
    runtime.block_on(async {
        part_one(dir.path()).await;
        let ingest = part_two(dir.path()).await;
        println!("\nPart 3: search over {} final sentences, zh and en\n", thousands(BIG_SENTENCES as f64));
        let path = dir.path().join("big.sqlite");
        let cache = open_cache(&path).await;
        let build = build_big(&cache, &path).await;
        let search = part_three(&cache, &path).await;
        let open = part_four(&cache).await;
        cache.close().await;
        summary(&ingest, &build, &search, &open);
    });
    println!("\nwhole benchmark: {:.0} s", started.elapsed().as_secs_f64());
}
