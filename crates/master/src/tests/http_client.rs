//! A real master on a free loopback port, and the clients tests need: a framework speaking
//! the v1 scheduler API and a fake agent speaking the internal protocol.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::{MasterConfig, MasterHandle, StateSpec, run};
use corral_api::agent_protocol::{
    AgentCommand, AgentSubscribe, SUBSCRIBE_PATH, StatusUpdateMessage, UPDATE_PATH,
};
use corral_api::recordio::Decoder;
use corral_api::scheduler::{Event, EventType};
use corral_plugin_host::hook_chain::HookChain;
use corral_state::StateStore;

use super::test_allocator::{factory, knobs};

pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestMaster {
    pub handle: MasterHandle,
    pub base: String,
    pub client: reqwest::Client,
}

pub async fn start_master(store: Arc<dyn StateStore>) -> TestMaster {
    start_master_with_hooks(store, HookChain::default()).await
}

/// A master whose `on-launch` and `on-agent-register` hooks are `hooks`.
pub async fn start_master_with_hooks(store: Arc<dyn StateStore>, hooks: HookChain) -> TestMaster {
    let config = MasterConfig {
        listen: "127.0.0.1:0".parse().expect("address parses"),
        hostname: "localhost".into(),
        state: StateSpec::Memory,
        allocator: "test".into(),
        allocation_interval: Duration::from_millis(200),
        heartbeat_interval: Duration::from_millis(300),
        hooks,
        upstreams: Default::default(),
        auth: Default::default(),
        authorizer_cache_ttl: std::time::Duration::from_secs(10),
        authorizer: None,
        plugin_capabilities: Default::default(),
        tls: None,
        agent_tls: None,
    };
    let handle = run(config, factory(knobs()), store)
        .await
        .expect("master starts");
    let base = format!("http://{}", handle.addr);
    TestMaster {
        handle,
        base,
        client: corral_client::client_tls::client(),
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A RecordIO stream of JSON records of type T.
pub struct Records<T> {
    body: ByteStream,
    decoder: Decoder,
    _kind: std::marker::PhantomData<T>,
}

impl<T: DeserializeOwned> Records<T> {
    pub fn new(response: reqwest::Response) -> Self {
        Records {
            body: Box::pin(response.bytes_stream()),
            decoder: Decoder::default(),
            _kind: Default::default(),
        }
    }

    /// The next record; `None` when the stream ended or nothing came within WAIT.
    pub async fn next(&mut self) -> Option<T> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(record) = self.decoder.next_record().expect("valid RecordIO") {
                return Some(
                    serde_json::from_slice(&record).expect("record is valid JSON of its type"),
                );
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.decoder.feed(&chunk),
                _ => return None,
            }
        }
    }
}

impl Records<Event> {
    /// The next event that is not a HEARTBEAT.
    pub async fn next_event(&mut self) -> Option<Event> {
        loop {
            let event = self.next().await?;
            if event.kind != EventType::Heartbeat {
                return Some(event);
            }
        }
    }
}

impl Records<AgentCommand> {
    /// The next command that is not a Ping or the active plugin set.
    pub async fn next_command(&mut self) -> Option<AgentCommand> {
        self.next_except(|c| matches!(c, AgentCommand::Ping | AgentCommand::Plugins { .. }))
            .await
    }

    /// The next command that is not a Ping (the master pings every few seconds).
    pub async fn next_unpinged(&mut self) -> Option<AgentCommand> {
        self.next_except(|c| matches!(c, AgentCommand::Ping)).await
    }

    async fn next_except(&mut self, skip: impl Fn(&AgentCommand) -> bool) -> Option<AgentCommand> {
        loop {
            let command = self.next().await?;
            if !skip(&command) {
                return Some(command);
            }
        }
    }
}

pub struct Framework {
    pub id: String,
    pub stream_id: String,
    pub events: Records<Event>,
}

impl TestMaster {
    pub async fn post(&self, path: &str, stream_id: Option<&str>, body: &Value) -> (u16, String) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        if let Some(id) = stream_id {
            request = request.header("Mesos-Stream-Id", id);
        }
        let response = request.send().await.expect("request reaches the master");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    pub async fn subscribe_response(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}/api/v1/scheduler", self.base))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request reaches the master")
    }

    /// Subscribes a framework and reads its SUBSCRIBED event.
    pub async fn subscribe(&self, framework_info: Value) -> Framework {
        let response = self
            .subscribe_response(
                &json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info}}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 200);
        let stream_id = response
            .headers()
            .get("Mesos-Stream-Id")
            .and_then(|v| v.to_str().ok())
            .expect("Mesos-Stream-Id header")
            .to_string();
        let mut events: Records<Event> = Records::new(response);
        let subscribed = events.next().await.expect("SUBSCRIBED arrives");
        assert_eq!(subscribed.kind, EventType::Subscribed);
        let id = subscribed
            .subscribed
            .expect("subscribed body")
            .framework_id
            .value;
        Framework {
            id,
            stream_id,
            events,
        }
    }

    /// A framework call with its stream id.
    pub async fn call(&self, framework: &Framework, mut call: Value) -> (u16, String) {
        call["framework_id"] = json!({"value": framework.id});
        self.post("/api/v1/scheduler", Some(&framework.stream_id), &call)
            .await
    }

    pub async fn agent_subscribe(&self, request: &AgentSubscribe) -> Records<AgentCommand> {
        let response = self
            .client
            .post(format!("{}{SUBSCRIBE_PATH}", self.base))
            .json(request)
            .send()
            .await
            .expect("request reaches the master");
        assert_eq!(response.status().as_u16(), 200);
        Records::new(response)
    }

    pub async fn agent_update(&self, message: &StatusUpdateMessage) -> u16 {
        let response = self
            .client
            .post(format!("{}{UPDATE_PATH}", self.base))
            .json(message)
            .send()
            .await
            .expect("request reaches the master");
        response.status().as_u16()
    }

    pub async fn operator(&self, kind: &str) -> Value {
        let (status, body) = self.post("/api/v1", None, &json!({"type": kind})).await;
        assert_eq!(status, 200, "{kind}: {body}");
        serde_json::from_str(&body).expect("operator answers JSON")
    }
}
