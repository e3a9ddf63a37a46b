use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use corral_api::agent_protocol::{AgentCommand, StatusUpdateMessage};
use corral_api::scheduler::EventType;
use corral_api::v1::{Id, TaskId, TaskStatus};

use super::harness::agent_subscribe;
use super::http_client::start_master;
use corral_state::memory::MemoryStore;
use corral_state::{StateStore, WriteOp};

async fn keys_of(store: &MemoryStore) -> Vec<String> {
    let entries = store.list("").await.expect("store lists");
    entries.into_iter().map(|(k, _)| k).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_goes_away_has_its_offers_rescinded() {
    let m = start_master(Arc::new(MemoryStore::new())).await;
    let mut fw = m.subscribe(json!({"user": "u", "name": "f"})).await;
    let mut agent = m
        .agent_subscribe(&agent_subscribe(None, "cpus:1;mem:128"))
        .await;
    let Some(AgentCommand::Registered { agent_id }) = agent.next_command().await else {
        panic!("Registered first");
    };
    let offer = fw
        .events
        .next_event()
        .await
        .expect("OFFERS")
        .offers
        .expect("offers")
        .offers
        .remove(0);
    drop(agent);
    let rescind = fw
        .events
        .next_event()
        .await
        .expect("RESCIND once the agent's stream closes");
    assert_eq!(rescind.kind, EventType::Rescind);
    assert_eq!(rescind.rescind.map(|r| r.offer_id), Some(offer.id));
    let agents = m.operator("GET_AGENTS").await;
    assert_eq!(agents["get_agents"]["agents"][0]["active"], false);

    let mut again = m
        .agent_subscribe(&agent_subscribe(Some(agent_id.clone()), "cpus:1;mem:128"))
        .await;
    assert_eq!(
        again.next_command().await,
        Some(AgentCommand::Registered { agent_id })
    );
    let offers = fw
        .events
        .next_event()
        .await
        .expect("offered again after re-registration");
    assert_eq!(offers.kind, EventType::Offers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_protocol_errors_are_400s() {
    let m = start_master(Arc::new(MemoryStore::new())).await;
    let update = StatusUpdateMessage {
        agent_id: Id::new("nobody"),
        framework_id: Id::new("f"),
        status: TaskStatus {
            task_id: TaskId::new("t"),
            ..Default::default()
        },
    };
    assert_eq!(m.agent_update(&update).await, 400);
    let (status, body) = m
        .post("/internal/v1/agent/subscribe", None, &json!({"info": {}}))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = m
        .post("/internal/v1/agent/subscribe", None, &json!([1, 2]))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        m.operator("GET_HEALTH").await["get_health"]["healthy"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_master_knows_its_frameworks_and_agents_and_skips_bad_entries() {
    let store = Arc::new(MemoryStore::new());
    let corrupt = WriteOp::Put {
        key: "frameworks/broken".into(),
        value: b"{not json".to_vec(),
    };
    store
        .apply(vec![corrupt])
        .await
        .expect("store accepts the write");
    let m1 = start_master(store.clone()).await;
    let fw = m1
        .subscribe(json!({"user": "u", "name": "keeper", "failover_timeout": 3600}))
        .await;
    let mut agent = m1
        .agent_subscribe(&agent_subscribe(None, "cpus:1;mem:128"))
        .await;
    let Some(AgentCommand::Registered { agent_id }) = agent.next_command().await else {
        panic!("Registered first");
    };
    let mut keys = Vec::new();
    for _ in 0..50 {
        keys = keys_of(&store).await;
        if keys.contains(&format!("agents/{agent_id}"))
            && keys.contains(&format!("frameworks/{}", fw.id))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(keys.contains(&format!("frameworks/{}", fw.id)), "{keys:?}");
    m1.handle.shutdown();
    assert!(
        agent.next_command().await.is_none(),
        "a stopped master ends its streams"
    );
    let fw_id = fw.id.clone();
    drop(agent);
    drop(fw);
    // Give a wrongly handled stream close time to remove the framework.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        keys_of(&store)
            .await
            .contains(&format!("frameworks/{fw_id}")),
        "a stop is not a disconnect"
    );

    let m2 = start_master(store.clone()).await;
    let frameworks = m2.operator("GET_FRAMEWORKS").await;
    let known = &frameworks["get_frameworks"]["frameworks"];
    assert_eq!(
        known.as_array().map(Vec::len),
        Some(1),
        "the broken entry is skipped: {frameworks}"
    );
    assert_eq!(known[0]["framework_info"]["name"], "keeper");
    assert_eq!(known[0]["recovered"], true);
    let agents = m2.operator("GET_AGENTS").await;
    assert_eq!(
        agents["get_agents"]["recovered_agents"][0]["id"]["value"],
        agent_id.value
    );
    let mut agent = m2
        .agent_subscribe(&agent_subscribe(Some(agent_id.clone()), "cpus:1;mem:128"))
        .await;
    assert_eq!(
        agent.next_command().await,
        Some(AgentCommand::Registered { agent_id })
    );
    let mut fw = m2
        .subscribe(json!({"user": "u", "name": "keeper", "failover_timeout": 3600, "id": {"value": fw_id}}))
        .await;
    assert_eq!(fw.id, fw_id);
    assert_eq!(
        fw.events.next_event().await.map(|e| e.kind),
        Some(EventType::Offers)
    );
}
