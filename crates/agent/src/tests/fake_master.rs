//! A master that speaks only the agent protocol: it records subscriptions and status
//! updates, assigns an id, lets the test push commands or break the stream, and can
//! acknowledge every update it receives.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use futures::StreamExt;
use tokio::sync::mpsc;

use corral_api::agent_protocol::{
    AgentCommand, AgentSubscribe, SUBSCRIBE_PATH, StatusUpdateMessage, UPDATE_PATH,
};
use corral_api::recordio;
use corral_api::v1::{AgentId, TaskState, TaskStatus};

pub const ASSIGNED_ID: &str = "agent-from-fake-master";

#[derive(Default)]
struct Inner {
    subscriptions: Mutex<Vec<AgentSubscribe>>,
    updates: Mutex<Vec<StatusUpdateMessage>>,
    stream: Mutex<Option<mpsc::UnboundedSender<AgentCommand>>>,
    auto_ack: AtomicBool,
    /// What `GET /api/corral/v1/plugins/{sha}` serves, by sha (the test may lie).
    plugin_bytes: Mutex<std::collections::HashMap<String, Vec<u8>>>,
    plugin_reports: Mutex<Vec<corral_api::agent_protocol::AgentPluginReport>>,
    /// Refuses every call as a master refuses an agent it marked gone.
    gone: AtomicBool,
}

pub struct FakeMaster {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeMaster {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeMaster {
    pub async fn start(auto_ack: bool) -> FakeMaster {
        let inner = Arc::new(Inner::default());
        inner.auto_ack.store(auto_ack, Ordering::SeqCst);
        let router = Router::new()
            .route(SUBSCRIBE_PATH, post(subscribe))
            .route(UPDATE_PATH, post(update))
            .route(
                corral_api::agent_protocol::PLUGINS_PATH,
                post(plugin_report),
            )
            .route(
                "/api/corral/v1/plugins/{sha}",
                axum::routing::get(plugin_fetch),
            )
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake master binds a free port");
        let addr = listener.local_addr().expect("bound address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeMaster {
            addr,
            inner,
            server,
        }
    }

    /// Serves `bytes` as the plugin `sha` (they need not hash to it).
    pub fn serve_plugin(&self, sha: &str, bytes: &[u8]) {
        self.inner
            .plugin_bytes
            .lock()
            .expect("lock")
            .insert(sha.to_string(), bytes.to_vec());
    }

    /// The agent's plugin reports so far.
    pub fn plugin_reports(&self) -> Vec<corral_api::agent_protocol::AgentPluginReport> {
        self.inner.plugin_reports.lock().expect("lock").clone()
    }

    pub fn set_auto_ack(&self, on: bool) {
        self.inner.auto_ack.store(on, Ordering::SeqCst);
    }

    /// Pushes a command down the current stream.
    pub fn send(&self, command: AgentCommand) {
        let stream = self.inner.stream.lock().expect("stream lock");
        let sender = stream.as_ref().expect("an agent is subscribed");
        sender.send(command).expect("the agent's stream is open");
    }

    /// From now on refuses every subscription and update as the master refuses a gone agent
    /// (`agents.rs`: a 403 with Mesos' words).
    pub fn refuse_as_gone(&self) {
        self.inner.gone.store(true, Ordering::SeqCst);
    }

    /// Ends the current stream, as a master restart or a network break would.
    pub fn break_stream(&self) {
        self.inner.stream.lock().expect("stream lock").take();
    }

    pub fn subscriptions(&self) -> Vec<AgentSubscribe> {
        self.inner.subscriptions.lock().expect("lock").clone()
    }

    pub fn updates(&self) -> Vec<StatusUpdateMessage> {
        self.inner.updates.lock().expect("lock").clone()
    }

    /// Every status received for `task`, resends included, in arrival order.
    pub fn statuses_of(&self, task: &str) -> Vec<TaskStatus> {
        self.updates()
            .into_iter()
            .filter(|u| u.status.task_id.value == task)
            .map(|u| u.status)
            .collect()
    }

    /// The distinct states received for `task`, in order (resends collapsed).
    pub fn states_of(&self, task: &str) -> Vec<TaskState> {
        let mut out: Vec<TaskState> = Vec::new();
        let mut seen_uuids: Vec<String> = Vec::new();
        for status in self.statuses_of(task) {
            let uuid = status.uuid.clone().unwrap_or_default();
            if !seen_uuids.contains(&uuid) {
                seen_uuids.push(uuid);
                out.push(status.state);
            }
        }
        out
    }

    /// Acknowledges one update as the framework would.
    pub fn acknowledge(&self, update: &StatusUpdateMessage) {
        self.send(ack_for(update));
    }

    /// Polls until `check` holds, or fails the test saying what was recorded.
    pub async fn wait_until(&self, what: &str, check: impl Fn(&FakeMaster) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while !check(self) {
            if tokio::time::Instant::now() > deadline {
                let states: Vec<_> = self
                    .updates()
                    .iter()
                    .map(|u| format!("{}:{}", u.status.task_id, u.status.state))
                    .collect();
                panic!(
                    "timed out waiting for {what}; subscriptions: {}, updates: {states:?}",
                    self.subscriptions().len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn ack_for(update: &StatusUpdateMessage) -> AgentCommand {
    AgentCommand::Acknowledge {
        framework_id: update.framework_id.clone(),
        task_id: update.status.task_id.clone(),
        uuid: update
            .status
            .uuid
            .clone()
            .expect("agent updates carry a uuid"),
    }
}

/// The master's 403 to a gone agent (`agents.rs` check_not_gone).
fn gone_refusal() -> axum::response::Response {
    use axum::response::IntoResponse;
    let message = format!(
        "{}: agent '{ASSIGNED_ID}' may not register or report again",
        corral_api::agent_protocol::AGENT_GONE
    );
    let body = serde_json::json!({ "message": message }).to_string();
    (StatusCode::FORBIDDEN, body).into_response()
}

async fn subscribe(
    State(inner): State<Arc<Inner>>,
    body: Bytes,
) -> Result<Body, axum::response::Response> {
    use axum::response::IntoResponse;
    if inner.gone.load(Ordering::SeqCst) {
        return Err(gone_refusal());
    }
    let message: AgentSubscribe =
        serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST.into_response())?;
    let agent_id = message
        .agent_id
        .clone()
        .unwrap_or_else(|| AgentId::new(ASSIGNED_ID));
    inner.subscriptions.lock().expect("lock").push(message);
    let (sender, receiver) = mpsc::unbounded_channel();
    sender
        .send(AgentCommand::Registered { agent_id })
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
    // Pings as the master does (every PING_INTERVAL_SECS), so that a test idle on the stream
    // longer than the agent's silence limit keeps it. A weak sender: replacing the sender
    // still ends the stream.
    let pinger = sender.downgrade();
    tokio::spawn(async move {
        let every = Duration::from_secs(corral_api::agent_protocol::PING_INTERVAL_SECS);
        loop {
            tokio::time::sleep(every).await;
            let Some(sender) = pinger.upgrade() else {
                return;
            };
            if sender.send(AgentCommand::Ping).is_err() {
                return;
            }
        }
    });
    // Replacing the sender ends the previous stream.
    *inner.stream.lock().expect("lock") = Some(sender);
    let records = tokio_stream::wrappers::UnboundedReceiverStream::new(receiver).map(|command| {
        let json = serde_json::to_vec(&command).expect("commands serialize");
        Ok::<Bytes, Infallible>(recordio::encode(&json))
    });
    Ok(Body::from_stream(records))
}

async fn update(State(inner): State<Arc<Inner>>, body: Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    if inner.gone.load(Ordering::SeqCst) {
        return gone_refusal();
    }
    let Ok(message) = serde_json::from_slice::<StatusUpdateMessage>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let ack = ack_for(&message);
    inner.updates.lock().expect("lock").push(message);
    if inner.auto_ack.load(Ordering::SeqCst)
        && let Some(stream) = inner.stream.lock().expect("lock").as_ref()
    {
        let _ = stream.send(ack);
    }
    StatusCode::ACCEPTED.into_response()
}

async fn plugin_fetch(
    State(inner): State<Arc<Inner>>,
    axum::extract::Path(sha): axum::extract::Path<String>,
) -> Result<Vec<u8>, StatusCode> {
    let served = inner.plugin_bytes.lock().expect("lock").get(&sha).cloned();
    served.ok_or(StatusCode::NOT_FOUND)
}

async fn plugin_report(State(inner): State<Arc<Inner>>, body: Bytes) -> StatusCode {
    match serde_json::from_slice(&body) {
        Ok(report) => {
            inner.plugin_reports.lock().expect("lock").push(report);
            StatusCode::ACCEPTED
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}
