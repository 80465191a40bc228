//! The hub's SQLite file (`DATA_DIR/hub.sqlite`, WAL, migrations in `migrations/hub`) and
//! what lives in it besides the event log: supervisors (token hashes only), commands by
//! idempotency key, and the audit trail.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::auth::{Role, User};
use crate::log::{to_i64, LogError};

/// Opens (creating if needed) the hub's database in `data_dir` and brings its schema up to
/// date.
///
/// # Errors
/// A [`LogError`] naming what failed: creating the directory, opening the file (not a
/// database, no permission, disk full) or migrating it.
pub async fn open(data_dir: &Path) -> Result<SqlitePool, LogError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| LogError::new("create the data directory", format!("{}: {e}", data_dir.display())))?;
    let path = data_dir.join("hub.sqlite");
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(|e| LogError::new("configure SQLite", e))?
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|e| LogError::new("open the hub database", format!("{}: {e}", path.display())))?;
    sqlx::migrate!("../../migrations/hub")
        .run(&pool)
        .await
        .map_err(|e| LogError::new("migrate the hub database", format!("{}: {e}", path.display())))?;
    Ok(pool)
}

/// Supervisors, commands and audit, over the hub's pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

/// Why a user could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("a user name must be 1–64 characters with no control characters or spaces at the ends")]
    BadName,
    #[error("a user named {0:?} already exists")]
    Exists(String),
    #[error(transparent)]
    Log(#[from] LogError),
}

/// What [`Store::begin_command`] found for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// A new command: run it under this id.
    New { command_id: String },
    /// The same command was already answered: answer the same.
    Replay { command_id: String, status: u16, response: String },
    /// The same command is still running.
    InFlight { command_id: String },
    /// The key was used for a different command.
    Conflict,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: u64,
    pub user: String,
    pub role: String,
    pub task_id: Option<String>,
    pub round_id: Option<String>,
    pub action: String,
    pub outcome: String,
    pub detail: Option<String>,
}

/// A supervisor's token: random, shown once, kept only as its SHA-256.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("sbt_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token. Tokens are 256 random bits, so a plain SHA-256 is enough.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Store {
    pub fn new(pool: SqlitePool) -> Store {
        Store { pool }
    }

    /// Adds a supervisor and returns their token (the only time it is ever seen).
    ///
    /// # Errors
    /// [`UserError`]: a bad name, a name taken, or the database failing.
    pub async fn add_user(&self, name: &str, role: Role, now_ms: u64) -> Result<String, UserError> {
        let trimmed = name.trim();
        if trimmed.is_empty() || trimmed != name || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(UserError::BadName);
        }
        let token = new_token();
        let result = sqlx::query("INSERT INTO users (name, role, token_hash, created_ms) VALUES (?, ?, ?, ?)")
            .bind(name)
            .bind(role.as_str())
            .bind(token_hash(&token))
            .bind(to_i64(now_ms))
            .execute(&self.pool)
            .await;
        match result {
            Ok(_) => Ok(token),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(UserError::Exists(name.to_owned())),
            Err(e) => Err(LogError::new("add a user", e).into()),
        }
    }

    /// The supervisor a token belongs to.
    ///
    /// # Errors
    /// A [`LogError`] when the database fails (an unknown token is `Ok(None)`).
    pub async fn user_by_token(&self, token: &str) -> Result<Option<User>, LogError> {
        let row = sqlx::query("SELECT name, role FROM users WHERE token_hash = ?")
            .bind(token_hash(token))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| LogError::new("look up a token", e))?;
        Ok(row.and_then(|row| {
            let name: String = row.get(0);
            let role: String = row.get(1);
            Role::parse(&role).map(|role| User { name, role })
        }))
    }

    /// Registers a command under `(user, key)`, or finds what an earlier one with the same
    /// key became.
    ///
    /// # Errors
    /// A [`LogError`] when the database fails.
    pub async fn begin_command(
        &self,
        user: &str,
        key: &str,
        task: &str,
        request: &str,
        now_ms: u64,
    ) -> Result<Begun, LogError> {
        let command_id = uuid::Uuid::new_v4().to_string();
        let inserted = sqlx::query(
            "INSERT INTO commands (user_name, idempotency_key, command_id, task_id, request, created_ms) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_name, idempotency_key) DO NOTHING",
        )
        .bind(user)
        .bind(key)
        .bind(&command_id)
        .bind(task)
        .bind(request)
        .bind(to_i64(now_ms))
        .execute(&self.pool)
        .await
        .map_err(|e| LogError::new("record a command", e))?;
        if inserted.rows_affected() == 1 {
            return Ok(Begun::New { command_id });
        }
        let row = sqlx::query(
            "SELECT command_id, task_id, request, status, response FROM commands \
             WHERE user_name = ? AND idempotency_key = ?",
        )
        .bind(user)
        .bind(key)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| LogError::new("read a command", e))?;
        let (id, stored_task, stored_request): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        if stored_task != task || stored_request != request {
            return Ok(Begun::Conflict);
        }
        let status: Option<i64> = row.get(3);
        let response: Option<String> = row.get(4);
        Ok(match (status, response) {
            (Some(status), Some(response)) => {
                Begun::Replay { command_id: id, status: u16::try_from(status).unwrap_or(500), response }
            }
            _ => Begun::InFlight { command_id: id },
        })
    }

    /// Stores a command's answer, for retries.
    ///
    /// # Errors
    /// A [`LogError`] when the database fails.
    pub async fn finish_command(&self, command_id: &str, status: u16, response: &str) -> Result<(), LogError> {
        sqlx::query("UPDATE commands SET status = ?, response = ? WHERE command_id = ?")
            .bind(i64::from(status))
            .bind(response)
            .bind(command_id)
            .execute(&self.pool)
            .await
            .map_err(|e| LogError::new("store a command's outcome", e))?;
        Ok(())
    }

    /// Appends to the audit trail.
    ///
    /// # Errors
    /// A [`LogError`] when the database fails.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), LogError> {
        sqlx::query(
            "INSERT INTO audit (at_ms, user_name, role, task_id, round_id, action, outcome, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(to_i64(entry.at_ms))
        .bind(&entry.user)
        .bind(&entry.role)
        .bind(entry.task_id.as_deref())
        .bind(entry.round_id.as_deref())
        .bind(&entry.action)
        .bind(&entry.outcome)
        .bind(entry.detail.as_deref())
        .execute(&self.pool)
        .await
        .map_err(|e| LogError::new("write the audit trail", e))?;
        Ok(())
    }

    /// The newest audit entries first: of one call, or of all; before id `before` if given.
    ///
    /// # Errors
    /// A [`LogError`] when the database fails.
    pub async fn audit_entries(
        &self,
        task: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, LogError> {
        let rows = sqlx::query(
            "SELECT id, at_ms, user_name, role, task_id, round_id, action, outcome, detail FROM audit \
             WHERE (?1 IS NULL OR task_id = ?1) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
        )
        .bind(task)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| LogError::new("read the audit trail", e))?;
        Ok(rows
            .into_iter()
            .map(|row| AuditEntry {
                id: row.get(0),
                at_ms: row.get::<i64, _>(1).max(0) as u64,
                user: row.get(2),
                role: row.get(3),
                task_id: row.get(4),
                round_id: row.get(5),
                action: row.get(6),
                outcome: row.get(7),
                detail: row.get(8),
            })
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let pool = open(dir.path()).await.unwrap();
        (dir, Store::new(pool))
    }

    #[tokio::test]
    async fn a_user_token_is_shown_once_and_only_its_hash_is_stored() {
        let (dir, store) = store().await;
        let token = store.add_user("li.na", Role::Supervisor, 1).await.unwrap();
        assert!(token.starts_with("sbt_") && token.len() > 40);
        let user = store.user_by_token(&token).await.unwrap().unwrap();
        assert_eq!((user.name.as_str(), user.role), ("li.na", Role::Supervisor));
        assert_eq!(store.user_by_token("sbt_wrong").await.unwrap(), None);
        let bytes = std::fs::read(dir.path().join("hub.sqlite")).unwrap_or_default();
        let wal = std::fs::read(dir.path().join("hub.sqlite-wal")).unwrap_or_default();
        let needle = token.as_bytes();
        for file in [bytes, wal] {
            assert!(!file.windows(needle.len()).any(|window| window == needle), "the token is stored in clear");
        }
        assert_eq!(store.add_user("li.na", Role::Lead, 2).await, Err(UserError::Exists("li.na".into())));
        assert_eq!(store.add_user(" padded", Role::Lead, 2).await, Err(UserError::BadName));
        assert_eq!(store.add_user("", Role::Lead, 2).await, Err(UserError::BadName));
    }

    #[tokio::test]
    async fn a_command_key_is_new_once_then_in_flight_then_replayed_and_conflicts_on_other_requests() {
        let (_dir, store) = store().await;
        let Begun::New { command_id } = store.begin_command("li", "k1", "task", "{\"say\":1}", 1).await.unwrap() else {
            panic!("first use of a key is new");
        };
        assert_eq!(
            store.begin_command("li", "k1", "task", "{\"say\":1}", 2).await.unwrap(),
            Begun::InFlight { command_id: command_id.clone() }
        );
        store.finish_command(&command_id, 202, "{\"ok\":true}").await.unwrap();
        assert_eq!(
            store.begin_command("li", "k1", "task", "{\"say\":1}", 3).await.unwrap(),
            Begun::Replay { command_id, status: 202, response: "{\"ok\":true}".into() }
        );
        assert_eq!(store.begin_command("li", "k1", "task", "{\"say\":2}", 4).await.unwrap(), Begun::Conflict);
        // Keys are per user.
        assert!(matches!(store.begin_command("wang", "k1", "task", "{}", 5).await.unwrap(), Begun::New { .. }));
    }

    #[tokio::test]
    async fn audit_entries_are_listed_newest_first_per_call() {
        let (_dir, store) = store().await;
        for (index, task) in ["a", "b", "a"].into_iter().enumerate() {
            let entry = AuditEntry {
                id: 0,
                at_ms: index as u64,
                user: "li".into(),
                role: "supervisor".into(),
                task_id: Some(task.into()),
                round_id: None,
                action: "say".into(),
                outcome: "done".into(),
                detail: None,
            };
            store.audit(&entry).await.unwrap();
        }
        let of_a = store.audit_entries(Some("a"), None, 10).await.unwrap();
        assert_eq!(of_a.iter().map(|e| e.at_ms).collect::<Vec<_>>(), [2, 0]);
        assert_eq!(store.audit_entries(None, None, 10).await.unwrap().len(), 3);
        assert_eq!(store.audit_entries(None, Some(of_a[0].id), 10).await.unwrap().len(), 2);
    }
}
