//! The plugins shipped inside the `corral` binary. `build.rs` builds the `plugins/` workspace
//! for wasm32-wasip2 and leaves the components in OUT_DIR; they are embedded here, so a
//! single binary runs a cluster with no plugin files on disk.
//!
//! The misbehaving fixtures (plugins/fixtures) are embedded too: they are small (tens of KB)
//! and any test, in this crate or outside it, can load them by name.

/// Allocators available by name (`--allocator drf`).
pub const BUILTIN_ALLOCATORS: &[&str] = &["drf"];

/// Executors available by name.
pub const BUILTIN_EXECUTORS: &[&str] = &["command"];

/// Isolators available by name (`--isolator gpu`).
pub const BUILTIN_ISOLATORS: &[&str] = &["gpu"];

/// Misbehaving plugins for tests, by name.
pub const FIXTURES: &[&str] = &[
    "loop-allocator",
    "membomb-allocator",
    "trap-allocator",
    "huge-allocator",
    "trap-executor",
    "sda-isolator",
    "trap-isolator",
];

macro_rules! component {
    ($stem:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $stem, ".wasm"))
    };
}

static DRF: &[u8] = component!("drf");
static COMMAND: &[u8] = component!("command");
static LOOP_ALLOCATOR: &[u8] = component!("loop_allocator");
static MEMBOMB_ALLOCATOR: &[u8] = component!("membomb_allocator");
static TRAP_ALLOCATOR: &[u8] = component!("trap_allocator");
static HUGE_ALLOCATOR: &[u8] = component!("huge_allocator");
static TRAP_EXECUTOR: &[u8] = component!("trap_executor");
static GPU: &[u8] = component!("gpu");
static SDA_ISOLATOR: &[u8] = component!("sda_isolator");
static TRAP_ISOLATOR: &[u8] = component!("trap_isolator");

/// The manifests of built-in isolators and isolator fixtures, by name.
static GPU_MANIFEST: &str = include_str!("../../../plugins/gpu/manifest.toml");
static SDA_ISOLATOR_MANIFEST: &str =
    include_str!("../../../plugins/fixtures/sda-isolator/manifest.toml");
static TRAP_ISOLATOR_MANIFEST: &str =
    include_str!("../../../plugins/fixtures/trap-isolator/manifest.toml");

/// The component of a built-in allocator or executor ("drf", "command").
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    match name {
        "drf" => Some(DRF),
        "command" => Some(COMMAND),
        "gpu" => Some(GPU),
        _ => None,
    }
}

/// The manifest (TOML) of a built-in isolator or an isolator fixture.
pub fn builtin_manifest(name: &str) -> Option<&'static str> {
    match name {
        "gpu" => Some(GPU_MANIFEST),
        "sda-isolator" => Some(SDA_ISOLATOR_MANIFEST),
        "trap-isolator" => Some(TRAP_ISOLATOR_MANIFEST),
        _ => None,
    }
}

/// The component of a misbehaving test plugin (see [`FIXTURES`]):
/// `loop-allocator` (`allocate` never returns), `membomb-allocator` (`allocate` allocates
/// without bound), `trap-allocator` (`allocate` panics), `huge-allocator` (`inspect` returns
/// 100 MB), `trap-executor` (`launch` panics), `sda-isolator` (plans ask for `/dev/sda`,
/// which its manifest does not grant) and `trap-isolator` (`prepare` panics). Every other
/// call of theirs behaves.
pub fn fixture(name: &str) -> Option<&'static [u8]> {
    match name {
        "loop-allocator" => Some(LOOP_ALLOCATOR),
        "membomb-allocator" => Some(MEMBOMB_ALLOCATOR),
        "trap-allocator" => Some(TRAP_ALLOCATOR),
        "huge-allocator" => Some(HUGE_ALLOCATOR),
        "trap-executor" => Some(TRAP_EXECUTOR),
        "sda-isolator" => Some(SDA_ISOLATOR),
        "trap-isolator" => Some(TRAP_ISOLATOR),
        _ => None,
    }
}

#[cfg(test)]
#[path = "builtin_tests.rs"]
mod tests;
