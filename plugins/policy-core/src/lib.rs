//! The allocation engine shared by Corral's allocators. [`Cluster`] keeps the state the host's
//! events describe (agents and frameworks interned to indexes, incremental shares, the role
//! tree with weights and quota, refuse filters by agent); [`cycle::run`] makes one
//! allocation cycle given a policy's agent order and candidate [`cycle::Order`].
//!
//! A policy is a type holding a `cluster: Cluster` with three inherent methods,
//! `configure(&mut self, &str) -> Result<(), String>`, `cycle(&mut self, u64) -> Vec<Grant>`
//! and `view(&self) -> String`; [`policy_allocator!`] implements the SDK's `Allocator` on it,
//! sending every event to the cluster.

pub mod cluster;
pub mod cycle;
pub mod filters;
pub mod inspect;
pub mod options;
pub mod roles;
pub mod scalars;

pub use cluster::{AgentIx, Cluster, FwIx};
pub use cycle::{CycleSpec, Order, QuotaView};
pub use options::Options;
pub use roles::RoleIx;

/// Implements `corral_sdk::allocator::Allocator` for a policy type (see the crate docs).
#[macro_export]
macro_rules! policy_allocator {
    ($policy:ty, $name:literal) => {
        impl ::corral_sdk::allocator::Allocator for $policy {
            fn init(&mut self, config: String) -> Result<(), String> {
                self.configure(&config)
            }
            fn add_agent(
                &mut self,
                agent: ::corral_sdk::types::AgentInfo,
                allocated: Vec<::corral_sdk::allocator::Allocation>,
            ) {
                self.cluster.add_agent(agent, allocated)
            }
            fn update_agent(&mut self, agent: ::corral_sdk::types::AgentInfo) {
                self.cluster.update_agent(agent)
            }
            fn remove_agent(&mut self, agent_id: String) {
                self.cluster.remove_agent(&agent_id)
            }
            fn add_framework(
                &mut self,
                framework: ::corral_sdk::types::FrameworkInfo,
                active: bool,
            ) {
                self.cluster.add_framework(framework, active)
            }
            fn update_framework(&mut self, framework: ::corral_sdk::types::FrameworkInfo) {
                self.cluster.update_framework(framework)
            }
            fn remove_framework(&mut self, framework_id: String) {
                self.cluster.remove_framework(&framework_id)
            }
            fn activate_framework(&mut self, framework_id: String) {
                self.cluster.set_active(&framework_id, true)
            }
            fn deactivate_framework(&mut self, framework_id: String) {
                self.cluster.set_active(&framework_id, false)
            }
            fn suppress(&mut self, framework_id: String, roles: Vec<String>) {
                self.cluster.suppress(&framework_id, roles)
            }
            fn revive(&mut self, framework_id: String, roles: Vec<String>) {
                self.cluster.revive(&framework_id, roles)
            }
            fn recover(
                &mut self,
                agent_id: String,
                framework_id: String,
                resources: Vec<::corral_sdk::types::Resource>,
                refuse_until: Option<u64>,
            ) {
                self.cluster
                    .recover(&agent_id, &framework_id, resources, refuse_until)
            }
            fn update_allocation(
                &mut self,
                agent_id: String,
                framework_id: String,
                before: Vec<::corral_sdk::types::Resource>,
                after: Vec<::corral_sdk::types::Resource>,
            ) {
                self.cluster
                    .update_allocation(&agent_id, &framework_id, before, after)
            }
            fn set_weight(&mut self, role: String, weight: f64) {
                self.cluster.set_weight($name, &role, weight)
            }
            fn set_quota(&mut self, quota: ::corral_sdk::allocator::Quota) {
                self.cluster.set_quota(quota)
            }
            fn allocate(&mut self, now: u64) -> Vec<::corral_sdk::allocator::Grant> {
                self.cycle(now)
            }
            fn inspect(&mut self) -> String {
                self.view()
            }
        }
    };
}
