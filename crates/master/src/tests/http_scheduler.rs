use std::sync::Arc;

use serde_json::{Value, json};

use corral_api::agent_protocol::{AgentCommand, StatusUpdateMessage};
use corral_api::scheduler::EventType;
use corral_api::v1::{Id, TaskId, TaskState, TaskStatus};

use super::harness::{agent_subscribe, base64_uuid};
use super::http_client::{TestMaster, start_master};
use corral_state::memory::MemoryStore;

async fn master() -> TestMaster {
    start_master(Arc::new(MemoryStore::new())).await
}

fn message(body: &str) -> String {
    let value: Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON error body: {body}"));
    value["message"]
        .as_str()
        .expect("a message field")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_streams_recordio_with_a_stream_id_and_heartbeats() {
    let m = master().await;
    let response = m
        .subscribe_response(&json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "u", "name": "f"}}}))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    let stream_id = header("mesos-stream-id").expect("Mesos-Stream-Id");
    assert!(uuid::Uuid::parse_str(&stream_id).is_ok(), "{stream_id}");
    let mut events = super::http_client::Records::<corral_api::scheduler::Event>::new(response);
    let first = events.next().await.expect("first event");
    assert_eq!(first.kind, EventType::Subscribed);
    let subscribed = first.subscribed.expect("body");
    assert_eq!(subscribed.heartbeat_interval_seconds, Some(0.3));
    assert_eq!(
        subscribed
            .master_info
            .and_then(|i| i.address)
            .map(|a| a.port),
        Some(u32::from(m.handle.addr.port()))
    );
    let second = events.next().await.expect("a heartbeat follows");
    assert_eq!(second.kind, EventType::Heartbeat);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_accept_launch_update_and_acknowledge_end_to_end() {
    let m = master().await;
    let mut agent = m
        .agent_subscribe(&agent_subscribe(None, "cpus:2;mem:1024"))
        .await;
    let Some(AgentCommand::Registered { agent_id }) = agent.next_command().await else {
        panic!("the agent stream starts with Registered");
    };
    let mut fw = m.subscribe(json!({"user": "u", "name": "f"})).await;
    let offers = fw.events.next_event().await.expect("an OFFERS event");
    assert_eq!(offers.kind, EventType::Offers);
    let offer = offers.offers.expect("offers").offers.remove(0);
    assert_eq!(offer.agent_id, agent_id);
    let (status, body) = m
        .call(&fw, json!({
            "type": "ACCEPT",
            "accept": {
                "offer_ids": [{"value": offer.id.value}],
                "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                    "name": "hello", "task_id": {"value": "hello-1"}, "agent_id": {"value": agent_id.value},
                    "resources": [
                        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
                        {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}}
                    ],
                    "command": {"value": "echo hi"}
                }]}}],
                "filters": {"refuse_seconds": 3600}
            }
        }))
        .await;
    assert_eq!((status, body.as_str()), (202, ""));
    let Some(AgentCommand::RunTask { task, framework }) = agent.next_command().await else {
        panic!("RunTask reaches the agent");
    };
    assert_eq!(task.task_id.value, "hello-1");
    assert_eq!(framework.id.map(|i| i.value), Some(fw.id.clone()));

    let uuid = base64_uuid();
    let update = StatusUpdateMessage {
        agent_id: agent_id.clone(),
        framework_id: Id::new(fw.id.clone()),
        status: TaskStatus {
            task_id: TaskId::new("hello-1"),
            state: TaskState::TaskRunning,
            uuid: Some(uuid.clone()),
            ..Default::default()
        },
    };
    assert_eq!(m.agent_update(&update).await, 202);
    let event = fw.events.next_event().await.expect("UPDATE");
    assert_eq!(event.kind, EventType::Update);
    let status = event.update.expect("update").status;
    assert_eq!(
        (status.state, status.uuid.as_deref()),
        (TaskState::TaskRunning, Some(uuid.as_str()))
    );
    let (status, _) = m
        .call(
            &fw,
            json!({"type": "ACKNOWLEDGE", "acknowledge": {
            "agent_id": {"value": agent_id.value}, "task_id": {"value": "hello-1"}, "uuid": uuid}}),
        )
        .await;
    assert_eq!(status, 202);
    let Some(AgentCommand::Acknowledge { uuid: acked, .. }) = agent.next_command().await else {
        panic!("the acknowledgement reaches the agent");
    };
    assert_eq!(acked, uuid);
    let tasks = m.operator("GET_TASKS").await;
    assert_eq!(tasks["get_tasks"]["tasks"][0]["state"], "TASK_RUNNING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_scheduler_calls_get_clear_errors_and_the_master_keeps_serving() {
    let m = master().await;
    let fw = m
        .subscribe(json!({"user": "u", "name": "f", "failover_timeout": 60}))
        .await;
    let url = format!("{}/api/v1/scheduler", m.base);

    // A protobuf body that does not decode (field 1, FrameworkID, sent as a varint).
    let response = m
        .client
        .post(&url)
        .header("Content-Type", "application/x-protobuf")
        .body("\u{8}\u{1}")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 400);
    assert!(message(&response.text().await.expect("body")).contains("protobuf"));

    let (status, body) = m
        .post("/api/v1/scheduler", None, &json!("not a call"))
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("Failed to parse"));
    let response = m
        .client
        .post(&url)
        .header("Content-Type", "application/json")
        .body("{\"type\": ")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 400);
    let (status, body) = m
        .post(
            "/api/v1/scheduler",
            Some(&fw.stream_id),
            &json!({"type": "LAUNCH_ROCKETS", "framework_id": {"value": fw.id}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("unknown variant"), "{body}");

    let revive = json!({"type": "REVIVE", "framework_id": {"value": fw.id}});
    let (status, body) = m.post("/api/v1/scheduler", None, &revive).await;
    assert_eq!(
        (status, message(&body).as_str()),
        (
            400,
            "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
        )
    );
    let (status, body) = m
        .post("/api/v1/scheduler", Some("another-stream"), &revive)
        .await;
    assert_eq!(status, 400);
    assert!(
        message(&body)
            .contains("didn't match the stream ID currently associated with framework ID")
    );
    let unknown = json!({"type": "REVIVE", "framework_id": {"value": "nobody"}});
    let (status, body) = m
        .post("/api/v1/scheduler", Some(&fw.stream_id), &unknown)
        .await;
    assert_eq!(
        (status, message(&body).as_str()),
        (400, "Framework cannot be found")
    );
    let (status, body) = m
        .call(
            &fw,
            json!({"type": "ACKNOWLEDGE", "acknowledge": {
        "agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": "%%%"}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("acknowledge.uuid"));

    let (status, _) = m.call(&fw, revive.clone()).await;
    assert_eq!(status, 202, "still serving after bad input");
    drop(fw);
    let fw2 = m.subscribe(json!({"user": "u", "name": "f2"})).await;
    let (status, _) = m
        .call(
            &fw2,
            json!({"type": "RECONCILE", "reconcile": {"tasks": []}}),
        )
        .await;
    assert_eq!(status, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnected_framework_gets_403_and_a_resubscription_fails_the_old_stream_over() {
    let m = master().await;
    let mut first = m
        .subscribe(json!({"user": "u", "name": "f", "failover_timeout": 60}))
        .await;
    let second = m
        .subscribe(
            json!({"user": "u", "name": "f", "failover_timeout": 60, "id": {"value": first.id}}),
        )
        .await;
    assert_eq!(second.id, first.id);
    let error = first
        .events
        .next_event()
        .await
        .expect("ERROR on the old stream");
    assert_eq!(
        error.error.map(|e| e.message),
        Some("Framework failed over".to_string())
    );
    assert!(first.events.next().await.is_none(), "the old stream ends");
    let (status, _) = m.call(&second, json!({"type": "REVIVE"})).await;
    assert_eq!(status, 202);
    let (status, _) = m.call(&first, json!({"type": "REVIVE"})).await;
    assert_eq!(status, 400, "the old stream id no longer matches");
    let id = second.id.clone();
    drop(second);
    let revive = json!({"type": "REVIVE", "framework_id": {"value": id}});
    let mut last = (0, String::new());
    for _ in 0..50 {
        last = m.post("/api/v1/scheduler", Some("x"), &revive).await;
        if last.0 == 403 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        (last.0, message(&last.1).as_str()),
        (403, "Framework is not subscribed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_honours_the_accept_header() {
    let m = master().await;
    let url = format!("{}/api/v1/scheduler", m.base);
    let body =
        json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "u", "name": "f"}}})
            .to_string();
    let response = m
        .client
        .post(&url)
        .header("Content-Type", "application/json")
        .header("Accept", "text/html")
        .body(body.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 406);
    assert!(message(&response.text().await.expect("body")).contains("application/json"));
    let response = m
        .client
        .post(&url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/recordio")
        .header("Message-Accept", "application/json")
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    assert_eq!(
        header("content-type").as_deref(),
        Some("application/recordio")
    );
    assert_eq!(
        header("message-content-type").as_deref(),
        Some("application/json")
    );
    let mut events = super::http_client::Records::<corral_api::scheduler::Event>::new(response);
    assert_eq!(
        events.next().await.map(|e| e.kind),
        Some(EventType::Subscribed)
    );
}
