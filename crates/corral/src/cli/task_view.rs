//! What `corral tasks` shows of each task beyond the master's fields: where it listens
//! (`host:ports`), its health, and which tasks the filters keep, in a stable order.

use std::collections::BTreeMap;

use corral_api::v1::{Task, TaskState};

/// `--state`, `--framework`, `--agent`: each, when given, must match.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TaskFilters {
    /// Only tasks in this state (`running`, `TASK_FAILED`, ...; case does not matter).
    #[arg(long)]
    pub state: Option<String>,
    /// Only tasks of this framework (its id, a prefix of it, or its name).
    #[arg(long)]
    pub framework: Option<String>,
    /// Only tasks on this agent (its id, a prefix of it, or its hostname).
    #[arg(long)]
    pub agent: Option<String>,
}

/// Names of frameworks and agents by id, for filters and columns.
#[derive(Debug, Default)]
pub struct Names {
    pub frameworks: BTreeMap<String, String>,
    pub agent_hosts: BTreeMap<String, String>,
}

impl TaskFilters {
    /// The state filter as a `TaskState`, or an error that lists the states.
    pub fn wanted_state(&self) -> anyhow::Result<Option<TaskState>> {
        let Some(text) = &self.state else {
            return Ok(None);
        };
        let upper = text.trim().to_ascii_uppercase();
        let full = if upper.starts_with("TASK_") {
            upper
        } else {
            format!("TASK_{upper}")
        };
        serde_json::from_value(serde_json::Value::String(full))
            .map(Some)
            .map_err(|_| {
                anyhow::anyhow!(
                    "--state '{text}' is not a task state (staging, starting, running, \
                     killing, finished, failed, killed, error, lost, dropped, unreachable, \
                     gone, gone_by_operator)"
                )
            })
    }

    pub fn keeps(&self, task: &Task, state: Option<TaskState>, names: &Names) -> bool {
        let matches = |query: &str, id: &str, name: Option<&String>| {
            id.starts_with(query) || name.is_some_and(|n| n == query)
        };
        state.is_none_or(|s| task.state == s)
            && self.framework.as_deref().is_none_or(|f| {
                matches(
                    f,
                    &task.framework_id.value,
                    names.frameworks.get(&task.framework_id.value),
                )
            })
            && self.agent.as_deref().is_none_or(|a| {
                matches(
                    a,
                    &task.agent_id.value,
                    names.agent_hosts.get(&task.agent_id.value),
                )
            })
    }
}

/// Live tasks first, then ended ones; each group by name, then id.
pub fn sort_tasks(tasks: &mut [&Task]) {
    tasks.sort_by(|a, b| {
        (a.state.is_terminal(), &a.name, &a.task_id.value).cmp(&(
            b.state.is_terminal(),
            &b.name,
            &b.task_id.value,
        ))
    });
}

/// `host:port,port` for a task with ports, `host` without; `-` when the agent is unknown.
pub fn host_ports(task: &Task, names: &Names) -> String {
    let host = names
        .agent_hosts
        .get(&task.agent_id.value)
        .cloned()
        .unwrap_or_else(|| "-".into());
    let ports: Vec<String> = task
        .resources
        .iter()
        .filter(|r| r.name == "ports")
        .filter_map(|r| r.ranges.as_ref())
        .flat_map(|r| r.range.iter())
        .map(|r| {
            if r.begin == r.end {
                r.begin.to_string()
            } else {
                format!("{}-{}", r.begin, r.end)
            }
        })
        .collect();
    if ports.is_empty() {
        host
    } else {
        format!("{host}:{}", ports.join(","))
    }
}

/// `healthy`, `unhealthy`, or `-` for a task without a health check result.
pub fn health(task: &Task) -> &'static str {
    let latest = task.statuses.iter().rev().find_map(|s| s.healthy);
    match latest {
        Some(true) => "healthy",
        Some(false) => "unhealthy",
        None => "-",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::resources::parse_resources;
    use corral_api::v1::{Id, TaskStatus};

    fn names() -> Names {
        Names {
            frameworks: [("fw-1".to_string(), "marathon".to_string())].into(),
            agent_hosts: [("agent-1".to_string(), "node-a".to_string())].into(),
        }
    }

    fn task(id: &str, state: TaskState) -> Task {
        Task {
            name: id.into(),
            task_id: Id::new(id),
            framework_id: Id::new("fw-1"),
            agent_id: Id::new("agent-1"),
            state,
            ..Default::default()
        }
    }

    #[test]
    fn filters_take_states_names_and_prefixes() {
        let running = task("web", TaskState::TaskRunning);
        let filters = |state: &str, framework: &str, agent: &str| TaskFilters {
            state: (!state.is_empty()).then(|| state.to_string()),
            framework: (!framework.is_empty()).then(|| framework.to_string()),
            agent: (!agent.is_empty()).then(|| agent.to_string()),
        };
        let keeps = |f: TaskFilters| {
            let state = f.wanted_state().expect("state");
            f.keeps(&running, state, &names())
        };
        assert!(keeps(filters("running", "marathon", "node-a")));
        assert!(keeps(filters("TASK_RUNNING", "fw-", "agent-")));
        assert!(!keeps(filters("finished", "", "")));
        assert!(!keeps(filters("", "chronos", "")));
        assert!(!keeps(filters("", "", "node-b")));
        let bad = filters("sleeping", "", "")
            .wanted_state()
            .expect_err("refused");
        assert!(bad.to_string().contains("not a task state"), "{bad}");
    }

    #[test]
    fn ports_health_and_order() {
        let mut web = task("web", TaskState::TaskRunning);
        web.resources = parse_resources("cpus:1;ports:[31000-31000,31005-31006]").expect("res");
        web.statuses = vec![
            TaskStatus {
                healthy: Some(false),
                ..Default::default()
            },
            TaskStatus {
                healthy: Some(true),
                ..Default::default()
            },
        ];
        assert_eq!(host_ports(&web, &names()), "node-a:31000,31005-31006");
        assert_eq!(health(&web), "healthy");
        let done = task("a-done", TaskState::TaskFinished);
        assert_eq!(host_ports(&done, &Names::default()), "-");
        assert_eq!(health(&done), "-");
        let early = task("b", TaskState::TaskStaging);
        let mut list = vec![&done, &web, &early];
        sort_tasks(&mut list);
        let order: Vec<&str> = list.iter().map(|t| t.task_id.value.as_str()).collect();
        assert_eq!(order, ["b", "web", "a-done"]);
    }
}
