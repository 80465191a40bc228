//! The async Cloud API client (trtc-contract.md §1): one signed `POST /` per attempt, to
//! the Tencent Cloud host of choice or to any base URL (the emulator), with a timeout and a
//! retry policy that never repeats a request that may already have taken effect.
//!
//! What lives here: [`ClientConfig`], [`Endpoint`] and [`Client`] with its generic
//! [`Client::call`] and one convenience method per action.
//!
//! What deliberately does not: the request/response types ([`crate::model`]), the envelope
//! and error types ([`crate::error`]) and the signature itself ([`crate::tc3`]).
//!
//! Retry policy, per attempt outcome:
//! - `RequestLimitExceeded*` answers, HTTP 429 and connection failures (the request was
//!   never sent) are retried for every action: they prove the request had no effect;
//! - timeouts, other transport errors and HTTP 5xx are retried only for
//!   [`Action::RETRY_SAFE`] actions, because the request may have been executed;
//! - everything else is returned at once.
//!
//! Waits are full-jitter exponential backoff (a random delay up to 200 ms × 2ⁿ, capped at
//! 5 s), at most [`ClientConfig::max_retries`] retries, each attempt signed afresh.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use reqwest::Url;

use crate::credentials::Credentials;
use crate::error::{parse_response, ClientError, ResponseError};
use crate::model::{self, Action};
use crate::tc3;

/// The `Content-Type` sent and signed (the Go SDK's value).
pub const CONTENT_TYPE_JSON: &str = "application/json";
/// The default per-attempt timeout. The recording APIs document a 6 s server-side limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// The first backoff ceiling; doubled per retry.
pub const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// The largest backoff ceiling.
pub const BACKOFF_CAP: Duration = Duration::from_secs(5);
/// `X-TC-RequestClient`.
pub const REQUEST_CLIENT: &str = concat!("SDK_RUST_SWITCHBOARD_", env!("CARGO_PKG_VERSION"));

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Endpoint {
    /// `https://trtc.tencentcloudapi.com`, the China site's nearest region (the SDK default).
    #[default]
    Default,
    /// `https://trtc.intl.tencentcloudapi.com`, the international site's nearest region.
    International,
    /// `https://trtc.<region>.tencentcloudapi.com`, pinned to [`ClientConfig::region`].
    Region,
    /// Any base URL without a path, e.g. `http://127.0.0.1:8080` for the emulator.
    Url(String),
}

impl Endpoint {
    /// The base URL for `region` (used by [`Endpoint::Region`] only).
    pub fn base_url(&self, region: &str) -> String {
        match self {
            Endpoint::Default => "https://trtc.tencentcloudapi.com".to_owned(),
            Endpoint::International => "https://trtc.intl.tencentcloudapi.com".to_owned(),
            Endpoint::Region => format!("https://trtc.{region}.tencentcloudapi.com"),
            Endpoint::Url(url) => url.clone(),
        }
    }
}

/// Everything a [`Client`] needs. `Debug` shows no secrets ([`Credentials`] redacts itself).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub credentials: Credentials,
    /// `X-TC-Region`, e.g. `ap-guangzhou`.
    pub region: String,
    pub endpoint: Endpoint,
    /// Per attempt, from sending to the whole answer read.
    pub timeout: Duration,
    /// Retries after the first attempt, for the failures the retry policy allows.
    pub max_retries: u32,
    /// `X-TC-Language`: `en-US` or `zh-CN` (the service's default), for `Error.Message`.
    pub language: Option<String>,
}

impl ClientConfig {
    /// A config for `region` on the default endpoint, with a 10 s timeout and 3 retries.
    pub fn new(credentials: Credentials, region: impl Into<String>) -> ClientConfig {
        ClientConfig {
            credentials,
            region: region.into(),
            endpoint: Endpoint::Default,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            language: None,
        }
    }

    /// The same config with another endpoint.
    #[must_use]
    pub fn with_endpoint(mut self, endpoint: Endpoint) -> ClientConfig {
        self.endpoint = endpoint;
        self
    }

    /// The same config with another per-attempt timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> ClientConfig {
        self.timeout = timeout;
        self
    }

    /// The same config with another retry budget.
    #[must_use]
    pub fn with_max_retries(mut self, max_retries: u32) -> ClientConfig {
        self.max_retries = max_retries;
        self
    }

    /// The same config asking for error messages in `language` (`en-US` or `zh-CN`).
    #[must_use]
    pub fn with_language(mut self, language: impl Into<String>) -> ClientConfig {
        self.language = Some(language.into());
        self
    }
}

/// A TRTC Cloud API client. Cheap to clone; share one per process.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    credentials: Credentials,
    /// `<base>/`.
    url: Url,
    /// What `Host` says and what is signed: host, plus `:port` when the URL names one.
    host: String,
    /// Headers that are the same on every request.
    fixed_headers: HeaderMap,
    max_retries: u32,
}

impl Client {
    /// Builds a client: checks the base URL, region and language, and makes the HTTP client
    /// with the timeout.
    ///
    /// # Errors
    /// [`ClientError::Config`] when the base URL is not an `http(s)` URL with a host and no
    /// path, query or user info, when the region or language cannot be a header value, or
    /// when the HTTP client cannot be built.
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        let ClientConfig { credentials, region, endpoint, timeout, max_retries, language } = config;
        if region.is_empty() || !region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(ClientError::Config(format!("the region {region:?} is not a Tencent Cloud region name")));
        }
        let base = endpoint.base_url(&region);
        let url =
            Url::parse(&base).map_err(|e| ClientError::Config(format!("the base URL {base:?} is invalid: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::Config(format!("the base URL {base:?} is not http(s)")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // Never carry credentials in a URL: it ends up in error messages and logs.
            return Err(ClientError::Config("the base URL must not contain user info".to_owned()));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(ClientError::Config(format!(
                "the base URL {base:?} must not have a path, query or fragment: the Cloud API path is always `/`"
            )));
        }
        let Some(host_name) = url.host_str() else {
            return Err(ClientError::Config(format!("the base URL {base:?} has no host")));
        };
        let host = match url.port() {
            Some(port) => format!("{host_name}:{port}"),
            None => host_name.to_owned(),
        };

        let mut fixed_headers = HeaderMap::new();
        fixed_headers.insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_JSON));
        fixed_headers.insert(HOST, header_value("Host", &host)?);
        fixed_headers.insert("x-tc-version", HeaderValue::from_static(model::VERSION));
        fixed_headers.insert("x-tc-region", header_value("the region", &region)?);
        fixed_headers.insert("x-tc-requestclient", HeaderValue::from_static(REQUEST_CLIENT));
        if let Some(language) = &language {
            fixed_headers.insert("x-tc-language", header_value("the language", language)?);
        }
        if let Some(token) = credentials.token() {
            let mut value = HeaderValue::from_str(token)
                .map_err(|_| ClientError::Config("the session token is not a valid header value".to_owned()))?;
            value.set_sensitive(true);
            fixed_headers.insert("x-tc-token", value);
        }

        let mut builder = reqwest::Client::builder().timeout(timeout);
        if is_loopback(host_name) {
            // A local emulator must not be reached through a system proxy.
            builder = builder.no_proxy();
        }
        let http =
            builder.build().map_err(|e| ClientError::Config(format!("the HTTP client could not be built: {e}")))?;
        Ok(Client { http, credentials, url, host, fixed_headers, max_retries })
    }

    /// The URL requests are posted to (`<base>/`).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The `Host` header value sent and signed.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Sends `request` as action `A::NAME` and returns its output, retrying as the module's
    /// policy allows.
    ///
    /// # Errors
    /// [`ClientError::Api`] for an error answer (after retries for rate limits),
    /// [`ClientError::Timeout`], [`ClientError::Transport`] and [`ClientError::HttpStatus`]
    /// when no usable answer came, [`ClientError::Decode`] for an unreadable answer,
    /// [`ClientError::Encode`] / [`ClientError::Signing`] when the request could not be made.
    pub async fn call<A: Action>(&self, request: &A) -> Result<A::Response, ClientError> {
        let body =
            serde_json::to_vec(request).map_err(|e| ClientError::Encode { action: A::NAME, detail: e.to_string() })?;
        let mut attempt: u32 = 1;
        loop {
            tracing::debug!(action = A::NAME, attempt, "sending TRTC Cloud API request");
            let Failure { error, never_sent } = match self.attempt::<A>(&body).await {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            if attempt > self.max_retries || !retryable(&error, never_sent, A::RETRY_SAFE) {
                tracing::debug!(action = A::NAME, attempt, error = %error, "TRTC Cloud API request failed");
                return Err(error);
            }
            let delay = backoff(attempt);
            tracing::debug!(
                action = A::NAME,
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "retrying TRTC Cloud API request"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One signed attempt.
    async fn attempt<A: Action>(&self, body: &[u8]) -> Result<A::Response, Failure> {
        let timestamp = unix_now();
        let authorization = tc3::authorization(
            &self.credentials,
            model::SERVICE,
            timestamp,
            &tc3::SignedRequest {
                method: "POST",
                path: "/",
                query: "",
                headers: vec![("content-type", CONTENT_TYPE_JSON), ("host", &self.host)],
                payload: body,
                unsigned_payload: false,
            },
        )?;
        let mut headers = self.fixed_headers.clone();
        let action = HeaderValue::from_str(A::NAME)
            .map_err(|_| ClientError::Config(format!("the action name {:?} is not a valid header value", A::NAME)))?;
        headers.insert("x-tc-action", action);
        headers.insert("x-tc-timestamp", HeaderValue::from(timestamp));
        let mut authorization = HeaderValue::from_str(&authorization)
            .map_err(|_| ClientError::Config("the SecretId is not a valid header value".to_owned()))?;
        authorization.set_sensitive(true);
        headers.insert(AUTHORIZATION, authorization);

        let response = self
            .http
            .post(self.url.clone())
            .headers(headers)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| Failure { never_sent: e.is_connect(), error: transport_error(A::NAME, &e) })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| transport_error(A::NAME, &e))?;
        if status != reqwest::StatusCode::OK {
            let error =
                ClientError::HttpStatus { action: A::NAME, status: status.as_u16(), body_snippet: snippet(&bytes) };
            return Err(error.into());
        }
        match parse_response::<A::Response>(&bytes) {
            Ok(response) => Ok(response),
            Err(ResponseError::Api(error)) => Err(ClientError::Api(error).into()),
            Err(ResponseError::Decode(detail)) => Err(ClientError::Decode { action: A::NAME, detail }.into()),
        }
    }

    /// `StartAIConversation`.
    ///
    /// # Errors
    /// As [`Client::call`]; never retried after an ambiguous failure.
    pub async fn start_ai_conversation(
        &self,
        request: &model::StartAIConversation,
    ) -> Result<model::StartAIConversationResponse, ClientError> {
        self.call(request).await
    }

    /// `StopAIConversation`.
    ///
    /// # Errors
    /// As [`Client::call`]; never retried after an ambiguous failure.
    pub async fn stop_ai_conversation(
        &self,
        request: &model::StopAIConversation,
    ) -> Result<model::StopAIConversationResponse, ClientError> {
        self.call(request).await
    }

    /// `DescribeAIConversation`.
    ///
    /// # Errors
    /// As [`Client::call`]; retried after timeouts and transport errors.
    pub async fn describe_ai_conversation(
        &self,
        request: &model::DescribeAIConversation,
    ) -> Result<model::DescribeAIConversationResponse, ClientError> {
        self.call(request).await
    }

    /// `ControlAIConversation`.
    ///
    /// # Errors
    /// As [`Client::call`]; never retried after an ambiguous failure.
    pub async fn control_ai_conversation(
        &self,
        request: &model::ControlAIConversation,
    ) -> Result<model::ControlAIConversationResponse, ClientError> {
        self.call(request).await
    }

    /// `UpdateAIConversation`.
    ///
    /// # Errors
    /// As [`Client::call`]; never retried after an ambiguous failure.
    pub async fn update_ai_conversation(
        &self,
        request: &model::UpdateAIConversation,
    ) -> Result<model::UpdateAIConversationResponse, ClientError> {
        self.call(request).await
    }

    /// `CreateCloudRecording`.
    ///
    /// # Errors
    /// As [`Client::call`]; never retried after an ambiguous failure.
    pub async fn create_cloud_recording(
        &self,
        request: &model::CreateCloudRecording,
    ) -> Result<model::CreateCloudRecordingResponse, ClientError> {
        self.call(request).await
    }

    /// `DescribeCloudRecording`.
    ///
    /// # Errors
    /// As [`Client::call`]; retried after timeouts and transport errors.
    pub async fn describe_cloud_recording(
        &self,
        request: &model::DescribeCloudRecording,
    ) -> Result<model::DescribeCloudRecordingResponse, ClientError> {
        self.call(request).await
    }

    /// `ModifyCloudRecording`.
    ///
    /// # Errors
    /// As [`Client::call`]; never retried after an ambiguous failure.
    pub async fn modify_cloud_recording(
        &self,
        request: &model::ModifyCloudRecording,
    ) -> Result<model::ModifyCloudRecordingResponse, ClientError> {
        self.call(request).await
    }

    /// `DeleteCloudRecording`.
    ///
    /// # Errors
    /// As [`Client::call`]; never retried after an ambiguous failure.
    pub async fn delete_cloud_recording(
        &self,
        request: &model::DeleteCloudRecording,
    ) -> Result<model::DeleteCloudRecordingResponse, ClientError> {
        self.call(request).await
    }
}

/// A failed attempt, and whether its request provably never reached the server.
#[derive(Debug)]
struct Failure {
    error: ClientError,
    /// The connection could not be made (reqwest's `is_connect`), so nothing was sent.
    never_sent: bool,
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Failure {
        Failure { error, never_sent: false }
    }
}

impl From<tc3::Tc3Error> for Failure {
    fn from(error: tc3::Tc3Error) -> Failure {
        ClientError::Signing(error).into()
    }
}

/// Whether a failed attempt may be repeated (see the module docs).
fn retryable(error: &ClientError, never_sent: bool, retry_safe: bool) -> bool {
    if never_sent {
        return true;
    }
    match error {
        ClientError::Api(api) => api.is_rate_limited(),
        ClientError::HttpStatus { status, .. } => *status == 429 || (retry_safe && *status >= 500),
        ClientError::Transport { .. } | ClientError::Timeout { .. } => retry_safe,
        ClientError::Decode { .. } | ClientError::Encode { .. } | ClientError::Signing(_) | ClientError::Config(_) => {
            false
        }
    }
}

fn transport_error(action: &'static str, error: &reqwest::Error) -> ClientError {
    // A connect timeout is a connection failure first: nothing was sent.
    if error.is_timeout() && !error.is_connect() {
        return ClientError::Timeout { action };
    }
    ClientError::Transport { action, detail: error_chain(error) }
}

/// The error and its sources on one line. reqwest's messages name the URL at most, which
/// never carries credentials (user info is refused in [`Client::new`]).
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

/// A random delay in `[0, min(cap, base × 2^(attempt-1))]` (full jitter).
fn backoff(attempt: u32) -> Duration {
    let base = u64::try_from(BACKOFF_BASE.as_millis()).unwrap_or(u64::MAX);
    let cap = u64::try_from(BACKOFF_CAP.as_millis()).unwrap_or(u64::MAX);
    let ceiling = base.saturating_mul(1u64 << attempt.saturating_sub(1).min(32)).min(cap);
    Duration::from_millis(rand::rng().random_range(0..=ceiling))
}

fn unix_now() -> i64 {
    // A clock before 1970 is a broken host; signing with 0 then fails visibly at the service
    // (`AuthFailure.SignatureExpire`) rather than panicking here.
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

fn header_value(what: &str, value: &str) -> Result<HeaderValue, ClientError> {
    HeaderValue::from_str(value)
        .map_err(|_| ClientError::Config(format!("{what} {value:?} is not a valid header value")))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// At most 200 characters of a body, for error messages.
fn snippet(body: &[u8]) -> String {
    const MAX_CHARS: usize = 200;
    let text = String::from_utf8_lossy(body);
    let mut snippet: String = text.chars().take(MAX_CHARS).collect();
    if text.chars().nth(MAX_CHARS).is_some() {
        snippet.push('…');
    }
    snippet
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn credentials() -> Credentials {
        Credentials::new("AKIDEXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE").unwrap()
    }

    fn client(endpoint: Endpoint, region: &str) -> Result<Client, ClientError> {
        Client::new(ClientConfig::new(credentials(), region).with_endpoint(endpoint))
    }

    #[test]
    fn each_endpoint_posts_to_its_host_and_signs_that_host() {
        for (endpoint, url, host) in [
            (Endpoint::Default, "https://trtc.tencentcloudapi.com/", "trtc.tencentcloudapi.com"),
            (Endpoint::International, "https://trtc.intl.tencentcloudapi.com/", "trtc.intl.tencentcloudapi.com"),
            (
                Endpoint::Region,
                "https://trtc.ap-singapore.tencentcloudapi.com/",
                "trtc.ap-singapore.tencentcloudapi.com",
            ),
            (Endpoint::Url("http://127.0.0.1:8080".into()), "http://127.0.0.1:8080/", "127.0.0.1:8080"),
            (Endpoint::Url("http://localhost:9/".into()), "http://localhost:9/", "localhost:9"),
            (Endpoint::Url("https://example.com:443".into()), "https://example.com/", "example.com"),
        ] {
            let client = client(endpoint.clone(), "ap-singapore").unwrap();
            assert_eq!(client.url().as_str(), url, "the URL of {endpoint:?}");
            assert_eq!(client.host(), host, "the Host of {endpoint:?}");
        }
    }

    #[test]
    fn unusable_base_urls_and_regions_are_refused_with_a_reason() {
        for (endpoint, region) in [
            (Endpoint::Url("ftp://127.0.0.1".into()), "ap-guangzhou"),
            (Endpoint::Url("http://127.0.0.1:1/trtc".into()), "ap-guangzhou"),
            (Endpoint::Url("http://user:pass@127.0.0.1:1".into()), "ap-guangzhou"),
            (Endpoint::Url("not a url".into()), "ap-guangzhou"),
            (Endpoint::Default, ""),
            (Endpoint::Region, "ap guangzhou"),
        ] {
            let error = client(endpoint.clone(), region).unwrap_err();
            assert!(matches!(error, ClientError::Config(_)), "{endpoint:?} in {region:?} should be refused: {error}");
            assert!(!error.to_string().contains("pass@"), "the refusal must not repeat user info: {error}");
        }
        let error = Client::new(ClientConfig::new(credentials(), "ap-guangzhou").with_language("en\nUS")).unwrap_err();
        assert!(matches!(error, ClientError::Config(_)), "a language with a newline should be refused: {error}");
    }

    #[test]
    fn the_config_and_client_print_no_secrets() {
        let config = ClientConfig::new(credentials().with_token("sts-token-value"), "ap-guangzhou");
        let client = Client::new(config.clone()).unwrap();
        for printed in [format!("{config:?}"), format!("{client:?}")] {
            assert!(!printed.contains("Gu5t9x"), "the key leaked: {printed}");
            assert!(!printed.contains("sts-token"), "the token leaked: {printed}");
        }
    }

    #[test]
    fn backoff_stays_under_its_doubling_ceiling_and_the_cap() {
        for attempt in 1..=40 {
            let ceiling = (200u64 << (attempt - 1).min(32)).min(5_000);
            for _ in 0..20 {
                let delay = backoff(attempt);
                assert!(delay <= Duration::from_millis(ceiling), "attempt {attempt} waited {delay:?} > {ceiling} ms");
            }
        }
    }

    #[test]
    fn only_failures_without_effect_are_retried_for_unsafe_actions() {
        let limited = ClientError::Api(ApiError::new("RequestLimitExceeded", "slow", None));
        let failed = ClientError::Api(ApiError::new("FailedOperation.TaskNotExist", "gone", None));
        let refused = ClientError::Transport { action: "A", detail: "connection refused".into() };
        let reset = ClientError::Transport { action: "A", detail: "connection reset".into() };
        let timeout = ClientError::Timeout { action: "A" };
        let bad_gateway = ClientError::HttpStatus { action: "A", status: 502, body_snippet: String::new() };
        let too_many = ClientError::HttpStatus { action: "A", status: 429, body_snippet: String::new() };
        let not_found = ClientError::HttpStatus { action: "A", status: 404, body_snippet: String::new() };
        let decode = ClientError::Decode { action: "A", detail: String::new() };
        for (error, never_sent, unsafe_retry, safe_retry) in [
            (&limited, false, true, true),
            (&failed, false, false, false),
            (&refused, true, true, true),
            (&reset, false, false, true),
            (&timeout, false, false, true),
            (&bad_gateway, false, false, true),
            (&too_many, false, true, true),
            (&not_found, false, false, false),
            (&decode, false, false, false),
        ] {
            assert_eq!(retryable(error, never_sent, false), unsafe_retry, "{error} for a state-changing action");
            assert_eq!(retryable(error, never_sent, true), safe_retry, "{error} for a read-only action");
        }
    }

    #[test]
    fn long_bodies_are_cut_to_a_snippet() {
        assert_eq!(snippet(b"short"), "short");
        let long = "x".repeat(500);
        let cut = snippet(long.as_bytes());
        assert_eq!(cut.chars().count(), 201, "200 characters and an ellipsis");
    }
}
