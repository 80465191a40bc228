//! The alerts screen (skeleton: replaced by the fired alerts and the rule editor).

use yew::prelude::*;

use super::app::AppContext;
use crate::i18n::strings;

#[function_component]
pub fn AlertsScreen() -> Html {
    let Some(state) = use_context::<AppContext>() else { return Html::default() };
    let text = strings(state.language);
    html! {
        <section class="screen" aria-labelledby="alerts-title">
            <h2 id="alerts-title" class="section-title">{ text.nav_alerts }</h2>
        </section>
    }
}
