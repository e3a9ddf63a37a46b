//! `corral agents | frameworks | tasks`: operator API queries printed as aligned tables, or
//! as the master's JSON with `--json`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::anyhow;

use super::master_arg::MasterArg;
use super::table::Table;
use super::task_view::{Names, TaskFilters, health, host_ports, sort_tasks};
use corral_api::operator::{GetAgents, GetFrameworks, GetTasks, OperatorCallType};
use corral_api::resources::Resources;
use corral_api::v1::{Attribute, Task, TaskState, ValueType};
use corral_client::operator_client::OperatorClient;

#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub master: MasterArg,
    /// Print the operator API response as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

async fn client(args: &ListArgs) -> anyhow::Result<OperatorClient> {
    Ok(OperatorClient::new(args.master.resolve().await?)?)
}

fn print_json(raw: &serde_json::Value) -> anyhow::Result<ExitCode> {
    println!("{}", serde_json::to_string_pretty(raw)?);
    Ok(ExitCode::SUCCESS)
}

fn missing(field: &str) -> anyhow::Error {
    anyhow!("the master's answer has no '{field}' field")
}

pub async fn agents(args: ListArgs) -> anyhow::Result<ExitCode> {
    let (response, raw) = client(&args)
        .await?
        .call(OperatorCallType::GetAgents)
        .await?;
    if args.json {
        return print_json(&raw);
    }
    let agents = response.get_agents.ok_or_else(|| missing("get_agents"))?;
    print!("{}", agents_table(&agents));
    Ok(ExitCode::SUCCESS)
}

pub async fn frameworks(args: ListArgs) -> anyhow::Result<ExitCode> {
    let client = client(&args).await?;
    let (response, raw) = client.call(OperatorCallType::GetFrameworks).await?;
    if args.json {
        return print_json(&raw);
    }
    let frameworks = response
        .get_frameworks
        .ok_or_else(|| missing("get_frameworks"))?;
    // GET_FRAMEWORKS has no task counts; they come from GET_TASKS.
    let (tasks, _) = client.call(OperatorCallType::GetTasks).await?;
    let tasks = tasks.get_tasks.ok_or_else(|| missing("get_tasks"))?;
    print!("{}", frameworks_table(&frameworks, &tasks));
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Clone, clap::Args)]
pub struct TasksArgs {
    #[command(flatten)]
    pub list: ListArgs,
    #[command(flatten)]
    pub filters: TaskFilters,
    /// The DNS domain of the tasks' names (`corral dns --domain`).
    #[arg(long, default_value = "mesos")]
    pub dns_domain: String,
}

pub async fn tasks(args: TasksArgs) -> anyhow::Result<ExitCode> {
    let state = args.filters.wanted_state()?;
    let client = client(&args.list).await?;
    let (response, mut raw) = client.call(OperatorCallType::GetTasks).await?;
    // A task's DNS name holds its framework's name (GET_FRAMEWORKS); its host comes from
    // its agent (GET_AGENTS).
    let (frameworks, _) = client.call(OperatorCallType::GetFrameworks).await?;
    let (agents, _) = client.call(OperatorCallType::GetAgents).await?;
    let names = Names {
        frameworks: framework_names(&frameworks.get_frameworks.unwrap_or_default()),
        agent_hosts: agent_hosts(&agents.get_agents.unwrap_or_default()),
    };
    let view = TaskView {
        names: &names,
        filters: &args.filters,
        state,
        dns_domain: Some(args.dns_domain.as_str()),
    };
    if args.list.json {
        add_dns_names(&mut raw, &view);
        return print_json(&raw);
    }
    let tasks = response.get_tasks.ok_or_else(|| missing("get_tasks"))?;
    print!("{}", tasks_table_with(&tasks, &view));
    Ok(ExitCode::SUCCESS)
}

/// What the tasks table and `--json` show: the names it needs and the filters.
pub struct TaskView<'a> {
    pub names: &'a Names,
    pub filters: &'a TaskFilters,
    pub state: Option<TaskState>,
    /// With a domain, a DNS column (and `dns_name` in JSON).
    pub dns_domain: Option<&'a str>,
}

impl TaskView<'_> {
    fn keeps(&self, task: &Task) -> bool {
        self.filters.keeps(task, self.state, self.names)
    }
}

/// Agent hostnames by id.
fn agent_hosts(agents: &GetAgents) -> BTreeMap<String, String> {
    agents
        .agents
        .iter()
        .filter_map(|a| {
            let id = a.agent_info.id.as_ref()?;
            Some((id.value.clone(), a.agent_info.hostname.clone()))
        })
        .collect()
}

/// Framework names by id, current and completed.
fn framework_names(frameworks: &GetFrameworks) -> BTreeMap<String, String> {
    frameworks
        .frameworks
        .iter()
        .chain(&frameworks.completed_frameworks)
        .filter_map(|f| {
            let id = f.framework_info.id.as_ref()?;
            Some((id.value.clone(), f.framework_info.name.clone()))
        })
        .collect()
}

fn dns_name(task: &Task, names: &BTreeMap<String, String>, domain: &str) -> String {
    let framework = names
        .get(&task.framework_id.value)
        .map_or("", String::as_str);
    corral_dns::generator::task_dns_name(task, framework, domain)
}

/// `--json`: the master's answer as sent, less the tasks the filters leave out, each task
/// with its `dns_name`.
fn add_dns_names(raw: &mut serde_json::Value, view: &TaskView) {
    let Some(lists) = raw
        .get_mut("get_tasks")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    for list in lists
        .values_mut()
        .filter_map(serde_json::Value::as_array_mut)
    {
        list.retain(|entry| {
            serde_json::from_value::<Task>(entry.clone()).map_or(true, |task| view.keeps(&task))
        });
        for entry in list {
            let Ok(task) = serde_json::from_value::<Task>(entry.clone()) else {
                continue;
            };
            if let (Some(fields), Some(domain)) = (entry.as_object_mut(), view.dns_domain) {
                let name = dns_name(&task, &view.names.frameworks, domain);
                fields.insert("dns_name".into(), serde_json::Value::String(name));
            }
        }
    }
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

/// Megabytes as people read them: "512 MB", "15.6 GB".
fn megabytes(mb: f64) -> String {
    let mb = round2(mb) + 0.0; // turns -0.0 (the sum of nothing) into 0
    if mb >= 1024.0 {
        format!("{:.1} GB", mb / 1024.0)
    } else {
        format!("{mb} MB")
    }
}

/// Each agent's address, resources as used/free, and attributes.
pub fn agents_table(agents: &GetAgents) -> Table {
    let mut table = Table::new([
        "ID",
        "ADDRESS",
        "CPUS USED/FREE",
        "MEM USED/FREE",
        "DISK USED/FREE",
        "ATTRIBUTES",
        "ACTIVE",
    ]);
    for agent in &agents.agents {
        let total = if agent.total_resources.is_empty() {
            &agent.agent_info.resources
        } else {
            &agent.total_resources
        };
        let total = Resources::from_list(total);
        let used = Resources::from_list(&agent.allocated_resources);
        let split = |name: &str, show: fn(f64) -> String| {
            let used = used.scalar(name);
            format!("{}/{}", show(used), show(total.scalar(name) - used))
        };
        let address = match agent.agent_info.port {
            Some(port) => format!("{}:{port}", agent.agent_info.hostname),
            None => agent.agent_info.hostname.clone(),
        };
        table.row([
            agent
                .agent_info
                .id
                .as_ref()
                .map(|id| id.value.clone())
                .unwrap_or_default(),
            address,
            split("cpus", |v| (round2(v) + 0.0).to_string()),
            split("mem", megabytes),
            split("disk", megabytes),
            attributes(&agent.agent_info.attributes),
            yes_no(agent.active).to_string(),
        ]);
    }
    table
}

/// Two decimals at most, so 8 - 0.1 - 0.2 reads 7.7.
fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `rack:r1;zone:a`, as `--attributes` takes them; `-` for none.
fn attributes(list: &[Attribute]) -> String {
    if list.is_empty() {
        return "-".into();
    }
    list.iter()
        .map(|a| {
            let value = match a.kind {
                ValueType::Scalar => a.scalar.as_ref().map(|s| s.value.to_string()),
                ValueType::Text => a.text.as_ref().map(|t| t.value.clone()),
                ValueType::Set => a.set.as_ref().map(|s| format!("{{{}}}", s.item.join(","))),
                ValueType::Ranges => a.ranges.as_ref().map(|r| {
                    let parts: Vec<String> = r
                        .range
                        .iter()
                        .map(|g| format!("{}-{}", g.begin, g.end))
                        .collect();
                    format!("[{}]", parts.join(","))
                }),
            };
            format!("{}:{}", a.name, value.unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join(";")
}

pub fn frameworks_table(frameworks: &GetFrameworks, tasks: &GetTasks) -> Table {
    let mut table = Table::new(["ID", "NAME", "ROLES", "ACTIVE", "TASKS"]);
    let entries = frameworks
        .frameworks
        .iter()
        .chain(&frameworks.completed_frameworks);
    for entry in entries {
        let info = &entry.framework_info;
        let id = info
            .id
            .as_ref()
            .map(|id| id.value.clone())
            .unwrap_or_default();
        let running = tasks
            .pending_tasks
            .iter()
            .chain(&tasks.tasks)
            .chain(&tasks.unreachable_tasks)
            .filter(|t| t.framework_id.value == id && !t.state.is_terminal())
            .count();
        table.row([
            id,
            info.name.clone(),
            info.effective_roles().join(","),
            yes_no(entry.active).to_string(),
            running.to_string(),
        ]);
    }
    table
}

/// The tasks table without names, filters or the DNS column.
#[cfg(test)]
pub fn tasks_table(tasks: &GetTasks) -> Table {
    let names = Names::default();
    let filters = TaskFilters::default();
    let view = TaskView {
        names: &names,
        filters: &filters,
        state: None,
        dns_domain: None,
    };
    tasks_table_with(tasks, &view)
}

/// The tasks the view keeps, live ones first (`task_view::sort_tasks`).
pub fn tasks_table_with(tasks: &GetTasks, view: &TaskView) -> Table {
    let mut header = vec![
        "ID",
        "NAME",
        "STATE",
        "HEALTH",
        "HOST:PORTS",
        "FRAMEWORK",
        "AGENT",
    ];
    if view.dns_domain.is_some() {
        header.push("DNS");
    }
    let mut table = Table::new(header);
    let mut all: Vec<&Task> = tasks
        .pending_tasks
        .iter()
        .chain(&tasks.tasks)
        .chain(&tasks.unreachable_tasks)
        .chain(&tasks.completed_tasks)
        .filter(|t| view.keeps(t))
        .collect();
    sort_tasks(&mut all);
    for task in all {
        let mut row = vec![
            task.task_id.value.clone(),
            task.name.clone(),
            task.state.as_str().to_string(),
            health(task).to_string(),
            host_ports(task, view.names),
            task.framework_id.value.clone(),
            task.agent_id.value.clone(),
        ];
        if let Some(domain) = view.dns_domain {
            row.push(dns_name(task, &view.names.frameworks, domain));
        }
        table.row(row);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::operator::{AgentEntry, FrameworkEntry};
    use corral_api::resources::{parse_attributes, parse_resources};
    use corral_api::v1::{AgentInfo, FrameworkInfo, Id, TaskState};

    fn task(id: &str, framework: &str, state: TaskState) -> Task {
        Task {
            name: format!("{id}-name"),
            task_id: Id::new(id),
            framework_id: Id::new(framework),
            agent_id: Id::new("agent-1"),
            state,
            ..Default::default()
        }
    }

    #[test]
    fn agents_show_totals_in_readable_units() {
        let agents = GetAgents {
            agents: vec![
                AgentEntry {
                    agent_info: AgentInfo {
                        hostname: "node-a".into(),
                        port: Some(5051),
                        attributes: parse_attributes("rack:r1").expect("attributes"),
                        id: Some(Id::new("a-1")),
                        ..Default::default()
                    },
                    active: true,
                    total_resources: parse_resources("cpus:8;mem:16384;disk:512")
                        .expect("resources"),
                    allocated_resources: parse_resources("cpus:0.5;mem:512").expect("resources"),
                    ..Default::default()
                },
                AgentEntry {
                    agent_info: AgentInfo {
                        hostname: "n-b".into(),
                        id: Some(Id::new("a-22")),
                        resources: parse_resources("cpus:0.5;mem:100").expect("resources"),
                        ..Default::default()
                    },
                    active: false,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert_eq!(
            agents_table(&agents).to_string(),
            "ID    ADDRESS      CPUS USED/FREE  MEM USED/FREE   DISK USED/FREE  ATTRIBUTES  ACTIVE\n\
             a-1   node-a:5051  0.5/7.5         512 MB/15.5 GB  0 MB/512 MB     rack:r1     yes\n\
             a-22  n-b          0/0.5           0 MB/100 MB     0 MB/0 MB       -           no\n"
        );
    }

    #[test]
    fn frameworks_count_their_unfinished_tasks() {
        let frameworks = GetFrameworks {
            frameworks: vec![FrameworkEntry {
                framework_info: FrameworkInfo {
                    id: Some(Id::new("fw-1")),
                    name: "batch".into(),
                    roles: vec!["eng".into(), "ops".into()],
                    ..Default::default()
                },
                active: true,
                connected: true,
                ..Default::default()
            }],
            completed_frameworks: vec![FrameworkEntry {
                framework_info: FrameworkInfo {
                    id: Some(Id::new("fw-0")),
                    name: "old".into(),
                    ..Default::default()
                },
                ..Default::default()
            }],
        };
        let tasks = GetTasks {
            tasks: vec![
                task("t1", "fw-1", TaskState::TaskRunning),
                task("t2", "fw-1", TaskState::TaskStaging),
                task("t3", "fw-2", TaskState::TaskRunning),
            ],
            completed_tasks: vec![task("t0", "fw-1", TaskState::TaskFinished)],
            ..Default::default()
        };
        assert_eq!(
            frameworks_table(&frameworks, &tasks).to_string(),
            "ID    NAME   ROLES    ACTIVE  TASKS\n\
             fw-1  batch  eng,ops  yes     2\n\
             fw-0  old    *        no      0\n"
        );
    }

    #[test]
    fn tasks_list_active_then_completed() {
        let tasks = GetTasks {
            tasks: vec![task("run-1", "fw-1", TaskState::TaskRunning)],
            completed_tasks: vec![task("done-1", "fw-1", TaskState::TaskFinished)],
            ..Default::default()
        };
        assert_eq!(
            tasks_table(&tasks).to_string(),
            "ID      NAME         STATE          HEALTH  HOST:PORTS  FRAMEWORK  AGENT\n\
             run-1   run-1-name   TASK_RUNNING   -       -           fw-1       agent-1\n\
             done-1  done-1-name  TASK_FINISHED  -       -           fw-1       agent-1\n"
        );
        assert_eq!(
            tasks_table(&GetTasks::default()).to_string(),
            "ID  NAME  STATE  HEALTH  HOST:PORTS  FRAMEWORK  AGENT\n",
            "an empty cluster still prints the header"
        );
    }

    #[test]
    fn the_tasks_table_shows_each_task_dns_name() {
        let tasks = GetTasks {
            tasks: vec![task("run-1", "fw-1", TaskState::TaskRunning)],
            ..Default::default()
        };
        let names = Names {
            frameworks: [("fw-1".to_string(), "Marathon".to_string())].into(),
            ..Default::default()
        };
        let filters = TaskFilters::default();
        let view = TaskView {
            names: &names,
            filters: &filters,
            state: None,
            dns_domain: Some("mesos"),
        };
        let table = tasks_table_with(&tasks, &view).to_string();
        assert!(
            table.lines().next().is_some_and(|h| h.ends_with("DNS")),
            "{table}"
        );
        assert!(table.contains("run-1-name.marathon.mesos"), "{table}");
        let mut raw = serde_json::json!({"get_tasks": {"tasks": [serde_json::to_value(&tasks.tasks[0]).unwrap()]}});
        add_dns_names(&mut raw, &view);
        assert_eq!(
            raw["get_tasks"]["tasks"][0]["dns_name"],
            "run-1-name.marathon.mesos"
        );
    }
}
