//! The console's link: hub stream → cache → live board → alerts → UI, in that order.
//!
//! [`run`] is the one long-running task behind the app. It opens the cache (a damaged file
//! is moved aside and the supervisor told), restores the alert rules, what already fired
//! and the live calls from it, then connects: to the configured hub with the token from
//! the [`TokenStore`], or — with no hub configured — to the built-in [`Demo`] it starts.
//! It subscribes after the cache's cursor and, for every batch the hub client delivers:
//!
//! 1. persists it (events, derived rows and the cursor in one transaction); while that
//!    fails — a full disk — it tells the UI once, waits and retries the same batch, so the
//!    stream backs up into the hub's log instead of losing anything, and says when it
//!    works again;
//! 2. folds it into the [`LiveBoard`];
//! 3. forwards it to the UI through the [`UiSink`];
//! 4. evaluates the alert rules for the calls it touched; a new alert is stored
//!    (de-duplicated per call and rule by the cache too) and shown as an OS notification.
//!
//! Once a second the time-based rules (thinking, silence, call length) run over every live
//! call; every half minute long-finished calls leave the board; every six hours the cache
//! drops calls older than the retention (at once when the supervisor changes it). On the transition to live, and once a minute while
//! live, review data written here and not yet pushed goes to the hub ([`crate::review`]).
//!
//! What deliberately does not live here: the hub protocol (`hub_client`), SQL (`cache`),
//! rules (`domain::alert`), and anything Tauri (the shell implements [`UiSink`]).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::alert::{AlertEvaluator, AlertRule, AlertRules, FiredAlert};
use domain::api::{ConnectionStatus, HubInfo, Language, LiveUpdate, Notice};
use domain::board::Applied;
use domain::event::Event;
use domain::ids::{SourceMs, TaskId};
use tokio::sync::{mpsc, watch, OnceCell};

use crate::cache::{self, Cache, CacheError, CallQuery, NewFiredAlert, StatusFilter, StoredAlertRule};
use crate::demo::Demo;
use crate::hub_client::{ClientOptions, Feed, HubClient};
use crate::live::LiveBoard;
use crate::token_store::TokenStore;

/// Where the engine's live output goes: the app shell implements it.
pub trait UiSink: Send + Sync + std::fmt::Debug + 'static {
    /// A live change for the window.
    fn live(&self, update: LiveUpdate);
    /// An OS notification.
    fn notify(&self, title: &str, body: &str);
}

/// The cache file's name inside the data directory for a hub (`None`: the built-in demo).
///
/// One file per hub, because the stored cursor is that hub's sequence number: switching
/// hubs must never resume one hub's stream from another's cursor.
pub fn cache_file(hub_url: Option<&str>) -> String {
    use sha2::Digest;
    match hub_url {
        None => "cache-demo.sqlite".to_owned(),
        Some(url) => format!("cache-{}.sqlite", &hex::encode(sha2::Sha256::digest(url.as_bytes()))[..16]),
    }
}

/// Batches the hub client may have queued for the link.
const FEED_DEPTH: usize = 64;
/// Waits between attempts to store a batch while storing fails.
const STORE_RETRY: [Duration; 4] =
    [Duration::from_millis(500), Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(5)];
/// Live calls restored from the cache at start, at most (far past the wall's scale of a
/// thousand; the cache pages them 500 at a time).
const RESTORE_MAX_CALLS: usize = 20_000;
/// How often retention runs.
const RETENTION_EVERY: Duration = Duration::from_secs(6 * 3600);

/// What the link shares with the console's commands.
#[derive(Default)]
pub(crate) struct LinkState {
    live: Mutex<LiveBoard>,
    status: Mutex<Option<ConnectionStatus>>,
    hub: Mutex<Option<HubInfo>>,
    user: Mutex<Option<String>>,
    evaluator: Mutex<Option<AlertEvaluator>>,
    notices: Mutex<Vec<Notice>>,
    cache: OnceCell<Cache>,
    client: OnceCell<HubClient>,
    /// The language notifications are written in; follows the supervisor's choice.
    language: Mutex<Option<Language>>,
    /// One review push round at a time (see [`crate::review`]).
    review_push: crate::review::PushGate,
    /// The retention the supervisor set while this link runs (else the config's), and
    /// whether the next tick should purge with it at once.
    retention: Mutex<Option<(Duration, bool)>>,
}

impl std::fmt::Debug for LinkState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkState").field("status", &*lock(&self.status)).finish_non_exhaustive()
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LinkState {
    pub(crate) fn status(&self) -> Option<ConnectionStatus> {
        lock(&self.status).clone()
    }

    pub(crate) fn hub(&self) -> Option<HubInfo> {
        lock(&self.hub).clone()
    }

    pub(crate) fn notices(&self) -> Vec<Notice> {
        lock(&self.notices).clone()
    }

    pub(crate) fn user(&self) -> Option<String> {
        lock(&self.user).clone()
    }

    pub(crate) fn cache(&self) -> Option<&Cache> {
        self.cache.get()
    }

    pub(crate) fn client(&self) -> Option<&HubClient> {
        self.client.get()
    }

    /// Notifications from now on are in `language`.
    pub(crate) fn set_language(&self, language: Language) {
        *lock(&self.language) = Some(language);
    }

    /// Finished calls older than `retention` go at the next tick (and every
    /// [`RETENTION_EVERY`] after).
    pub(crate) fn set_retention(&self, retention: Duration) {
        *lock(&self.retention) = Some((retention, true));
    }

    /// The retention in force and whether it changed since the last purge.
    fn take_retention(&self, fallback: Duration) -> (Duration, bool) {
        let mut retention = lock(&self.retention);
        match retention.as_mut() {
            Some((days, changed)) => (*days, std::mem::take(changed)),
            None => (fallback, false),
        }
    }

    fn language(&self, fallback: Language) -> Language {
        lock(&self.language).unwrap_or(fallback)
    }

    pub(crate) fn snapshot(&self) -> (Vec<Event>, u64) {
        lock(&self.live).snapshot()
    }

    pub(crate) fn rules(&self) -> AlertRules {
        lock(&self.evaluator).as_ref().map_or_else(AlertRules::defaults, |evaluator| evaluator.rules().clone())
    }

    /// Replaces the rules in force (already validated and stored by the caller).
    pub(crate) fn set_rules(&self, rules: AlertRules) -> Result<(), domain::alert::RuleError> {
        let mut evaluator = lock(&self.evaluator);
        match evaluator.as_mut() {
            Some(evaluator) => evaluator.set_rules(rules),
            None => {
                *evaluator = Some(AlertEvaluator::new(rules)?);
                Ok(())
            }
        }
    }

    /// Pushes this console's pending review data to the hub in the background, if linked.
    pub(crate) fn push_review(&self) {
        if let (Some(cache), Some(client)) = (self.cache.get(), self.client.get()) {
            crate::review::push_soon(&self.review_push, cache, client);
        }
    }

    fn set_status(&self, status: ConnectionStatus, sink: &dyn UiSink) {
        *lock(&self.status) = Some(status.clone());
        sink.live(LiveUpdate::Connection { status });
    }

    fn notice(&self, notice: Notice, sink: &dyn UiSink) {
        lock(&self.notices).push(notice.clone());
        sink.live(LiveUpdate::Notice { notice });
    }
}

/// What the link needs from the console.
pub(crate) struct LinkConfig {
    pub data_dir: std::path::PathBuf,
    pub hub_url: Option<String>,
    pub language: Language,
    pub retention: Duration,
}

/// A running link: stop it to close its subscription, demo and cache.
#[derive(Debug)]
pub(crate) struct LinkHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl LinkHandle {
    /// Asks the link to stop and waits (bounded) until it has let go of everything.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(15), &mut task).await.is_err() {
            tracing::warn!("the link did not stop within 15 s; aborting it");
            task.abort();
        }
    }
}

/// Runs the link in the background until stopped.
pub(crate) fn spawn(state: Arc<LinkState>, config: LinkConfig, sink: Arc<dyn UiSink>) -> LinkHandle {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(state, config, sink, stopped));
    LinkHandle { stop, task }
}

/// Runs the link until `stopped` says so. Never panics; a failure to set up is reported
/// to the UI as a notice and an offline status.
async fn run(state: Arc<LinkState>, config: LinkConfig, sink: Arc<dyn UiSink>, stopped: watch::Receiver<bool>) {
    state.set_status(ConnectionStatus::Connecting, sink.as_ref());
    if let Err(message) = run_inner(&state, &config, &sink, stopped).await {
        tracing::error!(%message, "the console's link stopped");
        state.notice(Notice::LinkFailed { message }, sink.as_ref());
        state.set_status(ConnectionStatus::Offline { reason: "setup".into() }, sink.as_ref());
    }
}

async fn run_inner(
    state: &Arc<LinkState>,
    config: &LinkConfig,
    sink: &Arc<dyn UiSink>,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), String> {
    let cache = open_cache(state, config, sink.as_ref()).await?;
    restore(state, &cache).await.map_err(|err| err.to_string())?;
    // The window may have taken its snapshot before the restore (or of another hub's
    // board): it must take a new one.
    sink.live(LiveUpdate::Reset);

    // Keep the demo alive for as long as the link runs.
    let (client, demo) = match &config.hub_url {
        Some(url) => {
            let store = TokenStore::new(&config.data_dir);
            let Some((token, storage)) = store.load(url).await.map_err(|err| err.to_string())? else {
                state.set_status(ConnectionStatus::Offline { reason: "no_token".into() }, sink.as_ref());
                return Ok(());
            };
            *lock(&state.hub) = Some(HubInfo { url: url.clone(), demo: false, token_storage: Some(storage) });
            (HubClient::new(url, token, ClientOptions::default()).map_err(|err| err.to_string())?, None)
        }
        None => {
            let demo = Demo::start(&config.data_dir).await.map_err(|err| err.to_string())?;
            *lock(&state.hub) = Some(HubInfo { url: demo.hub_url.clone(), demo: true, token_storage: None });
            let client = HubClient::new(&demo.hub_url, demo.token.clone(), ClientOptions::default())
                .map_err(|err| err.to_string())?;
            (client, Some(demo))
        }
    };

    let _ = state.client.set(client.clone());
    let after = cache.cursor().await.map_err(|err| err.to_string())?;
    let (feed_tx, mut feed) = mpsc::channel(FEED_DEPTH);
    let subscription = client.subscribe(after.0, feed_tx);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut ticks: u64 = 0;
    let mut last_retention: Option<tokio::time::Instant> = None;
    let ended = loop {
        tokio::select! {
            _ = stopped.changed() => break Ok(()),
            item = feed.recv() => match item {
                Some(item) => on_feed(state, &cache, sink.as_ref(), state.language(config.language), item).await,
                None => break Err("the hub client stopped".to_owned()),
            },
            _ = tick.tick() => {
                ticks += 1;
                let now = now_ms();
                let live: Vec<TaskId> = lock(&state.live).board().live_calls().map(|call| call.task().clone()).collect();
                evaluate(state, &cache, sink.as_ref(), state.language(config.language), live, now).await;
                if ticks % 60 == 0 && state.status() == Some(ConnectionStatus::Live) {
                    // Whatever a failed push left behind (the transition to live pushes too).
                    state.push_review();
                }
                if ticks % 30 == 0 {
                    let dropped = lock(&state.live).prune(now);
                    if let Some(evaluator) = lock(&state.evaluator).as_mut() {
                        dropped.iter().for_each(|task| evaluator.forget(task));
                    }
                }
                let (retention, changed) = state.take_retention(config.retention);
                if changed || last_retention.is_none_or(|at| at.elapsed() >= RETENTION_EVERY) {
                    last_retention = Some(tokio::time::Instant::now());
                    match cache.purge_older_than(retention).await {
                        Ok(purged) => tracing::info!(?purged, "cache retention ran"),
                        Err(error) => tracing::warn!(%error, "cache retention failed; trying again later"),
                    }
                }
            }
        }
    };
    // Let go of everything, in order: no more events, then the demo, then the cache.
    let last = subscription.stop().await;
    if let Some(demo) = demo {
        demo.stop().await;
    }
    cache.close().await;
    tracing::info!(last_seq = last, "the console's link stopped");
    ended
}

async fn open_cache(state: &LinkState, config: &LinkConfig, sink: &dyn UiSink) -> Result<Cache, String> {
    let path = config.data_dir.join(cache_file(config.hub_url.as_deref()));
    let opened = Cache::open(path).await.map_err(|err| err.to_string())?;
    if let Some(moved) = opened.moved_aside {
        tracing::warn!(moved_to = %moved.path.display(), reason = %moved.reason, "damaged cache moved aside; rebuilding from the hub");
        state.notice(Notice::CacheMovedAside { moved_to: moved.path.display().to_string() }, sink);
    }
    let cache = opened.cache;
    // Set once: `run` is called once per console.
    let _ = state.cache.set(cache.clone());
    Ok(cache)
}

/// Rules, fired alerts and live calls from the cache, so a restart picks up where it was.
async fn restore(state: &LinkState, cache: &Cache) -> Result<(), CacheError> {
    let stored = cache.alert_rules().await?;
    let rules = if stored.is_empty() {
        let defaults = AlertRules::defaults();
        cache.replace_alert_rules(to_stored(&defaults)).await?;
        defaults
    } else {
        from_stored(stored)
    };
    let mut evaluator = match AlertEvaluator::new(rules) {
        Ok(evaluator) => evaluator,
        Err(err) => {
            tracing::warn!(error = %err, "stored alert rules are invalid; using the defaults");
            AlertEvaluator::new(AlertRules::defaults())
                .map_err(|err| CacheError::BadInput { what: "default alert rules", reason: err.to_string() })?
        }
    };

    let mut query = CallQuery { status: Some(StatusFilter::Live), limit: 500, ..CallQuery::default() };
    let mut live_calls = Vec::new();
    while live_calls.len() < RESTORE_MAX_CALLS {
        let page = cache.calls(&query).await?;
        live_calls.extend(page.calls);
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    // What already fired for each live call (only those can fire again), so a rule does
    // not fire twice for one call across a restart.
    let mut events = Vec::new();
    for call in &live_calls {
        let query = cache::FiredQuery { task: Some(call.task.clone()), limit: 1_000, ..cache::FiredQuery::default() };
        for fired in cache.fired_alerts(&query).await? {
            evaluator.mark_fired(&fired.task, &domain::alert::RuleId::new(fired.rule_id));
        }
        events.extend(cache.events_of(&call.task).await?);
    }
    *lock(&state.evaluator) = Some(evaluator);
    events.sort_by_key(|event| event.seq.map(|seq| seq.0));
    let mut live = lock(&state.live);
    for event in &events {
        live.apply(event);
    }
    tracing::info!(calls = live_calls.len(), events = events.len(), "live calls restored from the cache");
    Ok(())
}

pub(crate) fn to_stored(rules: &AlertRules) -> Vec<StoredAlertRule> {
    rules
        .rules
        .iter()
        .map(|rule| StoredAlertRule {
            id: rule.id.as_str().to_owned(),
            enabled: rule.enabled,
            rule: serde_json::to_value(rule).unwrap_or(serde_json::Value::Null),
        })
        .collect()
}

fn from_stored(stored: Vec<StoredAlertRule>) -> AlertRules {
    let rules = stored
        .into_iter()
        .filter_map(|row| match serde_json::from_value::<AlertRule>(row.rule) {
            Ok(mut rule) => {
                rule.enabled = row.enabled;
                Some(rule)
            }
            Err(error) => {
                tracing::warn!(id = %row.id, %error, "a stored alert rule is unreadable; skipping it");
                None
            }
        })
        .collect();
    AlertRules { rules }
}

async fn on_feed(state: &LinkState, cache: &Cache, sink: &dyn UiSink, language: Language, item: Feed) {
    match item {
        Feed::Events(events) => {
            store(state, cache, sink, &events).await;
            let mut touched = BTreeSet::new();
            {
                let mut live = lock(&state.live);
                for event in &events {
                    if let Applied::Call(task) = live.apply(event) {
                        touched.insert(task);
                    }
                }
            }
            sink.live(LiveUpdate::Events { events });
            evaluate(state, cache, sink, language, touched.into_iter().collect(), now_ms()).await;
        }
        Feed::Status(status) => {
            let was_live = state.status() == Some(ConnectionStatus::Live);
            let status = ConnectionStatus::from(&status);
            let live = status == ConnectionStatus::Live;
            state.set_status(status, sink);
            if live && !was_live {
                // Back in touch with the hub: what was written meanwhile goes out now.
                state.push_review();
            }
        }
        Feed::SignedIn { user, role } => {
            tracing::info!(%user, ?role, "signed in to the hub");
            *lock(&state.user) = Some(user);
        }
        Feed::Truncated { first_seq } => {
            tracing::warn!(first_seq, "the hub's retention deleted events this console never received");
        }
    }
}

/// Stores `events`, retrying until it works; the UI hears about trouble once and about
/// the recovery once.
async fn store(state: &LinkState, cache: &Cache, sink: &dyn UiSink, events: &[Event]) {
    let mut attempt = 0;
    loop {
        match cache.append(events.to_vec()).await {
            Ok(_) => {
                if attempt > 0 {
                    tracing::info!("the cache is writable again");
                    lock(&state.notices).retain(|notice| !matches!(notice, Notice::CacheWriteFailing { .. }));
                    sink.live(LiveUpdate::Notice { notice: Notice::CacheWriteRecovered });
                }
                return;
            }
            Err(error) => {
                if attempt == 0 {
                    tracing::error!(%error, "cannot store events; holding them and retrying");
                    state.notice(Notice::CacheWriteFailing { message: error.to_string() }, sink);
                }
                tokio::time::sleep(STORE_RETRY[attempt.min(STORE_RETRY.len() - 1)]).await;
                attempt += 1;
            }
        }
    }
}

/// Runs the rules over `tasks`; stores, notifies and forwards what newly fired.
async fn evaluate(
    state: &LinkState,
    cache: &Cache,
    sink: &dyn UiSink,
    language: Language,
    tasks: Vec<TaskId>,
    now: SourceMs,
) {
    let fired: Vec<FiredAlert> = {
        let live = lock(&state.live);
        let mut evaluator = lock(&state.evaluator);
        let Some(evaluator) = evaluator.as_mut() else { return };
        tasks.iter().filter_map(|task| live.board().call(task)).flat_map(|call| evaluator.evaluate(call, now)).collect()
    };
    if fired.is_empty() {
        return;
    }
    let records = fired
        .iter()
        .map(|alert| NewFiredAlert {
            task: alert.call.clone(),
            rule_id: alert.rule.as_str().to_owned(),
            fired: alert.at,
            detail: serde_json::to_value(alert).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    let new = match cache.record_fired_alerts(records).await {
        Ok(new) => new,
        Err(error) => {
            tracing::warn!(%error, alerts = fired.len(), "cannot store fired alerts");
            return;
        }
    };
    let fresh: Vec<FiredAlert> = fired.into_iter().zip(new).filter_map(|(alert, new)| new.then_some(alert)).collect();
    for alert in &fresh {
        tracing::info!(call = %alert.call, rule = %alert.rule, "alert fired");
    }
    for body in notification_bodies(&fresh, language) {
        sink.notify(notification_title(language), &body);
    }
    for alert in fresh {
        sink.live(LiveUpdate::Alert { alert });
    }
}

/// Desktop notifications one evaluation shows one by one; more new alerts than this (a
/// rule every call trips) are folded into one "N more" notification — a wall of popups
/// helps nobody, and the Alerts screen lists them all.
pub const NOTIFY_AT_ONCE: usize = 3;

/// The desktop notifications for alerts that newly fired together: one each for the
/// first [`NOTIFY_AT_ONCE`], then one line for the rest.
fn notification_bodies(fresh: &[FiredAlert], language: Language) -> Vec<String> {
    let mut bodies: Vec<String> = fresh.iter().take(NOTIFY_AT_ONCE).map(|alert| alert.summary(language)).collect();
    let more = fresh.len().saturating_sub(NOTIFY_AT_ONCE);
    if more > 0 {
        bodies.push(match language {
            Language::ZhCn => format!("另有 {more} 条新告警，请在 Switchboard 的告警页查看。"),
            Language::En if more == 1 => "1 more new alert: see Alerts in Switchboard.".to_owned(),
            Language::En => format!("{more} more new alerts: see Alerts in Switchboard."),
        });
    }
    bodies
}

fn notification_title(language: Language) -> &'static str {
    match language {
        Language::ZhCn => "Switchboard 告警",
        Language::En => "Switchboard alert",
    }
}

pub(crate) fn now_ms() -> SourceMs {
    SourceMs(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX)),
    )
}

#[cfg(test)]
mod tests {
    use domain::alert::{AlertDetail, AlertKind, RuleId};

    use super::*;

    fn long_call(n: usize) -> FiredAlert {
        FiredAlert {
            call: TaskId::new(format!("task-{n}")),
            rule: RuleId::new("long"),
            kind: AlertKind::CallTooLong,
            at: SourceMs(1_700_000_000_000),
            round: None,
            detail: AlertDetail::CallTooLong {
                started: SourceMs(1_699_999_939_000),
                elapsed_ms: 61_000,
                limit_secs: 60,
            },
        }
    }

    #[test]
    fn a_few_new_alerts_are_notified_one_by_one() {
        let fresh: Vec<FiredAlert> = (0..NOTIFY_AT_ONCE).map(long_call).collect();
        let bodies = notification_bodies(&fresh, Language::En);
        assert_eq!(bodies.len(), NOTIFY_AT_ONCE);
        assert_eq!(bodies[0], fresh[0].summary(Language::En));
        assert!(notification_bodies(&[], Language::En).is_empty());
    }

    #[test]
    fn an_alert_storm_is_folded_into_one_more_line() {
        let fresh: Vec<FiredAlert> = (0..1_000).map(long_call).collect();
        let bodies = notification_bodies(&fresh, Language::ZhCn);
        assert_eq!(bodies.len(), NOTIFY_AT_ONCE + 1, "three alerts and one line for the rest");
        assert_eq!(bodies[NOTIFY_AT_ONCE], "另有 997 条新告警，请在 Switchboard 的告警页查看。");
        let english = notification_bodies(&fresh[..NOTIFY_AT_ONCE + 1], Language::En);
        assert_eq!(english.last().map(String::as_str), Some("1 more new alert: see Alerts in Switchboard."));
    }
}
