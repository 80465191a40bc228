//! The hub's configuration, checked once at start: every problem is an error that names
//! the setting (its flag and environment variable), never a panic later.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use trtc::credentials::Credentials;
use trtc::model::Secret;

/// Everything the hub needs to run. Secrets are [`Secret`]s or [`Credentials`], whose
/// `Debug` shows `***`.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Where the HTTP server listens (port 0: a free port).
    pub listen: SocketAddr,
    /// Where the SQLite event log lives (`DIR/hub.sqlite`).
    pub data_dir: PathBuf,
    /// The TRTC application whose callbacks are accepted (`SdkAppId` header).
    pub sdk_app_id: u64,
    /// The key TRTC signs callbacks with.
    pub callback_key: Secret,
    /// The Cloud API's base URL; `None`: Tencent's host for `region`.
    pub endpoint: Option<String>,
    pub region: String,
    /// SecretId/SecretKey for the Cloud API. Without them the hub ingests and streams but
    /// answers commands with 503.
    pub credentials: Option<Credentials>,
    /// The application's SDK secret key, for room tickets (UserSig). Without it, 503.
    pub sdk_secret_key: Option<Secret>,
    /// Callbacks whose `CallbackTs` is further than this from the hub's clock are refused.
    pub replay_window: Duration,
    /// The largest callback body accepted.
    pub max_body_bytes: usize,
    /// Events older than this (by receipt) are deleted; `None` keeps everything.
    pub retention: Option<Duration>,
    /// A lock nobody renews is released after this long.
    pub lock_ttl: Duration,
    /// How often stream clients get a heartbeat.
    pub heartbeat: Duration,
    /// Live events buffered per stream client; a client further behind is told it lagged
    /// and is resumed from the log.
    pub live_buffer: usize,
    /// The LLM gateway: where requests are forwarded, with which key, and the key TRTC
    /// must present (`LLMConfig.APIKey` of calls pointed at the gateway).
    pub llm: LlmGatewayConfig,
}

/// The LLM gateway's upstream and its own key.
#[derive(Debug, Clone, Default)]
pub struct LlmGatewayConfig {
    /// The real OpenAI-compatible chat-completions URL; `None`: the gateway only serves
    /// taken-over calls and answers others with 503.
    pub upstream_url: Option<String>,
    /// The bearer token for the upstream.
    pub upstream_key: Option<Secret>,
    /// The bearer token TRTC sends to the gateway (`LLMConfig.APIKey`); `None`: the
    /// gateway refuses every request.
    pub gateway_key: Option<Secret>,
}

/// A setting that is missing or wrong, named as the user typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    /// `--flag (ENV_VAR)`.
    pub setting: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(setting: &'static str, problem: impl Into<String>) -> ConfigError {
        ConfigError { setting, problem: problem.into() }
    }
}

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8720";

impl HubConfig {
    /// A configuration with the defaults around what has none: the app id, the callback
    /// key and the data directory.
    pub fn new(sdk_app_id: u64, callback_key: impl Into<Secret>, data_dir: impl Into<PathBuf>) -> HubConfig {
        HubConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8720)),
            data_dir: data_dir.into(),
            sdk_app_id,
            callback_key: callback_key.into(),
            endpoint: None,
            region: "ap-guangzhou".into(),
            credentials: None,
            sdk_secret_key: None,
            replay_window: Duration::from_secs(600),
            max_body_bytes: 64 * 1024,
            retention: Some(Duration::from_secs(30 * 86_400)),
            lock_ttl: Duration::from_secs(300),
            heartbeat: Duration::from_secs(15),
            live_buffer: 8_192,
            llm: LlmGatewayConfig::default(),
        }
    }

    /// Checks what types cannot: non-empty keys, an app id, URLs that are URLs.
    ///
    /// # Errors
    /// The first problem found, naming its setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.sdk_app_id == 0 {
            return Err(ConfigError::new("--sdk-app-id (TRTC_SDK_APP_ID)", "must be your TRTC SdkAppId, not 0"));
        }
        if self.callback_key.expose().trim().is_empty() {
            return Err(ConfigError::new(
                "--callback-key (TRTC_CALLBACK_KEY)",
                "is required: without it no callback can be verified",
            ));
        }
        if let Some(endpoint) = &self.endpoint {
            check_url("--endpoint (TRTC_ENDPOINT)", endpoint)?;
        }
        if self.region.trim().is_empty() {
            return Err(ConfigError::new("--region (TRTC_REGION)", "must not be empty"));
        }
        if self.sdk_secret_key.as_ref().is_some_and(|key| key.expose().trim().is_empty()) {
            return Err(ConfigError::new("--sdk-secret-key (TRTC_SDK_SECRET_KEY)", "must not be empty when given"));
        }
        if self.replay_window.is_zero() {
            return Err(ConfigError::new("--replay-window-secs (HUB_REPLAY_WINDOW_SECS)", "must be at least 1"));
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::new("--max-body-bytes (HUB_MAX_BODY_BYTES)", "must be at least 1024"));
        }
        if self.lock_ttl.is_zero() {
            return Err(ConfigError::new("--lock-ttl-secs (HUB_LOCK_TTL_SECS)", "must be at least 1"));
        }
        if self.heartbeat.is_zero() {
            return Err(ConfigError::new("--heartbeat-secs (HUB_HEARTBEAT_SECS)", "must be at least 1"));
        }
        if let Some(url) = &self.llm.upstream_url {
            check_url("--llm-upstream-url (HUB_LLM_UPSTREAM_URL)", url)?;
        }
        if self.llm.gateway_key.as_ref().is_some_and(|key| key.expose().trim().is_empty()) {
            return Err(ConfigError::new("--llm-gateway-key (HUB_LLM_GATEWAY_KEY)", "must not be empty when given"));
        }
        Ok(())
    }
}

fn check_url(setting: &'static str, url: &str) -> Result<(), ConfigError> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => Ok(()),
        Ok(_) => Err(ConfigError::new(setting, format!("must be an http:// or https:// URL, not {url:?}"))),
        Err(error) => Err(ConfigError::new(setting, format!("is not a URL ({error}): {url:?}"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn valid() -> HubConfig {
        HubConfig::new(1_400_000_000, "key", "/tmp/hub")
    }

    #[test]
    fn a_complete_configuration_is_valid() {
        assert_eq!(valid().validate(), Ok(()));
    }

    #[test]
    fn each_bad_setting_is_named() {
        let cases: Vec<(HubConfig, &str)> = vec![
            (HubConfig { sdk_app_id: 0, ..valid() }, "--sdk-app-id"),
            (HubConfig { callback_key: " ".into(), ..valid() }, "--callback-key"),
            (HubConfig { endpoint: Some("ftp://x".into()), ..valid() }, "--endpoint"),
            (HubConfig { endpoint: Some("not a url".into()), ..valid() }, "--endpoint"),
            (HubConfig { region: String::new(), ..valid() }, "--region"),
            (HubConfig { sdk_secret_key: Some("".into()), ..valid() }, "--sdk-secret-key"),
            (HubConfig { replay_window: Duration::ZERO, ..valid() }, "--replay-window-secs"),
            (HubConfig { max_body_bytes: 10, ..valid() }, "--max-body-bytes"),
            (HubConfig { lock_ttl: Duration::ZERO, ..valid() }, "--lock-ttl-secs"),
            (
                HubConfig {
                    llm: LlmGatewayConfig { upstream_url: Some("localhost:80".into()), ..Default::default() },
                    ..valid()
                },
                "--llm-upstream-url",
            ),
        ];
        for (config, setting) in cases {
            let error = config.validate().unwrap_err();
            assert!(error.setting.starts_with(setting), "{error} should name {setting}");
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let mut config = valid();
        config.callback_key = "callback-secret-value".into();
        config.sdk_secret_key = Some("sdk-secret-value".into());
        config.credentials = Some(Credentials::new("AKIDsecretid", "secret-key-value").unwrap());
        let shown = format!("{config:?}");
        for secret in ["callback-secret-value", "sdk-secret-value", "secret-key-value"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }
}
