//! Where an export goes on disk, and how it gets there whole or not at all.
//!
//! - Names: a call's folder is named after its TaskId, reduced to characters every file
//!   system takes (`[A-Za-z0-9_-]`); when that loses anything — or the id has capitals,
//!   which a case-insensitive file system (macOS, Windows) would fold together — a short
//!   digest of the exact id is appended, so two calls never share a folder. Recording files
//!   keep their own names, made safe the same way and de-duplicated.
//! - [`Staging`]: everything is written into `.<name>.partial-<uuid>` beside the
//!   destination (same folder, so same file system) and renamed to `<name>` once complete.
//!   Until then dropping the staging folder removes it, so a failed export — a full disk,
//!   an unreadable recording, a panic — leaves nothing behind. Replacing an earlier export
//!   moves it aside first and back again should the rename fail.
//!
//! What deliberately does not live here: what the files contain (`document.rs`,
//! `tables.rs`) and which recordings are copied (`mod.rs`).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use domain::ids::TaskId;

use super::{ExportError, WrittenFile};

/// The longest call folder name before its digest, in characters.
const MAX_CALL_NAME: usize = 80;
/// The longest recording file name, in characters.
const MAX_FILE_NAME: usize = 120;

/// Windows' reserved device names, which no file or folder may be called (with any
/// extension).
const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

fn is_reserved(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name);
    RESERVED.iter().any(|reserved| stem.eq_ignore_ascii_case(reserved))
}

/// FNV-1a, 64 bit: a short, stable tag telling apart ids that sanitise alike — not a
/// security measure.
fn digest(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The folder name of a call's export.
pub(crate) fn call_folder_name(task: &TaskId) -> String {
    let id = task.as_str();
    let mut name: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let lossy = name != id || id.chars().count() > MAX_CALL_NAME || id.is_empty();
    if lossy || id.chars().any(|c| c.is_ascii_uppercase()) || is_reserved(&name) {
        name = name.chars().take(MAX_CALL_NAME).collect();
        if name.is_empty() {
            name.push_str("call");
        }
        name = format!("{name}-{:08x}", digest(id) >> 32);
    }
    name
}

/// `name` as a file name any file system takes: letters and digits of any script, `-`,
/// `_` and `.` are kept, anything else becomes `_`; no leading dot, at most 120 characters,
/// never a reserved device name.
pub(crate) fn safe_file_name(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .skip_while(|c| *c == '.')
        .take(MAX_FILE_NAME)
        .collect();
    // Windows drops trailing dots, which would make two names one.
    while safe.ends_with('.') {
        safe.pop();
    }
    if safe.is_empty() {
        return "recording".to_owned();
    }
    if is_reserved(&safe) {
        safe.insert(0, '_');
    }
    safe
}

/// Picks `name`, or `name-2`, `name-3`… (before the extension) if an earlier file took
/// it, comparing without case.
pub(crate) fn unique_name(name: &str, taken: &mut HashSet<String>) -> String {
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    };
    let mut candidate = name.to_owned();
    let mut n = 1;
    while !taken.insert(candidate.to_lowercase()) {
        n += 1;
        candidate = format!("{stem}-{n}{extension}");
    }
    candidate
}

/// A folder being filled beside its final place; removed on drop unless committed.
#[derive(Debug)]
pub(crate) struct Staging {
    task: TaskId,
    dir: PathBuf,
    final_dir: PathBuf,
    committed: bool,
}

impl Staging {
    /// Creates `dest/.<name>.partial-<uuid>` (and `dest` if need be).
    ///
    /// # Errors
    /// [`ExportError::AlreadyExists`] when `dest/<name>` exists and is not to be replaced;
    /// [`ExportError::Io`] / [`ExportError::Full`] when a folder cannot be created.
    pub(crate) fn create(task: &TaskId, dest: &Path, name: &str, replace: bool) -> Result<Staging, ExportError> {
        let final_dir = dest.join(name);
        if !replace && fs::symlink_metadata(&final_dir).is_ok() {
            return Err(ExportError::AlreadyExists { task: task.clone(), path: final_dir });
        }
        fs::create_dir_all(dest).map_err(|e| io_error(task, "create the folder", dest, e))?;
        let dir = dest.join(format!(".{name}.partial-{}", uuid::Uuid::new_v4().simple()));
        fs::create_dir(&dir).map_err(|e| io_error(task, "create the folder", &dir, e))?;
        Ok(Staging { task: task.clone(), dir, final_dir, committed: false })
    }

    /// Where `relative` will be once the export is complete (what errors name).
    pub(crate) fn final_path(&self, relative: &str) -> PathBuf {
        self.final_dir.join(relative)
    }

    fn staged(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    fn make_parent(&self, relative: &str) -> Result<(), ExportError> {
        if let Some((folder, _)) = relative.rsplit_once('/') {
            fs::create_dir_all(self.staged(folder))
                .map_err(|e| io_error(&self.task, "create the folder", &self.final_path(folder), e))?;
        }
        Ok(())
    }

    /// Writes `bytes` to `relative` (`/`-separated) and flushes it to disk.
    ///
    /// # Errors
    /// [`ExportError::Full`] when the disk is full, [`ExportError::Io`] otherwise, naming the
    /// file.
    pub(crate) fn write(&self, relative: &str, bytes: &[u8]) -> Result<WrittenFile, ExportError> {
        self.make_parent(relative)?;
        let fail = |e| io_error(&self.task, "write", &self.final_path(relative), e);
        let mut file = File::create_new(self.staged(relative)).map_err(fail)?;
        file.write_all(bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        Ok(WrittenFile { path: relative.to_owned(), bytes: len(bytes) })
    }

    /// Copies `from` to `relative` and checks the copy has `expected` bytes. `Ok(None)` when
    /// `from` disappeared before it could be read.
    ///
    /// # Errors
    /// [`ExportError::Full`] when the disk is full, [`ExportError::Copy`] for any other
    /// failure, naming both files.
    pub(crate) fn copy_in(&self, relative: &str, from: &Path, expected: u64) -> Result<Option<u64>, ExportError> {
        self.make_parent(relative)?;
        let to = self.staged(relative);
        let fail = |source: std::io::Error| {
            if is_full(&source) {
                ExportError::Full { task: self.task.clone(), path: self.final_path(relative) }
            } else {
                ExportError::Copy {
                    task: self.task.clone(),
                    from: from.to_path_buf(),
                    to: self.final_path(relative),
                    source,
                }
            }
        };
        let copied = match fs::copy(from, &to) {
            Ok(copied) => copied,
            Err(e) if e.kind() == ErrorKind::NotFound && !from.exists() => return Ok(None),
            Err(e) => return Err(fail(e)),
        };
        File::open(&to).and_then(|file| file.sync_all()).map_err(fail)?;
        if copied != expected {
            let cause = format!("{copied} bytes copied where {expected} were expected (the file changed meanwhile)");
            return Err(fail(std::io::Error::new(ErrorKind::InvalidData, cause)));
        }
        Ok(Some(copied))
    }

    /// Moves the finished folder into place (replacing an earlier export when `replace`)
    /// and answers where it is.
    ///
    /// # Errors
    /// [`ExportError::AlreadyExists`] when something took the place meanwhile and is not to
    /// be replaced; [`ExportError::Io`] when a rename fails (an earlier export is put back).
    pub(crate) fn commit(mut self, replace: bool) -> Result<PathBuf, ExportError> {
        let task = self.task.clone();
        let occupied = fs::symlink_metadata(&self.final_dir).is_ok();
        if occupied && !replace {
            return Err(ExportError::AlreadyExists { task, path: self.final_dir.clone() });
        }
        let parent = self.final_dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let aside = if occupied {
            let name = self.final_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let aside = parent.join(format!(".{name}.replaced-{}", uuid::Uuid::new_v4().simple()));
            fs::rename(&self.final_dir, &aside)
                .map_err(|e| io_error(&task, "move the earlier export aside", &self.final_dir, e))?;
            Some(aside)
        } else {
            None
        };
        if let Err(e) = fs::rename(&self.dir, &self.final_dir) {
            if let Some(aside) = &aside {
                if let Err(back) = fs::rename(aside, &self.final_dir) {
                    tracing::error!(task = %task, earlier = %aside.display(), error = %back,
                        "the earlier export could not be put back after a failed replacement");
                }
            }
            return Err(match e.kind() {
                ErrorKind::AlreadyExists | ErrorKind::DirectoryNotEmpty => {
                    ExportError::AlreadyExists { task, path: self.final_dir.clone() }
                }
                _ => io_error(&task, "move the finished export into place at", &self.final_dir, e),
            });
        }
        self.committed = true;
        if let Some(aside) = aside {
            let removed = match fs::symlink_metadata(&aside) {
                Ok(meta) if meta.is_dir() => fs::remove_dir_all(&aside),
                _ => fs::remove_file(&aside),
            };
            if let Err(e) = removed {
                tracing::warn!(task = %task, earlier = %aside.display(), error = %e,
                    "the replaced export could not be removed");
            }
        }
        sync_folder(&parent);
        Ok(self.final_dir.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            if let Err(e) = fs::remove_dir_all(&self.dir) {
                if e.kind() != ErrorKind::NotFound {
                    tracing::warn!(task = %self.task, folder = %self.dir.display(), error = %e,
                        "an unfinished export could not be removed");
                }
            }
        }
    }
}

/// Flushes a rename in `folder` to disk where the platform allows (a folder cannot be
/// opened for syncing on Windows); a failure only costs durability, not correctness.
fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Err(e) = File::open(folder).and_then(|dir| dir.sync_all()) {
        tracing::debug!(folder = %folder.display(), error = %e, "could not sync the export's folder");
    }
    #[cfg(not(unix))]
    let _ = folder;
}

fn len(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX)
}

/// A full disk, a full quota, or a file larger than the file system (or a limit) allows.
fn is_full(error: &std::io::Error) -> bool {
    matches!(error.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge)
}

fn io_error(task: &TaskId, operation: &'static str, path: &Path, source: std::io::Error) -> ExportError {
    if is_full(&source) {
        ExportError::Full { task: task.clone(), path: path.to_path_buf() }
    } else {
        ExportError::Io { task: task.clone(), operation, path: path.to_path_buf(), source }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_lowercase_task_id_is_its_own_folder_name() {
        assert_eq!(call_folder_name(&TaskId::new("v2_20251124_0a1b2c")), "v2_20251124_0a1b2c");
        assert_eq!(call_folder_name(&TaskId::new("task-1")), "task-1");
    }

    #[test]
    fn ids_that_would_collide_get_a_digest_of_the_exact_id() {
        let slash = call_folder_name(&TaskId::new("a/b"));
        let under = call_folder_name(&TaskId::new("a_b"));
        assert!(slash.starts_with("a_b-") && slash.len() == "a_b-".len() + 8, "{slash}");
        assert_eq!(under, "a_b");
        let upper = call_folder_name(&TaskId::new("Task"));
        let lower = call_folder_name(&TaskId::new("task"));
        assert_ne!(upper.to_lowercase(), lower.to_lowercase(), "case-insensitive file systems keep them apart");
        for risky in ["../../etc", "..", "CON", "nul", "x\u{0}y", "呼叫", "a b\\c:d*e?f\"g<h>i|j"] {
            let name = call_folder_name(&TaskId::new(risky));
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{risky:?} → {name}");
            assert!(!is_reserved(&name), "{risky:?} → {name}");
        }
        let long = call_folder_name(&TaskId::new("x".repeat(500)));
        assert_eq!(long.len(), MAX_CALL_NAME + 9, "{long}");
    }

    #[test]
    fn recording_file_names_are_made_safe_and_unique() {
        assert_eq!(safe_file_name("rec-1_main.mp4"), "rec-1_main.mp4");
        assert_eq!(safe_file_name("录音 1.mp4"), "录音_1.mp4");
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_name("..."), "recording");
        assert_eq!(safe_file_name("aux.mp4"), "_aux.mp4");
        assert_eq!(safe_file_name("name."), "name");
        let mut taken = HashSet::new();
        assert_eq!(unique_name("a.mp4", &mut taken), "a.mp4");
        assert_eq!(unique_name("A.mp4", &mut taken), "A-2.mp4");
        assert_eq!(unique_name("a.mp4", &mut taken), "a-3.mp4");
        assert_eq!(unique_name("noext", &mut taken), "noext");
        assert_eq!(unique_name("noext", &mut taken), "noext-2");
    }

    #[test]
    fn an_uncommitted_staging_folder_is_removed_and_a_committed_one_is_in_place() {
        let dest = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let task = TaskId::new("t");
        let staging = Staging::create(&task, dest.path(), "t", false).unwrap_or_else(|e| panic!("{e}"));
        staging.write("a/b.txt", b"x").unwrap_or_else(|e| panic!("{e}"));
        drop(staging);
        assert_eq!(fs::read_dir(dest.path()).map(Iterator::count).unwrap_or(99), 0, "nothing left");

        let staging = Staging::create(&task, dest.path(), "t", false).unwrap_or_else(|e| panic!("{e}"));
        staging.write("b.txt", b"first").unwrap_or_else(|e| panic!("{e}"));
        let done = staging.commit(false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fs::read(done.join("b.txt")).unwrap_or_default(), b"first");

        assert!(matches!(Staging::create(&task, dest.path(), "t", false), Err(ExportError::AlreadyExists { .. })));
        let again = Staging::create(&task, dest.path(), "t", true).unwrap_or_else(|e| panic!("{e}"));
        again.write("c.txt", b"second").unwrap_or_else(|e| panic!("{e}"));
        let done = again.commit(true).unwrap_or_else(|e| panic!("{e}"));
        assert!(!done.join("b.txt").exists(), "the earlier export was replaced, not merged");
        assert_eq!(fs::read(done.join("c.txt")).unwrap_or_default(), b"second");
        let names: Vec<String> = fs::read_dir(dest.path())
            .map(|dir| dir.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        assert_eq!(names, vec!["t".to_owned()], "no staging or replaced folder left");
    }
}
