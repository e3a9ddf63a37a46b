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
static COMMAND: &[u8] = component!("command");
static LOOP_ALLOCATOR: &[u8] = component!("loop_allocator");
static MEMBOMB_ALLOCATOR: &[u8] = component!("membomb_allocator");
static TRAP_ALLOCATOR: &[u8] = component!("trap_allocator");
static HUGE_ALLOCATOR: &[u8] = component!("huge_allocator");
static TRAP_EXECUTOR: &[u8] = component!("trap_executor");

/// The component of a built-in allocator or executor ("drf", "command").
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    match name {
        "drf" => Some(DRF),
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
mod tests {
    use super::*;
    use wasmtime::component::Component;
    use wasmtime::{Config, Engine};

    const ALLOCATOR: &str = "corral:plugin/allocator@0.1.0";
    const EXECUTOR: &str = "corral:plugin/executor@0.1.0";

    /// (name, bytes, the interface it must export).
    fn all() -> Vec<(&'static str, &'static [u8], &'static str)> {
        let mut all = Vec::new();
        for name in BUILTIN_ALLOCATORS {
            all.push((*name, builtin(name).expect("listed allocator"), ALLOCATOR));
        }
        for name in BUILTIN_EXECUTORS {
            all.push((*name, builtin(name).expect("listed executor"), EXECUTOR));
        }
        for name in FIXTURES {
            let kind = if name.ends_with("-executor") {
                EXECUTOR
            } else {
                ALLOCATOR
            };
            all.push((*name, fixture(name).expect("listed fixture"), kind));
        }
        all
    }

    #[test]
    fn builtin_components_are_wasm_components() {
        for (name, bytes, _) in all() {
            assert_eq!(&bytes[..4], b"\0asm", "{name}: no wasm magic");
            // A core module has version 1 and layer 0; a component has layer 1.
            assert_eq!(
                &bytes[6..8],
                &[1, 0],
                "{name}: not a component (layer byte)"
            );
        }
    }

    #[test]
    fn builtin_components_export_their_kind_and_import_only_what_worlds_grant() {
        let mut config = Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config).expect("default engine");
        for (name, bytes, interface) in all() {
            let component = Component::new(&engine, bytes)
                .unwrap_or_else(|e| panic!("{name} does not compile: {e:?}"));
            let ty = component.component_type();
            let exports: Vec<&str> = ty.exports(&engine).map(|(n, _)| n).collect();
            assert_eq!(exports, [interface], "{name} exports");
            for (import, _) in ty.imports(&engine) {
                // `types` is imported for its type definitions; WASI comes from Rust's std and
                // is served by the host's empty WASI context.
                assert!(
                    ["corral:plugin/host@0.1.0", "corral:plugin/types@0.1.0"].contains(&import)
                        || import.starts_with("wasi:"),
                    "{name} imports {import}, which its world does not grant"
                );
            }
        }
    }

    #[test]
    fn unknown_names_are_not_builtin() {
        assert!(
            builtin("loop-allocator").is_none(),
            "fixtures are not built-ins"
        );
        assert!(builtin("binpack").is_none());
        assert!(fixture("drf").is_none());
    }
}
