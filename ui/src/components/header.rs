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
    let connection = state.info.as_ref().map(|info| &info.connection);
    let (badge_class, badge_text) = match connection {
        None => ("status status-unknown", text.loading.to_owned()),
        Some(status @ ConnectionStatus::NotConfigured) => ("status status-idle", text.connection(status)),
        Some(status @ ConnectionStatus::Live) => ("status status-live", text.connection(status)),
        Some(status @ ConnectionStatus::CatchingUp { .. }) => ("status status-warn", text.connection(status)),
        Some(status @ ConnectionStatus::Offline { .. }) => ("status status-bad", text.connection(status)),
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
