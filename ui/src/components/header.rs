//! The header: product name, the screens' navigation, connection status and the
//! language switch.

use domain::api::{ConnectionStatus, Language};
use yew::prelude::*;

use super::app::AppContext;
use crate::i18n::strings;
use crate::state::{Action, Screen};

#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    pub on_language: Callback<Language>,
}

#[function_component]
pub fn Header(props: &HeaderProps) -> Html {
    let state = use_context::<AppContext>();
    let Some(state) = state else { return Html::default() };
    let text = strings(state.language);
    let (badge_class, badge_text) = match state.connection() {
        None => ("status status-unknown".to_owned(), text.loading.to_owned()),
        Some(status) => (format!("status status-{}", status_key(&status)), text.connection(&status)),
    };
    html! {
        <header class="header">
            <div class="brand">
                <img class="brand-mark" src="icon.png" alt="" />
                <div>
                    <h1 id="app-title">{ text.app_name }</h1>
                    <div class="tagline">{ text.tagline }</div>
                </div>
            </div>
            <Nav />
            <div class="header-right">
                <span class={badge_class} id="connection-status" title={text.connection_label}
                      aria-label={format!("{}: {}", text.connection_label, badge_text)}>
                    <span class="status-dot" aria-hidden="true"></span>
                    { badge_text }
                </span>
                <div class="lang-switch" role="group" aria-label={text.language_switch_label}>
                    { for Language::ALL.into_iter().map(|language| {
                        let on_language = props.on_language.clone();
                        let active = language == state.language;
                        html! {
                            <button id={format!("lang-{}", language.tag())} lang={language.tag()}
                                    class={classes!("lang-button", active.then_some("active"))}
                                    aria-pressed={active.to_string()}
                                    disabled={state.saving_language}
                                    onclick={Callback::from(move |_| on_language.emit(language))}>
                                { language.native_name() }
                            </button>
                        }
                    }) }
                </div>
            </div>
        </header>
    }
}

/// A stable class-name suffix for a connection status (the summary bar uses it too).
pub fn status_key(status: &ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::NotConfigured => "idle",
        ConnectionStatus::Live => "live",
        ConnectionStatus::CatchingUp { .. } => "warn",
        ConnectionStatus::Connecting => "connecting",
        ConnectionStatus::Offline { .. } => "bad",
    }
}

/// The four top-level screens. A call's own screen belongs to the wall (it is opened from
/// a tile), a call's review to the review screen.
#[function_component]
fn Nav() -> Html {
    let Some(state) = use_context::<AppContext>() else { return Html::default() };
    let text = strings(state.language);
    let current = match &state.screen {
        Screen::Wall | Screen::Call(_) => "wall",
        Screen::Review(_) => "review",
        Screen::Alerts => "alerts",
        Screen::Settings => "settings",
    };
    let entries = [
        ("wall", text.nav_wall, Screen::Wall),
        ("review", text.nav_review, Screen::Review(None)),
        ("alerts", text.nav_alerts, Screen::Alerts),
        ("settings", text.nav_settings, Screen::Settings),
    ];
    html! {
        <nav class="nav" aria-label={text.nav_label}>
            { for entries.into_iter().map(|(key, label, screen)| {
                let active = key == current;
                let dispatcher = state.dispatcher();
                html! {
                    <button id={format!("nav-{key}")} class={classes!("nav-button", active.then_some("active"))}
                            aria-current={active.then_some("page")}
                            onclick={Callback::from(move |_| dispatcher.dispatch(Action::Navigate(screen.clone())))}>
                        { label }
                        { if key == "alerts" { html! { <super::alerts::NavBadge /> } } else { html! {} } }
                    </button>
                }
            }) }
        </nav>
    }
}
