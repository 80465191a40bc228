//! The hub's one writer: every event (verified callbacks and the hub's own facts) goes
//! through here, so sequence numbers, the live board and the live broadcast all see the
//! same order.
//!
//! Requests queue on a channel; the writer takes whatever is waiting (up to
//! [`MAX_BATCH`] events), appends it in one transaction, then — only once it is durable —
//! folds each stored event into the board, broadcasts it and answers every request. A
//! failed append answers every request in the batch with the error and stores nothing, so
//! TRTC retries and nothing is lost.
//!
//! The live broadcast carries each event with its stream frame already rendered
//! ([`Published`]): a hundred stream clients send the same bytes, and the event is
//! serialised once, here, not once per client.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use domain::event::Event;
use tokio::sync::{mpsc, oneshot};

use crate::log::{Appended, LogError, NewEvent};
use crate::{stream, Shared};

/// The most events one transaction takes.
pub const MAX_BATCH: usize = 2_048;

/// A stored event as the live broadcast carries it.
#[derive(Debug)]
pub(crate) struct Published {
    pub event: Event,
    /// The event's sequence number (0 only if the log failed to number it, which it never
    /// does for a stored event).
    pub seq: u64,
    /// The stream's `{"type":"event",…}` frame for it; `None` only if it could not be
    /// encoded (then stream clients read it from the log, as for a gap).
    pub frame: Option<Utf8Bytes>,
}

/// One request to append events.
#[derive(Debug)]
pub(crate) struct Job {
    pub events: Vec<NewEvent>,
    pub reply: oneshot::Sender<Result<Vec<Appended>, LogError>>,
}

/// The writer's inbox.
#[derive(Debug, Clone)]
pub(crate) struct Appender {
    jobs: mpsc::Sender<Job>,
}

impl Appender {
    pub(crate) fn new(jobs: mpsc::Sender<Job>) -> Appender {
        Appender { jobs }
    }

    /// Appends events, in order, and waits until they are durable and published.
    pub(crate) async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<Appended>, LogError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { events, reply }).await.map_err(|_| LogError::new("append", "the hub is shutting down"))?;
        answer.await.map_err(|_| LogError::new("append", "the hub is shutting down"))?
    }
}

/// Runs the writer until every [`Appender`] is dropped.
pub(crate) async fn run(shared: Arc<Shared>, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        let mut count = batch[0].events.len();
        while count < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => {
                    count += job.events.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let sizes: Vec<usize> = batch.iter().map(|job| job.events.len()).collect();
        let mut replies = Vec::with_capacity(batch.len());
        let mut events = Vec::with_capacity(count);
        for job in batch {
            events.extend(job.events);
            replies.push(job.reply);
        }
        match shared.log.append(events).await {
            Ok(results) => {
                publish(&shared, &results);
                let mut results = results.into_iter();
                for (reply, size) in replies.into_iter().zip(sizes) {
                    let _ = reply.send(Ok(results.by_ref().take(size).collect()));
                }
            }
            Err(error) => {
                tracing::error!(%error, events = count, "cannot append to the event log");
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Folds stored events into the board and sends them, rendered once, to live stream
/// clients.
fn publish(shared: &Shared, results: &[Appended]) {
    let stored: Vec<&Event> = results
        .iter()
        .filter_map(|result| match result {
            Appended::Stored(event) => Some(event.as_ref()),
            Appended::Duplicate => None,
        })
        .collect();
    if stored.is_empty() {
        return;
    }
    {
        let mut board = shared.board.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        for event in &stored {
            board.apply(event);
        }
    }
    for event in stored {
        let seq = event.seq.map_or(0, |seq| seq.0);
        if seq > 0 {
            shared.last_seq.store(seq, Ordering::Release);
        }
        shared.metrics.events_appended.fetch_add(1, Ordering::Relaxed);
        let frame = stream::event_frame(event)
            .map_err(|error| tracing::error!(%error, seq, "cannot render an event for the stream"))
            .ok();
        // No receiver is fine: nobody is streaming.
        let _ = shared.live.send(Arc::new(Published { event: event.clone(), seq, frame }));
    }
}
