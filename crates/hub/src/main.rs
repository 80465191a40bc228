//! `switchboard-hub`: see the crate docs and `switchboard-hub --help`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use hub::auth::Role;
use hub::{HubConfig, LlmGatewayConfig};
use trtc::credentials::Credentials;

/// The Switchboard hub: receives TRTC's signed callbacks, keeps them in a durable event
/// log, streams them to consoles (resumable), answers their commands through the Tencent
/// Cloud API with roles, locks and an audit trail, and serves an LLM gateway for
/// whispers and human take-over.
#[derive(Debug, Parser)]
#[command(name = "switchboard-hub", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the hub. The bound base URL is the first line printed on stdout.
    Serve(Box<ServeArgs>),
    /// Manages supervisors.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Adds a supervisor and prints their token, once (only its hash is kept).
    Add {
        /// The supervisor's name, as shown to colleagues.
        name: String,
        /// viewer (watch, review), supervisor (+ say, steer, stop), lead (+ take over,
        /// change settings, break a lock).
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, Args)]
struct DataDir {
    /// Where the hub keeps its SQLite database (`DIR/hub.sqlite`).
    #[arg(long, env = "HUB_DATA_DIR", default_value = "hub-data")]
    data_dir: PathBuf,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "HUB_LISTEN", default_value = hub::config::DEFAULT_LISTEN)]
    listen: SocketAddr,
    #[command(flatten)]
    data: DataDir,
    /// The TRTC application (SdkAppId) whose callbacks are accepted.
    #[arg(long, env = "TRTC_SDK_APP_ID")]
    sdk_app_id: u64,
    /// The key TRTC signs callbacks with (never printed).
    #[arg(long, env = "TRTC_CALLBACK_KEY", hide_env_values = true)]
    callback_key: String,
    /// The Cloud API's base URL (default: Tencent's host for --region; the emulator's URL
    /// in demos and tests).
    #[arg(long, env = "TRTC_ENDPOINT")]
    endpoint: Option<String>,
    /// The Cloud API region.
    #[arg(long, env = "TRTC_REGION", default_value = "ap-guangzhou")]
    region: String,
    /// SecretId for the Cloud API (commands answer 503 without it).
    #[arg(long, env = "TENCENTCLOUD_SECRET_ID")]
    secret_id: Option<String>,
    /// SecretKey for the Cloud API (never printed).
    #[arg(long, env = "TENCENTCLOUD_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// The application's SDK secret key, to issue room tickets (UserSig); never printed.
    #[arg(long, env = "TRTC_SDK_SECRET_KEY", hide_env_values = true)]
    sdk_secret_key: Option<String>,
    /// Callbacks whose CallbackTs is further than this from the hub's clock are refused.
    #[arg(long, env = "HUB_REPLAY_WINDOW_SECS", default_value_t = 600)]
    replay_window_secs: u64,
    /// The largest callback body accepted, in bytes.
    #[arg(long, env = "HUB_MAX_BODY_BYTES", default_value_t = 65_536)]
    max_body_bytes: usize,
    /// Days of events kept in the log (0 keeps everything).
    #[arg(long, env = "HUB_RETENTION_DAYS", default_value_t = 30)]
    retention_days: u64,
    /// A call's lock is released after this many seconds without renewal.
    #[arg(long, env = "HUB_LOCK_TTL_SECS", default_value_t = 300)]
    lock_ttl_secs: u64,
    /// Seconds between heartbeats on the stream.
    #[arg(long, env = "HUB_HEARTBEAT_SECS", default_value_t = 15)]
    heartbeat_secs: u64,
    /// The real OpenAI-compatible chat-completions URL the LLM gateway forwards to.
    #[arg(long, env = "HUB_LLM_UPSTREAM_URL")]
    llm_upstream_url: Option<String>,
    /// The bearer token for --llm-upstream-url (never printed).
    #[arg(long, env = "HUB_LLM_UPSTREAM_KEY", hide_env_values = true)]
    llm_upstream_key: Option<String>,
    /// The bearer token calls must send to the gateway (their LLMConfig.APIKey); without
    /// it the gateway refuses every request.
    #[arg(long, env = "HUB_LLM_GATEWAY_KEY", hide_env_values = true)]
    llm_gateway_key: Option<String>,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("{text:?} is not a role: viewer, supervisor or lead"))
}

impl ServeArgs {
    fn config(self) -> Result<HubConfig> {
        let credentials = match (self.secret_id, self.secret_key) {
            (Some(id), Some(key)) => Some(
                Credentials::new(id, key)
                    .context("--secret-id / --secret-key (TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY)")?,
            ),
            (None, None) => None,
            _ => anyhow::bail!(
                "--secret-id and --secret-key (TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY) go together: give both or neither"
            ),
        };
        let mut config = HubConfig::new(self.sdk_app_id, self.callback_key, self.data.data_dir);
        config.listen = self.listen;
        config.endpoint = self.endpoint;
        config.region = self.region;
        config.credentials = credentials;
        config.sdk_secret_key = self.sdk_secret_key.map(Into::into);
        config.replay_window = Duration::from_secs(self.replay_window_secs);
        config.max_body_bytes = self.max_body_bytes;
        config.retention = (self.retention_days > 0).then(|| Duration::from_secs(self.retention_days * 86_400));
        config.lock_ttl = Duration::from_secs(self.lock_ttl_secs);
        config.heartbeat = Duration::from_secs(self.heartbeat_secs);
        config.llm = LlmGatewayConfig {
            upstream_url: self.llm_upstream_url,
            upstream_key: self.llm_upstream_key.map(Into::into),
            gateway_key: self.llm_gateway_key.map(Into::into),
        };
        config.validate()?;
        Ok(config)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HUB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            let config = args.config()?;
            let listen = config.listen;
            let running = hub::start(config).await.with_context(|| format!("cannot start the hub on {listen}"))?;
            println!("{}", running.base_url);
            tracing::info!(base_url = %running.base_url, "switchboard-hub serving");
            tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
            running.stop().await;
        }
        Command::User { command: UserCommand::Add { name, role, data } } => {
            let pool = hub::store::open(&data.data_dir).await?;
            let token = hub::store::Store::new(pool).add_user(&name, role, hub::now_ms()).await?;
            println!("{token}");
            eprintln!("Added {name} as {}. The token above is shown only this once.", role.as_str());
        }
    }
    Ok(())
}
