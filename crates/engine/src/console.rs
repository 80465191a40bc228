//! [`Console`]: the engine's face towards the app shell.
//!
//! One value built once at start-up and shared by every command. Each public method is
//! one use case and answers with `domain::api` types, so the shell's commands stay
//! one-line adapters.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
};

use domain::api::{AppInfo, ConnectionStatus, Language, Notice};

use crate::settings::{Settings, SettingsError, SettingsFile};

/// The console's state for one data directory.
#[derive(Debug)]
pub struct Console {
    version: String,
    data_dir: PathBuf,
    os_locale: Option<String>,
    settings_file: SettingsFile,
    settings: Mutex<Settings>,
    notices: Vec<Notice>,
}

/// Why the console could not open its data directory.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

impl Console {
    /// Opens (creating if needed) the console's data directory.
    ///
    /// A settings file that cannot be parsed is moved aside to `settings.json.corrupt`
    /// and the defaults are used; the UI is told through [`AppInfo::notices`].
    ///
    /// # Errors
    /// [`OpenError::DataDir`] when the directory cannot be created; [`OpenError::Settings`]
    /// when the settings file exists but cannot be read or moved aside.
    pub fn open(data_dir: &Path, version: &str, os_locale: Option<String>) -> Result<Console, OpenError> {
        fs::create_dir_all(data_dir).map_err(|source| OpenError::DataDir { path: data_dir.to_path_buf(), source })?;
        // Absolute, so the path the UI shows is the one on disk.
        let data_dir = fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let settings_file = SettingsFile::in_dir(&data_dir);
        let mut notices = Vec::new();
        let settings = match settings_file.load() {
            Ok(settings) => settings,
            Err(err @ SettingsError::Parse { .. }) => {
                let moved_to = settings_file.path().with_extension("json.corrupt");
                tracing::warn!(error = %err, moved_to = %moved_to.display(), "settings file unreadable; moving it aside and using defaults");
                fs::rename(settings_file.path(), &moved_to)
                    .map_err(|source| SettingsError::Write { path: settings_file.path().to_path_buf(), source })?;
                notices.push(Notice::SettingsMovedAside { moved_to: moved_to.display().to_string() });
                Settings::default()
            }
            Err(err) => return Err(err.into()),
        };
        Ok(Console {
            version: version.to_owned(),
            data_dir,
            os_locale,
            settings_file,
            settings: Mutex::new(settings),
            notices,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// What the UI shows about the app: version, paths, language and connection.
    pub fn app_info(&self) -> AppInfo {
        let saved = self.settings.lock().unwrap_or_else(PoisonError::into_inner).language;
        AppInfo {
            version: self.version.clone(),
            data_dir: self.data_dir.display().to_string(),
            os_locale: self.os_locale.clone(),
            language: saved.unwrap_or_else(|| Language::from_locale(self.os_locale.as_deref())),
            language_saved: saved.is_some(),
            // No hub client exists yet: the console is honestly not connected to anything.
            connection: ConnectionStatus::NotConfigured,
            notices: self.notices.clone(),
            hub: None,
        }
    }

    /// Saves the supervisor's language choice and answers the updated [`AppInfo`].
    ///
    /// # Errors
    /// [`SettingsError::Write`] when the file cannot be written; the choice is then not
    /// kept in memory either, so what the UI shows matches what is on disk.
    pub fn set_language(&self, language: Language) -> Result<AppInfo, SettingsError> {
        {
            let mut settings = self.settings.lock().unwrap_or_else(PoisonError::into_inner);
            let mut updated = settings.clone();
            updated.language = Some(language);
            self.settings_file.save(&updated)?;
            *settings = updated;
        }
        Ok(self.app_info())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_os_locale_decides_the_language_until_the_supervisor_chooses_one() {
        let dir = tempfile::tempdir().unwrap();
        let console = Console::open(dir.path(), "1.2.3", Some("zh_CN.UTF-8".into())).unwrap();
        let info = console.app_info();
        assert_eq!((info.language, info.language_saved), (Language::ZhCn, false));
        assert_eq!(info.version, "1.2.3");
        assert_eq!(info.connection, ConnectionStatus::NotConfigured);

        let info = console.set_language(Language::En).unwrap();
        assert_eq!((info.language, info.language_saved), (Language::En, true));

        let reopened = Console::open(dir.path(), "1.2.3", Some("zh_CN.UTF-8".into())).unwrap();
        assert_eq!(reopened.app_info().language, Language::En, "the choice must survive a restart");
    }

    #[test]
    fn a_corrupt_settings_file_is_moved_aside_and_the_ui_is_told() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("settings.json"), b"not json at all").unwrap();
        let console = Console::open(dir.path(), "1", None).expect("a corrupt file must not stop the app");
        let info = console.app_info();
        assert_eq!(info.language, Language::En);
        let [Notice::SettingsMovedAside { moved_to }] = info.notices.as_slice() else {
            panic!("expected one SettingsMovedAside notice, got {:?}", info.notices);
        };
        assert_eq!(fs::read(moved_to).unwrap(), b"not json at all", "the old bytes are kept for inspection");
        assert!(!dir.path().join("settings.json").exists());
    }

    #[test]
    fn the_data_dir_is_reported_as_an_absolute_path() {
        let dir = tempfile::tempdir().unwrap();
        let console = Console::open(&dir.path().join("a/../b"), "1", None).unwrap();
        let data_dir = console.app_info().data_dir;
        assert!(Path::new(&data_dir).is_absolute() && !data_dir.contains(".."), "got {data_dir}");
    }
}
