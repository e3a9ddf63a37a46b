//! A plugin's manifest: the TOML beside the wasm, and the custom section inside it.

use std::time::Duration;

use corral_plugin_host::PluginLimits;
use corral_plugin_host::manifest::Manifest;

/// The host's maximums the target caps a manifest's limits with.
const HOST_MAX: PluginLimits = PluginLimits {
    call_deadline: Duration::from_millis(1000),
    memory_bytes: 256 << 20,
};

/// The manifest TOML: one that parses is valid, prints as TOML that parses to the same
/// manifest, and its limits never exceed the host's.
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(manifest) = Manifest::parse(text) {
        check(&manifest);
    }
}

/// A wasm binary that may carry the manifest in its custom section.
pub fn manifest_section(data: &[u8]) {
    if let Ok(Some(manifest)) = Manifest::from_custom_section(data) {
        check(&manifest);
    }
}

fn check(manifest: &Manifest) {
    let text = manifest.to_toml();
    match Manifest::parse(&text) {
        Ok(again) => assert_eq!(&again, manifest, "the manifest printed as:\n{text}"),
        Err(error) => {
            panic!("a valid manifest prints as TOML that does not parse: {error}\n{text}")
        }
    }
    let limits = manifest.limits(HOST_MAX);
    assert!(limits.call_deadline <= HOST_MAX.call_deadline);
    assert!(limits.memory_bytes <= HOST_MAX.memory_bytes);
    let _ = manifest.grants_device("/dev/nvidia0");
    let _ = manifest.grants_read("/proc/driver/nvidia/gpus/0");
}
