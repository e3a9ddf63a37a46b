//! What the DNS server knows of the cluster: agents, frameworks and live tasks, kept from the
//! operator event stream. SUBSCRIBED replaces everything (a full resync); each later event
//! changes one thing. Terminal tasks are forgotten: only live ones have names.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use corral_api::operator::{AgentEntry, FrameworkEntry, GetState};
use corral_api::operator_events::{OperatorEvent, OperatorEventType};
use corral_api::v1::{FrameworkInfo, Task, TaskStatus};

/// An agent: where its tasks run.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentView {
    pub hostname: String,
    pub port: Option<u32>,
}

/// A framework: its name (the middle of its tasks' names) and where its scheduler runs.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameworkView {
    pub name: String,
    pub hostname: Option<String>,
    pub connected: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    /// By agent id.
    pub agents: HashMap<String, AgentView>,
    /// By framework id.
    pub frameworks: HashMap<String, FrameworkView>,
    /// Live tasks by (framework id, task id).
    pub tasks: HashMap<(String, String), Task>,
    /// Host names resolved to IPv4 addresses (`None`: does not resolve), as Mesos-DNS's
    /// `hostToIP4`. Filled by the feed off the event path.
    pub hosts: HashMap<String, Option<Ipv4Addr>>,
}

impl ClusterView {
    /// The state of SUBSCRIBED: replaces everything but the host cache.
    pub fn replace(&mut self, state: &GetState) {
        self.agents.clear();
        self.frameworks.clear();
        self.tasks.clear();
        for agent in &state.get_agents.agents {
            self.add_agent(agent);
        }
        for framework in &state.get_frameworks.frameworks {
            self.add_framework(framework);
        }
        for task in &state.get_tasks.tasks {
            self.add_task(task.clone());
        }
    }

    /// Applies one event; returns whether the names may have changed.
    pub fn apply(&mut self, event: &OperatorEvent) -> bool {
        match event.kind {
            OperatorEventType::Subscribed => match &event.subscribed {
                Some(subscribed) => {
                    self.replace(&subscribed.get_state);
                    true
                }
                None => false,
            },
            OperatorEventType::TaskAdded => match &event.task_added {
                Some(added) => self.add_task(added.task.clone()),
                None => false,
            },
            OperatorEventType::TaskUpdated => match &event.task_updated {
                Some(updated) => {
                    let key = (
                        updated.framework_id.value.clone(),
                        updated.status.task_id.value.clone(),
                    );
                    self.update_task(key, &updated.status, updated.state)
                }
                None => false,
            },
            OperatorEventType::AgentAdded => match &event.agent_added {
                Some(added) => self.add_agent(&added.agent),
                None => false,
            },
            OperatorEventType::AgentRemoved => match &event.agent_removed {
                Some(removed) => self.agents.remove(&removed.agent_id.value).is_some(),
                None => false,
            },
            OperatorEventType::FrameworkAdded => match &event.framework_added {
                Some(added) => self.add_framework(&added.framework),
                None => false,
            },
            OperatorEventType::FrameworkUpdated => match &event.framework_updated {
                Some(updated) => self.add_framework(&updated.framework),
                None => false,
            },
            OperatorEventType::FrameworkRemoved => match &event.framework_removed {
                Some(removed) => self.remove_framework(&removed.framework_info),
                None => false,
            },
            OperatorEventType::Heartbeat | OperatorEventType::Unknown => false,
        }
    }

    fn add_agent(&mut self, entry: &AgentEntry) -> bool {
        let Some(id) = entry.agent_info.id.as_ref() else {
            return false;
        };
        let view = AgentView {
            hostname: entry.agent_info.hostname.clone(),
            port: entry.agent_info.port,
        };
        self.agents.insert(id.value.clone(), view.clone()) != Some(view)
    }

    fn add_framework(&mut self, entry: &FrameworkEntry) -> bool {
        let info = &entry.framework_info;
        let Some(id) = info.id.as_ref() else {
            return false;
        };
        let view = FrameworkView {
            name: info.name.clone(),
            hostname: info.hostname.clone().filter(|h| !h.is_empty()),
            connected: entry.connected,
        };
        self.frameworks.insert(id.value.clone(), view.clone()) != Some(view)
    }

    fn remove_framework(&mut self, info: &FrameworkInfo) -> bool {
        let Some(id) = info.id.as_ref() else {
            return false;
        };
        let before = self.tasks.len();
        self.tasks
            .retain(|(framework, _), _| framework != &id.value);
        self.frameworks.remove(&id.value).is_some() || before != self.tasks.len()
    }

    fn add_task(&mut self, task: Task) -> bool {
        if task.state.is_terminal() {
            return false;
        }
        let key = (task.framework_id.value.clone(), task.task_id.value.clone());
        self.tasks.insert(key, task);
        true
    }

    fn update_task(
        &mut self,
        key: (String, String),
        status: &TaskStatus,
        state: corral_api::v1::TaskState,
    ) -> bool {
        if state.is_terminal() {
            return self.tasks.remove(&key).is_some();
        }
        let Some(task) = self.tasks.get_mut(&key) else {
            return false;
        };
        let changed = task.state != state;
        task.state = state;
        task.statuses.push(status.clone());
        // The latest RUNNING status is what names need (its IPs); keep a few.
        if task.statuses.len() > 4 {
            task.statuses.remove(0);
        }
        changed || status.container_status.is_some()
    }

    /// Host names not yet resolved (agents' and frameworks').
    pub fn unresolved_hosts(&self) -> Vec<String> {
        let agents = self.agents.values().map(|a| a.hostname.as_str());
        let frameworks = self
            .frameworks
            .values()
            .filter_map(|f| f.hostname.as_deref());
        let mut out: Vec<String> = agents
            .chain(frameworks)
            .filter(|h| !h.is_empty() && !self.hosts.contains_key(*h))
            .map(String::from)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The IPv4 address of a host name, if it resolved (an address is itself).
    pub fn host_ip(&self, host: &str) -> Option<Ipv4Addr> {
        host.parse()
            .ok()
            .or_else(|| self.hosts.get(host).copied().flatten())
    }
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
