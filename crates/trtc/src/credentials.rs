//! Tencent Cloud API credentials: a SecretId and its SecretKey (plus an STS token when
//! temporary). Read from `TENCENTCLOUD_SECRET_ID` / `TENCENTCLOUD_SECRET_KEY` (and
//! `TENCENTCLOUD_SESSION_TOKEN`), the names the official SDKs use, or given explicitly.
//!
//! The key never leaves this type in a printable form: `Debug` shows the SecretId's last
//! four characters only and `***` for the key and token.

use std::fmt;

/// Environment variable holding the SecretId.
pub const SECRET_ID_ENV: &str = "TENCENTCLOUD_SECRET_ID";
/// Environment variable holding the SecretKey.
pub const SECRET_KEY_ENV: &str = "TENCENTCLOUD_SECRET_KEY";
/// Environment variable holding an STS session token (temporary credentials only).
pub const SESSION_TOKEN_ENV: &str = "TENCENTCLOUD_SESSION_TOKEN";

/// A SecretId/SecretKey pair, optionally with a session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    secret_id: String,
    secret_key: String,
    token: Option<String>,
}

/// Why credentials could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("{0} contains whitespace or control characters")]
    Malformed(&'static str),
}

impl Credentials {
    /// Credentials given explicitly (from a config file, a test, the emulator's flags).
    ///
    /// # Errors
    /// When either part is empty or contains whitespace/control characters.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Result<Credentials, CredentialsError> {
        let (secret_id, secret_key) = (secret_id.into(), secret_key.into());
        check(&secret_id, SECRET_ID_ENV)?;
        check(&secret_key, SECRET_KEY_ENV)?;
        Ok(Credentials { secret_id, secret_key, token: None })
    }

    /// Adds an STS session token (sent as `X-TC-Token`).
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Credentials {
        self.token = Some(token.into()).filter(|t| !t.is_empty());
        self
    }

    /// Reads `TENCENTCLOUD_SECRET_ID`, `TENCENTCLOUD_SECRET_KEY` and, if set,
    /// `TENCENTCLOUD_SESSION_TOKEN`.
    ///
    /// # Errors
    /// Names the variable that is missing, empty or malformed.
    pub fn from_env() -> Result<Credentials, CredentialsError> {
        Credentials::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Credentials::from_env`] over any lookup (tests, config layers).
    ///
    /// # Errors
    /// Names the variable that is missing, empty or malformed.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Credentials, CredentialsError> {
        let id = lookup(SECRET_ID_ENV).ok_or(CredentialsError::Missing(SECRET_ID_ENV))?;
        let key = lookup(SECRET_KEY_ENV).ok_or(CredentialsError::Missing(SECRET_KEY_ENV))?;
        let credentials = Credentials::new(id, key)?;
        Ok(match lookup(SESSION_TOKEN_ENV) {
            Some(token) => credentials.with_token(token),
            None => credentials,
        })
    }

    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The SecretKey, for signing only. Never log or serialise it.
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }
}

fn check(value: &str, name: &'static str) -> Result<(), CredentialsError> {
    if value.is_empty() {
        return Err(CredentialsError::Empty(name));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CredentialsError::Malformed(name));
    }
    Ok(())
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail: String = self.secret_id.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        f.debug_struct("Credentials")
            .field("secret_id", &format_args!("…{tail}"))
            .field("secret_key", &format_args!("***"))
            .field("token", &format_args!("{}", if self.token.is_some() { "***" } else { "none" }))
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_key_or_the_whole_id() {
        let credentials = Credentials::new("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE")
            .unwrap()
            .with_token("sts-token-value");
        let printed = format!("{credentials:?}");
        assert!(!printed.contains("Gu5t9x"), "the key leaked: {printed}");
        assert!(!printed.contains("AKIDz8"), "the whole id leaked: {printed}");
        assert!(!printed.contains("sts-token"), "the token leaked: {printed}");
        assert!(printed.contains("…MPLE"), "the id's tail helps tell keys apart: {printed}");
    }

    #[test]
    fn the_environment_names_the_variable_that_is_missing_or_bad() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(Credentials::from_lookup(env(&[])).unwrap_err(), CredentialsError::Missing(SECRET_ID_ENV));
        assert_eq!(
            Credentials::from_lookup(env(&[(SECRET_ID_ENV, "id")])).unwrap_err(),
            CredentialsError::Missing(SECRET_KEY_ENV)
        );
        assert_eq!(
            Credentials::from_lookup(env(&[(SECRET_ID_ENV, "id"), (SECRET_KEY_ENV, "")])).unwrap_err(),
            CredentialsError::Empty(SECRET_KEY_ENV)
        );
        assert_eq!(
            Credentials::from_lookup(env(&[(SECRET_ID_ENV, "id with space"), (SECRET_KEY_ENV, "k")])).unwrap_err(),
            CredentialsError::Malformed(SECRET_ID_ENV)
        );
        let ok =
            Credentials::from_lookup(env(&[(SECRET_ID_ENV, "id"), (SECRET_KEY_ENV, "k"), (SESSION_TOKEN_ENV, "t")]))
                .unwrap();
        assert_eq!((ok.secret_id(), ok.secret_key(), ok.token()), ("id", "k", Some("t")));
    }
}
