//! One call's screen (skeleton: replaced by the call view — turn strip, subtitles, actions).

use domain::ids::TaskId;
use yew::prelude::*;

use super::app::AppContext;
use crate::i18n::strings;
use crate::state::{Action, Screen};

#[derive(Properties, PartialEq)]
pub struct CallScreenProps {
    pub task: TaskId,
}

#[function_component]
pub fn CallScreen(props: &CallScreenProps) -> Html {
    let Some(state) = use_context::<AppContext>() else { return Html::default() };
    let text = strings(state.language);
    let dispatcher = state.dispatcher();
    html! {
        <section class="screen" aria-labelledby="call-title">
            <button class="back" id="back" onclick={Callback::from(move |_| dispatcher.dispatch(Action::Navigate(Screen::Wall)))}>
                { text.back }
            </button>
            <h2 id="call-title" class="section-title">{ props.task.as_str() }</h2>
        </section>
    }
}
