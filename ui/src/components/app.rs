//! [`App`]: owns the reducer, loads the app info once, and lays out the screen.

use domain::api::{GetAppInfo, Language, NoArgs, SetLanguage, SetLanguageRequest};
use yew::prelude::*;

use super::{footer::Footer, header::Header, wall::Wall};
use crate::{
    i18n::{fill, strings},
    ipc::invoke,
    state::{Action, AppState},
};

/// The state handle every component reads through context.
pub type AppContext = UseReducerHandle<AppState>;

#[function_component]
pub fn App() -> Html {
    let state = use_reducer(|| AppState::new(browser_language()));

    {
        let state = state.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match invoke::<GetAppInfo>(&NoArgs {}).await {
                    Ok(info) => state.dispatch(Action::InfoLoaded(info)),
                    Err(err) => state.dispatch(Action::Failed(err)),
                }
            });
        });
    }

    // Keep <html lang> in step: WebKit picks CJK glyph shapes (SC vs JP) from it.
    use_effect_with(state.language, |language| {
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", language.tag());
        }
    });

    let on_language = {
        let state = state.clone();
        Callback::from(move |language: Language| {
            state.dispatch(Action::LanguageChosen(language));
            let state = state.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match invoke::<SetLanguage>(&SetLanguageRequest { language }).await {
                    Ok(info) => state.dispatch(Action::InfoLoaded(info)),
                    Err(err) => state.dispatch(Action::Failed(err)),
                }
            });
        })
    };

    let text = strings(state.language);
    let notices = state.info.as_ref().map(|info| info.notices.clone()).unwrap_or_default();
    html! {
        <ContextProvider<AppContext> context={state.clone()}>
            <div class="app">
                <Header {on_language} />
                if let Some(error) = &state.error {
                    <div class="banner banner-error" role="alert" id="error-banner">
                        { fill(text.error_banner, &[("message", &error.message)]) }
                    </div>
                }
                { for notices.iter().map(|notice| html! {
                    <div class="banner banner-notice" role="status">{ text.notice(notice) }</div>
                }) }
                <main class="content">
                    <Wall />
                </main>
                <Footer />
            </div>
        </ContextProvider<AppContext>>
    }
}

/// The browser's idea of the user's language, used only until the shell answers
/// (the shell knows the OS locale and the saved choice).
fn browser_language() -> Language {
    let tag = web_sys::window().and_then(|w| w.navigator().language());
    Language::from_locale(tag.as_deref())
}
