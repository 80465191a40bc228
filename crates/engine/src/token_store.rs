//! Where the supervisor's hub token is kept: the OS keychain, else a private file.
//!
//! What lives here: [`TokenStore`], which saves, loads and forgets the token of the
//! configured hub. It tries the platform keychain first through the `keyring` crate
//! (macOS Keychain, Windows Credential Manager, the Secret Service on Linux desktops);
//! where none answers — a headless Linux box, a session without a keyring daemon — it
//! falls back to `hub-token.json` in the data directory, created with permissions 0600.
//! Every answer says which of the two holds the token ([`TokenStorage`]), because the
//! settings screen must tell the supervisor.
//!
//! What deliberately does not: the hub URL (a setting, in `settings.json`) and any
//! logging of the token itself — the token's `Debug` is redacted (`HubToken`) and errors never carry it.
//!
//! Keychain calls block (D-Bus round trips), so they run on tokio's blocking pool.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use domain::api::TokenStorage;
use serde::{Deserialize, Serialize};

use crate::hub_client::HubToken as Token;

/// The keychain "service" every Switchboard entry is filed under.
const SERVICE: &str = "dev.switchboard.console";

/// The fallback file's name inside the data directory.
pub const FILE_NAME: &str = "hub-token.json";

/// Environment variable that turns the keychain off (`off`), e.g. for tests on a desktop
/// whose real keychain must not be touched.
pub const KEYCHAIN_ENV: &str = "SWITCHBOARD_KEYCHAIN";

/// Why the token could not be saved or read.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token cannot be used: {0}")]
    Invalid(String),
    #[error("cannot write the token file {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot read the token file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("the token file {path} is not valid: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("the keychain failed: {0}")]
    Keychain(String),
}

/// The file fallback's content: the token and the hub it belongs to.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenFile {
    hub_url: String,
    token: String,
}

/// The token store of one data directory.
#[derive(Debug, Clone)]
pub struct TokenStore {
    file: PathBuf,
    keychain: bool,
}

impl TokenStore {
    /// The store for `data_dir`; the keychain is used unless [`KEYCHAIN_ENV`] is `off`.
    pub fn new(data_dir: &Path) -> TokenStore {
        let keychain = std::env::var(KEYCHAIN_ENV).map_or(true, |value| value != "off");
        TokenStore { file: data_dir.join(FILE_NAME), keychain }
    }

    /// A store that never touches the keychain (tests, and `SWITCHBOARD_KEYCHAIN=off`).
    pub fn file_only(data_dir: &Path) -> TokenStore {
        TokenStore { file: data_dir.join(FILE_NAME), keychain: false }
    }

    /// Saves `token` for `hub_url`, replacing any earlier one, and answers where it went.
    /// A token saved in the keychain removes an older file copy.
    ///
    /// # Errors
    /// [`TokenError::Write`] when the keychain is unavailable and the file cannot be written.
    pub async fn save(&self, hub_url: &str, token: &Token) -> Result<TokenStorage, TokenError> {
        if self.keychain {
            match keychain(hub_url, KeychainOp::Set(token.expose().to_owned())).await {
                Ok(_) => {
                    remove_file(&self.file)?;
                    return Ok(TokenStorage::Keychain);
                }
                Err(reason) => tracing::info!(%reason, "no usable keychain; keeping the token in a private file"),
            }
        }
        let body = serde_json::to_vec(&TokenFile { hub_url: hub_url.to_owned(), token: token.expose().to_owned() })
            .map_err(|err| TokenError::Write { path: self.file.clone(), source: io::Error::other(err) })?;
        write_private(&self.file, &body).map_err(|source| TokenError::Write { path: self.file.clone(), source })?;
        Ok(TokenStorage::File { path: self.file.display().to_string() })
    }

    /// The token saved for `hub_url` and where it is, or `None` when there is none.
    ///
    /// # Errors
    /// [`TokenError::Read`] / [`TokenError::Corrupt`] when the file exists but is unusable.
    pub async fn load(&self, hub_url: &str) -> Result<Option<(Token, TokenStorage)>, TokenError> {
        if self.keychain {
            if let Ok(Some(token)) = keychain(hub_url, KeychainOp::Get).await {
                let token = Token::new(token).map_err(|err| TokenError::Invalid(err.to_string()))?;
                return Ok(Some((token, TokenStorage::Keychain)));
            }
        }
        let bytes = match fs::read(&self.file) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(TokenError::Read { path: self.file.clone(), source }),
        };
        let saved: TokenFile = serde_json::from_slice(&bytes)
            .map_err(|err| TokenError::Corrupt { path: self.file.clone(), detail: err.to_string() })?;
        if saved.hub_url != hub_url {
            return Ok(None);
        }
        let token = Token::new(saved.token)
            .map_err(|err| TokenError::Corrupt { path: self.file.clone(), detail: err.to_string() })?;
        Ok(Some((token, TokenStorage::File { path: self.file.display().to_string() })))
    }

    /// Forgets the token of `hub_url` everywhere it may be.
    ///
    /// # Errors
    /// [`TokenError::Write`] when the file exists and cannot be removed.
    pub async fn forget(&self, hub_url: &str) -> Result<(), TokenError> {
        if self.keychain {
            // Nothing to delete, or no keychain: both fine.
            let _ = keychain(hub_url, KeychainOp::Delete).await;
        }
        remove_file(&self.file)
    }
}

enum KeychainOp {
    Get,
    Set(String),
    Delete,
}

/// One keychain call on the blocking pool; errors are described without the secret.
async fn keychain(hub_url: &str, op: KeychainOp) -> Result<Option<String>, String> {
    let account = hub_url.to_owned();
    let run = move || -> Result<Option<String>, keyring::Error> {
        let entry = keyring::Entry::new(SERVICE, &account)?;
        match op {
            KeychainOp::Get => match entry.get_password() {
                Ok(token) => Ok(Some(token)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(err) => Err(err),
            },
            KeychainOp::Set(token) => entry.set_password(&token).map(|()| None),
            KeychainOp::Delete => match entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(None),
                Err(err) => Err(err),
            },
        }
    };
    match tokio::task::spawn_blocking(run).await {
        Ok(result) => result.map_err(|err| describe(&err)),
        Err(join) => Err(format!("the keychain call did not finish: {join}")),
    }
}

/// The keyring error's kind, never its payload (which may echo the secret).
fn describe(err: &keyring::Error) -> String {
    match err {
        keyring::Error::PlatformFailure(inner) => format!("platform failure: {inner}"),
        keyring::Error::NoStorageAccess(inner) => format!("no storage access: {inner}"),
        keyring::Error::NoEntry => "no entry".into(),
        keyring::Error::TooLong(what, max) => format!("{what} longer than {max}"),
        keyring::Error::Invalid(what, why) => format!("invalid {what}: {why}"),
        keyring::Error::Ambiguous(_) => "more than one matching entry".into(),
        keyring::Error::BadEncoding(_) => "the stored value is not UTF-8".into(),
        _ => "unknown keychain error".into(),
    }
}

fn remove_file(path: &Path) -> Result<(), TokenError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(TokenError::Write { path: path.to_path_buf(), source }),
    }
}

/// Writes `bytes` to `path` atomically, readable and writable by the owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    #[cfg(unix)]
    {
        // An older file with wider permissions keeps them through `open`; narrow them.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_keychain_the_token_lives_in_a_0600_file_and_the_answer_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::file_only(dir.path());
        let token = Token::new("  s3cr3t-token \n").unwrap();
        let storage = store.save("http://127.0.0.1:8720", &token).await.unwrap();
        let path = dir.path().join(FILE_NAME);
        assert_eq!(storage, TokenStorage::File { path: path.display().to_string() });
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (loaded, from) = store.load("http://127.0.0.1:8720").await.unwrap().unwrap();
        assert_eq!((loaded.expose(), from), ("s3cr3t-token", storage));
        assert_eq!(store.load("http://other:8720").await.unwrap(), None, "a token belongs to its hub");
        store.forget("http://127.0.0.1:8720").await.unwrap();
        assert_eq!(store.load("http://127.0.0.1:8720").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_damaged_token_file_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
        let err = TokenStore::file_only(dir.path()).load("http://h").await.unwrap_err();
        assert!(matches!(err, TokenError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains(FILE_NAME), "{err}");
    }
}
