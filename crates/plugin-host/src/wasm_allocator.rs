//! [`WasmAllocator`]: an [`AllocatorPolicy`] backed by one instance of an allocator
//! component, and [`AllocatorMaker`], which makes fresh instances for the factory.

use std::sync::Arc;

use super::allocator::{
    AgentSnapshot, Allocation, AllocatorPolicy, FrameworkSnapshot, Grant, Quota,
};
use super::answer_check::{check_grants, check_inspect};
use super::convert;
use super::error::PluginError;
use super::loaded::{LoadedPlugin, StoreMaker};
use super::plugin_kind::PluginLimits;
use super::sandbox::{PluginState, Sandbox};
use corral_wit::allocator::{AllocatorPlugin, AllocatorPluginPre};

/// Makes initialized allocator instances of one loaded component.
pub(crate) struct AllocatorMaker {
    stores: StoreMaker,
    name: Arc<str>,
    pre: AllocatorPluginPre<PluginState>,
    config: String,
    limits: PluginLimits,
}

impl AllocatorMaker {
    pub(crate) fn new(
        loaded: LoadedPlugin,
        config: String,
        limits: PluginLimits,
    ) -> Result<Self, PluginError> {
        let pre = AllocatorPluginPre::new(loaded.pre).map_err(|e| PluginError::Invalid {
            plugin: loaded.name.to_string(),
            reason: format!("its exports do not match the allocator interface: {e:#}"),
        })?;
        Ok(AllocatorMaker {
            stores: loaded.stores,
            name: loaded.name,
            pre,
            config,
            limits,
        })
    }

    /// A fresh instance, `init`ialized with the configuration.
    pub(crate) fn instantiate(&self) -> Result<WasmAllocator, PluginError> {
        let store = self.stores.store(&self.name, self.limits);
        let sandbox = Sandbox::instantiated(store, self.limits, |s| self.pre.instantiate(s))?
            .initialized(|b, s| b.corral_plugin_allocator().call_init(s, &self.config))?;
        Ok(WasmAllocator { sandbox })
    }
}

/// One allocator instance. Event calls that trap poison it (see [`PluginError`]); the master
/// then replays its state into a fresh one from the factory.
pub struct WasmAllocator {
    sandbox: Sandbox<AllocatorPlugin>,
}

impl AllocatorPolicy for WasmAllocator {
    fn name(&self) -> &str {
        self.sandbox.plugin()
    }

    fn add_agent(
        &mut self,
        agent: &AgentSnapshot,
        allocated: &[Allocation],
    ) -> Result<(), PluginError> {
        let agent = convert::agent_to_wit(agent);
        let allocated: Vec<_> = allocated.iter().map(convert::allocation_to_wit).collect();
        self.sandbox.call("add-agent", |b, s| {
            b.corral_plugin_allocator()
                .call_add_agent(s, &agent, &allocated)
        })
    }

    fn update_agent(&mut self, agent: &AgentSnapshot) -> Result<(), PluginError> {
        let agent = convert::agent_to_wit(agent);
        self.sandbox.call("update-agent", |b, s| {
            b.corral_plugin_allocator().call_update_agent(s, &agent)
        })
    }

    fn remove_agent(&mut self, agent_id: &str) -> Result<(), PluginError> {
        self.sandbox.call("remove-agent", |b, s| {
            b.corral_plugin_allocator().call_remove_agent(s, agent_id)
        })
    }

    fn add_framework(
        &mut self,
        framework: &FrameworkSnapshot,
        active: bool,
    ) -> Result<(), PluginError> {
        let framework = convert::framework_to_wit(framework);
        self.sandbox.call("add-framework", |b, s| {
            b.corral_plugin_allocator()
                .call_add_framework(s, &framework, active)
        })
    }

    fn update_framework(&mut self, framework: &FrameworkSnapshot) -> Result<(), PluginError> {
        let framework = convert::framework_to_wit(framework);
        self.sandbox.call("update-framework", |b, s| {
            b.corral_plugin_allocator()
                .call_update_framework(s, &framework)
        })
    }

    fn remove_framework(&mut self, framework_id: &str) -> Result<(), PluginError> {
        self.sandbox.call("remove-framework", |b, s| {
            b.corral_plugin_allocator()
                .call_remove_framework(s, framework_id)
        })
    }

    fn activate_framework(&mut self, framework_id: &str) -> Result<(), PluginError> {
        self.sandbox.call("activate-framework", |b, s| {
            b.corral_plugin_allocator()
                .call_activate_framework(s, framework_id)
        })
    }

    fn deactivate_framework(&mut self, framework_id: &str) -> Result<(), PluginError> {
        self.sandbox.call("deactivate-framework", |b, s| {
            b.corral_plugin_allocator()
                .call_deactivate_framework(s, framework_id)
        })
    }

    fn suppress(&mut self, framework_id: &str, roles: &[String]) -> Result<(), PluginError> {
        self.sandbox.call("suppress", |b, s| {
            b.corral_plugin_allocator()
                .call_suppress(s, framework_id, roles)
        })
    }

    fn revive(&mut self, framework_id: &str, roles: &[String]) -> Result<(), PluginError> {
        self.sandbox.call("revive", |b, s| {
            b.corral_plugin_allocator()
                .call_revive(s, framework_id, roles)
        })
    }

    fn recover(
        &mut self,
        agent_id: &str,
        framework_id: &str,
        resources: &[corral_api::v1::Resource],
        refuse_until_ms: Option<u64>,
    ) -> Result<(), PluginError> {
        let resources = convert::resources_to_wit(resources);
        self.sandbox.call("recover", |b, s| {
            b.corral_plugin_allocator().call_recover(
                s,
                agent_id,
                framework_id,
                &resources,
                refuse_until_ms,
            )
        })
    }

    fn update_allocation(
        &mut self,
        agent_id: &str,
        framework_id: &str,
        before: &[corral_api::v1::Resource],
        after: &[corral_api::v1::Resource],
    ) -> Result<(), PluginError> {
        let before = convert::resources_to_wit(before);
        let after = convert::resources_to_wit(after);
        self.sandbox.call("update-allocation", |b, s| {
            b.corral_plugin_allocator().call_update_allocation(
                s,
                agent_id,
                framework_id,
                &before,
                &after,
            )
        })
    }

    fn set_weight(&mut self, role: &str, weight: f64) -> Result<(), PluginError> {
        self.sandbox.call("set-weight", |b, s| {
            b.corral_plugin_allocator().call_set_weight(s, role, weight)
        })
    }

    fn set_quota(&mut self, quota: &Quota) -> Result<(), PluginError> {
        let quota = convert::quota_to_wit(quota);
        self.sandbox.call("set-quota", |b, s| {
            b.corral_plugin_allocator().call_set_quota(s, &quota)
        })
    }

    fn allocate(&mut self, now_ms: u64) -> Result<Vec<Grant>, PluginError> {
        let grants = self.sandbox.call("allocate", |b, s| {
            b.corral_plugin_allocator().call_allocate(s, now_ms)
        })?;
        check_grants(&grants).map_err(|m| self.sandbox.bad_answer("allocate", m))?;
        Ok(grants.iter().map(convert::grant_from_wit).collect())
    }

    fn inspect(&mut self) -> Result<String, PluginError> {
        let json = self.sandbox.call("inspect", |b, s| {
            b.corral_plugin_allocator().call_inspect(s)
        })?;
        check_inspect(&json).map_err(|m| self.sandbox.bad_answer("inspect", m))?;
        Ok(json)
    }
}
