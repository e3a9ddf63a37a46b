//! The devices cgroup of a container whose isolator plugins allowed it devices (a GPU):
//! everything denied ("a"), then the safe set every container gets (as runc and Docker give
//! it: null, zero, full, random, urandom, tty, console, ptmx, pts, mknod of any node), then
//! one `allow` per granted device rule. Rules are written as `devices.list` writes them
//! ("c 195:0 rwm"), found by `stat` of the node below the discovery root.
//!
//! On cgroup v1 the rules go to the container's cgroup of the devices controller. On v2
//! (no devices files) the same rules become an eBPF device program ([`super::device_bpf`])
//! attached to the container's one cgroup.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::IsolationError;
use super::bpf_syscall::AttachedProgram;
use super::device_bpf::{assemble, parse_rules};

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
    super::mounts::cgroup_v1(mounts, "devices")
}

/// A container's device rules in force: a v1 devices cgroup (`dir`), or a program attached
/// to its v2 cgroup; neither where nothing can enforce them.
#[derive(Debug)]
pub struct DeviceCgroup {
    dir: Option<PathBuf>,
    program: Option<AttachedProgram>,
}

impl DeviceCgroup {
    /// Allows the safe set and `allowed` (lines as [`rule_for`] makes them) to the container
    /// whose cgroups are at `relative` below each mount: in `<devices mount>/<relative>`
    /// (v1), else by a device program on `<cgroup2 mount>/<relative>` when the container has
    /// its cgroup there (v2). Without either nothing is enforced.
    pub fn create(relative: &Path, allowed: &[String]) -> Result<DeviceCgroup, IsolationError> {
        Self::create_with_mounts(&super::mounts::read(), relative, allowed)
    }

    /// [`DeviceCgroup::create`] with the hierarchies found in `mounts` (`/proc/self/mounts`
    /// text), so tests can choose the v2 path on a machine that has both.
    pub fn create_with_mounts(
        mounts: &str,
        relative: &Path,
        allowed: &[String],
    ) -> Result<DeviceCgroup, IsolationError> {
        let mut rules: Vec<String> = SAFE_RULES.iter().map(|r| (*r).to_string()).collect();
        rules.extend(allowed.iter().cloned());
        if let Some(mount) = v1_mount(mounts) {
            return Self::create_v1(&mount.join(relative), &rules);
        }
        if let Some(dir) = super::v2::discover(mounts).map(|m| m.join(relative))
            && dir.is_dir()
        {
            return Self::attach_v2(&dir, &rules);
        }
        tracing::warn!(
            "no cgroup v1 devices controller and no cgroup v2 container cgroup: device rules \
             are not enforced: {rules:?}"
        );
        Ok(DeviceCgroup {
            dir: None,
            program: None,
        })
    }

    /// Attaches a program allowing exactly `rules` (the safe set is not added) to the
    /// cgroup2 directory `dir`, which the container's processes join.
    pub fn attach_v2(dir: &Path, rules: &[String]) -> Result<DeviceCgroup, IsolationError> {
        let program = assemble(&parse_rules(rules)?);
        Ok(DeviceCgroup {
            dir: None,
            program: Some(AttachedProgram::attach(dir, &program)?),
        })
    }

    fn create_v1(dir: &Path, rules: &[String]) -> Result<DeviceCgroup, IsolationError> {
        // Checked here too, so a bad rule fails the same way on v1 and v2.
        parse_rules(rules)?;
        std::fs::create_dir_all(dir).map_err(|source| IsolationError::Io {
            op: "cannot create",
            path: dir.to_path_buf(),
            source,
        })?;
        let cgroup = DeviceCgroup {
            dir: Some(dir.to_path_buf()),
            program: None,
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

    /// The devices cgroup a container was given before an agent restart, if it is there
    /// (v1; on v2 the program stays attached to the container's cgroup, which removing the
    /// cgroup drops).
    pub fn adopt(relative: &Path) -> Option<DeviceCgroup> {
        let dir = v1_mount(&super::mounts::read())?.join(relative);
        dir.is_dir().then_some(DeviceCgroup {
            dir: Some(dir),
            program: None,
        })
    }

    /// The `cgroup.procs` a new process writes itself into, when a v1 cgroup was made (on
    /// v2 the program sits on the container's own cgroup, which the process joins anyway).
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

    /// Removes the v1 cgroup once its processes are gone (the container's other cgroups kill
    /// them), or detaches the v2 program; a failure is logged, not fatal.
    pub fn destroy(&self) {
        if let Some(program) = &self.program
            && let Err(e) = program.detach()
        {
            tracing::warn!("devices of {}: {e}", program.cgroup().display());
        }
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
