//! [`CacheError`]: what went wrong in the cache, naming the operation (and the file where
//! one is involved). Causes are kept as text: SQLite's messages name no bound values, and
//! the cache holds no secrets, so nothing sensitive can reach a message.

use std::path::{Path, PathBuf};

use domain::ids::TaskId;

/// Why the cache could not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// The file system refused: creating the folder, renaming a damaged file, reading sizes.
    #[error("cache {path}: cannot {operation}: {cause}")]
    Io { operation: &'static str, path: PathBuf, cause: String },
    /// SQLite could not open or migrate the file.
    #[error("cache {path}: cannot {operation}: {cause}")]
    Open { operation: &'static str, path: PathBuf, cause: String },
    /// The disk, or the size limit set with `Cache::set_size_limit`, is full. Nothing of the
    /// failed write was kept; what was stored before is intact.
    #[error("cache: cannot {operation}: the disk or the cache's size limit is full ({cause})")]
    Full { operation: &'static str, cause: String },
    /// Any other database failure.
    #[error("cache: cannot {operation}: {cause}")]
    Database { operation: &'static str, cause: String },
    /// A stored row could not be read back into a domain value (the file was edited or
    /// damaged after the integrity check).
    #[error("cache: stored {what} is unreadable: {cause}")]
    Unreadable { what: String, cause: String },
    /// An appended event had no hub sequence number (only events from the hub's stream
    /// belong in the cache).
    #[error("cache: event {index} of the batch has no sequence number")]
    MissingSeq { index: usize },
    /// An appended event's sequence number did not follow the one before it in the batch.
    #[error("cache: event {index} of the batch has seq {seq}, not after {previous}")]
    OutOfOrder { index: usize, seq: u64, previous: u64 },
    /// A note, tag or score for a call the cache does not hold.
    #[error("cache: no call {task}")]
    UnknownCall { task: TaskId },
    /// Input that cannot be stored as given.
    #[error("cache: bad {what}: {reason}")]
    BadInput { what: &'static str, reason: String },
    /// The cache was closed (or its writer stopped) before the operation ran.
    #[error("cache: cannot {operation}: the cache is closed")]
    Closed { operation: &'static str },
}

/// SQLite's primary result codes that the cache tells apart.
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_FULL: i64 = 13;
const SQLITE_NOTADB: i64 = 26;

/// SQLite's primary result code of a database error, if it is one.
pub(crate) fn sqlite_code(error: &sqlx::Error) -> Option<i64> {
    match error {
        sqlx::Error::Database(db) => db.code().and_then(|code| code.parse::<i64>().ok()).map(|code| code & 0xff),
        _ => None,
    }
}

/// Whether SQLite said the file is not a database or is malformed.
pub(crate) fn is_damage(error: &sqlx::Error) -> bool {
    matches!(sqlite_code(error), Some(SQLITE_CORRUPT | SQLITE_NOTADB))
}

impl CacheError {
    /// A database error during `operation`, with a full disk told apart.
    pub(crate) fn db(operation: &'static str, error: sqlx::Error) -> CacheError {
        if sqlite_code(&error) == Some(SQLITE_FULL) {
            return CacheError::Full { operation, cause: error.to_string() };
        }
        CacheError::Database { operation, cause: error.to_string() }
    }

    pub(crate) fn io(operation: &'static str, path: &Path, error: &std::io::Error) -> CacheError {
        CacheError::Io { operation, path: path.to_path_buf(), cause: error.to_string() }
    }

    pub(crate) fn unreadable(what: impl Into<String>, cause: impl std::fmt::Display) -> CacheError {
        CacheError::Unreadable { what: what.into(), cause: cause.to_string() }
    }
}

/// SQLite integers are signed; times, sizes and sequence numbers stay far below `i64::MAX`.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Back from SQLite's signed integers; a negative value (never written) reads as 0.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
