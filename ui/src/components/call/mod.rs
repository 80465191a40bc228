//! One live call's screen: the header (customer, scenario, duration, robot state, health),
//! the turn strip, live subtitles, who is watching and who holds the lock, and the action
//! bar (say a line, steer, take over / reply / hand back, change settings through a
//! reviewed form (`settings_form`), stop with a confirmation).
//!
//! It reads the call from the live board in the app state, so it updates as events arrive.
//! Its own effects: `whoami` once (the role decides which actions are enabled), presence
//! (`watch_call` true on entry, renewed every 25 s, false on leaving), and the actions.
//! Each action this screen sent is listed with its lifecycle, read from the command events
//! on the board.
//!
//! What deliberately does not live here: the view model (`view`, tested natively), the
//! strip's markup (`strip`), the role and lock rules (the hub's, mirrored in `view`).

mod settings_form;
mod strip;
pub mod view;

use std::rc::Rc;

use domain::api::{
    ApiError, CallAction, CallActionRequest, Identity, NoArgs, SayTiming, SupervisorAction, SupervisorRole, WatchCall,
    WatchRequest, WhoAmI,
};
use domain::call::HealthPolicy;
use domain::event::CommandAction;
use domain::ids::TaskId;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::components::forms::field_value;

use self::settings_form::{CurrentSettings, SettingsForm};
use self::strip::TurnStrip;
use self::view::{availability, lifecycle, ActionContext, CallView, Sent};
use super::app::AppContext;
use super::icons::{eye_icon, lock_icon};
use crate::i18n::{call as call_strings, fill, strings};
use crate::ipc::invoke;
use crate::state::{Action, Screen};

/// How often presence is renewed while the call is open (the hub forgets after 90 s).
const PRESENCE_EVERY_MS: i32 = 25_000;

#[derive(Properties, PartialEq)]
pub struct CallScreenProps {
    pub task: TaskId,
}

/// How the line box's text is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineMode {
    Now,
    AfterTurn,
    Hidden,
}

/// Commands this screen kept to show their lifecycle.
const SENT_KEPT: usize = 12;

/// The sent commands, newest last.
#[derive(Debug, Clone, Default, PartialEq)]
struct SentList {
    items: Vec<Sent>,
    next: u64,
}

/// What happens to the list: a command goes out, or its request settles.
enum SentChange {
    Out { local: u64, action: CommandAction, summary: Option<String> },
    Settled { local: u64, outcome: Result<(String, domain::event::CommandStage), String> },
}

impl Reducible for SentList {
    type Action = SentChange;

    fn reduce(self: Rc<Self>, change: SentChange) -> Rc<Self> {
        let mut next = (*self).clone();
        match change {
            SentChange::Out { local, action, summary } => {
                next.next = next.next.max(local + 1);
                next.items.push(Sent { local, action, summary, answer: None, refused: None });
                if next.items.len() > SENT_KEPT {
                    next.items.remove(0);
                }
            }
            SentChange::Settled { local, outcome } => {
                if let Some(item) = next.items.iter_mut().find(|item| item.local == local) {
                    match outcome {
                        Ok(answer) => item.answer = Some(answer),
                        Err(message) => item.refused = Some(message),
                    }
                }
            }
        }
        Rc::new(next)
    }
}

#[function_component]
pub fn CallScreen(props: &CallScreenProps) -> Html {
    let state = use_context::<AppContext>();
    let identity = use_state(|| None::<Result<Identity, ApiError>>);
    let who_attempt = use_state(|| 0_u32);
    let sent = use_reducer(SentList::default);
    let line = use_state(String::new);
    let line_mode = use_state(|| LineMode::AfterTurn);
    let steer = use_state(String::new);
    let reply = use_state(String::new);
    let confirming_stop = use_state(|| false);

    // Who am I: once per screen (and on retry).
    {
        let identity = identity.clone();
        use_effect_with(*who_attempt, move |_| {
            identity.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                identity.set(Some(invoke::<WhoAmI>(&NoArgs {}).await));
            });
        });
    }

    // Presence: watching while the screen is open.
    use_effect_with(props.task.clone(), |task| {
        let task = task.clone();
        let mark = {
            let task = task.clone();
            move |watching: bool| {
                let request = WatchRequest { call: task.clone(), watching };
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(error) = invoke::<WatchCall>(&request).await {
                        web_sys::console::warn_1(&JsValue::from_str(&format!("presence: {}", error.message)));
                    }
                });
            }
        };
        mark(true);
        let renew = {
            let mark = mark.clone();
            Closure::<dyn FnMut()>::new(move || mark(true))
        };
        let window = web_sys::window();
        let handle = window.as_ref().and_then(|window| {
            window
                .set_interval_with_callback_and_timeout_and_arguments_0(
                    renew.as_ref().unchecked_ref(),
                    PRESENCE_EVERY_MS,
                )
                .ok()
        });
        move || {
            if let (Some(window), Some(handle)) = (window, handle) {
                window.clear_interval_with_handle(handle);
            }
            drop(renew);
            mark(false);
        }
    });

    let Some(state) = state else { return Html::default() };
    let text = strings(state.language);
    let t = call_strings::strings(state.language);
    let task = props.task.clone();
    let navigate = |screen: Screen| {
        let dispatcher = state.dispatcher();
        Callback::from(move |_: MouseEvent| dispatcher.dispatch(Action::Navigate(screen.clone())))
    };
    let back = html! {
        <button class="back call-back" id="back" onclick={navigate(Screen::Wall)}>{ text.back }</button>
    };

    let Some(feed) = state.live.read() else { return Html::default() };
    if !feed.has_snapshot() {
        return html! {
            <section class="screen call-screen" aria-busy="true">
                { back }
                <div class="empty call-loading" id="call-loading" role="status">
                    <div class="spinner" aria-hidden="true"></div>
                    <h3>{ t.loading_call }</h3>
                </div>
            </section>
        };
    }
    let Some(call) = feed.board().call(&task) else {
        return html! {
            <section class="screen call-screen">
                { back }
                <div class="empty" id="call-unknown">
                    <h3>{ t.unknown_call_title }</h3>
                    <p>{ fill(t.unknown_call_body, &[("task", task.as_str())]) }</p>
                    <div class="empty-actions">
                        <button class="button" onclick={navigate(Screen::Review(Some(task.clone())))}>{ t.open_review }</button>
                        <button class="button button-quiet" onclick={navigate(Screen::Wall)}>{ t.back_to_wall }</button>
                    </div>
                </div>
            </section>
        };
    };

    let view = CallView::build(call, &HealthPolicy::default(), state.now, text, t);
    let me_error = identity.as_ref().and_then(|answer| answer.as_ref().err()).map(|error| error.message.clone());
    let me = identity.as_ref().map(|answer| match answer {
        Ok(me) => Ok(me),
        Err(_) => Err(me_error.as_deref().unwrap_or_default()),
    });
    let context = ActionContext {
        me,
        live: view.header.live,
        lock_holder: view.lock_holder.as_deref(),
        taken_over_by: view.taken_over_by.as_deref(),
    };
    let my_name = identity.as_ref().and_then(|answer| answer.as_ref().ok()).map(|me| me.user.clone());
    let taken_by_me = my_name.is_some() && view.taken_over_by == my_name;

    // Sends one action and records its answer (or refusal) in the list.
    let send = {
        let sent = sent.clone();
        let task = task.clone();
        Rc::new(move |action: SupervisorAction, summary: Option<String>| {
            let local = sent.next;
            sent.dispatch(SentChange::Out { local, action: action.command(), summary });
            let (sent, request) = (sent.clone(), CallActionRequest { call: task.clone(), action });
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = invoke::<CallAction>(&request)
                    .await
                    .map(|answer| (answer.command_id, answer.stage))
                    .map_err(|error| error.message);
                sent.dispatch(SentChange::Settled { local, outcome });
            });
        })
    };

    let allowed = |action: CommandAction| availability(action, &context);
    let reason = |action: CommandAction| allowed(action).err().map(|blocked| blocked.reason(t));
    let role_tag = |action: CommandAction| {
        html! { <span class="role-tag" title={t.role_name(SupervisorRole::needed_for(action))}>{ fill(t.needs_role, &[("role", t.role_name(SupervisorRole::needed_for(action)))]) }</span> }
    };
    let input = |handle: &UseStateHandle<String>| {
        let handle = handle.clone();
        Callback::from(move |event: InputEvent| {
            let value = field_value(&event);
            handle.set(value);
        })
    };

    // Say a line / hidden guidance.
    let line_action = match *line_mode {
        LineMode::Hidden => CommandAction::Whisper,
        _ => CommandAction::Say,
    };
    let line_blocked = reason(line_action);
    let on_say = {
        let (send, line, mode) = (send.clone(), line.clone(), *line_mode);
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let text = line.trim().to_owned();
            if text.is_empty() {
                return;
            }
            let action = match mode {
                LineMode::Now => SupervisorAction::Say { text: text.clone(), timing: SayTiming::Now },
                LineMode::AfterTurn => SupervisorAction::Say { text: text.clone(), timing: SayTiming::AfterTurn },
                LineMode::Hidden => SupervisorAction::Whisper { text: text.clone() },
            };
            send(action, Some(text));
            line.set(String::new());
        })
    };
    let mode_button = |mode: LineMode, label: &'static str, id: &'static str| {
        let line_mode = line_mode.clone();
        html! {
            <label class={classes!("seg", (*line_mode == mode).then_some("seg-on"))} id={id}>
                <input type="radio" name="line-mode" checked={*line_mode == mode}
                    onchange={Callback::from(move |_| line_mode.set(mode))} />
                { label }
            </label>
        }
    };

    let steer_blocked = reason(CommandAction::Steer);
    let on_steer = {
        let (send, steer) = (send.clone(), steer.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let prompt = steer.trim().to_owned();
            if prompt.is_empty() {
                return;
            }
            send(SupervisorAction::Steer { prompt: prompt.clone(), interrupt: false }, Some(prompt));
            steer.set(String::new());
        })
    };

    let take_blocked = reason(CommandAction::TakeOver);
    let reply_blocked = reason(CommandAction::Reply);
    let hand_back_blocked = reason(CommandAction::HandBack);
    let on_take_over = {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| send(SupervisorAction::TakeOver, None))
    };
    let on_hand_back = {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| send(SupervisorAction::HandBack, None))
    };
    let on_reply = {
        let (send, reply) = (send.clone(), reply.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let text = reply.trim().to_owned();
            if text.is_empty() {
                return;
            }
            send(SupervisorAction::Reply { text: text.clone() }, Some(text));
            reply.set(String::new());
        })
    };

    // Change settings: the form checks and reviews, this sends like the other actions.
    let settings_blocked = reason(CommandAction::Update);
    let on_settings = {
        let send = send.clone();
        Callback::from(move |(change, summary): (domain::api::SettingsChange, String)| {
            send(SupervisorAction::Update(change), Some(summary));
        })
    };
    let last_settings = sent
        .items
        .iter()
        .rev()
        .find(|item| item.action == CommandAction::Update)
        .map(|item| lifecycle(item, Some(call), t));
    let call_start = call.started_ms().or_else(|| call.turns().first().map(|turn| turn.first_ms()));

    let stop_blocked = reason(CommandAction::Stop);
    let open_stop = {
        let confirming_stop = confirming_stop.clone();
        Callback::from(move |_: MouseEvent| confirming_stop.set(true))
    };
    let cancel_stop = {
        let confirming_stop = confirming_stop.clone();
        Callback::from(move |_: MouseEvent| confirming_stop.set(false))
    };
    let confirm_stop = {
        let (send, confirming_stop) = (send.clone(), confirming_stop.clone());
        Callback::from(move |_: MouseEvent| {
            confirming_stop.set(false);
            send(SupervisorAction::Stop, None);
        })
    };
    let on_dialog_key = {
        let confirming_stop = confirming_stop.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Escape" {
                confirming_stop.set(false);
            }
        })
    };

    let disabled_note = |blocked: &Option<String>, id: &'static str| match blocked {
        Some(reason) => html! { <p class="action-reason" id={id}>{ lock_icon() }{ reason }</p> },
        None => Html::default(),
    };
    let retry_who = {
        let who_attempt = who_attempt.clone();
        Callback::from(move |_: MouseEvent| who_attempt.set(*who_attempt + 1))
    };

    let header = &view.header;
    let you = |name: &str| if my_name.as_deref() == Some(name) { t.you } else { "" };
    html! {
        <section class="screen call-screen" aria-labelledby="call-title" data-task={task.to_string()}>
            <div class="call-topbar">
                { back }
                <header class={classes!("call-header", format!("call-{}", header.tone.key()))}>
                    <div class="call-who">
                        <h2 id="call-title" class="call-title">{ &header.title }</h2>
                        <div class="call-subtitle">{ &header.subtitle }</div>
                    </div>
                    <div class="call-now">
                        <span class="call-duration" id="call-duration">{ &header.duration }</span>
                        <span class={classes!("badge", format!("badge-{}", if header.live { header.activity.key() } else { "finished" }))} id="call-state">
                            <span class="badge-dot" aria-hidden="true"></span>{ header.activity_label }
                        </span>
                    </div>
                    if !header.reasons.is_empty() {
                        <ul class="call-reasons" id="call-reasons">
                            { for header.reasons.iter().map(|reason| html! { <li>{ reason }</li> }) }
                        </ul>
                    }
                </header>
            </div>

            if !header.live {
                <div class="call-ended" id="call-ended" role="status">
                    <div>
                        <strong>{ t.ended_title }</strong>
                        <p>{ t.ended_body }</p>
                    </div>
                    <button class="button" id="open-review" onclick={navigate(Screen::Review(Some(task.clone())))}>{ t.open_review }</button>
                </div>
            }

            <div class="call-layout">
                <TurnStrip rows={view.rows.clone()} early={view.early_interventions.clone()} {t} />

                <aside class="call-side">
                    <section class="call-panel call-presence" aria-label={t.watchers_label}>
                        <div class="presence-row" id="call-watchers">
                            <span class="presence-label">{ eye_icon() }{ t.watchers_label }</span>
                            if view.watchers.is_empty() {
                                <span class="presence-none">{ t.watchers_none }</span>
                            } else {
                                { for view.watchers.iter().map(|name| html! {
                                    <span class="person">{ name }{ you(name) }</span>
                                }) }
                            }
                        </div>
                        <div class="presence-row" id="call-lock">
                            <span class="presence-label">{ lock_icon() }{ t.lock_label }</span>
                            { match (&view.taken_over_by, &view.lock_holder) {
                                (Some(by), _) => html! { <span class="person person-taken">{ fill(t.taken_over_label, &[("name", by)]) }{ you(by) }</span> },
                                (None, Some(holder)) => html! { <span class="person person-lock">{ holder }{ you(holder) }</span> },
                                (None, None) => html! { <span class="presence-none">{ t.lock_free }</span> },
                            } }
                        </div>
                        <div class="presence-row presence-me" id="call-me">
                            { match identity.as_ref() {
                                None => html! { <span class="presence-none">{ t.blocked_checking_role }</span> },
                                Some(Ok(me)) => html! { <span>{ fill(t.signed_in_as, &[("user", &me.user), ("role", t.role_name(me.role))]) }</span> },
                                Some(Err(error)) => html! {
                                    <>
                                        <span class="action-reason">{ fill(t.blocked_role_unknown, &[("message", &error.message)]) }</span>
                                        <button class="button button-quiet button-small" onclick={retry_who}>{ t.retry }</button>
                                    </>
                                },
                            } }
                        </div>
                    </section>

                    <section class="call-panel call-subtitles" aria-labelledby="subtitles-title">
                        <h3 id="subtitles-title" class="call-section-title">{ t.subtitles_title }</h3>
                        <ol class="subtitles" id="subtitles" aria-live="polite">
                            if view.subtitles.is_empty() {
                                <li class="turn-quiet">{ t.subtitles_empty }</li>
                            }
                            { for view.subtitles.iter().map(|line| html! {
                                <li key={line.key.clone()} class={classes!("subtitle", if line.robot { "subtitle-robot" } else { "subtitle-customer" })}>
                                    <span class={classes!("speaker", if line.robot { "speaker-robot" } else { "speaker-user" })}>{ line.speaker }</span>
                                    <span class="subtitle-text">{ &line.text }</span>
                                </li>
                            }) }
                        </ol>
                        <p class="call-hint">{ t.subtitles_note }</p>
                    </section>

                    <section class="call-panel call-actions" aria-labelledby="actions-title">
                        <h3 id="actions-title" class="call-section-title">{ t.actions_title }</h3>

                        if taken_by_me {
                            <form class="action action-reply" onsubmit={on_reply}>
                                <div class="action-head"><span class="action-name">{ t.action_reply }</span>{ role_tag(CommandAction::Reply) }</div>
                                <textarea id="reply-text" rows="2" placeholder={t.reply_placeholder} value={(*reply).clone()}
                                    oninput={input(&reply)} disabled={reply_blocked.is_some()} aria-label={t.action_reply} />
                                <div class="action-buttons">
                                    <button type="submit" class="button" id="send-reply" disabled={reply_blocked.is_some() || reply.trim().is_empty()}>{ t.send_reply }</button>
                                    <button type="button" class="button button-quiet" id="hand-back" onclick={on_hand_back} disabled={hand_back_blocked.is_some()}>{ t.action_hand_back }</button>
                                </div>
                                { disabled_note(&reply_blocked, "reply-reason") }
                            </form>
                        } else {
                            <form class="action action-say" onsubmit={on_say}>
                                <div class="action-head"><span class="action-name">{ t.action_say }</span>{ role_tag(line_action) }</div>
                                <textarea id="say-text" rows="2" placeholder={t.say_placeholder} value={(*line).clone()}
                                    oninput={input(&line)} disabled={line_blocked.is_some()} aria-label={t.action_say} />
                                <div class="segments" role="radiogroup" aria-label={t.timing_label}>
                                    { mode_button(LineMode::Now, t.timing_now, "say-now") }
                                    { mode_button(LineMode::AfterTurn, t.timing_after_turn, "say-after-turn") }
                                    { mode_button(LineMode::Hidden, t.timing_hidden, "say-hidden") }
                                </div>
                                <div class="action-buttons">
                                    <button type="submit" class="button" id="send-line" disabled={line_blocked.is_some() || line.trim().is_empty()}>{ t.send }</button>
                                </div>
                                { disabled_note(&line_blocked, "say-reason") }
                            </form>

                            <form class="action action-steer" onsubmit={on_steer}>
                                <div class="action-head"><span class="action-name">{ t.action_steer }</span>{ role_tag(CommandAction::Steer) }</div>
                                <textarea id="steer-text" rows="2" placeholder={t.steer_placeholder} value={(*steer).clone()}
                                    oninput={input(&steer)} disabled={steer_blocked.is_some()} aria-label={t.action_steer} />
                                <div class="action-buttons">
                                    <button type="submit" class="button" id="send-steer" disabled={steer_blocked.is_some() || steer.trim().is_empty()}>{ t.steer_send }</button>
                                </div>
                                { disabled_note(&steer_blocked, "steer-reason") }
                            </form>

                            <div class="action action-take-over">
                                <div class="action-head"><span class="action-name">{ t.action_take_over }</span>{ role_tag(CommandAction::TakeOver) }</div>
                                <p class="call-hint">{ t.take_over_hint }</p>
                                <div class="action-buttons">
                                    <button class="button" id="take-over" onclick={on_take_over} disabled={take_blocked.is_some()}>{ t.action_take_over }</button>
                                </div>
                                { disabled_note(&take_blocked, "take-over-reason") }
                            </div>
                        }

                        <SettingsForm language={state.language} current={CurrentSettings::of(call)} {call_start}
                            blocked={settings_blocked.clone()} last={last_settings} on_apply={on_settings} />

                        <div class="action action-stop">
                            <div class="action-head"><span class="action-name">{ t.action_stop }</span>{ role_tag(CommandAction::Stop) }</div>
                            <p class="call-hint">{ t.stop_hint }</p>
                            <div class="action-buttons">
                                <button class="button button-danger" id="stop-call" onclick={open_stop} disabled={stop_blocked.is_some()}>{ t.action_stop }</button>
                            </div>
                            { disabled_note(&stop_blocked, "stop-reason") }
                        </div>

                        <div class="sent" aria-live="polite">
                            <h4 class="sent-title">{ t.recent_actions }</h4>
                            if sent.items.is_empty() {
                                <p class="turn-quiet">{ t.recent_empty }</p>
                            } else {
                                <ol class="sent-list" id="sent-list">
                                    { for sent.items.iter().rev().map(|item| {
                                        let life = lifecycle(item, Some(call), t);
                                        let stage = life.stage.as_str();
                                        html! {
                                            <li key={item.local} class={classes!("sent-item", format!("stage-{stage}"))}>
                                                <span class="sent-action">{ t.action_name(item.action) }</span>
                                                if let Some(summary) = &item.summary {
                                                    <span class="sent-summary">{ summary }</span>
                                                }
                                                <span class={classes!("stage-pill", format!("stage-{stage}"))}>{ life.label }</span>
                                                if let Some(error) = &life.error {
                                                    <span class="intervention-error">{ error }</span>
                                                }
                                            </li>
                                        }
                                    }) }
                                </ol>
                            }
                        </div>
                    </section>
                </aside>
            </div>

            if *confirming_stop {
                <div class="dialog-backdrop" onkeydown={on_dialog_key}>
                    <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="stop-title" aria-describedby="stop-body">
                        <h3 id="stop-title">{ t.stop_confirm_title }</h3>
                        <p id="stop-body">{ t.stop_confirm_body }</p>
                        <div class="dialog-buttons">
                            <button class="button button-quiet" id="stop-cancel" onclick={cancel_stop} autofocus=true>{ t.cancel }</button>
                            <button class="button button-danger" id="stop-confirm" onclick={confirm_stop}>{ t.confirm_stop }</button>
                        </div>
                    </div>
                </div>
            }
        </section>
    }
}
