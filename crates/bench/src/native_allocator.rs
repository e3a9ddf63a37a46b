//! [`NativeAllocator`]: an [`AllocatorPolicy`] over a plugin's Rust code compiled into the
//! host (an SDK [`Allocator`]), with no sandbox. It exists to measure what the WebAssembly
//! boundary costs (`corral bench allocator`) and to check that both builds of one plugin
//! agree; the master always runs policies as components.
//!
//! Resources cross the same conversions as for a component (Mesos -> WIT types -> SDK types
//! and back), so the two paths differ only by the sandbox and the canonical ABI copies.

use corral_sdk::allocator::Allocator;
use corral_sdk::types as sdk;

use corral_api::v1;
use corral_plugin_host::allocator::{
    AgentSnapshot, Allocation, AllocatorPolicy, FrameworkSnapshot, Grant, Quota,
};
use corral_plugin_host::convert;
use corral_plugin_host::error::PluginError;
use corral_wit::allocator::exports::corral::plugin::allocator as wit_alloc;
use corral_wit::types as wit;

/// One native policy instance. Its calls cannot fail: a panic in the plugin is a host panic.
pub struct NativeAllocator<A> {
    name: String,
    policy: A,
}

impl<A: Allocator> NativeAllocator<A> {
    /// `init`s `policy` with `config`; the plugin's refusal is an error, as for a component.
    pub fn new(name: &str, mut policy: A, config: &str) -> Result<Self, PluginError> {
        policy
            .init(config.to_string())
            .map_err(|message| PluginError::Failed {
                plugin: name.to_string(),
                call: "init".to_string(),
                message,
            })?;
        Ok(NativeAllocator {
            name: name.to_string(),
            policy,
        })
    }
}

impl<A: Allocator + Send> AllocatorPolicy for NativeAllocator<A> {
    fn name(&self) -> &str {
        &self.name
    }

    fn add_agent(
        &mut self,
        agent: &AgentSnapshot,
        allocated: &[Allocation],
    ) -> Result<(), PluginError> {
        let allocated = allocated
            .iter()
            .map(|a| corral_sdk::allocator::Allocation {
                framework_id: a.framework_id.clone(),
                role: a.role.clone(),
                resources: resources_to_sdk(&a.resources),
            })
            .collect();
        self.policy.add_agent(agent_to_sdk(agent), allocated);
        Ok(())
    }

    fn update_agent(&mut self, agent: &AgentSnapshot) -> Result<(), PluginError> {
        self.policy.update_agent(agent_to_sdk(agent));
        Ok(())
    }

    fn remove_agent(&mut self, agent_id: &str) -> Result<(), PluginError> {
        self.policy.remove_agent(agent_id.to_string());
        Ok(())
    }

    fn add_framework(
        &mut self,
        framework: &FrameworkSnapshot,
        active: bool,
    ) -> Result<(), PluginError> {
        self.policy
            .add_framework(framework_to_sdk(framework), active);
        Ok(())
    }

    fn update_framework(&mut self, framework: &FrameworkSnapshot) -> Result<(), PluginError> {
        self.policy.update_framework(framework_to_sdk(framework));
        Ok(())
    }

    fn remove_framework(&mut self, framework_id: &str) -> Result<(), PluginError> {
        self.policy.remove_framework(framework_id.to_string());
        Ok(())
    }

    fn activate_framework(&mut self, framework_id: &str) -> Result<(), PluginError> {
        self.policy.activate_framework(framework_id.to_string());
        Ok(())
    }

    fn deactivate_framework(&mut self, framework_id: &str) -> Result<(), PluginError> {
        self.policy.deactivate_framework(framework_id.to_string());
        Ok(())
    }

    fn suppress(&mut self, framework_id: &str, roles: &[String]) -> Result<(), PluginError> {
        self.policy
            .suppress(framework_id.to_string(), roles.to_vec());
        Ok(())
    }

    fn revive(&mut self, framework_id: &str, roles: &[String]) -> Result<(), PluginError> {
        self.policy.revive(framework_id.to_string(), roles.to_vec());
        Ok(())
    }

    fn recover(
        &mut self,
        agent_id: &str,
        framework_id: &str,
        resources: &[v1::Resource],
        refuse_until_ms: Option<u64>,
    ) -> Result<(), PluginError> {
        self.policy.recover(
            agent_id.to_string(),
            framework_id.to_string(),
            resources_to_sdk(resources),
            refuse_until_ms,
        );
        Ok(())
    }

    fn update_allocation(
        &mut self,
        agent_id: &str,
        framework_id: &str,
        before: &[v1::Resource],
        after: &[v1::Resource],
    ) -> Result<(), PluginError> {
        self.policy.update_allocation(
            agent_id.to_string(),
            framework_id.to_string(),
            resources_to_sdk(before),
            resources_to_sdk(after),
        );
        Ok(())
    }

    fn set_weight(&mut self, role: &str, weight: f64) -> Result<(), PluginError> {
        self.policy.set_weight(role.to_string(), weight);
        Ok(())
    }

    fn set_quota(&mut self, quota: &Quota) -> Result<(), PluginError> {
        self.policy.set_quota(corral_sdk::allocator::Quota {
            role: quota.role.clone(),
            guarantees: resources_to_sdk(&quota.guarantees),
            limits: resources_to_sdk(&quota.limits),
        });
        Ok(())
    }

    fn allocate(&mut self, now_ms: u64) -> Result<Vec<Grant>, PluginError> {
        let grants = self.policy.allocate(now_ms);
        Ok(grants
            .into_iter()
            .map(|g| {
                convert::grant_from_wit(&wit_alloc::Grant {
                    agent_id: g.agent_id,
                    framework_id: g.framework_id,
                    role: g.role,
                    resources: g.resources.into_iter().map(resource_to_wit).collect(),
                })
            })
            .collect())
    }

    fn inspect(&mut self) -> Result<String, PluginError> {
        Ok(self.policy.inspect())
    }
}

fn agent_to_sdk(agent: &AgentSnapshot) -> sdk::AgentInfo {
    let agent = convert::agent_to_wit(agent);
    sdk::AgentInfo {
        id: agent.id,
        hostname: agent.hostname,
        resources: agent.resources.into_iter().map(resource_to_sdk).collect(),
        attributes: agent
            .attributes
            .into_iter()
            .map(|a| sdk::Attribute {
                name: a.name,
                value: a.value,
            })
            .collect(),
    }
}

fn framework_to_sdk(framework: &FrameworkSnapshot) -> sdk::FrameworkInfo {
    sdk::FrameworkInfo {
        id: framework.id.clone(),
        name: framework.name.clone(),
        roles: framework.roles.clone(),
        capabilities: framework.capabilities.clone(),
        principal: framework.principal.clone(),
    }
}

fn resources_to_sdk(list: &[v1::Resource]) -> Vec<sdk::Resource> {
    convert::resources_to_wit(list)
        .into_iter()
        .map(resource_to_sdk)
        .collect()
}

/// The host's and the SDK's bindings are two Rust types for one WIT type.
fn resource_to_sdk(r: wit::Resource) -> sdk::Resource {
    sdk::Resource {
        name: r.name,
        value: match r.value {
            wit::ResourceValue::Scalar(v) => sdk::ResourceValue::Scalar(v),
            wit::ResourceValue::Ranges(ranges) => sdk::ResourceValue::Ranges(
                ranges
                    .into_iter()
                    .map(|x| sdk::ValueRange {
                        begin: x.begin,
                        end: x.end,
                    })
                    .collect(),
            ),
            wit::ResourceValue::Set(items) => sdk::ResourceValue::Set(items),
        },
        reservation: r.reservation,
        revocable: r.revocable,
    }
}

fn resource_to_wit(r: sdk::Resource) -> wit::Resource {
    wit::Resource {
        name: r.name,
        value: match r.value {
            sdk::ResourceValue::Scalar(v) => wit::ResourceValue::Scalar(v),
            sdk::ResourceValue::Ranges(ranges) => wit::ResourceValue::Ranges(
                ranges
                    .into_iter()
                    .map(|x| wit::ValueRange {
                        begin: x.begin,
                        end: x.end,
                    })
                    .collect(),
            ),
            sdk::ResourceValue::Set(items) => wit::ResourceValue::Set(items),
        },
        reservation: r.reservation,
        revocable: r.revocable,
    }
}

/// A built-in policy's code compiled into the host, with its default configuration.
pub fn native(policy: &str) -> Option<Box<dyn AllocatorPolicy>> {
    fn boxed<A: corral_sdk::allocator::Allocator + Send + 'static>(
        name: &str,
        policy: A,
    ) -> Option<Box<dyn AllocatorPolicy>> {
        NativeAllocator::new(name, policy, "")
            .ok()
            .map(|p| Box::new(p) as Box<dyn AllocatorPolicy>)
    }
    match policy {
        "drf" => boxed(policy, drf_core::Drf::default()),
        "priority" => boxed(policy, priority_core::Priority::default()),
        "binpack" => boxed(policy, binpack_core::Binpack::default()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "native_allocator_tests.rs"]
mod tests;
