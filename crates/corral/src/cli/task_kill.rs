//! `corral task kill TASK`: asks the master to kill a live task (Corral's KILL_TASK operator
//! call); its framework then hears TASK_KILLED as if it had asked itself.

use std::process::ExitCode;

use serde_json::json;

use super::agent_lookup::cluster_view;
use super::master_arg::MasterArg;
use super::task_match::find_task;
use corral_api::operator::OperatorCallType;
use corral_client::operator_client::OperatorClient;

#[derive(Debug, clap::Args)]
pub struct KillArgs {
    /// The task: its id, a unique prefix of it, or its name.
    pub task_id: String,
    /// The task's framework id, when several frameworks use the same task id.
    #[arg(long)]
    pub framework: Option<String>,
    #[command(flatten)]
    pub master: MasterArg,
}

pub async fn run(args: KillArgs) -> anyhow::Result<ExitCode> {
    let client = OperatorClient::new(args.master.resolve().await?)?;
    let (tasks, _) = cluster_view(&client).await?;
    let task = find_task(&tasks, &args.task_id, args.framework.as_deref())?;
    if task.state.is_terminal() {
        anyhow::bail!(
            "task {} has already ended ({})",
            task.task_id.value,
            task.state.as_str()
        );
    }
    client
        .call_with(
            OperatorCallType::KillTask,
            json!({"kill_task": {"task_id": task.task_id, "framework_id": task.framework_id}}),
        )
        .await?;
    println!(
        "Asked agent {} to kill task {} (framework {})",
        task.agent_id.value, task.task_id.value, task.framework_id.value
    );
    Ok(ExitCode::SUCCESS)
}
