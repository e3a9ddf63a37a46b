//! cgroup v2: one unified hierarchy. Controllers must be listed in the root's
//! `cgroup.controllers` and enabled in `cgroup.subtree_control` of every ancestor.

use std::path::{Path, PathBuf};

use super::{IsolationError, write_file};

/// The controllers Corral needs.
pub const CONTROLLERS: [&str; 3] = ["cpu", "memory", "pids"];

/// The cgroup2 mount point in `/proc/self/mounts` text, if any.
pub fn discover(mounts: &str) -> Option<PathBuf> {
    super::mounts::cgroup_v2(mounts)
}

/// Checks that the unified hierarchy offers every controller (on a hybrid mount the v1
/// hierarchies hold them and the v2 one offers none).
pub fn check_controllers(mount: &Path) -> Result<(), String> {
    let path = mount.join("cgroup.controllers");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let offered: Vec<&str> = text.split_whitespace().collect();
    let missing: Vec<&str> = CONTROLLERS
        .into_iter()
        .filter(|c| !offered.contains(c))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "cgroup v2 at {} lacks controllers: {}",
            mount.display(),
            missing.join(", ")
        ))
    }
}

/// Creates `mount/relative` and enables the controllers for the children of every level
/// from the mount down to it, so a cgroup made below it gets them.
pub fn create_parent(mount: &Path, relative: &Path) -> Result<(), IsolationError> {
    let enable = CONTROLLERS.map(|c| format!("+{c}")).join(" ");
    let mut dir = mount.to_path_buf();
    write_file(&dir.join("cgroup.subtree_control"), &enable)?;
    for part in relative.components() {
        dir.push(part);
        super::make_dir(&dir)?;
        write_file(&dir.join("cgroup.subtree_control"), &enable)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_unified_mount() {
        let text = "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n\
                    cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";
        assert_eq!(
            discover(text),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(discover("tmpfs /tmp tmpfs rw 0 0\n"), None);
    }

    #[test]
    fn names_missing_controllers() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("cgroup.controllers"), "cpuset io memory\n")
            .expect("written");
        let err = check_controllers(dir.path()).expect_err("cpu and pids missing");
        assert!(err.contains("cpu, pids"), "{err}");
        std::fs::write(
            dir.path().join("cgroup.controllers"),
            "cpu io memory pids\n",
        )
        .expect("written");
        check_controllers(dir.path()).expect("all offered");
    }
}
