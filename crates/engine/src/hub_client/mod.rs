//! The console's client for a Switchboard hub.
//!
//! What lives here:
//! - [`HubClient`]: one hub address and one supervisor token ([`HubToken`], never shown in
//!   `Debug` or logs), one `reqwest` client with bounded timeouts, and the hub's REST API as
//!   typed methods answering typed results or a [`HubError`] (`rest`);
//! - [`HubClient::subscribe`]: the event stream (`GET /v1/stream?after=N`) as a background
//!   task that delivers [`Feed`]s — events in order, in batches, never twice and never with
//!   a gap — into a bounded channel, reports the link as a [`LinkStatus`], and reconnects by
//!   itself with full-jitter backoff (`stream`, with the protocol checks in `link` and the
//!   backoff in `backoff`);
//! - [`HubClient::test_connection`]: the settings screen's "Test" button.
//!
//! What deliberately does not: folding events into a board, the SQLite cache, the cursor on
//! disk, alerts and the UI. The console owns those and feeds them from the [`Feed`]s; the
//! channel is the seam. Recording downloads are in [`crate::recordings`].
//!
//! TLS: an `https://` hub is streamed over `wss://` (tokio-tungstenite with rustls and the
//! webpki roots) and called over https (reqwest with rustls); a failed handshake is named.

mod backoff;
mod error;
mod link;
mod rest;
mod stream;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::Url;
use serde::de::DeserializeOwned;

pub(crate) use error::error_chain;
pub use error::{HubError, Refusal};
pub use hub::auth::Role;
pub use rest::{
    AuditEntry, AuditQuery, CallCommand, CallSnapshot, CallSummary, CallsPage, CommandAnswer, HubHealth, HubIdentity,
    IdempotencyKey, InterruptMode, LockAction, LockAnswer, Recording, RecordingFile, RoomTicket, SayMode,
};
pub use rest::{CallQa, CallTags, NoteRequest, StoredNote};
pub use stream::{Feed, LinkStatus, OfflineCode, OfflineReason, Subscription};

/// A supervisor's hub token. Its `Debug` shows `HubToken(***)`; it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct HubToken(String);

impl HubToken {
    /// Wraps a token as the hub issued it (surrounding whitespace from a paste is removed).
    ///
    /// # Errors
    /// [`HubError::Invalid`] when it is blank or has characters an HTTP header cannot carry.
    pub fn new(token: impl Into<String>) -> Result<HubToken, HubError> {
        let token = token.into().trim().to_owned();
        if token.is_empty() {
            return Err(HubError::Invalid { what: "the hub token", problem: "it is empty".into() });
        }
        if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(HubError::Invalid {
                what: "the hub token",
                problem: "it may only contain visible ASCII characters (no spaces)".into(),
            });
        }
        Ok(HubToken(token))
    }

    /// The token itself, for the keychain and the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `Bearer TOKEN`, marked sensitive so HTTP layers never print it.
    fn header(&self) -> Result<HeaderValue, HubError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|_| HubError::Invalid { what: "the hub token", problem: "not a valid header value".into() })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for HubToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HubToken(***)")
    }
}

/// Timeouts, backoff and batching of a [`HubClient`]. The defaults suit a hub with its
/// default 15 s heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Opening a TCP connection (REST and stream).
    pub connect_timeout: Duration,
    /// A whole REST request, and the stream's upgrade.
    pub request_timeout: Duration,
    /// Recording downloads: the longest wait for the next bytes (no limit on the total).
    pub download_read_timeout: Duration,
    /// The first reconnect waits up to this long (full jitter: a uniform draw from zero).
    pub backoff_base: Duration,
    /// The longest wait between reconnects.
    pub backoff_cap: Duration,
    /// After a refused token (or a hub the client cannot speak to), wait about this long
    /// before trying again instead of the usual backoff.
    pub refused_retry: Duration,
    /// The hub's heartbeat interval (its `--heartbeat-secs`).
    pub heartbeat: Duration,
    /// This many heartbeat intervals without any frame and the link is taken as dead.
    pub missed_heartbeats: u32,
    /// A connection that lasted this long (or delivered events) resets the backoff.
    pub stable_after: Duration,
    /// The most events in one [`Feed::Events`].
    pub batch_max: usize,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            download_read_timeout: Duration::from_secs(30),
            backoff_base: Duration::from_millis(250),
            backoff_cap: Duration::from_secs(15),
            refused_retry: Duration::from_secs(60),
            heartbeat: Duration::from_secs(15),
            missed_heartbeats: 3,
            stable_after: Duration::from_secs(10),
            batch_max: 500,
        }
    }
}

/// A client of one hub, as one supervisor. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct HubClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// The hub's base URL, without a trailing `/`.
    base: Url,
    token: HubToken,
    auth: HeaderValue,
    http: reqwest::Client,
    downloads: reqwest::Client,
    options: ClientOptions,
}

impl fmt::Debug for HubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubClient")
            .field("base", &self.inner.base.as_str())
            .field("token", &self.inner.token)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl HubClient {
    /// A client of the hub at `base_url` (`http://host:port`, optionally with a path
    /// prefix) with `token`.
    ///
    /// # Errors
    /// [`HubError::BadUrl`] when `base_url` is not an http(s) URL with a host, or carries a
    /// query, fragment or credentials; [`HubError::Invalid`] when the options cannot be used.
    pub fn new(base_url: &str, token: HubToken, options: ClientOptions) -> Result<HubClient, HubError> {
        let base = parse_base(base_url)?;
        if options.batch_max == 0 || options.missed_heartbeats == 0 || options.heartbeat.is_zero() {
            return Err(HubError::Invalid {
                what: "the client options",
                problem: "batch_max, missed_heartbeats and heartbeat must be above zero".into(),
            });
        }
        let auth = token.header()?;
        let build = |client: reqwest::ClientBuilder| {
            client
                .connect_timeout(options.connect_timeout)
                .user_agent(concat!("switchboard-console/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|error| HubError::Invalid { what: "the HTTP client", problem: error::error_chain(&error) })
        };
        let http = build(reqwest::Client::builder().timeout(options.request_timeout))?;
        // Downloads may take long; what must not take long is the wait for the next bytes.
        let downloads = build(reqwest::Client::builder().read_timeout(options.download_read_timeout))?;
        Ok(HubClient { inner: Arc::new(Inner { base, token, auth, http, downloads, options }) })
    }

    /// The hub's base URL as given (without a trailing `/`).
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str().trim_end_matches('/')
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    pub(crate) fn token(&self) -> &HubToken {
        &self.inner.token
    }

    /// The base URL with `segments` appended, each percent-encoded as needed.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            // `parse_base` only accepts http(s) URLs, which always have path segments.
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// A path the hub itself gave (`/v1/…`), under the base URL.
    pub(crate) fn hub_path(&self, path: &str) -> Result<Url, HubError> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if !path.starts_with("/v1/") || segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
            return Err(HubError::BadAnswer {
                what: "a download link".into(),
                detail: format!("{path:?} is not a path under /v1/"),
            });
        }
        Ok(self.url(&segments))
    }

    /// An authenticated request builder on the REST client.
    pub(crate) fn request(&self, method: reqwest::Method, url: Url) -> reqwest::RequestBuilder {
        self.inner.http.request(method, url).header(AUTHORIZATION, self.inner.auth.clone())
    }

    /// An authenticated GET on the download client (no total timeout).
    pub(crate) fn download_request(&self, url: Url) -> reqwest::RequestBuilder {
        self.inner.downloads.get(url).header(AUTHORIZATION, self.inner.auth.clone())
    }

    /// Sends `request` and reads a JSON answer of type `T`, or the hub's refusal.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, HubError> {
        let (url, response) = self.send(request).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(refusal_of(response).await);
        }
        let bytes = response.bytes().await.map_err(|error| HubError::from_transport(url.as_str(), &error))?;
        serde_json::from_slice(&bytes)
            .map_err(|error| HubError::BadAnswer { what: what.to_owned(), detail: error.to_string() })
    }

    /// Sends `request`; answers the URL it went to and the response, whatever its status.
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Result<(Url, reqwest::Response), HubError> {
        let (client, request) = request.build_split();
        let request = request.map_err(|error| HubError::BadUrl {
            url: self.base_url().to_owned(),
            problem: error::error_chain(&error),
        })?;
        let url = request.url().clone();
        let response = client.execute(request).await.map_err(|error| HubError::from_transport(url.as_str(), &error))?;
        Ok((url, response))
    }
}

/// Checks and normalises a hub base URL.
fn parse_base(text: &str) -> Result<Url, HubError> {
    let bad = |problem: &str| HubError::BadUrl { url: text.to_owned(), problem: problem.to_owned() };
    let trimmed = text.trim();
    let url = Url::parse(trimmed).map_err(|error| bad(&format!("not a URL ({error}); expected http://host:port")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(&format!("the scheme is {:?}; a hub is reached over http:// or https://", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not carry a query (?…) or a fragment (#…)"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not carry a user name or password; the token is sent separately"));
    }
    let mut url = url;
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

/// The hub's `{"error": {code, message}}` (and a failed command's `command_id`) from a
/// non-success answer; a plain-text answer becomes code `http_<status>`.
pub(crate) async fn refusal_of(response: reqwest::Response) -> HubError {
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    let refusal = parse_refusal(status.as_u16(), &body);
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return HubError::Unauthorized { code: refusal.code, message: refusal.message };
    }
    HubError::Refused(refusal)
}

/// Reads the hub's error shape from a body; falls back to the status and the body's start.
pub(crate) fn parse_refusal(status: u16, body: &[u8]) -> Refusal {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|value| value.get("error"));
    let field = |name: &str| error.and_then(|e| e.get(name)).and_then(serde_json::Value::as_str).map(str::to_owned);
    let command_id = parsed
        .as_ref()
        .and_then(|value| value.get("command_id"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    match (field("code"), field("message")) {
        (Some(code), message) => Refusal { status, code, message: message.unwrap_or_default(), command_id },
        _ => {
            let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
            let reason = reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("unexpected status");
            let message = if text.trim().is_empty() { reason.to_owned() } else { format!("{reason}: {}", text.trim()) };
            Refusal { status, code: format!("http_{status}"), message, command_id }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let token = HubToken::new("sbt_very-secret-token").unwrap();
        let client = HubClient::new("http://127.0.0.1:8720", token.clone(), ClientOptions::default()).unwrap();
        for shown in [format!("{token:?}"), format!("{client:?}"), format!("{:#?}", client)] {
            assert!(!shown.contains("very-secret"), "the token leaked: {shown}");
        }
        assert_eq!(token.expose(), "sbt_very-secret-token");
    }

    #[test]
    fn bad_tokens_are_named() {
        for bad in ["", "   ", "two words", "tab\there", "中文"] {
            let error = HubToken::new(bad).unwrap_err();
            assert_eq!(error.code(), "invalid", "{bad:?}: {error}");
            assert!(error.to_string().contains("token"), "{error}");
        }
        assert_eq!(HubToken::new("  sbt_x\n").unwrap().expose(), "sbt_x", "a pasted token is trimmed");
    }

    #[test]
    fn base_urls_are_checked_and_normalised() {
        let token = || HubToken::new("t").unwrap();
        for (good, base) in [
            ("http://127.0.0.1:8720", "http://127.0.0.1:8720"),
            ("http://127.0.0.1:8720/", "http://127.0.0.1:8720"),
            (" https://hub.example.com/switchboard/ ", "https://hub.example.com/switchboard"),
        ] {
            let client = HubClient::new(good, token(), ClientOptions::default()).unwrap();
            assert_eq!(client.base_url(), base);
        }
        for bad in ["", "127.0.0.1:8720", "ftp://hub", "http://", "http://hub/?x=1", "http://u:p@hub", "ws://hub"] {
            let error = HubClient::new(bad, token(), ClientOptions::default()).unwrap_err();
            assert_eq!(error.code(), "bad_url", "{bad:?} gave {error}");
        }
    }

    #[test]
    fn urls_keep_a_path_prefix_and_encode_ids() {
        let client =
            HubClient::new("https://hub.example.com/sb", HubToken::new("t").unwrap(), ClientOptions::default())
                .unwrap();
        assert_eq!(client.url(&["v1", "calls", "a b/c"]).as_str(), "https://hub.example.com/sb/v1/calls/a%20b%2Fc");
        assert_eq!(
            client.hub_path("/v1/recordings/t1/x.wav").unwrap().as_str(),
            "https://hub.example.com/sb/v1/recordings/t1/x.wav"
        );
        for bad in ["/healthz", "v1/x", "/v1/../admin", "/v1//x"] {
            assert!(client.hub_path(bad).is_err(), "{bad:?} must not be followed");
        }
    }

    #[test]
    fn refusals_read_the_hubs_error_shape_or_fall_back_to_the_status() {
        let hub = parse_refusal(403, br#"{"error":{"code":"role","message":"say needs the supervisor role"}}"#);
        assert_eq!((hub.status, hub.code.as_str()), (403, "role"));
        assert_eq!(hub.message, "say needs the supervisor role");
        let failed = parse_refusal(
            409,
            br#"{"command_id":"c1","stage":"failed","error":{"code":"locked","message":"li holds this call's lock"}}"#,
        );
        assert_eq!(failed.command_id.as_deref(), Some("c1"));
        let plain = parse_refusal(502, b"Bad Gateway from nginx");
        assert_eq!(plain.code, "http_502");
        assert!(plain.message.contains("nginx"), "{}", plain.message);
        assert_eq!(parse_refusal(404, b"").message, "Not Found");
    }
}
