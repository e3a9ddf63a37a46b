//! The registry's I/O: [`load`] reads the master's hard state at start (the records are
//! described in `registry_records.rs`), [`spawn_writer`] applies the core's writes in order
//! on a background task.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::mpsc;

use corral_api::operator_roles::QuotaConfig;
use corral_api::v1::{AgentId, AgentInfo, FrameworkInfo, Id, Resource};
use corral_state::{StateError, StateStore, WriteOp};

use super::registry_records::{
    AGENT_PRINCIPALS_PREFIX, AGENTS_PREFIX, FRAMEWORKS_PREFIX, GONE_PREFIX, QUOTA_PREFIX,
    RESERVATIONS_PREFIX, StoredWeight, UNREACHABLE_PREFIX, WEIGHTS_PREFIX,
};

/// What a starting master finds in its registry.
#[derive(Debug, Default)]
pub struct Recovered {
    pub frameworks: Vec<FrameworkInfo>,
    pub agents: Vec<AgentInfo>,
    pub weights: Vec<(String, f64)>,
    pub quotas: Vec<QuotaConfig>,
    pub reservations: Vec<(AgentId, Vec<Resource>)>,
    /// Agents the operator marked gone (`gone/<id>`).
    pub gone: Vec<AgentId>,
    /// Agents marked unreachable and not back yet (`unreachable/<id>`).
    pub unreachable: Vec<AgentId>,
    /// The principals agent ids are bound to (`agent_principals/<id>`).
    pub agent_principals: Vec<(AgentId, String)>,
    /// Entries that did not parse and were skipped: (key, why). Each is also logged.
    pub skipped: Vec<(String, String)>,
}

/// Reads the registry. A value that does not parse is logged with its key and skipped (and
/// listed in [`Recovered::skipped`]); the rest loads.
pub async fn load(store: &dyn StateStore) -> Result<Recovered, StateError> {
    let mut recovered = Recovered::default();
    for (key, value) in store.list(FRAMEWORKS_PREFIX).await? {
        if let Some(mut info) = parse::<FrameworkInfo>(&key, &value, &mut recovered.skipped) {
            info.id = Some(Id::new(&key[FRAMEWORKS_PREFIX.len()..]));
            recovered.frameworks.push(info);
        }
    }
    for (key, value) in store.list(AGENT_PRINCIPALS_PREFIX).await? {
        if let Some(principal) = parse::<String>(&key, &value, &mut recovered.skipped) {
            let id = Id::new(&key[AGENT_PRINCIPALS_PREFIX.len()..]);
            recovered.agent_principals.push((id, principal));
        }
    }
    for (key, value) in store.list(AGENTS_PREFIX).await? {
        if let Some(mut info) = parse::<AgentInfo>(&key, &value, &mut recovered.skipped) {
            info.id = Some(Id::new(&key[AGENTS_PREFIX.len()..]));
            recovered.agents.push(info);
        }
    }
    for (key, value) in store.list(WEIGHTS_PREFIX).await? {
        if let Some(stored) = parse::<StoredWeight>(&key, &value, &mut recovered.skipped) {
            let role = key[WEIGHTS_PREFIX.len()..].to_string();
            recovered.weights.push((role, stored.weight));
        }
    }
    for (key, value) in store.list(QUOTA_PREFIX).await? {
        if let Some(mut config) = parse::<QuotaConfig>(&key, &value, &mut recovered.skipped) {
            config.role = key[QUOTA_PREFIX.len()..].to_string();
            recovered.quotas.push(config);
        }
    }
    for (key, value) in store.list(RESERVATIONS_PREFIX).await? {
        if let Some(reserved) = parse::<Vec<Resource>>(&key, &value, &mut recovered.skipped) {
            let agent = Id::new(&key[RESERVATIONS_PREFIX.len()..]);
            recovered.reservations.push((agent, reserved));
        }
    }
    for (key, _) in store.list(GONE_PREFIX).await? {
        recovered.gone.push(Id::new(&key[GONE_PREFIX.len()..]));
    }
    for (key, _) in store.list(UNREACHABLE_PREFIX).await? {
        recovered
            .unreachable
            .push(Id::new(&key[UNREACHABLE_PREFIX.len()..]));
    }
    Ok(recovered)
}

fn parse<T: serde::de::DeserializeOwned>(
    key: &str,
    value: &[u8],
    skipped: &mut Vec<(String, String)>,
) -> Option<T> {
    match serde_json::from_slice(value) {
        Ok(v) => Some(v),
        Err(error) => {
            tracing::error!(key, %error, "skipping a registry entry that does not parse");
            skipped.push((key.to_string(), error.to_string()));
            None
        }
    }
}

/// The most writes one registry transaction carries: etcd refuses transactions over 128
/// operations (its default `--max-txn-ops`), so a storm of queued writes goes out as several
/// transactions, in order.
pub const MAX_BATCH_OPS: usize = 100;

/// Applies registry writes in order on a background task; writes that queue up while one
/// transaction is in flight go out together, at most [`MAX_BATCH_OPS`] at a time (a queued
/// group larger than that is split). A failed write is logged; the master keeps serving from
/// memory.
pub fn spawn_writer(store: Arc<dyn StateStore>) -> mpsc::UnboundedSender<Vec<WriteOp>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<WriteOp>>();
    tokio::spawn(async move {
        let mut pending: VecDeque<WriteOp> = VecDeque::new();
        loop {
            if pending.is_empty() {
                match rx.recv().await {
                    Some(first) => pending.extend(first),
                    None => return,
                }
            }
            while pending.len() < MAX_BATCH_OPS {
                match rx.try_recv() {
                    Ok(more) => pending.extend(more),
                    Err(_) => break,
                }
            }
            let take = pending.len().min(MAX_BATCH_OPS);
            let batch: Vec<WriteOp> = pending.drain(..take).collect();
            if let Err(error) = store.apply(batch).await {
                tracing::error!(%error, "registry write failed");
            }
        }
    });
    tx
}

/// The key of the cluster's id (`/metadata` `CLUSTER_ID`).
pub const CLUSTER_ID_KEY: &str = "cluster-id";

/// The cluster's id: a lowercase v4 UUID made by the first master that leads, and kept in
/// the registry so that every master and restart reports the same one.
pub async fn cluster_id(store: &dyn StateStore) -> Result<String, StateError> {
    if let Some(bytes) = store.get(CLUSTER_ID_KEY).await? {
        let id = String::from_utf8_lossy(&bytes).trim().to_string();
        if uuid::Uuid::parse_str(&id).is_ok() {
            return Ok(id);
        }
        tracing::error!(%id, "the stored cluster id is not a UUID; making a new one");
    }
    let id = uuid::Uuid::new_v4().to_string();
    store
        .apply(vec![WriteOp::Put {
            key: CLUSTER_ID_KEY.to_string(),
            value: id.clone().into_bytes(),
        }])
        .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry_records::put_agent;
    use corral_api::v1::AgentInfo;
    use corral_state::EtcdStore;
    use corral_state::etcd_test_server::EtcdServer;

    fn agent(i: usize) -> AgentInfo {
        AgentInfo {
            hostname: format!("host-{i}"),
            id: Some(Id::new(format!("agent-{i:04}"))),
            ..AgentInfo::default()
        }
    }

    /// A re-registration storm: hundreds of agent writes queued at once must all land in
    /// etcd (which refuses transactions over 128 ops), and later writes win over earlier ones.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_storm_of_writes_lands_in_etcd_in_order() {
        let server = EtcdServer::start();
        let store: Arc<dyn StateStore> = Arc::new(
            EtcdStore::connect(std::slice::from_ref(&server.endpoint), "/storm/", None)
                .await
                .expect("connect"),
        );
        let writer = spawn_writer(store.clone());
        for i in 0..300 {
            writer.send(vec![put_agent(&agent(i))]).expect("queue");
        }
        // One group bigger than a transaction, and a rewrite of agent 7 after its first write.
        let big: Vec<WriteOp> = (300..450).map(|i| put_agent(&agent(i))).collect();
        writer.send(big).expect("queue");
        let mut renamed = agent(7);
        renamed.hostname = "renamed".into();
        writer.send(vec![put_agent(&renamed)]).expect("queue");

        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        let recovered = loop {
            let recovered = load(store.as_ref()).await.expect("load");
            if recovered.agents.len() == 450 && recovered.agents[7].hostname == "renamed" {
                break recovered;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of 450 agents landed",
                recovered.agents.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert_eq!(
            recovered.agents[449].id.as_ref().map(|i| i.value.as_str()),
            Some("agent-0449")
        );
    }

    /// A registry value that does not parse is skipped with its key named; the rest loads.
    #[tokio::test]
    async fn a_value_that_does_not_parse_is_skipped_with_its_key_named() {
        let store = corral_state::MemoryStore::new();
        store
            .apply(vec![
                put_agent(&agent(1)),
                WriteOp::Put {
                    key: format!("{AGENTS_PREFIX}agent-0002"),
                    value: b"{not json".to_vec(),
                },
                WriteOp::Put {
                    key: format!("{FRAMEWORKS_PREFIX}fw-1"),
                    value: b"[1, 2]".to_vec(),
                },
            ])
            .await
            .expect("write");
        let recovered = load(&store).await.expect("the rest loads");
        assert_eq!(recovered.agents.len(), 1);
        assert_eq!(recovered.agents[0].hostname, "host-1");
        assert!(recovered.frameworks.is_empty());
        let keys: Vec<&str> = recovered.skipped.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["frameworks/fw-1", "agents/agent-0002"]);
    }
}
