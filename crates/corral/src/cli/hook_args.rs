//! `--hooks FILE.json`, `--hook NAME[:open|closed]` and `--plugin-quarantine-after N`, shared by
//! `corral master`, `corral agent` and `corral dev` (issue 6).

use anyhow::Context;

use corral_plugin_host::PluginEngine;
use corral_plugin_host::hook_chain::{HookChain, HookSpec};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct HookArgs {
    /// Hooks to run, in order: a JSON list of {"plugin": NAME|FILE, "config": JSON,
    /// "failure": "open"|"closed", "deadline_ms": N}. Runs before any --hook.
    #[arg(long, value_name = "FILE.json")]
    pub hooks: Option<String>,
    /// A hook to run, with an empty config (repeatable; fail-open unless :closed).
    #[arg(long = "hook", value_name = "NAME|FILE[:open|closed]")]
    pub hook: Vec<String>,
    /// Quarantine a plugin after this many consecutive failed calls (0: never).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub plugin_quarantine_after: u32,
}

impl HookArgs {
    pub fn specs(&self) -> anyhow::Result<Vec<HookSpec>> {
        let mut specs = match &self.hooks {
            Some(path) => HookSpec::parse_file(path)?,
            None => Vec::new(),
        };
        for flag in &self.hook {
            specs.push(HookSpec::parse_flag(flag)?);
        }
        Ok(specs)
    }

    /// The executor, quarantined after --plugin-quarantine-after consecutive failures.
    pub fn guard_executor(
        &self,
        executor: corral_plugin_host::executor::ExecutorFactory,
    ) -> corral_plugin_host::executor::ExecutorFactory {
        corral_plugin_host::quarantine::guard_executor(executor, Some(self.plugin_quarantine_after))
    }

    /// Loads every hook now, so a bad one stops the start with its reason.
    pub fn load(&self, engine: &PluginEngine) -> anyhow::Result<HookChain> {
        let specs = self.specs()?;
        HookChain::load(engine, &specs, Some(self.plugin_quarantine_after))
            .context("cannot load the hooks")
    }
}
