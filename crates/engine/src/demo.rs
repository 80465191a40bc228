//! The built-in demo: a hub and a TRTC emulator with live traffic, in this process.
//!
//! With no hub configured, the console starts the real `hub` and the real `emulator`
//! (Cloud API, conversations, callbacks, recordings and the traffic generator) on free
//! loopback ports and connects to the hub like to any other: same code paths, same
//! protocols, no special cases in the client, the cache or the UI.
//!
//! - Credentials (SecretId/SecretKey, callback key, SDK secret, the LLM gateway key and the
//!   demo supervisor's token) are generated on first start and kept in
//!   `<data>/demo/credentials.json`, readable by the owner only; later starts reuse them,
//!   so the hub's log in `<data>/demo/hub` keeps its history and the cache stays valid.
//! - The emulator posts signed callbacks to the hub; the hub drives the emulator's Cloud API
//!   with the `trtc` client; the emulator's generated calls use the hub's LLM gateway as
//!   their LLM, with the emulator's own scripted endpoint as the gateway's upstream, so
//!   whispers, take-over and hand-back work in the demo exactly as against real TRTC.
//! - The demo supervisor is a `lead`, so every action can be tried.
//!
//! What deliberately does not live here: connecting to the hub (that is the console's
//! link, the same as for a configured hub).

use std::{
    fs, io,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
};

use rand::{distr::Alphanumeric, Rng};
use serde::{Deserialize, Serialize};

use crate::hub_client::HubToken as Token;
use crate::token_store::write_private;

/// Calls the demo's traffic generator keeps running.
pub const DEMO_CALLS: usize = 12;
/// New calls per minute while below [`DEMO_CALLS`].
pub const DEMO_ARRIVALS_PER_MINUTE: f64 = 20.0;
/// The share of demo calls that are also cloud-recorded, so reviews have recordings to play.
pub const DEMO_RECORDED_SHARE: f64 = 0.5;
/// The demo supervisor's name on the hub.
pub const DEMO_USER: &str = "demo-lead";

/// The demo's secrets, generated once per data directory. `Debug` is redacted.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoSecrets {
    sdk_app_id: u64,
    secret_id: String,
    secret_key: String,
    callback_key: String,
    sdk_secret_key: String,
    gateway_key: String,
    /// The demo lead's hub token; `None` until the hub has issued it.
    token: Option<String>,
}

impl std::fmt::Debug for DemoSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoSecrets").field("sdk_app_id", &self.sdk_app_id).finish_non_exhaustive()
    }
}

impl DemoSecrets {
    fn generate() -> DemoSecrets {
        let mut rng = rand::rng();
        DemoSecrets {
            sdk_app_id: rng.random_range(1_400_000_000..1_500_000_000),
            secret_id: format!("AKID{}", random_text(32)),
            secret_key: random_text(32),
            callback_key: random_text(32),
            sdk_secret_key: random_text(64),
            gateway_key: random_text(40),
            token: None,
        }
    }
}

fn random_text(len: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot use the demo directory {path}: {source}")]
    Dir { path: PathBuf, source: io::Error },
    #[error("the demo credentials file {path} is damaged ({detail}); delete it to start a fresh demo")]
    Credentials { path: PathBuf, detail: String },
    #[error("cannot start the demo's TRTC emulator: {0}")]
    Emulator(String),
    #[error("cannot start the demo's hub: {0}")]
    Hub(String),
}

/// A running demo: the hub's URL and the token to use with it.
#[derive(Debug)]
pub struct Demo {
    pub hub_url: String,
    pub token: Token,
    pub emulator_url: String,
    hub: Option<hub::RunningHub>,
    emulator: Option<emulator::RunningEmulator>,
}

impl Demo {
    /// Starts the emulator (with its traffic generator) and the hub under `data_dir/demo`.
    ///
    /// # Errors
    /// [`DemoError`] naming the directory, file or component that failed.
    pub async fn start(data_dir: &Path) -> Result<Demo, DemoError> {
        let dir = data_dir.join("demo");
        fs::create_dir_all(&dir).map_err(|source| DemoError::Dir { path: dir.clone(), source })?;
        let secrets_path = dir.join("credentials.json");
        let mut secrets = load_or_create(&secrets_path)?;

        // The emulator must know where to post callbacks before the hub (which must know
        // the emulator's URL) starts: reserve the hub's port first. Another process could
        // take it in between; then the hub's bind fails and we try again with a new one.
        let mut last_error = String::new();
        for _attempt in 0..3 {
            let hub_port = free_port().map_err(|source| DemoError::Dir { path: dir.clone(), source })?;
            let hub_url = format!("http://127.0.0.1:{hub_port}");
            let emulator = start_emulator(&secrets, &dir, &hub_url).await?;
            match start_hub(&secrets, &dir, hub_port, &emulator.base_url).await {
                Ok(hub) => {
                    let token = demo_token(&hub, &mut secrets, &secrets_path).await?;
                    tracing::info!(hub = %hub.base_url, emulator = %emulator.base_url, "built-in demo running");
                    return Ok(Demo {
                        hub_url: hub.base_url.clone(),
                        token,
                        emulator_url: emulator.base_url.clone(),
                        hub: Some(hub),
                        emulator: Some(emulator),
                    });
                }
                Err(err) => {
                    emulator.stop();
                    last_error = err;
                }
            }
        }
        Err(DemoError::Hub(last_error))
    }

    /// Stops the traffic, the emulator and the hub.
    pub async fn stop(mut self) {
        if let Some(emulator) = self.emulator.take() {
            emulator.stop();
        }
        if let Some(hub) = self.hub.take() {
            hub.stop().await;
        }
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn load_or_create(path: &Path) -> Result<DemoSecrets, DemoError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|err| DemoError::Credentials { path: path.to_path_buf(), detail: err.to_string() }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let secrets = DemoSecrets::generate();
            save(path, &secrets)?;
            Ok(secrets)
        }
        Err(err) => Err(DemoError::Credentials { path: path.to_path_buf(), detail: err.to_string() }),
    }
}

fn save(path: &Path, secrets: &DemoSecrets) -> Result<(), DemoError> {
    let bytes = serde_json::to_vec_pretty(secrets)
        .map_err(|err| DemoError::Credentials { path: path.to_path_buf(), detail: err.to_string() })?;
    write_private(path, &bytes).map_err(|source| DemoError::Dir { path: path.to_path_buf(), source })
}

async fn start_emulator(
    secrets: &DemoSecrets,
    dir: &Path,
    hub_url: &str,
) -> Result<emulator::RunningEmulator, DemoError> {
    let cloud = emulator::CloudConfig {
        sdk_app_id: secrets.sdk_app_id,
        keys: vec![(secrets.secret_id.clone(), secrets.secret_key.clone())],
        sdk_secret_key: Some(secrets.sdk_secret_key.clone()),
        rate_limit: 20,
        clock_offset_secs: 0,
    };
    let mut config = emulator::EmulatorConfig::new(cloud);
    config.callback_url = Some(format!("{hub_url}/callbacks/trtc"));
    config.callback_key = secrets.callback_key.clone();
    config.calls = DEMO_CALLS;
    config.arrival_per_minute = DEMO_ARRIVALS_PER_MINUTE;
    config.recorded_share = DEMO_RECORDED_SHARE;
    config.seed = rand::rng().random();
    config.data_dir = Some(dir.join("emulator"));
    config.llm_url = Some(format!("{hub_url}/v1/llm/chat/completions"));
    config.llm_api_key = Some(secrets.gateway_key.clone());
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    emulator::start_emulator(config, listen).await.map_err(|err| DemoError::Emulator(err.to_string()))
}

async fn start_hub(
    secrets: &DemoSecrets,
    dir: &Path,
    port: u16,
    emulator_url: &str,
) -> Result<hub::RunningHub, String> {
    let mut config = hub::HubConfig::new(secrets.sdk_app_id, secrets.callback_key.clone(), dir.join("hub"));
    config.listen = SocketAddr::from(([127, 0, 0, 1], port));
    config.endpoint = Some(emulator_url.to_owned());
    config.credentials = Some(
        trtc::credentials::Credentials::new(secrets.secret_id.clone(), secrets.secret_key.clone())
            .map_err(|err| err.to_string())?,
    );
    config.sdk_secret_key = Some(secrets.sdk_secret_key.clone().into());
    // A week of demo history is plenty; the log must not grow without bound on a laptop.
    config.retention = Some(std::time::Duration::from_secs(7 * 86_400));
    config.llm = hub::LlmGatewayConfig {
        upstream_url: Some(format!("{emulator_url}/v1/chat/completions")),
        upstream_key: Some(random_text(24).into()),
        gateway_key: Some(secrets.gateway_key.clone().into()),
    };
    hub::start(config).await.map_err(|err| format!("{err:#}"))
}

/// The demo lead's token: the saved one while the hub still knows it, else a new user.
async fn demo_token(hub: &hub::RunningHub, secrets: &mut DemoSecrets, path: &Path) -> Result<Token, DemoError> {
    if let Some(saved) = secrets.token.clone() {
        if hub.user_of(&saved).await.map_err(|err| DemoError::Hub(err.to_string()))?.is_some() {
            return Token::new(saved).map_err(|err| DemoError::Hub(err.to_string()));
        }
    }
    // A fresh hub database (or a first start): issue a token under a name not yet taken.
    let mut name = DEMO_USER.to_owned();
    let token = loop {
        match hub.add_user(&name, hub::auth::Role::Lead).await {
            Ok(token) => break token,
            Err(hub::store::UserError::Exists(_)) => name = format!("{DEMO_USER}-{}", random_text(4).to_lowercase()),
            Err(err) => return Err(DemoError::Hub(err.to_string())),
        }
    };
    secrets.token = Some(token.clone());
    save(path, secrets)?;
    Token::new(token).map_err(|err| DemoError::Hub(err.to_string()))
}
