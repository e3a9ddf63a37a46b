//! Files the agent keeps in its work dir so that its identity and unacknowledged status
//! updates survive a restart: written to a temporary file and renamed, so a crash leaves
//! either the old or the new content, never half of one.

use std::io::Write;
use std::path::{Path, PathBuf};

use corral_api::v1::AgentId;

#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct CheckpointError {
    pub path: String,
    pub reason: String,
}

impl CheckpointError {
    fn new(path: &Path, reason: impl std::fmt::Display) -> Self {
        CheckpointError {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let dir = path
        .parent()
        .ok_or_else(|| CheckpointError::new(path, "has no parent directory"))?;
    std::fs::create_dir_all(dir).map_err(|e| CheckpointError::new(dir, e))?;
    let mut temp = tempfile_in(dir, path)?;
    temp.1
        .write_all(bytes)
        .and_then(|()| temp.1.sync_data())
        .map_err(|e| CheckpointError::new(&temp.0, e))?;
    drop(temp.1);
    std::fs::rename(&temp.0, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp.0);
        CheckpointError::new(path, e)
    })
}

/// A fresh file next to `target` (same filesystem, so the rename is atomic).
fn tempfile_in(dir: &Path, target: &Path) -> Result<(PathBuf, std::fs::File), CheckpointError> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| CheckpointError::new(&temp, e))?;
    Ok((temp, file))
}

/// Removes a checkpoint file; a file that is already gone is fine.
pub fn remove(path: &Path) -> Result<(), CheckpointError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CheckpointError::new(path, e)),
    }
}

pub fn agent_id_path(work_dir: &Path) -> PathBuf {
    work_dir.join("meta").join("agent_id")
}

/// The id the master gave this agent before, if any (reads a file: call it off the async
/// threads).
pub fn read_agent_id(work_dir: &Path) -> Result<Option<AgentId>, CheckpointError> {
    let path = agent_id_path(work_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => Ok(Some(AgentId::new(text.trim()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CheckpointError::new(&path, e)),
    }
}

/// Saves the id here and now (tests; the agent saves it through its checkpoint writer).
#[cfg(test)]
pub fn save_agent_id(work_dir: &Path, id: &AgentId) -> Result<(), CheckpointError> {
    write_atomic(&agent_id_path(work_dir), id.value.as_bytes())
}

/// An id as one safe path component. Mesos ids are usually already safe; anything else
/// (a '/', "..", spaces) is percent-encoded so that an id can never leave its directory.
pub fn path_component(id: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !id.is_empty() && id != "." && id != ".." && id.chars().all(safe) {
        return id.to_string();
    }
    let mut out = String::with_capacity(id.len() + 8);
    for byte in id.bytes() {
        let c = byte as char;
        if byte.is_ascii() && safe(c) && c != '.' {
            out.push(c);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_ids_are_kept_and_others_cannot_escape() {
        assert_eq!(path_component("task-1.a_b"), "task-1.a_b");
        assert_eq!(path_component(".."), "%2E%2E");
        assert_eq!(path_component("a/b c"), "a%2Fb%20c");
        assert_eq!(path_component(""), "%00");
    }

    #[test]
    fn agent_id_round_trips_and_writes_are_atomic() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(read_agent_id(dir.path()).expect("readable"), None);
        save_agent_id(dir.path(), &AgentId::new("a1")).expect("saved");
        save_agent_id(dir.path(), &AgentId::new("a2")).expect("saved again");
        assert_eq!(
            read_agent_id(dir.path()).expect("readable"),
            Some(AgentId::new("a2"))
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("meta"))
            .expect("meta dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("agent_id")]);
    }
}
