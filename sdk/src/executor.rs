//! Executor plugins: how a task runs, as an event-driven state machine. See
//! `wit/executor.wit`.
//!
//! The agent creates one instance per task, calls [`Executor::launch`] and then
//! [`Executor::on_event`] for everything that happens; each call answers with [`Action`]s that
//! the host carries out inside the task's container. Implement [`Executor`] on a `Default` type
//! and export it with [`export_executor!`](crate::export_executor).

pub use crate::bindings::executor::exports::corral::plugin::executor::{
    Action, CheckId, CheckResult, Event, ProcessExit, ProcessId, RunCheck, SendSignal,
    SpawnFailure, SpawnProcess, Status, Timer, TimerId,
};
pub use crate::types::{CommandInfo, HealthCheck, Label, TaskInfo, TaskState};

/// The state machine of one task.
pub trait Executor {
    /// Start the task. An error fails it (TASK_FAILED) with the message.
    fn launch(&mut self, task: TaskInfo) -> Result<Vec<Action>, String>;

    /// Something happened to the task: a process exited, a timer fired, a kill was asked.
    /// An error fails the task and the host kills whatever it still runs.
    fn on_event(&mut self, event: Event) -> Result<Vec<Action>, String>;
}

impl Status {
    /// A status update with just a state.
    pub fn new(state: TaskState) -> Self {
        Status {
            state,
            message: None,
            reason: None,
            healthy: None,
            labels: Vec::new(),
        }
    }

    /// The same update with a human-readable message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// The same update with a Mesos reason name such as `REASON_COMMAND_EXECUTOR_FAILED`.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// Exports a type implementing [`Executor`] and `Default` as the component's executor.
///
/// On `wasm32` the generated WIT exports forward to a single instance of the type (the host
/// makes one component instance per task). Natively it only checks the bounds.
#[macro_export]
macro_rules! export_executor {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::executor::{Action, Event, Executor, TaskInfo};

            ::std::thread_local! {
                static INSTANCE: ::std::cell::RefCell<$plugin> =
                    ::std::cell::RefCell::new(<$plugin as ::std::default::Default>::default());
            }

            struct CorralExecutorExport;

            impl $crate::bindings::executor::exports::corral::plugin::executor::Guest
                for CorralExecutorExport
            {
                fn launch(task: TaskInfo) -> Result<Vec<Action>, String> {
                    INSTANCE.with_borrow_mut(|p| p.launch(task))
                }
                fn on_event(event: Event) -> Result<Vec<Action>, String> {
                    INSTANCE.with_borrow_mut(|p| p.on_event(event))
                }
            }

            $crate::bindings::executor::export!(
                CorralExecutorExport with_types_in $crate::bindings::executor
            );
        };

        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn assert_exportable<T: $crate::executor::Executor + ::std::default::Default>() {}
            let _ = assert_exportable::<$plugin>;
        };
    };
}
