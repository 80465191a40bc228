//! `trtc-emulator`: a local stand-in for Tencent Cloud's TRTC AI conversation, faithful
//! enough that the official SDKs run against it unchanged (trtc-contract.md is the spec).
//!
//! What lives here:
//! - [`cloud_api`]: the Cloud API v3 — TC3 signature checks, the documented envelopes and
//!   error codes, per-action rate limits, the task lifecycle of the nine AI conversation
//!   and cloud recording actions;
//! - [`conversation`]: a scripted call (zh/en personas, realistic latencies, interruptions,
//!   errors) for every started task, emitting callbacks and room messages ([`outputs`]),
//!   driven by [`calls`] from the Cloud API;
//! - [`callbacks`]: signed callback delivery with TRTC's timeout and retry schedule;
//! - [`room_link`]: `GET /room` WebSocket — join a call's room with a UserSig, receive its
//!   cmdID-1 messages and its audio, send 20000/20001;
//! - [`traffic`]: the business backend, starting calls through the real API;
//! - [`recording`]: a recorder per `CreateCloudRecording` that hears the room's final
//!   lines, speaks them with espeak-ng ([`audio`]) into WAV files under
//!   `<data-dir>/recordings/<TaskId>/` (real TRTC writes m3u8/ts/mp4/aac; the emulator
//!   writes WAV), serves them at `GET /recordings/{TaskId}/{file}` and sends the recording
//!   callbacks (group 3). Without a data dir, files go to `<temp>/trtc-emulator-<pid>`.
//!
//! - [`room_audio`]: the rooms' speech for room-link members — each final line spoken with
//!   espeak-ng and streamed as 20 ms `PCM1` frames (22050 Hz mono s16le) per speaker,
//!   paced by the speed, only for rooms someone has joined.

pub mod audio;
pub mod callbacks;
pub mod calls;
pub mod cloud_api;
pub mod conversation;
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
    /// Where recording files are written (`<data_dir>/recordings/<TaskId>/`); `None` = a
    /// directory under the system's temp dir, `trtc-emulator-<pid>`.
    pub data_dir: Option<PathBuf>,
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
    let calls = calls::Calls::new(outputs.clone(), config.speed, config.seed);
    let data_dir = config.data_dir.clone().unwrap_or_else(|| {
        let dir = recording::Recorder::default_data_dir();
        tracing::info!(dir = %dir.display(), "no data dir given: recordings go to a temporary directory");
        dir
    });
    let recorder = recording::Recorder::new(outputs.clone(), config.speed, &data_dir, base_url.clone());
    let cloud = Cloud::with_calls_and_recorder(config.cloud.clone(), calls, recorder.clone());
    let audio = room_audio::RoomAudio::new();
    let speaker = room_audio::spawn(audio.clone(), &outputs, config.speed);
    let app = cloud_api::router(cloud.clone())
        .merge(room_link::router_with_audio(outputs.clone(), room_link::RoomLinkConfig::from(&config.cloud), audio))
        .merge(recording::router(recorder));
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
            speed: config.speed,
            seed: config.seed,
            sdk_app_id: config.cloud.sdk_app_id,
            sdk_secret_key: config.cloud.sdk_secret_key.clone(),
        };
        tasks.push(traffic::spawn(client, cloud.clone(), traffic));
    }
    Ok(RunningEmulator { base_url, addr, cloud, callback_stats, outputs, tasks })
}
