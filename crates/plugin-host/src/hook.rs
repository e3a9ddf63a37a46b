//! A hook as the master and agent see it: one [`HookInstance`] per configured hook, fed the
//! task, framework, agent or status it is about, answering with decorations or a denial
//! (wit/hook.wit). Host types: the adapter (`wasm_hook.rs`) converts to and from WIT. The
//! hook chain (`hook_chain.rs`) runs the configured hooks in order.

use std::time::Duration;

use corral_api::v1;

use super::allocator::{AgentSnapshot, FrameworkSnapshot};
use super::error::PluginError;
use super::plugin_kind::PluginLimits;
use super::plugin_task::PluginTask;

/// Hook defaults: a hook sits on the launch and status paths, so it must answer fast.
pub const HOOK_LIMITS: PluginLimits = PluginLimits {
    call_deadline: Duration::from_millis(100),
    memory_bytes: 32 << 20,
};

/// One hook instance. Mirrors the WIT `hook` interface. After an error for which
/// [`PluginError::poisons_instance`] is true the instance must be replaced.
pub trait HookInstance: Send {
    fn plugin_name(&self) -> &str;
    fn on_launch(
        &mut self,
        task: &PluginTask,
        framework: &FrameworkSnapshot,
    ) -> Result<LaunchDecision, PluginError>;
    fn on_run(&mut self, task: &PluginTask) -> Result<Vec<v1::EnvironmentVariable>, PluginError>;
    fn on_status(
        &mut self,
        task: &PluginTask,
        status: &v1::TaskStatus,
    ) -> Result<Vec<v1::Label>, PluginError>;
    fn on_agent_register(&mut self, agent: &AgentSnapshot) -> Result<AgentDecoration, PluginError>;
}

/// Makes initialized hook instances: at start and after a poisoning error.
pub type HookFactory =
    std::sync::Arc<dyn Fn() -> Result<Box<dyn HookInstance>, PluginError> + Send + Sync>;

/// Labels and environment to set on a task. A key already present is replaced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decoration {
    pub labels: Vec<v1::Label>,
    pub environment: Vec<v1::EnvironmentVariable>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LaunchDecision {
    Allow(Decoration),
    /// Refuse the task; the framework receives TASK_ERROR with this reason as message.
    Deny(String),
}

/// What to add to a registering agent: resources, and text attributes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentDecoration {
    pub resources: Vec<v1::Resource>,
    pub attributes: Vec<v1::Attribute>,
}
