//! Conversions of the executor interface (wit/executor.wit): the plugin's actions into the
//! host's, and the host's events into WIT. Actions are converted after `answer_check` has
//! accepted them.

use corral_wit::executor::exports::corral::plugin::executor as wit_exec;

use super::convert::{labels_from_wit, task_state_from_wit};
use super::convert_task::{command_from_wit, health_check_from_wit};
use super::executor::{
    Action, CheckResult, Event, ProcessExit, RunCheck, SendSignal, SpawnFailure, SpawnProcess,
    Status, Timer,
};

pub(crate) fn action_from_wit(action: wit_exec::Action) -> Action {
    match action {
        wit_exec::Action::Spawn(spawn) => Action::Spawn(SpawnProcess {
            id: spawn.id,
            command: command_from_wit(spawn.command),
        }),
        wit_exec::Action::SendStatus(status) => Action::SendStatus(Status {
            state: task_state_from_wit(status.state),
            message: status.message,
            reason: status.reason,
            healthy: status.healthy,
            labels: labels_from_wit(&status.labels),
        }),
        wit_exec::Action::Signal(s) => Action::Signal(SendSignal {
            id: s.id,
            signal: s.signal,
        }),
        wit_exec::Action::SetTimer(t) => Action::SetTimer(Timer {
            id: t.id,
            after_ms: t.after_ms,
        }),
        wit_exec::Action::CancelTimer(id) => Action::CancelTimer(id),
        wit_exec::Action::Check(run) => Action::Check(RunCheck {
            id: run.id,
            check: health_check_from_wit(run.check),
        }),
        wit_exec::Action::Done => Action::Done,
    }
}

pub(crate) fn event_to_wit(event: &Event) -> wit_exec::Event {
    match event {
        Event::Exited(ProcessExit { id, code, signal }) => {
            wit_exec::Event::Exited(wit_exec::ProcessExit {
                id: *id,
                code: *code,
                signal: *signal,
            })
        }
        Event::SpawnFailed(SpawnFailure { id, message }) => {
            wit_exec::Event::SpawnFailed(wit_exec::SpawnFailure {
                id: *id,
                message: message.clone(),
            })
        }
        Event::TimerFired(id) => wit_exec::Event::TimerFired(*id),
        Event::Kill(grace_ms) => wit_exec::Event::Kill(*grace_ms),
        Event::CheckFinished(CheckResult {
            id,
            healthy,
            message,
        }) => wit_exec::Event::CheckFinished(wit_exec::CheckResult {
            id: *id,
            healthy: *healthy,
            message: message.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::v1;
    use corral_wit::types as wit;

    #[test]
    fn a_status_action_carries_the_mesos_state_and_labels() {
        let action = action_from_wit(wit_exec::Action::SendStatus(wit_exec::Status {
            state: wit::TaskState::Failed,
            message: Some("m".into()),
            reason: Some("REASON_COMMAND_EXECUTOR_FAILED".into()),
            healthy: Some(false),
            labels: vec![wit::Label {
                key: "k".into(),
                value: "v".into(),
            }],
        }));
        let Action::SendStatus(status) = action else {
            panic!("a status: {action:?}");
        };
        assert_eq!(status.state, v1::TaskState::TaskFailed);
        assert_eq!(status.healthy, Some(false));
        let labels = status.labels.expect("labels");
        assert_eq!(labels.labels[0].value.as_deref(), Some("v"));
        let quiet = action_from_wit(wit_exec::Action::SendStatus(wit_exec::Status {
            state: wit::TaskState::Running,
            message: None,
            reason: None,
            healthy: None,
            labels: vec![],
        }));
        assert!(matches!(
            quiet,
            Action::SendStatus(Status { labels: None, .. })
        ));
    }

    #[test]
    fn the_other_actions_keep_their_ids_and_values() {
        let signal = wit_exec::Action::Signal(wit_exec::SendSignal { id: 1, signal: 15 });
        assert_eq!(
            action_from_wit(signal),
            Action::Signal(SendSignal { id: 1, signal: 15 })
        );
        let timer = wit_exec::Action::SetTimer(wit_exec::Timer {
            id: 2,
            after_ms: 500,
        });
        assert_eq!(
            action_from_wit(timer),
            Action::SetTimer(Timer {
                id: 2,
                after_ms: 500
            })
        );
        assert_eq!(
            action_from_wit(wit_exec::Action::CancelTimer(2)),
            Action::CancelTimer(2)
        );
        assert_eq!(action_from_wit(wit_exec::Action::Done), Action::Done);
    }

    #[test]
    fn events_reach_the_plugin_unchanged() {
        let exit = Event::Exited(ProcessExit {
            id: 1,
            code: None,
            signal: Some(9),
        });
        assert_eq!(
            event_to_wit(&exit),
            wit_exec::Event::Exited(wit_exec::ProcessExit {
                id: 1,
                code: None,
                signal: Some(9)
            })
        );
        let result = Event::CheckFinished(CheckResult {
            id: 3,
            healthy: true,
            message: "ok".into(),
        });
        assert_eq!(
            event_to_wit(&result),
            wit_exec::Event::CheckFinished(wit_exec::CheckResult {
                id: 3,
                healthy: true,
                message: "ok".into()
            })
        );
        assert_eq!(event_to_wit(&Event::Kill(100)), wit_exec::Event::Kill(100));
    }
}
