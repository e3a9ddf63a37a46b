//! Opening a file of a sandbox for the `/files` API without a race: the kernel resolves the
//! path beneath the sandbox's directory (`openat2` with `RESOLVE_BENEATH`), so a task that
//! swaps a directory for a symlink while the agent looks cannot lead it outside; a symlink
//! that stays inside still works. Kernels before 5.6 have no `openat2`: there each component
//! is opened with `O_NOFOLLOW` from the one before (symlinks are then refused). A regular
//! file with more than one hard link is served only when the task's user owns it: a hard
//! link made in the sandbox to a file elsewhere (`ln /etc/shadow x` by a task running as
//! root) is not.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path};

/// Opens `relative` (no `..`: checked before) beneath the directory `root`, read-only.
pub fn open_beneath(root: &Path, relative: &Path) -> std::io::Result<File> {
    let root_dir = open_path(
        libc::AT_FDCWD,
        root.as_os_str().as_bytes(),
        libc::O_DIRECTORY,
    )?;
    let relative = relative.as_os_str().as_bytes();
    if relative.is_empty() {
        return reopen(&root_dir);
    }
    match openat2_beneath(&root_dir, relative) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => walk_nofollow(root_dir, relative),
        other => other,
    }
}

/// Why a file is not served, if it is not: a hard link the task's user (`owner_uid`; `None`
/// when unknown) does not own.
pub fn hard_link_refusal(meta: &std::fs::Metadata, owner_uid: Option<u32>) -> Option<String> {
    (meta.is_file() && meta.nlink() > 1 && owner_uid != Some(meta.uid())).then(|| {
        format!(
            "the file has {} hard links and is not the task user's own: a link to a file \
             outside the sandbox is not served",
            meta.nlink()
        )
    })
}

fn open_path(dir: libc::c_int, path: &[u8], extra: libc::c_int) -> std::io::Result<File> {
    let path = CString::new(path).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    // SAFETY: a valid C string and flags; the returned fd is owned by the File.
    let fd = unsafe { libc::openat(dir, path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC | extra) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// The directory itself, as a readable descriptor of its own.
fn reopen(dir: &File) -> std::io::Result<File> {
    open_path(dir.as_raw_fd(), b".", libc::O_DIRECTORY)
}

/// The kernel's `struct open_how` (openat2(2); libc's cannot be built outside libc).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

fn openat2_beneath(root: &File, relative: &[u8]) -> std::io::Result<File> {
    let path = CString::new(relative).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    let how = OpenHow {
        flags: (libc::O_RDONLY | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: openat2(2) with a valid directory fd, C string and `open_how` of the size given.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let fd = libc::c_int::try_from(fd).map_err(|_| std::io::ErrorKind::InvalidData)?;
    // SAFETY: a fresh descriptor nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Without openat2: each component from the one before, never following a symlink.
fn walk_nofollow(root: File, relative: &[u8]) -> std::io::Result<File> {
    let mut current = root;
    for component in Path::new(std::ffi::OsStr::from_bytes(relative)).components() {
        let Component::Normal(name) = component else {
            return Err(std::io::ErrorKind::InvalidInput.into());
        };
        current = open_path(current.as_raw_fd(), name.as_bytes(), libc::O_NOFOLLOW)?;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn read(file: std::io::Result<File>) -> std::io::Result<String> {
        let mut text = String::new();
        file?.read_to_string(&mut text)?;
        Ok(text)
    }

    #[test]
    fn files_inside_open_and_links_out_do_not() {
        let outside = tempfile::tempdir().expect("temp dir");
        std::fs::write(outside.path().join("secret"), "secret").expect("write");
        let sandbox = tempfile::tempdir().expect("temp dir");
        let root = sandbox.path();
        std::fs::create_dir(root.join("dir")).expect("dir");
        std::fs::write(root.join("dir/stdout"), "out").expect("write");
        std::os::unix::fs::symlink("dir/stdout", root.join("inside")).expect("link");
        std::os::unix::fs::symlink(outside.path(), root.join("escape")).expect("link");
        std::os::unix::fs::symlink("/etc/passwd", root.join("absolute")).expect("link");

        assert_eq!(
            read(open_beneath(root, Path::new("dir/stdout"))).expect("read"),
            "out"
        );
        assert_eq!(
            read(open_beneath(root, Path::new("inside"))).expect("read"),
            "out"
        );
        for out in ["escape/secret", "absolute"] {
            let error = open_beneath(root, Path::new(out)).expect_err(out);
            assert_eq!(error.raw_os_error(), Some(libc::EXDEV), "{out}: {error}");
        }
        assert!(
            open_beneath(root, Path::new(""))
                .expect("the root")
                .metadata()
                .expect("meta")
                .is_dir()
        );
    }

    #[test]
    fn the_walk_without_openat2_refuses_every_symlink() {
        let sandbox = tempfile::tempdir().expect("temp dir");
        let root = sandbox.path();
        std::fs::create_dir(root.join("dir")).expect("dir");
        std::fs::write(root.join("dir/stdout"), "out").expect("write");
        std::os::unix::fs::symlink("/etc", root.join("etc")).expect("link");
        let dir = open_path(
            libc::AT_FDCWD,
            root.as_os_str().as_bytes(),
            libc::O_DIRECTORY,
        )
        .expect("root");
        assert_eq!(
            read(walk_nofollow(dir, b"dir/stdout")).expect("read"),
            "out"
        );
        let dir = open_path(
            libc::AT_FDCWD,
            root.as_os_str().as_bytes(),
            libc::O_DIRECTORY,
        )
        .expect("root");
        assert!(walk_nofollow(dir, b"etc/passwd").is_err());
    }

    #[test]
    fn a_hard_link_is_served_only_to_its_owner() {
        let sandbox = tempfile::tempdir().expect("temp dir");
        let file = sandbox.path().join("file");
        std::fs::write(&file, "x").expect("write");
        let single = std::fs::metadata(&file).expect("meta");
        assert_eq!(hard_link_refusal(&single, None), None);
        std::fs::hard_link(&file, sandbox.path().join("link")).expect("link");
        let linked = std::fs::metadata(&file).expect("meta");
        assert_eq!(hard_link_refusal(&linked, Some(linked.uid())), None);
        let refusal = hard_link_refusal(&linked, None).expect("refused");
        assert!(refusal.contains("2 hard links"), "{refusal}");
        assert!(hard_link_refusal(&linked, Some(linked.uid() + 1)).is_some());
    }
}
