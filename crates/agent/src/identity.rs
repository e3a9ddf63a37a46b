//! Who the agent is: the id the master gave it (saved for the next start), and the name of
//! its cgroup under the isolation root, which follows the id.

use std::path::PathBuf;
use std::sync::Mutex;

use super::checkpoint;
use super::checkpoint_writer::CheckpointWriter;
use super::locks::lock;
use corral_api::v1::AgentId;

pub struct AgentIdentity {
    id: Mutex<Option<AgentId>>,
    work_dir: PathBuf,
    writer: CheckpointWriter,
}

impl AgentIdentity {
    /// `id`: the one saved by an earlier run, if any.
    pub fn new(id: Option<AgentId>, work_dir: PathBuf, writer: CheckpointWriter) -> Self {
        AgentIdentity {
            id: Mutex::new(id),
            work_dir,
            writer,
        }
    }

    pub fn id(&self) -> Option<AgentId> {
        lock(&self.id).clone()
    }

    /// The id's value, or empty before the first registration (for environments).
    pub fn id_value(&self) -> String {
        self.id().map(|a| a.value).unwrap_or_default()
    }

    /// The agent's cgroup under the isolation root: its id, once it has one.
    pub fn cgroup_name(&self) -> String {
        self.id()
            .map_or_else(|| "unregistered".to_string(), |id| id.value)
    }

    /// Adopts the id the master gave and saves it for the next start.
    pub fn adopt(&self, id: AgentId) {
        let previous = lock(&self.id).replace(id.clone());
        if previous.as_ref().is_some_and(|p| p != &id) {
            tracing::warn!("the master registered this agent as {id}, not {previous:?}");
        }
        if previous.as_ref() != Some(&id) {
            let path = checkpoint::agent_id_path(&self.work_dir);
            drop(
                self.writer
                    .write(path, id.value.clone().into_bytes(), "the agent id"),
            );
        }
    }
}
