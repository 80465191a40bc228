//! The live wall. Until the engine delivers calls, it explains honestly why it is empty.

use domain::api::ConnectionStatus;
use yew::prelude::*;

use super::app::AppContext;
use crate::i18n::strings;

#[function_component]
pub fn Wall() -> Html {
    let Some(state) = use_context::<AppContext>() else { return Html::default() };
    let text = strings(state.language);
    let explanation = match state.info.as_ref().map(|info| &info.connection) {
        None => text.loading,
        Some(ConnectionStatus::NotConfigured | ConnectionStatus::Offline { .. }) => text.wall_empty_not_connected,
        Some(ConnectionStatus::Live | ConnectionStatus::CatchingUp { .. }) => text.wall_empty_connected,
    };
    html! {
        <section class="wall" aria-labelledby="wall-title">
            <h2 id="wall-title" class="section-title">{ text.wall_title }</h2>
            <div class="empty" id="wall-empty">
                <div class="empty-icon" aria-hidden="true"></div>
                <h3 id="wall-empty-title">{ text.wall_empty_title }</h3>
                <p>{ explanation }</p>
            </div>
        </section>
    }
}
