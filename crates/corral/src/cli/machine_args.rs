//! What `corral agent` and `corral dev` say about the agent's machine: one set of flags,
//! checked one way, so the two commands cannot drift apart.

use anyhow::bail;

use corral_cgroups::{IsolationConfig, IsolationMode};

use super::server_defaults::check_agent_flags;

#[derive(Debug, Clone, clap::Args)]
pub struct MachineArgs {
    /// The agent's resources, e.g. "cpus:2;mem:1024;ports:[31000-32000]"; detected from the
    /// machine by default.
    #[arg(long)]
    pub resources: Option<String>,
    /// The agent's attributes, e.g. "rack:r1;zone:z2".
    #[arg(long)]
    pub attributes: Option<String>,
    /// Task isolation: cgroups, posix (plain processes), or auto (cgroups where usable).
    #[arg(long, default_value_t = IsolationMode::Auto, value_name = "cgroups|posix|auto")]
    pub isolation: IsolationMode,
    /// The most processes and threads one task may have (cgroups isolation).
    #[arg(long, default_value_t = corral_cgroups::pids::DEFAULT_LIMIT)]
    pub pids_limit: u64,
    /// What a restarted agent does with the tasks it finds running: reconnect (keep them)
    /// or cleanup (kill them).
    #[arg(long, default_value_t = corral_agent::RecoverMode::Reconnect, value_name = "reconnect|cleanup")]
    pub recover: corral_agent::RecoverMode,
    /// Isolator plugins, in order: built-in names ("gpu") or .wasm files with their manifest
    /// beside them (FILE.toml). Their discovered resources join the agent's.
    #[arg(long, value_delimiter = ',', value_name = "NAME|FILE")]
    pub isolator: Vec<String>,
    /// Configuration per isolator: a JSON object keyed by the names given to --isolator,
    /// e.g. '{"gpu": {}}'; each plugin's `init` gets its entry as JSON (or "" when absent).
    #[arg(long, value_name = "JSON")]
    pub isolator_config: Option<String>,
    /// Isolators see devices and files below this directory ("/dev/nvidia0" is
    /// DIR/dev/nvidia0); a fake tree in tests.
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub discovery_root: std::path::PathBuf,
    /// Run every task as the agent's user (Mesos' --no-switch_user). By default an agent
    /// running as root runs each task as its command's user, else its framework's.
    #[arg(long)]
    pub no_switch_user: bool,
    /// Run tasks that run as root in the agent's PID and mount namespaces, with all of
    /// root's capabilities. By default each gets namespaces of its own: it cannot see or
    /// signal the agent, nor write the cgroup filesystem, /sys or /proc/sys
    /// (docs/security.md).
    #[arg(long)]
    pub no_task_namespaces: bool,
    /// The sandbox's disk quota and log cap.
    #[command(flatten)]
    pub sandbox: super::sandbox_args::SandboxArgs,
}

impl MachineArgs {
    /// Refuses bad values before anything starts.
    pub fn check(&self) -> anyhow::Result<()> {
        check_agent_flags(self.resources.as_deref(), self.attributes.as_deref())?;
        if self.pids_limit == 0 {
            bail!("--pids-limit must be at least 1");
        }
        self.sandbox.check()
    }

    /// Loads the `--isolator` plugins with their `--isolator-config` entries; a plugin that
    /// cannot be loaded or rejects its configuration stops the start with its name.
    pub fn isolators(
        &self,
        engine: &corral_plugin_host::PluginEngine,
    ) -> anyhow::Result<corral_plugin_host::isolator::IsolatorSet> {
        let configs: serde_json::Map<String, serde_json::Value> = match &self.isolator_config {
            None => serde_json::Map::new(),
            Some(text) => serde_json::from_str(text).map_err(|e| {
                anyhow::anyhow!(
                    "--isolator-config must be a JSON object keyed by isolator name: {e}"
                )
            })?,
        };
        if let Some(unknown) = configs.keys().find(|k| !self.isolator.contains(k)) {
            bail!("--isolator-config names '{unknown}', which is not given to --isolator");
        }
        let mut plugins = Vec::new();
        for spec in &self.isolator {
            let config = configs.get(spec).map(|v| v.to_string()).unwrap_or_default();
            let plugin = engine
                .isolator(spec, &config, &self.discovery_root)
                .map_err(|e| anyhow::anyhow!("cannot load the isolator '{spec}': {e}"))?;
            plugins.push(plugin);
        }
        Ok(corral_plugin_host::isolator::IsolatorSet::new(
            plugins,
            self.discovery_root.clone(),
        ))
    }

    /// Whether tasks run as their users: only root can switch, so an agent that is not root
    /// runs them as itself (and says so at start).
    pub fn switch_user(&self) -> bool {
        let root = corral_agent::runs_as_root();
        if !root && !self.no_switch_user {
            tracing::info!("the agent is not root: tasks run as the agent's user");
        }
        root && !self.no_switch_user
    }

    /// Whether root task processes get namespaces of their own (only root can make them).
    pub fn root_namespaces(&self) -> bool {
        corral_agent::runs_as_root() && !self.no_task_namespaces
    }

    pub fn isolation_config(&self) -> IsolationConfig {
        IsolationConfig {
            mode: self.isolation,
            pids_limit: self.pids_limit,
            ..IsolationConfig::default()
        }
    }
}

#[cfg(test)]
mod isolator_flag_tests {
    use super::*;

    fn args(isolator: &[&str], config: Option<&str>) -> MachineArgs {
        MachineArgs {
            resources: None,
            attributes: None,
            isolation: IsolationMode::Posix,
            recover: Default::default(),
            pids_limit: 10,
            isolator: isolator.iter().map(|s| s.to_string()).collect(),
            isolator_config: config.map(str::to_string),
            discovery_root: std::env::temp_dir(),
            no_switch_user: false,
            no_task_namespaces: false,
            sandbox: Default::default(),
        }
    }

    fn error(args: &MachineArgs) -> String {
        let engine = corral_plugin_host::PluginEngine::new().expect("engine");
        match args.isolators(&engine) {
            Ok(_) => panic!("accepted {args:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn bad_isolator_flags_are_refused_with_what_is_wrong() {
        let unknown = error(&args(&["nvidia"], None));
        assert!(unknown.contains("'nvidia'"), "{unknown}");
        let not_json = error(&args(&["gpu"], Some("{gpu")));
        assert!(not_json.contains("JSON object"), "{not_json}");
        let stray = error(&args(&["gpu"], Some(r#"{"fpga": {}}"#)));
        assert!(stray.contains("'fpga'"), "{stray}");
        let rejected = error(&args(&["gpu"], Some(r#"{"gpu": {"x": 1}}"#)));
        assert!(rejected.contains("init"), "{rejected}");
    }

    #[test]
    fn the_gpu_isolator_loads_with_an_empty_config() {
        let engine = corral_plugin_host::PluginEngine::new().expect("engine");
        let set = args(&["gpu"], Some(r#"{"gpu": {}}"#))
            .isolators(&engine)
            .expect("loads");
        assert_eq!(set.plugins.len(), 1);
    }
}
