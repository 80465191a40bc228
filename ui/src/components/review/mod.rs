//! The review screen: the history of cached calls with search
//! ([`history::History`]), and one call's review ([`call::CallReviewView`]) — recording,
//! transcript in sync, timeline, notes, tags, QA score and export. Everything reads the
//! local cache, so it works with the hub unreachable.
//!
//! The screen stays mounted while it switches between the two, so it can hand a search
//! hit's sentence time to the call it opens. Pure logic (sync, offsets, scales, snippets)
//! is in [`model`], tested natively.

mod call;
mod history;
mod media;
mod model;

use domain::ids::TaskId;
use yew::prelude::*;

use super::app::AppContext;
use crate::state::{Action, Screen};

#[derive(Properties, PartialEq)]
pub struct ReviewScreenProps {
    pub task: Option<TaskId>,
}

#[function_component]
pub fn ReviewScreen(props: &ReviewScreenProps) -> Html {
    let state = use_context::<AppContext>();
    // Where to put the playhead in the call opened next (a search hit's sentence).
    let focus = use_state(|| None::<u64>);
    let Some(state) = state else { return Html::default() };
    let on_open = {
        let (dispatcher, focus) = (state.dispatcher(), focus.clone());
        Callback::from(move |(task, at): (TaskId, Option<u64>)| {
            focus.set(at);
            dispatcher.dispatch(Action::Navigate(Screen::Review(Some(task))));
        })
    };
    let on_back = {
        let dispatcher = state.dispatcher();
        Callback::from(move |()| dispatcher.dispatch(Action::Navigate(Screen::Review(None))))
    };
    match &props.task {
        None => html! { <history::History {on_open} /> },
        Some(task) => html! {
            <call::CallReviewView key={task.to_string()} task={task.clone()} focus_ms={*focus} {on_back} />
        },
    }
}
