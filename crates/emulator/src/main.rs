//! `trtc-emulator`: see the crate docs and `trtc-emulator --help`.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};
use clap::Parser;
use emulator::CloudConfig;

/// A local Tencent Cloud for TRTC AI conversation: the Cloud API v3 (TC3-signed, with the
/// documented envelopes, error codes and rate limits) on a loopback address.
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
    let config = CloudConfig {
        sdk_app_id: args.sdk_app_id,
        keys: vec![(args.secret_id, args.secret_key)],
        sdk_secret_key: args.sdk_secret_key.filter(|k| !k.is_empty()),
        rate_limit: args.rate_limit,
        clock_offset_secs: args.clock_offset_secs,
    };
    let running =
        emulator::start(config, args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("{}", running.base_url);
    tracing::info!(base_url = %running.base_url, sdk_app_id = args.sdk_app_id, "trtc-emulator serving the Cloud API");
    tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
    running.stop();
    Ok(())
}
