//! An agent the operator marked gone (MARK_AGENT_GONE) shuts down for good, as Mesos'
//! `Slave::shutdown` does on the master's `ShutdownMessage`: it kills its tasks (the master has
//! already made them TASK_GONE_BY_OPERATOR, so no update is sent for them), removes its
//! cgroups, and forgets its checkpointed identity, tasks and pending updates (Mesos removes
//! the `latest` meta symlink), so that a restart registers as a new agent instead of
//! recovering the gone one. Sandboxes stay for the operator to read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use super::agent_cgroups::AgentCgroups;
use super::checkpoint;
use super::checkpoint_writer::CheckpointWriter;
use super::container_checkpoint;
use super::identity::AgentIdentity;
use super::master_link::MasterLink;
use super::runners::Runners;
use super::task_store::TaskStore;

/// How a gone agent ended; its `Display` is the line the agent logs and `corral agent`
/// prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentGone {
    /// Tasks that were not yet terminal when the master's word came.
    pub killed: usize,
    /// What the master said.
    pub message: String,
}

impl std::fmt::Display for AgentGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tasks = if self.killed == 1 { "task" } else { "tasks" };
        write!(
            f,
            "the master marked this agent gone (MARK_AGENT_GONE): killed {} {tasks}, exiting \
             (the master said: {})",
            self.killed, self.message
        )
    }
}

pub(crate) struct GoneContext {
    pub link: Arc<MasterLink>,
    pub identity: Arc<AgentIdentity>,
    pub tasks: Arc<TaskStore>,
    pub runners: Arc<Runners>,
    pub cgroups: Arc<AgentCgroups>,
    pub writer: CheckpointWriter,
    pub stop: Arc<watch::Sender<bool>>,
    pub work_dir: PathBuf,
}

/// Waits for the master's word that this agent is gone, then stops it as above.
pub(crate) async fn shut_down_when_gone(ctx: GoneContext) -> AgentGone {
    let message = ctx.link.gone().await;
    let agent_id = ctx.identity.id().unwrap_or_default();
    let killed = ctx
        .tasks
        .tasks(&agent_id)
        .iter()
        .filter(|t| !t.state.is_terminal())
        .count();
    // The stop signal: every loop ends, and every runner kills its processes and removes its
    // container.
    let _ = ctx.stop.send(true);
    ctx.runners.join_all().await;
    ctx.writer.flush().await;
    let (cgroups, work_dir) = (ctx.cgroups.clone(), ctx.work_dir.clone());
    let cleaned = tokio::task::spawn_blocking(move || {
        cgroups.release();
        forget_checkpoints(&work_dir)
    })
    .await;
    match cleaned {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("cannot remove the gone agent's checkpoints: {e}"),
        Err(e) => tracing::error!("removing the gone agent's checkpoints panicked: {e}"),
    }
    let gone = AgentGone { killed, message };
    tracing::error!("{gone}");
    gone
}

/// Removes what a restart would recover: the agent id, the containers' and executors'
/// checkpoints, and the pending status updates (blocks: files).
pub(crate) fn forget_checkpoints(work_dir: &Path) -> std::io::Result<()> {
    checkpoint::remove(&checkpoint::agent_id_path(work_dir))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    for dir in [
        container_checkpoint::containers_dir(work_dir),
        super::http_executors::checkpoint::root(work_dir),
        super::status_updates::updates_dir(work_dir),
    ] {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", dir.display()),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_what_happened() {
        let gone = AgentGone {
            killed: 2,
            message: "Agent has been marked gone".into(),
        };
        assert_eq!(
            gone.to_string(),
            "the master marked this agent gone (MARK_AGENT_GONE): killed 2 tasks, exiting \
             (the master said: Agent has been marked gone)"
        );
    }

    #[test]
    fn a_gone_agent_forgets_what_a_restart_would_recover_and_keeps_sandboxes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let work = dir.path();
        checkpoint::save_agent_id(work, &corral_api::v1::AgentId::new("a1")).expect("id");
        for file in [
            "meta/containers/c1/container.json",
            "meta/executors/c2/executor.json",
            "updates/fw/t.json",
            "sandboxes/fw/t/stdout",
        ] {
            let path = work.join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
            std::fs::write(&path, "{}").expect("write");
        }
        forget_checkpoints(work).expect("forgotten");
        assert_eq!(checkpoint::read_agent_id(work).expect("readable"), None);
        assert!(!work.join("meta/containers").exists());
        assert!(!work.join("meta/executors").exists());
        assert!(!work.join("updates").exists());
        assert!(
            work.join("sandboxes/fw/t/stdout").exists(),
            "sandboxes stay"
        );
        forget_checkpoints(work).expect("twice is fine");
    }
}
