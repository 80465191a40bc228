//! One call's review, from the local cache only (works with the hub unreachable): the
//! header, the recording player (download with progress, then play the local file through
//! the asset protocol — from memory where the window cannot, see [`super::media`]), the
//! transcript in sync with the playhead, the SVG timeline, notes, tags, the QA score and
//! export.
//!
//! The playhead is a time on the events' clock (source ms). With a recording it follows
//! the audio (`file start + currentTime`, see [`super::model::recording_start`]), and a
//! click on a sentence, the timeline or the seek bar moves the audio there, also while it
//! plays; without one, those clicks move the playhead alone, so the transcript and
//! timeline can still be walked through. Player errors are kept as data and worded in the
//! language shown.

use std::rc::Rc;

use domain::alert::FiredAlert;
use domain::api::{
    AddNote, AddNoteRequest, ApiError, CallRequest, CallReview, DownloadRecording, ErrorCode, ExportCall,
    ExportRequest, ExportSummary, GetAlerts, GetCallEvents, GetCallRecordings, GetCallReview, NoArgs, RecordingRef,
    RecordingView, SetQaScore, SetQaScoreRequest, SetTags, SetTagsRequest,
};
use domain::call::Call;
use domain::event::{Event as CallEvent, Speaker};
use domain::ids::TaskId;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::history::{local_time, outcome};
use super::media::{asset_url, blob_url, media_error, name_and_message, MediaElement, ObjectUrl};
use super::model::{
    bar_height, clock, download_percent, file_seconds, fold_call, latency_ceiling, media_ms, needs_seek, offset,
    recording_start, sentence_at, state_spans, transcript, turn_latencies, Marker, MarkerKind, PlaybackFailure,
    RecordingStart, Scale, Sentence, StartSource,
};
use crate::components::app::AppContext;
use crate::i18n::review::{review, ReviewStrings};
use crate::i18n::{fill, strings};
use crate::ipc::invoke;

/// Everything the review shows, read once from the cache.
#[derive(Debug, Clone, PartialEq)]
struct Loaded {
    events: Rc<Vec<CallEvent>>,
    call: Rc<Call>,
    sentences: Rc<Vec<Sentence>>,
    recordings: Vec<RecordingView>,
    review: CallReview,
    alerts: Vec<FiredAlert>,
}

#[derive(Debug, Clone, PartialEq)]
enum Fetch {
    Pending,
    Ready(Box<Loaded>),
    Failed(ApiError),
}

/// What changes the review after it loaded. A reducer, so an answer that arrives late (a
/// recordings check, a saved note) updates the review as it is then, not as it was when
/// the request left.
enum FetchAction {
    Loaded(Box<Loaded>),
    Failed(ApiError),
    Review(CallReview),
    /// One file after a download.
    Recording(RecordingView),
    /// The whole list again, while a file was still being recorded.
    Recordings(Vec<RecordingView>),
}

impl Reducible for Fetch {
    type Action = FetchAction;

    fn reduce(self: Rc<Self>, action: FetchAction) -> Rc<Self> {
        let update = |change: &dyn Fn(&mut Loaded)| match &*self {
            Fetch::Ready(loaded) => {
                let mut next = loaded.clone();
                change(&mut next);
                Rc::new(Fetch::Ready(next))
            }
            _ => self.clone(),
        };
        match action {
            FetchAction::Loaded(loaded) => Rc::new(Fetch::Ready(loaded)),
            FetchAction::Failed(error) => Rc::new(Fetch::Failed(error)),
            FetchAction::Review(review) => update(&|loaded| loaded.review = review.clone()),
            FetchAction::Recording(view) => update(&|loaded| {
                let same = |known: &&mut RecordingView| known.recording == view.recording && known.name == view.name;
                if let Some(known) = loaded.recordings.iter_mut().find(same) {
                    *known = view.clone();
                }
            }),
            FetchAction::Recordings(views) => update(&|loaded| loaded.recordings = views.clone()),
        }
    }
}

/// How often the review asks again whether a file still being recorded is stored yet.
const RECORDING_CHECK_MS: i32 = 5_000;

#[derive(Properties, PartialEq)]
pub struct CallReviewProps {
    pub task: TaskId,
    /// Where to put the playhead first (a search hit's sentence), source ms.
    pub focus_ms: Option<u64>,
    pub on_back: Callback<()>,
}

async fn load(task: &TaskId) -> Result<Loaded, ApiError> {
    let request = CallRequest { call: task.clone() };
    let events = invoke::<GetCallEvents>(&request).await?;
    let recordings = invoke::<GetCallRecordings>(&request).await?;
    let review = invoke::<GetCallReview>(&request).await?;
    // Alerts only add markers: the review stands without them.
    let alerts = invoke::<GetAlerts>(&NoArgs {})
        .await
        .map(|alerts| alerts.into_iter().map(|entry| entry.alert).filter(|alert| alert.call == *task).collect())
        .unwrap_or_default();
    let call = fold_call(task, &events);
    let sentences = transcript(&call);
    Ok(Loaded {
        events: Rc::new(events),
        call: Rc::new(call),
        sentences: Rc::new(sentences),
        recordings,
        review,
        alerts,
    })
}

#[function_component]
pub fn CallReviewView(props: &CallReviewProps) -> Html {
    let state = use_context::<AppContext>();
    let language = state.as_ref().map_or(domain::api::Language::En, |state| state.language);
    let text = review(language);
    let loading = use_reducer(|| Fetch::Pending);
    let position = use_state(|| props.focus_ms);
    let reload = use_state(|| 0_u32);
    let checks = use_state(|| 0_u32);

    {
        let (loading, position) = (loading.dispatcher(), position.clone());
        let focus = props.focus_ms;
        use_effect_with((props.task.clone(), *reload), move |(task, _)| {
            let task = task.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match load(&task).await {
                    Ok(loaded) => {
                        if focus.is_none() && position.is_none() {
                            position.set(loaded.call.started_ms().map(|at| at.0));
                        }
                        loading.dispatch(FetchAction::Loaded(Box::new(loaded)));
                    }
                    Err(error) => loading.dispatch(FetchAction::Failed(error)),
                }
            });
        });
    }
    // A call that just ended is still being recorded: ask again every few seconds until
    // TRTC has stored its files, so the download button comes alive without a reload.
    {
        let recording = matches!(&*loading, Fetch::Ready(loaded) if loaded.recordings.iter().any(|file| !file.ready));
        let (loading, checks) = (loading.dispatcher(), checks.clone());
        use_effect_with((props.task.clone(), recording, *checks), move |(task, recording, _)| {
            let open = Rc::new(std::cell::Cell::new(true));
            if *recording {
                let (task, open) = (task.clone(), open.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    crate::hooks::sleep(RECORDING_CHECK_MS).await;
                    if !open.get() {
                        return;
                    }
                    // A failed check is tried again at the next tick; the list shown stays.
                    if let Ok(views) = invoke::<GetCallRecordings>(&CallRequest { call: task }).await {
                        if open.get() {
                            loading.dispatch(FetchAction::Recordings(views));
                        }
                    }
                    if open.get() {
                        checks.set(*checks + 1);
                    }
                });
            }
            move || open.set(false)
        });
    }

    let back = {
        let on_back = props.on_back.clone();
        Callback::from(move |_: MouseEvent| on_back.emit(()))
    };
    let body = match &*loading {
        Fetch::Pending => html! { <p class="review-state" role="status">{ text.call_loading }</p> },
        Fetch::Failed(error) => {
            let reload = reload.clone();
            html! {
                <div class="review-state review-error" role="alert">
                    <p>{ fill(text.call_error, &[("message", &error.message)]) }</p>
                    <button type="button" class="review-button" onclick={Callback::from(move |_: MouseEvent| reload.set(*reload + 1))}>
                        { text.retry }
                    </button>
                </div>
            }
        }
        Fetch::Ready(loaded) if loaded.events.is_empty() => {
            html! { <p class="review-state">{ text.call_not_cached }</p> }
        }
        Fetch::Ready(loaded) => {
            let on_review = {
                let loading = loading.dispatcher();
                Callback::from(move |review: CallReview| loading.dispatch(FetchAction::Review(review)))
            };
            let on_recording = {
                let loading = loading.dispatcher();
                Callback::from(move |view: RecordingView| loading.dispatch(FetchAction::Recording(view)))
            };
            html! { <Review loaded={(**loaded).clone()} position={*position} on_position={
                let position = position.clone();
                Callback::from(move |at: u64| position.set(Some(at)))
            } {on_review} {on_recording} task={props.task.clone()} /> }
        }
    };
    html! {
        <section class="screen review-call" aria-labelledby="review-call-title">
            <button type="button" class="review-button review-back" onclick={back}>{ "← " }{ text.back_to_history }</button>
            { body }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct ReviewProps {
    task: TaskId,
    loaded: Loaded,
    position: Option<u64>,
    on_position: Callback<u64>,
    on_review: Callback<CallReview>,
    on_recording: Callback<RecordingView>,
}

#[function_component]
fn Review(props: &ReviewProps) -> Html {
    let state = use_context::<AppContext>();
    let language = state.as_ref().map_or(domain::api::Language::En, |state| state.language);
    let text = review(language);
    let base = strings(language);
    let loaded = &props.loaded;
    let call = &loaded.call;

    let started = call.started_ms().map(|at| at.0).or_else(|| loaded.sentences.first().map(|s| s.start_ms));
    let ended = call.ended_ms().or(call.last_ms()).map(|at| at.0);
    // The file to play: the first one on this machine, else the first one listed.
    let file = loaded.recordings.iter().find(|view| view.local_path.is_some()).or(loaded.recordings.first()).cloned();
    let start = file.as_ref().and_then(|file| recording_start(&loaded.events, file, started));
    let origin = start.map(|start| start.at_ms).or(started).unwrap_or(0);
    let from = started.unwrap_or(origin).min(origin);
    let to = ended.unwrap_or(from).max(loaded.sentences.last().map_or(from, |s| s.end_ms));
    let scale = Scale::new(from, to, 1_000.0);
    let current = props.position.and_then(|at| sentence_at(&loaded.sentences, at));

    // Header.
    let customer = call
        .turns()
        .into_iter()
        .find_map(|turn| turn.user().map(|line| line.user.to_string()))
        .unwrap_or_else(|| text.unknown.to_owned());
    let scenario = loaded.review.tags.first().cloned().unwrap_or_else(|| text.no_scenario.to_owned());
    let (outcome_label, tone) = outcome(&call.status(), call.is_live(), text);
    let duration = match (started, ended) {
        (Some(from), Some(to)) => clock(offset(to, from).max(0)),
        _ => text.unknown.to_owned(),
    };

    let seek_to = props.on_position.clone();
    html! {
        <>
            <header class="review-header">
                <h2 id="review-call-title" class="review-title">{ &customer }</h2>
                <dl class="review-facts">
                    <div><dt>{ text.header_customer }</dt><dd>{ &customer }</dd></div>
                    <div><dt>{ text.header_scenario }</dt><dd>{ scenario }</dd></div>
                    <div><dt>{ text.header_started }</dt><dd>{ started.map_or_else(|| text.unknown.to_owned(), local_time) }</dd></div>
                    <div><dt>{ text.header_duration }</dt><dd>{ duration }</dd></div>
                    <div><dt>{ text.header_outcome }</dt><dd><span class={classes!("review-outcome", tone)}>{ outcome_label }</span></dd></div>
                </dl>
            </header>
            <div class="review-layout">
                <div class="review-main">
                    <Player file={file.clone()} start={start} position={props.position}
                        on_position={props.on_position.clone()} on_recording={props.on_recording.clone()} origin={origin} />
                    <Timeline loaded={loaded.clone()} scale={scale} position={props.position} on_seek={seek_to.clone()} />
                    <section class="review-panel" aria-labelledby="transcript-title">
                        <h3 id="transcript-title" class="review-panel-title">{ text.transcript_title }</h3>
                        if loaded.sentences.is_empty() {
                            <p class="review-muted">{ text.transcript_empty }</p>
                        } else {
                            <ol class="review-transcript">
                                { for loaded.sentences.iter().enumerate().map(|(index, sentence)| {
                                    let at = sentence.start_ms;
                                    let onclick = seek_to.reform(move |_: MouseEvent| at);
                                    let who = if sentence.speaker == Speaker::Robot { base.speaker_robot } else { base.speaker_customer };
                                    let time = clock(offset(sentence.start_ms, origin));
                                    let is_current = current == Some(index);
                                    html! {
                                        <li>
                                            <button type="button" data-index={index.to_string()}
                                                class={classes!("review-sentence", if sentence.speaker == Speaker::Robot { "robot" } else { "customer" }, is_current.then_some("current"))}
                                                aria-current={is_current.then_some("true")}
                                                aria-label={fill(text.go_to, &[("time", &time)])}
                                                {onclick}>
                                                <span class="review-sentence-time">{ time }</span>
                                                <span class="review-sentence-who">{ who }</span>
                                                <span class="review-sentence-text">{ &sentence.text }</span>
                                            </button>
                                        </li>
                                    }
                                }) }
                            </ol>
                        }
                    </section>
                </div>
                <aside class="review-side">
                    <Notes task={props.task.clone()} review={loaded.review.clone()} on_review={props.on_review.clone()} />
                    <Export task={props.task.clone()} />
                </aside>
            </div>
        </>
    }
}

#[derive(Properties, PartialEq)]
struct PlayerProps {
    file: Option<RecordingView>,
    start: Option<RecordingStart>,
    origin: u64,
    position: Option<u64>,
    on_position: Callback<u64>,
    on_recording: Callback<RecordingView>,
}

/// What went wrong in the player, kept as data so it is shown in the language of the
/// moment (switching language re-renders it).
#[derive(Debug, Clone, PartialEq)]
enum Problem {
    /// The download failed; the engine's error says why.
    Download(ApiError),
    /// The local file cannot be played.
    Playback(PlaybackFailure),
}

fn failure_text(failure: &PlaybackFailure, text: &ReviewStrings) -> String {
    let reason = match failure {
        PlaybackFailure::Aborted => text.player_failure_aborted,
        PlaybackFailure::Unreadable => text.player_failure_unreadable,
        PlaybackFailure::Decode => text.player_failure_decode,
        PlaybackFailure::Unsupported => text.player_failure_unsupported,
        PlaybackFailure::NotAllowed => text.player_failure_not_allowed,
        PlaybackFailure::Other(message) => message.as_str(),
    };
    fill(text.player_cannot_play, &[("message", reason)])
}

fn problem_html(problem: &Problem, text: &ReviewStrings) -> Html {
    match problem {
        Problem::Download(error) => html! {
            <div class="review-error-text review-player-error" role="alert">
                <p>{ fill(text.player_download_failed, &[("message", &error.message)]) }</p>
                if error.code == ErrorCode::Hub { <p>{ text.player_download_kept }</p> }
            </div>
        },
        Problem::Playback(failure) => html! {
            <p class="review-error-text review-player-error" role="alert">{ failure_text(failure, text) }</p>
        },
    }
}

/// Moves the audio to the playhead at `position` unless the audio put it there itself.
fn seek_media(media: &MediaElement, position: u64, origin: u64, reported: Option<u64>) {
    if media.ready_state() == 0 {
        // Nothing loaded yet: `loadedmetadata` seeks.
        return;
    }
    let wanted = file_seconds(position, origin, media.duration());
    if needs_seek(position, reported, wanted, media.current_time()) {
        media.set_current_time(wanted);
    }
}

#[function_component]
fn Player(props: &PlayerProps) -> Html {
    let state = use_context::<AppContext>();
    let language = state.as_ref().map_or(domain::api::Language::En, |state| state.language);
    let text = review(language);
    let audio = use_node_ref();
    let playing = use_state(|| false);
    // The file's length in seconds, once the element has loaded it.
    let duration = use_state(|| None::<f64>);
    let problem = use_state(|| None::<Problem>);
    let downloading = use_state(|| false);
    // The file fetched into memory, played when the window cannot play the asset URL
    // itself (WebKitGTK), and whether that fetch is under way.
    let blob = use_state(|| None::<Rc<ObjectUrl>>);
    let fetching = use_state(|| false);
    // The playhead the audio itself reported last (its `timeupdate`): not a seek request.
    let reported = use_mut_ref(|| None::<u64>);
    let origin = props.origin;

    // Move the audio to a playhead put by a click, a search hit or the seek bar — also
    // while it plays.
    {
        let (audio, reported) = (audio.clone(), reported.clone());
        use_effect_with((props.position, origin), move |(position, origin)| {
            if let (Some(at), Some(element)) = (position, audio.get()) {
                seek_media(element.unchecked_ref(), *at, *origin, *reported.borrow());
            }
        });
    }

    let Some(file) = props.file.clone() else {
        return html! {
            <section class="review-panel review-player" aria-labelledby="player-title">
                <h3 id="player-title" class="review-panel-title">{ text.player_title }</h3>
                <p class="review-muted">{ text.player_none }</p>
            </section>
        };
    };
    let progress = state.as_ref().and_then(|state| {
        state.downloads.iter().find(|d| d.recording == file.recording && d.name == file.name).cloned()
    });
    let on_download = {
        let (file, downloading, problem, on_recording) =
            (file.clone(), downloading.clone(), problem.clone(), props.on_recording.clone());
        Callback::from(move |_: MouseEvent| {
            let (file, downloading, problem, on_recording) =
                (file.clone(), downloading.clone(), problem.clone(), on_recording.clone());
            downloading.set(true);
            problem.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let which = RecordingRef { recording: file.recording.clone(), name: file.name.clone() };
                match invoke::<DownloadRecording>(&which).await {
                    Ok(view) => on_recording.emit(view),
                    Err(failure) => problem.set(Some(Problem::Download(failure))),
                }
                downloading.set(false);
            });
        })
    };

    let Some(path) = file.local_path.clone() else {
        // This download's progress (the engine reports it as it goes; a resumed part counts).
        let shown = progress.filter(|_| *downloading);
        let percent = shown.as_ref().and_then(|p| download_percent(p.bytes, p.total));
        let label = if *downloading {
            let amount = match (percent, shown) {
                (Some(percent), _) => format!("{percent}%"),
                (None, Some(p)) => format!("{} KB", p.bytes / 1024),
                (None, None) => "…".to_owned(),
            };
            fill(text.player_downloading, &[("progress", &amount)])
        } else if file.local_bytes > 0 {
            text.player_resume.to_owned()
        } else {
            text.player_download.to_owned()
        };
        return html! {
            <section class="review-panel review-player" aria-labelledby="player-title">
                <h3 id="player-title" class="review-panel-title">{ text.player_title }</h3>
                <p class="review-file">{ &file.name }</p>
                <div class="review-controls">
                    <button type="button" class="review-button primary review-download" disabled={*downloading || !file.ready}
                        aria-busy={downloading.then_some("true")} onclick={on_download}>{ label }</button>
                    if *downloading {
                        <progress class="review-progress" aria-label={text.player_progress_label} max="100"
                            value={percent.map(|percent| percent.to_string())} />
                    }
                </div>
                if !file.ready {
                    <p class="review-not-ready">{ text.player_not_ready }</p>
                }
                if let Some(problem) = &*problem { { problem_html(problem, text) } }
            </section>
        };
    };

    let url = asset_url(&path);
    let src = match (&*blob, &url) {
        (Some(blob), _) => Some(blob.as_str().to_owned()),
        (None, Ok(url)) => Some(url.clone()),
        (None, Err(_)) => None,
    };
    let on_time = {
        let (audio, on_position, reported) = (audio.clone(), props.on_position.clone(), reported.clone());
        Callback::from(move |_: Event| {
            if let Some(element) = audio.get() {
                let media: &MediaElement = element.unchecked_ref();
                let at = origin + media_ms(media.current_time());
                *reported.borrow_mut() = Some(at);
                on_position.emit(at);
            }
        })
    };
    let on_meta = {
        let (audio, duration, problem, reported) = (audio.clone(), duration.clone(), problem.clone(), reported.clone());
        let position = props.position;
        Callback::from(move |_: Event| {
            if let Some(element) = audio.get() {
                let media: &MediaElement = element.unchecked_ref();
                // Loaded; a length the file does not tell (a stream) shows as 0:00.
                let seconds = media.duration();
                duration.set(Some(if seconds.is_finite() && seconds > 0.0 { seconds } else { 0.0 }));
                problem.set(None);
                // Start where the playhead already is (a search hit, a sentence clicked
                // before the download).
                *reported.borrow_mut() = None;
                if let Some(at) = position {
                    seek_media(media, at, origin, None);
                }
            }
        })
    };
    let on_toggle = {
        let (audio, problem) = (audio.clone(), problem.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(element) = audio.get() else { return };
            let media: &MediaElement = element.unchecked_ref();
            if !media.paused() {
                media.pause();
                return;
            }
            let rejected = |problem: &UseStateHandle<Option<Problem>>, error: &wasm_bindgen::JsValue| {
                let (name, message) = name_and_message(error);
                problem.set(Some(Problem::Playback(PlaybackFailure::from_rejection(&name, &message))));
            };
            match media.play() {
                Ok(promise) => {
                    let problem = problem.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Err(failure) = wasm_bindgen_futures::JsFuture::from(promise).await {
                            rejected(&problem, &failure);
                        }
                    });
                }
                Err(failure) => rejected(&problem, &failure),
            }
        })
    };
    let on_seek = {
        let on_position = props.on_position.clone();
        Callback::from(move |event: InputEvent| {
            if let Some(input) = event.target_dyn_into::<web_sys::HtmlInputElement>() {
                if let Ok(ms) = input.value().parse::<u64>() {
                    on_position.emit(origin + ms);
                }
            }
        })
    };
    let on_playing = {
        let playing = playing.clone();
        Callback::from(move |_: Event| playing.set(true))
    };
    let on_paused = {
        let playing = playing.clone();
        Callback::from(move |_: Event| playing.set(false))
    };
    let on_error = {
        let (audio, problem, playing) = (audio.clone(), problem.clone(), playing.clone());
        let (blob, fetching, asset) = (blob.clone(), fetching.clone(), url.clone().ok());
        Callback::from(move |_: Event| {
            playing.set(false);
            let failure = audio
                .get()
                .and_then(|element| media_error(element.unchecked_ref()))
                .map_or(PlaybackFailure::Decode, |(code, message)| PlaybackFailure::from_media_error(code, &message));
            // The asset URL is not playable here (WebKitGTK): play the same file from memory.
            if let (PlaybackFailure::Unsupported, None, Some(asset)) = (&failure, &*blob, &asset) {
                if !*fetching {
                    let (blob, fetching, problem, asset) =
                        (blob.clone(), fetching.clone(), problem.clone(), asset.clone());
                    fetching.set(true);
                    wasm_bindgen_futures::spawn_local(async move {
                        match blob_url(&asset).await {
                            Ok(url) => blob.set(Some(Rc::new(url))),
                            Err(failure) => problem.set(Some(Problem::Playback(failure))),
                        }
                        fetching.set(false);
                    });
                }
                return;
            }
            problem.set(Some(Problem::Playback(failure)));
        })
    };
    let total_ms = duration.map_or(0, media_ms);
    let at_ms = props.position.map_or(0, |at| at.saturating_sub(origin)).min(total_ms);
    let approximate = props.start.is_some_and(|start| start.source == StartSource::CallStart);
    html! {
        <section class="review-panel review-player" aria-labelledby="player-title">
            <h3 id="player-title" class="review-panel-title">{ text.player_title }</h3>
            { match (src, url) {
                (Some(src), _) => html! {
                    <>
                        <audio ref={audio} {src} preload="auto" ontimeupdate={on_time} onloadedmetadata={on_meta}
                            onplay={on_playing.clone()} onplaying={on_playing} onpause={on_paused.clone()}
                            onended={on_paused} onerror={on_error} />
                        <div class="review-controls">
                            <button type="button" class="review-button primary review-play" onclick={on_toggle}
                                disabled={duration.is_none()}
                                aria-label={if *playing { text.player_pause } else { text.player_play }}>
                                { if *playing { "❚❚" } else { "▶" } }
                            </button>
                            <input type="range" class="review-seek" aria-label={text.player_seek} min="0"
                                disabled={duration.is_none()}
                                max={total_ms.max(1).to_string()} step="100" value={at_ms.to_string()} oninput={on_seek} />
                            <span class="review-time">
                                { format!("{} / {}", clock(i64::try_from(at_ms).unwrap_or(0)), clock(i64::try_from(total_ms).unwrap_or(0))) }
                            </span>
                        </div>
                        <p class="review-file">
                            { &file.name }{ " · " }
                            { if duration.is_some() || problem.is_some() { text.player_local } else { text.player_loading } }
                        </p>
                    </>
                },
                (None, Err(message)) => html! {
                    <p class="review-error-text" role="alert">{ failure_text(&PlaybackFailure::Other(message), text) }</p>
                },
                (None, Ok(_)) => html! {},
            } }
            if approximate { <p class="review-muted">{ text.player_approximate }</p> }
            if let Some(problem) = &*problem { { problem_html(problem, text) } }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct TimelineProps {
    loaded: Loaded,
    scale: Scale,
    position: Option<u64>,
    on_seek: Callback<u64>,
}

const STATES_Y: f64 = 8.0;
const STATES_H: f64 = 22.0;
const BARS_TOP: f64 = 40.0;
const BARS_H: f64 = 56.0;
const MARKS_Y: f64 = 112.0;
const AXIS_Y: f64 = 138.0;

#[function_component]
fn Timeline(props: &TimelineProps) -> Html {
    let state = use_context::<AppContext>();
    let language = state.as_ref().map_or(domain::api::Language::En, |state| state.language);
    let text = review(language);
    let base = strings(language);
    let loaded = &props.loaded;
    let scale = props.scale;
    let spans = state_spans(&loaded.call, scale.to_ms);
    let latencies = turn_latencies(&loaded.call);
    let ceiling = latency_ceiling(&latencies);
    let mut markers: Vec<Marker> = Vec::new();
    for turn in loaded.call.turns() {
        for record in turn.errors() {
            markers.push(Marker {
                kind: MarkerKind::Error,
                at_ms: record.at.0,
                label: format!("{} {}", record.error.metric, record.error.code),
            });
        }
    }
    for record in loaded.call.loose_errors() {
        markers.push(Marker {
            kind: MarkerKind::Error,
            at_ms: record.at.0,
            label: format!("{} {}", record.error.metric, record.error.code),
        });
    }
    for alert in &loaded.alerts {
        markers.push(Marker { kind: MarkerKind::Alert, at_ms: alert.at.0, label: alert.summary(language) });
    }
    for command in loaded.call.oversight().commands() {
        markers.push(Marker {
            kind: MarkerKind::Intervention,
            at_ms: command.at.0,
            label: format!("{} · {}", command.value.by, command.value.action.as_str()),
        });
    }
    let on_click = {
        let on_seek = props.on_seek.clone();
        Callback::from(move |event: MouseEvent| {
            let width = event
                .current_target()
                .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
                .map_or(0, |element| element.client_width());
            if width > 0 {
                let x = f64::from(event.offset_x()) / f64::from(width) * scale.width;
                on_seek.emit(scale.at(x));
            }
        })
    };
    let bar_w = 10.0;
    html! {
        <section class="review-panel review-timeline" aria-labelledby="timeline-title">
            <h3 id="timeline-title" class="review-panel-title">{ text.timeline_title }</h3>
            <svg class="review-chart" viewBox="0 0 1000 150" role="img" aria-label={text.timeline_label} onclick={on_click}>
                <rect class="lane" x="0" y={STATES_Y.to_string()} width="1000" height={STATES_H.to_string()} />
                { for spans.iter().map(|span| {
                    let x = scale.x(span.from_ms);
                    let w = (scale.x(span.to_ms) - x).max(1.0);
                    html! { <rect class={classes!("state", state_class(span.state))} x={format!("{x:.1}")} y={STATES_Y.to_string()} width={format!("{w:.1}")} height={STATES_H.to_string()}>
                        <title>{ base.robot_state(span.state) }</title>
                    </rect> }
                }) }
                <line class="baseline" x1="0" x2="1000" y1={(BARS_TOP + BARS_H).to_string()} y2={(BARS_TOP + BARS_H).to_string()} />
                { for latencies.iter().filter_map(|turn| turn.llm_first_token.map(|ms| (turn, ms))).map(|(turn, ms)| {
                    let h = bar_height(ms, ceiling, BARS_H);
                    let x = (scale.x(turn.at_ms) - bar_w / 2.0).max(0.0).min(1000.0 - bar_w);
                    html! { <rect class={classes!("bar", (ms > 2_000.0).then_some("slow"))} x={format!("{x:.1}")} y={format!("{:.1}", BARS_TOP + BARS_H - h)} width={bar_w.to_string()} height={format!("{h:.1}")}>
                        <title>{ format!("{} · {:.0} ms", text.timeline_latency, ms) }</title>
                    </rect> }
                }) }
                <text class="axis" x="4" y={(BARS_TOP + 10.0).to_string()}>{ format!("{:.1} s", ceiling / 1000.0) }</text>
                { for markers.iter().map(|marker| {
                    let x = scale.x(marker.at_ms);
                    let (class, shape) = match marker.kind {
                        MarkerKind::Error => ("mark-error", format!("M{:.1},{} l7,12 h-14 z", x, MARKS_Y - 6.0)),
                        MarkerKind::Alert => ("mark-alert", format!("M{:.1},{} l7,7 l-7,7 l-7,-7 z", x, MARKS_Y - 7.0)),
                        MarkerKind::Intervention => ("mark-intervention", format!("M{:.1},{} h12 v12 h-12 z", x - 6.0, MARKS_Y - 6.0)),
                    };
                    let kind = match marker.kind {
                        MarkerKind::Error => text.marker_error,
                        MarkerKind::Alert => text.marker_alert,
                        MarkerKind::Intervention => text.marker_intervention,
                    };
                    html! { <path class={class} d={shape}><title>{ format!("{kind}: {}", marker.label) }</title></path> }
                }) }
                { for scale.ticks(8).into_iter().map(|tick| {
                    let x = scale.x(tick);
                    html! { <>
                        <line class="tick" x1={format!("{x:.1}")} x2={format!("{x:.1}")} y1={(AXIS_Y - 12.0).to_string()} y2={(AXIS_Y - 8.0).to_string()} />
                        <text class="axis" x={format!("{:.1}", x.min(970.0))} y={AXIS_Y.to_string()}>{ clock(offset(tick, scale.from_ms)) }</text>
                    </> }
                }) }
                if let Some(at) = props.position {
                    <line class="playhead" x1={format!("{:.1}", scale.x(at))} x2={format!("{:.1}", scale.x(at))} y1="2" y2={(AXIS_Y - 10.0).to_string()} />
                }
            </svg>
            <ul class="review-legend">
                <li><span class="key state-speaking"></span>{ text.timeline_states }</li>
                <li><span class="key bar-key"></span>{ text.timeline_latency }</li>
                <li><span class="key mark-error-key"></span>{ text.marker_error }</li>
                <li><span class="key mark-alert-key"></span>{ text.marker_alert }</li>
                <li><span class="key mark-intervention-key"></span>{ text.marker_intervention }</li>
            </ul>
        </section>
    }
}

fn state_class(state: domain::event::RobotState) -> &'static str {
    use domain::event::RobotState;
    match state {
        RobotState::Listening => "state-listening",
        RobotState::Thinking => "state-thinking",
        RobotState::Speaking => "state-speaking",
        RobotState::Interrupted => "state-interrupted",
        RobotState::Finished => "state-finished",
    }
}

#[derive(Properties, PartialEq)]
struct NotesProps {
    task: TaskId,
    review: CallReview,
    on_review: Callback<CallReview>,
}

#[function_component]
fn Notes(props: &NotesProps) -> Html {
    let state = use_context::<AppContext>();
    let language = state.as_ref().map_or(domain::api::Language::En, |state| state.language);
    let text = review(language);
    let note = use_state(String::new);
    let tags = use_state(|| props.review.tags.join(", "));
    let score = use_state(|| props.review.qa.as_ref().map(|qa| qa.score.to_string()).unwrap_or_default());
    let comment = use_state(|| props.review.qa.as_ref().and_then(|qa| qa.comment.clone()).unwrap_or_default());
    let busy = use_state(|| false);
    let error = use_state(|| None::<String>);

    let input = |handle: UseStateHandle<String>| {
        Callback::from(move |event: InputEvent| {
            if let Some(field) = event.target_dyn_into::<web_sys::HtmlInputElement>() {
                handle.set(field.value());
            } else if let Some(field) = event.target_dyn_into::<web_sys::HtmlTextAreaElement>() {
                handle.set(field.value());
            }
        })
    };
    // Runs one review write; the answer replaces the review shown.
    let run = {
        let (busy, error, on_review) = (busy.clone(), error.clone(), props.on_review.clone());
        move |write: std::pin::Pin<Box<dyn std::future::Future<Output = Result<CallReview, ApiError>>>>,
              after: Box<dyn FnOnce()>| {
            let (busy, error, on_review) = (busy.clone(), error.clone(), on_review.clone());
            busy.set(true);
            error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                match write.await {
                    Ok(review) => {
                        on_review.emit(review);
                        after();
                    }
                    Err(failure) => error.set(Some(failure.message)),
                }
                busy.set(false);
            });
        }
    };
    let on_note = {
        let (note, task, run) = (note.clone(), props.task.clone(), run.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let body = note.trim().to_owned();
            if body.is_empty() {
                return;
            }
            let request = AddNoteRequest { call: task.clone(), text: body, round: None };
            let note = note.clone();
            run(Box::pin(async move { invoke::<AddNote>(&request).await }), Box::new(move || note.set(String::new())));
        })
    };
    let on_tags = {
        let (tags, task, run) = (tags.clone(), props.task.clone(), run.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let list: Vec<String> =
                tags.split([',', '，']).map(str::trim).filter(|tag| !tag.is_empty()).map(str::to_owned).collect();
            let request = SetTagsRequest { call: task.clone(), tags: list };
            run(Box::pin(async move { invoke::<SetTags>(&request).await }), Box::new(|| {}));
        })
    };
    let on_score = {
        let (score, comment, task, error, run) =
            (score.clone(), comment.clone(), props.task.clone(), error.clone(), run.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let Some(value) = score.trim().parse::<u8>().ok().filter(|value| *value <= 100) else {
                error.set(Some(text.qa_invalid.to_owned()));
                return;
            };
            let comment = Some(comment.trim().to_owned()).filter(|comment| !comment.is_empty());
            let request = SetQaScoreRequest { call: task.clone(), score: value, comment };
            run(Box::pin(async move { invoke::<SetQaScore>(&request).await }), Box::new(|| {}));
        })
    };

    let review_data = &props.review;
    html! {
        <>
            <section class="review-panel" aria-labelledby="notes-title">
                <h3 id="notes-title" class="review-panel-title">{ text.notes_title }</h3>
                if review_data.notes.is_empty() {
                    <p class="review-muted">{ text.notes_empty }</p>
                } else {
                    <ul class="review-notes">
                        { for review_data.notes.iter().map(|note| html! {
                            <li class="review-note">
                                <p class="review-note-text">{ &note.text }</p>
                                <p class="review-note-meta">
                                    { format!("{} · {}", note.author, local_time(note.at_ms)) }
                                    if let Some(reason) = &note.push_error {
                                        <span class="review-badge bad">{ fill(text.note_refused, &[("reason", reason)]) }</span>
                                    } else if !note.pushed {
                                        <span class="review-badge">{ text.note_pending }</span>
                                    }
                                </p>
                            </li>
                        }) }
                    </ul>
                }
                <form class="review-form" onsubmit={on_note}>
                    <textarea class="review-input review-note-input" rows="3" aria-label={text.note_placeholder}
                        placeholder={text.note_placeholder} value={(*note).clone()} oninput={input(note.clone())} />
                    <button type="submit" class="review-button primary" disabled={*busy}>{ text.note_add }</button>
                </form>
            </section>
            <section class="review-panel" aria-labelledby="tags-title">
                <h3 id="tags-title" class="review-panel-title">{ text.tags_title }</h3>
                <p class="review-tags">
                    if review_data.tags.is_empty() {
                        <span class="review-muted">{ text.tags_none }</span>
                    }
                    { for review_data.tags.iter().map(|tag| html! { <span class="review-tag-chip">{ tag }</span> }) }
                </p>
                <form class="review-form review-inline" onsubmit={on_tags}>
                    <input class="review-input" type="text" aria-label={text.tags_title} placeholder={text.tags_placeholder}
                        value={(*tags).clone()} oninput={input(tags.clone())} />
                    <button type="submit" class="review-button" disabled={*busy}>{ text.tags_save }</button>
                </form>
            </section>
            <section class="review-panel" aria-labelledby="qa-title">
                <h3 id="qa-title" class="review-panel-title">{ text.qa_title }</h3>
                <p class="review-qa">
                    { match &review_data.qa {
                        Some(qa) => fill(text.qa_by, &[("reviewer", &qa.reviewer), ("score", &qa.score.to_string())]),
                        None => text.qa_none.to_owned(),
                    } }
                </p>
                <form class="review-form review-inline" onsubmit={on_score}>
                    <input class="review-input review-score" type="number" min="0" max="100" step="1" aria-label={text.qa_score_label}
                        placeholder={text.qa_score_label} value={(*score).clone()} oninput={input(score.clone())} />
                    <input class="review-input" type="text" aria-label={text.qa_comment_placeholder} placeholder={text.qa_comment_placeholder}
                        value={(*comment).clone()} oninput={input(comment.clone())} />
                    <button type="submit" class="review-button" disabled={*busy}>{ text.qa_save }</button>
                </form>
                if let Some(message) = &*error {
                    <p class="review-error-text" role="alert">{ fill(text.save_error, &[("message", message)]) }</p>
                }
            </section>
        </>
    }
}

#[derive(Properties, PartialEq)]
struct ExportProps {
    task: TaskId,
}

#[function_component]
fn Export(props: &ExportProps) -> Html {
    let state = use_context::<AppContext>();
    let language = state.as_ref().map_or(domain::api::Language::En, |state| state.language);
    let text = review(language);
    let data_dir = state.as_ref().and_then(|state| state.info.as_ref().map(|info| info.data_dir.clone()));
    let result = use_state(|| None::<Result<ExportSummary, ApiError>>);
    let busy = use_state(|| false);
    let onclick = {
        let (result, busy, task) = (result.clone(), busy.clone(), props.task.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(dir) = data_dir.clone() else { return };
            let (result, busy) = (result.clone(), busy.clone());
            // Exports go beside the cache, in a folder the supervisor can find from the path shown.
            let request = ExportRequest { call: task.clone(), dest_dir: format!("{dir}/exports"), replace: true };
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                result.set(Some(invoke::<ExportCall>(&request).await));
                busy.set(false);
            });
        })
    };
    html! {
        <section class="review-panel" aria-labelledby="export-title">
            <h3 id="export-title" class="review-panel-title">{ text.export_title }</h3>
            <button type="button" class="review-button" disabled={*busy} {onclick}>
                { if *busy { text.working } else { text.export_button } }
            </button>
            { match &*result {
                Some(Ok(summary)) => html! {
                    <div class="review-export" role="status">
                        <p class="review-path">{ fill(text.export_done, &[("dir", &summary.dir)]) }</p>
                        if !summary.missing_recordings.is_empty() {
                            <p class="review-muted">{ fill(text.export_missing, &[("names", &summary.missing_recordings.join(", "))]) }</p>
                        }
                    </div>
                },
                Some(Err(error)) => html! { <p class="review-error-text" role="alert">{ fill(text.save_error, &[("message", &error.message)]) }</p> },
                None => html! {},
            } }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, ready: bool) -> RecordingView {
        RecordingView { ready, ..super::super::model::tests::view(name) }
    }

    fn loaded(recordings: Vec<RecordingView>) -> Rc<Fetch> {
        let task = TaskId::new("task-1");
        let review = CallReview {
            call: task.clone(),
            notes: Vec::new(),
            tags: Vec::new(),
            tags_pushed: true,
            tags_push_error: None,
            qa: None,
        };
        Rc::new(Fetch::Ready(Box::new(Loaded {
            events: Rc::new(Vec::new()),
            call: Rc::new(Call::new(task)),
            sentences: Rc::new(Vec::new()),
            recordings,
            review,
            alerts: Vec::new(),
        })))
    }

    fn recordings(fetch: &Fetch) -> Vec<(String, bool, bool)> {
        let Fetch::Ready(loaded) = fetch else { panic!("expected a loaded review, got {fetch:?}") };
        loaded.recordings.iter().map(|file| (file.name.clone(), file.ready, file.verified)).collect()
    }

    #[test]
    fn a_later_recordings_check_replaces_the_list_and_keeps_the_rest_of_the_review() {
        let before = loaded(vec![file("a.wav", false)]);
        let with_tags = before.reduce(FetchAction::Review(CallReview {
            call: TaskId::new("task-1"),
            notes: Vec::new(),
            tags: vec!["vip".into()],
            tags_pushed: false,
            tags_push_error: None,
            qa: None,
        }));
        let after = with_tags.reduce(FetchAction::Recordings(vec![file("a.wav", true)]));
        assert_eq!(recordings(&after), [("a.wav".to_owned(), true, false)]);
        let Fetch::Ready(loaded) = &*after else { unreachable!() };
        assert_eq!(loaded.review.tags, ["vip"], "the tags saved meanwhile survive the check");
    }

    #[test]
    fn a_finished_download_updates_only_its_own_file() {
        let before = loaded(vec![file("a.wav", true), file("b.wav", true)]);
        let done = RecordingView { verified: true, local_bytes: 10, ..file("b.wav", true) };
        let after = before.reduce(FetchAction::Recording(done));
        assert_eq!(recordings(&after), [("a.wav".to_owned(), true, false), ("b.wav".to_owned(), true, true)]);
        let unknown = after.clone().reduce(FetchAction::Recording(file("c.wav", true)));
        assert_eq!(recordings(&unknown), recordings(&after), "a file the review does not list is not added");
    }

    #[test]
    fn changes_before_the_review_loaded_are_dropped() {
        let pending = Rc::new(Fetch::Pending).reduce(FetchAction::Recordings(vec![file("a.wav", true)]));
        assert_eq!(*pending, Fetch::Pending);
    }
}
