//! `trtc-emulator`: a local stand-in for Tencent Cloud's TRTC AI conversation, faithful
//! enough that the official SDKs run against it unchanged (trtc-contract.md is the spec).
//!
//! What lives here today: the Cloud API v3 ([`cloud_api`]) — TC3 signature checks, the
//! documented envelopes and error codes, per-action rate limits, and the task lifecycle of
//! the nine AI conversation and cloud recording actions.
//!
//! Not yet here (the rest of the emulator issue): the conversation engine that plays
//! calls, signed callbacks to a configured URL, the room link WebSocket, recording files,
//! and the traffic generator. A started task therefore only changes status.

pub mod callbacks;
pub mod cloud_api;
pub mod outputs;
mod rate_limit;
pub mod tasks;

use std::{net::SocketAddr, sync::Arc};

use tokio::net::TcpListener;

pub use cloud_api::{Cloud, CloudConfig};

/// A running emulator on a loopback (or any) address.
#[derive(Debug)]
pub struct Running {
    /// `http://ADDR`, what clients use as their endpoint.
    pub base_url: String,
    pub addr: SocketAddr,
    pub cloud: Arc<Cloud>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops serving.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Binds `listen` (port 0 picks a free port) and serves the emulator in the background.
///
/// # Errors
/// When the address cannot be bound.
pub async fn start(config: CloudConfig, listen: SocketAddr) -> std::io::Result<Running> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let cloud = Cloud::new(config);
    let app = cloud_api::router(cloud.clone());
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(error = %err, "the emulator's server stopped");
        }
    });
    Ok(Running { base_url: format!("http://{addr}"), addr, cloud, task })
}
