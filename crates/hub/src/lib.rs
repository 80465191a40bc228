//! The Switchboard hub: the one server between Tencent Cloud and supervisors' consoles.
//!
//! What lives here:
//! - `ingest` — `POST /callbacks/trtc`: TRTC's signed callbacks, verified before parsing,
//!   normalised into domain events, deduplicated, appended, published.
//! - `log` — the event log port ([`log::EventLog`]) and its SQLite adapter; `store` — the
//!   same SQLite file's supervisors, commands by idempotency key and audit trail.
//! - `appender` — the one writer: sequence numbers, the live board and the live broadcast
//!   all follow the order it commits in.
//! - `stream` — `GET /v1/stream?after=SEQ` (WebSocket): replay, then live, never a silent drop.
//! - `read` — `/v1/calls`, `/v1/calls/{id}`, `/v1/recordings`, `/v1/audit`, `/healthz`,
//!   `/metrics`.
//! - `control` — `POST /v1/calls/{id}/commands` (idempotent, role-checked, audited,
//!   mapped to the Cloud API through `trtc`), locks, presence and room tickets.
//! - `review` — `/v1/calls/{id}/notes`, `/tags`, `/qa`: supervisors' notes, tags and QA
//!   scores, recorded as hub facts (every role may review).
//! - `gateway` — the OpenAI-compatible LLM gateway calls can point `LLMConfig.APIUrl` at:
//!   forwarding, whispers, take-over and hand-back.
//!
//! What deliberately does not: any UI, and any TRTC wire parsing of its own (that is
//! `domain` and `trtc`). Secrets (callback key, cloud credentials, SDK secret, tokens)
//! never reach the log, the database or a response.

pub mod auth;
pub mod config;
pub mod log;
pub mod metrics;
pub mod store;

mod appender;
mod control;
mod gateway;
mod ingest;
mod read;
mod review;
mod stream;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use domain::board::Board;
use domain::event::{CallRef, Event, EventBody};
use domain::ids::{SourceMs, TaskId};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};

pub use config::{ConfigError, HubConfig, LlmGatewayConfig};
pub use ingest::{Accepted, Rejection};

use crate::appender::Appender;
use crate::auth::User;
use crate::log::{Appended, EventLog, LogError, NewEvent, SqliteLog};
use crate::metrics::Metrics;
use crate::store::Store;

/// A mutex's guard even after a panic elsewhere poisoned it: the hub's maps stay usable
/// (each update is a single insert or removal, never left half done).
pub(crate) fn unpoisoned<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Unix time in ms.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}

/// State shared by every handler.
#[derive(Debug)]
pub struct Shared {
    pub(crate) config: HubConfig,
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) store: Store,
    pub(crate) appender: Appender,
    pub(crate) live: broadcast::Sender<Arc<appender::Published>>,
    pub(crate) board: RwLock<Board>,
    pub(crate) last_seq: AtomicU64,
    pub(crate) metrics: Metrics,
    pub(crate) control: control::Control,
    pub(crate) gateway: gateway::Gateway,
    /// Becomes `true` when the hub stops: long-lived connections (streams) end on it, since
    /// the server's graceful shutdown does not track upgraded WebSockets.
    pub(crate) stopping: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn board_read(&self) -> RwLockReadGuard<'_, Board> {
        self.board.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends one of the hub's own facts about `task`.
    pub(crate) async fn record(&self, task: &TaskId, body: EventBody) -> Result<Option<Event>, LogError> {
        let now = now_ms();
        let event = Event::hub_fact(CallRef::task(task.clone()), SourceMs(now), body);
        let appended = self.appender.append(vec![NewEvent { event, dedup_key: None, received_ms: now }]).await?;
        Ok(appended.into_iter().next().and_then(|result| match result {
            Appended::Stored(event) => Some(*event),
            Appended::Duplicate => None,
        }))
    }
}

/// An error answer: a status, a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl HttpError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> HttpError {
        HttpError { status, code, message: message.into() }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": { "code": self.code, "message": self.message } }))).into_response()
    }
}

impl From<LogError> for HttpError {
    fn from(error: LogError) -> HttpError {
        tracing::error!(%error, "storage error");
        HttpError::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", error.to_string())
    }
}

/// The supervisor behind a request's token.
pub(crate) async fn authenticate(shared: &Shared, headers: &HeaderMap, query: Option<&str>) -> Result<User, HttpError> {
    let token = auth::token_from(headers, query)
        .ok_or_else(|| HttpError::new(StatusCode::UNAUTHORIZED, "missing_token", "send Authorization: Bearer TOKEN"))?;
    shared
        .store
        .user_by_token(&token)
        .await?
        .ok_or_else(|| HttpError::new(StatusCode::UNAUTHORIZED, "bad_token", "the token is not valid"))
}

/// A hub that is serving.
#[derive(Debug)]
pub struct RunningHub {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

impl RunningHub {
    /// Adds a supervisor to this hub's database and returns the token (shown once).
    ///
    /// # Errors
    /// As [`Store::add_user`].
    pub async fn add_user(&self, name: &str, role: auth::Role) -> Result<String, store::UserError> {
        self.shared.store.add_user(name, role, now_ms()).await
    }

    /// The supervisor a token belongs to, if any (the built-in demo checks its saved token).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn user_of(&self, token: &str) -> Result<Option<auth::User>, LogError> {
        self.shared.store.user_by_token(token).await
    }

    /// Stops serving and waits until the server has let go of its port and connections.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
    }
}

/// Opens the log in `config.data_dir`, binds `config.listen` and serves.
///
/// # Errors
/// A bad configuration (naming the setting), an unusable data directory or database, or
/// an address that cannot be bound.
pub async fn start(config: HubConfig) -> anyhow::Result<RunningHub> {
    config.validate()?;
    let pool = store::open(&config.data_dir).await?;
    let log: Arc<dyn EventLog> = Arc::new(SqliteLog::new(pool.clone()));
    let trtc = control::cloud_client(&config)?;
    let (jobs_tx, jobs_rx) = mpsc::channel(4_096);
    let (live, _) = broadcast::channel(config.live_buffer.max(1));
    let (shutdown, mut stopped) = watch::channel(false);
    let shared = Arc::new(Shared {
        log: log.clone(),
        store: Store::new(pool),
        appender: Appender::new(jobs_tx),
        live,
        board: RwLock::new(Board::new()),
        last_seq: AtomicU64::new(0),
        metrics: Metrics::default(),
        control: control::Control::new(trtc, config.lock_ttl),
        gateway: gateway::Gateway::new(&config.llm),
        stopping: shutdown.subscribe(),
        config,
    });
    rebuild_board(&shared).await?;

    let listener = TcpListener::bind(shared.config.listen).await?;
    let addr = listener.local_addr()?;

    tokio::spawn(appender::run(shared.clone(), jobs_rx));
    tokio::spawn(housekeeping(shared.clone(), shutdown.subscribe()));
    tokio::spawn(control::watch_outcomes(shared.clone()));

    let app = router(shared.clone());
    let server = tokio::spawn(async move {
        use axum::serve::ListenerExt;
        // Stream frames and gateway chunks go out at once, not held back by Nagle.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let serve = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            });
        if let Err(error) = serve.await {
            tracing::error!(%error, "the hub's server stopped");
        }
    });
    Ok(RunningHub { base_url: format!("http://{addr}"), addr, shared, shutdown, server })
}

/// Folds the whole log into the board, so snapshots survive restarts.
async fn rebuild_board(shared: &Shared) -> Result<(), LogError> {
    let mut after = domain::ids::Seq(0);
    let mut board = Board::new();
    loop {
        let page = shared.log.read_after(after, 5_000).await?;
        let Some(last) = page.last().and_then(|event| event.seq) else {
            break;
        };
        for event in &page {
            board.apply(event);
        }
        after = last;
    }
    let last = shared.log.last_seq().await?;
    shared.last_seq.store(last.0, std::sync::atomic::Ordering::Release);
    *shared.board.write().unwrap_or_else(std::sync::PoisonError::into_inner) = board;
    Ok(())
}

/// Once a second: the events/s sample and expired locks; once a minute: retention.
async fn housekeeping(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut seconds: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        seconds += 1;
        shared.metrics.sample();
        control::expire_locks(&shared).await;
        if seconds % 60 == 1 {
            if let Some(retention) = shared.config.retention {
                let cutoff = now_ms().saturating_sub(u64::try_from(retention.as_millis()).unwrap_or(u64::MAX));
                // Small batches, so appends never wait long behind a delete.
                loop {
                    match shared.log.purge_before(cutoff, 500).await {
                        Ok(500) => tokio::task::yield_now().await,
                        Ok(_) => break,
                        Err(error) => {
                            tracing::warn!(%error, "retention could not delete old events");
                            break;
                        }
                    }
                }
            }
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/callbacks/trtc", post(ingest::handle))
        .route("/v1/stream", get(stream::handle))
        .route("/v1/calls", get(read::calls))
        .route("/v1/calls/{id}", get(read::call))
        .route("/v1/calls/{id}/commands", post(control::command))
        .route("/v1/calls/{id}/lock", post(control::lock))
        .route("/v1/calls/{id}/presence", post(control::presence))
        .route("/v1/calls/{id}/notes", post(review::add_note))
        .route("/v1/calls/{id}/tags", put(review::set_tags))
        .route("/v1/calls/{id}/qa", put(review::set_qa))
        .route("/v1/room-tickets", post(control::room_ticket))
        .route("/v1/recordings", get(read::recordings))
        .route("/v1/recordings/{task}/{file}", get(read::download))
        .route("/v1/audit", get(read::audit))
        .route("/v1/llm/chat/completions", post(gateway::handle))
        .route("/healthz", get(read::healthz))
        .route("/metrics", get(read::metrics))
        .with_state(shared)
}
