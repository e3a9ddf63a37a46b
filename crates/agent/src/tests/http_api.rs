//! The agent's HTTP API as an operator's tools use it.

use std::time::Duration;

use serde_json::{Value, json};

use super::fake_master::FakeMaster;
use super::support::*;
use corral_api::agent_protocol::AgentCommand;
use corral_api::resources::parse_resources;
use corral_api::v1::TaskState;

async fn call(agent: &crate::AgentHandle, body: &str) -> (u16, Value) {
    let response = corral_client::client_tls::client()
        .post(format!("http://{}/api/v1", agent.addr))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("agent answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn health_version_and_tasks() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), Duration::from_secs(1)).await;
    let health = crate::tests::support::http_get(format!("http://{}/health", agent.addr))
        .await
        .expect("agent answers");
    assert_eq!(health.status(), 200);
    let version: Value = crate::tests::support::http_get(format!("http://{}/version", agent.addr))
        .await
        .expect("agent answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(version["version"], corral_api::VERSION);

    assert_eq!(
        call(&agent, r#"{"type":"GET_HEALTH"}"#).await,
        (
            200,
            json!({"type": "GET_HEALTH", "get_health": {"healthy": true}})
        )
    );
    let (status, body) = call(&agent, r#"{"type":"GET_VERSION"}"#).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["get_version"]["version_info"]["version"],
        corral_api::VERSION
    );

    let mut web = shell_task("web", "web", "sleep 100", None);
    if let AgentCommand::RunTask { task, .. } = &mut web {
        task.resources = parse_resources("cpus:0.1;mem:32").expect("resources");
    }
    master.send(web);
    master
        .wait_until("web to run", |m| {
            m.states_of("web").contains(&TaskState::TaskRunning)
        })
        .await;
    let (status, body) = call(&agent, r#"{"type":"GET_TASKS"}"#).await;
    assert_eq!(status, 200);
    let tasks = body["get_tasks"]["tasks"]
        .as_array()
        .expect("tasks")
        .clone();
    assert_eq!(tasks.len(), 1, "{body}");
    assert_eq!(tasks[0]["task_id"]["value"], "web");
    assert_eq!(tasks[0]["state"], "TASK_RUNNING");
    assert_eq!(tasks[0]["framework_id"]["value"], FRAMEWORK);
    assert_eq!(
        body["get_tasks"]["launched_tasks"],
        json!(tasks),
        "Mesos' name too"
    );

    // The same call in protobuf (agent.proto), answered in protobuf.
    let protobuf = corral_mesos_proto::encode(
        corral_mesos_proto::names::AGENT_CALL,
        &json!({"type": "GET_TASKS"}),
    )
    .expect("a Call encodes");
    let response = corral_client::client_tls::client()
        .post(format!("http://{}/api/v1", agent.addr))
        .header("Content-Type", "application/x-protobuf")
        .header("Accept", "application/x-protobuf")
        .body(protobuf)
        .send()
        .await
        .expect("agent answers");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let bytes = response.bytes().await.expect("a body");
    let answer = corral_mesos_proto::decode(corral_mesos_proto::names::AGENT_RESPONSE, &bytes)
        .expect("an agent Response");
    assert_eq!(answer["type"], "GET_TASKS");
    let launched = &answer["get_tasks"]["launched_tasks"];
    assert_eq!(launched[0]["task_id"]["value"], "web", "{answer}");
    assert_eq!(launched[0]["state"], "TASK_RUNNING");

    let state = agent_state(&agent).await;
    assert_eq!(state["tasks"][0]["state"], "TASK_RUNNING");
    assert_eq!(state["hostname"], "localhost");
    let sandbox = state["tasks"][0]["sandbox"]
        .as_str()
        .expect("sandbox")
        .to_string();
    assert!(std::path::Path::new(&sandbox).join("stdout").exists());

    // Prometheus' view of the same agent.
    let metrics = crate::tests::support::http_get(format!("http://{}/metrics", agent.addr))
        .await
        .expect("agent answers");
    assert_eq!(
        metrics.headers()["content-type"],
        corral_http::prometheus::CONTENT_TYPE
    );
    let metrics = metrics.text().await.expect("text");
    for line in [
        "corral_agent_registered 1",
        "corral_agent_tasks{state=\"TASK_RUNNING\"} 1",
        "corral_agent_tasks{state=\"TASK_FINISHED\"} 0",
        "corral_agent_containers 1",
        "# TYPE corral_plugin_call_seconds histogram",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
    assert!(
        metrics.contains(&format!(
            "corral_build_info{{component=\"agent\",version=\"{}\"}} 1",
            corral_api::VERSION
        )),
        "{metrics}"
    );
    // The running task's container, labelled with its ids, with its share of the CPUs.
    let limit = metrics
        .lines()
        .find(|l| {
            l.starts_with("corral_agent_container_cpus_limit{container_id=\"")
                && l.contains("task_id=\"web\"")
                && l.contains(&format!("framework_id=\"{FRAMEWORK}\""))
        })
        .unwrap_or_else(|| panic!("no container series for web in {metrics}"));
    assert!(limit.ends_with(" 0.1"), "{limit}");
    // The fake master acknowledges every update (TASK_STARTING, TASK_RUNNING): each one's
    // wait is counted.
    assert!(
        metrics
            .lines()
            .any(|l| l == "# TYPE corral_agent_status_update_acknowledgement_seconds histogram"),
        "{metrics}"
    );
    let acknowledged: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("corral_agent_status_update_acknowledgement_seconds_count "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no _count in {metrics}"));
    assert!(acknowledged >= 1.0, "{metrics}");
    agent.shutdown().await;
}

#[tokio::test]
async fn bad_calls_get_a_400_with_a_message_and_the_agent_keeps_serving() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), Duration::from_secs(1)).await;
    for body in [
        "{not json",
        r#"{"type":"NO_SUCH_CALL"}"#,
        r#"{"type":"GET_AGENTS"}"#,
    ] {
        let (status, answer) = call(&agent, body).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}: {answer}"
        );
    }
    let (_, answer) = call(&agent, r#"{"type":"GET_AGENTS"}"#).await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("GET_AGENTS")
    );
    assert_eq!(call(&agent, r#"{"type":"GET_HEALTH"}"#).await.0, 200);
    agent.shutdown().await;
}
