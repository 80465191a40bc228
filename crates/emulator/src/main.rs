//! `trtc-emulator`: see the crate docs and `trtc-emulator --help`.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};
use clap::Parser;
use emulator::{CloudConfig, EmulatorConfig, ErrorRates};

/// A local Tencent Cloud for TRTC AI conversation: the Cloud API v3 (TC3-signed, with the
/// documented envelopes, error codes and rate limits), a conversation for every started
/// task (replies from the task's OpenAI-compatible LLM, or scripted), signed callbacks,
/// cloud recordings (WAV files), its own scripted LLM at /v1/chat/completions, and a
/// traffic generator.
///
/// The official SDKs work against it unchanged, e.g. in Python:
/// HttpProfile(endpoint="127.0.0.1:PORT", protocol="http").
#[derive(Debug, Parser)]
#[command(name = "trtc-emulator", version)]
struct Args {
    /// Address to listen on. With port 0 a free port is chosen; the bound base URL is
    /// always the first line printed on stdout.
    #[arg(long, env = "TRTC_EMULATOR_LISTEN", default_value = "127.0.0.1:8721")]
    listen: SocketAddr,
    /// The TRTC application (SdkAppId) this cloud hosts.
    #[arg(long, env = "TRTC_SDK_APP_ID", default_value_t = 1_400_000_000)]
    sdk_app_id: u64,
    /// The SecretId API requests must be signed with.
    #[arg(long, env = "TENCENTCLOUD_SECRET_ID")]
    secret_id: String,
    /// The SecretKey belonging to --secret-id (never printed).
    #[arg(long, env = "TENCENTCLOUD_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// The application's SDK secret key; when given, UserSigs in StartAIConversation and
    /// CreateCloudRecording are verified (TLSSigAPIv2).
    #[arg(long, env = "TRTC_SDK_SECRET_KEY", hide_env_values = true)]
    sdk_secret_key: Option<String>,
    /// Requests per second allowed per action before RequestLimitExceeded (0 = no limit).
    #[arg(long, env = "TRTC_EMULATOR_RATE_LIMIT", default_value_t = 20)]
    rate_limit: u32,
    /// Seconds added to the emulator's clock, to test clock skew.
    #[arg(long, env = "TRTC_EMULATOR_CLOCK_OFFSET_SECS", default_value_t = 0, allow_hyphen_values = true)]
    clock_offset_secs: i64,
    /// Where server callbacks (AI 901–909, room and media 101–206, recording 301–311) are
    /// POSTed, signed with --callback-key, with TRTC's 5 s timeout and retries for a
    /// minute. Without it, callbacks are not sent.
    #[arg(long, env = "TRTC_CALLBACK_URL")]
    callback_url: Option<String>,
    /// The callback key that signs callbacks (the `Sign` header); never printed.
    #[arg(long, env = "TRTC_CALLBACK_KEY", hide_env_values = true, default_value = "")]
    callback_key: String,
    /// Calls the traffic generator keeps running (0 = no generated traffic; calls then only
    /// come from StartAIConversation requests).
    #[arg(long, env = "TRTC_EMULATOR_CALLS", default_value_t = 0)]
    calls: usize,
    /// Mean new calls per minute while fewer than --calls are running.
    #[arg(long, env = "TRTC_EMULATOR_ARRIVAL_RATE", default_value_t = 6.0)]
    arrival_rate: f64,
    /// The share (0–1) of generated calls that are also cloud-recorded.
    #[arg(long, env = "TRTC_EMULATOR_RECORDED_SHARE", default_value_t = 0.0)]
    recorded_share: f64,
    /// Seed of the scripted scenarios, so a run can be repeated.
    #[arg(long, env = "TRTC_EMULATOR_SEED", default_value_t = 1)]
    seed: u64,
    /// Speed factor: 10 plays everything ten times faster, keeping relative timings;
    /// reported latencies stay realistic.
    #[arg(long, env = "TRTC_EMULATOR_SPEED", default_value_t = 1.0)]
    speed: f64,
    /// Where cloud recordings are written (`DIR/recordings/<TaskId>/*.wav`; real TRTC
    /// writes m3u8/ts/mp4/aac, the emulator WAV). Default: a `trtc-emulator-<pid>`
    /// directory under the system's temp dir.
    #[arg(long, env = "TRTC_EMULATOR_DATA_DIR", value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// The OpenAI-compatible chat-completions URL generated calls put in
    /// `LLMConfig.APIUrl` (e.g. a hub's LLM gateway). Default: this emulator's own scripted
    /// endpoint, `<base URL>/v1/chat/completions`.
    #[arg(long, env = "TRTC_EMULATOR_LLM_URL", value_name = "URL")]
    llm_url: Option<String>,
    /// The `LLMConfig.APIKey` generated calls send to `--llm-url` (e.g. the hub's LLM
    /// gateway key). Default: `emulated`, which the emulator's own endpoint accepts.
    #[arg(long, env = "TRTC_EMULATOR_LLM_API_KEY", value_name = "KEY", hide_env_values = true)]
    llm_api_key: Option<String>,
    /// Chance (0–1) that a reply fails at ASR (908/10030 `asr_error`, 30100/30102). A
    /// far-field caller's extra ASR errors come on top.
    #[arg(long, env = "TRTC_EMULATOR_ASR_ERROR_RATE", default_value_t = 0.01)]
    asr_error_rate: f64,
    /// Chance (0–1) that a reply fails at the LLM (30200/30201/30202). Scripted replies draw
    /// it; calls whose LLM is this emulator's endpoint get it from that endpoint as real
    /// HTTP failures (429, 500, a stall past the timeout); other LLMs fail on their own.
    #[arg(long, env = "TRTC_EMULATOR_LLM_ERROR_RATE", default_value_t = 0.02)]
    llm_error_rate: f64,
    /// Chance (0–1) that a reply fails at TTS (30300/30301/30302).
    #[arg(long, env = "TRTC_EMULATOR_TTS_ERROR_RATE", default_value_t = 0.01)]
    tts_error_rate: f64,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRTC_EMULATOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if args.secret_id.trim().is_empty() || args.secret_key.trim().is_empty() {
        bail!("--secret-id and --secret-key (TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY) must not be empty");
    }
    if !(args.speed.is_finite() && args.speed > 0.0) {
        bail!("--speed must be a positive number, not {}", args.speed);
    }
    if !(args.arrival_rate.is_finite() && args.arrival_rate > 0.0) {
        bail!("--arrival-rate must be a positive number of calls per minute, not {}", args.arrival_rate);
    }
    if !(0.0..=1.0).contains(&args.recorded_share) {
        bail!("--recorded-share must be between 0 and 1, not {}", args.recorded_share);
    }
    if let Some(url) = &args.callback_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--callback-url must be an http:// or https:// URL, not {url:?}");
        }
    }
    if let Some(url) = &args.llm_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--llm-url must be an http:// or https:// URL, not {url:?}");
        }
    }
    let error_rates = ErrorRates { asr: args.asr_error_rate, llm: args.llm_error_rate, tts: args.tts_error_rate };
    if let Some((stage, rate)) = error_rates.invalid() {
        bail!("--{stage}-error-rate must be a fraction from 0 to 1 (e.g. 0.02), not {rate}");
    }
    let cloud = CloudConfig {
        sdk_app_id: args.sdk_app_id,
        keys: vec![(args.secret_id, args.secret_key)],
        sdk_secret_key: args.sdk_secret_key.filter(|k| !k.is_empty()),
        rate_limit: args.rate_limit,
        clock_offset_secs: args.clock_offset_secs,
    };
    let config = EmulatorConfig {
        cloud,
        callback_url: args.callback_url,
        callback_key: args.callback_key,
        speed: args.speed,
        seed: args.seed,
        calls: args.calls,
        arrival_per_minute: args.arrival_rate,
        recorded_share: args.recorded_share,
        data_dir: args.data_dir,
        error_rates,
        llm_url: args.llm_url,
        llm_api_key: args.llm_api_key.filter(|key| !key.is_empty()),
    };
    let running = emulator::start_emulator(config, args.listen)
        .await
        .with_context(|| format!("cannot start the emulator on {}", args.listen))?;
    println!("{}", running.base_url);
    tracing::info!(base_url = %running.base_url, sdk_app_id = args.sdk_app_id, "trtc-emulator serving");
    tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
    running.stop();
    Ok(())
}
