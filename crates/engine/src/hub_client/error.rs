//! [`HubError`]: why a call to the hub did not give its answer, in words a supervisor can
//! act on (wrong address, hub down, token refused, not allowed, …) and with the hub's own
//! error code where the hub gave one.

use std::fmt;

/// What the hub answered instead of success: its HTTP status and its `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status (403 role, 404 unknown call, 409 locked, 422 invalid, 503 …).
    pub status: u16,
    /// The hub's stable error code (`role`, `locked`, `unknown_call`, …); `http_<status>`
    /// when the answer carried none (a proxy or a storage server answered).
    pub code: String,
    /// The hub's message for people.
    pub message: String,
    /// The command the refusal belongs to, when the hub had already recorded one (a
    /// command that failed after it was accepted for processing).
    pub command_id: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

/// Why a request to the hub failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    /// The hub address is not an `http://` or `https://` URL with a host.
    #[error("the hub address {url:?} is not usable: {problem}")]
    BadUrl { url: String, problem: String },
    /// Something the caller passed cannot be sent (a blank token, an over-long key).
    #[error("{what} is not usable: {problem}")]
    Invalid { what: &'static str, problem: String },
    /// No connection could be made (refused, no route, DNS).
    #[error("cannot reach the hub at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    /// The hub did not answer in time.
    #[error("the hub at {url} did not answer in time: {detail}")]
    Timeout { url: String, detail: String },
    /// Something answered, but not the way a Switchboard hub does.
    #[error("{url} answered, but it is not a Switchboard hub: {detail}")]
    NotAHub { url: String, detail: String },
    /// The hub refused the token (401): missing, wrong or revoked.
    #[error("the hub refused the token ({code}): {message}")]
    Unauthorized { code: String, message: String },
    /// The hub understood and said no.
    #[error("the hub refused: {0}")]
    Refused(Refusal),
    /// The hub said yes, but its answer could not be read as expected.
    #[error("the hub's answer to {what} could not be read: {detail}")]
    BadAnswer { what: String, detail: String },
    /// The stream (WebSocket) could not be opened or did not greet.
    #[error("the hub's event stream could not be opened: {detail}")]
    Stream { detail: String },
}

impl HubError {
    /// A short machine code for the UI to branch on and to localise.
    pub fn code(&self) -> &'static str {
        match self {
            HubError::BadUrl { .. } => "bad_url",
            HubError::Invalid { .. } => "invalid",
            HubError::Unreachable { .. } => "unreachable",
            HubError::Timeout { .. } => "timeout",
            HubError::NotAHub { .. } => "not_a_hub",
            HubError::Unauthorized { .. } => "unauthorized",
            HubError::Refused(_) => "refused",
            HubError::BadAnswer { .. } => "bad_answer",
            HubError::Stream { .. } => "stream",
        }
    }

    /// The hub's refusal, when that is what this is.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            HubError::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }

    /// A transport error of `reqwest` in these terms; `url` is where the request went
    /// (it never carries the token, which travels in a header).
    pub(crate) fn from_transport(url: &str, error: &reqwest::Error) -> HubError {
        let detail = error_chain(error);
        if error.is_timeout() {
            HubError::Timeout { url: url.to_owned(), detail }
        } else if error.is_connect() {
            HubError::Unreachable { url: url.to_owned(), detail }
        } else if error.is_builder() {
            HubError::BadUrl { url: url.to_owned(), problem: detail }
        } else if error.is_redirect() {
            HubError::BadAnswer { what: url.to_owned(), detail }
        } else {
            HubError::Unreachable { url: url.to_owned(), detail }
        }
    }
}

/// An error and its sources, `: `-separated (reqwest's own message is often just
/// "error sending request").
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = inner.source();
    }
    text
}
