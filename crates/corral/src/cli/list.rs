//! `corral agents | frameworks | tasks`: operator API queries printed as aligned tables, or
//! as the master's JSON with `--json`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::anyhow;

use super::master_arg::MasterArg;
use super::table::Table;
use corral_api::operator::{GetAgents, GetFrameworks, GetTasks, OperatorCallType};
use corral_api::resources::Resources;
use corral_api::v1::Task;
use corral_client::master_address::MasterAddress;
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
    Ok(OperatorClient::new(
        MasterAddress::pick(&args.master.master).await?,
    )?)
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
    /// The DNS domain of the tasks' names (`corral dns --domain`).
    #[arg(long, default_value = "mesos")]
    pub dns_domain: String,
}

pub async fn tasks(args: TasksArgs) -> anyhow::Result<ExitCode> {
    let client = client(&args.list).await?;
    let (response, mut raw) = client.call(OperatorCallType::GetTasks).await?;
    // A task's DNS name holds its framework's name, which GET_FRAMEWORKS has.
    let (frameworks, _) = client.call(OperatorCallType::GetFrameworks).await?;
    let names = framework_names(&frameworks.get_frameworks.unwrap_or_default());
    let domain = args.dns_domain.as_str();
    if args.list.json {
        add_dns_names(&mut raw, &names, domain);
        return print_json(&raw);
    }
    let tasks = response.get_tasks.ok_or_else(|| missing("get_tasks"))?;
    print!("{}", tasks_table_with(&tasks, Some((&names, domain))));
    Ok(ExitCode::SUCCESS)
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

/// `--json`: each task of the master's answer gets its `dns_name`, the rest as sent.
fn add_dns_names(raw: &mut serde_json::Value, names: &BTreeMap<String, String>, domain: &str) {
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
        for entry in list {
            let Ok(task) = serde_json::from_value::<Task>(entry.clone()) else {
                continue;
            };
            if let Some(fields) = entry.as_object_mut() {
                let name = dns_name(&task, names, domain);
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
    let mb = mb + 0.0; // turns -0.0 (the sum of nothing) into 0
    if mb >= 1024.0 {
        format!("{:.1} GB", mb / 1024.0)
    } else {
        format!("{mb} MB")
    }
}

pub fn agents_table(agents: &GetAgents) -> Table {
    let mut table = Table::new(["ID", "HOSTNAME", "CPUS", "MEM", "DISK", "ACTIVE"]);
    for agent in &agents.agents {
        let total = if agent.total_resources.is_empty() {
            &agent.agent_info.resources
        } else {
            &agent.total_resources
        };
        let total = Resources::from_list(total);
        table.row([
            agent
                .agent_info
                .id
                .as_ref()
                .map(|id| id.value.clone())
                .unwrap_or_default(),
            agent.agent_info.hostname.clone(),
            (total.scalar("cpus") + 0.0).to_string(),
            megabytes(total.scalar("mem")),
            megabytes(total.scalar("disk")),
            yes_no(agent.active).to_string(),
        ]);
    }
    table
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

/// Active tasks (pending, running, unreachable) first, then completed ones.
/// The tasks table without the DNS column.
#[cfg(test)]
pub fn tasks_table(tasks: &GetTasks) -> Table {
    tasks_table_with(tasks, None)
}

/// The tasks table; with framework names and a domain, a DNS column too.
pub fn tasks_table_with(tasks: &GetTasks, dns: Option<(&BTreeMap<String, String>, &str)>) -> Table {
    let mut header = vec!["ID", "NAME", "STATE", "FRAMEWORK", "AGENT"];
    if dns.is_some() {
        header.push("DNS");
    }
    let mut table = Table::new(header);
    let all = tasks
        .pending_tasks
        .iter()
        .chain(&tasks.tasks)
        .chain(&tasks.unreachable_tasks)
        .chain(&tasks.completed_tasks);
    for task in all {
        let mut row = task_row(task).to_vec();
        if let Some((names, domain)) = dns {
            row.push(dns_name(task, names, domain));
        }
        table.row(row);
    }
    table
}

fn task_row(task: &Task) -> [String; 5] {
    [
        task.task_id.value.clone(),
        task.name.clone(),
        task.state.as_str().to_string(),
        task.framework_id.value.clone(),
        task.agent_id.value.clone(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::operator::{AgentEntry, FrameworkEntry};
    use corral_api::resources::parse_resources;
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
                        id: Some(Id::new("a-1")),
                        ..Default::default()
                    },
                    active: true,
                    total_resources: parse_resources("cpus:8;mem:16384;disk:512")
                        .expect("resources"),
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
            "ID    HOSTNAME  CPUS  MEM      DISK    ACTIVE\n\
             a-1   node-a    8     16.0 GB  512 MB  yes\n\
             a-22  n-b       0.5   100 MB   0 MB    no\n"
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
            "ID      NAME         STATE          FRAMEWORK  AGENT\n\
             run-1   run-1-name   TASK_RUNNING   fw-1       agent-1\n\
             done-1  done-1-name  TASK_FINISHED  fw-1       agent-1\n"
        );
        assert_eq!(
            tasks_table(&GetTasks::default()).to_string(),
            "ID  NAME  STATE  FRAMEWORK  AGENT\n",
            "an empty cluster still prints the header"
        );
    }

    #[test]
    fn the_tasks_table_shows_each_task_dns_name() {
        let tasks = GetTasks {
            tasks: vec![task("run-1", "fw-1", TaskState::TaskRunning)],
            ..Default::default()
        };
        let names: BTreeMap<String, String> = [("fw-1".to_string(), "Marathon".to_string())].into();
        let table = tasks_table_with(&tasks, Some((&names, "mesos"))).to_string();
        assert!(
            table.lines().next().is_some_and(|h| h.ends_with("DNS")),
            "{table}"
        );
        assert!(table.contains("run-1-name.marathon.mesos"), "{table}");
        let mut raw = serde_json::json!({"get_tasks": {"tasks": [serde_json::to_value(&tasks.tasks[0]).unwrap()]}});
        add_dns_names(&mut raw, &names, "mesos");
        assert_eq!(
            raw["get_tasks"]["tasks"][0]["dns_name"],
            "run-1-name.marathon.mesos"
        );
    }
}
