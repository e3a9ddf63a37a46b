//! The executor as the agent sees it: one [`ExecutorInstance`] per task, fed the WIT
//! `task-info` and events, answering with WIT actions for the agent to carry out.

use super::error::PluginError;
pub use corral_wit::executor::exports::corral::plugin::executor::{
    Action, CheckResult, Event, ProcessExit, RunCheck, SendSignal, SpawnFailure, SpawnProcess,
    Status, Timer,
};
use corral_wit::types::TaskInfo;

pub trait ExecutorInstance: Send {
    fn plugin_name(&self) -> &str;
    fn launch(&mut self, task: &TaskInfo) -> Result<Vec<Action>, PluginError>;
    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, PluginError>;
}

/// Makes one executor instance per task.
pub type ExecutorFactory =
    std::sync::Arc<dyn Fn() -> Result<Box<dyn ExecutorInstance>, PluginError> + Send + Sync>;
