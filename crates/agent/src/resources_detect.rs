//! The agent's total resources: detected from the machine as Mesos does, with every resource
//! named in `--resources` replacing the detected one of that name.

use std::path::Path;

use corral_api::resources::{ParseError, parse_resources};
use corral_api::v1::{Range, Ranges, Resource, Scalar, ValueType};

const MIB: u64 = 1024 * 1024;
/// Mesos leaves this much memory to the system (when the machine has at least twice it).
const MEM_HEADROOM_MIB: u64 = 1024;
/// Mesos leaves this much disk to the system (when the filesystem has at least twice it).
const DISK_HEADROOM_MIB: u64 = 5 * 1024;
pub const DEFAULT_PORTS: Range = Range {
    begin: 31000,
    end: 32000,
};

/// What the machine offers, before `--resources` is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    pub cpus: f64,
    pub mem_mib: u64,
    pub disk_mib: u64,
}

/// Keeps `headroom` for the system when `total` is at least twice it, else half of `total`.
pub fn usable_mib(total: u64, headroom: u64) -> u64 {
    if total >= 2 * headroom {
        total - headroom
    } else {
        total / 2
    }
}

/// Logical CPUs, memory and the free space of the filesystem holding `work_dir`.
pub fn detect(work_dir: &Path) -> Detected {
    use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};
    let system = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing())
            .with_memory(MemoryRefreshKind::nothing().with_ram()),
    );
    let cpus = match system.cpus().len() {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let disk_free = free_bytes(work_dir).unwrap_or_else(|e| {
        tracing::warn!(
            "cannot read free space of {}: {e}; assuming none",
            work_dir.display()
        );
        0
    });
    Detected {
        cpus: cpus as f64,
        mem_mib: usable_mib(system.total_memory() / MIB, MEM_HEADROOM_MIB),
        disk_mib: usable_mib(disk_free / MIB, DISK_HEADROOM_MIB),
    }
}

/// Bytes available to unprivileged users on the filesystem holding `path`.
fn free_bytes(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: c_path is a valid NUL-terminated string and stat points to writable memory of
    // the right type; statvfs only writes into it.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it filled the struct.
    let stat = unsafe { stat.assume_init() };
    // The field types differ between platforms (u32 on some 32-bit targets).
    #[allow(clippy::useless_conversion)]
    let (blocks, size) = (u64::from(stat.f_bavail), u64::from(stat.f_frsize));
    Ok(blocks.saturating_mul(size))
}

fn scalar(name: &str, value: f64) -> Resource {
    Resource {
        name: name.to_string(),
        kind: ValueType::Scalar,
        scalar: Some(Scalar { value }),
        ..Default::default()
    }
}

/// The detected resources (cpus, mem, disk, ports) overridden by `flag`: a resource named in
/// the flag replaces every detected resource of that name; the others are kept.
pub fn total_resources(
    detected: &Detected,
    flag: Option<&str>,
) -> Result<Vec<Resource>, ParseError> {
    let given = match flag {
        Some(text) => parse_resources(text)?,
        None => Vec::new(),
    };
    let defaults = [
        scalar("cpus", detected.cpus),
        scalar("mem", detected.mem_mib as f64),
        scalar("disk", detected.disk_mib as f64),
        Resource {
            name: "ports".to_string(),
            kind: ValueType::Ranges,
            ranges: Some(Ranges {
                range: vec![DEFAULT_PORTS],
            }),
            ..Default::default()
        },
    ];
    let mut out: Vec<Resource> = defaults
        .into_iter()
        .filter(|d| !given.iter().any(|g| g.name == d.name))
        .map(corral_api::resources::normalize)
        .collect();
    out.extend(given);
    Ok(corral_api::resources::Resources::from_list(&out).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::resources::Resources;

    fn detected() -> Detected {
        Detected {
            cpus: 8.0,
            mem_mib: 15000,
            disk_mib: 90000,
        }
    }

    #[test]
    fn headroom_follows_mesos() {
        assert_eq!(usable_mib(16384, MEM_HEADROOM_MIB), 15360);
        assert_eq!(usable_mib(2048, MEM_HEADROOM_MIB), 1024);
        assert_eq!(usable_mib(1500, MEM_HEADROOM_MIB), 750);
        assert_eq!(usable_mib(8000, DISK_HEADROOM_MIB), 4000);
        assert_eq!(usable_mib(20000, DISK_HEADROOM_MIB), 14880);
    }

    #[test]
    fn flag_replaces_named_resources_and_keeps_the_rest() {
        let total =
            total_resources(&detected(), Some("cpus:2;cpus(eng):1;gpus:1")).expect("parses");
        let bag = Resources::from_list(&total);
        assert_eq!(bag.scalar("cpus"), 3.0);
        assert_eq!(bag.scalar("mem"), 15000.0);
        assert_eq!(bag.scalar("disk"), 90000.0);
        assert_eq!(bag.scalar("gpus"), 1.0);
        let ports = total
            .iter()
            .find(|r| r.name == "ports")
            .expect("ports kept");
        assert_eq!(
            ports.ranges.as_ref().map(|r| r.range.clone()),
            Some(vec![DEFAULT_PORTS])
        );
    }

    #[test]
    fn ports_flag_replaces_the_default_range() {
        let total = total_resources(&detected(), Some("ports:[5000-5010]")).expect("parses");
        let ports: Vec<_> = total.iter().filter(|r| r.name == "ports").collect();
        assert_eq!(ports.len(), 1);
        assert_eq!(
            ports[0].ranges.as_ref().map(|r| r.range.clone()),
            Some(vec![Range {
                begin: 5000,
                end: 5010
            }])
        );
    }

    #[test]
    fn bad_flag_is_an_error() {
        assert!(total_resources(&detected(), Some("cpus:lots")).is_err());
    }

    #[test]
    fn detection_finds_this_machine() {
        let dir = tempfile::tempdir().expect("temp dir");
        let found = detect(dir.path());
        assert!(found.cpus >= 1.0);
        assert!(found.mem_mib > 0);
    }
}
