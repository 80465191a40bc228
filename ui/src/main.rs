//! Switchboard's user interface: a Yew app compiled to wasm32 and served by the Tauri shell.
//!
//! What lives here: components (props in, HTML out), one reducer for the app's state
//! ([`state`]), the effects as hooks ([`hooks`]), the typed bridge to the shell ([`ipc`]),
//! the live feed's snapshot-then-updates merge ([`live`]), the wall's view model
//! ([`wall_view`]) and every user-visible string in both languages ([`i18n`]). The last
//! four are plain Rust, tested natively with `cargo test -p ui`.
//!
//! What deliberately does not: business rules. The UI talks to the shell only through
//! `domain::api` and folds events with `domain`'s fold (`Board::apply`, health, robot
//! state) — it never re-implements the backend's state rules.

mod components;
mod hooks;
mod i18n;
mod ipc;
mod live;
mod perf;
mod state;
#[cfg(test)]
mod testkit;
mod wall_view;

fn main() {
    yew::Renderer::<components::App>::new().render();
}
