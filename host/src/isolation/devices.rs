//! The devices cgroup of a container whose isolator plugins allowed it devices (a GPU):
//! everything denied ("a"), then the safe set every container gets (as runc and Docker give
//! it: null, zero, full, random, urandom, tty, console, ptmx, pts, mknod of any node), then
//! one `allow` per granted device rule. Rules are written as `devices.list` writes them
//! ("c 195:0 rwm"), found by `stat` of the node below the discovery root.
//!
//! cgroup v1 only. On v2 the devices controller is an eBPF program attached to the cgroup,
//! which Corral does not load yet: the rules are only logged, not enforced.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::IsolationError;

/// What every container may use (besides what a plugin grants).
pub const SAFE_RULES: &[&str] = &[
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 1:8 rwm",
    "c 1:9 rwm",
    "c 5:0 rwm",
    "c 5:1 rwm",
    "c 5:2 rwm",
    "c 136:* rwm",
];

/// One device a plugin's plan allows, as the devices cgroup writes it.
pub fn rule_for(node: &Path, access: &str) -> Result<String, String> {
    // Not following links: a granted name must not lead to another device's numbers.
    let meta = std::fs::symlink_metadata(node).map_err(|e| format!("{}: {e}", node.display()))?;
    let kind = if meta.file_type().is_char_device() {
        'c'
    } else if meta.file_type().is_block_device() {
        'b'
    } else {
        return Err(format!("{} is not a device node", node.display()));
    };
    let rdev = meta.rdev();
    Ok(format!(
        "{kind} {}:{} {access}",
        libc::major(rdev),
        libc::minor(rdev)
    ))
}

/// Where the v1 devices controller is mounted, from `/proc/self/mounts` text.
pub fn v1_mount(mounts: &str) -> Option<PathBuf> {
    mounts.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, mount_point, fstype, options, ..] = fields.as_slice() else {
            return None;
        };
        (*fstype == "cgroup" && options.split(',').any(|o| o == "devices"))
            .then(|| PathBuf::from(mount_point))
    })
}

/// A container's devices cgroup (v1); `dir` is `None` where none can be made.
#[derive(Debug)]
pub struct DeviceCgroup {
    dir: Option<PathBuf>,
}

impl DeviceCgroup {
    /// Creates `<devices mount>/<relative>` allowing the safe set and `allowed` (lines as
    /// [`rule_for`] makes them). Without a v1 devices controller nothing is enforced.
    pub fn create(relative: &Path, allowed: &[String]) -> Result<DeviceCgroup, IsolationError> {
        let mut rules: Vec<String> = SAFE_RULES.iter().map(|r| (*r).to_string()).collect();
        rules.extend(allowed.iter().cloned());
        let mounts = super::read_file(Path::new("/proc/self/mounts")).unwrap_or_default();
        let Some(mount) = v1_mount(&mounts) else {
            tracing::warn!(
                "no cgroup v1 devices controller: device rules are not enforced (the cgroup v2 \
                 eBPF device program is not implemented): {rules:?}"
            );
            return Ok(DeviceCgroup { dir: None });
        };
        let dir = mount.join(relative);
        std::fs::create_dir_all(&dir).map_err(|source| IsolationError::Io {
            op: "cannot create",
            path: dir.clone(),
            source,
        })?;
        let cgroup = DeviceCgroup {
            dir: Some(dir.clone()),
        };
        let write = |file: &str, line: &str| {
            let path = dir.join(file);
            std::fs::write(&path, line).map_err(|source| IsolationError::Io {
                op: "cannot write",
                path,
                source,
            })
        };
        let applied = write("devices.deny", "a").and_then(|()| {
            rules
                .iter()
                .try_for_each(|rule| write("devices.allow", rule))
        });
        if let Err(e) = applied {
            cgroup.destroy();
            return Err(e);
        }
        Ok(cgroup)
    }

    /// The devices cgroup a container was given before an agent restart, if it is there.
    pub fn adopt(relative: &Path) -> Option<DeviceCgroup> {
        let mounts = super::read_file(Path::new("/proc/self/mounts")).unwrap_or_default();
        let dir = v1_mount(&mounts)?.join(relative);
        dir.is_dir().then_some(DeviceCgroup { dir: Some(dir) })
    }

    /// The `cgroup.procs` a new process writes itself into, when a cgroup was made.
    pub fn join_file(&self) -> Result<Option<std::fs::File>, IsolationError> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let path = dir.join("cgroup.procs");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map(Some)
            .map_err(|source| IsolationError::Io {
                op: "cannot open",
                path,
                source,
            })
    }

    /// Removes the cgroup once its processes are gone (the container's other cgroups kill
    /// them); a failure is logged, not fatal.
    pub fn destroy(&self) {
        if let Some(dir) = &self.dir
            && let Err(e) = std::fs::remove_dir(dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("cannot remove devices cgroup {}: {e}", dir.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_devices_mount() {
        let text = "cgroup /sys/fs/cgroup/devices cgroup rw,relatime,devices 0 0\n";
        assert_eq!(
            v1_mount(text),
            Some(PathBuf::from("/sys/fs/cgroup/devices"))
        );
        assert_eq!(v1_mount("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"), None);
    }

    #[test]
    fn rules_come_from_the_node() {
        assert_eq!(
            rule_for(Path::new("/dev/null"), "rw").expect("null"),
            "c 1:3 rw"
        );
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let err = rule_for(file.path(), "rw").unwrap_err();
        assert!(err.contains("not a device node"), "{err}");
        let dir = tempfile::tempdir().expect("temp dir");
        let link = dir.path().join("nvidia0");
        std::os::unix::fs::symlink("/dev/null", &link).expect("symlink");
        assert!(rule_for(&link, "rw").is_err(), "a link is not followed");
    }
}
