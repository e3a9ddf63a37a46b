//! [`WasmExecutor`]: an [`ExecutorInstance`] backed by one instance of an executor component
//! (one per task), and [`ExecutorMaker`], which makes them. The task and events go in as WIT,
//! the actions come back checked (`answer_check`) and as host types.

use std::sync::Arc;

use super::answer_check::check_actions;
use super::convert_executor::{action_from_wit, event_to_wit};
use super::convert_task::task_to_wit;
use super::error::PluginError;
use super::executor::{Action, Event, ExecutorInstance};
use super::loaded::{LoadedPlugin, StoreMaker};
use super::plugin_kind::PluginLimits;
use super::plugin_task::PluginTask;
use super::sandbox::{PluginState, Sandbox};
use corral_wit::executor::exports::corral::plugin::executor as wit_exec;
use corral_wit::executor::{ExecutorPlugin, ExecutorPluginPre};

/// Makes executor instances of one loaded component.
pub(crate) struct ExecutorMaker {
    stores: StoreMaker,
    name: Arc<str>,
    pre: ExecutorPluginPre<PluginState>,
    limits: PluginLimits,
}

impl ExecutorMaker {
    pub(crate) fn new(loaded: LoadedPlugin, limits: PluginLimits) -> Result<Self, PluginError> {
        let pre = ExecutorPluginPre::new(loaded.pre).map_err(|e| PluginError::Invalid {
            plugin: loaded.name.to_string(),
            reason: format!("its exports do not match the executor interface: {e:#}"),
        })?;
        Ok(ExecutorMaker {
            stores: loaded.stores,
            name: loaded.name,
            pre,
            limits,
        })
    }

    pub(crate) fn instantiate(&self) -> Result<WasmExecutor, PluginError> {
        let store = self.stores.store(&self.name, self.limits);
        Ok(WasmExecutor {
            sandbox: Sandbox::instantiated(store, self.limits, |s| self.pre.instantiate(s))?,
        })
    }
}

/// One task's executor instance.
pub struct WasmExecutor {
    sandbox: Sandbox<ExecutorPlugin>,
}

impl WasmExecutor {
    fn answer(
        &mut self,
        call: &str,
        answer: Result<Vec<wit_exec::Action>, String>,
    ) -> Result<Vec<Action>, PluginError> {
        let actions = answer.map_err(|message| self.sandbox.failed(call, message))?;
        check_actions(&actions).map_err(|m| self.sandbox.bad_answer(call, m))?;
        Ok(actions.into_iter().map(action_from_wit).collect())
    }
}

impl ExecutorInstance for WasmExecutor {
    fn plugin_name(&self) -> &str {
        self.sandbox.plugin()
    }

    fn launch(&mut self, task: &PluginTask) -> Result<Vec<Action>, PluginError> {
        let task = task_to_wit(task);
        let answer = self.sandbox.call("launch", |b, s| {
            b.corral_plugin_executor().call_launch(s, &task)
        })?;
        self.answer("launch", answer)
    }

    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, PluginError> {
        let event = event_to_wit(event);
        let answer = self.sandbox.call("on-event", |b, s| {
            b.corral_plugin_executor().call_on_event(s, &event)
        })?;
        self.answer("on-event", answer)
    }
}
