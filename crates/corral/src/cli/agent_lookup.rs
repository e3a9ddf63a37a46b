//! Finding a task's agent through the master (GET_TASKS, GET_AGENTS) and talking to that
//! agent's HTTP API, for `corral task logs` and `corral top`.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};

use corral_api::agent_protocol::AgentScheme;
use corral_api::operator::{AgentEntry, GetAgents, GetTasks, OperatorCallType};
use corral_api::v1::Task;
use corral_client::MasterAddress;
use corral_client::operator_client::OperatorClient;

/// The agent's `host:port`, as it registered.
pub fn agent_address(agent: &AgentEntry) -> Option<String> {
    let port = agent.agent_info.port?;
    Some(format!("{}:{port}", agent.agent_info.hostname))
}

/// The master's tasks (live and completed) and agents.
pub async fn cluster_view(client: &OperatorClient) -> anyhow::Result<(GetTasks, GetAgents)> {
    let (tasks, _) = client.call(OperatorCallType::GetTasks).await?;
    let tasks = tasks
        .get_tasks
        .ok_or_else(|| anyhow!("the master's answer has no 'get_tasks' field"))?;
    let (agents, _) = client.call(OperatorCallType::GetAgents).await?;
    let agents = agents
        .get_agents
        .ok_or_else(|| anyhow!("the master's answer has no 'get_agents' field"))?;
    Ok((tasks, agents))
}

/// A client for one agent's HTTP API.
pub struct AgentClient {
    http: reqwest::Client,
    pub addr: String,
    /// https when the master is: the master's state says nothing of an agent's scheme, and a
    /// cluster whose master serves TLS has agents that do too (docs/tls.md).
    scheme: AgentScheme,
}

impl AgentClient {
    /// A client of the agent at `addr`, presenting the credential and the client
    /// certificate `master` has, trusting its CA, and speaking https if it does.
    pub fn new(addr: String, master: &MasterAddress) -> anyhow::Result<Self> {
        let http = master
            .client_builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .context("cannot make an HTTP client")?;
        let scheme = if master.is_https() {
            AgentScheme::Https
        } else {
            AgentScheme::Http
        };
        Ok(AgentClient { http, addr, scheme })
    }

    /// One agent operator call (`POST /api/v1`), answered as JSON.
    pub async fn call(&self, body: Value) -> anyhow::Result<Value> {
        let what = body["type"].as_str().unwrap_or("call").to_string();
        let response = self
            .http
            .post(self.scheme.url(&self.addr, "/api/v1"))
            .json(&body)
            .send()
            .await
            .with_context(|| format!("the agent at {} does not answer {what}", self.addr))?;
        let status = response.status();
        let value: Value = response
            .json()
            .await
            .with_context(|| format!("the agent at {} sent no JSON for {what}", self.addr))?;
        if !status.is_success() {
            let message = value["message"].as_str().unwrap_or("no message");
            bail!(
                "the agent at {} refused {what} with HTTP {status}: {message}",
                self.addr
            );
        }
        Ok(value)
    }

    /// The agent's `/state`.
    pub async fn state(&self) -> anyhow::Result<Value> {
        self.http
            .get(self.scheme.url(&self.addr, "/state"))
            .send()
            .await
            .with_context(|| format!("the agent at {} does not answer /state", self.addr))?
            .json()
            .await
            .with_context(|| format!("the agent at {} sent no JSON /state", self.addr))
    }

    /// READ_FILE: the bytes at `offset` (up to `length`) and the file's size.
    pub async fn read_file(
        &self,
        path: &str,
        offset: u64,
        length: u64,
    ) -> anyhow::Result<(Vec<u8>, u64)> {
        use base64::Engine;
        let answer = self
            .call(json!({"type": "READ_FILE",
                         "read_file": {"path": path, "offset": offset, "length": length}}))
            .await?;
        let size = answer["read_file"]["size"].as_u64().unwrap_or(0);
        let data = answer["read_file"]["data"].as_str().unwrap_or_default();
        let data = base64::engine::general_purpose::STANDARD
            .decode(data)
            .with_context(|| format!("the agent at {} sent data that is not base64", self.addr))?;
        Ok((data, size))
    }
}

/// The agent address of the task's agent.
pub fn agent_of(agents: &GetAgents, task: &Task) -> anyhow::Result<String> {
    let agent_id = &task.agent_id.value;
    let entry = agents
        .agents
        .iter()
        .find(|a| {
            a.agent_info
                .id
                .as_ref()
                .is_some_and(|id| &id.value == agent_id)
        })
        .ok_or_else(|| {
            anyhow!(
                "task '{}' ran on agent {agent_id}, which the master no longer lists",
                task.task_id.value
            )
        })?;
    agent_address(entry).ok_or_else(|| anyhow!("agent {agent_id} registered no port"))
}
