//! The one reader of `/proc/self/mounts` (fstab format: device, mount point, type, options,
//! ...), for finding where cgroup hierarchies are mounted.

use std::path::{Path, PathBuf};

/// `/proc/self/mounts` text; empty when it cannot be read (then no hierarchy is found).
pub fn read() -> String {
    std::fs::read_to_string(Path::new("/proc/self/mounts")).unwrap_or_default()
}

/// The mount point of the cgroup v1 hierarchy that has `controller` (e.g. "devices", or
/// "cpu" in a co-mounted "cpu,cpuacct"), if any.
pub fn cgroup_v1(mounts: &str, controller: &str) -> Option<PathBuf> {
    entries(mounts).find_map(|(point, fstype, options)| {
        (fstype == "cgroup" && options.split(',').any(|o| o == controller)).then_some(point)
    })
}

/// The cgroup2 mount point, if any.
pub fn cgroup_v2(mounts: &str) -> Option<PathBuf> {
    entries(mounts).find_map(|(point, fstype, _)| (fstype == "cgroup2").then_some(point))
}

/// Each line's mount point (unescaped), type and options; malformed lines are skipped.
fn entries(mounts: &str) -> impl Iterator<Item = (PathBuf, &str, &str)> {
    mounts.lines().filter_map(|line| {
        let mut fields = line.split_whitespace();
        let (_device, point) = (fields.next()?, fields.next()?);
        let (fstype, options) = (fields.next()?, fields.next()?);
        Some((PathBuf::from(unescape(point)), fstype, options))
    })
}

/// The kernel writes space, tab, newline and backslash in a path as `\ooo` octal escapes
/// (`/proc/mounts`, `/proc/self/mountinfo`); the path as it is.
pub fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)))
            .map(|d| d.iter().fold(0u32, |n, b| n * 8 + u32::from(b - b'0')));
        match octal.and_then(|n| u8::try_from(n).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n\
        cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0\n\
        cgroup /sys/fs/cgroup/devices cgroup rw,relatime,devices 0 0\n\
        cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n\
        broken-line\n";

    #[test]
    fn finds_v1_controllers_and_the_v2_mount() {
        let cpu = cgroup_v1(HYBRID, "cpu");
        assert_eq!(cpu, Some(PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")));
        assert_eq!(cgroup_v1(HYBRID, "cpuacct"), cpu, "co-mounted");
        assert_eq!(
            cgroup_v1(HYBRID, "devices"),
            Some(PathBuf::from("/sys/fs/cgroup/devices"))
        );
        assert_eq!(cgroup_v1(HYBRID, "memory"), None);
        assert_eq!(
            cgroup_v2(HYBRID),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(cgroup_v2("tmpfs /tmp tmpfs rw 0 0\n"), None);
    }

    #[test]
    fn mount_points_are_unescaped() {
        let text = "cgroup2 /mnt/my\\040cgroups\\134x cgroup2 rw 0 0\n";
        assert_eq!(cgroup_v2(text), Some(PathBuf::from("/mnt/my cgroups\\x")));
        assert_eq!(unescape("a\\04"), "a\\04", "a short escape stays as it is");
    }
}
