use super::*;

fn var(name: &str, value: &str) -> v1::EnvironmentVariable {
    v1::EnvironmentVariable {
        name: name.into(),
        value: Some(value.into()),
    }
}

fn manifest() -> Manifest {
    Manifest::parse(include_str!("../../../plugins/gpu/manifest.toml")).expect("gpu manifest")
}

fn plan(devices: &[(&str, &str)]) -> LaunchPlan {
    LaunchPlan {
        environment: vec![var("CUDA_VISIBLE_DEVICES", "0")],
        devices: devices
            .iter()
            .map(|(path, access)| DeviceRule {
                path: (*path).into(),
                access: (*access).into(),
            })
            .collect(),
        mounts: vec![],
        cgroup: vec![],
    }
}

#[test]
fn a_plan_within_the_grant_passes() {
    let ok = plan(&[("/dev/nvidia0", "rwm"), ("/dev/nvidiactl", "rw")]);
    assert!(check_plan(&manifest(), &ok).is_empty());
}

#[test]
fn every_refusal_is_named() {
    let mut bad = plan(&[("/dev/sda", "rw"), ("/dev/nvidia0", "rwx")]);
    bad.environment.push(var("MESOS_SANDBOX", "/"));
    bad.mounts.push(Mount {
        source: "/".into(),
        target: "/host".into(),
        read_only: false,
    });
    bad.cgroup.push(CgroupSetting {
        controller: "memory".into(),
        key: "memory.limit_in_bytes".into(),
        value: "1".into(),
    });
    bad.cgroup.push(CgroupSetting {
        controller: "devices".into(),
        key: "../memory.limit_in_bytes".into(),
        value: "1".into(),
    });
    let refusals = check_plan(&manifest(), &bad).join("\n");
    for expected in [
        "device /dev/sda is not granted",
        "\"rwx\"",
        "MESOS_SANDBOX",
        "mount / -> /host",
        "controller memory is not granted",
        "not a file of the devices controller",
    ] {
        assert!(refusals.contains(expected), "{expected} in:\n{refusals}");
    }
}
