//! The master's hard state in the StateStore: `frameworks/<id>` (FrameworkInfo JSON) and
//! `agents/<id>` (AgentInfo JSON). Written when they change, read at start so a restarted
//! master knows who may resubscribe and re-register.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::api::v1::{AgentInfo, FrameworkId, FrameworkInfo, Id};
use crate::state::{StateError, StateStore, WriteOp};

pub const FRAMEWORKS_PREFIX: &str = "frameworks/";
pub const AGENTS_PREFIX: &str = "agents/";

pub fn put_framework(info: &FrameworkInfo) -> WriteOp {
    let id = info.id.as_ref().map(|i| i.value.as_str()).unwrap_or("");
    WriteOp::Put {
        key: format!("{FRAMEWORKS_PREFIX}{id}"),
        // Serializing these plain structs cannot fail; an empty value would be skipped on load.
        value: serde_json::to_vec(info).unwrap_or_default(),
    }
}

pub fn put_agent(info: &AgentInfo) -> WriteOp {
    let id = info.id.as_ref().map(|i| i.value.as_str()).unwrap_or("");
    WriteOp::Put {
        key: format!("{AGENTS_PREFIX}{id}"),
        value: serde_json::to_vec(info).unwrap_or_default(),
    }
}

pub fn delete_framework(id: &FrameworkId) -> WriteOp {
    WriteOp::Delete {
        key: format!("{FRAMEWORKS_PREFIX}{id}"),
    }
}

/// What a starting master finds in its registry.
#[derive(Debug, Default)]
pub struct Recovered {
    pub frameworks: Vec<FrameworkInfo>,
    pub agents: Vec<AgentInfo>,
}

/// Reads the registry. A value that does not parse is logged with its key and skipped.
pub async fn load(store: &dyn StateStore) -> Result<Recovered, StateError> {
    let mut recovered = Recovered::default();
    for (key, value) in store.list(FRAMEWORKS_PREFIX).await? {
        if let Some(mut info) = parse::<FrameworkInfo>(&key, &value) {
            info.id = Some(Id::new(&key[FRAMEWORKS_PREFIX.len()..]));
            recovered.frameworks.push(info);
        }
    }
    for (key, value) in store.list(AGENTS_PREFIX).await? {
        if let Some(mut info) = parse::<AgentInfo>(&key, &value) {
            info.id = Some(Id::new(&key[AGENTS_PREFIX.len()..]));
            recovered.agents.push(info);
        }
    }
    Ok(recovered)
}

fn parse<T: serde::de::DeserializeOwned>(key: &str, value: &[u8]) -> Option<T> {
    match serde_json::from_slice(value) {
        Ok(v) => Some(v),
        Err(error) => {
            tracing::error!(key, %error, "skipping a registry entry that does not parse");
            None
        }
    }
}

/// Applies registry writes in order on a background task; batches that arrive together are
/// written as one. A failed write is logged; the master keeps serving from memory.
pub fn spawn_writer(store: Arc<dyn StateStore>) -> mpsc::UnboundedSender<Vec<WriteOp>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<WriteOp>>();
    tokio::spawn(async move {
        while let Some(mut batch) = rx.recv().await {
            while let Ok(more) = rx.try_recv() {
                batch.extend(more);
            }
            if let Err(error) = store.apply(batch).await {
                tracing::error!(%error, "registry write failed");
            }
        }
    });
    tx
}
