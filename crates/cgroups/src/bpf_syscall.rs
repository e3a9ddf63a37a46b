//! Loading a device program and attaching it to a cgroup with the raw `bpf(2)` syscall
//! (uapi `linux/bpf.h`; no helper calls, no maps, so no loader library is needed).
//!
//! The kernel keeps an attached program as long as the attachment: closing the fds here
//! leaves it in force (an agent restart does not open the container's devices), and the
//! cgroup's removal drops it.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::IsolationError;
use super::device_bpf::Insn;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Other programs (systemd's, a container runtime's) may sit on the same cgroup; with
/// ALLOW_MULTI every one of them must allow a request.
const BPF_F_ALLOW_MULTI: u32 = 2;
/// Where the verifier explains a refusal.
const LOG_SIZE: usize = 64 * 1024;

/// `union bpf_attr` for BPF_PROG_LOAD, up to the fields used (the kernel zero-fills the
/// rest of a shorter attr).
#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` for BPF_PROG_ATTACH and BPF_PROG_DETACH.
#[repr(C)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<libc::c_long> {
    // SAFETY: attr is a live, initialised repr(C) prefix of union bpf_attr whose size is
    // passed along; pointers inside it point at buffers the caller keeps alive.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Loads a `BPF_PROG_TYPE_CGROUP_DEVICE` program; a refusal carries the verifier's log.
pub fn load_device_program(program: &[Insn]) -> Result<OwnedFd, IsolationError> {
    let license = c"GPL";
    let mut log = vec![0u8; LOG_SIZE];
    let mut name = [0u8; 16];
    name[..14].copy_from_slice(b"corral_devices");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: program.len() as u32,
        insns: program.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: LOG_SIZE as u32,
        log_buf: log.as_mut_ptr() as u64,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
        prog_ifindex: 0,
        expected_attach_type: 0,
    };
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // SAFETY: a successful BPF_PROG_LOAD returns a new fd that nothing else owns.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(source) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            Err(IsolationError::Bpf {
                op: "load the device program",
                source,
                log: String::from_utf8_lossy(&log[..end]).trim().to_string(),
            })
        }
    }
}

/// A device program attached to a cgroup directory.
#[derive(Debug)]
pub struct AttachedProgram {
    program: OwnedFd,
    cgroup: File,
    path: PathBuf,
}

impl AttachedProgram {
    /// Loads `program` and attaches it to the cgroup2 directory `cgroup`.
    pub fn attach(cgroup: &Path, program: &[Insn]) -> Result<AttachedProgram, IsolationError> {
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(cgroup)
            .map_err(|source| IsolationError::Io {
                op: "cannot open",
                path: cgroup.to_path_buf(),
                source,
            })?;
        let loaded = load_device_program(program)?;
        let mut attr = attach_attr(&dir, &loaded, BPF_F_ALLOW_MULTI);
        bpf(BPF_PROG_ATTACH, &mut attr).map_err(|source| IsolationError::Bpf {
            op: "attach the device program",
            source,
            log: format!("cgroup {}", cgroup.display()),
        })?;
        Ok(AttachedProgram {
            program: loaded,
            cgroup: dir,
            path: cgroup.to_path_buf(),
        })
    }

    pub fn cgroup(&self) -> &Path {
        &self.path
    }

    /// Detaches the program (the cgroup's removal would too; this is for a cgroup that
    /// stays). A cgroup already gone is not an error.
    pub fn detach(&self) -> Result<(), IsolationError> {
        let mut attr = attach_attr(&self.cgroup, &self.program, 0);
        match bpf(BPF_PROG_DETACH, &mut attr) {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            Err(source) => Err(IsolationError::Bpf {
                op: "detach the device program",
                source,
                log: format!("cgroup {}", self.path.display()),
            }),
        }
    }
}

fn attach_attr(cgroup: &File, program: &OwnedFd, flags: u32) -> AttachAttr {
    AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: flags,
        replace_bpf_fd: 0,
    }
}
