//! Builds the misbehaving plugins and the example programs that tests load (see `src/lib.rs`).

use corral_wasm_build::Component;

fn main() -> std::process::ExitCode {
    corral_wasm_build::main(&[
        Component {
            package: "loop-allocator",
            stem: "loop_allocator",
        },
        Component {
            package: "membomb-allocator",
            stem: "membomb_allocator",
        },
        Component {
            package: "trap-allocator",
            stem: "trap_allocator",
        },
        Component {
            package: "huge-allocator",
            stem: "huge_allocator",
        },
        Component {
            package: "trap-executor",
            stem: "trap_executor",
        },
        Component {
            package: "sda-isolator",
            stem: "sda_isolator",
        },
        Component {
            package: "trap-isolator",
            stem: "trap_isolator",
        },
        Component {
            package: "bad-hook",
            stem: "bad_hook",
        },
        Component {
            package: "loop-executor",
            stem: "loop_executor",
        },
        Component {
            package: "bad-authorizer",
            stem: "bad_authorizer",
        },
        Component {
            package: "legacy-hook",
            stem: "legacy_hook",
        },
        // Not plugins: the example wasm task (for the runner's tests) and the example
        // allocator of the plugin guide (built so that it keeps compiling).
        Component {
            package: "wasi-task",
            stem: "wasi-task",
        },
        Component {
            package: "first-fit",
            stem: "first_fit",
        },
    ])
}
