//! The live wall: a summary bar and one tile per live call, worst health first; with no
//! live calls, an empty state that explains why by the connection's status.

use domain::api::ConnectionStatus;
use domain::call::HealthPolicy;
use yew::prelude::*;

use super::app::AppContext;
use super::header::status_key;
use super::tile::Tile;
use crate::i18n::strings;
use crate::state::{Action, Screen};
use crate::wall_view::{Summary, WallView};

#[function_component]
pub fn Wall() -> Html {
    let Some(state) = use_context::<AppContext>() else { return Html::default() };
    let text = strings(state.language);
    // Rebuilt when the board changes, a second passes or the language changes — not when
    // a banner or the footer does.
    let view = {
        let live = state.live.clone();
        use_memo((state.live.revision(), state.now, state.language), move |(_, now, language)| {
            live.read().map(|feed| WallView::build(feed.board(), &HealthPolicy::default(), *now, strings(*language)))
        })
    };
    let on_open = use_callback(state.dispatcher(), |task: String, dispatcher| {
        dispatcher.dispatch(Action::Navigate(Screen::Call(domain::ids::TaskId::new(task))));
    });
    let connection = state.connection();
    let title = html! { <h2 id="wall-title" class="section-title">{ text.wall_title }</h2> };

    let Some(view) = view.as_ref().as_ref().filter(|view| !view.tiles.is_empty()) else {
        let waiting = state.live.read().is_some_and(|feed| !feed.has_snapshot()) && state.live_error.is_none();
        let explanation = match &connection {
            None => text.loading,
            Some(_) if waiting => text.loading,
            Some(ConnectionStatus::NotConfigured | ConnectionStatus::Offline { .. }) => text.wall_empty_not_connected,
            Some(ConnectionStatus::Connecting) => text.wall_empty_connecting,
            Some(ConnectionStatus::Live | ConnectionStatus::CatchingUp { .. }) => text.wall_empty_connected,
        };
        return html! {
            <section class="wall" aria-labelledby="wall-title">
                { title }
                <div class="empty" id="wall-empty">
                    <div class="empty-icon" aria-hidden="true"></div>
                    <h3 id="wall-empty-title">{ text.wall_empty_title }</h3>
                    <p>{ explanation }</p>
                </div>
            </section>
        };
    };

    html! {
        <section class="wall" aria-labelledby="wall-title">
            { title }
            <SummaryBar summary={view.summary.clone()} connection={connection} language={state.language} />
            <ul class="tiles" id="wall-tiles">
                { for view.tiles.iter().map(|tile| html! {
                    <Tile key={tile.task.clone()} tile={tile.clone()} language={state.language} on_open={on_open.clone()} />
                }) }
            </ul>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct SummaryBarProps {
    summary: Summary,
    connection: Option<ConnectionStatus>,
    language: domain::api::Language,
}

#[function_component]
fn SummaryBar(props: &SummaryBarProps) -> Html {
    let text = strings(props.language);
    let summary = &props.summary;
    html! {
        <div class="summary" id="wall-summary">
            <div class="summary-total">
                <strong id="summary-live">{ summary.live }</strong>
                <span>{ text.summary_live_calls }</span>
            </div>
            if summary.failing > 0 {
                <div class="summary-health health-failing" id="summary-failing">
                    <strong>{ summary.failing }</strong><span>{ text.summary_failing }</span>
                </div>
            }
            if summary.degraded > 0 {
                <div class="summary-health health-degraded" id="summary-degraded">
                    <strong>{ summary.degraded }</strong><span>{ text.summary_degraded }</span>
                </div>
            }
            <div class="summary-states" role="group" aria-label={text.summary_robot_states}>
                { for summary.by_activity.iter().map(|count| html! {
                    <span class={classes!("badge", format!("badge-{}", count.key))}>
                        <span class="badge-dot" aria-hidden="true"></span>
                        { count.label }
                        <strong class="badge-count">{ count.count }</strong>
                    </span>
                }) }
            </div>
            if let Some(status) = &props.connection {
                <div class={classes!("summary-connection", format!("conn-{}", status_key(status)))}
                     id="summary-connection" title={text.connection_label}>
                    <span class="status-dot" aria-hidden="true"></span>
                    { text.connection(status) }
                </div>
            }
        </div>
    }
}
