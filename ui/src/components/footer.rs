//! The footer: what the shell reported about itself (the IPC round trip, visible).

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
    let language_source = if info.language_saved { text.language_saved } else { text.language_from_os };
    html! {
        <footer class="footer">
            <span id="app-version">{ fill(text.version, &[("version", &info.version)]) }</span>
            <span class="sep" aria-hidden="true">{ "·" }</span>
            <span>{ text.data_dir }{ ": " }<code id="data-dir">{ &info.data_dir }</code></span>
            <span class="sep" aria-hidden="true">{ "·" }</span>
            <span id="language-source">{ info.language.native_name() }{ " (" }{ language_source }{ ")" }</span>
        </footer>
    }
}
