//! The console's own settings file, `settings.json` in the data directory.
//!
//! Small, human-readable preferences: the UI language, the hub's address, the cache's
//! retention. Writes are atomic —
//! a temporary file in the same directory, flushed, then renamed over the old one —
//! so a crash or a full disk leaves the previous file intact. A file that cannot be
//! read or parsed is reported with its path and the reason, never silently replaced:
//! the caller decides whether to fall back to defaults.
//!
//! Secrets never go here (hub tokens live in the OS keychain).

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use domain::api::Language;
use serde::{Deserialize, Serialize};

/// The settings file's name inside the data directory.
pub const FILE_NAME: &str = "settings.json";

/// What the console remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The supervisor's language choice; `None` means "follow the OS locale".
    #[serde(default)]
    pub language: Option<Language>,
    /// The hub to connect to; `None` runs the built-in demo. Its token is not here (see
    /// `token_store`).
    #[serde(default)]
    pub hub_url: Option<String>,
    /// How many days of finished calls the cache keeps; `None` = [`DEFAULT_RETENTION_DAYS`].
    #[serde(default)]
    pub retention_days: Option<u32>,
}

/// Days of finished calls the cache keeps unless the supervisor chose otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// Why the settings could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("settings file {path} is not valid settings JSON: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("cannot write settings file {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// The settings file of one data directory.
#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    /// The settings file inside `data_dir` (which need not exist yet).
    pub fn in_dir(data_dir: &Path) -> SettingsFile {
        SettingsFile { path: data_dir.join(FILE_NAME) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the settings; a missing file gives the defaults.
    ///
    /// # Errors
    /// [`SettingsError::Read`] when the file exists but cannot be read,
    /// [`SettingsError::Parse`] when it is not valid settings JSON. The file is left as is.
    pub fn load(&self) -> Result<Settings, SettingsError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(source) => return Err(SettingsError::Read { path: self.path.clone(), source }),
        };
        serde_json::from_slice(&bytes).map_err(|source| SettingsError::Parse { path: self.path.clone(), source })
    }

    /// Replaces the settings atomically, creating the data directory if needed.
    ///
    /// # Errors
    /// [`SettingsError::Write`] when the directory, the temporary file or the rename fails;
    /// the previous file is then untouched.
    pub fn save(&self, settings: &Settings) -> Result<(), SettingsError> {
        let write_err = |source| SettingsError::Write { path: self.path.clone(), source };
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        fs::create_dir_all(dir).map_err(write_err)?;
        let json = serde_json::to_vec_pretty(settings)
            .map_err(|err| write_err(io::Error::new(io::ErrorKind::InvalidData, err)))?;
        let tmp = dir.join(format!(".{FILE_NAME}.tmp"));
        let result = (|| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(&json)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)
        })();
        if let Err(source) = result {
            // Best effort: a leftover temporary file is harmless, the old settings are intact.
            let _ = fs::remove_file(&tmp);
            return Err(write_err(source));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_gives_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let settings = SettingsFile::in_dir(dir.path()).load().expect("missing file is not an error");
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.language, None, "no saved language means follow the OS");
    }

    #[test]
    fn saved_settings_are_read_back_and_the_directory_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(&dir.path().join("nested/data"));
        let settings = Settings {
            language: Some(Language::ZhCn),
            hub_url: Some("https://hub.example.com".into()),
            retention_days: Some(30),
        };
        file.save(&settings).expect("save");
        assert_eq!(file.load().expect("load"), settings);
        let text = fs::read_to_string(file.path()).unwrap();
        assert!(text.contains("\"zh-CN\""), "the file should be readable JSON, got {text}");
    }

    #[test]
    fn a_corrupt_file_is_reported_with_its_path_and_left_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        fs::write(file.path(), b"{\"language\": \"klingon\"").unwrap();
        let err = file.load().expect_err("corrupt settings must not load");
        let message = err.to_string();
        assert!(matches!(err, SettingsError::Parse { .. }), "got {err:?}");
        assert!(message.contains(FILE_NAME), "the error should name the file: {message}");
        assert_eq!(fs::read(file.path()).unwrap(), b"{\"language\": \"klingon\"", "file must be untouched");
    }

    #[test]
    fn a_failed_save_keeps_the_previous_settings() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        file.save(&Settings { language: Some(Language::En), ..Settings::default() }).unwrap();
        // A directory where the temporary file should go makes the write fail.
        fs::create_dir(dir.path().join(format!(".{FILE_NAME}.tmp"))).unwrap();
        let err = file
            .save(&Settings { language: Some(Language::ZhCn), ..Settings::default() })
            .expect_err("write must fail");
        assert!(err.to_string().contains("cannot write settings file"), "got {err}");
        assert_eq!(file.load().unwrap().language, Some(Language::En), "old settings must survive");
    }
}
