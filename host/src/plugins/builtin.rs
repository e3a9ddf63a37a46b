//! The plugins shipped inside the `corral` binary. `build.rs` builds the `plugins/` workspace
//! for wasm32-wasip2 and leaves the components in OUT_DIR; they are embedded here, so a
//! single binary runs a cluster with no plugin files on disk.
//!
//! The misbehaving fixtures (plugins/fixtures) are embedded too: they are small (tens of KB)
//! and any test, in this crate or outside it, can load them by name.

/// Allocators available by name (`--allocator drf`): hierarchical weighted DRF (the
/// default), capacity-scheduler queues (`priority`) and fullest-agents-first (`binpack`).
pub const BUILTIN_ALLOCATORS: &[&str] = &["drf", "priority", "binpack"];

/// Executors available by name.
pub const BUILTIN_EXECUTORS: &[&str] = &["command"];

/// Misbehaving plugins for tests, by name.
pub const FIXTURES: &[&str] = &[
    "loop-allocator",
    "membomb-allocator",
    "trap-allocator",
    "huge-allocator",
    "trap-executor",
];

macro_rules! component {
    ($stem:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $stem, ".wasm"))
    };
}

static DRF: &[u8] = component!("drf");
static PRIORITY: &[u8] = component!("priority");
static BINPACK: &[u8] = component!("binpack");
static COMMAND: &[u8] = component!("command");
static LOOP_ALLOCATOR: &[u8] = component!("loop_allocator");
static MEMBOMB_ALLOCATOR: &[u8] = component!("membomb_allocator");
static TRAP_ALLOCATOR: &[u8] = component!("trap_allocator");
static HUGE_ALLOCATOR: &[u8] = component!("huge_allocator");
static TRAP_EXECUTOR: &[u8] = component!("trap_executor");

/// The component of a built-in allocator or executor ("drf", "priority", "binpack",
/// "command").
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    match name {
        "drf" => Some(DRF),
        "priority" => Some(PRIORITY),
        "binpack" => Some(BINPACK),
        "command" => Some(COMMAND),
        _ => None,
    }
}

/// The component of a misbehaving test plugin (see [`FIXTURES`]):
/// `loop-allocator` (`allocate` never returns), `membomb-allocator` (`allocate` allocates
/// without bound), `trap-allocator` (`allocate` panics), `huge-allocator` (`inspect` returns
/// 100 MB) and `trap-executor` (`launch` panics). Every other call of theirs behaves.
pub fn fixture(name: &str) -> Option<&'static [u8]> {
    match name {
        "loop-allocator" => Some(LOOP_ALLOCATOR),
        "membomb-allocator" => Some(MEMBOMB_ALLOCATOR),
        "trap-allocator" => Some(TRAP_ALLOCATOR),
        "huge-allocator" => Some(HUGE_ALLOCATOR),
        "trap-executor" => Some(TRAP_EXECUTOR),
        _ => None,
    }
}

#[cfg(test)]
#[path = "builtin_tests.rs"]
mod tests;
