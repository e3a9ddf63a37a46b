//! The agent's share of the cgroup hierarchies: its containers live under
//! `<cgroup root>/<agent id>` (`unregistered` before the master gives it an id). Every call
//! that touches the cgroup files blocks (a memory limit can make the kernel reclaim, a
//! removal waits for processes to die): the runtime calls them through `spawn_blocking`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::identity::AgentIdentity;
use super::locks::lock;
use corral_cgroups::owners::{self, OwnerLock};
use corral_cgroups::usage::ResourceStatistics;
use corral_cgroups::{Container, IsolationError, Isolator, Limits};

/// What the agent is called before it has an id (see [`AgentIdentity::cgroup_name`]).
const UNREGISTERED: &str = owners::UNREGISTERED;

pub struct AgentCgroups {
    isolator: Isolator,
    identity: Arc<AgentIdentity>,
    /// The lock that says this agent's hierarchy is in use (`corral_cgroups::owners`), and
    /// the id it is for; none under posix isolation or before the agent has an id.
    owner: Mutex<Option<(String, OwnerLock)>>,
}

impl AgentCgroups {
    pub fn new(isolator: Isolator, identity: Arc<AgentIdentity>) -> AgentCgroups {
        AgentCgroups {
            isolator,
            identity,
            owner: Mutex::new(None),
        }
    }

    /// Claims the hierarchy of the id `agent` for this agent (before it creates a cgroup
    /// there), so that other agents' sweeps leave it alone; lets go of a previous id's.
    /// Blocks while a sweep holds it.
    pub fn claim(&self, agent: &str) {
        if !matches!(self.isolator, Isolator::Cgroups { .. }) {
            return;
        }
        if lock(&self.owner)
            .as_ref()
            .is_some_and(|(held, _)| held == agent)
        {
            return;
        }
        match owners::claim(Path::new(owners::LOCK_DIR), agent) {
            Ok(claimed) => *lock(&self.owner) = Some((agent.to_string(), claimed)),
            Err(e) => tracing::warn!(
                "cannot lock {}/{agent}: {e}; another agent's sweep may remove this \
                 agent's empty cgroups",
                owners::LOCK_DIR
            ),
        }
    }

    /// Removes the cgroups that agents no longer running left under the root, where no
    /// process is (this agent's own id, if any, is claimed first). Blocks.
    pub fn sweep_others(&self) {
        let own = self.identity.cgroup_name();
        if own != UNREGISTERED {
            self.claim(&own);
        }
        let swept = self
            .isolator
            .sweep_others(Path::new(owners::LOCK_DIR), &own);
        if !swept.removed.is_empty() {
            tracing::info!(
                "removed {} cgroups of agents no longer running: {}",
                swept.removed.len(),
                swept
                    .removed
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for busy in swept.busy {
            tracing::warn!(
                "left {}: its agent no longer runs, but processes are in it",
                busy.display()
            );
        }
    }

    /// Why tasks run without cgroups, for the master to show; `None` when they have them.
    pub fn fallback_note(&self) -> Option<String> {
        self.isolator.fallback_note()
    }

    /// The agent's cgroup a container checkpoint names as its parent; `None` without cgroups.
    pub fn checkpoint_parent(&self) -> Option<String> {
        self.fallback_note()
            .is_none()
            .then(|| self.identity.cgroup_name())
    }

    /// Creates a container's cgroups with its limits; `None` under posix isolation.
    pub fn create(
        &self,
        container_id: &str,
        limits: &Limits,
    ) -> Result<Option<Container>, IsolationError> {
        self.isolator
            .create(&self.identity.cgroup_name(), container_id, limits)
    }

    /// The cgroups of this agent's container, if they are there.
    pub fn adopt(&self, container_id: &str, mem_limit_mb: Option<f64>) -> Option<Container> {
        self.adopt_under(&self.identity.cgroup_name(), container_id, mem_limit_mb)
    }

    /// The cgroups of a container under the agent cgroup `parent` (a checkpoint names it).
    pub fn adopt_under(
        &self,
        parent: &str,
        container_id: &str,
        mem_limit_mb: Option<f64>,
    ) -> Option<Container> {
        self.isolator.adopt(parent, container_id, mem_limit_mb)
    }

    /// A container's cgroup path relative to each hierarchy's mount; `None` under posix.
    pub fn container_relative(&self, container_id: &str) -> Option<PathBuf> {
        self.container_relative_under(&self.identity.cgroup_name(), container_id)
    }

    pub fn container_relative_under(&self, parent: &str, container_id: &str) -> Option<PathBuf> {
        self.isolator.container_relative(parent, container_id)
    }

    /// A container's usage, sampled now.
    pub fn statistics(&self, container_id: &str) -> ResourceStatistics {
        self.isolator
            .statistics(&self.identity.cgroup_name(), container_id)
    }

    /// The container cgroups left under the agent's, in every hierarchy.
    pub fn containers_left(&self) -> Vec<PathBuf> {
        self.isolator.containers_left(&self.identity.cgroup_name())
    }

    /// Removes the agent's cgroups once it has stopped: the container cgroups left that hold
    /// no process, then the agent's own in every hierarchy it used (the devices one too,
    /// where isolator plans put device rules), and the root if no other agent uses it. A
    /// cgroup that still holds a process stays.
    pub fn release(&self) {
        let Isolator::Cgroups { root, .. } = &self.isolator else {
            return;
        };
        let own = self.identity.cgroup_name();
        for path in self.isolator.containers_left(&own) {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if let Some(container) = self.isolator.adopt(&own, name, None)
                && container.processes().is_empty()
                && let Err(e) = container.destroy()
            {
                tracing::warn!("cannot remove the container cgroup {name}: {e}");
            }
        }
        // Containers made before the master gave the id sit under `unregistered`, which
        // other agents sharing the root may use too: only its empty directory goes.
        let agents: BTreeSet<&str> = [own.as_str(), UNREGISTERED].into();
        let devices = corral_cgroups::devices::v1_mount(&corral_cgroups::mounts::read());
        for agent in agents {
            // The agent's directory is the parent of any of its containers'.
            if let (Some(devices), Some(relative)) =
                (&devices, self.isolator.container_relative(agent, "-"))
                && let Some(agent_dir) = relative.parent()
            {
                remove_empty_tree(&devices.join(agent_dir), agent == own.as_str());
                let _ = std::fs::remove_dir(devices.join(root));
            }
            self.isolator.release(agent);
        }
        // The hierarchy is gone (or busy: then the next sweep finds it so).
        if let Some((_, owner)) = lock(&self.owner).take() {
            owner.remove();
        }
    }
}

/// Removes `dir` if it is empty; with `children`, its empty sub-cgroups first. A busy or
/// missing cgroup is left as it is.
fn remove_empty_tree(dir: &std::path::Path, children: bool) {
    if children {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Kills what is left in a container and removes its cgroups, off the async threads.
pub async fn destroy(container: Option<Arc<Container>>, what: String) {
    let Some(container) = container else {
        return;
    };
    match tokio::task::spawn_blocking(move || container.destroy()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("{what}: cannot remove its cgroups: {e}"),
        Err(e) => tracing::error!("{what}: removing its cgroups panicked: {e}"),
    }
}
