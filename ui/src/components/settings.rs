//! The settings screen (skeleton: replaced by hub connection, token storage, language,
//! alert rules, cache).

use yew::prelude::*;

use super::app::AppContext;
use crate::i18n::strings;

#[function_component]
pub fn SettingsScreen() -> Html {
    let Some(state) = use_context::<AppContext>() else { return Html::default() };
    let text = strings(state.language);
    html! {
        <section class="screen" aria-labelledby="settings-title">
            <h2 id="settings-title" class="section-title">{ text.nav_settings }</h2>
        </section>
    }
}
