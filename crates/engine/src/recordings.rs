//! Recording files: downloaded from the hub into a local file the webview can play.
//!
//! [`download`] asks the hub for a file (`GET /v1/recordings/{task}/{name}`, which the hub
//! redirects to wherever the storage serves it; the token is not forwarded to another
//! host), writes it to `<dest>.part`, and renames it over `dest` only once its size is
//! verified — so `dest` is either absent or complete. An existing `.part` is resumed with
//! `Range: bytes=N-`; a server that ignores the range (answers 200) is read from the start
//! again. Progress is reported at a bounded rate. A cut connection keeps the `.part` for
//! the next attempt; a file whose size is not what was expected is an error naming both
//! sizes, and its `.part` is kept only when a later attempt could still complete it.
//!
//! What deliberately does not: the list of recordings ([`HubClient::recordings`]), where
//! files go in the cache folder and what the cache remembers about them (the console's),
//! and playback (the webview's media element plays the local file).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::hub_client::{HubClient, HubError, RecordingFile};

/// The least time between two progress reports (the first and the last always come).
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// How far a download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes in the local file so far (including a resumed part).
    pub bytes: u64,
    /// The file's size, when the server said.
    pub total: Option<u64>,
}

/// A finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub path: PathBuf,
    /// The file's size, verified.
    pub bytes: u64,
    /// Bytes that were already on disk and not fetched again (0: a full download).
    pub resumed_from: u64,
}

/// Why a download did not complete.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The hub (or the storage it redirected to) did not serve the file.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// The destination has no file name to put `.part` beside.
    #[error("{0} is not a file path")]
    BadDestination(PathBuf),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The connection broke off; the `.part` is kept and the next attempt resumes it.
    #[error("the download stopped after {received} of {} bytes: {detail}", total.map_or_else(|| "?".to_owned(), |t| t.to_string()))]
    Interrupted { received: u64, total: Option<u64>, detail: String },
    /// The file's size is not the size expected.
    #[error("the file is {actual} bytes, but {expected} were expected{}", if *part_kept { " (the part is kept to resume)" } else { "" })]
    SizeMismatch { expected: u64, actual: u64, part_kept: bool },
    /// The server's answer to a range request made no sense.
    #[error("the server's answer cannot be used: {0}")]
    BadAnswer(String),
}

/// Downloads `file` to `dest` (creating its directory), resuming `<dest>.part` if there is
/// one, and verifies its size against the server's and `expected_size` (the size the
/// caller knows from elsewhere, e.g. its cache; the hub's listing carries none).
///
/// # Errors
/// [`DownloadError::Hub`] when the file is not served (the hub's refusal, or the
/// storage's status), [`DownloadError::Interrupted`] when the transfer broke off (resume
/// by calling again), [`DownloadError::SizeMismatch`] naming both sizes,
/// [`DownloadError::Io`] for local files.
pub async fn download(
    client: &HubClient,
    file: &RecordingFile,
    dest: &Path,
    expected_size: Option<u64>,
    mut progress: impl FnMut(Progress),
) -> Result<Downloaded, DownloadError> {
    let part = part_path(dest)?;
    if let Some(dir) = dest.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        fs::create_dir_all(dir).await.map_err(|source| DownloadError::Io { path: dir.to_path_buf(), source })?;
    }
    let url = client.hub_path(&file.download)?;
    let mut have = match fs::metadata(&part).await {
        Ok(meta) => meta.len(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
        Err(source) => return Err(DownloadError::Io { path: part, source }),
    };
    if expected_size.is_some_and(|expected| have > expected) {
        // Longer than the whole file: not a prefix of it.
        remove(&part).await?;
        have = 0;
    }
    // At most one restart: a range answer that cannot be used sends the request again
    // without a range.
    for _ in 0..2 {
        let mut request = client.download_request(url.clone());
        if have > 0 {
            request = request.header(RANGE, format!("bytes={have}-"));
        }
        let (_, response) = client.send(request).await?;
        let status = response.status();
        let plan = match status {
            StatusCode::PARTIAL_CONTENT if have > 0 => match content_range(&response) {
                Some((start, total)) if start == have => Plan::Append { total },
                // Not where the part ends: start over.
                _ => Plan::Restart,
            },
            StatusCode::OK => Plan::Fresh { total: response.content_length() },
            StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => match unsatisfied_total(&response) {
                // The part is already the whole file.
                Some(total) if total == have => Plan::Complete { total },
                _ => Plan::Restart,
            },
            _ => return Err(crate::hub_client::refusal_of(response).await.into()),
        };
        let (total, append) = match plan {
            Plan::Restart => {
                remove(&part).await?;
                have = 0;
                continue;
            }
            Plan::Complete { total } => {
                if let Some(expected) = expected_size.filter(|expected| *expected != total) {
                    remove(&part).await?;
                    return Err(DownloadError::SizeMismatch { expected, actual: total, part_kept: false });
                }
                progress(Progress { bytes: total, total: Some(total) });
                return finish(&part, dest, total, total).await;
            }
            Plan::Append { total } => (total, true),
            Plan::Fresh { total } => (total, false),
        };
        if let (Some(total), Some(expected)) = (total, expected_size) {
            if total != expected {
                // The server's file is another file than the one expected: no attempt
                // can complete the part.
                remove(&part).await?;
                return Err(DownloadError::SizeMismatch { expected, actual: total, part_kept: false });
            }
        }
        let resumed_from = if append { have } else { 0 };
        let written = receive(response, &part, append, resumed_from, total, &mut progress).await?;
        let wanted = total.or(expected_size);
        if let Some(wanted) = wanted {
            if written != wanted {
                // Short: resumable. Long: the part is not a prefix of the file.
                let part_kept = written < wanted;
                if !part_kept {
                    remove(&part).await?;
                }
                return Err(DownloadError::SizeMismatch { expected: wanted, actual: written, part_kept });
            }
        }
        return finish(&part, dest, written, resumed_from).await;
    }
    Err(DownloadError::BadAnswer(format!(
        "{} answered a range request with a range that does not continue the {have} bytes on disk, twice",
        file.download
    )))
}

/// How to go on after the server's answer.
enum Plan {
    /// 206 from where the part ends.
    Append { total: Option<u64> },
    /// 200: the whole file from its start.
    Fresh { total: Option<u64> },
    /// 416 and the part is the whole file.
    Complete { total: u64 },
    /// The answer does not continue the part: drop it and ask again.
    Restart,
}

/// `<dest>.part` beside `dest`.
/// Where the partial download of `dest` is kept: `<dest>.part`.
///
/// # Errors
/// [`DownloadError::BadDestination`] when `dest` has no file name.
pub fn part_path(dest: &Path) -> Result<PathBuf, DownloadError> {
    let name = dest.file_name().ok_or_else(|| DownloadError::BadDestination(dest.to_path_buf()))?;
    let mut part = name.to_os_string();
    part.push(".part");
    Ok(dest.with_file_name(part))
}

/// `Content-Range: bytes START-END/TOTAL` → (START, TOTAL unless `*`).
fn content_range(response: &reqwest::Response) -> Option<(u64, Option<u64>)> {
    let value = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    let (range, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end) = (start.trim().parse::<u64>().ok()?, end.trim().parse::<u64>().ok()?);
    if end < start {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        total => Some(total.parse::<u64>().ok()?),
    };
    // The range must lie inside the file, and the body must be as long as the range.
    if total.is_some_and(|total| total <= end) || response.content_length().is_some_and(|n| n != end - start + 1) {
        return None;
    }
    Some((start, total))
}

/// 416's `Content-Range: bytes */TOTAL`.
fn unsatisfied_total(response: &reqwest::Response) -> Option<u64> {
    let value = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    value.strip_prefix("bytes */")?.trim().parse().ok()
}

/// Writes the body into the part (appending or from the start); answers the part's size.
async fn receive(
    response: reqwest::Response,
    part: &Path,
    append: bool,
    resumed_from: u64,
    total: Option<u64>,
    progress: &mut impl FnMut(Progress),
) -> Result<u64, DownloadError> {
    let io = |source| DownloadError::Io { path: part.to_path_buf(), source };
    let opened: File = if append {
        OpenOptions::new().append(true).open(part).await.map_err(io)?
    } else {
        OpenOptions::new().create(true).write(true).truncate(true).open(part).await.map_err(io)?
    };
    let mut out = BufWriter::with_capacity(256 * 1024, opened);
    let mut bytes = resumed_from;
    progress(Progress { bytes, total });
    let mut reported = Instant::now();
    let mut body = response.bytes_stream();
    let mut broke_off = None;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                out.write_all(&chunk).await.map_err(io)?;
                bytes += chunk.len() as u64;
                if total.is_some_and(|total| bytes > total) {
                    break;
                }
                if reported.elapsed() >= PROGRESS_EVERY {
                    progress(Progress { bytes, total });
                    reported = Instant::now();
                }
            }
            Err(error) => {
                broke_off = Some(crate::hub_client::error_chain(&error));
                break;
            }
        }
    }
    // What arrived is kept either way, so the next attempt can resume after it.
    out.flush().await.map_err(io)?;
    out.get_ref().sync_all().await.map_err(io)?;
    progress(Progress { bytes, total });
    if let Some(detail) = broke_off {
        return Err(DownloadError::Interrupted { received: bytes, total, detail });
    }
    Ok(bytes)
}

/// Renames the verified part over `dest`.
async fn finish(part: &Path, dest: &Path, bytes: u64, resumed_from: u64) -> Result<Downloaded, DownloadError> {
    fs::rename(part, dest).await.map_err(|source| DownloadError::Io { path: dest.to_path_buf(), source })?;
    Ok(Downloaded { path: dest.to_path_buf(), bytes, resumed_from })
}

async fn remove(path: &Path) -> Result<(), DownloadError> {
    match fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(DownloadError::Io { path: path.to_path_buf(), source }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_part_file_sits_beside_the_destination() {
        assert_eq!(part_path(Path::new("/cache/rec/a.wav")).unwrap(), Path::new("/cache/rec/a.wav.part"));
        assert_eq!(part_path(Path::new("a.wav")).unwrap(), Path::new("a.wav.part"));
        assert!(matches!(part_path(Path::new("/")), Err(DownloadError::BadDestination(_))));
    }

    #[test]
    fn size_errors_name_both_numbers() {
        let error = DownloadError::SizeMismatch { expected: 1_000, actual: 400, part_kept: true };
        let text = error.to_string();
        assert!(text.contains("1000") && text.contains("400") && text.contains("resume"), "{text}");
        let error = DownloadError::Interrupted { received: 10, total: None, detail: "reset".into() };
        assert!(error.to_string().contains("10 of ? bytes"), "{error}");
    }
}
