//! `cargo bench -p hub --bench hub`: the hub on loopback, side by side with bare servers doing
//! only the transport, in one run:
//!
//! 1. **Ingest** — 64 concurrent HTTP clients POST distinct signed callbacks (904, 903, 906 ×7
//!    per turn, for 1,000 TaskIds) to a real hub with a fresh SQLite file → callbacks/s.
//!    Baseline: the same load against a bare axum handler that reads the body and answers 200.
//! 2. **Fan-out** — 100 WebSocket clients on the hub's stream while 20,000 callbacks go in →
//!    deliveries/s summed over the clients, and the time until the last client has the last
//!    event. Baseline: a bare axum server that broadcasts each POSTed body (a frame of exactly
//!    the hub's size for that event) through `tokio::sync::broadcast` to 100 WebSocket clients.
//! 3. **Latency** — callbacks paced at 5,000/s, each with its send time in its text; one
//!    stream client measures receive − send → p50/p90/p99/max. Baseline: the same pacing
//!    through a bare POST → broadcast → WebSocket server.
//! 4. **Gateway** — a fake OpenAI-compatible LLM on loopback that streams its whole answer at
//!    once; streamed chat completions through the hub's `/v1/llm/chat/completions` (for calls
//!    the hub knows, so each exchange is also recorded) alternate with the same requests
//!    straight to the fake → time to the first content chunk, and what the hub adds.
//!
//! Every figure is the median of [`REPEATS`] repetitions in this run, hub and baseline
//! alternating so that a noisy machine shifts both; the ratios compare figures of this run.
//! Servers run on one Tokio runtime (`bench-server`), the load and the clients on another
//! (`bench-client`); both share the machine's cores. The bare servers set `TCP_NODELAY` as the
//! hub does. `cargo bench -p hub --bench hub -- ingest latency` runs only the parts named
//! (`ingest`, `fanout`, `latency`, `gateway`), for profiling.
//!
//! Not here: assertions on speed (this is a benchmark, not a test). It fails when a callback
//! was refused or an event went missing, because the figures would then be meaningless; every
//! phase is bounded and fails rather than hangs.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use axum::body::Bytes;
use axum::extract::ws::{Message as ServerMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use domain::event::Event;
use domain::ids::{SdkAppId, Seq};
use futures_util::StreamExt;
use hub::auth::Role;
use hub::{HubConfig, LlmGatewayConfig, RunningHub};
use serde_json::json;
use tokio::runtime::Handle;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const APP: u64 = 1_400_000_321;
const CALLBACK_KEY: &str = "BenchCallbackKey";
const REPEATS: usize = 3;
const POSTERS: usize = 64;
const TASKS: usize = 1_000;
/// Distinct callbacks per ingest repetition (each repetition starts a fresh hub).
const INGEST_CALLBACKS: usize = 60_000;
const FANOUT_CLIENTS: usize = 100;
const FANOUT_CALLBACKS: usize = 20_000;
const PACED_PER_SECOND: u64 = 5_000;
const PACED_FOR: Duration = Duration::from_secs(6);
/// No phase of one repetition may take longer; past it the bench fails instead of hanging.
const PHASE_LIMIT: Duration = Duration::from_secs(60);
/// The bare servers' broadcast buffer. A bare client that falls further behind loses
/// messages (the hub instead replays them from its log), so it holds a whole fan-out.
const BARE_BUFFER: usize = 32_768;
const GATEWAY_KEY: &str = "bench-gateway-key";
const UPSTREAM_KEY: &str = "bench-upstream-key";
/// Calls the gateway requests are spread over.
const GATEWAY_CALLS: usize = 20;
const GATEWAY_WARM_UP: usize = 20;
const GATEWAY_REQUESTS: usize = 300;
const GOAL_CALLBACKS_PER_SECOND: f64 = 20_000.0;
const GOAL_P99_MS: f64 = 10.0;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn main() -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("bench-server")
        .enable_all()
        .build()
        .context("building the servers' runtime")?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .context("building the clients' runtime")?;
    println!(
        "hub bench: {cores} cores, {REPEATS} repetitions per figure (medians), {POSTERS} HTTP clients, \
         {FANOUT_CLIENTS} stream clients"
    );
    // `cargo bench -p hub --bench hub -- ingest latency` runs only those parts (for profiling).
    let only: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with("--")).collect();
    let bench = Bench { servers: server_rt.handle().clone(), callbacks: Arc::new(callbacks(INGEST_CALLBACKS)), only };
    let figures = client_rt.block_on(bench.run())?;
    client_rt.shutdown_timeout(Duration::from_secs(1));
    server_rt.shutdown_timeout(Duration::from_secs(1));
    figures.report();
    Ok(())
}

struct Bench {
    servers: Handle,
    /// Distinct signed callbacks in the order they are posted.
    callbacks: Arc<Vec<Post>>,
    /// The parts to run; empty: all.
    only: Vec<String>,
}

impl Bench {
    fn runs(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|only| only == part)
    }

    async fn run(&self) -> Result<Figures> {
        let mut figures = Figures::default();
        if self.runs("ingest") {
            self.run_ingest(&mut figures).await?;
        }
        if self.runs("fanout") {
            self.run_fanout(&mut figures).await?;
        }
        if self.runs("latency") {
            self.run_latency(&mut figures).await?;
        }
        if self.runs("gateway") {
            self.run_gateway(&mut figures).await?;
        }
        Ok(figures)
    }

    async fn run_ingest(&self, figures: &mut Figures) -> Result<()> {
        let size: usize = self.callbacks.iter().map(|post| post.body.len()).sum();
        println!(
            "  ingest: {INGEST_CALLBACKS} distinct callbacks per repetition, {} bytes on average",
            size / self.callbacks.len().max(1)
        );
        for repeat in 1..=REPEATS {
            let hub = self.ingest_hub().await?;
            let bare = self.ingest_bare().await?;
            println!("  ingest {repeat}/{REPEATS}: hub {hub:.0}/s, bare {bare:.0}/s");
            figures.ingest.push(hub, bare);
        }
        Ok(())
    }

    async fn run_fanout(&self, figures: &mut Figures) -> Result<()> {
        let frames = Arc::new(hub_frames(&self.callbacks[..FANOUT_CALLBACKS])?);
        let size: usize = frames.iter().map(|post| post.body.len()).sum();
        println!(
            "  fan-out: {FANOUT_CALLBACKS} events to {FANOUT_CLIENTS} clients, frames of {} bytes on average",
            size / frames.len().max(1)
        );
        for repeat in 1..=REPEATS {
            let hub = self.fanout_hub().await?;
            let bare = self.fanout_bare(&frames).await?;
            println!(
                "  fan-out {repeat}/{REPEATS}: hub {:.0}/s, last after {:.0} ms, {} lag notices; \
                 bare {:.0}/s, last after {:.0} ms",
                hub.deliveries_per_second, hub.last_ms, hub.lagged, bare.deliveries_per_second, bare.last_ms
            );
            figures.fanout.push(hub, bare);
        }
        Ok(())
    }

    async fn run_latency(&self, figures: &mut Figures) -> Result<()> {
        for repeat in 1..=REPEATS {
            let hub = self.latency_hub().await?;
            let bare = self.latency_bare().await?;
            println!(
                "  latency {repeat}/{REPEATS} at {:.0}/s: hub p99 {:.2} ms, bare p99 {:.2} ms",
                hub.rate, hub.p99, bare.p99
            );
            figures.latency.push(hub, bare);
        }
        Ok(())
    }

    // --- the servers ------------------------------------------------------------------------

    async fn start_hub(&self) -> Result<BenchHub> {
        self.start_hub_with(LlmGatewayConfig::default()).await
    }

    async fn start_hub_with(&self, llm: LlmGatewayConfig) -> Result<BenchHub> {
        let dir = tempfile::tempdir().context("a temporary data directory")?;
        let mut config = HubConfig::new(APP, CALLBACK_KEY, dir.path());
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        // Heartbeats are not what is measured.
        config.heartbeat = Duration::from_secs(3_600);
        config.llm = llm;
        let (hub, token) = self
            .servers
            .spawn(async move {
                let hub = hub::start(config).await?;
                let token = hub.add_user("bench", Role::Viewer).await?;
                anyhow::Ok((hub, token))
            })
            .await??;
        Ok(BenchHub { hub, token, _dir: dir })
    }

    async fn stop_hub(&self, hub: BenchHub) -> Result<()> {
        let BenchHub { hub, _dir, .. } = hub;
        let stopped = self.servers.spawn(tokio::time::timeout(Duration::from_secs(10), hub.stop()));
        stopped.await?.context("the hub did not stop within 10 s")
    }

    async fn start_bare(&self) -> Result<Bare> {
        self.servers.spawn(Bare::start()).await?
    }

    // --- 1. ingest --------------------------------------------------------------------------

    async fn ingest_hub(&self) -> Result<f64> {
        let hub = self.start_hub().await?;
        let url = format!("{}/callbacks/trtc", hub.hub.base_url);
        let elapsed = post_all(&url, &self.callbacks).await?;
        let stored = last_seq(&hub.hub.base_url).await?;
        self.stop_hub(hub).await?;
        ensure!(stored == INGEST_CALLBACKS as u64, "the hub stored {stored} of {INGEST_CALLBACKS} distinct callbacks");
        Ok(INGEST_CALLBACKS as f64 / elapsed.as_secs_f64())
    }

    async fn ingest_bare(&self) -> Result<f64> {
        let bare = self.start_bare().await?;
        let elapsed = post_all(&format!("{}/callbacks/trtc", bare.base_url), &self.callbacks).await?;
        let received = bare.state.received.load(Ordering::Relaxed);
        bare.stop();
        ensure!(received == INGEST_CALLBACKS as u64, "the bare server read {received} of {INGEST_CALLBACKS} bodies");
        Ok(INGEST_CALLBACKS as f64 / elapsed.as_secs_f64())
    }

    // --- 2. fan-out -------------------------------------------------------------------------

    async fn fanout_hub(&self) -> Result<Fanout> {
        let hub = self.start_hub().await?;
        let url = format!("{}/v1/stream?after=0&token={}", hub.hub.base_url.replace("http://", "ws://"), hub.token);
        let posts = Arc::new(self.callbacks[..FANOUT_CALLBACKS].to_vec());
        let fanout = fanout(&url, &format!("{}/callbacks/trtc", hub.hub.base_url), &posts).await;
        self.stop_hub(hub).await?;
        fanout
    }

    async fn fanout_bare(&self, frames: &Arc<Vec<Post>>) -> Result<Fanout> {
        let bare = self.start_bare().await?;
        let url = format!("{}/stream", bare.base_url.replace("http://", "ws://"));
        let fanout = fanout(&url, &format!("{}/publish", bare.base_url), frames).await;
        let lagged = bare.state.lagged.load(Ordering::Relaxed);
        bare.stop();
        ensure!(lagged == 0, "bare stream clients lagged by {lagged} messages: the baseline dropped some");
        fanout
    }

    // --- 3. latency -------------------------------------------------------------------------

    async fn latency_hub(&self) -> Result<Latency> {
        let hub = self.start_hub().await?;
        let url = format!("{}/v1/stream?after=0&token={}", hub.hub.base_url.replace("http://", "ws://"), hub.token);
        let latency = paced_latency(&url, &format!("{}/callbacks/trtc", hub.hub.base_url)).await;
        self.stop_hub(hub).await?;
        latency
    }

    async fn latency_bare(&self) -> Result<Latency> {
        let bare = self.start_bare().await?;
        let url = format!("{}/stream", bare.base_url.replace("http://", "ws://"));
        let latency = paced_latency(&url, &format!("{}/relay", bare.base_url)).await;
        bare.stop();
        latency
    }

    // --- 4. gateway -------------------------------------------------------------------------

    async fn run_gateway(&self, figures: &mut Figures) -> Result<()> {
        println!(
            "  gateway: {GATEWAY_REQUESTS} streamed chat completions per repetition and path, alternating, \
             from a fake LLM that answers at once"
        );
        for repeat in 1..=REPEATS {
            let (hub, direct) = self.gateway_once().await?;
            println!(
                "  gateway {repeat}/{REPEATS}: first content through the hub p50 {:.2} ms p99 {:.2} ms; \
                 straight p50 {:.2} ms p99 {:.2} ms",
                hub.p50, hub.p99, direct.p50, direct.p99
            );
            figures.gateway.push(hub, direct);
        }
        Ok(())
    }

    /// Time to the first content chunk through the hub's gateway and straight to the LLM.
    async fn gateway_once(&self) -> Result<(Latency, Latency)> {
        let llm = self.start_bare().await?;
        let upstream = format!("{}/v1/chat/completions", llm.base_url);
        let hub = self
            .start_hub_with(LlmGatewayConfig {
                upstream_url: Some(upstream.clone()),
                upstream_key: Some(UPSTREAM_KEY.into()),
                gateway_key: Some(GATEWAY_KEY.into()),
            })
            .await?;
        let result = gateway_requests(&hub, &upstream).await;
        self.stop_hub(hub).await?;
        llm.stop();
        result
    }
}

/// Asks alternately through the hub and straight; the calls are known to the hub (their
/// 901 came in), so every exchange is also recorded as an event, as in production.
async fn gateway_requests(hub: &BenchHub, upstream: &str) -> Result<(Latency, Latency)> {
    let http = http_client()?;
    let tasks: Vec<String> = (0..GATEWAY_CALLS).map(|call| format!("v2_bench_gateway_{call:02}")).collect();
    let callbacks = format!("{}/callbacks/trtc", hub.hub.base_url);
    for task in &tasks {
        post_one(&http, &callbacks, &Post::signed(ai_body(901, task, hub::now_ms(), json!({"Status": 0})))?).await?;
    }
    let through_hub = format!("{}/v1/llm/chat/completions", hub.hub.base_url);
    let ask = |url: &str, key: &str, index: usize| {
        let task = &tasks[index % tasks.len()];
        let body = json!({
            "model": "bench-llm", "stream": true,
            "messages": [
                {"role": "system", "content": "You are Acme's customer service agent."},
                {"role": "user", "content": format!("我想查询一下我的订单什么时候能到（{index}）")},
            ],
        });
        http.post(url)
            .bearer_auth(key)
            .header("X-Task-Id", task.as_str())
            .header("X-Request-Id", format!("bench-{index}"))
            .header("X-Sdk-App-Id", APP)
            .header("X-User-Id", "robot")
            .header("X-Room-Id", "8801")
            .header("X-Room-Id-Type", "0")
            .json(&body)
    };
    let deadline = Instant::now() + PHASE_LIMIT;
    // Warm both paths' connections (and the hub's to the upstream) before measuring.
    for index in 0..GATEWAY_WARM_UP {
        first_content(ask(&through_hub, GATEWAY_KEY, index), deadline).await?;
        first_content(ask(upstream, UPSTREAM_KEY, index), deadline).await?;
    }
    let (mut hub_ms, mut direct_ms) = (Vec::new(), Vec::new());
    for index in 0..GATEWAY_REQUESTS {
        // Alternate which path goes first, so neither always follows the other.
        if index % 2 == 0 {
            hub_ms.push(first_content(ask(&through_hub, GATEWAY_KEY, index), deadline).await?);
            direct_ms.push(first_content(ask(upstream, UPSTREAM_KEY, index), deadline).await?);
        } else {
            direct_ms.push(first_content(ask(upstream, UPSTREAM_KEY, index), deadline).await?);
            hub_ms.push(first_content(ask(&through_hub, GATEWAY_KEY, index), deadline).await?);
        }
    }
    Ok((percentiles(hub_ms, 0.0), percentiles(direct_ms, 0.0)))
}

/// Sends a streamed chat completion; answers the ms until the first content delta arrived
/// (the rest of the answer is read to the end).
async fn first_content(request: reqwest::RequestBuilder, deadline: Instant) -> Result<f64> {
    let sent = Instant::now();
    let mut response = tokio::time::timeout_at(deadline, request.send()).await??;
    ensure!(response.status().is_success(), "the chat completion answered {}", response.status());
    let mut seen = Vec::new();
    let mut first = None;
    while let Some(chunk) = tokio::time::timeout_at(deadline, response.chunk()).await?? {
        seen.extend_from_slice(&chunk);
        if first.is_none() && seen.windows(CONTENT.len()).any(|window| window == CONTENT) {
            first = Some(sent.elapsed());
        }
    }
    let first = first.context("the answer had no content delta")?;
    Ok(first.as_secs_f64() * 1e3)
}

/// A content delta in an SSE chunk (the role chunk before it has none).
const CONTENT: &[u8] = br#""content":""#;

/// The fake LLM: a streamed completion, every chunk at once.
async fn bare_llm(body: Bytes) -> Response {
    let model = if body.is_empty() { "none" } else { "bench-llm" };
    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        let chunk = json!({
            "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        });
        format!("data: {chunk}\n\n")
    };
    let mut events = vec![chunk(json!({ "role": "assistant" }), serde_json::Value::Null)];
    for piece in ["好的，", "请您提供一下订单号，", "我马上为您查询。"] {
        events.push(chunk(json!({ "content": piece }), serde_json::Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    events.push("data: [DONE]\n\n".to_owned());
    let stream = futures_util::stream::iter(events.into_iter().map(Ok::<_, std::convert::Infallible>));
    Response::builder()
        .header("Content-Type", "text/event-stream")
        .header("Cache-Control", "no-cache")
        .body(axum::body::Body::from_stream(stream))
        .unwrap_or_default()
}

/// A hub with its data directory (deleted when dropped) and a viewer's token.
struct BenchHub {
    hub: RunningHub,
    token: String,
    _dir: tempfile::TempDir,
}

/// The baseline: loopback HTTP and WebSocket with nothing else — no signature, no parsing,
/// no storage.
struct Bare {
    base_url: String,
    state: Arc<BareState>,
    stop: watch::Sender<bool>,
}

struct BareState {
    live: broadcast::Sender<Utf8Bytes>,
    received: AtomicU64,
    lagged: AtomicU64,
}

impl Bare {
    async fn start() -> Result<Bare> {
        let (live, _) = broadcast::channel(BARE_BUFFER);
        let state = Arc::new(BareState { live, received: AtomicU64::new(0), lagged: AtomicU64::new(0) });
        let app = Router::new()
            .route("/callbacks/trtc", post(bare_receive))
            .route("/publish", post(bare_publish))
            .route("/relay", post(bare_relay))
            .route("/stream", get(bare_stream))
            .route("/v1/chat/completions", post(bare_llm))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            // As the hub does: frames go out at once, not held back by Nagle.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            });
            // A failed bare server shows as missing bodies or events, which fail the bench.
            let _ = serve.await;
        });
        Ok(Bare { base_url: format!("http://{addr}"), state, stop })
    }

    fn stop(self) {
        let _ = self.stop.send(true);
    }
}

async fn bare_receive(State(state): State<Arc<BareState>>, body: Bytes) -> StatusCode {
    state.received.fetch_add(u64::from(!body.is_empty()), Ordering::Relaxed);
    StatusCode::OK
}

async fn bare_publish(State(state): State<Arc<BareState>>, body: Bytes) -> StatusCode {
    match Utf8Bytes::try_from(body) {
        Ok(text) => {
            state.received.fetch_add(1, Ordering::Relaxed);
            let _ = state.live.send(text);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

/// Wraps a callback body into an event frame, as the hub does (but without parsing it).
async fn bare_relay(State(state): State<Arc<BareState>>, body: Bytes) -> StatusCode {
    let mut frame = Vec::with_capacity(body.len() + 32);
    frame.extend_from_slice(br#"{"type":"event","event":"#);
    frame.extend_from_slice(&body);
    frame.push(b'}');
    match Utf8Bytes::try_from(frame) {
        Ok(text) => {
            state.received.fetch_add(1, Ordering::Relaxed);
            let _ = state.live.send(text);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn bare_stream(State(state): State<Arc<BareState>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| bare_serve(state, socket))
}

async fn bare_serve(state: Arc<BareState>, mut socket: WebSocket) {
    let mut live = state.live.subscribe();
    // Subscribed: from here on nothing published is missed (the clients wait for this).
    if socket.send(ServerMessage::Text(r#"{"type":"hello"}"#.into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(text) => {
                    if socket.send(ServerMessage::Text(text)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    state.lagged.fetch_add(missed, Ordering::Relaxed);
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(ServerMessage::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

// --- load and clients -----------------------------------------------------------------------

/// One POST: a body and its `Sign` header.
#[derive(Clone)]
struct Post {
    body: Bytes,
    sign: HeaderValue,
}

impl Post {
    fn signed(body: Vec<u8>) -> Result<Post> {
        let sign = HeaderValue::from_str(&trtc::callback::sign(CALLBACK_KEY, &body))?;
        Ok(Post { body: body.into(), sign })
    }
}

fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder().pool_max_idle_per_host(POSTERS).build()?)
}

async fn post_one(http: &reqwest::Client, url: &str, post: &Post) -> Result<()> {
    let response = http
        .post(url)
        .header("Content-Type", "application/json")
        .header("SdkAppId", APP)
        .header("Sign", post.sign.clone())
        .body(post.body.clone())
        .send()
        .await?;
    let status = response.status();
    // Read the answer, so the connection goes back to the pool.
    let answer = response.bytes().await?;
    if !status.is_success() {
        bail!("{url} answered {status}: {}", String::from_utf8_lossy(&answer));
    }
    Ok(())
}

/// POSTs every body with [`POSTERS`] concurrent clients; answers the wall time.
async fn post_all(url: &str, posts: &Arc<Vec<Post>>) -> Result<Duration> {
    let http = http_client()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + PHASE_LIMIT;
    let mut posters = JoinSet::new();
    for _ in 0..POSTERS {
        let (http, url, posts, next) = (http.clone(), url.to_owned(), posts.clone(), next.clone());
        posters.spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(post) = posts.get(index) else { return anyhow::Ok(()) };
                ensure!(Instant::now() < deadline, "posting took longer than {PHASE_LIMIT:?}");
                post_one(&http, &url, post).await?;
            }
        });
    }
    while let Some(done) = posters.join_next().await {
        done??;
    }
    Ok(started.elapsed())
}

/// The hub's `/healthz` `last_seq`.
async fn last_seq(base_url: &str) -> Result<u64> {
    let health: serde_json::Value = reqwest::get(format!("{base_url}/healthz")).await?.json().await?;
    health["last_seq"].as_u64().context("/healthz has no last_seq")
}

/// A stream client that has had its first frame: from then on it misses nothing.
async fn connect_ready(url: &str) -> Result<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.with_context(|| format!("connecting to {url}"))?;
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
    ensure!(matches!(first, Ok(Some(Ok(Message::Text(_))))), "{url} sent no first frame");
    Ok(ws)
}

/// An event frame, whichever order the JSON keys come in.
fn is_event(frame: &str) -> bool {
    frame.starts_with(r#"{"type":"event""#) || frame.ends_with(r#""type":"event"}"#)
}

/// What one stream client received.
struct Received {
    events: usize,
    /// `lagged` notices: the hub resumed this client from its log.
    lagged: usize,
    last_at: Option<Instant>,
    /// Receive − send, µs, of frames that carried their send time.
    latencies_us: Vec<u64>,
}

/// Reads event frames until `expect` of them or the deadline; `origin` is the clock that
/// `sent_us=` in frames counts from.
async fn read_events(mut ws: Ws, expect: usize, deadline: Instant, origin: Option<Instant>) -> Received {
    let mut received = Received { events: 0, lagged: 0, last_at: None, latencies_us: Vec::new() };
    while received.events < expect {
        let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, ws.next()).await else { break };
        let Message::Text(text) = message else { continue };
        if !is_event(&text) {
            received.lagged += usize::from(text.contains(r#""type":"lagged""#));
            continue;
        }
        received.events += 1;
        let now = Instant::now();
        received.last_at = Some(now);
        if let (Some(origin), Some(sent)) = (origin, sent_us(&text)) {
            let at = u64::try_from(now.duration_since(origin).as_micros()).unwrap_or(u64::MAX);
            received.latencies_us.push(at.saturating_sub(sent));
        }
    }
    let _ = ws.close(None).await;
    received
}

struct Fanout {
    deliveries_per_second: f64,
    /// From the first POST until the last client has the last event.
    last_ms: f64,
    /// From the last POST's answer until the last client has the last event.
    tail_ms: f64,
    /// Clients told they lagged (and resumed from the log), summed over clients.
    lagged: usize,
}

async fn fanout(stream_url: &str, post_url: &str, posts: &Arc<Vec<Post>>) -> Result<Fanout> {
    let mut clients = Vec::with_capacity(FANOUT_CLIENTS);
    for _ in 0..FANOUT_CLIENTS {
        clients.push(connect_ready(stream_url).await?);
    }
    let started = Instant::now();
    let deadline = started + PHASE_LIMIT;
    let mut readers = JoinSet::new();
    for ws in clients {
        readers.spawn(read_events(ws, posts.len(), deadline, None));
    }
    let posting = post_all(post_url, posts).await?;
    let (mut last, mut lagged) = (started, 0);
    while let Some(received) = readers.join_next().await {
        let received = received?;
        ensure!(received.events == posts.len(), "a stream client got {} of {} events", received.events, posts.len());
        last = last.max(received.last_at.unwrap_or(started));
        lagged += received.lagged;
    }
    let total = last.duration_since(started);
    Ok(Fanout {
        deliveries_per_second: (FANOUT_CLIENTS * posts.len()) as f64 / total.as_secs_f64(),
        last_ms: total.as_secs_f64() * 1e3,
        tail_ms: total.saturating_sub(posting).as_secs_f64() * 1e3,
        lagged,
    })
}

struct Latency {
    /// The rate the callbacks actually went out at.
    rate: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

/// Posts callbacks at [`PACED_PER_SECOND`] for [`PACED_FOR`], each carrying its send time,
/// and measures when one stream client gets them.
async fn paced_latency(stream_url: &str, post_url: &str) -> Result<Latency> {
    let count = (PACED_PER_SECOND * PACED_FOR.as_secs()) as usize;
    let ws = connect_ready(stream_url).await?;
    let http = http_client()?;
    let origin = Instant::now();
    let deadline = origin + PHASE_LIMIT;
    let reader = tokio::spawn(read_events(ws, count, deadline, Some(origin)));
    let interval = Duration::from_nanos(1_000_000_000 / PACED_PER_SECOND);
    let calls_ms = hub::now_ms();
    let mut posts = JoinSet::new();
    for index in 0..count {
        let due = origin + interval * u32::try_from(index)?;
        tokio::time::sleep_until(due).await;
        let sent_us = u64::try_from(origin.elapsed().as_micros())?;
        let post = Post::signed(latency_body(index, calls_ms, sent_us))?;
        let (http, url) = (http.clone(), post_url.to_owned());
        posts.spawn(async move { post_one(&http, &url, &post).await });
        while let Some(done) = posts.try_join_next() {
            done??;
        }
    }
    let sent_for = origin.elapsed();
    while let Some(done) = tokio::time::timeout_at(deadline, posts.join_next()).await? {
        done??;
    }
    let received = reader.await?;
    ensure!(received.events == count, "the stream client got {} of {count} events", received.events);
    ensure!(
        received.latencies_us.len() == count,
        "{} events carried no send time",
        count - received.latencies_us.len()
    );
    let ms = received.latencies_us.iter().map(|us| *us as f64 / 1e3).collect();
    Ok(percentiles(ms, count as f64 / sent_for.as_secs_f64()))
}

/// p50/p90/p99/max of `ms`, with the rate they were taken at.
fn percentiles(mut ms: Vec<f64>, rate: f64) -> Latency {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms.get((ms.len().saturating_sub(1) as f64 * q).round() as usize).copied().unwrap_or(f64::NAN);
    Latency { rate, p50: at(0.50), p90: at(0.90), p99: at(0.99), max: at(1.0) }
}

// --- callbacks --------------------------------------------------------------------------------

/// One group-9 AI callback, sent now.
fn ai_body(event_type: u64, task: &str, ms: u64, payload: serde_json::Value) -> Vec<u8> {
    json!({
        "EventGroupId": 9,
        "EventType": event_type,
        "CallbackTs": hub::now_ms(),
        "EventInfo": {"EventMsTs": ms, "TaskId": task, "RoomId": "8801", "RoomIdType": 0, "Payload": payload}
    })
    .to_string()
    .into_bytes()
}

/// `count` distinct signed callbacks for [`TASKS`] calls: each call's 901, then turn after
/// turn of every call (904, the customer's and the robot's 903, seven 906 metrics).
fn callbacks(count: usize) -> Vec<Post> {
    let t0 = hub::now_ms() - 3_600_000;
    let task = |call: usize| format!("v2_bench_task_{call:05}");
    let mut bodies: Vec<Vec<u8>> = (0..TASKS).map(|call| ai_body(901, &task(call), t0, json!({"Status": 0}))).collect();
    let mut turn = 0_u64;
    while bodies.len() < count {
        for call in 0..TASKS {
            let (task, round) = (task(call), format!("round-{turn}"));
            let t = t0 + 1_000 + turn * 6_000 + call as u64;
            bodies.push(ai_body(904, &task, t, json!({"UserId": "customer", "RoundId": round})));
            bodies.push(ai_body(
                903,
                &task,
                t + 1_500,
                json!({"UserId": "customer", "Text": "我想查询一下我的订单什么时候能到", "StartTimeMs": t,
                       "EndTimeMs": t + 1_400, "RoundId": round}),
            ));
            bodies.push(ai_body(
                903,
                &task,
                t + 2_600,
                json!({"UserId": "robot", "Text": "好的，请您提供一下订单号，我马上为您查询。", "StartTimeMs": t + 2_000,
                       "EndTimeMs": t + 2_600, "RoundId": round}),
            ));
            for (i, (metric, value)) in [
                ("asr_latency", 1_180.0),
                ("llm_network_latency", 90.0),
                ("llm_first_token", 640.0 + (call % 7) as f64 * 300.0),
                ("tts_network_latency", 60.0),
                ("tts_first_frame_latency", 410.0),
                ("tts_discontinuity", 0.0),
                ("interruption", 0.0),
            ]
            .into_iter()
            .enumerate()
            {
                bodies.push(ai_body(
                    906,
                    &task,
                    t + 1_600 + i as u64,
                    json!({"Metric": metric, "Value": value, "Tag": {"RoundId": round}}),
                ));
            }
        }
        turn += 1;
    }
    bodies.truncate(count);
    bodies.into_iter().filter_map(|body| Post::signed(body).ok()).collect()
}

/// The stream frames the hub sends for `posts`, for the bare fan-out to send the same bytes.
fn hub_frames(posts: &[Post]) -> Result<Vec<Post>> {
    posts
        .iter()
        .enumerate()
        .map(|(index, post)| {
            let event = Event::from_callback(&post.body, Some(SdkAppId(APP)))?.with_seq(Seq(index as u64 + 1));
            // The hub's layout: `type` first, then the event serialised as it is.
            let frame = format!(r#"{{"type":"event","event":{}}}"#, serde_json::to_string(&event)?);
            Ok(Post { body: frame.into(), sign: post.sign.clone() })
        })
        .collect()
}

/// A robot's sentence whose text carries `sent_us`.
fn latency_body(index: usize, calls_ms: u64, sent_us: u64) -> Vec<u8> {
    let task = format!("v2_bench_latency_{:03}", index % 50);
    let ms = calls_ms + index as u64;
    ai_body(
        903,
        &task,
        ms,
        json!({"UserId": "robot", "Text": format!("好的，我马上为您查询。sent_us={sent_us};"), "StartTimeMs": ms - 600,
               "EndTimeMs": ms, "RoundId": format!("round-{index}")}),
    )
}

/// The send time a latency frame carries.
fn sent_us(frame: &str) -> Option<u64> {
    let (_, after) = frame.split_once("sent_us=")?;
    let digits = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
    after[..digits].parse().ok()
}

// --- the report -------------------------------------------------------------------------------

/// Hub and baseline samples of one figure.
struct Pairs<T> {
    hub: Vec<T>,
    bare: Vec<T>,
}

impl<T> Default for Pairs<T> {
    fn default() -> Pairs<T> {
        Pairs { hub: Vec::new(), bare: Vec::new() }
    }
}

impl<T> Pairs<T> {
    fn push(&mut self, hub: T, bare: T) {
        self.hub.push(hub);
        self.bare.push(bare);
    }

    fn medians(&self, figure: impl Fn(&T) -> f64) -> (f64, f64) {
        (median(self.hub.iter().map(&figure)), median(self.bare.iter().map(&figure)))
    }
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

#[derive(Default)]
struct Figures {
    ingest: Pairs<f64>,
    fanout: Pairs<Fanout>,
    latency: Pairs<Latency>,
    /// Through the hub, and straight to the upstream.
    gateway: Pairs<Latency>,
}

impl Figures {
    fn report(&self) {
        println!();
        println!("{:<52} {:>12} {:>12} {:>10}", "figure (median)", "hub", "bare", "hub ÷ bare");
        let row = |name: &str, (hub, bare): (f64, f64), decimals: usize| {
            println!("{name:<52} {hub:>12.decimals$} {bare:>12.decimals$} {:>9.2}×", hub / bare);
        };
        let ingest = self.ingest.medians(|rate| *rate);
        row("signed callbacks ingested /s", ingest, 0);
        row("fan-out deliveries /s (sum over 100 clients)", self.fanout.medians(|f| f.deliveries_per_second), 0);
        row("fan-out: last client has last event, ms", self.fanout.medians(|f| f.last_ms), 0);
        row("fan-out: … after the last POST's answer, ms", self.fanout.medians(|f| f.tail_ms), 0);
        row("paced: rate sent /s", self.latency.medians(|l| l.rate), 0);
        row("paced: receipt → delivery p50, ms", self.latency.medians(|l| l.p50), 2);
        row("paced: p90, ms", self.latency.medians(|l| l.p90), 2);
        let p99 = self.latency.medians(|l| l.p99);
        row("paced: p99, ms", p99, 2);
        row("paced: max, ms", self.latency.medians(|l| l.max), 2);
        row("gateway: first content p50, ms (bare = straight)", self.gateway.medians(|l| l.p50), 2);
        row("gateway: first content p99, ms", self.gateway.medians(|l| l.p99), 2);
        println!();
        let met = |ok: bool| if ok { "met" } else { "MISSED" };
        println!(
            "goal ≥ {GOAL_CALLBACKS_PER_SECOND:.0} callbacks/s: {} ({:.0}/s)",
            met(ingest.0 >= GOAL_CALLBACKS_PER_SECOND),
            ingest.0
        );
        println!(
            "goal p99 ≤ {GOAL_P99_MS:.0} ms at {PACED_PER_SECOND}/s: {} ({:.2} ms; the hub adds {:.2} ms over bare)",
            met(p99.0 <= GOAL_P99_MS),
            p99.0,
            p99.0 - p99.1
        );
        let (hub, direct) = self.gateway.medians(|l| l.p50);
        let (hub99, direct99) = self.gateway.medians(|l| l.p99);
        println!(
            "LLM gateway, time to first content: p50 {hub:.2} ms vs {direct:.2} ms straight (adds {:.2} ms), \
             p99 {hub99:.2} ms vs {direct99:.2} ms (adds {:.2} ms)",
            hub - direct,
            hub99 - direct99
        );
    }
}
