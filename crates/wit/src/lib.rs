//! Host-side bindings for the five plugin worlds in `wit/`. The allocator world generates the
//! shared `types` and `host` interfaces; the other worlds reuse them so one Rust type stands
//! for one WIT type everywhere.

pub mod allocator {
    wasmtime::component::bindgen!({
        world: "allocator-plugin",
        path: "../../wit",
        additional_derives: [PartialEq],
    });
}

pub mod executor {
    wasmtime::component::bindgen!({
        world: "executor-plugin",
        path: "../../wit",
        additional_derives: [PartialEq],
        with: {
            "corral:plugin/types": super::allocator::corral::plugin::types,
            "corral:plugin/host": super::allocator::corral::plugin::host,
        },
    });
}

pub mod isolator {
    wasmtime::component::bindgen!({
        world: "isolator-plugin",
        path: "../../wit",
        additional_derives: [PartialEq],
        with: {
            "corral:plugin/types": super::allocator::corral::plugin::types,
            "corral:plugin/host": super::allocator::corral::plugin::host,
        },
    });
}

pub mod hook {
    wasmtime::component::bindgen!({
        world: "hook-plugin",
        path: "../../wit",
        additional_derives: [PartialEq],
        with: {
            "corral:plugin/types": super::allocator::corral::plugin::types,
            "corral:plugin/host": super::allocator::corral::plugin::host,
        },
    });
}

/// The `corral:plugin/host` import every plugin may use.
pub use allocator::corral::plugin::host as host_api;
/// The shared WIT types (`corral:plugin/types`).
pub use allocator::corral::plugin::types;

pub mod authorizer {
    wasmtime::component::bindgen!({
        world: "authorizer-plugin",
        path: "../../wit",
        additional_derives: [PartialEq],
        with: {
            "corral:plugin/host": super::allocator::corral::plugin::host,
        },
    });
}
