//! The Switchboard console's engine, free of Tauri.
//!
//! What lives here: the use cases behind the app's commands, each reachable from the
//! shell through one method of [`Console`], and the console's long-running [`link`]:
//! the [`hub_client`] feeding the SQLite [`cache`], the [`live`] board, alerts (rules in
//! `domain::alert`) and the UI; the built-in [`demo`]; [`recordings`] downloads; call
//! [`export`]; the [`token_store`] and [`settings`].
//!
//! What deliberately does not: anything from `tauri` (the shell in `src-tauri` adapts this
//! crate to IPC), and UI state (the webview folds events itself with `domain`'s fold).

pub mod cache;
pub mod console;
pub mod demo;
pub mod export;
pub mod hub_client;
pub mod link;
pub mod live;
pub mod recordings;
mod review;
pub mod settings;
pub mod token_store;

pub use console::{Console, ConsoleError, OpenError};
pub use link::UiSink;
