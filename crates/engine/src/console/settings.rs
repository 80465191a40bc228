//! The settings screen's use cases: the cache's place, size and retention, and where the
//! hub token is kept.
//!
//! What lives here: [`Console::cache_info`], [`Console::set_retention`] (saved to
//! `settings.json`, then handed to the running link, whose next tick purges with it) and
//! [`Console::token_location`], with their one error enum [`SettingsCommandError`].
//!
//! What deliberately does not: purging (the cache's `retention.rs`, run by the link's tick),
//! the hub connection commands and the alert rules (`console/mod.rs`), and the token itself,
//! which never leaves the token store.

use std::path::{Path, PathBuf};
use std::sync::PoisonError;
use std::time::Duration;

use domain::api::{
    parse_retention_days, ApiError, CacheInfo, ErrorCode, RetentionOutOfRange, TokenLocation, TokenStorage,
};

use super::Console;
use crate::link::cache_file;
use crate::settings::{SettingsError, DEFAULT_RETENTION_DAYS};
use crate::token_store::{TokenError, TokenStore};

/// Where the built-in demo keeps its generated credentials (its supervisor token among
/// them), relative to the data directory; `demo.rs` writes it with permissions 0600.
const DEMO_CREDENTIALS: [&str; 2] = ["demo", "credentials.json"];

/// Why a settings-screen command failed. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum SettingsCommandError {
    #[error(transparent)]
    Retention(#[from] RetentionOutOfRange),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("cannot read the size of the cache file {path}: {source}")]
    Size { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl From<SettingsCommandError> for ApiError {
    fn from(err: SettingsCommandError) -> ApiError {
        let code = match &err {
            SettingsCommandError::Retention(_) => ErrorCode::BadRequest,
            SettingsCommandError::Settings(_) | SettingsCommandError::Size { .. } | SettingsCommandError::Token(_) => {
                ErrorCode::Storage
            }
        };
        ApiError::new(code, err.to_string())
    }
}

impl Console {
    /// The cache file of the hub in use (the demo's when none is configured), its size on
    /// disk with its write-ahead log, and the retention in force.
    ///
    /// # Errors
    /// [`SettingsCommandError::Size`] when a file exists but its size cannot be read.
    pub fn cache_info(&self) -> Result<CacheInfo, SettingsCommandError> {
        let settings = self.settings.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let link = self.link();
        let path = match link.cache() {
            Some(cache) => cache.path().to_path_buf(),
            None => self.data_dir.join(cache_file(settings.hub_url.as_deref())),
        };
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        let bytes = file_size(&path)? + file_size(Path::new(&wal))?;
        Ok(CacheInfo {
            path: path.display().to_string(),
            bytes,
            retention_days: settings.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS),
            retention_saved: settings.retention_days.is_some(),
        })
    }

    /// Keeps finished calls for `days` (1–3650): saved to `settings.json`, and the running
    /// link purges with it at its next tick. Answers the updated cache info.
    ///
    /// # Errors
    /// [`SettingsCommandError::Retention`] naming the field and range (nothing changes);
    /// [`SettingsCommandError::Settings`] when the file cannot be written (nothing changes
    /// in memory either); [`SettingsCommandError::Size`] as [`Console::cache_info`].
    pub fn set_retention(&self, days: i64) -> Result<CacheInfo, SettingsCommandError> {
        let days = parse_retention_days(days)?;
        {
            let mut settings = self.settings.lock().unwrap_or_else(PoisonError::into_inner);
            let mut updated = settings.clone();
            updated.retention_days = Some(days);
            self.settings_file.save(&updated)?;
            *settings = updated;
        }
        self.link().set_retention(Duration::from_secs(u64::from(days) * 86_400));
        tracing::info!(days, "cache retention changed");
        self.cache_info()
    }

    /// Where the token of the hub in use is kept: the demo's credentials file, the OS
    /// keychain or a private file — or nowhere yet.
    ///
    /// # Errors
    /// [`SettingsCommandError::Token`] when the token file exists but cannot be read.
    pub async fn token_location(&self) -> Result<TokenLocation, SettingsCommandError> {
        let hub_url = self.settings.lock().unwrap_or_else(PoisonError::into_inner).hub_url.clone();
        let Some(url) = hub_url else {
            let path = DEMO_CREDENTIALS.iter().fold(self.data_dir.clone(), |path, part| path.join(part));
            return Ok(TokenLocation::DemoCredentials { path: path.display().to_string() });
        };
        // The running link already looked; ask the store only before it has.
        let storage = match self.link().hub().filter(|hub| !hub.demo && hub.url == url) {
            Some(hub) => hub.token_storage,
            None => TokenStore::new(&self.data_dir).load(&url).await?.map(|(_token, storage)| storage),
        };
        Ok(match storage {
            Some(TokenStorage::Keychain) => TokenLocation::Keychain,
            Some(TokenStorage::File { path }) => TokenLocation::File { path },
            None => TokenLocation::NotSaved,
        })
    }
}

/// A file's size; 0 when it does not exist.
fn file_size(path: &Path) -> Result<u64, SettingsCommandError> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(meta.len()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(source) => Err(SettingsCommandError::Size { path: path.to_path_buf(), source }),
    }
}
