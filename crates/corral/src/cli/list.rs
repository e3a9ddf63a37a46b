//! `corral agents | frameworks | tasks`: operator API queries printed as aligned tables, or
//! as the master's JSON with `--json`.

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

pub async fn tasks(args: ListArgs) -> anyhow::Result<ExitCode> {
    let (response, raw) = client(&args)
        .await?
        .call(OperatorCallType::GetTasks)
        .await?;
    if args.json {
        return print_json(&raw);
    }
    let tasks = response.get_tasks.ok_or_else(|| missing("get_tasks"))?;
    print!("{}", tasks_table(&tasks));
    Ok(ExitCode::SUCCESS)
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
pub fn tasks_table(tasks: &GetTasks) -> Table {
    let mut table = Table::new(["ID", "NAME", "STATE", "FRAMEWORK", "AGENT"]);
    let all = tasks
        .pending_tasks
        .iter()
        .chain(&tasks.tasks)
        .chain(&tasks.unreachable_tasks)
        .chain(&tasks.completed_tasks);
    for task in all {
        table.row(task_row(task));
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
}
