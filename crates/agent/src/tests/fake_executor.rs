//! An executor instance that behaves like the command executor: launch spawns and reports
//! starting and running; an exit is finished or failed; a kill sends SIGTERM and sets a
//! timer that sends SIGKILL. Task names choose misbehaviours.

use std::sync::Arc;

use corral_api::v1::TaskState;
use corral_plugin_host::executor::{
    Action, Event, ExecutorFactory, ExecutorInstance, SendSignal, SpawnProcess, Status, Timer,
};
use corral_plugin_host::{PluginError, PluginTask};

pub const PLUGIN: &str = "fake-command";
/// Task names that make the instance misbehave.
pub const TRAP_ON_LAUNCH: &str = "trap-on-launch";
pub const FAIL_ON_KILL: &str = "fail-on-kill";
pub const DONE_WITHOUT_STATUS: &str = "done-without-status";

#[derive(Default)]
pub struct FakeCommandExecutor {
    name: String,
    killing: bool,
}

pub fn factory() -> ExecutorFactory {
    Arc::new(|| Ok(Box::new(FakeCommandExecutor::default()) as Box<dyn ExecutorInstance>))
}

fn status(state: TaskState, message: Option<String>) -> Action {
    Action::SendStatus(Status {
        state,
        message,
        reason: None,
        healthy: None,
        labels: None,
    })
}

impl ExecutorInstance for FakeCommandExecutor {
    fn plugin_name(&self) -> &str {
        PLUGIN
    }

    fn launch(&mut self, task: &PluginTask) -> Result<Vec<Action>, PluginError> {
        let task = &task.info;
        self.name = task.name.clone();
        match task.name.as_str() {
            TRAP_ON_LAUNCH => {
                return Err(PluginError::Trap {
                    plugin: PLUGIN.into(),
                    call: "launch".into(),
                    message: "wasm trap: unreachable".into(),
                });
            }
            DONE_WITHOUT_STATUS => return Ok(vec![Action::Done]),
            _ => {}
        }
        let Some(command) = task.command.clone() else {
            return Ok(vec![
                status(TaskState::TaskFailed, Some("no command".into())),
                Action::Done,
            ]);
        };
        Ok(vec![
            Action::Spawn(SpawnProcess { id: 1, command }),
            status(TaskState::TaskStarting, None),
            status(TaskState::TaskRunning, None),
        ])
    }

    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, PluginError> {
        match event {
            Event::Exited(exit) => {
                let (state, message) = match (self.killing, exit.code) {
                    (true, _) => (TaskState::TaskKilled, "Command terminated".to_string()),
                    (false, Some(0)) => (
                        TaskState::TaskFinished,
                        "Command exited with status 0".into(),
                    ),
                    (false, Some(code)) => (
                        TaskState::TaskFailed,
                        format!("Command exited with status {code}"),
                    ),
                    (false, None) => (
                        TaskState::TaskFailed,
                        format!("Command terminated with signal {:?}", exit.signal),
                    ),
                };
                Ok(vec![status(state, Some(message)), Action::Done])
            }
            Event::SpawnFailed(failure) => Ok(vec![
                status(TaskState::TaskFailed, Some(failure.message.clone())),
                Action::Done,
            ]),
            Event::Kill(grace_ms) => {
                if self.name == FAIL_ON_KILL {
                    return Err(PluginError::Failed {
                        plugin: PLUGIN.into(),
                        call: "on-event".into(),
                        message: "kill handling is broken".into(),
                    });
                }
                self.killing = true;
                Ok(vec![
                    Action::Signal(SendSignal { id: 1, signal: 15 }),
                    Action::SetTimer(Timer {
                        id: 1,
                        after_ms: *grace_ms,
                    }),
                ])
            }
            Event::TimerFired(_) => Ok(vec![Action::Signal(SendSignal { id: 1, signal: 9 })]),
            Event::CheckFinished(_) => Ok(vec![]),
        }
    }
}
