//! The header: product name, connection status and the language switch.

use domain::api::{ConnectionStatus, Language};
use yew::prelude::*;

use super::app::AppContext;
use crate::i18n::strings;

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
