//! The local stand-in for the Tencent Cloud API shared by the client test binaries: an
//! axum server on 127.0.0.1 that verifies every request's TC3 signature and common headers
//! the way the service does, and answers from a per-test script.
// Each test binary uses a different part of this module.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use trtc::client::{Client, ClientConfig, Endpoint};
use trtc::credentials::Credentials;
use trtc::error::Envelope;
use trtc::tc3;

pub const SECRET_ID: &str = "AKIDSWITCHBOARDTEST";
pub const SECRET_KEY: &str = "switchboard-test-secret-key";
pub const REGION: &str = "ap-guangzhou";
pub const TIMEOUT: Duration = Duration::from_millis(300);

/// What the stand-in answers to one attempt.
#[derive(Debug, Clone)]
pub enum Reply {
    /// HTTP 200 with `{"Response": <value + RequestId>}`.
    Ok(Value),
    /// HTTP 200 with an error envelope of this code.
    Error(&'static str),
    /// Answers `Ok` only after this long.
    Slow(Duration, Value),
    /// Another status with a plain body.
    Status(u16, &'static str),
    /// HTTP 200 with this body as is.
    Raw(&'static str),
}

/// One request as the stand-in saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub action: String,
    pub body: Value,
    pub headers: HashMap<String, String>,
}

type Script = Box<dyn Fn(usize, &str) -> Reply + Send + Sync>;

struct Shared {
    attempts: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
    /// Every check a request failed; tests assert this stays empty.
    problems: Mutex<Vec<String>>,
    expected_host: Mutex<String>,
    script: Script,
}

pub struct StandIn {
    pub base: String,
    shared: Arc<Shared>,
}

impl StandIn {
    /// Starts a stand-in that answers attempt `n` (from 1) of action `a` with `script(n, a)`.
    pub async fn start(script: impl Fn(usize, &str) -> Reply + Send + Sync + 'static) -> StandIn {
        let shared = Arc::new(Shared {
            attempts: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
            problems: Mutex::new(Vec::new()),
            expected_host: Mutex::new(String::new()),
            script: Box::new(script),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        *shared.expected_host.lock().unwrap() = address.to_string();
        let app = Router::new().fallback(handle).with_state(Arc::clone(&shared));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        StandIn { base: format!("http://{address}"), shared }
    }

    pub fn client(&self, configure: impl FnOnce(ClientConfig) -> ClientConfig) -> Client {
        let config = ClientConfig::new(Credentials::new(SECRET_ID, SECRET_KEY).unwrap(), REGION)
            .with_endpoint(Endpoint::Url(self.base.clone()))
            .with_timeout(TIMEOUT);
        Client::new(configure(config)).unwrap()
    }

    pub fn attempts(&self) -> usize {
        self.shared.attempts.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn assert_every_request_was_valid(&self) {
        let problems = self.shared.problems.lock().unwrap();
        assert!(problems.is_empty(), "every request should have passed the service's checks: {problems:#?}");
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let attempt = shared.attempts.fetch_add(1, Ordering::SeqCst) + 1;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let expected_host = shared.expected_host.lock().unwrap().clone();
    let problems = check(&method, &uri, &header, &body, &expected_host);
    if !problems.is_empty() {
        shared.problems.lock().unwrap().extend(problems.iter().cloned());
        let envelope = Envelope::error("AuthFailure.SignatureFailure", problems.join("; "), "req-refused");
        return json_response(StatusCode::OK, &serde_json::to_value(envelope).unwrap());
    }
    let action = header("x-tc-action").unwrap_or_default();
    let seen = Seen {
        action: action.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        headers: headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect(),
    };
    shared.seen.lock().unwrap().push(seen);
    let request_id = format!("req-{attempt}");
    match (shared.script)(attempt, &action) {
        Reply::Ok(output) => json_response(StatusCode::OK, &success(output, &request_id)),
        Reply::Slow(delay, output) => {
            tokio::time::sleep(delay).await;
            json_response(StatusCode::OK, &success(output, &request_id))
        }
        Reply::Error(code) => {
            let envelope = Envelope::error(code, format!("scripted {code}"), request_id);
            json_response(StatusCode::OK, &serde_json::to_value(envelope).unwrap())
        }
        Reply::Status(status, text) => (StatusCode::from_u16(status).unwrap(), text).into_response(),
        Reply::Raw(text) => (StatusCode::OK, text).into_response(),
    }
}

/// The service's checks: method and path, common headers, and the TC3 signature over the
/// real `Content-Type` and `Host` values and the raw body.
fn check(method: &Method, uri: &Uri, header: &dyn Fn(&str) -> Option<String>, body: &[u8], host: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expect = |what: &str, ok: bool| {
        if !ok {
            problems.push(what.to_owned());
        }
    };
    expect("method POST", method == Method::POST);
    expect("path /", uri.path() == "/" && uri.query().is_none());
    expect("Content-Type application/json", header("content-type").as_deref() == Some("application/json"));
    expect("Host host:port", header("host").as_deref() == Some(host));
    expect("X-TC-Action", header("x-tc-action").is_some_and(|a| !a.is_empty()));
    expect("X-TC-Version 2019-07-22", header("x-tc-version").as_deref() == Some("2019-07-22"));
    expect("X-TC-Region", header("x-tc-region").as_deref() == Some(REGION));
    expect("X-TC-RequestClient", header("x-tc-requestclient").is_some_and(|c| c.starts_with("SDK_RUST_SWITCHBOARD_")));
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap();
    let Some(timestamp) = header("x-tc-timestamp").and_then(|t| t.parse::<i64>().ok()) else {
        problems.push("X-TC-Timestamp is a decimal number".to_owned());
        return problems;
    };
    expect("X-TC-Timestamp is now", (now - timestamp).abs() <= 5);
    let authorization = match header("authorization").map(|a| tc3::Authorization::parse(&a)) {
        Some(Ok(authorization)) => authorization,
        other => {
            problems.push(format!("Authorization parses: {other:?}"));
            return problems;
        }
    };
    expect("the SecretId", authorization.secret_id == SECRET_ID);
    expect("SignedHeaders content-type;host", authorization.signed_headers == ["content-type", "host"]);
    let received = tc3::ReceivedRequest { method: "POST", path: uri.path(), query: "", timestamp, payload: body };
    if let Err(error) = tc3::verify(&authorization, SECRET_KEY, "trtc", now, &received, header) {
        problems.push(format!("the signature verifies: {error}"));
    }
    problems
}

fn success(mut output: Value, request_id: &str) -> Value {
    output["RequestId"] = json!(request_id);
    json!({ "Response": output })
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}
