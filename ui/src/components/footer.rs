//! The footer: what the shell reported about itself — version, data directory, language,
//! and the hub the console is linked to (the built-in demo, or its URL).

use yew::prelude::*;

use super::app::AppContext;
use crate::i18n::{fill, strings};

#[function_component]
pub fn Footer() -> Html {
    let Some(state) = use_context::<AppContext>() else { return Html::default() };
    let text = strings(state.language);
    let Some(info) = &state.info else {
        return html! { <footer class="footer">{ text.loading }</footer> };
    };
    // The path goes in its own <code>, placed where the template's {path} is.
    let (before_path, after_path) = text.data_dir.split_once("{path}").unwrap_or((text.data_dir, ""));
    let language_source = if info.language_saved { text.language_saved } else { text.language_from_os };
    let hub = info.hub.as_ref().map(|hub| {
        html! {
            <span class="footer-item">
                <span class="sep" aria-hidden="true">{ "·" }</span>
                <span id="hub" class="footer-hub">
                    { text.hub_label }
                    if hub.demo {
                        <span class="demo-badge" id="hub-demo" title={hub.url.clone()}>{ text.hub_demo }</span>
                    } else {
                        <code id="hub-url">{ &hub.url }</code>
                    }
                </span>
            </span>
        }
    });
    // Each separator travels with the item after it, so a wrapped line never ends in one.
    html! {
        <footer class="footer">
            <span id="app-version">{ fill(text.version, &[("version", &info.version)]) }</span>
            <span class="footer-item">
                <span class="sep" aria-hidden="true">{ "·" }</span>
                <span>{ before_path }<code id="data-dir">{ &info.data_dir }</code>{ after_path }</span>
            </span>
            <span class="footer-item">
                <span class="sep" aria-hidden="true">{ "·" }</span>
                <span id="language-source">
                    { fill(text.language_with_source, &[("language", info.language.native_name()), ("source", language_source)]) }
                </span>
            </span>
            { for hub }
        </footer>
    }
}
