//! The cache's file: connection settings, the integrity check at start, moving a damaged
//! file aside, and migrations (`migrations/*.sql`, embedded).
//!
//! A file is *damaged* when SQLite says it is not a database or is malformed, when
//! `PRAGMA quick_check` finds anything wrong, or when its schema is not one this build can
//! migrate (written by a newer Switchboard, or by an edited migration). A damaged file —
//! with its `-wal` and `-shm` — is renamed to `<name>.corrupt-<unix ms>` (`-wal`/`-shm`
//! appended), never deleted, and a fresh cache is created in its place. Everything else
//! that goes wrong (no permission, no disk) is an error: a file is never moved aside for a
//! reason that is not its own.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection};

use super::error::{is_damage, CacheError};

/// The cache's schema.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// How long a statement waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A damaged cache file that was renamed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedAside {
    /// Where the damaged file is now (its `-wal`/`-shm`, if any, beside it with those
    /// suffixes).
    pub path: PathBuf,
    /// What was wrong with it, for the supervisor and the log.
    pub reason: String,
}

/// The writer's connection settings: WAL, synchronous NORMAL (a power cut may lose the last
/// transactions but never corrupts; the hub has them), foreign keys, busy timeout, and
/// incremental auto-vacuum so retention can give pages back.
pub(crate) fn writer_options(path: &Path) -> Result<SqliteConnectOptions, CacheError> {
    Ok(base_options(path)?
        .create_if_missing(true)
        .auto_vacuum(SqliteAutoVacuum::Incremental)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal))
}

/// The readers' settings: read-only connections to the same WAL file.
pub(crate) fn reader_options(path: &Path) -> Result<SqliteConnectOptions, CacheError> {
    Ok(base_options(path)?.read_only(true))
}

fn base_options(path: &Path) -> Result<SqliteConnectOptions, CacheError> {
    let options = SqliteConnectOptions::from_str("sqlite://").map_err(|e| CacheError::Open {
        operation: "configure SQLite",
        path: path.to_path_buf(),
        cause: e.to_string(),
    })?;
    Ok(options.filename(path).foreign_keys(true).busy_timeout(BUSY_TIMEOUT).disable_statement_logging())
}

/// Opens the writer's connection and brings the schema up to date; a file found damaged
/// on the way is moved aside and a fresh one created.
pub(crate) async fn open_checked(path: &Path) -> Result<(SqliteConnection, Option<MovedAside>), CacheError> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CacheError::io("create the cache folder", dir, &e))?;
    }
    let mut moved_aside = None;
    if path.exists() {
        if let Some(reason) = damage(path).await? {
            let moved = move_aside(path)?;
            tracing::warn!(path = %path.display(), moved_to = %moved.display(), %reason, "cache file damaged; moved aside, starting a fresh cache");
            moved_aside = Some(MovedAside { path: moved, reason });
        }
    }
    match migrate(path).await {
        Ok(()) => Ok((connect_writer(path, true).await?, moved_aside)),
        Err(error) if moved_aside.is_none() && schema_is_foreign(&error) => {
            // Not ours to migrate: keep it for whoever wrote it, and start afresh.
            let reason = format!("its schema cannot be migrated by this version: {error}");
            let moved = move_aside(path)?;
            tracing::warn!(path = %path.display(), moved_to = %moved.display(), %reason, "cache file unusable; moved aside, starting a fresh cache");
            migrate(path).await.map_err(|e| migrate_error(path, &e))?;
            Ok((connect_writer(path, true).await?, Some(MovedAside { path: moved, reason })))
        }
        Err(error) => Err(migrate_error(path, &error)),
    }
}

/// Runs the migrations through a one-connection pool that is closed after.
///
/// Through a pool, not over the writer's `&mut SqliteConnection`: that path goes through
/// sqlx's higher-ranked `Acquire`, and its future would make every caller's future fail
/// `Send` checks in generic contexts such as `tokio::spawn` (rust-lang/rust#102211).
async fn migrate(path: &Path) -> Result<(), MigrateError> {
    let options =
        writer_options(path).map_err(|e| MigrateError::Source(Box::new(std::io::Error::other(e.to_string()))))?;
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
    let result = MIGRATOR.run(&pool).await;
    pool.close().await;
    result
}

/// Opens a writer connection, creating the file only when `create` (at start; a writer
/// reconnecting after a failure must find the migrated file, not make an empty one).
pub(crate) async fn connect_writer(path: &Path, create: bool) -> Result<SqliteConnection, CacheError> {
    writer_options(path)?.create_if_missing(create).connect().await.map_err(|e| CacheError::Open {
        operation: "open the cache",
        path: path.to_path_buf(),
        cause: e.to_string(),
    })
}

fn migrate_error(path: &Path, error: &MigrateError) -> CacheError {
    CacheError::Open { operation: "migrate the cache", path: path.to_path_buf(), cause: error.to_string() }
}

/// A schema this build does not know: applied migrations it lacks, or that differ from its
/// own. (A failing statement in a known migration is an error, not damage.)
fn schema_is_foreign(error: &MigrateError) -> bool {
    matches!(error, MigrateError::VersionMissing(_) | MigrateError::VersionMismatch(_) | MigrateError::Dirty(_))
}

/// What is wrong with the file at `path`, or `None` when it is a sound SQLite database.
///
/// # Errors
/// [`CacheError::Open`] when the file cannot be checked for another reason (permissions, I/O).
async fn damage(path: &Path) -> Result<Option<String>, CacheError> {
    // A file that does not even start like a database is judged before SQLite opens it:
    // closing a connection to it would delete its `-wal`, which belongs with it.
    if let Some(reason) = bad_header(path)? {
        return Ok(Some(reason));
    }
    let failed = |e: sqlx::Error| CacheError::Open {
        operation: "check the cache's integrity",
        path: path.to_path_buf(),
        cause: e.to_string(),
    };
    let mut conn = match base_options(path)?.connect().await {
        Ok(conn) => conn,
        Err(e) if is_damage(&e) => return Ok(Some(e.to_string())),
        Err(e) => return Err(failed(e)),
    };
    let checked = sqlx::query_scalar::<_, String>("PRAGMA quick_check(20)").fetch_all(&mut conn).await;
    let _ = conn.close().await;
    match checked {
        Ok(rows) if rows.len() == 1 && rows[0] == "ok" => Ok(None),
        Ok(rows) => Ok(Some(format!("integrity check: {}", rows.join("; ")))),
        Err(e) if is_damage(&e) => Ok(Some(e.to_string())),
        Err(e) => Err(failed(e)),
    }
}

/// Why the file at `path` is not an SQLite database by its first bytes (an empty file is
/// an empty database).
fn bad_header(path: &Path) -> Result<Option<String>, CacheError> {
    use std::io::Read;
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    let mut file = std::fs::File::open(path).map_err(|e| CacheError::io("check the cache's integrity", path, &e))?;
    let mut header = Vec::with_capacity(MAGIC.len());
    file.by_ref()
        .take(MAGIC.len() as u64)
        .read_to_end(&mut header)
        .map_err(|e| CacheError::io("check the cache's integrity", path, &e))?;
    Ok((!header.is_empty() && header != MAGIC).then(|| "the file is not an SQLite database".to_owned()))
}

/// Renames `path` (and its `-wal`, `-shm`) to `<name>.corrupt-<unix ms>`; answers the new
/// path of the main file.
fn move_aside(path: &Path) -> Result<PathBuf, CacheError> {
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis());
    let mut target = sibling(path, &format!(".corrupt-{stamp}"));
    // Two damaged files in the same millisecond: never overwrite the first.
    let mut attempt = 1;
    while target.exists() {
        target = sibling(path, &format!(".corrupt-{stamp}-{attempt}"));
        attempt += 1;
    }
    for suffix in ["-wal", "-shm"] {
        let from = sibling(path, suffix);
        if from.exists() {
            let to = sibling(&target, suffix);
            std::fs::rename(&from, &to).map_err(|e| CacheError::io("move a damaged cache file aside", &from, &e))?;
        }
    }
    std::fs::rename(path, &target).map_err(|e| CacheError::io("move a damaged cache file aside", path, &e))?;
    Ok(target)
}

/// `path` with `suffix` appended to its file name.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}
