//! How much disk a sandbox uses, measured as `du -k -s -x` does (Mesos' `disk/du` isolator
//! runs `du -k -s`): the blocks allocated to every file and directory (`st_blocks * 512`, so
//! sparse files count what they hold and small files a whole block), symlinks counted as
//! themselves and never followed, a file with several hard links counted once, and nothing
//! below a directory of another filesystem (a mount inside the sandbox is not the task's
//! disk). Blocking: it reads the whole tree. Run it on the blocking pool.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The bytes allocated under `root` (itself included). Files and directories that vanish
/// while the walk runs (the task deletes them) are skipped; a directory that cannot be read
/// counts as itself only. Fails only when `root` cannot be looked at.
pub fn disk_usage(root: &Path) -> std::io::Result<u64> {
    let meta = std::fs::symlink_metadata(root)?;
    let device = meta.dev();
    let mut seen = HashSet::new();
    let mut total = allocated(&meta, &mut seen);
    if !meta.is_dir() {
        return Ok(total);
    }
    // Depth first with an explicit stack: a deep tree cannot overflow the thread's stack.
    let mut pending: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            // DirEntry::metadata is lstat(2): a symlink is itself.
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.dev() != device {
                continue; // another filesystem mounted here
            }
            total = total.saturating_add(allocated(&meta, &mut seen));
            if meta.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    Ok(total)
}

/// The bytes a file's blocks take; 0 for a hard link already counted.
fn allocated(meta: &std::fs::Metadata, seen: &mut HashSet<(u64, u64)>) -> u64 {
    if !meta.is_dir() && meta.nlink() > 1 && !seen.insert((meta.dev(), meta.ino())) {
        return 0;
    }
    meta.blocks().saturating_mul(512)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    fn write(path: &Path, bytes: usize) {
        std::fs::write(path, vec![7u8; bytes]).expect("write");
    }

    fn dir_with_one_mib() -> (tempfile::TempDir, u64) {
        let dir = tempfile::tempdir().expect("temp dir");
        write(&dir.path().join("data"), MIB);
        let base = disk_usage(dir.path()).expect("usage");
        (dir, base)
    }

    #[test]
    fn counts_what_the_files_hold_as_du_does() {
        let (dir, base) = dir_with_one_mib();
        assert!(base >= MIB as u64, "{base}");
        std::fs::create_dir_all(dir.path().join("a/b/c")).expect("dirs");
        write(&dir.path().join("a/b/c/more"), 2 * MIB);
        let grown = disk_usage(dir.path()).expect("usage");
        assert!(grown >= base + 2 * MIB as u64, "{base} -> {grown}");
        // du -k -s agrees, to the directories' blocks.
        let du = std::process::Command::new("du")
            .args(["-k", "-s", "-x"])
            .arg(dir.path())
            .output()
            .expect("du runs");
        let kib: u64 = String::from_utf8_lossy(&du.stdout)
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("du's number");
        assert_eq!(grown, kib * 1024);
    }

    #[test]
    fn a_hard_link_is_counted_once() {
        let (dir, base) = dir_with_one_mib();
        for i in 0..5 {
            std::fs::hard_link(dir.path().join("data"), dir.path().join(format!("link{i}")))
                .expect("hard link");
        }
        assert_eq!(disk_usage(dir.path()).expect("usage"), base);
    }

    #[test]
    fn a_symlink_is_not_followed() {
        let (dir, base) = dir_with_one_mib();
        let outside = tempfile::tempdir().expect("another dir");
        write(&outside.path().join("big"), 4 * MIB);
        std::os::unix::fs::symlink(outside.path(), dir.path().join("to-dir")).expect("symlink");
        std::os::unix::fs::symlink(outside.path().join("big"), dir.path().join("to-file"))
            .expect("symlink");
        let usage = disk_usage(dir.path()).expect("usage");
        assert!(usage < base + MIB as u64, "{base} -> {usage}");
    }

    #[test]
    fn a_sparse_file_counts_its_blocks_not_its_length() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = std::fs::File::create(dir.path().join("sparse")).expect("create");
        file.set_len(1 << 30).expect("a 1 GiB hole");
        assert!(disk_usage(dir.path()).expect("usage") < MIB as u64);
    }

    #[test]
    fn a_missing_root_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(disk_usage(&dir.path().join("gone")).is_err());
    }
}
