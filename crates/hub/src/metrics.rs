//! Counters and gauges, rendered as Prometheus text at `/metrics`.
//!
//! `switchboard_hub_callbacks_total{outcome}` counts accepted, duplicate and ignored
//! callbacks; `switchboard_hub_callbacks_rejected_total{reason}` the refused ones by
//! reason; `switchboard_hub_events_per_second` is the append rate over the last 10 s;
//! stream clients and each client's lag (events behind the log) are gauges, and so are the
//! robot requests of taken-over calls waiting for a supervisor's words right now
//! (`switchboard_hub_gateway_waiting_for_human`).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The hub's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    pub callbacks_accepted: AtomicU64,
    pub callbacks_duplicate: AtomicU64,
    pub callbacks_ignored: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    pub events_appended: AtomicU64,
    pub commands: AtomicU64,
    pub gateway_requests: AtomicU64,
    /// Robot requests of taken-over calls waiting for a supervisor's reply now.
    pub gateway_waiting: AtomicU64,
    /// Stream clients: id → (user, events behind).
    clients: Mutex<BTreeMap<u64, (String, u64)>>,
    next_client: AtomicU64,
    /// (when, events appended so far), one sample a second, the last 11.
    samples: Mutex<VecDeque<(Instant, u64)>>,
}

use crate::unpoisoned as lock;

impl Metrics {
    /// Counts a refused callback.
    pub fn reject(&self, reason: &'static str) {
        *lock(&self.rejected).entry(reason).or_default() += 1;
    }

    /// Refused callbacks so far, by reason.
    pub fn rejected(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.rejected).clone()
    }

    /// Registers a stream client; the id is for [`Metrics::client_lag`] and
    /// [`Metrics::client_gone`].
    pub fn client_joined(&self, user: &str) -> u64 {
        let id = self.next_client.fetch_add(1, Ordering::Relaxed);
        lock(&self.clients).insert(id, (user.to_owned(), 0));
        id
    }

    pub fn client_lag(&self, id: u64, behind: u64) {
        if let Some(client) = lock(&self.clients).get_mut(&id) {
            client.1 = behind;
        }
    }

    pub fn client_gone(&self, id: u64) {
        lock(&self.clients).remove(&id);
    }

    pub fn stream_clients(&self) -> usize {
        lock(&self.clients).len()
    }

    /// Takes a sample for the events/s gauge (called once a second).
    pub fn sample(&self) {
        let mut samples = lock(&self.samples);
        samples.push_back((Instant::now(), self.events_appended.load(Ordering::Relaxed)));
        while samples.len() > 11 {
            samples.pop_front();
        }
    }

    /// Events appended per second over the sampled window.
    pub fn events_per_second(&self) -> f64 {
        let samples = lock(&self.samples);
        match (samples.front(), samples.back()) {
            (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => (n1 - n0) as f64 / t1.duration_since(*t0).as_secs_f64(),
            _ => 0.0,
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, last_seq: u64) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP switchboard_hub_callbacks_total Callbacks that passed verification.");
        let _ = writeln!(out, "# TYPE switchboard_hub_callbacks_total counter");
        for (outcome, counter) in [
            ("accepted", &self.callbacks_accepted),
            ("duplicate", &self.callbacks_duplicate),
            ("ignored", &self.callbacks_ignored),
        ] {
            let _ = writeln!(
                out,
                "switchboard_hub_callbacks_total{{outcome=\"{outcome}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP switchboard_hub_callbacks_rejected_total Callbacks refused, by reason.");
        let _ = writeln!(out, "# TYPE switchboard_hub_callbacks_rejected_total counter");
        for (reason, count) in self.rejected() {
            let _ = writeln!(out, "switchboard_hub_callbacks_rejected_total{{reason=\"{reason}\"}} {count}");
        }
        let _ = writeln!(out, "# HELP switchboard_hub_events_total Events appended to the log.");
        let _ = writeln!(out, "# TYPE switchboard_hub_events_total counter");
        let _ = writeln!(out, "switchboard_hub_events_total {}", self.events_appended.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP switchboard_hub_events_per_second Events appended per second, last 10 s.");
        let _ = writeln!(out, "# TYPE switchboard_hub_events_per_second gauge");
        let _ = writeln!(out, "switchboard_hub_events_per_second {:.1}", self.events_per_second());
        let _ = writeln!(out, "# HELP switchboard_hub_last_seq The log's last sequence number.");
        let _ = writeln!(out, "# TYPE switchboard_hub_last_seq gauge");
        let _ = writeln!(out, "switchboard_hub_last_seq {last_seq}");
        let _ = writeln!(out, "# HELP switchboard_hub_commands_total Supervisor commands received.");
        let _ = writeln!(out, "# TYPE switchboard_hub_commands_total counter");
        let _ = writeln!(out, "switchboard_hub_commands_total {}", self.commands.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP switchboard_hub_gateway_requests_total LLM requests through the gateway.");
        let _ = writeln!(out, "# TYPE switchboard_hub_gateway_requests_total counter");
        let _ =
            writeln!(out, "switchboard_hub_gateway_requests_total {}", self.gateway_requests.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "# HELP switchboard_hub_gateway_waiting_for_human Robot requests waiting for a supervisor's reply."
        );
        let _ = writeln!(out, "# TYPE switchboard_hub_gateway_waiting_for_human gauge");
        let _ =
            writeln!(out, "switchboard_hub_gateway_waiting_for_human {}", self.gateway_waiting.load(Ordering::Relaxed));
        let clients = lock(&self.clients).clone();
        let _ = writeln!(out, "# HELP switchboard_hub_stream_clients Connected stream clients.");
        let _ = writeln!(out, "# TYPE switchboard_hub_stream_clients gauge");
        let _ = writeln!(out, "switchboard_hub_stream_clients {}", clients.len());
        let _ = writeln!(out, "# HELP switchboard_hub_stream_client_lag_events Events a client is behind the log.");
        let _ = writeln!(out, "# TYPE switchboard_hub_stream_client_lag_events gauge");
        for (id, (user, behind)) in clients {
            let user = user.replace(['\\', '"', '\n'], "_");
            let _ =
                writeln!(out, "switchboard_hub_stream_client_lag_events{{client=\"{id}\",user=\"{user}\"}} {behind}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_every_family_and_counts_rejections_by_reason() {
        let metrics = Metrics::default();
        metrics.reject("bad_sign");
        metrics.reject("bad_sign");
        metrics.reject("stale_callback_ts");
        metrics.callbacks_accepted.fetch_add(3, Ordering::Relaxed);
        let client = metrics.client_joined("li\"na");
        metrics.client_lag(client, 7);
        let text = metrics.render(42);
        for line in [
            "switchboard_hub_callbacks_total{outcome=\"accepted\"} 3",
            "switchboard_hub_callbacks_rejected_total{reason=\"bad_sign\"} 2",
            "switchboard_hub_callbacks_rejected_total{reason=\"stale_callback_ts\"} 1",
            "switchboard_hub_last_seq 42",
            "switchboard_hub_stream_clients 1",
            "switchboard_hub_gateway_waiting_for_human 0",
            "switchboard_hub_stream_client_lag_events{client=\"0\",user=\"li_na\"} 7",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        metrics.client_gone(client);
        assert!(metrics.render(42).contains("switchboard_hub_stream_clients 0"));
    }
}
