//! Tasks run as their user (Mesos' `--switch_user`): the user a task names (its command's,
//! else its framework's) is looked up in the system's user database, its sandbox made its
//! own, and the process becomes it (groups, group, user) in the forked child before exec.
//! A user the agent does not know fails the launch, naming it. The lookup and the ownership
//! walk read the disk: they run in `corral supervise` or on the blocking pool, never on an
//! async thread.

use std::ffi::CString;
use std::path::Path;

/// Longest buffer for one user database entry (glibc asks for more with ERANGE).
const MAX_ENTRY: usize = 1 << 20;
/// Most supplementary groups taken (Linux' NGROUPS_MAX is 65536).
const MAX_GROUPS: usize = 65536;

/// Whether this process is root (the only one that can run tasks as other users).
pub fn runs_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The user a process of a task or executor runs as when the agent switches users: its
/// command's, else its framework's (Mesos' rule); `None` (the agent's user) when neither
/// names one or switching is off.
pub fn task_user(
    switch_user: bool,
    command_user: Option<&str>,
    framework_user: &str,
) -> Option<String> {
    if !switch_user {
        return None;
    }
    command_user
        .filter(|user| !user.is_empty())
        .or(Some(framework_user).filter(|user| !user.is_empty()))
        .map(str::to_string)
}

/// Who a process becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    /// Supplementary groups, the primary one among them (`getgrouplist`).
    pub groups: Vec<libc::gid_t>,
}

impl RunAs {
    /// Looks `name` up. Blocking (the user database may be files or NSS).
    pub fn lookup(name: &str) -> Result<RunAs, String> {
        let c_name =
            CString::new(name).map_err(|_| format!("the user {name:?} holds a NUL byte"))?;
        let (uid, gid) = passwd_entry(&c_name)?
            .ok_or_else(|| format!("the user {name:?} does not exist on this agent"))?;
        let groups = group_list(&c_name, gid)
            .map_err(|e| format!("cannot list the groups of the user {name:?}: {e}"))?;
        Ok(RunAs {
            name: name.to_string(),
            uid,
            gid,
            groups,
        })
    }

    /// Who a process started in `sandbox` as `user` becomes, the sandbox made theirs; `None`
    /// when this process is that user already. An unknown user, or an agent that is not
    /// root asked for another user, is the error. Blocking.
    pub fn prepare(user: &str, sandbox: &Path) -> Result<Option<RunAs>, String> {
        let run_as = RunAs::lookup(user)?;
        if run_as.is_current() {
            return Ok(None);
        }
        if let Some(refusal) = run_as.refusal() {
            return Err(refusal);
        }
        run_as.own_tree(sandbox)?;
        Ok(Some(run_as))
    }

    /// Whether this process runs as the user already (nothing to switch).
    pub fn is_current(&self) -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == self.uid }
    }

    /// Why this process cannot become the user, if it cannot: only root switches users.
    pub fn refusal(&self) -> Option<String> {
        // SAFETY: as above.
        let euid = unsafe { libc::geteuid() };
        (euid != 0 && euid != self.uid).then(|| {
            format!(
                "the agent runs as uid {euid}, not root, and cannot run a task as {:?} (uid {}); \
                 run the agent as root, or with --no-switch-user",
                self.name, self.uid
            )
        })
    }

    /// Makes `dir` and everything under it the user's (symlinks themselves: never followed,
    /// so a link planted in the sandbox cannot hand anything outside it to the user).
    pub fn own_tree(&self, dir: &Path) -> Result<(), String> {
        let own = |path: &Path| {
            std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid))
                .map_err(|e| format!("cannot give {} to {:?}: {e}", path.display(), self.name))
        };
        own(dir)?;
        let mut pending = vec![dir.to_path_buf()];
        while let Some(next) = pending.pop() {
            let entries = std::fs::read_dir(&next)
                .map_err(|e| format!("cannot list {}: {e}", next.display()))?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("cannot list {}: {e}", next.display()))?;
                let path = entry.path();
                own(&path)?;
                // file_type() does not follow a symlink: a link to a directory is not entered.
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    pending.push(path);
                }
            }
        }
        Ok(())
    }

    /// Becomes the user: supplementary groups, then group, then user (after setuid the
    /// others are refused). Only async-signal-safe calls, for a `pre_exec` closure; the
    /// group list is allocated before the fork.
    pub fn switch(&self) -> std::io::Result<()> {
        // SAFETY: plain system calls on values owned by `self`; `groups` outlives the call.
        unsafe {
            if libc::setgroups(self.groups.len(), self.groups.as_ptr()) != 0
                || libc::setgid(self.gid) != 0
                || libc::setuid(self.uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

/// The uid and primary gid of `name`, `None` when there is no such user.
fn passwd_entry(name: &CString) -> Result<Option<(libc::uid_t, libc::gid_t)>, String> {
    let mut buffer = vec![0u8; 4096];
    loop {
        // SAFETY: zeroed is a valid `passwd` (pointers null, numbers zero); getpwnam_r fills
        // it with pointers into `buffer`, which outlives every read of it below.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the lengths given.
        let rc = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut entry,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                &mut found,
            )
        };
        if rc == libc::ERANGE && buffer.len() < MAX_ENTRY {
            buffer.resize(buffer.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            return Err(format!(
                "cannot look up the user {name:?}: {}",
                std::io::Error::from_raw_os_error(rc)
            ));
        }
        return Ok((!found.is_null()).then_some((entry.pw_uid, entry.pw_gid)));
    }
}

/// The groups `name` belongs to, `gid` first among them.
fn group_list(name: &CString, gid: libc::gid_t) -> Result<Vec<libc::gid_t>, String> {
    let mut groups: Vec<libc::gid_t> = vec![0; 64];
    loop {
        let mut count = libc::c_int::try_from(groups.len()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `groups` holds `count` entries; getgrouplist writes at most that many and
        // sets `count` to how many there are.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        let count = usize::try_from(count).unwrap_or(0);
        if rc >= 0 {
            groups.truncate(count);
            return Ok(groups);
        }
        let wanted = count.max(groups.len() * 2);
        if wanted > MAX_GROUPS {
            return Err(format!("more than {MAX_GROUPS} groups"));
        }
        groups.resize(wanted, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn the_command_s_user_wins_then_the_framework_s_and_switching_off_keeps_the_agent_s() {
        assert_eq!(task_user(true, Some("web"), "ops").as_deref(), Some("web"));
        assert_eq!(task_user(true, None, "ops").as_deref(), Some("ops"));
        assert_eq!(task_user(true, Some(""), "ops").as_deref(), Some("ops"));
        assert_eq!(task_user(true, None, ""), None);
        assert_eq!(task_user(false, Some("web"), "ops"), None);
    }

    #[test]
    fn root_and_nobody_are_found_and_a_stranger_is_refused_by_name() {
        let root = RunAs::lookup("root").expect("root exists");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.groups.contains(&0), "{:?}", root.groups);
        let nobody = RunAs::lookup("nobody").expect("nobody exists");
        assert_ne!(nobody.uid, 0);
        let error = RunAs::lookup("no-such-user-here").expect_err("unknown");
        assert!(
            error.contains("\"no-such-user-here\" does not exist"),
            "{error}"
        );
        assert!(RunAs::lookup("a\0b").is_err());
    }

    #[test]
    fn the_tree_becomes_the_user_s_and_a_symlink_out_of_it_is_not_followed() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: chown needs root");
            return;
        }
        let nobody = RunAs::lookup("nobody").expect("nobody exists");
        let outside = tempfile::tempdir().expect("temp dir");
        let target = outside.path().join("secret");
        std::fs::write(&target, "root's").expect("write");
        let sandbox = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(sandbox.path().join("a/b")).expect("dirs");
        std::fs::write(sandbox.path().join("a/b/file"), "x").expect("write");
        std::os::unix::fs::symlink(&target, sandbox.path().join("link")).expect("symlink");
        std::os::unix::fs::symlink(outside.path(), sandbox.path().join("dirlink")).expect("link");
        nobody.own_tree(sandbox.path()).expect("owned");
        for path in ["", "a", "a/b", "a/b/file"] {
            let meta = std::fs::metadata(sandbox.path().join(path)).expect("meta");
            assert_eq!(meta.uid(), nobody.uid, "{path:?}");
        }
        let link = std::fs::symlink_metadata(sandbox.path().join("link")).expect("meta");
        assert_eq!(link.uid(), nobody.uid);
        assert_eq!(std::fs::metadata(&target).expect("meta").uid(), 0);
        assert_eq!(std::fs::metadata(outside.path()).expect("meta").uid(), 0);
    }
}
