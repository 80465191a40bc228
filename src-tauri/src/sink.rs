//! [`TauriSink`]: the engine's [`engine::UiSink`] on Tauri — live updates become the one
//! event [`LIVE_UPDATE_EVENT`], alerts become OS notifications through
//! tauri-plugin-notification (D-Bus on Linux, the notification centre elsewhere).
//!
//! Failures are logged and dropped: a webview that is not listening, or a desktop without
//! a notification daemon, must never stop the console from storing events. Showing a
//! notification is a blocking D-Bus round trip on Linux (a slow or absent daemon made each
//! take ~240 ms and stalled the link on an alert storm), so it runs on a blocking thread.

use domain::api::{LiveUpdate, LIVE_UPDATE_EVENT};
use tauri::{AppHandle, Emitter};
use tauri_plugin_notification::NotificationExt;

/// Sends the engine's updates to the main window and the desktop.
#[derive(Debug)]
pub struct TauriSink {
    app: AppHandle,
}

impl TauriSink {
    pub fn new(app: AppHandle) -> TauriSink {
        TauriSink { app }
    }
}

impl engine::UiSink for TauriSink {
    fn live(&self, update: LiveUpdate) {
        if let Err(error) = self.app.emit(LIVE_UPDATE_EVENT, &update) {
            tracing::warn!(%error, "cannot send a live update to the window");
        }
    }

    fn notify(&self, title: &str, body: &str) {
        let (app, title, body) = (self.app.clone(), title.to_owned(), body.to_owned());
        tauri::async_runtime::spawn_blocking(move || {
            if let Err(error) = app.notification().builder().title(title).body(body).show() {
                tracing::warn!(%error, "cannot show a notification");
            }
        });
    }
}
