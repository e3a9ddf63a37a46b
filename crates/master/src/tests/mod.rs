//! Tests of the master: the core driven in-process with a simulated clock and a native test
//! allocator (`core_*`), and the HTTP API against a real master on a free port (`http_*`).

mod harness;
mod test_allocator;

mod core_accept;
mod core_agent_principals;
mod core_agent_schemes;
mod core_agents;
mod core_allocator;
mod core_executor_messages;
mod core_frameworks;
mod core_hooks;
mod core_hot_swap;
mod core_offers;
mod core_operator_events;
mod core_partitions;
mod core_reservations;
mod core_roles;
mod core_tasks;
mod core_v0_state;
mod shell_operator;
mod view_filters;

mod http_client;

mod http_agents;
mod http_cluster_url;
mod http_hooks;
mod http_operator;
mod http_operator_actions;
mod http_plugin_fanout;
mod http_plugins;
mod http_protobuf;
mod http_roles;
mod http_scheduler;
