//! The `capabilities` import of isolator plugins: device listing, file reads and directory
//! listings, each allowed only within the plugin's manifest grants and answered from below a
//! discovery root (`/` in production; a fake tree in tests, so "/dev/nvidia0" is
//! `<root>/dev/nvidia0`). A call outside the grant returns an error naming the missing grant;
//! it never traps, so a plugin can degrade gracefully. The generated `Host` trait is
//! implemented apart, in `capabilities_host.rs`: these grants know nothing of WIT.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::manifest::Manifest;

/// The most bytes `read-file` returns: driver and sysfs files are small, and a plugin must
/// not be able to pull a disk image into its memory through the host.
const MAX_READ_BYTES: u64 = 1 << 20;
/// The most entries `list-dir` or `devices` returns.
const MAX_ENTRIES: usize = 4096;

/// What one isolator instance may reach.
#[derive(Debug, Clone)]
pub struct CapabilityGrants {
    pub manifest: Manifest,
    /// Every path the plugin names is taken below this directory.
    pub root: PathBuf,
}

impl CapabilityGrants {
    pub fn new(manifest: Manifest, root: PathBuf) -> Arc<Self> {
        Arc::new(CapabilityGrants { manifest, root })
    }

    /// The host path of a plugin path ("/dev/nvidia0" -> `<root>/dev/nvidia0`).
    pub fn host_path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// The plugin path of a host path below the root, or `None`.
    fn plugin_path(&self, host: &Path, canonical_root: &Path) -> Option<String> {
        let relative = host.strip_prefix(canonical_root).ok()?;
        Some(format!("/{}", relative.to_str()?))
    }

    pub fn devices(&self, pattern: &str) -> Result<Vec<String>, String> {
        let granted = &self.manifest.capabilities.devices;
        let not_granted = |what: &str| {
            format!(
                "devices({pattern}): {what} not granted; the manifest's capabilities.devices \
                 grants {granted:?}"
            )
        };
        if !pattern.starts_with("/dev/") || pattern.split('/').any(|p| p == "..") {
            return Err(format!("devices({pattern}): not a path under /dev/"));
        }
        let literal = !pattern.contains(['*', '?', '[']);
        if literal && !self.manifest.grants_device(pattern) {
            return Err(not_granted(pattern));
        }
        let escaped_root = glob::Pattern::escape(&self.root.to_string_lossy());
        let full = format!("{}/{}", escaped_root.trim_end_matches('/'), &pattern[1..]);
        let matches = glob::glob(&full).map_err(|e| format!("devices({pattern}): {e}"))?;
        let mut found = Vec::new();
        for path in matches.flatten().take(MAX_ENTRIES) {
            let Some(plugin_path) = self.plugin_path(&path, &self.root) else {
                continue;
            };
            if !self.manifest.grants_device(&plugin_path) {
                return Err(not_granted(&plugin_path));
            }
            found.push(plugin_path);
        }
        found.sort();
        Ok(found)
    }

    /// Checks a read of `path`: granted by name, and (after symlinks) still below the root
    /// and a granted path, so a link cannot lead out of the grant.
    fn readable(&self, call: &str, path: &str) -> Result<PathBuf, String> {
        if !path.starts_with('/') || !self.manifest.grants_read(path) {
            return Err(format!(
                "{call}({path}): not granted; the manifest's capabilities.read_paths grants {:?}",
                self.manifest.capabilities.read_paths
            ));
        }
        let host = self.host_path(path);
        let canonical = host
            .canonicalize()
            .map_err(|e| format!("{call}({path}): {e}"))?;
        let root = self
            .root
            .canonicalize()
            .map_err(|e| format!("{call}({path}): discovery root: {e}"))?;
        match self.plugin_path(&canonical, &root) {
            Some(real) if self.manifest.grants_read(&real) => Ok(canonical),
            _ => Err(format!(
                "{call}({path}): it leads outside the granted capabilities.read_paths"
            )),
        }
    }

    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, String> {
        use std::io::Read;
        let host = self.readable("read-file", path)?;
        let file = std::fs::File::open(&host).map_err(|e| format!("read-file({path}): {e}"))?;
        let mut bytes = Vec::new();
        file.take(MAX_READ_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("read-file({path}): {e}"))?;
        if bytes.len() as u64 > MAX_READ_BYTES {
            return Err(format!(
                "read-file({path}): larger than {MAX_READ_BYTES} bytes"
            ));
        }
        Ok(bytes)
    }

    pub fn list_dir(&self, path: &str) -> Result<Vec<String>, String> {
        let host = self.readable("list-dir", path)?;
        let entries = std::fs::read_dir(&host).map_err(|e| format!("list-dir({path}): {e}"))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .take(MAX_ENTRIES)
            .collect();
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
#[path = "capabilities_tests.rs"]
mod tests;
