//! [`App`]: owns the reducer and the effects (app info, the live link, the clock) and lays
//! out the screen.

use domain::api::{GetAppInfo, Language, NoArgs, SetLanguage, SetLanguageRequest};
use yew::prelude::*;

use super::{
    alerts::AlertsScreen, banners::Banners, call::CallScreen, footer::Footer, header::Header, review::ReviewScreen,
    settings::SettingsScreen, wall::Wall,
};
use crate::{
    hooks::{now, use_clock, use_live_link},
    ipc::invoke,
    state::{Action, AppState, Screen},
};

/// The state handle every component reads through context.
pub type AppContext = UseReducerHandle<AppState>;

#[function_component]
pub fn App() -> Html {
    let state = use_reducer(|| AppState::new(browser_language(), now()));

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
    use_live_link(state.dispatcher());
    use_clock(state.dispatcher());

    // Keep <html lang> in step: WebKit picks CJK glyph shapes (SC vs JP) from it.
    use_effect_with(state.language, |language| {
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", language.tag());
        }
    });

    let on_language = {
        let dispatcher = state.dispatcher();
        Callback::from(move |language: Language| {
            dispatcher.dispatch(Action::LanguageChosen(language));
            let dispatcher = dispatcher.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match invoke::<SetLanguage>(&SetLanguageRequest { language }).await {
                    Ok(info) => dispatcher.dispatch(Action::InfoLoaded(info)),
                    Err(err) => dispatcher.dispatch(Action::Failed(err)),
                }
            });
        })
    };

    html! {
        <ContextProvider<AppContext> context={state.clone()}>
            <div class="app">
                <Header {on_language} />
                <Banners />
                <main class="content">
                    { match &state.screen {
                        Screen::Wall => html! { <Wall /> },
                        Screen::Call(task) => html! { <CallScreen task={task.clone()} /> },
                        Screen::Review(task) => html! { <ReviewScreen task={task.clone()} /> },
                        Screen::Alerts => html! { <AlertsScreen /> },
                        Screen::Settings => html! { <SettingsScreen /> },
                    } }
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
