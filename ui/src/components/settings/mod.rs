//! The settings screen: the hub connection (which hub, its status, test / connect / back to
//! the demo), where the hub token is kept, the language, the local cache (place, size,
//! retention) and the alert rule editor ([`rules::RulesEditor`], also shown on the alerts
//! screen).
//!
//! What deliberately does not live here: checking anything the engine decides — the hub
//! check, the retention's range and the rules' validity come back from the shell (the form
//! checks with the same domain functions first, so it can point at the field).

mod rule_form;
pub mod rules;

use domain::api::{
    parse_retention_days, AppInfo, CacheInfo, ConnectHub, GetCacheInfo, GetTokenLocation, HubCheck, HubCredentials,
    Language, NoArgs, SetLanguage, SetLanguageRequest, SetRetention, SetRetentionRequest, TestHubConnection,
    TokenLocation, UseDemo,
};
use yew::prelude::*;

pub(super) use crate::components::forms::field_value as input_value;

use super::app::AppContext;
use super::header::status_key;
use crate::i18n::settings::{settings, SettingsStrings};
use crate::i18n::{fill, strings};
use crate::ipc::invoke;
use crate::state::{Action, AppState};
use rules::RulesEditor;

#[function_component]
pub fn SettingsScreen() -> Html {
    let Some(state) = use_context::<AppContext>() else { return Html::default() };
    let text = settings(state.language);
    html! {
        <section class="screen settings" aria-labelledby="settings-title">
            <h2 id="settings-title" class="section-title">{ text.title }</h2>
            <div class="settings-grid">
                <HubSection />
                <div class="settings-column">
                    <LanguageSection />
                    <CacheSection />
                </div>
                <section class="settings-card settings-wide" aria-labelledby="rules-title">
                    <h3 id="rules-title">{ text.rules_section }</h3>
                    <RulesEditor />
                </section>
            </div>
        </section>
    }
}

/// What a finished action said, for the line under its buttons.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Done(String),
    Failed(String),
}

pub(crate) fn outcome_line(outcome: &Option<Outcome>, id: &str) -> Html {
    match outcome {
        None => html! { <p class="form-outcome" id={id.to_owned()} aria-live="polite"></p> },
        Some(Outcome::Done(message)) => html! {
            <p class="form-outcome ok" id={id.to_owned()} role="status">{ message.clone() }</p>
        },
        Some(Outcome::Failed(message)) => html! {
            <p class="form-outcome bad" id={id.to_owned()} role="alert">{ message.clone() }</p>
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HubOp {
    Test,
    Connect,
    Demo,
}

/// The hub's role as the supervisor reads it.
fn role_name(role: &str, text: &SettingsStrings) -> String {
    match role {
        "viewer" => text.role_viewer.to_owned(),
        "supervisor" => text.role_supervisor.to_owned(),
        "lead" => text.role_lead.to_owned(),
        other => other.to_owned(),
    }
}

/// The line saying who the hub says you are.
fn check_line(check: &HubCheck, text: &SettingsStrings) -> String {
    fill(
        text.test_ok,
        &[("user", &check.user), ("role", &role_name(&check.role, text)), ("seq", &check.last_seq.to_string())],
    )
}

/// The form's hub address and token, or what is missing.
fn credentials(url: &str, token: &str, text: &SettingsStrings) -> Result<HubCredentials, String> {
    if url.trim().is_empty() {
        return Err(text.url_required.to_owned());
    }
    if token.trim().is_empty() {
        return Err(text.token_required.to_owned());
    }
    Ok(HubCredentials { url: url.trim().to_owned(), token: token.trim().to_owned() })
}
#[function_component]
fn HubSection() -> Html {
    let state = use_context::<AppContext>();
    let configured = state
        .as_ref()
        .and_then(|state| state.info.as_ref())
        .and_then(|info| info.hub.as_ref())
        .filter(|hub| !hub.demo)
        .map(|hub| hub.url.clone())
        .unwrap_or_default();
    let url = use_state(move || configured);
    // Never prefilled: the stored token does not come back to the window.
    let token = use_state(String::new);
    let busy = use_state(|| None::<HubOp>);
    let outcome = use_state(|| None::<Outcome>);
    let Some(state) = state else { return Html::default() };
    let text = settings(state.language);
    let main = strings(state.language);

    let run = {
        let (url, token, busy, outcome, state) =
            (url.clone(), token.clone(), busy.clone(), outcome.clone(), state.clone());
        move |op: HubOp| {
            let (token, busy, outcome, state) = (token.clone(), busy.clone(), outcome.clone(), state.clone());
            let hub = match op {
                HubOp::Demo => None,
                _ => match credentials(&url, &token, text) {
                    Ok(hub) => Some(hub),
                    Err(message) => {
                        outcome.set(Some(Outcome::Failed(message)));
                        return;
                    }
                },
            };
            busy.set(Some(op));
            outcome.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let said = match (op, hub) {
                    (HubOp::Test, Some(hub)) => match invoke::<TestHubConnection>(&hub).await {
                        Ok(check) => Outcome::Done(check_line(&check, text)),
                        Err(err) => Outcome::Failed(fill(text.test_failed, &[("message", &err.message)])),
                    },
                    (HubOp::Connect, Some(hub)) => match invoke::<ConnectHub>(&hub).await {
                        Ok(info) => {
                            token.set(String::new());
                            state.dispatch(Action::InfoLoaded(info));
                            Outcome::Done(fill(text.connect_ok, &[("url", &hub.url)]))
                        }
                        Err(err) => Outcome::Failed(fill(text.connect_failed, &[("message", &err.message)])),
                    },
                    _ => match invoke::<UseDemo>(&NoArgs {}).await {
                        Ok(info) => {
                            state.dispatch(Action::InfoLoaded(info));
                            Outcome::Done(text.demo_ok.to_owned())
                        }
                        Err(err) => Outcome::Failed(fill(text.demo_failed, &[("message", &err.message)])),
                    },
                };
                busy.set(None);
                outcome.set(Some(said));
            });
        }
    };
    let click = |op: HubOp| {
        let run = run.clone();
        Callback::from(move |_: MouseEvent| run(op))
    };
    let on_submit = {
        let run = run.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            run(HubOp::Test);
        })
    };
    let hub = state.info.as_ref().and_then(|info| info.hub.clone());
    let current = match &hub {
        Some(hub) if hub.demo => fill(text.hub_demo_value, &[("url", &hub.url)]),
        Some(hub) => hub.url.clone(),
        None => text.hub_none.to_owned(),
    };
    let (status_class, status_text) = match state.connection() {
        None => ("status-unknown".to_owned(), main.loading.to_owned()),
        Some(status) => (format!("conn-{}", status_key(&status)), main.connection(&status)),
    };
    let working = busy.is_some();
    let label = |op: HubOp, idle: &'static str, doing: &'static str| if *busy == Some(op) { doing } else { idle };
    html! {
        <section class="settings-card" aria-labelledby="hub-title">
            <h3 id="hub-title">{ text.hub_section }</h3>
            <dl class="facts">
                <dt>{ text.hub_current }</dt>
                <dd id="settings-hub">{ current }</dd>
                <dt>{ text.hub_status }</dt>
                <dd><span class={classes!("conn", status_class)} id="settings-connection">
                    <span class="status-dot" aria-hidden="true"></span>{ status_text }
                </span></dd>
                <dt>{ text.token_section }</dt>
                <dd><TokenWhere /></dd>
            </dl>
            <form class="hub-form" onsubmit={on_submit} autocomplete="off" novalidate=true>
                <h4>{ text.hub_form_title }</h4>
                <label class="field" for="hub-url">
                    <span class="field-label">{ text.hub_url_label }</span>
                    <input id="hub-url" type="url" inputmode="url" spellcheck="false" value={(*url).clone()}
                           placeholder={text.hub_url_placeholder} disabled={working}
                           oninput={let url = url.clone(); Callback::from(move |e: InputEvent| url.set(input_value(&e)))} />
                </label>
                <label class="field" for="hub-token">
                    <span class="field-label">{ text.hub_token_label }</span>
                    <input id="hub-token" type="password" autocomplete="new-password" spellcheck="false"
                           value={(*token).clone()} disabled={working}
                           oninput={let token = token.clone(); Callback::from(move |e: InputEvent| token.set(input_value(&e)))} />
                    <span class="field-hint">{ text.hub_token_hint }</span>
                </label>
                <div class="form-actions">
                    <button type="submit" id="hub-test" class="button" disabled={working}>
                        { label(HubOp::Test, text.test_button, text.testing) }
                    </button>
                    <button type="button" id="hub-connect" class="button primary" disabled={working}
                            onclick={click(HubOp::Connect)}>
                        { label(HubOp::Connect, text.connect_button, text.connecting) }
                    </button>
                    <button type="button" id="hub-use-demo" class="button"
                            disabled={working || hub.as_ref().is_some_and(|hub| hub.demo)}
                            onclick={click(HubOp::Demo)}>
                        { label(HubOp::Demo, text.use_demo_button, text.switching_demo) }
                    </button>
                </div>
                { outcome_line(&outcome, "hub-outcome") }
            </form>
        </section>
    }
}

/// Where the token of the hub in use is kept, asked again whenever the hub changes.
#[function_component]
fn TokenWhere() -> Html {
    let state = use_context::<AppContext>();
    let location = use_state(|| None::<Result<TokenLocation, String>>);
    let hub_key = state
        .as_ref()
        .and_then(|state| state.info.as_ref())
        .and_then(|info| info.hub.as_ref())
        .map(|hub| (hub.url.clone(), hub.demo));
    {
        let location = location.clone();
        use_effect_with(hub_key, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let answer = invoke::<GetTokenLocation>(&NoArgs {}).await.map_err(|err| err.message);
                location.set(Some(answer));
            });
        });
    }
    let Some(state) = state else { return Html::default() };
    let text = settings(state.language);
    let (class, line) = match &*location {
        None => ("", strings(state.language).loading.to_owned()),
        Some(Ok(where_)) => ("", token_line(where_, text)),
        Some(Err(message)) => ("bad", fill(text.token_load_failed, &[("message", message)])),
    };
    html! { <span id="token-storage" class={classes!("token-where", class)}>{ line }</span> }
}

/// Where the token is, as a sentence.
fn token_line(location: &TokenLocation, text: &SettingsStrings) -> String {
    match location {
        TokenLocation::Keychain => text.token_keychain.to_owned(),
        TokenLocation::File { path } => fill(text.token_file, &[("path", path)]),
        TokenLocation::DemoCredentials { path } => fill(text.token_demo, &[("path", path)]),
        TokenLocation::NotSaved => text.token_not_saved.to_owned(),
    }
}

/// Saves the language choice (the header's switch does the same).
fn choose_language(state: &UseReducerHandle<AppState>, language: Language) {
    state.dispatch(Action::LanguageChosen(language));
    let dispatcher = state.dispatcher();
    wasm_bindgen_futures::spawn_local(async move {
        match invoke::<SetLanguage>(&SetLanguageRequest { language }).await {
            Ok(info) => dispatcher.dispatch(Action::InfoLoaded(info)),
            Err(err) => dispatcher.dispatch(Action::Failed(err)),
        }
    });
}

/// Whether the language follows the OS or is a saved choice, as a sentence.
fn language_line(info: &AppInfo, text: &SettingsStrings) -> String {
    let locale = info.os_locale.clone().unwrap_or_else(|| text.locale_unknown.to_owned());
    let template = if info.language_saved { text.language_saved } else { text.language_following };
    fill(template, &[("locale", &locale)])
}

#[function_component]
fn LanguageSection() -> Html {
    let Some(state) = use_context::<AppContext>() else { return Html::default() };
    let text = settings(state.language);
    let line = state.info.as_ref().map(|info| language_line(info, text)).unwrap_or_default();
    html! {
        <section class="settings-card" aria-labelledby="language-title">
            <h3 id="language-title">{ text.language_section }</h3>
            <div class="choice" role="group" aria-labelledby="language-title">
                { for Language::ALL.into_iter().map(|language| {
                    let active = language == state.language;
                    let state = state.clone();
                    html! {
                        <button type="button" id={format!("settings-lang-{}", language.tag())} lang={language.tag()}
                                class={classes!("choice-button", active.then_some("active"))}
                                aria-pressed={active.to_string()} disabled={state.saving_language}
                                onclick={Callback::from(move |_| choose_language(&state, language))}>
                            { language.native_name() }
                        </button>
                    }
                }) }
            </div>
            <p class="card-note" id="settings-language-source">{ line }</p>
        </section>
    }
}

/// A size in bytes as people read it (binary units, one decimal from MB up).
pub(crate) fn human_bytes(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = KB * 1024;
    const GB: u64 = MB * 1024;
    // Display only: the precision lost above 2^52 bytes does not show at one decimal.
    #[allow(clippy::cast_precision_loss)]
    let tenths = |unit: u64| format!("{:.1}", bytes as f64 / unit as f64);
    match bytes {
        0..KB => format!("{bytes} B"),
        KB..MB => format!("{} KB", bytes.div_ceil(KB)),
        MB..GB => format!("{} MB", tenths(MB)),
        _ => format!("{} GB", tenths(GB)),
    }
}

/// The retention typed in the form, or the sentence saying what is wrong.
pub(crate) fn retention_input(typed: &str, text: &SettingsStrings) -> Result<i64, String> {
    let days = typed.trim().parse::<i64>().map_err(|_| text.retention_invalid.to_owned())?;
    parse_retention_days(days).map(i64::from).map_err(|_| text.retention_invalid.to_owned())
}

#[function_component]
fn CacheSection() -> Html {
    let state = use_context::<AppContext>();
    let info = use_state(|| None::<Result<CacheInfo, String>>);
    let typed = use_state(String::new);
    let saving = use_state(|| false);
    let outcome = use_state(|| None::<Outcome>);
    // Asked again when the link changes (another hub has another cache file).
    let hub_key = state
        .as_ref()
        .and_then(|state| state.info.as_ref())
        .and_then(|info| info.hub.as_ref())
        .map(|hub| hub.url.clone());
    {
        let (info, typed) = (info.clone(), typed.clone());
        use_effect_with(hub_key, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let answer = invoke::<GetCacheInfo>(&NoArgs {}).await.map_err(|err| err.message);
                if let Ok(cache) = &answer {
                    typed.set(cache.retention_days.to_string());
                }
                info.set(Some(answer));
            });
        });
    }
    let Some(state) = state else { return Html::default() };
    let text = settings(state.language);
    let on_save = {
        let (info, typed, saving, outcome) = (info.clone(), typed.clone(), saving.clone(), outcome.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let days = match retention_input(&typed, text) {
                Ok(days) => days,
                Err(message) => return outcome.set(Some(Outcome::Failed(message))),
            };
            saving.set(true);
            outcome.set(None);
            let (info, typed, saving, outcome) = (info.clone(), typed.clone(), saving.clone(), outcome.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match invoke::<SetRetention>(&SetRetentionRequest { retention_days: days }).await {
                    Ok(cache) => {
                        let days = cache.retention_days.to_string();
                        outcome.set(Some(Outcome::Done(fill(text.retention_saved_ok, &[("days", &days)]))));
                        typed.set(days);
                        info.set(Some(Ok(cache)));
                    }
                    Err(err) => {
                        outcome.set(Some(Outcome::Failed(fill(text.retention_failed, &[("message", &err.message)]))))
                    }
                }
                saving.set(false);
            });
        })
    };
    let facts = match &*info {
        None => html! { <p class="card-note">{ strings(state.language).loading }</p> },
        Some(Err(message)) => html! {
            <p class="form-outcome bad" role="alert">{ fill(text.cache_load_failed, &[("message", message)]) }</p>
        },
        Some(Ok(cache)) => html! {
            <dl class="facts">
                <dt>{ text.cache_location }</dt>
                <dd><code id="cache-path">{ cache.path.clone() }</code></dd>
                <dt>{ text.cache_size }</dt>
                <dd><span id="cache-size">{ human_bytes(cache.bytes) }</span>
                    <span class="field-hint">{ format!(" · {}", text.cache_size_hint) }</span></dd>
            </dl>
        },
    };
    let is_default = matches!(&*info, Some(Ok(cache)) if !cache.retention_saved);
    html! {
        <section class="settings-card" aria-labelledby="cache-title">
            <h3 id="cache-title">{ text.cache_section }</h3>
            { facts }
            <form class="retention-form" onsubmit={on_save} novalidate=true>
                <label class="field" for="retention-days">
                    <span class="field-label">{ text.retention_label }
                        { if is_default { html! { <span class="muted">{ format!(" ({})", text.retention_default) }</span> } } else { html! {} } }
                    </span>
                    <span class="field-row">
                        <input id="retention-days" type="number" inputmode="numeric" min="1" max="3650" step="1"
                               class="number" value={(*typed).clone()} disabled={*saving}
                               aria-describedby="retention-hint"
                               oninput={let typed = typed.clone(); Callback::from(move |e: InputEvent| typed.set(input_value(&e)))} />
                        <span class="unit">{ text.retention_unit }</span>
                        <button type="submit" id="retention-save" class="button primary" disabled={*saving}>
                            { if *saving { text.saving } else { text.save_button } }
                        </button>
                    </span>
                    <span class="field-hint" id="retention-hint">{ text.retention_hint }</span>
                </label>
                { outcome_line(&outcome, "retention-outcome") }
            </form>
        </section>
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use domain::api::{ConnectionStatus, Language};

    use super::*;

    #[test]
    fn sizes_read_in_the_unit_that_fits() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1_000), "1000 B");
        assert_eq!(human_bytes(4_096), "4 KB");
        assert_eq!(human_bytes(4_097), "5 KB");
        assert_eq!(human_bytes(5 * 1024 * 1024 + 300 * 1024), "5.3 MB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GB");
    }

    #[test]
    fn the_retention_form_accepts_whole_days_in_range_and_says_what_is_wrong_otherwise() {
        let en = settings(Language::En);
        assert_eq!(retention_input(" 30 ", en), Ok(30));
        assert_eq!(retention_input("3650", en), Ok(3_650));
        for typed in ["0", "-3", "3651", "1.5", "", "thirty"] {
            assert_eq!(retention_input(typed, en), Err(en.retention_invalid.to_owned()), "{typed:?}");
        }
    }

    #[test]
    fn the_token_line_says_where_in_both_languages() {
        let (en, zh) = (settings(Language::En), settings(Language::ZhCn));
        let file = TokenLocation::File { path: "/d/hub-token.json".into() };
        assert!(token_line(&file, en).contains("/d/hub-token.json (permissions 0600"));
        assert!(token_line(&file, zh).contains("/d/hub-token.json"));
        assert_eq!(token_line(&TokenLocation::Keychain, en), "In the operating system's keychain.");
        let demo = TokenLocation::DemoCredentials { path: "/d/demo/credentials.json".into() };
        assert!(
            token_line(&demo, zh).contains("内置演示") && token_line(&demo, zh).contains("/d/demo/credentials.json")
        );
    }

    #[test]
    fn the_hub_forms_check_names_who_you_are_and_what_is_missing() {
        let en = settings(Language::En);
        let check = HubCheck { user: "demo-lead".into(), role: "lead".into(), last_seq: 42 };
        assert_eq!(
            check_line(&check, en),
            "Connection works: signed in as demo-lead (lead); the hub's log is at event 42."
        );
        assert!(check_line(&check, settings(Language::ZhCn)).contains("demo-lead（组长）"));
        assert_eq!(credentials(" ", "t", en), Err(en.url_required.to_owned()));
        assert_eq!(credentials("http://h", "  ", en), Err(en.token_required.to_owned()));
        let hub = credentials(" http://h ", " t ", en).unwrap();
        assert_eq!((hub.url.as_str(), hub.token.as_str()), ("http://h", "t"));
    }

    #[test]
    fn the_language_line_says_whether_it_follows_the_os() {
        let mut info = AppInfo {
            version: "1".into(),
            data_dir: "/d".into(),
            os_locale: Some("en_US.UTF-8".into()),
            language: Language::En,
            language_saved: false,
            connection: ConnectionStatus::Live,
            notices: vec![],
            hub: None,
        };
        assert_eq!(language_line(&info, settings(Language::En)), "Following the system language (en_US.UTF-8).");
        info.language_saved = true;
        info.os_locale = None;
        assert_eq!(language_line(&info, settings(Language::ZhCn)), "这是已保存的选择；系统语言为 未知。");
    }
}
