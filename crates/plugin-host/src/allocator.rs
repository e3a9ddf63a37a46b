//! The allocator as the master sees it: [`AllocatorPolicy`], with host types (Mesos
//! resources) in and out. [`WasmAllocator`] implements it over a component instance.

use corral_api::v1::{Attribute, Resource};

use super::error::PluginError;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentSnapshot {
    pub id: String,
    pub hostname: String,
    /// Total resources of the agent.
    pub resources: Vec<Resource>,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrameworkSnapshot {
    pub id: String,
    pub name: String,
    pub roles: Vec<String>,
    pub capabilities: Vec<String>,
    pub principal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Allocation {
    pub framework_id: String,
    pub role: String,
    pub resources: Vec<Resource>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grant {
    pub agent_id: String,
    pub framework_id: String,
    pub role: String,
    pub resources: Vec<Resource>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quota {
    pub role: String,
    pub guarantees: Vec<Resource>,
    pub limits: Vec<Resource>,
}

/// One allocation policy instance. Mirrors the WIT `allocator` interface (see
/// wit/allocator.wit for the meaning of each call). After an error for which
/// [`PluginError::poisons_instance`] is true the instance must be replaced.
pub trait AllocatorPolicy: Send {
    fn name(&self) -> &str;
    fn add_agent(
        &mut self,
        agent: &AgentSnapshot,
        allocated: &[Allocation],
    ) -> Result<(), PluginError>;
    fn update_agent(&mut self, agent: &AgentSnapshot) -> Result<(), PluginError>;
    fn remove_agent(&mut self, agent_id: &str) -> Result<(), PluginError>;
    fn add_framework(
        &mut self,
        framework: &FrameworkSnapshot,
        active: bool,
    ) -> Result<(), PluginError>;
    fn update_framework(&mut self, framework: &FrameworkSnapshot) -> Result<(), PluginError>;
    fn remove_framework(&mut self, framework_id: &str) -> Result<(), PluginError>;
    fn activate_framework(&mut self, framework_id: &str) -> Result<(), PluginError>;
    fn deactivate_framework(&mut self, framework_id: &str) -> Result<(), PluginError>;
    fn suppress(&mut self, framework_id: &str, roles: &[String]) -> Result<(), PluginError>;
    fn revive(&mut self, framework_id: &str, roles: &[String]) -> Result<(), PluginError>;
    fn recover(
        &mut self,
        agent_id: &str,
        framework_id: &str,
        resources: &[Resource],
        refuse_until_ms: Option<u64>,
    ) -> Result<(), PluginError>;
    fn update_allocation(
        &mut self,
        agent_id: &str,
        framework_id: &str,
        before: &[Resource],
        after: &[Resource],
    ) -> Result<(), PluginError>;
    fn set_weight(&mut self, role: &str, weight: f64) -> Result<(), PluginError>;
    fn set_quota(&mut self, quota: &Quota) -> Result<(), PluginError>;
    fn allocate(&mut self, now_ms: u64) -> Result<Vec<Grant>, PluginError>;
    fn inspect(&mut self) -> Result<String, PluginError>;
}

/// Makes fresh policy instances: at start, after a poisoning error, and on hot swap.
pub type AllocatorFactory =
    std::sync::Arc<dyn Fn() -> Result<Box<dyn AllocatorPolicy>, PluginError> + Send + Sync>;
