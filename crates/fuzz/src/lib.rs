//! Fuzz targets: one function per decoder of untrusted input, each feeding the bytes to the
//! decoder the servers use and, where the decode succeeds, checking an invariant that can
//! fail (encoding and decoding again gives the same value, amounts are finite and within
//! their bound, what the master would persist loads back). A target never panics on any
//! input; a panic is a bug in the code it calls. Targets do no I/O.
//!
//! The stable runner (`tests/fuzz.rs`, part of `cargo test`, using [`runner`] and the
//! hand-written [`mutate`]) calls them; each is a plain `fn(&[u8])`, as cargo-fuzz's
//! `fuzz_target!` wants too: the cargo-fuzz project in `fuzz/` calls them, one
//! `fuzz_target!` each. docs/fuzzing.md says how to run them.

mod api_targets;
mod auth_targets;
mod json_check;
#[cfg(feature = "master")]
mod master_targets;
#[cfg(feature = "master")]
mod master_world;
pub mod mutate;
pub mod persisted;
#[cfg(feature = "master")]
mod plugin_targets;
mod protobuf_targets;
pub mod rng;
pub mod runner;
mod services_targets;
mod text_targets;

pub use api_targets::{
    agent_command, agent_subscribe, executor_call, executor_event, executor_message, operator_call,
    plugin_report, scheduler_call, scheduler_event, status_update,
};
pub use auth_targets::{acls, authorization_header, credentials, tokens};
#[cfg(feature = "master")]
pub use master_targets::{
    master_agent_subscribe, master_operator, master_scheduler, master_status_update,
};
#[cfg(feature = "master")]
pub use plugin_targets::{manifest, manifest_section};
pub use protobuf_targets::protobuf_call;
pub use services_targets::{services_app, services_app_patch, services_group, services_timestamp};
pub use text_targets::{attributes, recordio, resources};

/// A named target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

macro_rules! targets {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {
        /// Every target built (the `master` feature adds the master's and the manifest's),
        /// by the name its corpus directory carries.
        pub const TARGETS: &[Target] = &[
            $($(#[$attr])* Target { name: stringify!($name), run: $name }),*
        ];
    };
}

targets![
    // The v1 JSON decoders: scheduler, operator, executor, and the master<->agent protocol.
    scheduler_call,
    scheduler_event,
    operator_call,
    executor_call,
    executor_event,
    agent_subscribe,
    agent_command,
    status_update,
    executor_message,
    plugin_report,
    // The same calls in protobuf.
    protobuf_call,
    // The same bodies through the master's core, with what it persists loaded back.
    #[cfg(feature = "master")]
    master_scheduler,
    #[cfg(feature = "master")]
    master_operator,
    #[cfg(feature = "master")]
    master_agent_subscribe,
    #[cfg(feature = "master")]
    master_status_update,
    // Framing and the agent's flags.
    recordio,
    resources,
    attributes,
    // Plugins.
    #[cfg(feature = "master")]
    manifest,
    #[cfg(feature = "master")]
    manifest_section,
    // Authentication and authorization.
    acls,
    credentials,
    tokens,
    authorization_header,
    // The services API (Marathon's apps and groups).
    services_app,
    services_app_patch,
    services_group,
    services_timestamp,
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}
