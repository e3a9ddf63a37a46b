//! The capabilities root in a task loses: those that would undo its confinement (mount and
//! unmount, `setns`, ptrace) or reach the kernel directly. Dropped by the init of a root
//! task's namespaces, and by a health check that enters them.
//!
//! Nothing here allocates: a health check drops them in a child forked from the
//! multi-threaded agent, where only async-signal-safe calls are allowed.

/// Numbers and names from linux/capability.h.
const DROPPED: &[(u32, &str)] = &[
    (16, "CAP_SYS_MODULE"),
    (17, "CAP_SYS_RAWIO"),
    (19, "CAP_SYS_PTRACE"),
    (21, "CAP_SYS_ADMIN"),
    (22, "CAP_SYS_BOOT"),
    (25, "CAP_SYS_TIME"),
    (32, "CAP_MAC_OVERRIDE"),
    (33, "CAP_MAC_ADMIN"),
    (34, "CAP_SYSLOG"),
    (38, "CAP_PERFMON"),
    (39, "CAP_BPF"),
];

/// What could not be done, and the system's answer.
#[derive(Debug, thiserror::Error)]
pub enum CapabilityError {
    #[error("cannot drop {0} for the task: {1}")]
    Drop(&'static str, std::io::Error),
    #[error("cannot {0} for the task: {1}")]
    Sets(&'static str, std::io::Error),
}

impl CapabilityError {
    /// The system's error alone (for a `pre_exec` closure's `io::Result`).
    pub fn into_io(self) -> std::io::Error {
        match self {
            CapabilityError::Drop(_, error) | CapabilityError::Sets(_, error) => error,
        }
    }
}

/// Drops [`DROPPED`] from the bounding set (an exec'd root program's permitted set is its
/// bounding set, plus its inheritable one) and from the inheritable set.
pub fn drop_for_task() -> Result<(), CapabilityError> {
    for (number, name) in DROPPED {
        // SAFETY: prctl(PR_CAPBSET_DROP) takes plain integers.
        let rc =
            unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(*number), 0, 0, 0) };
        // EINVAL: a capability this kernel does not know, so nobody has it.
        if rc != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
            return Err(CapabilityError::Drop(name, std::io::Error::last_os_error()));
        }
    }
    clear_inheritable()
}

/// linux/capability.h's `__user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// linux/capability.h's `__user_cap_data_struct`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// _LINUX_CAPABILITY_VERSION_3: two data words (64 capabilities).
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

fn clear_inheritable() -> Result<(), CapabilityError> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget writes two data words for version 3, which `data` holds.
    if unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) } != 0 {
        return Err(CapabilityError::Sets(
            "read the capabilities",
            std::io::Error::last_os_error(),
        ));
    }
    for (number, _) in DROPPED {
        let word = (*number / 32) as usize;
        data[word].inheritable &= !(1 << (number % 32));
    }
    // SAFETY: as above; capset reads the two words.
    if unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) } != 0 {
        return Err(CapabilityError::Sets(
            "set the inheritable capabilities",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}
