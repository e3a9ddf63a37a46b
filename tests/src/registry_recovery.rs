//! What a master restarted on a durable registry (etcd, plain or over TLS) must know before
//! any agent re-registers: the agent and the framework it wrote there.

use serde_json::Value;

use crate::{Cluster, eventually, operator, signal};

/// The ids at `id_path` of each entry of a JSON list (`["agent_info", "id", "value"]`).
pub fn ids(list: &Value, id_path: &[&str]) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| id_path.iter().fold(item, |v, part| &v[*part]).as_str())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Restarts the master with the only agent paused, so it can learn of the agent only from
/// its registry; asserts it recovered exactly `agent_id` and `framework_id` (`how` names the
/// registry in the messages) and answers GET_FRAMEWORKS' frameworks. The agent runs again
/// afterwards.
pub async fn restart_master_from_registry(
    cluster: &mut Cluster,
    agent_id: &str,
    framework_id: &str,
    how: &str,
) -> Value {
    let agent_pid = cluster.agents[0].pid();
    signal(agent_pid, libc::SIGSTOP);
    cluster.master.restart();
    let master = cluster.master_addr.clone();
    cluster.wait_healthy(&master).await;
    // A master on etcd answers /health before it leads; an operator call is held for a while
    // and then refused until the election and the registry load are done.
    let agents = eventually(30, "the restarted master to answer GET_AGENTS", || {
        let master = master.clone();
        async move { operator(&master, "GET_AGENTS").await.ok() }
    })
    .await;
    let recovered = ids(&agents["get_agents"]["recovered_agents"], &["id", "value"]);
    signal(agent_pid, libc::SIGCONT);
    assert_eq!(
        recovered,
        [agent_id],
        "the restarted master read the agent from {how}: {agents}\n{}",
        cluster.logs()
    );
    let frameworks = operator(&master, "GET_FRAMEWORKS")
        .await
        .expect("GET_FRAMEWORKS");
    let known = frameworks["get_frameworks"]["frameworks"].clone();
    assert_eq!(
        ids(&known, &["framework_info", "id", "value"]),
        [framework_id],
        "the restarted master read the framework from {how}: {frameworks}"
    );
    known
}
