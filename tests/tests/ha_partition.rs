//! An agent paused (SIGSTOP) past `--agent-ping-timeout` x `--max-agent-ping-timeouts` is
//! marked unreachable: a PARTITION_AWARE framework hears TASK_UNREACHABLE, another TASK_LOST.
//! Resumed, it re-registers: the partition-aware task is TASK_RUNNING again; the task the
//! other framework was told is lost is killed.

use corral_e2e::{Cluster, Framework, framework_info, signal, task};
use serde_json::{Value, json};

async fn run_one(fw: &mut Framework, id: &str) {
    let offer = fw.offers(20).await.remove(0);
    assert_eq!(
        fw.launch(
            &offer,
            vec![task(id, &offer, "exec sleep 600", 0.1, 32.0)],
            300.0
        )
        .await,
        202
    );
    fw.task_state(id, "TASK_RUNNING", 30).await;
}

async fn agent_task_state(agent: &str, id: &str) -> Option<String> {
    let state: Value = corral_e2e::http_get(format!("http://{agent}/state"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    state["tasks"]
        .as_array()?
        .iter()
        .find(|t| t["task_id"]["value"] == id)
        .and_then(|t| t["state"].as_str().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_agent_is_unreachable_then_reconciled() {
    let mut cluster = Cluster::master(&[
        "--agent-ping-timeout",
        "1secs",
        "--max-agent-ping-timeouts",
        "3",
    ])
    .await;
    cluster.add_agent("cpus:1;mem:512", &[]).await;
    let aware_info = framework_info(
        "aware",
        json!({"capabilities": [{"type": "PARTITION_AWARE"}], "failover_timeout": 300.0}),
    );
    let mut aware = Framework::subscribe(&cluster.master_addr, aware_info).await;
    run_one(&mut aware, "aware-task").await;
    let mut plain = Framework::subscribe(
        &cluster.master_addr,
        framework_info("plain", json!({"failover_timeout": 300.0})),
    )
    .await;
    run_one(&mut plain, "plain-task").await;

    let pid = cluster.agents[0].pid();
    signal(pid, libc::SIGSTOP);
    let unreachable = aware.task_state("aware-task", "TASK_UNREACHABLE", 30).await;
    assert_eq!(unreachable["reason"], "REASON_AGENT_REMOVED");
    plain.task_state("plain-task", "TASK_LOST", 10).await;
    signal(pid, libc::SIGCONT);

    let back = aware.task_state("aware-task", "TASK_RUNNING", 30).await;
    assert_eq!(
        back["agent_id"],
        unreachable["agent_id"],
        "{}",
        cluster.logs()
    );
    let agent = cluster.agent_addrs[0].clone();
    corral_e2e::eventually(30, "the lost task to be killed on its agent", || {
        let agent = agent.clone();
        async move {
            (agent_task_state(&agent, "plain-task").await.as_deref() == Some("TASK_KILLED"))
                .then_some(())
        }
    })
    .await;
    assert_eq!(
        agent_task_state(&cluster.agent_addrs[0], "aware-task")
            .await
            .as_deref(),
        Some("TASK_RUNNING"),
        "the partition-aware task was never touched"
    );

    // The operator marks the agent gone: its task is gone, and it may not come back.
    let agent_id = back["agent_id"]["value"]
        .as_str()
        .expect("agent id")
        .to_string();
    let response = corral_e2e::http_client()
        .post(format!("http://{}/api/v1", cluster.master_addr))
        .json(&json!({"type": "MARK_AGENT_GONE",
            "mark_agent_gone": {"agent_id": {"value": agent_id}}}))
        .send()
        .await
        .expect("MARK_AGENT_GONE");
    assert_eq!(response.status().as_u16(), 200);
    aware
        .task_state("aware-task", "TASK_GONE_BY_OPERATOR", 10)
        .await;
    // Told so, the agent kills the task and exits, saying why.
    cluster.agents[0]
        .wait_for_log(
            "the master marked this agent gone (MARK_AGENT_GONE): killed 1 task, exiting",
            20,
        )
        .await;
    let agent = cluster.agent_addrs[0].clone();
    corral_e2e::eventually(20, "the gone agent's process to end", || {
        let url = format!("http://{agent}/health");
        async move { corral_e2e::http_get(url).await.is_err().then_some(()) }
    })
    .await;
    assert_eq!(cluster.active_agents().await, 0, "{}", cluster.logs());
}
