use super::*;

const GPU: &str = r#"
name = "gpu"
kind = "isolator"
version = "1.0.0"
wit = "0.1.0"

[capabilities]
devices = ["/dev/nvidia[0-9]*", "/dev/nvidiactl"]
read_paths = ["/proc/driver/nvidia/gpus"]
cgroup_controllers = ["devices"]

[limits]
call_deadline_ms = 500
memory_mib = 64
"#;

#[test]
fn a_full_manifest_parses_and_grants_what_it_lists() {
    let m = Manifest::parse(GPU).expect("valid manifest");
    assert_eq!(m.plugin_kind(), PluginKind::Isolator);
    assert!(m.grants_device("/dev/nvidia0"));
    assert!(m.grants_device("/dev/nvidia12"));
    assert!(m.grants_device("/dev/nvidiactl"));
    assert!(!m.grants_device("/dev/nvidia-uvm"));
    assert!(!m.grants_device("/dev/sda"));
    assert!(m.grants_read("/proc/driver/nvidia/gpus/0000:01:00.0/information"));
    assert!(!m.grants_read("/proc/driver/nvidia/gpus/../../../etc/shadow"));
    assert!(!m.grants_read("/proc/driver/nvidia-other"));
    assert!(m.grants_cgroup_controller("devices"));
    assert!(!m.grants_cgroup_controller("memory"));
    assert!(!m.capabilities.task_environment);
}

#[test]
fn limits_never_exceed_the_hosts() {
    let m = Manifest::parse(GPU).expect("valid manifest");
    let limits = m.limits(PluginLimits::ALLOCATOR);
    assert_eq!(limits.call_deadline, Duration::from_millis(500));
    assert_eq!(limits.memory_bytes, 64 << 20);
    let tight = PluginLimits {
        call_deadline: Duration::from_millis(100),
        memory_bytes: 1 << 20,
    };
    assert_eq!(m.limits(tight), tight);
}

#[test]
fn another_wit_version_is_refused_naming_both() {
    let text = GPU.replace("wit = \"0.1.0\"", "wit = \"9.0.0\"");
    let err = Manifest::parse(&text).expect_err("wrong WIT");
    let shown = err.to_string();
    assert!(
        shown.contains("9.0.0") && shown.contains(WIT_VERSION),
        "{shown}"
    );
}

#[test]
fn bad_fields_are_refused_with_their_name() {
    let cases = [
        (GPU.replace("\"gpu\"", "\"g p u\""), "name"),
        (GPU.replace("/dev/nvidiactl", "/etc/passwd"), "devices"),
        (
            GPU.replace("/proc/driver/nvidia/gpus", "relative/path"),
            "read_paths",
        ),
        (
            GPU.replace("memory_mib = 64", "memory_mib = 0"),
            "memory_mib",
        ),
        (
            GPU.replace("kind = \"isolator\"", "kind = \"gizmo\""),
            "gizmo",
        ),
        (format!("{GPU}\nsurprise = 1\n"), "surprise"),
    ];
    for (text, needle) in cases {
        let err = Manifest::parse(&text).expect_err(needle);
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}

#[test]
fn a_manifest_round_trips_through_toml() {
    let m = Manifest::parse(GPU).expect("valid manifest");
    assert_eq!(Manifest::parse(&m.to_toml()).expect("round trip"), m);
}

#[test]
fn the_custom_section_is_found_in_a_wasm_binary() {
    let module = wat::parse_str(format!(
        "(module (@custom \"{CUSTOM_SECTION}\" \"{}\"))",
        GPU.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    ))
    .expect("wat");
    let found = Manifest::from_custom_section(&module).expect("parses");
    assert_eq!(found.map(|m| m.name), Some("gpu".to_string()));
    let bare = wat::parse_str("(module)").expect("wat");
    assert_eq!(Manifest::from_custom_section(&bare).expect("none"), None);
}
