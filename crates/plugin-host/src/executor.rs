//! The executor as the agent sees it: one [`ExecutorInstance`] per task, fed the task and
//! events, answering with actions for the agent to carry out (wit/executor.wit says what
//! each means). Host types: the adapter (`wasm_executor.rs`) converts to and from WIT.

use corral_api::v1;

use super::error::PluginError;
use super::health_check::HealthCheck;
use super::plugin_task::PluginTask;

pub trait ExecutorInstance: Send {
    fn plugin_name(&self) -> &str;
    fn launch(&mut self, task: &PluginTask) -> Result<Vec<Action>, PluginError>;
    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, PluginError>;
}

/// Makes one executor instance per task.
pub type ExecutorFactory =
    std::sync::Arc<dyn Fn() -> Result<Box<dyn ExecutorInstance>, PluginError> + Send + Sync>;

/// Process, timer and check ids are chosen by the plugin and are local to the task.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Spawn(SpawnProcess),
    SendStatus(Status),
    Signal(SendSignal),
    SetTimer(Timer),
    CancelTimer(u32),
    Check(RunCheck),
    /// The task is over: release the instance after carrying out the answer's other actions.
    Done,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpawnProcess {
    pub id: u32,
    pub command: v1::CommandInfo,
}

/// A status update for the task, from the executor.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: v1::TaskState,
    pub message: Option<String>,
    /// A Mesos reason name such as "REASON_COMMAND_EXECUTOR_FAILED".
    pub reason: Option<String>,
    pub healthy: Option<bool>,
    /// `None` when there are none, as Mesos leaves them out.
    pub labels: Option<v1::Labels>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendSignal {
    pub id: u32,
    /// A POSIX signal number, sent to the process's group.
    pub signal: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    pub id: u32,
    pub after_ms: u64,
}

/// One attempt of a health check; the host answers with [`Event::CheckFinished`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunCheck {
    pub id: u32,
    pub check: HealthCheck,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Exited(ProcessExit),
    SpawnFailed(SpawnFailure),
    TimerFired(u32),
    /// The framework or operator asked to kill the task; the grace period in milliseconds.
    Kill(u64),
    CheckFinished(CheckResult),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessExit {
    pub id: u32,
    /// The exit code, when the process exited by itself.
    pub code: Option<i32>,
    /// The signal that ended it, when it was killed.
    pub signal: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnFailure {
    pub id: u32,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub id: u32,
    pub healthy: bool,
    pub message: String,
}
