//! The app's state and its reducer: the single place UI state changes.
//!
//! What lives here: [`AppState`] (language, the shell's info, errors, the notice banners,
//! the live feed and the clock the wall's durations tick with) and [`Action`], everything
//! that can happen to it. Plain Rust; the reducer is tested natively.
//!
//! What deliberately does not: effects (the IPC calls, the live subscription and the
//! one-second tick live in `hooks`) and how anything is shown.

use std::cell::{Ref, RefCell};
use std::rc::Rc;

use domain::alert::FiredAlert;
use domain::api::{
    AlertEntry, ApiError, AppInfo, ConnectionStatus, DownloadProgress, Language, LiveSnapshot, LiveUpdate, Notice,
};
use domain::ids::{SourceMs, TaskId};
use yew::Reducible;

use crate::live::LiveFeed;

/// The live feed, shared by successive states instead of copied: folding a batch into a
/// board of a thousand calls must not clone the board. Only [`AppState::reduce`] mutates
/// it, and bumps `revision` when it does, so equality (what Yew compares to decide whether
/// context consumers re-render) is cheap and still honest.
#[derive(Debug, Clone)]
pub struct SharedFeed {
    feed: Rc<RefCell<LiveFeed>>,
    revision: u64,
}

impl PartialEq for SharedFeed {
    fn eq(&self, other: &SharedFeed) -> bool {
        Rc::ptr_eq(&self.feed, &other.feed) && self.revision == other.revision
    }
}

impl SharedFeed {
    fn new() -> SharedFeed {
        SharedFeed { feed: Rc::new(RefCell::new(LiveFeed::new())), revision: 0 }
    }

    /// The feed, for reading during a render; `None` only if a reducer is mid-update,
    /// which Yew never lets overlap a render.
    pub fn read(&self) -> Option<Ref<'_, LiveFeed>> {
        self.feed.try_borrow().ok()
    }

    /// Counts changes; a new value means the board or the link's status may have changed.
    #[cfg(test)]
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Runs `change` on the feed; `false` if it is borrowed (never expected: see `read`).
    fn update(&mut self, change: impl FnOnce(&mut LiveFeed)) -> bool {
        match self.feed.try_borrow_mut() {
            Ok(mut feed) => {
                change(&mut feed);
                self.revision += 1;
                true
            }
            Err(_) => false,
        }
    }
}

/// Which screen the window shows. The header's navigation and links inside screens
/// (a wall tile, a search hit, an alert) change it with [`Action::Navigate`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Screen {
    /// The live wall.
    #[default]
    Wall,
    /// One call's turn strip, subtitles and action bar, by its task id.
    Call(TaskId),
    /// Call history and search; with a task id, that call's review (recording,
    /// transcript, timeline, notes).
    Review(Option<TaskId>),
    /// Fired alerts and the rule editor.
    Alerts,
    /// Hub connection, language, alert rules, cache.
    Settings,
}

/// A notice on screen until the supervisor dismisses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    pub id: u64,
    pub notice: Notice,
}

/// Everything the components show.
#[derive(Debug, Clone, PartialEq)]
pub struct AppState {
    /// The screen on show.
    pub screen: Screen,
    /// The language strings are shown in: the browser's guess until the shell answers.
    pub language: Language,
    /// The shell's answer to `app_info`, once it came.
    pub info: Option<AppInfo>,
    /// The last failed command, shown in a banner until the next success.
    pub error: Option<ApiError>,
    /// Why the live link is not working, until a snapshot arrives.
    pub live_error: Option<ApiError>,
    /// A language change is on its way to the shell.
    pub saving_language: bool,
    /// Notices, oldest first.
    pub banners: Vec<Banner>,
    next_banner: u64,
    /// The board of live calls and the link's status.
    pub live: SharedFeed,
    /// The wall's clock (ms since the epoch, the same scale as events' source times).
    pub now: SourceMs,
    /// Alerts pushed since the window opened, newest last (at most [`MAX_ALERTS`]); the
    /// full list lives in the engine's cache.
    pub alerts: Rc<Vec<FiredAlert>>,
    /// The latest progress of each recording download started in this window.
    pub downloads: Rc<Vec<DownloadProgress>>,
    /// The stored alerts with their acknowledgements, as last fetched (`alerts`).
    pub alert_list: Option<Rc<Vec<AlertEntry>>>,
}

/// Alerts the window keeps in memory.
pub const MAX_ALERTS: usize = 500;

impl AppState {
    pub fn new(initial_language: Language, now: SourceMs) -> AppState {
        AppState {
            screen: Screen::Wall,
            language: initial_language,
            info: None,
            error: None,
            live_error: None,
            saving_language: false,
            banners: Vec::new(),
            next_banner: 1,
            live: SharedFeed::new(),
            alerts: Rc::new(Vec::new()),
            downloads: Rc::new(Vec::new()),
            alert_list: None,
            now,
        }
    }

    /// The link's status: the live channel's latest word, else the app info's, else
    /// unknown (still loading).
    pub fn connection(&self) -> Option<ConnectionStatus> {
        let live = self.live.read().and_then(|feed| feed.connection().cloned());
        live.or_else(|| self.info.as_ref().map(|info| info.connection.clone()))
    }

    /// Adds a notice's banner. A repeat of a banner on screen is not shown twice; a cache
    /// failure replaces the previous one, and the recovery clears it (and says so only if
    /// a failure was on screen).
    fn show_notice(&mut self, notice: Notice) {
        let failing = |banner: &Banner| matches!(banner.notice, Notice::CacheWriteFailing { .. });
        let recovered = |banner: &Banner| banner.notice == Notice::CacheWriteRecovered;
        match notice {
            Notice::CacheWriteRecovered => {
                if !self.banners.iter().any(failing) {
                    return;
                }
                self.banners.retain(|banner| !failing(banner) && !recovered(banner));
            }
            Notice::CacheWriteFailing { .. } => self.banners.retain(|banner| !failing(banner) && !recovered(banner)),
            _ if self.banners.iter().any(|banner| banner.notice == notice) => return,
            _ => {}
        }
        self.banners.push(Banner { id: self.next_banner, notice });
        self.next_banner += 1;
    }

    /// Applies one live update from the shell.
    fn receive(&mut self, update: LiveUpdate) {
        match update {
            LiveUpdate::Events { events } => {
                self.update_live(|feed| {
                    feed.receive_events(events);
                });
            }
            LiveUpdate::Connection { status } => {
                self.update_live(|feed| feed.receive_connection(status));
            }
            LiveUpdate::Notice { notice } => self.show_notice(notice),
            LiveUpdate::Download { progress } => {
                let downloads = Rc::make_mut(&mut self.downloads);
                match downloads
                    .iter_mut()
                    .find(|known| known.recording == progress.recording && known.name == progress.name)
                {
                    Some(known) => *known = progress,
                    None => downloads.push(progress),
                }
            }
            // The hook asks for a new snapshot; until it comes, updates wait.
            LiveUpdate::Reset => self.update_live(LiveFeed::restart),
            LiveUpdate::Alert { alert } => {
                let alerts = Rc::make_mut(&mut self.alerts);
                alerts.push(alert);
                if alerts.len() > MAX_ALERTS {
                    alerts.remove(0);
                }
            }
        }
    }

    fn update_live(&mut self, change: impl FnOnce(&mut LiveFeed)) {
        if !self.live.update(change) {
            self.live_error = Some(ApiError::new(
                domain::api::ErrorCode::Internal,
                "a live update arrived while the board was being drawn and could not be applied",
            ));
        }
    }
}

/// What can happen to [`AppState`].
#[derive(Debug)]
pub enum Action {
    /// The shell answered `app_info` or `set_language`.
    InfoLoaded(AppInfo),
    /// The supervisor picked a language; shown at once, saved in the background.
    LanguageChosen(Language),
    /// A command failed.
    Failed(ApiError),
    /// The supervisor closed the error banner.
    ErrorDismissed,
    /// The shell answered `live_snapshot`.
    SnapshotLoaded(LiveSnapshot),
    /// The live link could not be set up (listening or the snapshot failed); a snapshot
    /// will be asked for again.
    LiveFailed(ApiError),
    /// Live updates the shell pushed within one frame, applied in order with one render.
    LiveBatch(Vec<LiveUpdate>),
    /// The supervisor closed a notice.
    NoticeDismissed(u64),
    /// A second passed.
    Tick(SourceMs),
    /// The supervisor went to another screen.
    Navigate(Screen),
    /// The shell answered `alerts` or `acknowledge_alert`.
    AlertsLoaded(Vec<AlertEntry>),
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::InfoLoaded(info) => {
                if next.info.is_none() {
                    // Start-up notices come with the first answer only; later answers (a
                    // language change) repeat them.
                    info.notices.iter().cloned().for_each(|notice| next.show_notice(notice));
                }
                next.language = info.language;
                next.info = Some(info);
                next.error = None;
                next.saving_language = false;
            }
            Action::LanguageChosen(language) => {
                next.language = language;
                next.saving_language = true;
            }
            Action::Failed(error) => {
                next.error = Some(error);
                next.saving_language = false;
            }
            Action::ErrorDismissed => {
                next.error = None;
                next.live_error = None;
            }
            Action::SnapshotLoaded(snapshot) => {
                next.update_live(|feed| {
                    feed.load_snapshot(snapshot);
                });
                next.live_error = None;
            }
            Action::LiveFailed(error) => {
                next.update_live(LiveFeed::restart);
                next.live_error = Some(error);
            }
            Action::LiveBatch(updates) => updates.into_iter().for_each(|update| next.receive(update)),
            Action::NoticeDismissed(id) => next.banners.retain(|banner| banner.id != id),
            Action::Tick(now) => next.now = now,
            Action::Navigate(screen) => next.screen = screen,
            Action::AlertsLoaded(entries) => next.alert_list = Some(Rc::new(entries)),
        }
        Rc::new(next)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use domain::api::{ErrorCode, HubInfo};

    use super::*;
    use crate::testkit::Script;

    fn start() -> Rc<AppState> {
        Rc::new(AppState::new(Language::En, SourceMs(1_000)))
    }

    fn info(connection: ConnectionStatus, notices: Vec<Notice>) -> AppInfo {
        AppInfo {
            version: "0.1.0".into(),
            data_dir: "/d".into(),
            os_locale: Some("en-US".into()),
            language: Language::En,
            language_saved: false,
            connection,
            notices,
            hub: Some(HubInfo { url: "http://127.0.0.1:9".into(), demo: true, token_storage: None }),
        }
    }

    fn notices(state: &AppState) -> Vec<Notice> {
        state.banners.iter().map(|banner| banner.notice.clone()).collect()
    }

    #[test]
    fn the_live_channels_status_wins_over_the_app_infos_once_it_spoke() {
        let state = start().reduce(Action::InfoLoaded(info(ConnectionStatus::Connecting, vec![])));
        assert_eq!(state.connection(), Some(ConnectionStatus::Connecting));
        let state = state.reduce(Action::LiveBatch(vec![LiveUpdate::Connection { status: ConnectionStatus::Live }]));
        assert_eq!(state.connection(), Some(ConnectionStatus::Connecting), "waits for the snapshot");
        let state = state.reduce(Action::SnapshotLoaded(LiveSnapshot {
            events: vec![],
            last_seq: 0,
            connection: ConnectionStatus::Connecting,
        }));
        assert_eq!(state.connection(), Some(ConnectionStatus::Live));
        // A later app info (after a language change) does not turn the clock back.
        let state = state.reduce(Action::InfoLoaded(info(ConnectionStatus::NotConfigured, vec![])));
        assert_eq!(state.connection(), Some(ConnectionStatus::Live));
    }

    #[test]
    fn events_reach_the_board_and_each_change_is_a_new_revision() {
        let mut script = Script::new(5_000);
        let call = script.call("t-1", 0);
        let state = start();
        let before = state.live.revision();
        let state = state.reduce(Action::SnapshotLoaded(LiveSnapshot {
            events: call.clone(),
            last_seq: call.last().unwrap().seq.unwrap().0,
            connection: ConnectionStatus::Live,
        }));
        assert!(state.live.revision() > before);
        assert!(state.live.read().unwrap().board().call(&TaskId::new("t-1")).is_some());

        let second = script.call("t-2", 100);
        let previous = state.clone();
        let state = state.reduce(Action::LiveBatch(vec![LiveUpdate::Events { events: second }]));
        assert_ne!(*state, *previous, "a new batch makes the state differ, so the wall re-renders");
        assert_eq!(state.live.read().unwrap().board().live_calls().count(), 2);

        let ticked = state.clone().reduce(Action::Tick(SourceMs(9_000)));
        assert_eq!(ticked.now, SourceMs(9_000));
        assert_eq!(ticked.live, state.live, "a tick leaves the feed alone");
    }

    #[test]
    fn a_batch_applies_its_updates_in_order_in_one_step_and_keeps_the_newest_alerts() {
        use domain::alert::{AlertDetail, AlertKind, FiredAlert, RuleId};
        let alert = |n: u64| LiveUpdate::Alert {
            alert: FiredAlert {
                call: TaskId::new(format!("t-{n}")),
                rule: RuleId::new("long"),
                kind: AlertKind::CallTooLong,
                at: SourceMs(n),
                round: None,
                detail: AlertDetail::CallTooLong { started: SourceMs(0), elapsed_ms: n, limit_secs: 1 },
            },
        };
        let mut script = Script::new(5_000);
        let call = script.call("t-1", 0);
        let state = start().reduce(Action::SnapshotLoaded(LiveSnapshot {
            events: vec![],
            last_seq: 0,
            connection: ConnectionStatus::Connecting,
        }));
        let mut batch = vec![LiveUpdate::Events { events: call }];
        batch.extend((0..MAX_ALERTS as u64 + 3).map(alert));
        batch.push(LiveUpdate::Connection { status: ConnectionStatus::Live });
        let state = state.reduce(Action::LiveBatch(batch));
        assert!(state.live.read().unwrap().board().call(&TaskId::new("t-1")).is_some());
        assert_eq!(state.connection(), Some(ConnectionStatus::Live), "the batch's last word on the link");
        assert_eq!(state.alerts.len(), MAX_ALERTS);
        assert_eq!(state.alerts.first().map(|alert| alert.at), Some(SourceMs(3)), "the oldest three made room");
        assert_eq!(state.alerts.last().map(|alert| alert.at), Some(SourceMs(MAX_ALERTS as u64 + 2)));

        // A reset in a batch drops what came before it; what follows waits for the snapshot.
        let later = script.call("t-2", 100);
        let state = state.reduce(Action::LiveBatch(vec![LiveUpdate::Reset, LiveUpdate::Events { events: later }]));
        assert!(!state.live.read().unwrap().has_snapshot());
    }

    #[test]
    fn a_failed_snapshot_is_shown_until_the_next_one_arrives() {
        let state = start().reduce(Action::LiveFailed(ApiError::new(ErrorCode::Ipc, "live_snapshot failed: nope")));
        assert!(state.live_error.is_some());
        assert!(!state.live.read().unwrap().has_snapshot());
        let state = state.reduce(Action::SnapshotLoaded(LiveSnapshot {
            events: vec![],
            last_seq: 0,
            connection: ConnectionStatus::Live,
        }));
        assert_eq!(state.live_error, None);
        assert!(state.live.read().unwrap().has_snapshot());
    }

    #[test]
    fn notices_are_shown_once_and_dismissed_one_by_one() {
        let moved = Notice::SettingsMovedAside { moved_to: "/d/settings.json.corrupt".into() };
        let state = start().reduce(Action::InfoLoaded(info(ConnectionStatus::Live, vec![moved.clone()])));
        // The same notices come back with the answer to a language change.
        let state = state.reduce(Action::InfoLoaded(info(ConnectionStatus::Live, vec![moved.clone()])));
        let link = Notice::LinkFailed { message: "no token".into() };
        let state = state.reduce(Action::LiveBatch(vec![LiveUpdate::Notice { notice: link.clone() }]));
        let state = state.reduce(Action::LiveBatch(vec![LiveUpdate::Notice { notice: link.clone() }]));
        assert_eq!(notices(&state), [moved.clone(), link.clone()]);

        let first = state.banners[0].id;
        let state = state.reduce(Action::NoticeDismissed(first));
        assert_eq!(notices(&state), [link]);
    }

    #[test]
    fn a_cache_recovery_clears_the_failure_banner_and_says_so() {
        let failing = |message: &str| Notice::CacheWriteFailing { message: message.into() };
        let notice = |notice: Notice| Action::LiveBatch(vec![LiveUpdate::Notice { notice }]);
        let state = start().reduce(notice(Notice::CacheWriteRecovered));
        assert!(state.banners.is_empty(), "nothing failed, so there is nothing to report");

        let state = state.reduce(notice(failing("disk full"))).reduce(notice(failing("disk still full")));
        assert_eq!(notices(&state), [failing("disk still full")], "a new failure replaces the old one");

        let state = state.reduce(notice(Notice::CacheWriteRecovered));
        assert_eq!(notices(&state), [Notice::CacheWriteRecovered]);
        let state = state.reduce(notice(failing("again")));
        assert_eq!(notices(&state), [failing("again")], "the recovery banner goes when writing fails again");
    }

    #[test]
    fn navigating_changes_the_screen_and_nothing_else() {
        let state = start();
        assert_eq!(state.screen, Screen::Wall, "the window opens on the wall");
        let call = Screen::Call(TaskId::new("t-1"));
        let next = state.clone().reduce(Action::Navigate(call.clone()));
        assert_eq!(next.screen, call);
        assert_eq!(next.live, state.live);
        assert_eq!(next.language, state.language);
    }

    #[test]
    fn a_reset_waits_for_a_new_snapshot_whose_sequence_numbers_start_again() {
        // The board of one hub, folded up to seq 22.
        let mut first = Script::new(5_000);
        let old = first.call("t-old", 0);
        let last = old.last().unwrap().seq.unwrap().0;
        let state = start().reduce(Action::SnapshotLoaded(LiveSnapshot {
            events: old,
            last_seq: last,
            connection: ConnectionStatus::Live,
        }));
        // The shell switched hubs: its new board starts again at seq 1.
        let state = state.reduce(Action::LiveBatch(vec![LiveUpdate::Reset]));
        assert!(!state.live.read().unwrap().has_snapshot(), "waiting for the new board");
        let mut second = Script::new(9_000);
        let new = second.call("t-new", 0);
        let new_last = new.last().unwrap().seq.unwrap().0;
        assert!(new_last <= last, "the new hub's numbers are not above the old ones");
        let state = state.reduce(Action::SnapshotLoaded(LiveSnapshot {
            events: new,
            last_seq: new_last,
            connection: ConnectionStatus::Live,
        }));
        let feed = state.live.read().unwrap();
        assert!(feed.board().call(&TaskId::new("t-new")).is_some(), "the new board is shown whole");
        assert!(feed.board().call(&TaskId::new("t-old")).is_none(), "the old hub's call is gone");
    }
}
