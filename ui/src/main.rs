//! Switchboard's user interface: a Yew app compiled to wasm32 and served by the Tauri shell.
//!
//! What lives here: components (props in, HTML out), one reducer for the app's state
//! ([`state`]), the typed bridge to the shell ([`ipc`]) and every user-visible string in
//! both languages ([`i18n`]).
//!
//! What deliberately does not: business rules. The UI talks to the shell only through
//! `domain::api` and, as calls arrive, folds events with `domain`'s fold — it never
//! re-implements the backend's state rules.

mod components;
mod i18n;
mod ipc;
mod state;

fn main() {
    yew::Renderer::<components::App>::new().render();
}
