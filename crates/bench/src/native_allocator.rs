//! [`NativeAllocator`]: an [`AllocatorPolicy`] over a plugin's Rust code compiled into the
//! host (an SDK [`Allocator`]), with no sandbox. It exists to measure what the WebAssembly
//! boundary costs (`corral bench allocator`) and to check that both builds of one plugin
//! agree; the master always runs policies as components.
//!
//! Resources cross the conversions a component's do (Mesos -> the plugin's types and back,
//! the same mapping as the plugin host's `convert.rs`), so the two paths differ only by the
//! sandbox and the canonical ABI copies.

use corral_sdk::allocator::Allocator;
use corral_sdk::types as sdk;

use corral_api::resources::{normalize, reservation_role};
use corral_api::v1;
use corral_plugin_host::allocator::{
    AgentSnapshot, Allocation, AllocatorPolicy, FrameworkSnapshot, Grant, Quota,
};
use corral_plugin_host::convert::attribute_text;
use corral_plugin_host::error::PluginError;

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
            .map(|g| Grant {
                agent_id: g.agent_id,
                framework_id: g.framework_id,
                role: g.role,
                resources: g.resources.iter().map(resource_from_sdk).collect(),
            })
            .collect())
    }

    fn inspect(&mut self) -> Result<String, PluginError> {
        Ok(self.policy.inspect())
    }
}

fn agent_to_sdk(agent: &AgentSnapshot) -> sdk::AgentInfo {
    sdk::AgentInfo {
        id: agent.id.clone(),
        hostname: agent.hostname.clone(),
        resources: resources_to_sdk(&agent.resources),
        attributes: agent
            .attributes
            .iter()
            .map(|a| sdk::Attribute {
                name: a.name.clone(),
                value: attribute_text(a),
            })
            .collect(),
    }
}

pub(crate) fn framework_to_sdk(framework: &FrameworkSnapshot) -> sdk::FrameworkInfo {
    sdk::FrameworkInfo {
        id: framework.id.clone(),
        name: framework.name.clone(),
        roles: framework.roles.clone(),
        capabilities: framework.capabilities.clone(),
        principal: framework.principal.clone(),
    }
}

/// Resources as a plugin sees them. TEXT resources, which Mesos never offers, are left out.
pub(crate) fn resources_to_sdk(list: &[v1::Resource]) -> Vec<sdk::Resource> {
    list.iter().filter_map(resource_to_sdk).collect()
}

fn resource_to_sdk(r: &v1::Resource) -> Option<sdk::Resource> {
    let value = match r.kind {
        v1::ValueType::Scalar => {
            sdk::ResourceValue::Scalar(r.scalar.as_ref().map_or(0.0, |s| s.value))
        }
        v1::ValueType::Ranges => sdk::ResourceValue::Ranges(
            r.ranges
                .iter()
                .flat_map(|x| &x.range)
                .map(|x| sdk::ValueRange {
                    begin: x.begin,
                    end: x.end,
                })
                .collect(),
        ),
        v1::ValueType::Set => {
            sdk::ResourceValue::Set(r.set.as_ref().map(|s| s.item.clone()).unwrap_or_default())
        }
        v1::ValueType::Text => return None,
    };
    Some(sdk::Resource {
        name: r.name.clone(),
        value,
        reservation: reservation_role(r).map(str::to_string),
        revocable: r.revocable.is_some(),
    })
}

/// A granted resource as a Mesos one: normalized, with a static reservation for a role.
fn resource_from_sdk(r: &sdk::Resource) -> v1::Resource {
    let mut out = v1::Resource {
        name: r.name.clone(),
        reservations: r
            .reservation
            .iter()
            .map(|role| v1::ReservationInfo {
                role: role.clone(),
                ..Default::default()
            })
            .collect(),
        revocable: r.revocable.then_some(v1::RevocableInfo {}),
        ..Default::default()
    };
    match &r.value {
        sdk::ResourceValue::Scalar(v) => {
            out.kind = v1::ValueType::Scalar;
            out.scalar = Some(v1::Scalar { value: *v });
        }
        sdk::ResourceValue::Ranges(ranges) => {
            out.kind = v1::ValueType::Ranges;
            out.ranges = Some(v1::Ranges {
                range: ranges
                    .iter()
                    .map(|x| v1::Range {
                        begin: x.begin,
                        end: x.end,
                    })
                    .collect(),
            });
        }
        sdk::ResourceValue::Set(items) => {
            out.kind = v1::ValueType::Set;
            out.set = Some(v1::Set {
                item: items.clone(),
            });
        }
    }
    normalize(out)
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
