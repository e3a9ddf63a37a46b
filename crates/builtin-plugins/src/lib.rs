//! The plugins shipped inside the `corral` binary. `build.rs` builds them from the `plugins/`
//! workspace for wasm32-wasip2 and leaves the components in OUT_DIR; they are embedded here,
//! so a single binary runs a cluster with no plugin files on disk. (The misbehaving plugins
//! that tests load are in `corral-test-fixtures`, which only tests build.)

/// Allocators available by name (`--allocator drf`): hierarchical weighted DRF (the
/// default), capacity-scheduler queues (`priority`) and fullest-agents-first (`binpack`).
pub const BUILTIN_ALLOCATORS: &[&str] = &["drf", "priority", "binpack"];

/// Executors available by name.
pub const BUILTIN_EXECUTORS: &[&str] = &["command"];

/// Isolators available by name (`--isolator gpu`).
pub const BUILTIN_ISOLATORS: &[&str] = &["gpu"];
/// Hooks available by name (`--hook labels`).
pub const BUILTIN_HOOKS: &[&str] = &["labels", "admission"];
/// Authorizers available by name: `policy` decides by the rules of a policy document (the
/// configuration its activation gives).
pub const BUILTIN_AUTHORIZERS: &[&str] = &["policy"];

macro_rules! component {
    ($stem:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $stem, ".wasm"))
    };
}

static DRF: &[u8] = component!("drf");
static PRIORITY: &[u8] = component!("priority");
static BINPACK: &[u8] = component!("binpack");
static COMMAND: &[u8] = component!("command");
static GPU: &[u8] = component!("gpu");

/// The manifests of built-in isolators, by name.
static GPU_MANIFEST: &str = include_str!("../../../plugins/gpu/manifest.toml");
static LABELS: &[u8] = component!("labels");
static ADMISSION: &[u8] = component!("admission");
static POLICY: &[u8] = component!("policy_authorizer");

/// The component of a built-in plugin by name (see the lists above).
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    match name {
        "drf" => Some(DRF),
        "priority" => Some(PRIORITY),
        "binpack" => Some(BINPACK),
        "command" => Some(COMMAND),
        "labels" => Some(LABELS),
        "admission" => Some(ADMISSION),
        "gpu" => Some(GPU),
        "policy" => Some(POLICY),
        _ => None,
    }
}

/// The manifest (TOML) of a built-in isolator.
pub fn builtin_manifest(name: &str) -> Option<&'static str> {
    match name {
        "gpu" => Some(GPU_MANIFEST),
        _ => None,
    }
}
