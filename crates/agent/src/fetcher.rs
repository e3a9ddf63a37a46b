//! The agent's fetcher: puts a task's `CommandInfo.uris` into its sandbox before the task
//! starts, as Mesos' fetcher does. Sources: `http://` and `https://` URLs, `file://` URLs and
//! absolute paths.
//! `output_file` names the result (relative to the sandbox), `executable` makes it 0755, and
//! `extract` (default true, as in Mesos) unpacks `.tar`, `.tar.gz` and `.tgz` archives into the
//! sandbox. Every URI is capped at `max_bytes` (downloaded and, for archives, unpacked), so a
//! huge or endless download cannot fill the agent's disk. `cache` is accepted and ignored:
//! every task fetches its own copy. `https://` trusts the system's CA certificates (rustls;
//! `SSL_CERT_FILE` or `SSL_CERT_DIR` name others). Downloads are written through tokio's file API; copies and
//! extraction run on the blocking pool: no file is touched on an async worker thread.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use corral_api::v1::CommandUri;

/// 1 GiB: the default cap on one URI.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// How the agent fetches.
#[derive(Debug, Clone, Copy)]
pub struct FetcherConfig {
    /// The most bytes one URI may bring into the sandbox (download, then unpacked archive).
    pub max_bytes: u64,
}

impl Default for FetcherConfig {
    fn default() -> Self {
        FetcherConfig {
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// Why a URI could not be fetched; every message names the URI.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot fetch URI '{uri}': {reason}")]
    Unsupported { uri: String, reason: String },
    #[error("cannot fetch URI '{uri}': {reason}")]
    Failed { uri: String, reason: String },
    #[error("cannot fetch URI '{uri}': larger than the fetcher's limit of {max_bytes} bytes")]
    TooLarge { uri: String, max_bytes: u64 },
}

/// Where a URI's bytes come from.
#[derive(Debug, PartialEq, Eq)]
enum Source {
    Http(String),
    Local(PathBuf),
}

fn source_of(uri: &str) -> Result<Source, FetchError> {
    let unsupported = |reason: &str| FetchError::Unsupported {
        uri: uri.to_string(),
        reason: reason.to_string(),
    };
    if uri.starts_with("http://") || uri.starts_with("https://") {
        Ok(Source::Http(uri.to_string()))
    } else if let Some(path) = uri.strip_prefix("file://") {
        if path.starts_with('/') {
            Ok(Source::Local(PathBuf::from(path)))
        } else {
            Err(unsupported("a file:// URI needs an absolute path"))
        }
    } else if uri.starts_with('/') {
        Ok(Source::Local(PathBuf::from(uri)))
    } else {
        Err(unsupported(
            "only http://, https://, file:// and absolute paths can be fetched",
        ))
    }
}

/// The file name the URI lands under in the sandbox: `output_file`, else the URI's last
/// path segment (without query or fragment). Refuses names that would leave the sandbox.
fn target_name(uri: &CommandUri) -> Result<PathBuf, FetchError> {
    let bad = |reason: String| FetchError::Unsupported {
        uri: uri.value.clone(),
        reason,
    };
    let name = match &uri.output_file {
        Some(name) => name.clone(),
        None => {
            let path = uri.value.split(['?', '#']).next().unwrap_or_default();
            let last = path.rsplit('/').next().unwrap_or_default();
            if last.is_empty() || last.contains(':') {
                return Err(bad("the URI has no file name; set output_file".to_string()));
            }
            last.to_string()
        }
    };
    let path = PathBuf::from(&name);
    let inside = !name.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if inside {
        Ok(path)
    } else {
        Err(bad(format!(
            "output file '{name}' must be a relative path inside the sandbox"
        )))
    }
}

/// Fetches every URI into `sandbox`, in order; the first failure stops and is returned.
pub async fn fetch_all(
    uris: &[CommandUri],
    sandbox: &Path,
    config: FetcherConfig,
) -> Result<(), FetchError> {
    for uri in uris {
        fetch_one(uri, sandbox, config).await?;
    }
    Ok(())
}

async fn fetch_one(
    uri: &CommandUri,
    sandbox: &Path,
    config: FetcherConfig,
) -> Result<(), FetchError> {
    let source = source_of(&uri.value)?;
    let target = sandbox.join(target_name(uri)?);
    let failed = |reason: String| FetchError::Failed {
        uri: uri.value.clone(),
        reason,
    };
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| failed(format!("cannot create {}: {e}", parent.display())))?;
    }
    let written = match source {
        Source::Http(url) => download(&url, &target, config.max_bytes, &uri.value).await,
        Source::Local(path) => {
            let (target, value, max) = (target.clone(), uri.value.clone(), config.max_bytes);
            tokio::task::spawn_blocking(move || copy_local(&path, &target, max, &value))
                .await
                .unwrap_or_else(|e| Err(failed(format!("the copy panicked: {e}"))))
        }
    };
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(&target).await;
        return Err(e);
    }
    let executable = uri.executable.unwrap_or(false);
    if executable {
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
            .await
            .map_err(|e| failed(format!("cannot make it executable: {e}")))?;
    } else if uri.extract.unwrap_or(true) && archive_kind(&target).is_some() {
        let (archive, dir, value, max) = (
            target.clone(),
            sandbox.to_path_buf(),
            uri.value.clone(),
            config.max_bytes,
        );
        tokio::task::spawn_blocking(move || extract(&archive, &dir, max, &value))
            .await
            .unwrap_or_else(|e| Err(failed(format!("extracting panicked: {e}"))))?;
    }
    tracing::debug!("fetched {} to {}", uri.value, target.display());
    Ok(())
}

/// Streams `url` into `target`, refusing to write more than `max` bytes.
async fn download(url: &str, target: &Path, max: u64, uri: &str) -> Result<(), FetchError> {
    let failed = |reason: String| FetchError::Failed {
        uri: uri.to_string(),
        reason,
    };
    let client = corral_client::client_tls::client_builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| failed(format!("cannot make an HTTP client: {e}")))?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| failed(format!("request failed: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("the server answered {status}")));
    }
    if response.content_length().is_some_and(|n| n > max) {
        return Err(FetchError::TooLarge {
            uri: uri.to_string(),
            max_bytes: max,
        });
    }
    let mut file = tokio::fs::File::create(target)
        .await
        .map_err(|e| failed(format!("cannot create {}: {e}", target.display())))?;
    let mut total: u64 = 0;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| failed(format!("download interrupted: {e}")))?;
        total += chunk.len() as u64;
        if total > max {
            return Err(FetchError::TooLarge {
                uri: uri.to_string(),
                max_bytes: max,
            });
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| failed(format!("cannot write {}: {e}", target.display())))?;
    }
    // tokio's file finishes its last write in the background: wait for it.
    file.flush()
        .await
        .map_err(|e| failed(format!("cannot write {}: {e}", target.display())))?;
    Ok(())
}

/// Copies a file on the agent into the sandbox, at most `max` bytes. Blocks.
fn copy_local(path: &Path, target: &Path, max: u64, uri: &str) -> Result<(), FetchError> {
    let failed = |reason: String| FetchError::Failed {
        uri: uri.to_string(),
        reason,
    };
    let source = std::fs::File::open(path)
        .map_err(|e| failed(format!("cannot open {}: {e}", path.display())))?;
    let meta = source
        .metadata()
        .map_err(|e| failed(format!("cannot stat {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(failed(format!("{} is not a regular file", path.display())));
    }
    let mut out = std::fs::File::create(target)
        .map_err(|e| failed(format!("cannot create {}: {e}", target.display())))?;
    // Reading one byte past the cap tells a file that grew meanwhile from one at the cap.
    let copied = std::io::copy(&mut source.take(max + 1), &mut out)
        .map_err(|e| failed(format!("cannot copy {}: {e}", path.display())))?;
    if copied > max {
        return Err(FetchError::TooLarge {
            uri: uri.to_string(),
            max_bytes: max,
        });
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArchiveKind {
    Tar,
    TarGz,
}

fn archive_kind(path: &Path) -> Option<ArchiveKind> {
    let name = path.file_name()?.to_str()?;
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        Some(ArchiveKind::TarGz)
    } else if name.ends_with(".tar") {
        Some(ArchiveKind::Tar)
    } else {
        None
    }
}

/// Unpacks an archive into `dir`. Entries that would land outside `dir` are refused (the tar
/// crate's `unpack_in`), and the entries' sizes together may not pass `max`. Blocks.
fn extract(archive: &Path, dir: &Path, max: u64, uri: &str) -> Result<(), FetchError> {
    let failed = |reason: String| FetchError::Failed {
        uri: uri.to_string(),
        reason,
    };
    let file = std::fs::File::open(archive)
        .map_err(|e| failed(format!("cannot open the archive: {e}")))?;
    let reader: Box<dyn Read> = match archive_kind(archive) {
        Some(ArchiveKind::TarGz) => Box::new(flate2::read::GzDecoder::new(file)),
        _ => Box::new(file),
    };
    let mut tar = tar::Archive::new(reader);
    let entries = tar
        .entries()
        .map_err(|e| failed(format!("cannot read the archive: {e}")))?;
    let mut total: u64 = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| failed(format!("cannot read the archive: {e}")))?;
        total = total.saturating_add(entry.size());
        if total > max {
            return Err(FetchError::TooLarge {
                uri: uri.to_string(),
                max_bytes: max,
            });
        }
        let unpacked = entry
            .unpack_in(dir)
            .map_err(|e| failed(format!("cannot extract the archive: {e}")))?;
        if !unpacked {
            let name = entry
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            return Err(failed(format!(
                "the archive's entry '{name}' would land outside the sandbox"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "fetcher_tests.rs"]
mod tests;
