//! The review screen (skeleton: replaced by history, search and a call's review).

use domain::ids::TaskId;
use yew::prelude::*;

use super::app::AppContext;
use crate::i18n::strings;

#[derive(Properties, PartialEq)]
pub struct ReviewScreenProps {
    pub task: Option<TaskId>,
}

#[function_component]
pub fn ReviewScreen(props: &ReviewScreenProps) -> Html {
    let Some(state) = use_context::<AppContext>() else { return Html::default() };
    let text = strings(state.language);
    let _ = &props.task;
    html! {
        <section class="screen" aria-labelledby="review-title">
            <h2 id="review-title" class="section-title">{ text.nav_review }</h2>
        </section>
    }
}
