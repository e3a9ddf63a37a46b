//! The master<->agent protocol (Corral's own; Mesos uses libprocess messages here).
//!
//! - The agent calls `POST /internal/v1/agent/subscribe` with [`AgentSubscribe`]; the master
//!   answers 200 with a RecordIO stream of [`AgentCommand`]s that starts with `Registered`
//!   and carries `Ping`s every few seconds. When the stream breaks the agent re-subscribes with
//!   its id and the tasks it runs; the master treats the agent as disconnected meanwhile.
//! - The agent calls `POST /internal/v1/agent/update` with a [`StatusUpdateMessage`] (202) for
//!   every status update until the master relays the framework's acknowledgement as an
//!   `Acknowledge` command.
//! - An agent the operator marked gone gets a `Shutdown` command on its stream, and a 403
//!   carrying [`AGENT_GONE`] for every later call under its id: it shuts down for good.

use serde::{Deserialize, Serialize};

use super::v1::{AgentId, AgentInfo, FrameworkId, FrameworkInfo, KillPolicy, TaskId, TaskInfo};
use super::v1::{ExecutorId, Task, TaskStatus};

pub use super::agent_scheme::AgentScheme;

/// Every path of the protocol starts so (the agents' authentication realm).
pub const INTERNAL_PREFIX: &str = "/internal/";
pub const SUBSCRIBE_PATH: &str = "/internal/v1/agent/subscribe";
pub const UPDATE_PATH: &str = "/internal/v1/agent/update";
/// An executor's MESSAGE for its framework: [`ExecutorMessage`] (202).
pub const MESSAGE_PATH: &str = "/internal/v1/agent/message";
/// The agent's plugin report: [`AgentPluginReport`] (202).
pub const PLUGINS_PATH: &str = "/internal/v1/agent/plugins";

/// How often the master pings an agent over its stream; an agent that hears nothing for
/// three intervals reconnects.
pub const PING_INTERVAL_SECS: u64 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSubscribe {
    /// Absent on first registration; the master assigns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// hostname, port (of the agent's HTTP API), total resources and attributes.
    pub info: AgentInfo,
    /// Tasks the agent runs now, with their latest states (empty on first registration).
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Frameworks of those tasks, so a master that lost them can rebuild its view.
    #[serde(default)]
    pub frameworks: Vec<FrameworkInfo>,
    pub version: String,
    /// Why the agent runs without cgroups, if it does (shown to operators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_note: Option<String>,
    /// How the master reaches the agent's API (pings, the cluster URL's `/agent/{id}/`):
    /// `"https"` from an agent serving TLS; absent (http) from the others and older agents.
    #[serde(default, skip_serializing_if = "AgentScheme::is_http")]
    pub scheme: AgentScheme,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgentCommand {
    /// First record of every stream.
    Registered { agent_id: AgentId },
    /// Boxed: a task is far larger than the other commands.
    RunTask {
        framework: Box<FrameworkInfo>,
        task: Box<TaskInfo>,
    },
    KillTask {
        framework_id: FrameworkId,
        task_id: TaskId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kill_policy: Option<KillPolicy>,
    },
    /// The framework acknowledged this update; the agent drops it and sends the task's next.
    Acknowledge {
        framework_id: FrameworkId,
        task_id: TaskId,
        uuid: String,
    },
    /// The framework's MESSAGE call for one of its executors on this agent (base64 data).
    FrameworkMessage {
        framework_id: FrameworkId,
        executor_id: ExecutorId,
        data: String,
    },
    /// Kill every task of the framework and forget it.
    ShutdownFramework { framework_id: FrameworkId },
    /// Keep-alive.
    Ping,
    /// The plugins (executor, isolators, hooks) activated for agents, in activation order:
    /// sent after `Registered` and again whenever the set changes. The agent fetches the
    /// ones it lacks by sha256 and answers with an [`AgentPluginReport`].
    Plugins { active: Vec<ActivePlugin> },
    /// The operator marked this agent gone (Mesos' `ShutdownMessage`): the agent kills its
    /// tasks, forgets its id and exits. The last record of the stream.
    Shutdown { message: String },
}

/// What the master says to a gone agent (Mesos' `ShutdownMessage` text), on its stream and
/// in the 403 answering each of its later calls.
pub const AGENT_GONE: &str = "Agent has been marked gone";

/// Whether a refused call means that the master marked this agent gone: a 403 whose body
/// carries [`AGENT_GONE`]. The agent then shuts down instead of retrying.
pub fn is_gone_refusal(status: u16, body: &str) -> bool {
    status == 403 && body.contains(AGENT_GONE)
}

/// One plugin activated for agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivePlugin {
    pub sha256: String,
    pub name: String,
    /// "executor", "isolator" or "hook".
    pub kind: String,
    pub version: String,
    /// Given to the plugin's `init`.
    #[serde(default)]
    pub config: String,
    /// The manifest (TOML) it was installed with.
    #[serde(default)]
    pub manifest: String,
    /// The publisher's signature and the manifest text it covers, if it was signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<Signed>,
}

/// A publisher's signature of a plugin and the manifest text it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    pub signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

/// One plugin's call counters in one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatsSnapshot {
    pub calls: u64,
    pub errors: u64,
    /// Upper bound of the p99 latency bucket, microseconds; none before the first call.
    pub p99_us: Option<u64>,
}

/// What an agent runs of the active plugins, and its plugin call counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentPluginReport {
    pub agent_id: AgentId,
    pub plugins: Vec<AgentPluginStatus>,
    /// Calls, errors and p99 per plugin name in the agent's process.
    #[serde(default)]
    pub stats: std::collections::BTreeMap<String, StatsSnapshot>,
}

/// One active plugin on one agent: loaded, or refused with the reason (the agent keeps the
/// version it ran before, if any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPluginStatus {
    pub sha256: String,
    pub name: String,
    pub loaded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdateMessage {
    pub agent_id: AgentId,
    pub framework_id: FrameworkId,
    /// Carries `uuid` (base64) for acknowledgement.
    pub status: TaskStatus,
}

/// An executor's MESSAGE, relayed to its framework as a MESSAGE event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorMessage {
    pub agent_id: AgentId,
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    /// Base64 bytes.
    pub data: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn subscribe(extra: serde_json::Value) -> serde_json::Value {
        let mut body = json!({"info": {"hostname": "a1", "port": 5051}, "version": "1"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    }

    #[test]
    fn a_subscription_without_a_scheme_is_http() {
        let plain: AgentSubscribe = serde_json::from_value(subscribe(json!({}))).expect("parses");
        assert_eq!(plain.scheme, AgentScheme::Http);
        // And an http agent's subscription says nothing of it, as before the field.
        let written = serde_json::to_value(&plain).expect("serializes");
        assert!(written.get("scheme").is_none(), "{written}");
    }

    #[test]
    fn an_agent_serving_tls_says_https() {
        let tls: AgentSubscribe =
            serde_json::from_value(subscribe(json!({"scheme": "https"}))).expect("parses");
        assert_eq!(tls.scheme, AgentScheme::Https);
        let written = serde_json::to_value(&tls).expect("serializes");
        assert_eq!(written["scheme"], "https");
        assert_eq!(
            tls.scheme.url("a1:5051", "/health"),
            "https://a1:5051/health"
        );
        let unknown =
            serde_json::from_value::<AgentSubscribe>(subscribe(json!({"scheme": "gopher"})));
        assert!(unknown.is_err(), "an unknown scheme is refused");
    }

    #[test]
    fn a_gone_agent_is_told_in_a_record_and_in_a_403() {
        let shutdown = AgentCommand::Shutdown {
            message: AGENT_GONE.to_string(),
        };
        let written = serde_json::to_value(&shutdown).expect("serializes");
        assert_eq!(
            written,
            json!({"type": "SHUTDOWN", "message": "Agent has been marked gone"})
        );
        let body = json!({"message": format!("{AGENT_GONE}: 'a1' may not register again")});
        assert!(is_gone_refusal(403, &body.to_string()));
        assert!(!is_gone_refusal(400, &body.to_string()), "only a 403");
        let other = json!({"message": "Agent 'a1' is registered by another principal"});
        assert!(!is_gone_refusal(403, &other.to_string()), "other refusals");
    }
}
