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
    // The path goes in its own <code>, placed where the template's {path} is.
    let (before_path, after_path) = text.data_dir.split_once("{path}").unwrap_or((text.data_dir, ""));
    let language_source = if info.language_saved { text.language_saved } else { text.language_from_os };
    html! {
        <footer class="footer">
            <span id="app-version">{ fill(text.version, &[("version", &info.version)]) }</span>
            <span class="sep" aria-hidden="true">{ "·" }</span>
            <span>{ before_path }<code id="data-dir">{ &info.data_dir }</code>{ after_path }</span>
            <span class="sep" aria-hidden="true">{ "·" }</span>
            <span id="language-source">
                { fill(text.language_with_source, &[("language", info.language.native_name()), ("source", language_source)]) }
            </span>
        </footer>
    }
}
