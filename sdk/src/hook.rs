//! Hook plugins: decorate or veto at fixed points, as Mesos hook modules do, but sandboxed.
//! See `wit/hook.wit`. Every method has a default that lets the action go on undecorated, so a
//! hook implements only the points it cares about.
//!
//! Implement [`Hook`] on a `Default` type and export it with [`export_hook!`](crate::export_hook).

pub use crate::bindings::hook::exports::corral::plugin::hook::{
    AgentDecoration, Decoration, LaunchDecision,
};
pub use crate::types::{AgentInfo, EnvVar, FrameworkInfo, Label, TaskInfo, TaskStatus};

/// A set of hooks.
pub trait Hook {
    /// Called once with the operator's configuration (JSON, may be empty).
    fn init(&mut self, config: String) -> Result<(), String> {
        let _ = config;
        Ok(())
    }

    /// Master: a task is about to be launched. Allow it (with labels and environment to add)
    /// or deny it with a reason.
    fn on_launch(
        &mut self,
        task: TaskInfo,
        framework: FrameworkInfo,
    ) -> Result<LaunchDecision, String> {
        let _ = (task, framework);
        Ok(LaunchDecision::Allow(Decoration {
            labels: Vec::new(),
            environment: Vec::new(),
        }))
    }

    /// Agent: a task's process is about to start; returns environment to add.
    fn on_run(&mut self, task: TaskInfo) -> Result<Vec<EnvVar>, String> {
        let _ = task;
        Ok(Vec::new())
    }

    /// Agent: a status update is about to be sent; returns labels to add to it.
    fn on_status(&mut self, task: TaskInfo, status: TaskStatus) -> Result<Vec<Label>, String> {
        let _ = (task, status);
        Ok(Vec::new())
    }

    /// Master: an agent registers; returns resources and attributes to add.
    fn on_agent_register(&mut self, agent: AgentInfo) -> Result<AgentDecoration, String> {
        let _ = agent;
        Ok(AgentDecoration {
            resources: Vec::new(),
            attributes: Vec::new(),
        })
    }
}

/// Exports a type implementing [`Hook`] and `Default` as the component's hook.
///
/// On `wasm32` the generated WIT exports forward to a single instance of the type. Natively it
/// only checks the bounds.
#[macro_export]
macro_rules! export_hook {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::hook::{
                AgentDecoration, AgentInfo, EnvVar, FrameworkInfo, Hook, Label, LaunchDecision,
                TaskInfo, TaskStatus,
            };

            ::std::thread_local! {
                static INSTANCE: ::std::cell::RefCell<$plugin> =
                    ::std::cell::RefCell::new(<$plugin as ::std::default::Default>::default());
            }

            fn with<R>(call: impl FnOnce(&mut $plugin) -> R) -> R {
                INSTANCE.with_borrow_mut(call)
            }

            struct CorralHookExport;

            impl $crate::bindings::hook::exports::corral::plugin::hook::Guest for CorralHookExport {
                fn init(config: String) -> Result<(), String> {
                    with(|p| p.init(config))
                }
                fn on_launch(
                    task: TaskInfo,
                    framework: FrameworkInfo,
                ) -> Result<LaunchDecision, String> {
                    with(|p| p.on_launch(task, framework))
                }
                fn on_run(task: TaskInfo) -> Result<Vec<EnvVar>, String> {
                    with(|p| p.on_run(task))
                }
                fn on_status(task: TaskInfo, status: TaskStatus) -> Result<Vec<Label>, String> {
                    with(|p| p.on_status(task, status))
                }
                fn on_agent_register(agent: AgentInfo) -> Result<AgentDecoration, String> {
                    with(|p| p.on_agent_register(agent))
                }
            }

    $crate::bindings::hook::export!(CorralHookExport with_types_in $crate::bindings::hook);
        };

        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn assert_exportable<T: $crate::hook::Hook + ::std::default::Default>() {}
            let _ = assert_exportable::<$plugin>;
        };
    };
}
