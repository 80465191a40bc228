//! The subscription: one background task that keeps the console fed from the hub's
//! stream for as long as its [`Subscription`] lives.
//!
//! It opens `GET /v1/stream?after=N` with the bearer token, checks every frame with
//! [`Link`], and sends [`Feed`]s into the caller's bounded channel: events in sequence
//! order, in batches of at most `batch_max` (a batch goes out as soon as no further frame
//! is waiting), awaiting the channel when it is full — backpressure, never a drop — and
//! status changes as [`LinkStatus`]. The position only moves once a batch is in the
//! channel, so after any drop (the hub closed, no frame for `missed_heartbeats` heartbeat
//! intervals, a protocol breach) it reconnects after the last event it delivered: no gap,
//! no repeat. Reconnects wait with full-jitter backoff; a refused token waits
//! `refused_retry` instead, so a revoked token never turns into a hot loop.
//!
//! What deliberately does not: store anything. The console persists what it receives
//! and, after a restart, subscribes again after the last sequence it stored.

use std::time::{Duration, Instant};

use domain::api::ConnectionStatus;
use domain::event::Event;
use futures_util::{FutureExt, StreamExt};
use hub::auth::Role;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{Error as WsError, UrlError};
use tokio_tungstenite::tungstenite::http::{header::AUTHORIZATION, HeaderValue};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::backoff::{jitter, Backoff};
use super::link::{Link, ProtocolError, Step};
use super::{parse_refusal, HubClient, HubError};

/// The least time between two [`LinkStatus::CatchingUp`] updates.
const CATCHING_UP_EVERY: Duration = Duration::from_millis(250);

/// What the subscription sends the console.
#[derive(Debug, Clone, PartialEq)]
pub enum Feed {
    /// The next events, in sequence order, each with its `seq`; none was sent before.
    Events(Vec<Event>),
    /// The link changed state (or, while catching up, its lag changed).
    Status(LinkStatus),
    /// The hub's retention deleted events the console never received: the next event is
    /// `first_seq`, and those before it since the position asked for are gone for good.
    Truncated { first_seq: u64 },
    /// The hub accepted the token on a (re)connection: who the console is signed in as.
    SignedIn { user: String, role: Role },
}

/// The link to the hub, as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkStatus {
    /// Opening the stream.
    Connecting,
    /// Up to date: events arrive as the hub appends them.
    Live,
    /// Replaying the hub's log: `lag_events` behind its last event; `lag_secs` is how old
    /// (by source time) the newest delivered event is, 0 until one has been delivered.
    CatchingUp { lag_events: u64, lag_secs: u64 },
    /// Not connected; trying again in `retry_in`.
    Offline { reason: OfflineReason, retry_in: Duration },
}

/// Why the link is down: a short code and a detail for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineReason {
    pub code: OfflineCode,
    pub detail: String,
}

/// Why the link is down, for the UI to branch on and localise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfflineCode {
    /// The hub refused the token (401/403 on the upgrade).
    Unauthorized,
    /// No connection could be made (refused, unreachable, DNS).
    Refused,
    /// The connection was closed (the hub stopped, the network dropped it).
    Closed,
    /// No answer in time: the upgrade, or no frame for the missed-heartbeat window.
    Timeout,
    /// The hub broke the stream protocol (a gap, a repeat, a bad frame).
    Protocol,
    /// The upgrade was answered with another HTTP status (404, 503, …).
    Http,
    /// The link cannot work with this build (a `wss://` hub without WebSocket TLS).
    Unsupported,
}

impl OfflineCode {
    /// The code as the UI and `ConnectionStatus` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            OfflineCode::Unauthorized => "unauthorized",
            OfflineCode::Refused => "refused",
            OfflineCode::Closed => "closed",
            OfflineCode::Timeout => "timeout",
            OfflineCode::Protocol => "protocol",
            OfflineCode::Http => "http",
            OfflineCode::Unsupported => "unsupported",
        }
    }
}

impl OfflineReason {
    fn new(code: OfflineCode, detail: impl Into<String>) -> OfflineReason {
        OfflineReason { code, detail: detail.into() }
    }
}

impl From<&LinkStatus> for ConnectionStatus {
    fn from(status: &LinkStatus) -> ConnectionStatus {
        match status {
            // Not connected yet: the header shows it as offline, "connecting".
            LinkStatus::Connecting => ConnectionStatus::Offline { reason: "connecting".into() },
            LinkStatus::Live => ConnectionStatus::Live,
            LinkStatus::CatchingUp { lag_events, lag_secs } => {
                ConnectionStatus::CatchingUp { lag_events: *lag_events, lag_secs: *lag_secs }
            }
            LinkStatus::Offline { reason, .. } => ConnectionStatus::Offline { reason: reason.code.as_str().into() },
        }
    }
}

impl From<LinkStatus> for ConnectionStatus {
    fn from(status: LinkStatus) -> ConnectionStatus {
        ConnectionStatus::from(&status)
    }
}

/// A running subscription. Dropping it (or the channel's receiver) stops the task;
/// [`Subscription::stop`] stops it and waits.
#[derive(Debug)]
pub struct Subscription {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<u64>>,
}

impl Subscription {
    /// Stops the task (closing the stream politely) and answers the sequence of the last
    /// event it delivered.
    pub async fn stop(mut self) -> u64 {
        let _ = self.stop.send(true);
        match self.task.take() {
            Some(task) => task.await.unwrap_or(0),
            None => 0,
        }
    }

    /// Whether the task has ended (its channel was closed, or it was stopped).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl HubClient {
    /// Subscribes to the hub's events after `start_after` (the last sequence the console
    /// has stored; 0 for everything), sending [`Feed`]s into `sink` until the
    /// [`Subscription`] is stopped or dropped, or `sink` is closed.
    ///
    /// Must be called inside a Tokio runtime (the task is spawned on it).
    pub fn subscribe(&self, start_after: u64, sink: mpsc::Sender<Feed>) -> Subscription {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(self.clone(), start_after, Out::new(sink, stopped)));
        Subscription { stop, task: Some(task) }
    }

    /// The stream's upgrade request after `after`, with the token in its header.
    pub(crate) fn stream_request(
        &self,
        after: u64,
    ) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, OfflineReason> {
        let mut url = self.url(&["v1", "stream"]);
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        if url.set_scheme(scheme).is_err() {
            return Err(OfflineReason::new(OfflineCode::Protocol, format!("cannot make a {scheme}:// URL of {url}")));
        }
        url.set_query(Some(&format!("after={after}")));
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|error| OfflineReason::new(OfflineCode::Protocol, format!("stream URL {url}: {error}")))?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", self.token().expose()))
            .map_err(|_| OfflineReason::new(OfflineCode::Unauthorized, "the token is not a valid header value"))?;
        auth.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, auth);
        Ok(request)
    }

    /// Opens the stream after `after` within the request timeout.
    pub(crate) async fn open_stream(&self, after: u64) -> Result<Ws, OfflineReason> {
        let request = self.stream_request(after)?;
        let limit = self.options().request_timeout;
        match tokio::time::timeout(limit, tokio_tungstenite::connect_async(request)).await {
            Err(_) => Err(OfflineReason::new(
                OfflineCode::Timeout,
                format!("the stream did not open within {} ms", limit.as_millis()),
            )),
            Ok(Err(error)) => Err(upgrade_failure(error)),
            Ok(Ok((socket, _))) => {
                // Frames are small and latency matters more than packet count.
                if let MaybeTlsStream::Plain(tcp) = socket.get_ref() {
                    let _ = tcp.set_nodelay(true);
                }
                Ok(socket)
            }
        }
    }

    /// Who the token signs in as, read from the stream's hello (then closed).
    pub(crate) async fn greet(&self, after: u64) -> Result<(String, Role, u64), HubError> {
        let mut socket = self.open_stream(after).await.map_err(|reason| match reason.code {
            OfflineCode::Unauthorized => HubError::Unauthorized { code: "bad_token".into(), message: reason.detail },
            _ => HubError::Stream { detail: format!("{}: {}", reason.code.as_str(), reason.detail) },
        })?;
        let limit = self.options().request_timeout;
        let first = tokio::time::timeout(limit, socket.next()).await;
        let _ = socket.close(None).await;
        let text = match first {
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(other) => {
                return Err(HubError::Stream { detail: format!("the stream did not start with hello: {other:?}") })
            }
            Err(_) => return Err(HubError::Stream { detail: "no hello within the request timeout".into() }),
        };
        let mut link = Link::new(after);
        match link.on_text(text.as_str()) {
            Ok(Step::Hello { user, role }) => Ok((user, role, link.hub_last_seq())),
            Ok(_) => Err(HubError::Stream { detail: "the stream did not start with hello".into() }),
            Err(error) => Err(HubError::Stream { detail: error.to_string() }),
        }
    }
}

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The subscription stopped (or its channel closed): the task ends.
struct Halt;

/// The channel towards the console, with the status last sent.
struct Out {
    sink: mpsc::Sender<Feed>,
    stop: watch::Receiver<bool>,
    status: Option<LinkStatus>,
    status_at: Instant,
}

impl Out {
    fn new(sink: mpsc::Sender<Feed>, stop: watch::Receiver<bool>) -> Out {
        Out { sink, stop, status: None, status_at: Instant::now() }
    }

    /// Sends `feed`, waiting while the channel is full; ends on stop or a closed channel.
    async fn send(&mut self, feed: Feed) -> Result<(), Halt> {
        tokio::select! {
            biased;
            _ = self.stop.wait_for(|stop| *stop) => Err(Halt),
            sent = self.sink.send(feed) => sent.map_err(|_| Halt),
        }
    }

    /// Sends a status if it is news; lag updates while catching up at a bounded rate.
    async fn status(&mut self, status: LinkStatus) -> Result<(), Halt> {
        let both_catching_up =
            matches!((&self.status, &status), (Some(LinkStatus::CatchingUp { .. }), LinkStatus::CatchingUp { .. }));
        if self.status.as_ref() == Some(&status) || (both_catching_up && self.status_at.elapsed() < CATCHING_UP_EVERY) {
            return Ok(());
        }
        self.send(Feed::Status(status.clone())).await?;
        self.status = Some(status);
        self.status_at = Instant::now();
        Ok(())
    }

    /// Resolves when the subscription is stopped or the console dropped its receiver.
    async fn stopped(&mut self) {
        tokio::select! {
            _ = self.stop.wait_for(|stop| *stop) => {}
            () = self.sink.closed() => {}
        }
    }
}

/// What the console has been given.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// The last sequence delivered (or skipped by a truncation the console was told of).
    seq: u64,
    /// Source time of the last event delivered.
    source_ms: Option<u64>,
}

/// How a connection ended.
enum Ended {
    Halt,
    Dropped { reason: OfflineReason, progressed: bool },
}

async fn run(client: HubClient, start_after: u64, mut out: Out) -> u64 {
    let options = client.options().clone();
    let mut backoff = Backoff::new(options.backoff_base, options.backoff_cap);
    let mut cursor = Cursor { seq: start_after, source_ms: None };
    loop {
        if out.status(LinkStatus::Connecting).await.is_err() {
            return cursor.seq;
        }
        let began = Instant::now();
        let (reason, progressed) = match session(&client, &mut cursor, &mut out).await {
            Ended::Halt => return cursor.seq,
            Ended::Dropped { reason, progressed } => (reason, progressed),
        };
        if progressed || began.elapsed() >= options.stable_after {
            backoff.reset();
        }
        let retry_in = match reason.code {
            // Retrying at once will not help: wait long, with some jitter.
            OfflineCode::Unauthorized | OfflineCode::Unsupported => {
                jitter(options.refused_retry * 3 / 4, options.refused_retry).max(backoff.next_delay())
            }
            _ => backoff.next_delay(),
        };
        tracing::info!(
            code = reason.code.as_str(),
            detail = %reason.detail,
            retry_in_ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX),
            "hub link offline"
        );
        if out.status(LinkStatus::Offline { reason, retry_in }).await.is_err() {
            return cursor.seq;
        }
        tokio::select! {
            () = tokio::time::sleep(retry_in) => {}
            () = out.stopped() => return cursor.seq,
        }
    }
}

/// One connection: open, read until it drops, deliver what was good.
async fn session(client: &HubClient, cursor: &mut Cursor, out: &mut Out) -> Ended {
    let options = client.options();
    let opened = tokio::select! {
        opened = client.open_stream(cursor.seq) => opened,
        () = out.stopped() => return Ended::Halt,
    };
    let mut socket = match opened {
        Ok(socket) => socket,
        Err(reason) => return Ended::Dropped { reason, progressed: false },
    };
    let silence = options.heartbeat.saturating_mul(options.missed_heartbeats);
    let mut link = Link::new(cursor.seq);
    let mut batch: Vec<Event> = Vec::new();
    let started_at = cursor.seq;
    let mut next: Option<Option<Result<Message, WsError>>> = None;
    let dropped = loop {
        let message = match next.take() {
            Some(message) => message,
            None => tokio::select! {
                biased;
                () = out.stopped() => {
                    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
                    return Ended::Halt;
                }
                read = tokio::time::timeout(silence, socket.next()) => match read {
                    Ok(message) => message,
                    Err(_) => break OfflineReason::new(
                        OfflineCode::Timeout,
                        format!("no frame from the hub for {} ms ({} heartbeats)", silence.as_millis(), options.missed_heartbeats),
                    ),
                },
            },
        };
        let text = match message {
            None => break OfflineReason::new(OfflineCode::Closed, "the hub closed the stream"),
            Some(Err(error)) => break OfflineReason::new(OfflineCode::Closed, format!("the stream failed: {error}")),
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                let why = frame.map(|f| format!(" ({} {})", u16::from(f.code), f.reason)).unwrap_or_default();
                break OfflineReason::new(OfflineCode::Closed, format!("the hub closed the stream{why}"));
            }
            // Pings are answered by tungstenite; nothing else is part of the protocol.
            Some(Ok(_)) => continue,
        };
        let step = match link.on_text(text.as_str()) {
            Ok(step) => step,
            Err(error) => break protocol_failure(&error),
        };
        let delivered = match step {
            Step::Event(event) => {
                batch.push(*event);
                Ok(())
            }
            Step::Hello { user, role } => {
                let hello = out.send(Feed::SignedIn { user, role }).await;
                match hello {
                    Ok(()) if link.hub_last_seq() > cursor.seq => out.status(catching_up(&link, cursor)).await,
                    other => other,
                }
            }
            Step::Truncated { first_seq } => {
                let sent = out.send(Feed::Truncated { first_seq }).await;
                if sent.is_ok() {
                    cursor.seq = first_seq - 1;
                }
                sent
            }
            Step::CaughtUp => match flush(&mut batch, cursor, out, &link).await {
                Ok(()) => out.status(LinkStatus::Live).await,
                halt => halt,
            },
            Step::Lagged { .. } => match flush(&mut batch, cursor, out, &link).await {
                Ok(()) => out.status(catching_up(&link, cursor)).await,
                halt => halt,
            },
            Step::Heartbeat | Step::Ignored => Ok(()),
        };
        if delivered.is_err() {
            return Ended::Halt;
        }
        // A batch goes out when full, or when no further frame is already waiting.
        if !batch.is_empty() {
            let waiting = if batch.len() < options.batch_max { socket.next().now_or_never() } else { None };
            match waiting {
                Some(message) => next = Some(message),
                None => {
                    if flush(&mut batch, cursor, out, &link).await.is_err() {
                        return Ended::Halt;
                    }
                }
            }
        }
    };
    // What arrived in order before the drop is good: deliver it, then resume after it.
    if flush(&mut batch, cursor, out, &link).await.is_err() {
        return Ended::Halt;
    }
    Ended::Dropped { reason: dropped, progressed: cursor.seq != started_at }
}

/// Sends the batch (if any) and moves the cursor past it.
async fn flush(batch: &mut Vec<Event>, cursor: &mut Cursor, out: &mut Out, link: &Link) -> Result<(), Halt> {
    let Some(last) = batch.last() else { return Ok(()) };
    let (seq, source_ms) = (last.seq.map_or(cursor.seq, |seq| seq.0), last.source_ms.0);
    out.send(Feed::Events(std::mem::take(batch))).await?;
    cursor.seq = seq;
    cursor.source_ms = Some(source_ms);
    if !link.is_caught_up() {
        out.status(catching_up(link, cursor)).await?;
    }
    Ok(())
}

fn catching_up(link: &Link, cursor: &Cursor) -> LinkStatus {
    let lag_secs = cursor.source_ms.map_or(0, |ms| hub::now_ms().saturating_sub(ms) / 1000);
    LinkStatus::CatchingUp { lag_events: link.hub_last_seq().saturating_sub(cursor.seq), lag_secs }
}

fn protocol_failure(error: &ProtocolError) -> OfflineReason {
    tracing::warn!(%error, "the hub broke the stream protocol; reconnecting after the last good event");
    OfflineReason::new(OfflineCode::Protocol, error.to_string())
}

/// Why the upgrade failed, in the link's terms.
fn upgrade_failure(error: WsError) -> OfflineReason {
    match error {
        WsError::Http(response) => {
            let status = response.status().as_u16();
            let refusal = parse_refusal(status, response.body().as_deref().unwrap_or_default());
            let code = if matches!(status, 401 | 403) { OfflineCode::Unauthorized } else { OfflineCode::Http };
            OfflineReason::new(code, format!("the hub answered {status} {}: {}", refusal.code, refusal.message))
        }
        WsError::Io(io) => OfflineReason::new(OfflineCode::Refused, format!("cannot connect: {io}")),
        WsError::Tls(tls) => OfflineReason::new(OfflineCode::Refused, format!("the TLS handshake failed: {tls}")),
        WsError::Url(UrlError::TlsFeatureNotEnabled) => OfflineReason::new(
            OfflineCode::Unsupported,
            "this build cannot open wss:// streams (WebSocket TLS is not compiled in)",
        ),
        WsError::Url(url) => OfflineReason::new(OfflineCode::Refused, format!("the stream URL: {url}")),
        other => OfflineReason::new(OfflineCode::Protocol, format!("the stream upgrade failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub_client::{ClientOptions, HubToken};

    #[test]
    fn link_statuses_map_onto_the_ipc_connection_status() {
        let offline = LinkStatus::Offline {
            reason: OfflineReason::new(OfflineCode::Unauthorized, "401"),
            retry_in: Duration::from_secs(60),
        };
        let cases = [
            (LinkStatus::Connecting, ConnectionStatus::Offline { reason: "connecting".into() }),
            (LinkStatus::Live, ConnectionStatus::Live),
            (
                LinkStatus::CatchingUp { lag_events: 7, lag_secs: 3 },
                ConnectionStatus::CatchingUp { lag_events: 7, lag_secs: 3 },
            ),
            (offline, ConnectionStatus::Offline { reason: "unauthorized".into() }),
        ];
        for (link, expected) in cases {
            assert_eq!(ConnectionStatus::from(link.clone()), expected, "{link:?}");
        }
    }

    #[tokio::test]
    async fn an_https_hub_streams_over_tls_and_a_failed_handshake_is_named() {
        // Something answers TCP on an https:// address but speaks no TLS: the stream tries
        // a TLS handshake (wss://), and its failure is reported as such.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let accept = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            if let Ok((mut socket, _)) = listener.accept().await {
                let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            }
        });
        let token = HubToken::new("t").unwrap_or_else(|e| panic!("{e}"));
        let client = HubClient::new(&format!("https://{addr}"), token, ClientOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let Err(reason) = client.open_stream(0).await else { panic!("no TLS server there") };
        // rustls refuses the plain-text answer (an I/O error carrying its TLS error).
        assert_eq!(reason.code, OfflineCode::Refused, "{reason:?}");
        assert!(
            reason.detail.contains("TLS") || reason.detail.contains("corrupt message"),
            "the TLS failure should be named: {reason:?}"
        );
        accept.abort();
    }

    #[test]
    fn every_offline_code_has_its_own_spelling() {
        let codes = [
            OfflineCode::Unauthorized,
            OfflineCode::Refused,
            OfflineCode::Closed,
            OfflineCode::Timeout,
            OfflineCode::Protocol,
            OfflineCode::Http,
            OfflineCode::Unsupported,
        ];
        let spelled: std::collections::BTreeSet<&str> = codes.iter().map(|code| code.as_str()).collect();
        assert_eq!(spelled.len(), codes.len());
    }
}
