//! The call view's settings form: change the robot's voice and how the customer can
//! interrupt it (`SupervisorAction::Update`), shown as a change against what Switchboard
//! knows of the current settings, checked, reviewed (current → new) and only then sent.
//!
//! Where "current" comes from — honestly: TRTC's `DescribeAIConversation` returns no
//! configs, no callback carries `StartAIConversation`'s, and the hub never sees the start
//! request (the customer's backend sends it). So the only settings Switchboard knows are
//! those it set itself: the settings commands on the board that reached `done`, read from
//! the hub's summary of each (`crates/hub/src/control.rs`, `CommandRequest::summary`:
//! `"interrupt mode 1, interrupt after 800 ms, voice v-male-Bk7vD3xP"`). Anything else is
//! shown as set by the backend and not visible — and changing it is flagged as something
//! Switchboard cannot put back.
//!
//! The system prompt is changed through the hub's LLM gateway, not `UpdateAIConversation`
//! (which takes a whole `LLMConfig`, whose `APIKey`, model and URL only the customer's
//! backend holds): the hub refuses it for a call whose LLM requests do not come through
//! its gateway (`prompt_needs_gateway`), and the form says so beside the field.
//!
//! What lives here: the model ([`CurrentSettings::of`], [`Draft::review`], tested
//! natively) and the [`SettingsForm`] component. What deliberately does not: sending and
//! the lifecycle (the call screen's `send` and sent list), the role and lock rule
//! (`view::availability`), the hub's own checks (it has the last word).

use domain::api::{
    Language, SettingsChange, SupervisorRole, VoiceChoice, MAX_SYSTEM_PROMPT_CHARS, SYSTEM_PROMPT_SUMMARY,
};
use domain::call::Call;
use domain::event::{CommandAction, CommandStage};
use domain::ids::SourceMs;
use web_sys::HtmlElement;
use yew::prelude::*;

use crate::components::forms::field_value;

use super::view::Lifecycle;
use crate::i18n::call::{settings as settings_strings, strings as call_strings, SettingsStrings};
use crate::i18n::fill;
use crate::wall_view::format_duration;

/// The `TTSType` of the voices this form changes: TRTC's built-in voices, the only ones
/// that need no key of the customer's (every other provider's config carries one).
pub const VOICE_PROVIDER: &str = "flow";

/// Built-in voice ids TRTC publishes (the contract's §2.5) and the emulator plays with a
/// female or male voice by their names; offered as suggestions, any id may be typed.
pub const KNOWN_VOICES: [&str; 4] =
    ["v-female-R2s4N9qJ", "v-female-p9Xy7Q1L", "female-kefu-xiaomei", "v-male-Bk7vD3xP"];

/// The longest voice id accepted.
pub const MAX_VOICE_CHARS: usize = 128;

/// The longest speech needed to interrupt accepted, in ms (a minute of talking over the
/// robot is already "never").
pub const MAX_SPEECH_MS: u64 = 60_000;

/// What Switchboard knows of one setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Current<T> {
    /// Set at the call's start by the customer's backend; Switchboard cannot see it.
    Unknown,
    /// Set through Switchboard by `by`, done at `at`.
    Set { value: T, by: String, at: SourceMs },
}

impl<T> Current<T> {
    fn value(&self) -> Option<&T> {
        match self {
            Current::Unknown => None,
            Current::Set { value, .. } => Some(value),
        }
    }
}

/// The settings of a call as far as Switchboard knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentSettings {
    pub voice: Current<String>,
    pub customer_can_interrupt: Current<bool>,
    pub interrupt_speech_ms: Current<u64>,
    /// As the hub summarised it: cut at 200 characters with "…".
    pub system_prompt: Current<String>,
}

impl Default for CurrentSettings {
    fn default() -> CurrentSettings {
        CurrentSettings {
            voice: Current::Unknown,
            customer_can_interrupt: Current::Unknown,
            interrupt_speech_ms: Current::Unknown,
            system_prompt: Current::Unknown,
        }
    }
}

/// The settings one hub summary of an update names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SummarySettings {
    voice: Option<String>,
    interrupt_mode: Option<u64>,
    interrupt_speech_ms: Option<u64>,
    system_prompt: Option<String>,
}

/// Reads the hub's summary of an update (parts joined by `", "`: `welcome message`,
/// `interrupt mode N`, `interrupt after N ms`, `LLM <model>`, `voice <id>`, and last
/// `system prompt: <text>`, whose text may hold commas). Parts it does not know, or whose
/// value does not parse, are left out — never guessed.
fn read_summary(summary: &str) -> SummarySettings {
    let mut seen = SummarySettings::default();
    let (parts, prompt) = match summary.strip_prefix(SYSTEM_PROMPT_SUMMARY) {
        Some(prompt) => ("", Some(prompt)),
        None => match summary.split_once(&format!(", {SYSTEM_PROMPT_SUMMARY}")) {
            Some((parts, prompt)) => (parts, Some(prompt)),
            None => (summary, None),
        },
    };
    seen.system_prompt = prompt.filter(|prompt| !prompt.trim().is_empty()).map(str::to_owned);
    for part in parts.split(", ").map(str::trim) {
        if let Some(mode) = part.strip_prefix("interrupt mode ") {
            seen.interrupt_mode = mode.parse().ok().filter(|mode| *mode <= 1);
        } else if let Some(ms) = part.strip_prefix("interrupt after ").and_then(|rest| rest.strip_suffix(" ms")) {
            seen.interrupt_speech_ms = ms.parse().ok();
        } else if let Some(voice) = part.strip_prefix("voice ") {
            let voice = voice.trim();
            // The hub writes `?` when the config named no voice.
            if !voice.is_empty() && voice != "?" {
                seen.voice = Some(voice.to_owned());
            }
        }
    }
    seen
}

impl CurrentSettings {
    /// What the settings commands on `call` that reached `done` set, the latest winning
    /// per setting; everything else [`Current::Unknown`].
    pub fn of(call: &Call) -> CurrentSettings {
        let mut done: Vec<_> = call
            .oversight()
            .commands()
            .into_iter()
            .filter(|command| {
                command.value.action == CommandAction::Update && command.value.stage == CommandStage::Done
            })
            .collect();
        done.sort_by_key(|command| command.at);
        let mut current = CurrentSettings::default();
        for command in done {
            let Some(summary) = &command.value.summary else { continue };
            let seen = read_summary(summary);
            let set = |value| Current::Set { value, by: command.value.by.clone(), at: command.at };
            if let Some(voice) = seen.voice {
                current.voice = set(voice);
            }
            if let Some(mode) = seen.interrupt_mode {
                current.customer_can_interrupt =
                    Current::Set { value: mode == 0, by: command.value.by.clone(), at: command.at };
            }
            if let Some(ms) = seen.interrupt_speech_ms {
                current.interrupt_speech_ms = Current::Set { value: ms, by: command.value.by.clone(), at: command.at };
            }
            if let Some(prompt) = seen.system_prompt {
                current.system_prompt = set(prompt);
            }
        }
        current
    }
}

/// The interrupt choice in the form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InterruptChoice {
    #[default]
    Keep,
    CustomerCan,
    Never,
}

/// What the supervisor has typed and chosen, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// Empty keeps the voice.
    pub voice: String,
    pub interrupt: InterruptChoice,
    /// Empty keeps the duration.
    pub speech_ms: String,
    /// Empty keeps the system prompt.
    pub prompt: String,
}

/// Why a draft cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    NothingToChange,
    VoiceHasSpaces,
    VoiceTooLong,
    SpeechNotWhole(String),
    SpeechOutOfRange,
    SpeechWithoutInterrupting,
    PromptTooLong,
}

impl Problem {
    /// What the supervisor reads.
    pub fn text(&self, s: &SettingsStrings) -> String {
        match self {
            Problem::NothingToChange => s.problem_nothing.to_owned(),
            Problem::VoiceHasSpaces => s.problem_voice_spaces.to_owned(),
            Problem::VoiceTooLong => fill(s.problem_voice_long, &[("max", &MAX_VOICE_CHARS.to_string())]),
            Problem::SpeechNotWhole(text) => fill(s.problem_speech_number, &[("text", text)]),
            Problem::SpeechOutOfRange => fill(s.problem_speech_range, &[("max", &MAX_SPEECH_MS.to_string())]),
            Problem::SpeechWithoutInterrupting => s.problem_speech_never.to_owned(),
            Problem::PromptTooLong => fill(s.problem_prompt_long, &[("max", &MAX_SYSTEM_PROMPT_CHARS.to_string())]),
        }
    }

    /// Whether this problem is worth showing before the supervisor asks to review (an
    /// empty form is not an error yet).
    pub fn shown_early(&self) -> bool {
        *self != Problem::NothingToChange
    }
}

/// Which setting a row of the review is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Voice,
    Interrupt,
    SpeechMs,
    Prompt,
}

impl Field {
    pub fn label(self, s: &SettingsStrings) -> &'static str {
        match self {
            Field::Voice => s.field_voice,
            Field::Interrupt => s.field_interrupt,
            Field::SpeechMs => s.field_speech,
            Field::Prompt => s.field_prompt,
        }
    }

    /// For element ids.
    pub fn key(self) -> &'static str {
        match self {
            Field::Voice => "voice",
            Field::Interrupt => "interrupt",
            Field::SpeechMs => "speech",
            Field::Prompt => "prompt",
        }
    }
}

/// A setting's value, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Voice(String),
    CustomerCanInterrupt(bool),
    SpeechMs(u64),
    Prompt(String),
}

impl Value {
    pub fn text(&self, s: &SettingsStrings) -> String {
        match self {
            Value::Voice(voice) | Value::Prompt(voice) => voice.clone(),
            Value::CustomerCanInterrupt(true) => s.value_can_interrupt.to_owned(),
            Value::CustomerCanInterrupt(false) => s.value_never.to_owned(),
            Value::SpeechMs(ms) => fill(s.value_ms, &[("ms", &ms.to_string())]),
        }
    }
}

/// One changed setting: what Switchboard knows of it now, and what it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffRow {
    pub field: Field,
    pub current: Current<Value>,
    pub new: Value,
    /// The new value is what Switchboard last set (sent anyway: the backend may differ).
    pub same: bool,
}

/// A checked draft: the change to send and its rows, current → new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub change: SettingsChange,
    pub rows: Vec<DiffRow>,
}

impl Review {
    /// Some changed setting's current value is not visible, so Switchboard could not put
    /// it back after the change.
    pub fn cannot_restore(&self) -> bool {
        self.rows.iter().any(|row| row.current == Current::Unknown)
    }

    /// "Voice → v-male-Bk7vD3xP; Customer interrupts → never interrupted", for the list of
    /// sent actions.
    pub fn summary(&self, s: &SettingsStrings) -> String {
        self.rows
            .iter()
            .map(|row| fill(s.change_line, &[("field", row.field.label(s)), ("value", &row.new.text(s))]))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn row<T: Clone>(field: Field, current: &Current<T>, new: T, wrap: impl Fn(T) -> Value) -> DiffRow {
    let current = match current {
        Current::Unknown => Current::Unknown,
        Current::Set { value, by, at } => Current::Set { value: wrap(value.clone()), by: by.clone(), at: *at },
    };
    let new = wrap(new);
    let same = current.value() == Some(&new);
    DiffRow { field, current, new, same }
}

impl Draft {
    /// Checks the draft against `current`: the change and its rows, or every problem.
    ///
    /// # Errors
    /// Each [`Problem`] found, in the form's order; [`Problem::NothingToChange`] alone when
    /// nothing was filled in.
    pub fn review(&self, current: &CurrentSettings) -> Result<Review, Vec<Problem>> {
        let mut problems = Vec::new();
        let voice = self.voice.trim();
        let voice = if voice.is_empty() {
            None
        } else if voice.chars().any(char::is_whitespace) {
            problems.push(Problem::VoiceHasSpaces);
            None
        } else if voice.chars().count() > MAX_VOICE_CHARS {
            problems.push(Problem::VoiceTooLong);
            None
        } else {
            Some(voice.to_owned())
        };
        let customer_can_interrupt = match self.interrupt {
            InterruptChoice::Keep => None,
            InterruptChoice::CustomerCan => Some(true),
            InterruptChoice::Never => Some(false),
        };
        let speech = self.speech_ms.trim();
        let speech_ms = if speech.is_empty() {
            None
        } else {
            match speech.parse::<u64>() {
                Ok(ms) if (1..=MAX_SPEECH_MS).contains(&ms) => Some(ms),
                Ok(_) => {
                    problems.push(Problem::SpeechOutOfRange);
                    None
                }
                Err(_) => {
                    problems.push(Problem::SpeechNotWhole(speech.to_owned()));
                    None
                }
            }
        };
        if !speech.is_empty() && customer_can_interrupt == Some(false) {
            problems.push(Problem::SpeechWithoutInterrupting);
        }
        let prompt = self.prompt.trim();
        let system_prompt = if prompt.is_empty() {
            None
        } else if prompt.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
            problems.push(Problem::PromptTooLong);
            None
        } else {
            Some(prompt.to_owned())
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut rows = Vec::new();
        if let Some(voice) = &voice {
            rows.push(row(Field::Voice, &current.voice, voice.clone(), Value::Voice));
        }
        if let Some(can) = customer_can_interrupt {
            rows.push(row(Field::Interrupt, &current.customer_can_interrupt, can, Value::CustomerCanInterrupt));
        }
        if let Some(ms) = speech_ms {
            rows.push(row(Field::SpeechMs, &current.interrupt_speech_ms, ms, Value::SpeechMs));
        }
        if let Some(prompt) = &system_prompt {
            rows.push(row(Field::Prompt, &current.system_prompt, prompt.clone(), Value::Prompt));
        }
        if rows.is_empty() {
            return Err(vec![Problem::NothingToChange]);
        }
        let change = SettingsChange {
            customer_can_interrupt,
            interrupt_speech_ms: speech_ms,
            voice: voice.map(|voice_id| VoiceChoice { provider: VOICE_PROVIDER.to_owned(), voice_id }),
            welcome_message: None,
            system_prompt,
        };
        Ok(Review { change, rows })
    }
}

/// "v-male-… (set by li at 01:23 into the call)", or that the backend set it unseen.
pub fn current_text(current: &Current<Value>, call_start: Option<SourceMs>, s: &SettingsStrings) -> String {
    match current {
        Current::Unknown => s.current_unknown.to_owned(),
        Current::Set { value, by, at } => {
            let into = format_duration(call_start.map_or(0, |start| at.0.saturating_sub(start.0)));
            fill(s.current_set, &[("value", &value.text(s)), ("name", by), ("at", &into)])
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct SettingsFormProps {
    pub language: Language,
    pub current: CurrentSettings,
    /// When the call started (for "set at 01:23 into the call").
    pub call_start: Option<SourceMs>,
    /// Why the supervisor may not change settings now, if so.
    pub blocked: Option<String>,
    /// The lifecycle of the latest settings change this screen sent.
    pub last: Option<Lifecycle>,
    /// Sends the change (with its summary for the list of sent actions).
    pub on_apply: Callback<(SettingsChange, String)>,
}

/// What the form shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Closed,
    Editing,
    Reviewing,
}

#[function_component]
pub fn SettingsForm(props: &SettingsFormProps) -> Html {
    let step = use_state(|| Step::Closed);
    let draft = use_state(Draft::default);
    let review_heading = use_node_ref();
    let open_button = use_node_ref();
    let s = settings_strings(props.language);
    let t = call_strings(props.language);

    let previous = use_mut_ref(|| Step::Closed);
    // Focus follows the step: the review's heading when it opens, the open button when the
    // form closes (never on the screen's first render).
    {
        let (review_heading, open_button, previous) = (review_heading.clone(), open_button.clone(), previous.clone());
        use_effect_with(*step, move |step| {
            let target = match (step, *previous.borrow()) {
                (Step::Reviewing, _) => review_heading.cast::<HtmlElement>(),
                (Step::Closed, Step::Editing | Step::Reviewing) => open_button.cast::<HtmlElement>(),
                _ => None,
            };
            if let Some(target) = target {
                let _ = target.focus();
            }
            *previous.borrow_mut() = *step;
        });
    }

    let checked = draft.review(&props.current);
    let go = |to: Step| {
        let step = step.clone();
        Callback::from(move |_: MouseEvent| step.set(to))
    };
    let close = {
        let (step, draft) = (step.clone(), draft.clone());
        Callback::from(move |_: MouseEvent| {
            step.set(Step::Closed);
            draft.set(Draft::default());
        })
    };
    let on_key = {
        let (step, draft) = (step.clone(), draft.clone());
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Escape" {
                match *step {
                    Step::Reviewing => step.set(Step::Editing),
                    _ => {
                        step.set(Step::Closed);
                        draft.set(Draft::default());
                    }
                }
            }
        })
    };
    let on_review = {
        let (step, ok) = (step.clone(), checked.is_ok());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            if ok {
                step.set(Step::Reviewing);
            }
        })
    };
    let on_apply = {
        let (step, draft, on_apply, checked) = (step.clone(), draft.clone(), props.on_apply.clone(), checked.clone());
        Callback::from(move |_: MouseEvent| {
            if let Ok(review) = &checked {
                on_apply.emit((review.change.clone(), review.summary(s)));
                step.set(Step::Closed);
                draft.set(Draft::default());
            }
        })
    };
    let text_input = |apply: fn(&mut Draft, String)| {
        let draft = draft.clone();
        Callback::from(move |event: InputEvent| {
            let value = field_value(&event);
            let mut next = (*draft).clone();
            apply(&mut next, value);
            draft.set(next);
        })
    };
    let pick_voice = |voice: &'static str| {
        let draft = draft.clone();
        Callback::from(move |_: MouseEvent| draft.set(Draft { voice: voice.to_owned(), ..(*draft).clone() }))
    };
    let interrupt_option = |choice: InterruptChoice, label: &'static str, id: &'static str| {
        let draft = draft.clone();
        let on = draft.interrupt == choice;
        html! {
            <label class={classes!("seg", on.then_some("seg-on"))} id={id}>
                <input type="radio" name="settings-interrupt" checked={on}
                    onchange={Callback::from(move |_| draft.set(Draft { interrupt: choice, ..(*draft).clone() }))} />
                { label }
            </label>
        }
    };

    let now_of = |field: Field, current: Current<Value>| {
        html! {
            <p class="settings-now" id={format!("settings-now-{}", field.key())}>
                <span class="settings-now-label">{ s.now_label }</span>
                <span class={classes!("settings-now-value", (current == Current::Unknown).then_some("settings-unknown"))}>
                    { current_text(&current, props.call_start, s) }
                </span>
            </p>
        }
    };
    let as_value = |current: &Current<String>| match current {
        Current::Unknown => Current::Unknown,
        Current::Set { value, by, at } => Current::Set { value: Value::Voice(value.clone()), by: by.clone(), at: *at },
    };
    let interrupt_now = match &props.current.customer_can_interrupt {
        Current::Unknown => Current::Unknown,
        Current::Set { value, by, at } => {
            Current::Set { value: Value::CustomerCanInterrupt(*value), by: by.clone(), at: *at }
        }
    };
    let speech_now = match &props.current.interrupt_speech_ms {
        Current::Unknown => Current::Unknown,
        Current::Set { value, by, at } => Current::Set { value: Value::SpeechMs(*value), by: by.clone(), at: *at },
    };
    let prompt_now = match &props.current.system_prompt {
        Current::Unknown => Current::Unknown,
        Current::Set { value, by, at } => Current::Set { value: Value::Prompt(value.clone()), by: by.clone(), at: *at },
    };
    let early: Vec<String> = match &checked {
        Err(problems) => problems.iter().filter(|problem| problem.shown_early()).map(|p| p.text(s)).collect(),
        Ok(_) => Vec::new(),
    };
    let blocked = props.blocked.is_some();

    let needed = t.role_name(SupervisorRole::needed_for(CommandAction::Update));
    let head = html! {
        <div class="action-head">
            <span class="action-name" id="settings-title">{ t.action_update }</span>
            <span class="role-tag" title={needed}>{ fill(t.needs_role, &[("role", needed)]) }</span>
        </div>
    };
    let last = props.last.as_ref().map(|life| {
        let stage = life.stage.as_str();
        html! {
            <p class="settings-last" id="settings-stage" aria-live="polite">
                { s.last_change }
                <span class={classes!("stage-pill", format!("stage-{stage}"))}>{ life.label }</span>
                if let Some(error) = &life.error {
                    <span class="intervention-error">{ error }</span>
                }
            </p>
        }
    });
    let reason =
        props.blocked.as_ref().map(|reason| html! { <p class="action-reason" id="settings-reason">{ reason }</p> });

    let body = match *step {
        Step::Closed => html! {
            <>
                <p class="call-hint">{ s.hint }</p>
                <div class="action-buttons">
                    <button type="button" class="button button-quiet" id="settings-open" ref={open_button.clone()}
                        onclick={go(Step::Editing)} disabled={blocked}>{ s.open }</button>
                </div>
            </>
        },
        Step::Editing => html! {
            <form class="settings-form" id="settings-form" onsubmit={on_review} onkeydown={on_key.clone()} novalidate=true>
                <div class="settings-field">
                    <label class="settings-label" for="settings-voice">{ s.field_voice }</label>
                    { now_of(Field::Voice, as_value(&props.current.voice)) }
                    <input id="settings-voice" class="settings-input" type="text" autocomplete="off" spellcheck="false"
                        placeholder={s.voice_placeholder} value={draft.voice.clone()}
                        oninput={text_input(|draft, value| draft.voice = value)} aria-describedby="settings-voice-help" />
                    <div class="settings-chips" role="group" aria-label={s.voice_suggestions}>
                        { for KNOWN_VOICES.iter().map(|voice| html! {
                            <button type="button" class={classes!("chip", (draft.voice.trim() == *voice).then_some("chip-on"))}
                                onclick={pick_voice(voice)}>{ *voice }</button>
                        }) }
                    </div>
                    <p class="call-hint" id="settings-voice-help">{ s.voice_help }</p>
                </div>
                <fieldset class="settings-field">
                    <legend class="settings-label">{ s.field_interrupt }</legend>
                    { now_of(Field::Interrupt, interrupt_now) }
                    <div class="segments">
                        { interrupt_option(InterruptChoice::Keep, s.keep, "settings-interrupt-keep") }
                        { interrupt_option(InterruptChoice::CustomerCan, s.interrupt_yes, "settings-interrupt-yes") }
                        { interrupt_option(InterruptChoice::Never, s.interrupt_never, "settings-interrupt-never") }
                    </div>
                </fieldset>
                <div class="settings-field">
                    <label class="settings-label" for="settings-speech">{ s.field_speech }</label>
                    { now_of(Field::SpeechMs, speech_now) }
                    <input id="settings-speech" class="settings-input" type="text" inputmode="numeric" autocomplete="off"
                        placeholder={s.speech_placeholder} value={draft.speech_ms.clone()}
                        oninput={text_input(|draft, value| draft.speech_ms = value)} aria-describedby="settings-speech-help" />
                    <p class="call-hint" id="settings-speech-help">{ s.speech_help }</p>
                </div>
                <div class="settings-field">
                    <label class="settings-label" for="settings-prompt">{ s.field_prompt }</label>
                    { now_of(Field::Prompt, prompt_now) }
                    <textarea id="settings-prompt" class="settings-input settings-prompt" rows="4" spellcheck="false"
                        maxlength={MAX_SYSTEM_PROMPT_CHARS.to_string()} placeholder={s.prompt_placeholder}
                        value={draft.prompt.clone()} oninput={text_input(|draft, value| draft.prompt = value)}
                        aria-describedby="settings-prompt-note" />
                    <p class="call-hint" id="settings-prompt-note">{ s.prompt_help }</p>
                </div>
                if !early.is_empty() {
                    <ul class="settings-problems" id="settings-problems" role="alert">
                        { for early.iter().map(|problem| html! { <li>{ problem }</li> }) }
                    </ul>
                }
                <div class="action-buttons">
                    <button type="submit" class="button" id="settings-review" disabled={checked.is_err() || blocked}>{ s.review }</button>
                    <button type="button" class="button button-quiet" id="settings-cancel" onclick={close.clone()}>{ t.cancel }</button>
                </div>
            </form>
        },
        Step::Reviewing => match &checked {
            // The draft cannot change while reviewing; this arm only guards a stale step.
            Err(_) => html! {
                <div class="action-buttons">
                    <button type="button" class="button button-quiet" id="settings-back" onclick={go(Step::Editing)}>{ s.back }</button>
                </div>
            },
            Ok(review) => html! {
                <div class="settings-review" id="settings-review-panel" role="region" aria-labelledby="settings-review-title" onkeydown={on_key.clone()}>
                    <h4 class="settings-review-title" id="settings-review-title" tabindex="-1" ref={review_heading.clone()}>{ s.review_title }</h4>
                    <table class="settings-diff" id="settings-diff">
                        <thead>
                            <tr><th scope="col">{ s.column_setting }</th><th scope="col">{ s.column_change }</th></tr>
                        </thead>
                        <tbody>
                            { for review.rows.iter().map(|row| {
                                let unknown = row.current == Current::Unknown;
                                html! {
                                    <tr id={format!("settings-diff-{}", row.field.key())}>
                                        <th scope="row">{ row.field.label(s) }</th>
                                        <td>
                                            <span class={classes!("diff-old", unknown.then_some("settings-unknown"))}>
                                                { match &row.current {
                                                    Current::Unknown => s.unknown_short.to_owned(),
                                                    Current::Set { value, .. } => value.text(s),
                                                } }
                                            </span>
                                            <span class="diff-arrow" aria-hidden="true">{ " → " }</span>
                                            <strong class="diff-new">{ row.new.text(s) }</strong>
                                            if row.same {
                                                <span class="diff-same">{ s.already_set }</span>
                                            }
                                        </td>
                                    </tr>
                                }
                            }) }
                        </tbody>
                    </table>
                    if review.cannot_restore() {
                        <p class="settings-warning" id="settings-cannot-restore">{ s.cannot_restore }</p>
                    }
                    <p class="call-hint">{ s.lock_note }</p>
                    <div class="action-buttons">
                        <button type="button" class="button" id="settings-apply" onclick={on_apply} disabled={blocked}>{ s.apply }</button>
                        <button type="button" class="button button-quiet" id="settings-back" onclick={go(Step::Editing)}>{ s.back }</button>
                    </div>
                </div>
            },
        },
    };

    html! {
        <section class="action action-settings" id="settings" aria-labelledby="settings-title">
            { head }
            { body }
            { reason.unwrap_or_default() }
            { last.unwrap_or_default() }
        </section>
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use domain::board::Board;
    use domain::event::{CommandRecord, Event, EventBody, Source};
    use domain::ids::TaskId;

    use super::*;
    use crate::testkit::Spec;

    const T0: u64 = 1_700_000_000_000;

    fn update(spec: &Spec, ms: u64, id: &str, by: &str, stage: CommandStage, summary: &str) -> Event {
        let mut event = spec.started(ms);
        event.source = Source::Hub;
        event.body = EventBody::Command(CommandRecord {
            id: id.into(),
            by: by.into(),
            action: CommandAction::Update,
            stage,
            round: None,
            summary: Some(summary.into()),
            error: (stage == CommandStage::Failed).then(|| "cloud_api: InvalidParameter.VoiceId".into()),
        });
        event
    }

    fn fold(events: &[Event]) -> Call {
        let mut board = Board::new();
        for event in events {
            board.apply(event);
        }
        board.call(&TaskId::new("t-1")).unwrap().clone()
    }

    fn draft(voice: &str, interrupt: InterruptChoice, speech_ms: &str) -> Draft {
        Draft { voice: voice.into(), interrupt, speech_ms: speech_ms.into(), prompt: String::new() }
    }

    #[test]
    fn the_hubs_update_summaries_are_read_part_by_part_and_nothing_is_guessed() {
        let seen = read_summary(
            "welcome message, interrupt mode 1, interrupt after 800 ms, LLM gpt-4o, voice v-male-Bk7vD3xP",
        );
        assert_eq!(
            seen,
            SummarySettings {
                voice: Some("v-male-Bk7vD3xP".into()),
                interrupt_mode: Some(1),
                interrupt_speech_ms: Some(800),
                system_prompt: None,
            }
        );
        assert_eq!(read_summary("voice ?"), SummarySettings::default(), "the hub's ? is no voice");
        assert_eq!(read_summary("interrupt mode 7, interrupt after soon ms"), SummarySettings::default());
        assert_eq!(read_summary(""), SummarySettings::default());
        // The prompt ends the summary and may hold the separator itself.
        let seen = read_summary("voice v-1, system prompt: Be brief, polite, and check the order.");
        assert_eq!(seen.voice.as_deref(), Some("v-1"));
        assert_eq!(seen.system_prompt.as_deref(), Some("Be brief, polite, and check the order."));
        let only = read_summary("system prompt: 你是退款专员, 回答简短。");
        assert_eq!((only.voice, only.system_prompt.as_deref()), (None, Some("你是退款专员, 回答简短。")));
        assert_eq!(read_summary("system prompt:  ").system_prompt, None, "an empty prompt is not one");
    }

    #[test]
    fn current_settings_are_what_switchboard_set_and_unknown_otherwise() {
        let spec = Spec::new("t-1", 8801, "customer_7");
        let mut events = vec![spec.started(T0), spec.ready(T0 + 200)];
        let call = fold(&events);
        assert_eq!(CurrentSettings::of(&call), CurrentSettings::default(), "nothing set: all unknown");

        events.push(update(&spec, T0 + 1_000, "c-1", "li", CommandStage::Requested, "voice v-female-p9Xy7Q1L"));
        events.push(update(&spec, T0 + 1_100, "c-1", "li", CommandStage::Done, "voice v-female-p9Xy7Q1L"));
        events.push(update(
            &spec,
            T0 + 2_000,
            "c-2",
            "wang",
            CommandStage::Done,
            "interrupt mode 1, voice v-male-Bk7vD3xP",
        ));
        // A failed change and one still on its way changed nothing.
        events.push(update(&spec, T0 + 3_000, "c-3", "li", CommandStage::Failed, "voice v-bad"));
        events.push(update(&spec, T0 + 3_500, "c-4", "li", CommandStage::Accepted, "interrupt after 900 ms"));
        let current = CurrentSettings::of(&fold(&events));
        assert_eq!(
            current.voice,
            Current::Set { value: "v-male-Bk7vD3xP".into(), by: "wang".into(), at: SourceMs(T0 + 2_000) }
        );
        assert_eq!(
            current.customer_can_interrupt,
            Current::Set { value: false, by: "wang".into(), at: SourceMs(T0 + 2_000) }
        );
        assert_eq!(current.interrupt_speech_ms, Current::Unknown);

        let s = settings_strings(Language::En);
        let voice =
            Current::Set { value: Value::Voice("v-male-Bk7vD3xP".into()), by: "wang".into(), at: SourceMs(T0 + 2_000) };
        assert_eq!(current_text(&voice, Some(SourceMs(T0)), s), "v-male-Bk7vD3xP (set by wang at 00:02 into the call)");
        assert_eq!(
            current_text(&Current::Unknown, None, s),
            "set by your backend at start; not visible to Switchboard"
        );
    }

    #[test]
    fn a_draft_becomes_a_change_with_its_rows_current_to_new() {
        let current = CurrentSettings {
            voice: Current::Set { value: "v-female-p9Xy7Q1L".into(), by: "li".into(), at: SourceMs(T0) },
            ..CurrentSettings::default()
        };
        let review = draft("  v-male-Bk7vD3xP ", InterruptChoice::Never, "").review(&current).unwrap();
        assert_eq!(
            review.change,
            SettingsChange {
                customer_can_interrupt: Some(false),
                interrupt_speech_ms: None,
                voice: Some(VoiceChoice { provider: "flow".into(), voice_id: "v-male-Bk7vD3xP".into() }),
                welcome_message: None,
                system_prompt: None,
            }
        );
        let fields: Vec<Field> = review.rows.iter().map(|row| row.field).collect();
        assert_eq!(fields, [Field::Voice, Field::Interrupt], "only what changes, in the form's order");
        assert!(
            matches!(&review.rows[0].current, Current::Set { value: Value::Voice(v), .. } if v == "v-female-p9Xy7Q1L")
        );
        assert_eq!(review.rows[1].current, Current::Unknown);
        assert!(review.cannot_restore(), "the interrupt mode's current value is not visible");
        let s = settings_strings(Language::En);
        assert_eq!(review.summary(s), "Voice → v-male-Bk7vD3xP; Customer interrupts → never interrupted");
        assert_eq!(review.summary(settings_strings(Language::ZhCn)), "音色 → v-male-Bk7vD3xP; 客户打断 → 从不打断");

        // Only the known voice changes: it can be put back.
        let voice_only = draft("v-female-R2s4N9qJ", InterruptChoice::Keep, "").review(&current).unwrap();
        assert!(!voice_only.cannot_restore());
        assert!(!voice_only.rows[0].same);
        let same = draft("v-female-p9Xy7Q1L", InterruptChoice::Keep, "").review(&current).unwrap();
        assert!(same.rows[0].same, "the same voice again is marked, and still sent");

        let speech = draft("", InterruptChoice::CustomerCan, " 800 ").review(&CurrentSettings::default()).unwrap();
        assert_eq!((speech.change.customer_can_interrupt, speech.change.interrupt_speech_ms), (Some(true), Some(800)));
        assert_eq!(speech.change.voice, None);
    }

    #[test]
    fn a_new_system_prompt_is_a_row_against_the_one_switchboard_set_last() {
        let current = CurrentSettings {
            system_prompt: Current::Set { value: "Be brief.".into(), by: "li".into(), at: SourceMs(T0) },
            ..CurrentSettings::default()
        };
        let typed = Draft { prompt: "  You are Acme's refund specialist.\n".into(), ..Draft::default() };
        let review = typed.review(&current).unwrap();
        assert_eq!(review.change.system_prompt.as_deref(), Some("You are Acme's refund specialist."));
        assert_eq!((review.change.voice.clone(), review.change.customer_can_interrupt), (None, None));
        assert_eq!(review.rows.len(), 1);
        assert_eq!(review.rows[0].field, Field::Prompt);
        assert!(matches!(&review.rows[0].current, Current::Set { value: Value::Prompt(p), .. } if p == "Be brief."));
        assert!(!review.cannot_restore(), "the prompt Switchboard set can be put back");

        let long = Draft { prompt: "长".repeat(MAX_SYSTEM_PROMPT_CHARS + 1), ..Draft::default() };
        assert_eq!(long.review(&current).unwrap_err(), [Problem::PromptTooLong]);
        let s = settings_strings(Language::ZhCn);
        assert_eq!(Problem::PromptTooLong.text(s), format!("系统提示词最多 {MAX_SYSTEM_PROMPT_CHARS} 个字符"));
    }

    #[test]
    fn bad_drafts_name_every_problem() {
        let none = CurrentSettings::default();
        assert_eq!(Draft::default().review(&none), Err(vec![Problem::NothingToChange]));
        assert_eq!(draft("   ", InterruptChoice::Keep, " ").review(&none), Err(vec![Problem::NothingToChange]));
        assert_eq!(
            draft("v female", InterruptChoice::Never, "fast").review(&none),
            Err(vec![
                Problem::VoiceHasSpaces,
                Problem::SpeechNotWhole("fast".into()),
                Problem::SpeechWithoutInterrupting
            ])
        );
        assert_eq!(draft("", InterruptChoice::Keep, "0").review(&none), Err(vec![Problem::SpeechOutOfRange]));
        assert_eq!(draft("", InterruptChoice::Keep, "60001").review(&none), Err(vec![Problem::SpeechOutOfRange]));
        assert_eq!(
            draft("", InterruptChoice::Keep, "-5").review(&none),
            Err(vec![Problem::SpeechNotWhole("-5".into())])
        );
        assert_eq!(
            draft("", InterruptChoice::Keep, "60000").review(&none).map(|r| r.change.interrupt_speech_ms),
            Ok(Some(60_000))
        );
        let long = "v".repeat(MAX_VOICE_CHARS + 1);
        assert_eq!(draft(&long, InterruptChoice::Keep, "").review(&none), Err(vec![Problem::VoiceTooLong]));

        let s = settings_strings(Language::En);
        assert_eq!(
            Problem::SpeechNotWhole("fast".into()).text(s),
            "The speech duration must be a whole number of milliseconds, not \"fast\""
        );
        assert_eq!(Problem::SpeechOutOfRange.text(s), "The speech duration must be between 1 and 60000 ms");
        assert!(!Problem::NothingToChange.shown_early() && Problem::VoiceHasSpaces.shown_early());
    }
}
