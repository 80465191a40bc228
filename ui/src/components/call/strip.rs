//! The turn strip: one row per round (props in: [`TurnRow`]s), with the customer's sentence,
//! the robot's reply, the robot's states on an SVG time axis, the latency bars against their
//! thresholds (SVG), errors and supervisors' commands inline. Rows are focusable; ↑ / ↓ move
//! between them, Home / End jump to the first and last.
//!
//! What deliberately does not live here: building the rows (`view`).

use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::view::{Bar, Intervention, TurnRow};
use crate::i18n::call::CallStrings;
use crate::i18n::fill;

#[derive(Properties, PartialEq)]
pub struct TurnStripProps {
    pub rows: Vec<TurnRow>,
    pub early: Vec<Intervention>,
    pub t: &'static CallStrings,
}

fn row_id(index: usize) -> String {
    format!("turn-row-{index}")
}

fn focus_row(index: usize) {
    let element = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.get_element_by_id(&row_id(index)))
        .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}

#[function_component]
pub fn TurnStrip(props: &TurnStripProps) -> Html {
    let t = props.t;
    let count = props.rows.len();
    let onkeydown = Callback::from(move |event: KeyboardEvent| {
        let Some(current) = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .and_then(|element| element.closest(".turn").ok().flatten())
            .and_then(|row| row.get_attribute("data-index"))
            .and_then(|index| index.parse::<usize>().ok())
        else {
            return;
        };
        let next = match event.key().as_str() {
            "ArrowDown" => Some((current + 1).min(count.saturating_sub(1))),
            "ArrowUp" => Some(current.saturating_sub(1)),
            "Home" => Some(0),
            "End" => Some(count.saturating_sub(1)),
            _ => None,
        };
        if let Some(next) = next {
            event.prevent_default();
            focus_row(next);
        }
    });
    html! {
        <section class="call-turns" aria-labelledby="turns-title">
            <div class="call-section-head">
                <h3 id="turns-title" class="call-section-title">{ t.turns_title }</h3>
                if count > 1 {
                    <span class="call-hint">{ t.turns_hint }</span>
                }
            </div>
            if !props.early.is_empty() {
                <ul class="interventions early">
                    { for props.early.iter().map(|item| intervention(item, t)) }
                </ul>
            }
            if props.rows.is_empty() {
                <p class="call-empty" id="turns-empty">{ t.turns_empty }</p>
            } else {
                <ol class="turns" id="turns" {onkeydown}>
                    { for props.rows.iter().enumerate().map(|(index, row)| html! {
                        <TurnItem key={row.round.clone()} row={row.clone()} {index} {t} />
                    }) }
                </ol>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct TurnItemProps {
    row: TurnRow,
    index: usize,
    t: &'static CallStrings,
}

#[function_component]
fn TurnItem(props: &TurnItemProps) -> Html {
    let (row, t) = (&props.row, props.t);
    let label = format!("{} · {}", fill(t.turn_label, &[("number", &row.number.to_string())]), row.at);
    html! {
        <li class={classes!("turn", row.interrupted.then_some("turn-interrupted"), (!row.errors.is_empty()).then_some("turn-error"))}
            id={row_id(props.index)} data-index={props.index.to_string()} data-round={row.round.clone()}
            tabindex="0" aria-label={label.clone()}>
            <div class="turn-head">
                <span class="turn-number">{ fill(t.turn_label, &[("number", &row.number.to_string())]) }</span>
                <span class="turn-at">{ fill(t.turn_at, &[("at", &row.at)]) }</span>
                if row.interrupted {
                    <span class="turn-flag">{ t.interrupted_label }</span>
                }
            </div>
            <div class="turn-body">
                <div class="turn-lines">
                    <p class="turn-line turn-customer">
                        <span class="speaker speaker-user">{ crate::i18n::strings(t.language()).speaker_customer }</span>
                        { line(row.customer.as_deref(), row.customer_final, t) }
                    </p>
                    <p class="turn-line turn-robot">
                        <span class="speaker speaker-robot">{ crate::i18n::strings(t.language()).speaker_robot }</span>
                        { line(row.robot.as_deref(), row.robot_final, t) }
                    </p>
                    { for row.errors.iter().map(|error| html! {
                        <p class="turn-error-line" role="note">{ warning_icon() }{ error }</p>
                    }) }
                    if !row.interventions.is_empty() {
                        <ul class="interventions">
                            { for row.interventions.iter().map(|item| intervention(item, t)) }
                        </ul>
                    }
                </div>
                <div class="turn-charts">
                    { state_axis(row, t) }
                    { latency_bars(&row.bars, t) }
                </div>
            </div>
        </li>
    }
}

fn line(text: Option<&str>, is_final: bool, t: &CallStrings) -> Html {
    match text {
        Some(text) => html! {
            <>
                <span class="turn-text">{ text }</span>
                if !is_final { <span class="turn-partial">{ t.not_final }</span> }
            </>
        },
        None => html! { <span class="turn-quiet">{ t.nothing_said }</span> },
    }
}

fn intervention(item: &Intervention, t: &CallStrings) -> Html {
    let stage = item.stage.as_str();
    html! {
        <li class={classes!("intervention", format!("stage-{stage}"))} data-command={item.id.clone()}>
            <span class="intervention-who">{ fill(t.intervention_line, &[("name", &item.by), ("action", item.action)]) }</span>
            if let Some(summary) = &item.summary {
                <span class="intervention-what">{ summary }</span>
            }
            <span class={classes!("stage-pill", format!("stage-{stage}"))}>{ item.stage_label }</span>
            if let Some(error) = &item.error {
                <span class="intervention-error">{ error }</span>
            }
        </li>
    }
}

/// Robot states as dots on a line spanning the turn.
fn state_axis(row: &TurnRow, t: &CallStrings) -> Html {
    const W: f64 = 300.0;
    const PAD: f64 = 8.0;
    let label = fill(t.axis_label, &[("span", &row.span)]);
    html! {
        <figure class="turn-axis">
            <svg viewBox="0 0 300 34" preserveAspectRatio="none" role="img" aria-label={label.clone()}>
                <line x1={PAD.to_string()} y1="12" x2={(W - PAD).to_string()} y2="12" class="axis-line" />
                { for row.states.iter().map(|mark| {
                    let x = PAD + mark.at * (W - 2.0 * PAD);
                    html! {
                        <g class={classes!("axis-mark", format!("mark-{}", mark.key))}>
                            <title>{ format!("{} {}", mark.label, mark.offset) }</title>
                            <circle cx={format!("{x:.1}")} cy="12" r="5" />
                        </g>
                    }
                }) }
            </svg>
            <figcaption class="axis-legend">
                if row.states.is_empty() {
                    <span class="turn-quiet">{ label }</span>
                } else {
                    { for row.states.iter().map(|mark| html! {
                        <span class={classes!("legend-item", format!("mark-{}", mark.key))}>
                            <span class="legend-dot" aria-hidden="true"></span>{ mark.label }{ " " }<span class="legend-at">{ &mark.offset }</span>
                        </span>
                    }) }
                }
            </figcaption>
        </figure>
    }
}

/// ASR, LLM first token and TTS first frame as bars; the threshold is the dashed line.
fn latency_bars(bars: &[Bar], t: &CallStrings) -> Html {
    const TRACK: f64 = 200.0;
    const ROW_H: f64 = 16.0;
    html! {
        <figure class="turn-bars" aria-label={t.latency_label}>
            { for bars.iter().map(|bar| {
                let width = (bar.fraction * TRACK).max(if bar.ms.is_some() { 2.0 } else { 0.0 });
                let threshold_x = Bar::THRESHOLD_AT * TRACK;
                let value = bar.ms.map_or_else(|| "—".to_owned(), |ms| format!("{ms} ms"));
                html! {
                    <div class={classes!("bar-row", format!("bar-{}", bar.stage.key()), bar.slow.then_some("bar-slow"))} title={bar.description.clone()}>
                        <span class="bar-label">{ bar.label }</span>
                        <svg class="bar-svg" viewBox={format!("0 0 {TRACK} {ROW_H}")} preserveAspectRatio="none" role="img" aria-label={bar.description.clone()}>
                            <rect class="bar-track" x="0" y="3" width={TRACK.to_string()} height="10" rx="2" />
                            if bar.ms.is_some() {
                                <rect class="bar-fill" x="0" y="3" width={format!("{width:.1}")} height="10" rx="2" />
                            }
                            <line class="bar-threshold" x1={format!("{threshold_x:.1}")} y1="0" x2={format!("{threshold_x:.1}")} y2={ROW_H.to_string()} />
                        </svg>
                        <span class="bar-value">{ value }{ if bar.clipped { " ▸" } else { "" } }</span>
                    </div>
                }
            }) }
        </figure>
    }
}

fn warning_icon() -> Html {
    html! {
        <svg class="icon" viewBox="0 0 16 16" aria-hidden="true">
            <path d="M8 1.5 15 14H1z" fill="currentColor" />
            <rect x="7.2" y="5.5" width="1.6" height="4.6" fill="#fff" />
            <rect x="7.2" y="11.2" width="1.6" height="1.6" fill="#fff" />
        </svg>
    }
}
