//! The services component's keys in a `StateStore`, under `services/` (beside the master's
//! keys when they share an etcd): one key per app, per app version, per task and per
//! deployment, and the framework id. Small values only: Marathon hit ZooKeeper's 1 MB node
//! limit by storing its whole group tree in one node; etcd refuses values over 1.5 MiB.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use corral_state::{StateError, StateStore, WriteOp};

use crate::deployments::Deployment;
use crate::groups::GroupRecord;
use crate::groups::update::GroupState;
use crate::model::App;
use crate::path_id::PathId;
use crate::tasks::TaskRecord;
use crate::time::Timestamp;

pub const FRAMEWORK_ID_KEY: &str = "services/framework-id";
pub const APPS_PREFIX: &str = "services/apps/";
pub const VERSIONS_PREFIX: &str = "services/versions/";
pub const TASKS_PREFIX: &str = "services/tasks/";
pub const DEPLOYMENTS_PREFIX: &str = "services/deployments/";
pub const GROUPS_PREFIX: &str = "services/groups/";
pub const GROUP_VERSIONS_PREFIX: &str = "services/group-versions/";

/// Versions kept per app (Marathon's `--zk_max_versions` default).
pub const MAX_VERSIONS: usize = 50;

pub fn app_key(id: &str) -> String {
    format!("{APPS_PREFIX}{}", PathId::parse(id).safe())
}

fn versions_prefix(id: &str) -> String {
    format!("{VERSIONS_PREFIX}{}/", PathId::parse(id).safe())
}

pub fn version_key(id: &str, version: Timestamp) -> String {
    format!("{}{version}", versions_prefix(id))
}

pub fn task_key(id: &str) -> String {
    format!("{TASKS_PREFIX}{id}")
}

pub fn deployment_key(id: &str) -> String {
    format!("{DEPLOYMENTS_PREFIX}{id}")
}

/// A group's id as one key segment (the root is `_root`).
fn group_segment(id: &str) -> String {
    let path = PathId::parse(id);
    if path.is_root() {
        "_root".to_string()
    } else {
        path.safe()
    }
}

pub fn group_key(id: &str) -> String {
    format!("{GROUPS_PREFIX}{}", group_segment(id))
}

pub fn group_versions_prefix(id: &str) -> String {
    format!("{GROUP_VERSIONS_PREFIX}{}/", group_segment(id))
}

/// A stored version of a group: the apps and groups within it then.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GroupVersion {
    pub apps: Vec<App>,
    pub groups: Vec<GroupRecord>,
}

/// Everything stored, read at start.
#[derive(Debug, Default)]
pub struct Loaded {
    pub framework_id: Option<String>,
    pub apps: Vec<App>,
    pub tasks: Vec<TaskRecord>,
    pub deployments: Vec<Deployment>,
    pub groups: Vec<GroupRecord>,
}

#[derive(Clone)]
pub struct ServiceStore {
    inner: Arc<dyn StateStore>,
}

impl ServiceStore {
    pub fn new(inner: Arc<dyn StateStore>) -> Self {
        ServiceStore { inner }
    }

    pub async fn load(&self) -> Result<Loaded, StateError> {
        let framework_id = self
            .inner
            .get(FRAMEWORK_ID_KEY)
            .await?
            .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
            .filter(|id| !id.is_empty());
        Ok(Loaded {
            framework_id,
            apps: self.list(APPS_PREFIX).await?,
            tasks: self.list(TASKS_PREFIX).await?,
            deployments: self.list(DEPLOYMENTS_PREFIX).await?,
            groups: self.list(GROUPS_PREFIX).await?,
        })
    }

    async fn list<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>, StateError> {
        self.inner
            .list(prefix)
            .await?
            .into_iter()
            .map(|(key, bytes)| decode(&key, &bytes))
            .collect()
    }

    pub async fn set_framework_id(&self, id: &str) -> Result<(), StateError> {
        self.inner
            .apply(vec![WriteOp::Put {
                key: FRAMEWORK_ID_KEY.into(),
                value: id.as_bytes().to_vec(),
            }])
            .await
    }

    pub async fn clear_framework_id(&self) -> Result<(), StateError> {
        self.inner
            .apply(vec![WriteOp::Delete {
                key: FRAMEWORK_ID_KEY.into(),
            }])
            .await
    }

    /// Writes in one atomic batch.
    pub async fn apply(&self, batch: Batch) -> Result<(), StateError> {
        if batch.ops.is_empty() {
            return Ok(());
        }
        self.inner.apply(batch.ops).await
    }

    /// Writes records that need not be written together (tasks: each is whole by itself) in
    /// transactions of at most [`RECORDS_PER_WRITE`]: etcd refuses a transaction of more
    /// than 128 operations, and an app of 1000 instances launches more than that at once.
    /// Stops at the first failure; the parts before it are written.
    pub async fn apply_in_parts(&self, batch: Batch) -> Result<(), StateError> {
        let mut ops = batch.ops;
        while !ops.is_empty() {
            let rest = ops.split_off(ops.len().min(RECORDS_PER_WRITE));
            self.inner.apply(ops).await?;
            ops = rest;
        }
        Ok(())
    }

    /// An app's stored versions, oldest first.
    pub async fn versions(&self, id: &str) -> Result<Vec<Timestamp>, StateError> {
        Ok(self
            .inner
            .list(&versions_prefix(id))
            .await?
            .into_iter()
            .filter_map(|(key, _)| key.rsplit('/').next().and_then(Timestamp::parse))
            .collect())
    }

    pub async fn version(&self, id: &str, version: Timestamp) -> Result<Option<App>, StateError> {
        let key = version_key(id, version);
        match self.inner.get(&key).await? {
            Some(bytes) => decode(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The version keys of `id` beyond the newest [`MAX_VERSIONS`] (after `adding` one).
    pub async fn versions_to_prune(
        &self,
        id: &str,
        adding: usize,
    ) -> Result<Vec<String>, StateError> {
        let versions = self.versions(id).await?;
        let excess = (versions.len() + adding).saturating_sub(MAX_VERSIONS);
        Ok(versions
            .into_iter()
            .take(excess)
            .map(|v| version_key(id, v))
            .collect())
    }

    /// The stored versions of group `id`, oldest first, with their keys.
    pub async fn group_versions(&self, id: &str) -> Result<Vec<(String, Timestamp)>, StateError> {
        Ok(self
            .inner
            .list(&group_versions_prefix(id))
            .await?
            .into_iter()
            .filter_map(|(key, _)| {
                let at = key.rsplit('/').next().and_then(Timestamp::parse)?;
                Some((key, at))
            })
            .collect())
    }

    /// Group `id` as it was at `version`.
    pub async fn group_version(
        &self,
        id: &str,
        version: Timestamp,
    ) -> Result<Option<GroupState>, StateError> {
        let key = format!("{}{version}", group_versions_prefix(id));
        let Some(bytes) = self.inner.get(&key).await? else {
            return Ok(None);
        };
        let stored: GroupVersion = decode(&key, &bytes)?;
        Ok(Some(GroupState {
            apps: stored.apps.into_iter().map(|a| (a.id.clone(), a)).collect(),
            groups: stored
                .groups
                .into_iter()
                .map(|g| (g.id.clone(), g))
                .collect(),
        }))
    }

    /// Every version key of `id`.
    pub async fn version_keys(&self, id: &str) -> Result<Vec<String>, StateError> {
        Ok(self
            .inner
            .list(&versions_prefix(id))
            .await?
            .into_iter()
            .map(|(key, _)| key)
            .collect())
    }
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StateError> {
    serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

/// Records written per transaction by [`ServiceStore::apply_in_parts`] (etcd's limit is 128
/// operations and 1.5 MiB; a task record is about a kilobyte).
pub const RECORDS_PER_WRITE: usize = 100;

/// Writes to make at once.
#[derive(Debug, Default)]
pub struct Batch {
    ops: Vec<WriteOp>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    fn put<T: Serialize>(&mut self, key: String, value: &T) {
        // These types serialize infallibly (string keys, no non-finite floats from parsing).
        if let Ok(value) = serde_json::to_vec(value) {
            self.ops.push(WriteOp::Put { key, value });
        }
    }

    pub fn delete(&mut self, key: String) {
        self.ops.push(WriteOp::Delete { key });
    }

    /// The app and its version entry.
    pub fn put_app(&mut self, app: &App) {
        self.put(app_key(&app.id), app);
        self.put(version_key(&app.id, app.version), app);
    }

    pub fn delete_app(&mut self, id: &str) {
        self.delete(app_key(id));
    }

    pub fn put_task(&mut self, task: &TaskRecord) {
        self.put(task_key(&task.id), task);
    }

    pub fn delete_task(&mut self, id: &str) {
        self.delete(task_key(id));
    }

    pub fn put_deployment(&mut self, deployment: &Deployment) {
        self.put(deployment_key(&deployment.id), deployment);
    }

    pub fn delete_deployment(&mut self, id: &str) {
        self.delete(deployment_key(id));
    }

    pub fn put_group_version(&mut self, id: &str, version: Timestamp, content: &GroupState) {
        let stored = GroupVersion {
            apps: content.apps.values().cloned().collect(),
            groups: content.groups.values().cloned().collect(),
        };
        self.put(format!("{}{version}", group_versions_prefix(id)), &stored);
    }

    pub fn put_group(&mut self, group: &GroupRecord) {
        self.put(group_key(&group.id), group);
    }

    pub fn delete_group(&mut self, id: &str) {
        self.delete(group_key(id));
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_per_object_under_services() {
        assert_eq!(app_key("/shop/web"), "services/apps/shop_web");
        let v = Timestamp::parse("2016-10-04T12:00:00.000Z").expect("time");
        assert_eq!(
            version_key("/shop/web", v),
            "services/versions/shop_web/2016-10-04T12:00:00.000Z"
        );
        assert_eq!(task_key("shop_web.1"), "services/tasks/shop_web.1");
    }

    /// On a real etcd: more task records than one transaction may hold are written in
    /// parts, and all of them are there to load.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_tasks_than_one_etcd_transaction_holds_are_written_in_parts() {
        let server = corral_state::etcd_test_server::EtcdServer::start();
        let etcd =
            corral_state::EtcdStore::connect(std::slice::from_ref(&server.endpoint), "/t/", None)
                .await
                .expect("connect to the test etcd");
        let store = ServiceStore::new(Arc::new(etcd));
        let mut batch = Batch::new();
        for i in 0..250 {
            batch.put_task(&TaskRecord {
                id: format!("web.{i:03}"),
                app_id: "/web".into(),
                version: Timestamp(0),
                config_version: Timestamp(0),
                agent_id: "agent-1".into(),
                host: "host-1".into(),
                attributes: Vec::new(),
                ports: Vec::new(),
                state: corral_api::v1::TaskState::TaskRunning,
                staged_at: Timestamp(0),
                started_at: None,
                ip_addresses: Vec::new(),
                kill_requested_at: None,
                healthy: None,
                unreachable_since: None,
            });
        }
        store.apply_in_parts(batch).await.expect("written in parts");
        let loaded = store.load().await.expect("load");
        assert_eq!(loaded.tasks.len(), 250);
    }
}
