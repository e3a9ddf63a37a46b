//! Builds the plugins shipped inside the `corral` binary (see `src/lib.rs`).

use corral_wasm_build::Component;

fn main() -> std::process::ExitCode {
    corral_wasm_build::main(&[
        Component {
            package: "drf",
            stem: "drf",
        },
        Component {
            package: "priority",
            stem: "priority",
        },
        Component {
            package: "binpack",
            stem: "binpack",
        },
        Component {
            package: "command",
            stem: "command",
        },
        Component {
            package: "gpu",
            stem: "gpu",
        },
        Component {
            package: "labels",
            stem: "labels",
        },
        Component {
            package: "admission",
            stem: "admission",
        },
        Component {
            package: "policy-authorizer",
            stem: "policy_authorizer",
        },
    ])
}
