//! The Switchboard console's engine, free of Tauri.
//!
//! What lives here: the use cases behind the app's commands, each reachable from the
//! shell through one method of [`Console`]. Today that is the app info and [`settings`]; the hub client,
//! the SQLite cache, alerts and recordings join it as they land.
//!
//! What deliberately does not: anything from `tauri` (the shell in `src-tauri` adapts this
//! crate to IPC), and UI state (the webview folds events itself with `domain`'s fold).

pub mod cache;
pub mod console;
pub mod settings;

pub use console::{Console, OpenError};
