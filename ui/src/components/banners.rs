//! The banners under the header: a failed command, a live link that is not working, and
//! the notices the shell raised — each closable.

use domain::api::Notice;
use yew::prelude::*;

use super::app::AppContext;
use crate::i18n::{fill, strings};
use crate::state::Action;

#[function_component]
pub fn Banners() -> Html {
    let Some(state) = use_context::<AppContext>() else { return Html::default() };
    let text = strings(state.language);
    let dismiss_error = {
        let dispatcher = state.dispatcher();
        Callback::from(move |_| dispatcher.dispatch(Action::ErrorDismissed))
    };
    let errors = [state.error.as_ref(), state.live_error.as_ref()];
    html! {
        <div class="banners">
            { for errors.into_iter().flatten().enumerate().map(|(index, error)| html! {
                <div class="banner banner-error" role="alert" id={(index == 0).then_some("error-banner")}>
                    <span class="banner-text">{ fill(text.error_banner, &[("message", &error.message)]) }</span>
                    <button class="banner-close" title={text.dismiss} aria-label={text.dismiss}
                            onclick={dismiss_error.clone()}>{ "×" }</button>
                </div>
            }) }
            { for state.banners.iter().map(|banner| {
                let dispatcher = state.dispatcher();
                let id = banner.id;
                let kind = match banner.notice {
                    Notice::CacheWriteRecovered => "banner-ok",
                    Notice::CacheWriteFailing { .. } | Notice::LinkFailed { .. } => "banner-warn",
                    Notice::SettingsMovedAside { .. } | Notice::CacheMovedAside { .. } => "banner-info",
                };
                html! {
                    <div key={id} class={classes!("banner", "banner-notice", kind)} role="status">
                        <span class="banner-text">{ text.notice(&banner.notice) }</span>
                        <button class="banner-close" title={text.dismiss} aria-label={text.dismiss}
                                onclick={Callback::from(move |_| dispatcher.dispatch(Action::NoticeDismissed(id)))}>
                            { "×" }
                        </button>
                    </div>
                }
            }) }
        </div>
    }
}
