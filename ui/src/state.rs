//! The app's state and its reducer: the single place UI state changes.

use std::rc::Rc;

use domain::api::{ApiError, AppInfo, Language};
use yew::Reducible;

/// Everything the shell-level components show.
#[derive(Debug, Clone, PartialEq)]
pub struct AppState {
    /// The language strings are shown in: the browser's guess until the shell answers.
    pub language: Language,
    /// The shell's answer to `app_info`, once it came.
    pub info: Option<AppInfo>,
    /// The last failed command, shown in a banner until the next success.
    pub error: Option<ApiError>,
    /// A language change is on its way to the shell.
    pub saving_language: bool,
}

impl AppState {
    pub fn new(initial_language: Language) -> AppState {
        AppState { language: initial_language, info: None, error: None, saving_language: false }
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
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::InfoLoaded(info) => {
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
        }
        Rc::new(next)
    }
}
