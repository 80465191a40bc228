//! [`RulesEditor`]: the alert rules as a form — each of the eight kinds with its switch and
//! thresholds, the keyword list, the domain's validation shown next to the field, save and
//! reset to defaults. Rendered on the settings screen and on the alerts screen.
//!
//! What deliberately does not live here: turning the form into rules and wording their
//! errors (`rule_form`, tested natively).

use domain::alert::{AlertKind, AlertRules};
use domain::api::{GetAlertRules, NoArgs, SetAlertRules, SetAlertRulesRequest};
use yew::prelude::*;

use super::rule_form::{describe, drafts, parse, FieldError, RuleDraft};
use super::{input_value, outcome_line, Outcome};
use crate::components::app::AppContext;
use crate::i18n::alerts::alerts;
use crate::i18n::settings::{settings, SettingsStrings};
use crate::i18n::{fill, strings};
use crate::ipc::invoke;

/// The label and unit of a numeric field of a kind of rule.
fn field_text(kind: AlertKind, field: &str, text: &SettingsStrings) -> (&'static str, &'static str) {
    match (kind, field) {
        (_, "thresholdMs") => (text.field_threshold_ms, text.unit_ms),
        (_, "turnsOver") => (text.field_turns_over, text.unit_turns),
        (_, "window") => (text.field_window, text.unit_turns),
        (_, "minGaps") => (text.field_min_gaps, text.unit_times),
        (_, "maxPerMinute") => (text.field_max_per_minute, text.unit_times),
        (AlertKind::ThinkingTooLong, _) => (text.field_thinking_secs, text.unit_secs),
        (AlertKind::CustomerSilence, _) => (text.field_silence_secs, text.unit_secs),
        _ => (text.field_call_secs, text.unit_secs),
    }
}

#[function_component]
pub fn RulesEditor() -> Html {
    let state = use_context::<AppContext>();
    // The rules in force (as last loaded or saved), and the form's copy.
    let saved = use_state(|| None::<Result<AlertRules, String>>);
    let form = use_state(Vec::<RuleDraft>::new);
    let saving = use_state(|| false);
    let outcome = use_state(|| None::<Outcome>);
    let reload = use_state(|| 0_u32);
    {
        let (saved, form) = (saved.clone(), form.clone());
        use_effect_with(*reload, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match invoke::<GetAlertRules>(&NoArgs {}).await {
                    Ok(rules) => {
                        form.set(drafts(&rules));
                        saved.set(Some(Ok(rules)));
                    }
                    Err(err) => saved.set(Some(Err(err.message))),
                }
            });
        });
    }
    let Some(state) = state else { return Html::default() };
    let text = settings(state.language);
    let rules = match &*saved {
        None => return html! { <p class="card-note">{ strings(state.language).loading }</p> },
        Some(Err(message)) => {
            let reload = reload.clone();
            return html! {
                <div class="form-outcome bad" role="alert">
                    { fill(text.rules_load_failed, &[("message", message)]) }
                    <button type="button" class="button" onclick={Callback::from(move |_| reload.set(*reload + 1))}>
                        { text.retry }
                    </button>
                </div>
            };
        }
        Some(Ok(rules)) => rules,
    };
    let problem = parse(&form).err();
    let dirty = *form != drafts(rules);

    let update = {
        let (form, outcome) = (form.clone(), outcome.clone());
        move |index: usize, change: Box<dyn Fn(&mut RuleDraft)>| {
            let mut next = (*form).clone();
            if let Some(draft) = next.get_mut(index) {
                change(draft);
            }
            form.set(next);
            outcome.set(None);
        }
    };
    let on_save = {
        let (form, saved, saving, outcome) = (form.clone(), saved.clone(), saving.clone(), outcome.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let rules = match parse(&form) {
                Ok(rules) => rules,
                Err(_) => return outcome.set(Some(Outcome::Failed(text.rules_invalid.to_owned()))),
            };
            saving.set(true);
            let (form, saved, saving, outcome) = (form.clone(), saved.clone(), saving.clone(), outcome.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match invoke::<SetAlertRules>(&SetAlertRulesRequest { rules }).await {
                    Ok(rules) => {
                        form.set(drafts(&rules));
                        saved.set(Some(Ok(rules)));
                        outcome.set(Some(Outcome::Done(text.rules_saved_ok.to_owned())));
                    }
                    Err(err) => {
                        outcome.set(Some(Outcome::Failed(fill(text.rules_save_failed, &[("message", &err.message)]))))
                    }
                }
                saving.set(false);
            });
        })
    };
    let on_reset = {
        let (form, outcome) = (form.clone(), outcome.clone());
        Callback::from(move |_: MouseEvent| {
            form.set(drafts(&AlertRules::defaults()));
            outcome.set(Some(Outcome::Done(text.rules_reset_note.to_owned())));
        })
    };
    let names = alerts(state.language);
    html! {
        <form class="rules" onsubmit={on_save} novalidate=true>
            <p class="card-note">{ text.rules_intro }</p>
            <div class="rule-list">
                { for form.iter().enumerate().map(|(index, draft)| {
                    rule_row(index, draft, problem.as_ref(), names.kind(draft.kind), text, &update, *saving)
                }) }
            </div>
            <div class="form-actions sticky-actions">
                <button type="submit" id="rules-save" class="button primary" disabled={*saving || !dirty}>
                    { if *saving { text.saving } else { text.rules_save } }
                </button>
                <button type="button" id="rules-reset" class="button" disabled={*saving} onclick={on_reset}>
                    { text.rules_reset }
                </button>
                { if problem.is_some() {
                    html! { <span class="form-note bad">{ text.rules_invalid }</span> }
                } else if dirty {
                    html! { <span class="form-note" id="rules-dirty">{ text.rules_unsaved }</span> }
                } else { html! {} } }
            </div>
            { outcome_line(&outcome, "rules-outcome") }
        </form>
    }
}

fn rule_row(
    index: usize,
    draft: &RuleDraft,
    problem: Option<&FieldError>,
    name: &'static str,
    text: &'static SettingsStrings,
    update: &(impl Fn(usize, Box<dyn Fn(&mut RuleDraft)>) + Clone + 'static),
    saving: bool,
) -> Html {
    let rule = draft.id.as_str().to_owned();
    let error_for = |field: &str| {
        problem
            .filter(|error| error.rule == draft.id && error.field == field)
            .map(|error| describe(&error.problem, text))
    };
    let toggle = {
        let update = update.clone();
        Callback::from(move |_: MouseEvent| {
            update(index, Box::new(|draft: &mut RuleDraft| draft.enabled = !draft.enabled))
        })
    };
    let numbers = draft.numbers.iter().map(|(field, value)| {
        let (label, unit) = field_text(draft.kind, field, text);
        let id = format!("rule-{rule}-{field}");
        let error = error_for(field);
        let field_name: &'static str = field;
        let update = update.clone();
        let oninput = Callback::from(move |event: InputEvent| {
            let typed = input_value(&event);
            update(index, Box::new(move |draft: &mut RuleDraft| draft.set_number(field_name, typed.clone())));
        });
        html! {
            <label class={classes!("field", "threshold", error.is_some().then_some("invalid"))} for={id.clone()}>
                <span class="field-label">{ label }</span>
                <span class="field-row">
                    <input id={id.clone()} type="text" inputmode="numeric" class="number" value={value.clone()}
                           disabled={saving} aria-invalid={error.is_some().to_string()}
                           aria-describedby={format!("{id}-error")} {oninput} />
                    <span class="unit">{ unit }</span>
                </span>
                <span class="field-error" id={format!("{id}-error")} role={error.is_some().then_some("alert")}>
                    { error.unwrap_or_default() }
                </span>
            </label>
        }
    });
    let keywords =
        (draft.kind == AlertKind::Keywords).then(|| keyword_list(index, draft, &error_for, text, update, saving));
    let body = if draft.kind == AlertKind::PipelineError {
        html! { <p class="card-note">{ text.pipeline_note }</p> }
    } else {
        html! { <div class="thresholds">{ for numbers }{ keywords.unwrap_or_default() }</div> }
    };
    html! {
        <fieldset class={classes!("rule", (!draft.enabled).then_some("off"))} id={format!("rule-{rule}")}>
            <legend class="rule-head">
                <span class="rule-name">{ name }</span>
            </legend>
            <button type="button" role="switch" id={format!("rule-{rule}-enabled")} class="switch"
                    aria-checked={draft.enabled.to_string()} aria-label={format!("{name}: {}", text.rule_enabled)}
                    disabled={saving} onclick={toggle}>
                <span class="switch-track" aria-hidden="true"><span class="switch-thumb"></span></span>
                <span class="switch-text">{ text.rule_enabled }</span>
            </button>
            { body }
        </fieldset>
    }
}

fn keyword_list(
    index: usize,
    draft: &RuleDraft,
    error_for: &dyn Fn(&str) -> Option<String>,
    text: &'static SettingsStrings,
    update: &(impl Fn(usize, Box<dyn Fn(&mut RuleDraft)>) + Clone + 'static),
    saving: bool,
) -> Html {
    let rule = draft.id.as_str().to_owned();
    let list_error = error_for("keywords");
    let items = draft.keywords.iter().enumerate().map(|(position, keyword)| {
        let id = format!("rule-{rule}-keyword-{position}");
        let error = error_for(&format!("keywords[{position}]"));
        let (on_input, on_remove) = {
            let (edit, remove) = (update.clone(), update.clone());
            (
                Callback::from(move |event: InputEvent| {
                    let typed = input_value(&event);
                    edit(
                        index,
                        Box::new(move |draft: &mut RuleDraft| {
                            if let Some(keyword) = draft.keywords.get_mut(position) {
                                keyword.clone_from(&typed);
                            }
                        }),
                    );
                }),
                Callback::from(move |_: MouseEvent| {
                    remove(
                        index,
                        Box::new(move |draft: &mut RuleDraft| {
                            if position < draft.keywords.len() {
                                draft.keywords.remove(position);
                            }
                        }),
                    );
                }),
            )
        };
        let label = fill(text.keyword_label, &[("n", &(position + 1).to_string())]);
        html! {
            <li class={classes!("keyword", error.is_some().then_some("invalid"))}>
                <input id={id.clone()} type="text" value={keyword.clone()} aria-label={label} disabled={saving}
                       aria-invalid={error.is_some().to_string()} oninput={on_input} />
                <button type="button" class="icon-button" disabled={saving} onclick={on_remove}
                        aria-label={fill(text.keyword_remove, &[("keyword", keyword)])}>{ "×" }</button>
                { error.map(|error| html! { <span class="field-error" id={format!("{id}-error")} role="alert">{ error }</span> }).unwrap_or_default() }
            </li>
        }
    });
    let on_add = {
        let update = update.clone();
        Callback::from(move |_: MouseEvent| {
            update(index, Box::new(|draft: &mut RuleDraft| draft.keywords.push(String::new())))
        })
    };
    html! {
        <div class={classes!("field", "keywords", list_error.is_some().then_some("invalid"))}>
            <span class="field-label">{ text.field_keywords }</span>
            <ul class="keyword-list">{ for items }</ul>
            <button type="button" id={format!("rule-{rule}-keyword-add")} class="button" disabled={saving} onclick={on_add}>
                { format!("+ {}", text.keyword_add) }
            </button>
            <span class="field-error" id={format!("rule-{rule}-keywords-error")}>{ list_error.unwrap_or_default() }</span>
        </div>
    }
}
