//! [`WasmHook`]: a [`HookInstance`] backed by one instance of a hook component, the answer
//! checks for hook answers, and [`HookMaker`], which makes initialized instances of a loaded
//! component. Tasks, frameworks, agents and statuses go in as WIT; decorations come back
//! checked and as host types.

use std::sync::Arc;

use corral_api::v1;

use super::allocator::{AgentSnapshot, FrameworkSnapshot};
use super::answer_check::check_resource;
use super::convert::{
    agent_to_wit, attribute_from_wit, env_var_from_wit, framework_to_wit, label_from_wit,
    resources_from_wit,
};
use super::convert_task::{status_to_wit, task_to_wit};
use super::error::PluginError;
use super::hook::{AgentDecoration, Decoration, HookInstance, LaunchDecision};
use super::loaded::{LoadedPlugin, StoreMaker};
use super::plugin_kind::PluginLimits;
use super::plugin_task::PluginTask;
use super::sandbox::{PluginState, Sandbox};
use corral_wit::hook::exports::corral::plugin::hook as wit_hook;
use corral_wit::hook::{HookPlugin, HookPluginPre};
use corral_wit::types::EnvVar;

/// Most entries one answer may add (labels, env vars, resources or attributes).
const MAX_ENTRIES: usize = 256;
/// Longest key or name, and longest value, in bytes.
const MAX_KEY: usize = 256;
const MAX_VALUE: usize = 4096;

/// Makes initialized instances of one loaded hook component.
pub(crate) struct HookMaker {
    stores: StoreMaker,
    name: Arc<str>,
    pre: HookPluginPre<PluginState>,
    config: String,
    limits: PluginLimits,
}

impl HookMaker {
    pub(crate) fn new(
        loaded: LoadedPlugin,
        config: String,
        limits: PluginLimits,
    ) -> Result<Self, PluginError> {
        let pre = HookPluginPre::new(loaded.pre).map_err(|e| PluginError::Invalid {
            plugin: loaded.name.to_string(),
            reason: format!("its exports do not match the hook interface: {e:#}"),
        })?;
        Ok(HookMaker {
            stores: loaded.stores,
            name: loaded.name,
            pre,
            config,
            limits,
        })
    }

    /// A fresh instance, `init`ialized with the configuration.
    pub(crate) fn instantiate(&self) -> Result<WasmHook, PluginError> {
        let store = self.stores.store(&self.name, self.limits);
        let sandbox = Sandbox::instantiated(store, self.limits, |s| self.pre.instantiate(s))?
            .initialized(|b, s| b.corral_plugin_hook().call_init(s, &self.config))?;
        Ok(WasmHook { sandbox })
    }
}

pub struct WasmHook {
    sandbox: Sandbox<HookPlugin>,
}

impl WasmHook {
    fn answer<T>(
        &self,
        call: &str,
        answer: Result<T, String>,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) -> Result<T, PluginError> {
        let answer = answer.map_err(|message| self.sandbox.failed(call, message))?;
        check(&answer).map_err(|m| self.sandbox.bad_answer(call, m))?;
        Ok(answer)
    }
}

impl HookInstance for WasmHook {
    fn plugin_name(&self) -> &str {
        self.sandbox.plugin()
    }

    fn on_launch(
        &mut self,
        task: &PluginTask,
        framework: &FrameworkSnapshot,
    ) -> Result<LaunchDecision, PluginError> {
        let (task, framework) = (task_to_wit(task), framework_to_wit(framework));
        let answer = self.sandbox.call("on-launch", |b, s| {
            b.corral_plugin_hook().call_on_launch(s, &task, &framework)
        })?;
        let decision = self.answer("on-launch", answer, |d| match d {
            wit_hook::LaunchDecision::Allow(d) => {
                check_pairs(d.labels.iter().map(|l| (&l.key, &l.value)))?;
                check_env(&d.environment)
            }
            wit_hook::LaunchDecision::Deny(reason) => check_len("the reason", reason, MAX_VALUE),
        })?;
        Ok(match decision {
            wit_hook::LaunchDecision::Allow(d) => LaunchDecision::Allow(Decoration {
                labels: d.labels.into_iter().map(label_from_wit).collect(),
                environment: d.environment.into_iter().map(env_var_from_wit).collect(),
            }),
            wit_hook::LaunchDecision::Deny(reason) => LaunchDecision::Deny(reason),
        })
    }

    fn on_run(&mut self, task: &PluginTask) -> Result<Vec<v1::EnvironmentVariable>, PluginError> {
        let task = task_to_wit(task);
        let answer = self.sandbox.call("on-run", |b, s| {
            b.corral_plugin_hook().call_on_run(s, &task)
        })?;
        let env = self.answer("on-run", answer, |env| check_env(env))?;
        Ok(env.into_iter().map(env_var_from_wit).collect())
    }

    fn on_status(
        &mut self,
        task: &PluginTask,
        status: &v1::TaskStatus,
    ) -> Result<Vec<v1::Label>, PluginError> {
        let (task, status) = (task_to_wit(task), status_to_wit(status));
        let answer = self.sandbox.call("on-status", |b, s| {
            b.corral_plugin_hook().call_on_status(s, &task, &status)
        })?;
        let labels = self.answer("on-status", answer, |labels| {
            check_pairs(labels.iter().map(|l| (&l.key, &l.value)))
        })?;
        Ok(labels.into_iter().map(label_from_wit).collect())
    }

    fn on_agent_register(&mut self, agent: &AgentSnapshot) -> Result<AgentDecoration, PluginError> {
        let agent = agent_to_wit(agent);
        let answer = self.sandbox.call("on-agent-register", |b, s| {
            b.corral_plugin_hook().call_on_agent_register(s, &agent)
        })?;
        let decoration = self.answer("on-agent-register", answer, |d| {
            check_pairs(d.attributes.iter().map(|a| (&a.name, &a.value)))?;
            if d.resources.len() > MAX_ENTRIES {
                return Err(format!("more than {MAX_ENTRIES} resources"));
            }
            d.resources.iter().try_for_each(|r| {
                check_len("a resource name", &r.name, MAX_KEY)?;
                check_resource(r)
            })
        })?;
        Ok(AgentDecoration {
            resources: resources_from_wit(&decoration.resources),
            attributes: decoration
                .attributes
                .into_iter()
                .map(attribute_from_wit)
                .collect(),
        })
    }
}

fn check_len(what: &str, text: &str, max: usize) -> Result<(), String> {
    if text.len() > max {
        return Err(format!("{what} is {} bytes (at most {max})", text.len()));
    }
    Ok(())
}

/// Keys must be non-empty; lengths and counts are bounded so a hook cannot bloat every task.
fn check_pairs<'a>(
    pairs: impl ExactSizeIterator<Item = (&'a String, &'a String)>,
) -> Result<(), String> {
    if pairs.len() > MAX_ENTRIES {
        return Err(format!("more than {MAX_ENTRIES} entries"));
    }
    for (key, value) in pairs {
        if key.is_empty() {
            return Err("an entry has an empty key".to_string());
        }
        check_len(
            &format!("key '{}'", key.get(..32).unwrap_or(key)),
            key,
            MAX_KEY,
        )?;
        check_len(&format!("the value of '{key}'"), value, MAX_VALUE)?;
    }
    Ok(())
}

/// Environment names additionally cannot hold '=' or NUL (the process could not get them).
fn check_env(env: &[EnvVar]) -> Result<(), String> {
    check_pairs(env.iter().map(|e| (&e.name, &e.value)))?;
    for var in env {
        if var.name.contains(['=', '\0']) || var.value.contains('\0') {
            return Err(format!("environment variable '{}' is not valid", var.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn answers_out_of_bounds_are_refused() {
        assert!(check_env(&[env("A", "1")]).is_ok());
        assert!(
            check_env(&[env("", "1")])
                .unwrap_err()
                .contains("empty key")
        );
        assert!(
            check_env(&[env("A=B", "1")])
                .unwrap_err()
                .contains("not valid")
        );
        let long = "x".repeat(MAX_VALUE + 1);
        assert!(
            check_env(&[env("A", &long)])
                .unwrap_err()
                .contains("at most")
        );
        let many: Vec<_> = (0..=MAX_ENTRIES)
            .map(|i| env(&format!("V{i}"), ""))
            .collect();
        assert!(check_env(&many).unwrap_err().contains("more than"));
    }
}
