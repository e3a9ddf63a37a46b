//! The master: frameworks, agents, offers, tasks and the allocation loop.
//!
//! The flow:
//! - `core.rs` is a state machine (`MasterCore`): HTTP calls, agent messages and
//!   timers go in with an explicit `now`; effects come out (events for framework streams,
//!   commands for agent streams, registry writes) and allocator events are queued.
//!   Its methods are split by concern: `frameworks.rs`, `agents.rs`, `offers.rs`,
//!   `accept.rs` (+ `accept_plan.rs`, `task_validation.rs`), `tasks.rs`, `calls.rs`,
//!   `views.rs`, `partitions.rs`, `gone.rs`, `reservations.rs`, `roles.rs`, `quota.rs`,
//!   `executor_messages.rs`, `operator_actions.rs` (TEARDOWN and KILL_TASK from operators);
//!   `mesos_metrics.rs` reads it for GET_METRICS. It refuses calls with a `CoreError`, does no I/O and runs no
//!   plugin: hook verdicts come in as data.
//! - `allocation.rs` (+ `hot_swap.rs`) owns the policy instance: each cycle it applies the
//!   queued events (or replays the whole state into a fresh instance after a poisoning
//!   error) and calls `allocate`; `offers.rs` checks every grant against the master's own
//!   accounting before it becomes an offer.
//! - `shell.rs` is the thin async layer: one lock over the core and the stream outlets,
//!   effect dispatch, the allocation loop (every interval and soon after changes) and the
//!   timer. Nothing slow runs under the lock: an allocation cycle takes its input in one
//!   critical section and hands the grants back in another, and the hooks run the same way
//!   around ACCEPT and agent registration (`hook_calls.rs`). `agent_pings.rs` pings agents
//!   and hands the silent ones to the core; `registry.rs` reads and writes the StateStore.
//! - `streams.rs`, `scheduler_api.rs`, `operator_api.rs`, `agent_api.rs`, `plugins_api.rs`,
//!   `plugin_fanout.rs` and `router.rs` are the HTTP surface; handlers return
//!   `Result<_, ApiError>`, and `http_error.rs` is the one place a `CoreError` becomes a
//!   status code. `start.rs` starts a single master, `leader.rs` an elected one.
//!
//! # Layers, bottom-up
//!
//! Each file imports only files of its own layer or of the layers below it, and no file
//! reaches itself through its imports:
//!
//! 1. Plain data and pure rules, importing nothing above: `effects.rs`,
//!    `allocator_events.rs`, `allocator_status.rs`, `core_error.rs`, `hook_verdicts.rs`,
//!    `registry_records.rs`, `partition_state.rs`, `reservation_plan.rs`, `role_rules.rs`,
//!    `quota_config.rs`, `task_validation.rs`, `container_validation.rs`, `probation.rs`,
//!    `upstreams.rs`, `view_filter.rs` (what a caller may view, asked of the authorizer)
//!    and `v0_view_filter.rs` (the same for v0's JSON).
//! 2. The core: `core.rs` (the state), and the files of `impl MasterCore` listed above
//!    (with `operator_events.rs`, the events for operator API subscribers, and `v0_state.rs`,
//!    the state in Mesos' v0 shapes, with `corral_api::v0`'s models),
//!    which import `core.rs` and layer 1 (`core.rs` imports layer 1 only). Beside it, the
//!    allocator driver: `allocation.rs`, `hot_swap.rs`.
//! 3. The shell: `shell.rs` (with `plugin_platform.rs`, `plugin_reports.rs`),
//!    `allocator_swap.rs`, `hook_calls.rs`, `agent_pings.rs` (with `agent_clients.rs`, its
//!    and the gateway's http and https clients for agents), `registry.rs`.
//! 4. HTTP: `http_error.rs`, `redirect.rs`, `streams.rs`, `operator_stream.rs` (the operator
//!    API's SUBSCRIBE), the `*_api.rs` files (`v0_api.rs`: Mesos' v0 endpoints;
//!    `dcos_api.rs`: DC/OS' cluster metadata; `gateway.rs`: its proxies to services, agents
//!    and the DNS component), `prometheus_metrics.rs` (`/metrics`), `plugin_fanout.rs`,
//!    `router.rs`; `agent_ips.rs` (agent hostnames resolved for the v0
//!    state, remembered for a minute).
//! 5. Starting: `config.rs`, `handle.rs`, `start.rs`, `leader.rs`.

mod accept;
mod accept_plan;
mod agent_api;
mod agent_clients;
mod agent_ips;
mod agent_pings;
mod agents;
pub mod allocation;
pub mod allocator_events;
pub mod allocator_status;
mod allocator_swap;
mod auth_realms;
pub mod authorization;
mod authorizer_plugin;
mod authorizers;
mod calls;
mod config;
mod container_validation;
pub mod core;
pub mod core_error;
mod dcos_api;
pub mod effects;
mod executor_messages;
mod frameworks;
mod gateway;
mod gone;
mod handle;
mod hook_calls;
pub mod hook_verdicts;
pub mod hot_swap;
mod http_error;
pub mod leader;
mod mesos_metrics;
mod offers;
mod operator_actions;
mod operator_api;
mod operator_events;
mod operator_stream;
pub mod partition_state;
pub mod partitions;
pub mod plugin_consent;
mod plugin_fanout;
mod plugin_platform;
mod plugin_reports;
mod plugin_uploads;
mod plugins_api;
mod probation;
mod prometheus_metrics;
mod quota;
mod quota_config;
mod redirect;
pub mod registry;
pub mod registry_records;
mod reservation_plan;
mod reservations;
pub mod role_rules;
pub mod roles;
mod router;
mod scheduler_api;
pub mod shell;
mod start;
mod streams;
mod task_validation;
mod tasks;
mod upstreams;
mod v0_api;
mod v0_state;
mod v0_view_filter;
mod view_filter;
mod views;

#[cfg(test)]
mod tests;

pub use agent_pings::PartitionConfig;
pub use agents::AgentAdmission;
pub use calls::CallOutcome;
pub use config::{MasterConfig, MasterError};
pub use corral_state::StateSpec;
pub use handle::MasterHandle;
pub use start::{run, run_with, run_with_engine};
pub use upstreams::Upstreams;
pub use v0_view_filter::state_for as filter_v0_state;
