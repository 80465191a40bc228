//! `trtc-emulator`: a local stand-in for Tencent Cloud's TRTC AI conversation, faithful
//! enough that the official SDKs run against it unchanged (trtc-contract.md is the spec).
//!
//! What lives here:
//! - [`cloud_api`]: the Cloud API v3 — TC3 signature checks, the documented envelopes and
//!   error codes, per-action rate limits, the task lifecycle of the nine AI conversation
//!   and cloud recording actions;
//! - [`conversation`]: a scripted call (zh/en personas, realistic latencies, interruptions,
//!   errors) for every started task, emitting callbacks and room messages ([`outputs`]),
//!   driven by [`calls`] from the Cloud API; its replies come from the task's
//!   OpenAI-compatible LLM (`LLMConfig`) when that is reachable;
//! - [`llm_endpoint`]: `POST /v1/chat/completions`, the emulator's own OpenAI-compatible
//!   LLM answering with the scripted lines (with LLM failures at the configured rate) —
//!   where generated calls point by default;
//! - [`callbacks`]: signed callback delivery with TRTC's timeout and retry schedule;
//! - [`room_link`]: `GET /room` WebSocket — join a call's room with a UserSig, receive its
//!   cmdID-1 messages and its audio, send 20000/20001;
//! - [`traffic`]: the business backend, starting calls through the real API;
//! - [`recording`]: a recorder per `CreateCloudRecording` that hears the room's final
//!   lines, speaks them with espeak-ng ([`audio`]) into WAV files under
//!   `<data-dir>/recordings/<TaskId>/` (real TRTC writes m3u8/ts/mp4/aac; the emulator
//!   writes WAV), serves them at `GET /recordings/{TaskId}/{file}` and sends the recording
//!   callbacks (group 3). Without a data dir, files go to `<temp>/trtc-emulator-<pid>`;
//! - [`clock`]: the cloud's clock — the wall clock plus `--clock-offset-secs` — that the
//!   Cloud API, the conversations' callbacks, the callback sender, the recorders and the
//!   room link all stamp with;
//! - [`room_audio`]: the rooms' speech for room-link members — each final line spoken with
//!   espeak-ng and streamed as 20 ms `PCM1` frames (22050 Hz mono s16le) per speaker,
//!   paced by the speed, only for rooms someone has joined.

pub mod audio;
pub mod callbacks;
pub mod calls;
pub mod clock;
pub mod cloud_api;
pub mod conversation;
pub mod llm_endpoint;
pub mod outputs;
mod rate_limit;
pub mod recording;
pub mod room_audio;
pub mod room_link;
pub mod tasks;
pub mod traffic;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use tokio::net::TcpListener;

pub use cloud_api::{Cloud, CloudConfig};
pub use conversation::ErrorRates;

/// FNV-1a, 64 bit: a hash that stays the same across runs and builds, for what must be a
/// pure function of a name (a call's round ids from its task id, a TTS voice id's
/// [`audio::Voice`]). Not security-relevant.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(PRIME))
}

/// A running emulator on a loopback (or any) address.
#[derive(Debug)]
pub struct Running {
    /// `http://ADDR`, what clients use as their endpoint.
    pub base_url: String,
    pub addr: SocketAddr,
    pub cloud: Arc<Cloud>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops serving.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Binds `listen` (port 0 picks a free port) and serves the emulator in the background.
///
/// # Errors
/// When the address cannot be bound.
pub async fn start(config: CloudConfig, listen: SocketAddr) -> std::io::Result<Running> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let cloud = Cloud::new(config);
    let app = cloud_api::router(cloud.clone());
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(error = %err, "the emulator's server stopped");
        }
    });
    Ok(Running { base_url: format!("http://{addr}"), addr, cloud, task })
}

/// Everything the emulator plays, beyond the Cloud API.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub cloud: CloudConfig,
    /// Where callbacks go; `None` = not sent (they are drained and counted).
    pub callback_url: Option<String>,
    pub callback_key: String,
    pub speed: f64,
    pub seed: u64,
    /// Calls the traffic generator keeps running; 0 = none.
    pub calls: usize,
    pub arrival_per_minute: f64,
    /// The share (0–1) of generated calls the traffic generator also records, as a
    /// backend would: `CreateCloudRecording` on the call's room before it starts, stopped
    /// by the recorder's `MaxIdleTime` once the room is quiet. 0 records none.
    pub recorded_share: f64,
    /// Where recording files are written (`<data_dir>/recordings/<TaskId>/`); `None` = a
    /// directory under the system's temp dir, `trtc-emulator-<pid>`.
    pub data_dir: Option<PathBuf>,
    /// Pipeline-error rates per reply, by stage (the script's, and the LLM endpoint's).
    pub error_rates: ErrorRates,
    /// The `APIUrl` generated calls use; `None` = this emulator's own
    /// `<base URL>/v1/chat/completions`.
    pub llm_url: Option<String>,
    /// The `APIKey` generated calls send to `llm_url`; `None` = `emulated` (what this
    /// emulator's own endpoint accepts, like any other key). A hub's LLM gateway needs its key.
    pub llm_api_key: Option<String>,
}

impl EmulatorConfig {
    /// `cloud` with everything else at its default: no callbacks (drained and counted),
    /// real-time speed, seed 1, no generated traffic (6 arrivals a minute once `calls` is
    /// set), recordings under a temporary directory, the default error rates, generated
    /// calls using this emulator's own LLM endpoint. Set fields after, or spread it
    /// (`EmulatorConfig { calls: 4, ..EmulatorConfig::new(cloud) }`).
    pub fn new(cloud: CloudConfig) -> EmulatorConfig {
        EmulatorConfig {
            cloud,
            callback_url: None,
            callback_key: String::new(),
            speed: 1.0,
            seed: 1,
            calls: 0,
            arrival_per_minute: 6.0,
            recorded_share: 0.0,
            data_dir: None,
            error_rates: ErrorRates::default(),
            llm_url: None,
            llm_api_key: None,
        }
    }
}

/// A running emulator with conversations, callbacks and (optionally) generated traffic.
#[derive(Debug)]
pub struct RunningEmulator {
    pub base_url: String,
    pub addr: SocketAddr,
    pub cloud: Arc<Cloud>,
    /// Callback delivery counters; `None` when no callback URL is configured.
    pub callback_stats: Option<Arc<callbacks::CallbackStats>>,
    /// Every room message the calls produce (for the room link and tests).
    pub outputs: outputs::Outputs,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningEmulator {
    /// Stops serving, playing and sending.
    pub fn stop(self) {
        self.tasks.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

/// Binds `listen` and runs the whole emulator: Cloud API, a conversation per started task,
/// a recorder per recording task, callback delivery to `config.callback_url`, and the
/// traffic generator.
///
/// # Errors
/// When the address cannot be bound or the callback URL / credentials are unusable.
pub async fn start_emulator(config: EmulatorConfig, listen: SocketAddr) -> std::io::Result<RunningEmulator> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let (outputs, receivers) = outputs::Outputs::new();
    let http = reqwest::Client::builder()
        .build()
        .map_err(|err| std::io::Error::other(format!("cannot build the LLM HTTP client: {err}")))?;
    // One clock for everything the cloud stamps: API, conversations, callbacks, recordings.
    let clock = config.cloud.clock();
    let pipeline = conversation::Pipeline { http: Some(http), rates: config.error_rates, clock };
    let calls = calls::Calls::with_pipeline(outputs.clone(), config.speed, config.seed, pipeline);
    let data_dir = config.data_dir.clone().unwrap_or_else(|| {
        let dir = recording::Recorder::default_data_dir();
        tracing::info!(dir = %dir.display(), "no data dir given: recordings go to a temporary directory");
        dir
    });
    let recorder = recording::Recorder::with_clock(outputs.clone(), config.speed, &data_dir, base_url.clone(), clock);
    let cloud = Cloud::with_calls_and_recorder(config.cloud.clone(), calls, recorder.clone());
    let audio = room_audio::RoomAudio::new();
    let speaker = room_audio::spawn(audio.clone(), &outputs, config.speed);
    let app = cloud_api::router(cloud.clone())
        .merge(room_link::router_with_audio(outputs.clone(), room_link::RoomLinkConfig::from(&config.cloud), audio))
        .merge(recording::router(recorder))
        .merge(llm_endpoint::router(llm_endpoint::EndpointConfig {
            speed: config.speed,
            error_rate: config.error_rates.llm,
            seed: config.seed,
        }));
    let mut tasks = vec![
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(error = %err, "the emulator's server stopped");
            }
        }),
        speaker,
    ];
    let callback_stats = match &config.callback_url {
        Some(url) => {
            let mut callback =
                callbacks::CallbackConfig::new(url.clone(), config.callback_key.clone(), config.cloud.sdk_app_id);
            callback.speed = config.speed;
            callback.clock = clock;
            let (task, stats) = callbacks::spawn(callback, receivers.callbacks);
            tasks.push(task);
            Some(stats)
        }
        None => {
            let mut drain = receivers.callbacks;
            tasks.push(tokio::spawn(async move { while drain.recv().await.is_some() {} }));
            None
        }
    };
    if config.calls > 0 {
        let (secret_id, secret_key) = config.cloud.keys.first().cloned().unwrap_or_default();
        let invalid = |err: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, err);
        let credentials =
            trtc::credentials::Credentials::new(secret_id, secret_key).map_err(|e| invalid(e.to_string()))?;
        let client = trtc::client::Client::new(
            trtc::client::ClientConfig::new(credentials, "ap-guangzhou")
                .with_endpoint(trtc::client::Endpoint::Url(base_url.clone())),
        )
        .map_err(|e| invalid(e.to_string()))?;
        let traffic = traffic::TrafficConfig {
            calls: config.calls,
            arrival_per_minute: config.arrival_per_minute,
            recorded_share: config.recorded_share,
            speed: config.speed,
            seed: config.seed,
            sdk_app_id: config.cloud.sdk_app_id,
            sdk_secret_key: config.cloud.sdk_secret_key.clone(),
            llm_url: config.llm_url.clone().unwrap_or_else(|| format!("{base_url}{}", llm_endpoint::PATH)),
            llm_api_key: config.llm_api_key.clone().unwrap_or_else(|| traffic::DEFAULT_LLM_API_KEY.to_owned()),
        };
        tasks.push(traffic::spawn(client, cloud.clone(), traffic));
    }
    Ok(RunningEmulator { base_url, addr, cloud, callback_stats, outputs, tasks })
}
