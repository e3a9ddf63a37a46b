use super::*;
use crate::manifest::Manifest;

fn grants(root: &Path) -> Arc<CapabilityGrants> {
    let manifest =
        Manifest::parse(include_str!("../../../plugins/gpu/manifest.toml")).expect("gpu manifest");
    CapabilityGrants::new(manifest, root.to_path_buf())
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("dev")).expect("dev");
    for node in ["nvidia0", "nvidia1", "nvidiactl", "sda"] {
        std::fs::write(root.join("dev").join(node), "").expect("node");
    }
    let gpu = root.join("proc/driver/nvidia/gpus/0000:01:00.0");
    std::fs::create_dir_all(&gpu).expect("gpu dir");
    std::fs::write(gpu.join("information"), "Device Minor: 0\n").expect("info");
    std::fs::create_dir_all(root.join("etc")).expect("etc");
    std::fs::write(root.join("etc/shadow"), "secret").expect("shadow");
    dir
}

#[test]
fn devices_are_listed_below_the_root_within_the_grant() {
    let dir = tree();
    let g = grants(dir.path());
    assert_eq!(
        g.devices("/dev/nvidia[0-9]*").expect("granted"),
        ["/dev/nvidia0", "/dev/nvidia1"]
    );
    assert_eq!(
        g.devices("/dev/nvidiactl").expect("granted"),
        ["/dev/nvidiactl"]
    );
    assert!(
        g.devices("/dev/nvidia-uvm")
            .expect("granted, absent")
            .is_empty()
    );
    let err = g.devices("/dev/sda").unwrap_err();
    assert!(
        err.contains("/dev/sda") && err.contains("capabilities.devices"),
        "{err}"
    );
    let err = g.devices("/dev/*").unwrap_err();
    assert!(
        err.contains("not granted"),
        "a glob reaching /dev/sda is refused: {err}"
    );
    assert!(g.devices("/etc/*").is_err());
}

#[test]
fn reads_only_granted_paths() {
    let dir = tree();
    let g = grants(dir.path());
    let gpus = "/proc/driver/nvidia/gpus";
    assert_eq!(g.list_dir(gpus).expect("granted"), ["0000:01:00.0"]);
    let info = g
        .read_file(&format!("{gpus}/0000:01:00.0/information"))
        .expect("granted");
    assert_eq!(info, b"Device Minor: 0\n");
    let err = g.read_file("/etc/shadow").unwrap_err();
    assert!(err.contains("capabilities.read_paths"), "{err}");
    assert!(
        g.read_file(&format!("{gpus}/../../../../etc/shadow"))
            .is_err()
    );
    assert!(g.list_dir("/").is_err());
}

#[test]
fn a_symlink_cannot_lead_out_of_the_grant() {
    let dir = tree();
    let link = dir.path().join("proc/driver/nvidia/gpus/escape");
    std::os::unix::fs::symlink(dir.path().join("etc/shadow"), &link).expect("symlink");
    let err = grants(dir.path())
        .read_file("/proc/driver/nvidia/gpus/escape")
        .unwrap_err();
    assert!(err.contains("outside"), "{err}");
}
