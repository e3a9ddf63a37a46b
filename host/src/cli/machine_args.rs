//! What `corral agent` and `corral dev` say about the agent's machine: one set of flags,
//! checked one way, so the two commands cannot drift apart.

use anyhow::bail;

use crate::isolation::{IsolationConfig, IsolationMode};

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
    #[arg(long, default_value_t = crate::isolation::pids::DEFAULT_LIMIT)]
    pub pids_limit: u64,
    /// What a restarted agent does with the tasks it finds running: reconnect (keep them)
    /// or cleanup (kill them).
    #[arg(long, default_value_t = crate::agent::RecoverMode::Reconnect, value_name = "reconnect|cleanup")]
    pub recover: crate::agent::RecoverMode,
}

impl MachineArgs {
    /// Refuses bad values before anything starts.
    pub fn check(&self) -> anyhow::Result<()> {
        check_agent_flags(self.resources.as_deref(), self.attributes.as_deref())?;
        if self.pids_limit == 0 {
            bail!("--pids-limit must be at least 1");
        }
        Ok(())
    }

    pub fn isolation_config(&self) -> IsolationConfig {
        IsolationConfig {
            mode: self.isolation,
            pids_limit: self.pids_limit,
            ..IsolationConfig::default()
        }
    }
}
