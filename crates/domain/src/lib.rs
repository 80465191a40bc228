//! Switchboard's shared vocabulary, pure and wasm-clean.
//!
//! What lives here: the IPC contract between the console's webview and its shell
//! ([`api`]), and the event model for AI voice calls on TRTC: identifiers ([`ids`]),
//! TRTC's wire formats ([`wire`]), the one typed [`event::Event`] they are normalised into
//! ([`event`]), the per-call fold with its health ([`call`]) and the board over many
//! calls and rooms ([`board`]). The fold is the only code that turns events into the live
//! view; the hub, the engine and the UI all call it.
//!
//! What deliberately does not: I/O of any kind (no sqlx, reqwest, tokio, tauri), crypto
//! (callback signatures and UserSig live in the `trtc` crate), clocks (callers pass
//! "now" in explicitly), and anything that would stop this crate from building for
//! `wasm32-unknown-unknown` — that build is part of the test command.

pub mod alert;
pub mod api;
pub mod board;
pub mod call;
pub mod event;
pub mod ids;
pub mod wire;

#[cfg(test)]
mod testkit;
