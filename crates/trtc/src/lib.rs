//! Tencent Cloud TRTC as Switchboard needs it, written against `shared/trtc-contract.md`.
//!
//! What lives here:
//! - [`tc3`]: TC3-HMAC-SHA256 request signing and verification (Cloud API v3);
//! - [`credentials`]: SecretId/SecretKey from the environment or config, never printed;
//! - [`model`]: typed requests and responses of the AI conversation and cloud recording
//!   actions, with the JSON-string configs (LLMConfig, TTSConfig) as typed structs;
//! - [`error`]: the Cloud API error envelope as typed errors;
//! - [`client`]: the async client (region host or any base URL, timeouts, safe retries);
//! - [`callback`]: the `Sign` header of server callbacks (HMAC-SHA256, constant-time check)
//!   and parsing into `domain`'s typed callbacks;
//! - [`usersig`]: TLSSigAPIv2 UserSig generation and verification.
//!
//! What deliberately does not: the event model (callbacks are normalised into events by
//! `domain`), and any server (the emulator and the hub use this crate).

pub mod callback;
pub mod client;
pub mod credentials;
pub mod error;
pub mod model;
pub mod tc3;
pub mod usersig;
