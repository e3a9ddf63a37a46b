//! A hook as the master and agent see it: one [`HookInstance`] per configured hook, fed WIT
//! types (wit/hook.wit), answering with decorations or a denial. The hook chain
//! (`hook_chain.rs`) runs the configured hooks in order.

use std::time::Duration;

use super::error::PluginError;
use super::plugin_kind::PluginLimits;
pub use corral_wit::hook::exports::corral::plugin::hook::{
    AgentDecoration, Decoration, LaunchDecision,
};
use corral_wit::types::{AgentInfo, EnvVar, FrameworkInfo, Label, TaskInfo, TaskStatus};

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
        task: &TaskInfo,
        framework: &FrameworkInfo,
    ) -> Result<LaunchDecision, PluginError>;
    fn on_run(&mut self, task: &TaskInfo) -> Result<Vec<EnvVar>, PluginError>;
    fn on_status(
        &mut self,
        task: &TaskInfo,
        status: &TaskStatus,
    ) -> Result<Vec<Label>, PluginError>;
    fn on_agent_register(&mut self, agent: &AgentInfo) -> Result<AgentDecoration, PluginError>;
}

/// Makes initialized hook instances: at start and after a poisoning error.
pub type HookFactory =
    std::sync::Arc<dyn Fn() -> Result<Box<dyn HookInstance>, PluginError> + Send + Sync>;
