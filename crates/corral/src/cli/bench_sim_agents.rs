//! Simulated agents that run nothing but answer as agents do: each holds a real agent stream
//! to the master, reports TASK_RUNNING for every task it is sent and TASK_KILLED for every
//! kill. `corral bench services` puts thousands of tasks on them, which real processes on
//! two cores could not hold; the master, the services component and etcd are real.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;

use corral_agent::task_status::{StatusFields, new_status};
use corral_api::agent_protocol::{
    AgentCommand, AgentSubscribe, SUBSCRIBE_PATH, StatusUpdateMessage, UPDATE_PATH,
};
use corral_api::recordio::Decoder;
use corral_api::v1::{AgentId, AgentInfo, FrameworkId, Resource, StatusSource, TaskId, TaskState};

/// What the simulated agents have seen, over all of them.
#[derive(Debug, Default)]
pub struct SimCounters {
    pub registered: AtomicUsize,
    /// Streams that ended (the master closed one): the figures are then suspect.
    pub disconnected: AtomicUsize,
    /// Status updates the master did not take.
    pub failed_updates: AtomicUsize,
}

/// Starts `count` agents registering with `master`, each with `resources`.
pub fn start(master: &str, count: usize, resources: &[Resource]) -> Arc<SimCounters> {
    let counters = Arc::new(SimCounters::default());
    let http = corral_client::client_tls::client();
    for i in 0..count {
        let message = AgentSubscribe {
            agent_id: None,
            info: AgentInfo {
                hostname: format!("sim-{i}"),
                port: None,
                resources: resources.to_vec(),
                ..Default::default()
            },
            tasks: Vec::new(),
            frameworks: Vec::new(),
            version: corral_api::VERSION.to_string(),
            isolation_note: None,
            scheme: Default::default(),
        };
        tokio::spawn(run_agent(
            master.to_string(),
            message,
            http.clone(),
            counters.clone(),
        ));
    }
    counters
}

/// One agent: subscribe, then answer the stream's commands until it ends.
async fn run_agent(
    master: String,
    message: AgentSubscribe,
    http: reqwest::Client,
    counters: Arc<SimCounters>,
) {
    let response = http
        .post(format!("http://{master}{SUBSCRIBE_PATH}"))
        .json(&message)
        .send()
        .await;
    let Ok(response) = response.and_then(|r| r.error_for_status()) else {
        counters.disconnected.fetch_add(1, Ordering::SeqCst);
        return;
    };
    let mut agent_id = AgentId::new(String::new());
    let mut stream = response.bytes_stream();
    let mut decoder = Decoder::default();
    while let Some(Ok(chunk)) = stream.next().await {
        decoder.feed(&chunk);
        while let Ok(Some(record)) = decoder.next_record() {
            let Ok(command) = serde_json::from_slice::<AgentCommand>(&record) else {
                continue;
            };
            match command {
                AgentCommand::Registered { agent_id: id } => {
                    agent_id = id;
                    counters.registered.fetch_add(1, Ordering::SeqCst);
                }
                AgentCommand::RunTask { framework, task } => {
                    let Some(framework_id) = framework.id.clone() else {
                        continue;
                    };
                    tokio::spawn(report(
                        http.clone(),
                        master.clone(),
                        update(
                            &agent_id,
                            framework_id,
                            task.task_id.clone(),
                            TaskState::TaskRunning,
                        ),
                        counters.clone(),
                    ));
                }
                AgentCommand::KillTask {
                    framework_id,
                    task_id,
                    ..
                } => {
                    tokio::spawn(report(
                        http.clone(),
                        master.clone(),
                        update(&agent_id, framework_id, task_id, TaskState::TaskKilled),
                        counters.clone(),
                    ));
                }
                _ => {}
            }
        }
    }
    counters.disconnected.fetch_add(1, Ordering::SeqCst);
}

/// A status update as the agent's executor reports it (the agent's own builder: a fresh
/// uuid to acknowledge, the time).
fn update(
    agent_id: &AgentId,
    framework_id: FrameworkId,
    task_id: TaskId,
    state: TaskState,
) -> StatusUpdateMessage {
    StatusUpdateMessage {
        agent_id: agent_id.clone(),
        framework_id,
        status: new_status(
            &task_id,
            state,
            StatusSource::SourceExecutor,
            Some(agent_id.clone()),
            StatusFields::default(),
        ),
    }
}

/// Posts `message` to the master, retrying a few times as the agent's update sender does.
async fn report(
    http: reqwest::Client,
    master: String,
    message: StatusUpdateMessage,
    counters: Arc<SimCounters>,
) {
    let url = format!("http://{master}{UPDATE_PATH}");
    for _ in 0..5 {
        let sent = http.post(&url).json(&message).send().await;
        if sent.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    counters.failed_updates.fetch_add(1, Ordering::SeqCst);
}
