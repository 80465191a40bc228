//! One tile of the live wall: props in (a [`TileView`]), markup out. Unchanged tiles are
//! not re-rendered: Yew compares the props.

use domain::api::Language;
use domain::event::Speaker;
use yew::prelude::*;

use super::icons::{bell_icon, eye_icon, lock_icon};
use crate::i18n::{fill, strings};
use crate::wall_view::{Oversight, TileView, SPARKLINE_TURNS};

#[derive(Properties, PartialEq)]
pub struct TileProps {
    pub tile: TileView,
    pub language: Language,
    /// Opens the call's screen with the tile's task id (one callback for every tile, made
    /// once by the wall, so it does not defeat the props comparison).
    pub on_open: Callback<String>,
}

#[function_component]
pub fn Tile(props: &TileProps) -> Html {
    let text = strings(props.language);
    let tile = &props.tile;
    let speaker_class = |speaker: Speaker| match speaker {
        Speaker::User => "speaker speaker-user",
        Speaker::Robot => "speaker speaker-robot",
    };
    let tooltip = (!tile.reasons.is_empty()).then(|| tile.reasons.join("\n"));
    let onclick = {
        let (on_open, task) = (props.on_open.clone(), tile.task.clone());
        Callback::from(move |_: MouseEvent| on_open.emit(task.clone()))
    };
    let onkeydown = {
        let (on_open, task) = (props.on_open.clone(), tile.task.clone());
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Enter" || event.key() == " " {
                event.prevent_default();
                on_open.emit(task.clone());
            }
        })
    };
    html! {
        <li class={classes!("tile", format!("tile-{}", tile.tone.key()))} data-task={tile.task.clone()}
            role="button" tabindex="0" {onclick} {onkeydown}>
            <div class="tile-top">
                <div class="tile-who">
                    <div class="tile-title">{ &tile.title }</div>
                    if let Some(subtitle) = &tile.subtitle {
                        <div class="tile-subtitle">{ subtitle }</div>
                    }
                </div>
                <div class="tile-now">
                    <div class="tile-duration" title={text.tile_duration}>{ &tile.duration }</div>
                    <span class={classes!("badge", format!("badge-{}", tile.activity.key()))}>
                        <span class="badge-dot" aria-hidden="true"></span>
                        { tile.activity_label }
                    </span>
                </div>
            </div>
            <div class="tile-mid">
                if let Some(reason) = &tile.reason {
                    <div class="tile-reason" title={tooltip}>
                        <span class="tile-reason-text">{ reason }</span>
                    </div>
                    if let Some(more) = &tile.more_reasons {
                        <span class="tile-more">{ more }</span>
                    }
                }
                { sparkline(&tile.sparkline, tile.sparkline_limit_ms, &fill(text.tile_sparkline, &[("limit", &tile.sparkline_limit_ms.to_string())])) }
            </div>
            <p class="tile-line">
                if let Some(said) = &tile.last_sentence {
                    <span class={speaker_class(said.speaker)}>{ said.speaker_label }</span>
                    { &said.text }
                } else {
                    <span class="tile-quiet">{ text.tile_nothing_said }</span>
                }
            </p>
            <div class="tile-foot">
                <span class={classes!("tile-errors", (tile.errors > 0).then_some("has-errors"))}>
                    { &tile.errors_label }
                </span>
                if tile.alerts > 0 {
                    <span class="tile-alerts">{ bell_icon() }{ &tile.alerts_label }</span>
                }
                <span class={classes!("tile-watchers", (tile.watchers > 0).then_some("has-watchers"))}>
                    { eye_icon() }{ &tile.watchers_label }
                </span>
                if let Some(oversight) = &tile.oversight {
                    <span class={classes!("tile-oversight", match oversight {
                        Oversight::TakenOver { .. } => "taken-over",
                        Oversight::Locked { .. } => "locked",
                    })}>
                        { lock_icon() }{ oversight.label() }
                    </span>
                }
            </div>
        </li>
    }
}

/// The latest turns' LLM first token as bars against the slow threshold (the dashed
/// line); bars over it are red. A turn without the figure leaves its slot empty. The scale
/// tops out at 1.5× the threshold so one outlier does not flatten the rest.
fn sparkline(values: &[Option<u32>], limit: u32, label: &str) -> Html {
    let limit = f64::from(limit);
    const W: f64 = 48.0;
    const H: f64 = 22.0;
    let slot = W / SPARKLINE_TURNS as f64;
    let top = (limit * 1.5).max(1.0);
    let y_of = |value: f64| H - (value.min(top) / top * H).max(1.0);
    let offset = SPARKLINE_TURNS.saturating_sub(values.len());
    html! {
        <svg class="sparkline" viewBox={format!("0 0 {W} {H}")} width={W.to_string()} height={H.to_string()}
             role="img" aria-label={label.to_owned()}>
            <title>{ label }</title>
            { for values.iter().enumerate().filter_map(|(i, value)| value.map(|value| (i, f64::from(value)))).map(|(i, value)| {
                let y = y_of(value);
                html! {
                    <rect class={classes!("spark-bar", (value > limit).then_some("over"))}
                          x={format!("{:.1}", (offset + i) as f64 * slot + 0.5)} y={format!("{y:.1}")}
                          width={format!("{:.1}", slot - 1.0)} height={format!("{:.1}", H - y)} />
                }
            }) }
            <line class="spark-limit" x1="0" x2={W.to_string()} y1={format!("{:.1}", y_of(limit))} y2={format!("{:.1}", y_of(limit))} />
        </svg>
    }
}
