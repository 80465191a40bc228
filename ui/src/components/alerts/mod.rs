//! The alerts screen: every fired alert, newest first (the stored list with what came live
//! since), with its rule, call, time and summary in the current language; acknowledge, open
//! the call (live on the wall, else its review), a not-acknowledged / all filter, and the
//! rule editor. Also the nav's count of alerts not acknowledged ([`NavBadge`]).
//!
//! What deliberately does not live here: merging and counting (`model`, tested natively),
//! the rules' form (`settings::rules`).

pub mod model;

use domain::alert::{FiredAlert, RuleId};
use domain::api::{AcknowledgeAlert, AlertEntry, AlertRef, ConnectionStatus, GetAlerts, Language, NoArgs};
use domain::ids::TaskId;
use yew::prelude::*;

use super::app::AppContext;
use super::settings::rules::RulesEditor;
use crate::i18n::alerts::{alerts, AlertsStrings};
use crate::i18n::{fill, strings};
use crate::ipc::invoke;
use crate::state::{Action, AppState, Screen};
use model::{filtered, merge, unacknowledged, Filter};

/// Fetches the stored alerts into the app state.
fn load(state: &UseReducerHandle<AppState>, failed: Option<UseStateHandle<Option<String>>>) {
    let dispatcher = state.dispatcher();
    wasm_bindgen_futures::spawn_local(async move {
        match invoke::<GetAlerts>(&NoArgs {}).await {
            Ok(entries) => {
                if let Some(failed) = &failed {
                    failed.set(None);
                }
                dispatcher.dispatch(Action::AlertsLoaded(entries));
            }
            Err(err) => {
                if let Some(failed) = failed {
                    failed.set(Some(err.message));
                }
            }
        }
    });
}

/// The stored list merged with the live alerts, as the screen and the badge count them.
fn entries(state: &AppState) -> Vec<AlertEntry> {
    let stored = state.alert_list.as_deref().map_or(&[][..], Vec::as_slice);
    merge(stored, &state.alerts)
}

/// The count of alerts not acknowledged, on the nav's Alerts entry; the stored list is
/// fetched whenever the link goes live (the cache is open then).
#[function_component]
pub fn NavBadge() -> Html {
    let state = use_context::<AppContext>();
    let live = state.as_ref().is_some_and(|state| state.connection() == Some(ConnectionStatus::Live));
    {
        let state = state.clone();
        use_effect_with(live, move |live| {
            if let (true, Some(state)) = (*live, state) {
                load(&state, None);
            }
        });
    }
    let Some(state) = state else { return Html::default() };
    let count = unacknowledged(&entries(&state));
    if count == 0 {
        return Html::default();
    }
    let label = fill(strings(state.language).nav_unacknowledged, &[("count", &count.to_string())]);
    html! { <span class="nav-badge" id="nav-alerts-count" title={label.clone()} aria-label={label}>{ count.min(999) }</span> }
}

#[function_component]
pub fn AlertsScreen() -> Html {
    let state = use_context::<AppContext>();
    let failed = use_state(|| None::<String>);
    let filter = use_state(|| Filter::Unacknowledged);
    let acknowledging = use_state(|| None::<(TaskId, RuleId)>);
    let ack_error = use_state(|| None::<String>);
    let show_rules = use_state(|| false);
    {
        let (state, failed) = (state.clone(), failed.clone());
        use_effect_with((), move |_| {
            if let Some(state) = state {
                load(&state, Some(failed));
            }
        });
    }
    let Some(state) = state else { return Html::default() };
    let text = alerts(state.language);
    let all = entries(&state);
    let pending = unacknowledged(&all);
    let shown = filtered(&all, *filter);

    let filter_button = |value: Filter, id: &str, label: &'static str| {
        let active = *filter == value;
        let filter = filter.clone();
        html! {
            <button type="button" id={id.to_owned()} class={classes!("choice-button", active.then_some("active"))}
                    aria-pressed={active.to_string()} onclick={Callback::from(move |_| filter.set(value))}>
                { label }
            </button>
        }
    };
    let body = if state.alert_list.is_none() && state.alerts.is_empty() {
        match &*failed {
            Some(message) => {
                let (state, failed) = (state.clone(), failed.clone());
                html! {
                    <div class="empty" id="alerts-error" role="alert">
                        <h3>{ fill(text.load_failed, &[("message", message)]) }</h3>
                        <button type="button" class="button primary"
                                onclick={Callback::from(move |_| load(&state, Some(failed.clone())))}>{ text.retry }</button>
                    </div>
                }
            }
            None => html! { <p class="card-note" id="alerts-loading">{ text.loading }</p> },
        }
    } else if shown.is_empty() {
        let (title, body) = match *filter {
            Filter::Unacknowledged if !all.is_empty() => (text.empty_unack_title, text.empty_unack_body),
            _ => (text.empty_all_title, text.empty_all_body),
        };
        html! {
            <div class="empty" id="alerts-empty">
                <div class="empty-icon" aria-hidden="true"></div>
                <h3>{ title }</h3>
                <p>{ body }</p>
            </div>
        }
    } else {
        html! {
            <ul class="alert-list" id="alert-list">
                { for shown.into_iter().map(|entry| alert_row(entry, &state, text, &acknowledging, &ack_error)) }
            </ul>
        }
    };
    html! {
        <section class="screen alerts" aria-labelledby="alerts-title">
            <div class="alerts-bar">
                <h2 id="alerts-title" class="section-title">{ text.title }</h2>
                <span class="alerts-count" id="alerts-count">
                    { fill(text.count_unacknowledged, &[("count", &pending.to_string())]) }
                    <span class="sep">{ " · " }</span>
                    { fill(text.count_total, &[("count", &all.len().to_string())]) }
                </span>
                <div class="choice" role="group" aria-label={text.filter_label}>
                    { filter_button(Filter::Unacknowledged, "alerts-filter-unacknowledged", text.filter_unacknowledged) }
                    { filter_button(Filter::All, "alerts-filter-all", text.filter_all) }
                </div>
                <button type="button" id="alerts-rules-toggle" class="button" aria-expanded={show_rules.to_string()}
                        onclick={let show = show_rules.clone(); Callback::from(move |_| show.set(!*show))}>
                    { if *show_rules { text.rules_hide } else { text.rules_show } }
                </button>
            </div>
            { ack_error.as_ref().map(|message| html! {
                <p class="form-outcome bad" role="alert" id="alerts-ack-error">{ fill(text.ack_failed, &[("message", message)]) }</p>
            }).unwrap_or_default() }
            { if *show_rules { html! {
                <section class="settings-card alerts-rules" aria-label={text.rules_show}><RulesEditor /></section>
            } } else { html! {} } }
            { body }
        </section>
    }
}

/// The local clock time of a source time (ms since the epoch), in the UI's language.
fn clock(at_ms: u64, language: Language) -> String {
    // ms since the epoch fit an f64 exactly for the next 280,000 years.
    #[allow(clippy::cast_precision_loss)]
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"medium".into());
    date.to_locale_string(language.tag(), &options).into()
}

fn alert_row(
    entry: &AlertEntry,
    state: &UseReducerHandle<AppState>,
    text: &'static AlertsStrings,
    acknowledging: &UseStateHandle<Option<(TaskId, RuleId)>>,
    ack_error: &UseStateHandle<Option<String>>,
) -> Html {
    let alert: &FiredAlert = &entry.alert;
    let live =
        state.live.read().is_some_and(|feed| feed.board().call(&alert.call).is_some_and(domain::call::Call::is_live));
    let key = (alert.call.clone(), alert.rule.clone());
    let busy = acknowledging.as_ref() == Some(&key);
    let dom_id = format!("alert-{}-{}", alert.call, alert.rule);
    let open = {
        let (dispatcher, call) = (state.dispatcher(), alert.call.clone());
        Callback::from(move |_: MouseEvent| {
            let screen = if live { Screen::Call(call.clone()) } else { Screen::Review(Some(call.clone())) };
            dispatcher.dispatch(Action::Navigate(screen));
        })
    };
    let acknowledge = {
        let (dispatcher, acknowledging, ack_error) = (state.dispatcher(), acknowledging.clone(), ack_error.clone());
        Callback::from(move |_: MouseEvent| {
            let (dispatcher, acknowledging, ack_error, key) =
                (dispatcher.clone(), acknowledging.clone(), ack_error.clone(), key.clone());
            acknowledging.set(Some(key.clone()));
            wasm_bindgen_futures::spawn_local(async move {
                match invoke::<AcknowledgeAlert>(&AlertRef { call: key.0, rule: key.1 }).await {
                    Ok(entries) => {
                        ack_error.set(None);
                        dispatcher.dispatch(Action::AlertsLoaded(entries));
                    }
                    Err(err) => ack_error.set(Some(err.message)),
                }
                acknowledging.set(None);
            });
        })
    };
    html! {
        <li class={classes!("alert-row", entry.acknowledged.then_some("seen"))} id={dom_id.clone()}>
            <div class="alert-main">
                <div class="alert-head">
                    <span class="alert-kind">{ text.kind(alert.kind) }</span>
                    <span class="alert-call">{ fill(text.call_label, &[("call", alert.call.as_str())]) }</span>
                    { if live { html! { <span class="alert-live">{ text.live_badge }</span> } } else { html! {} } }
                </div>
                <p class="alert-summary">{ alert.summary(state.language) }</p>
                <time class="alert-time">{ fill(text.fired_at, &[("time", &clock(alert.at.0, state.language))]) }</time>
            </div>
            <div class="alert-actions">
                { if entry.acknowledged {
                    html! { <span class="alert-seen">{ "✓ " }{ text.acknowledged }</span> }
                } else {
                    html! {
                        <button type="button" class="button primary alert-ack" id={format!("{dom_id}-ack")}
                                disabled={busy} onclick={acknowledge}>
                            { if busy { text.acknowledging } else { text.acknowledge } }
                        </button>
                    }
                } }
                <button type="button" class="button alert-open" id={format!("{dom_id}-open")} onclick={open}>
                    { if live { text.open_live } else { text.open_review } }
                </button>
            </div>
        </li>
    }
}
