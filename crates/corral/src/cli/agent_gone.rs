//! `corral agent gone ID`: marks an agent gone for good (the operator API's
//! MARK_AGENT_GONE). Its tasks become TASK_GONE_BY_OPERATOR; it may not come back with that
//! id.

use std::process::ExitCode;

use serde_json::json;

use super::master_arg::MasterArg;
use corral_api::operator::OperatorCallType;
use corral_client::operator_client::OperatorClient;

#[derive(Debug, Clone, clap::Args)]
pub struct GoneArgs {
    /// The agent's id (`corral agents` lists them).
    pub agent_id: String,
}

/// `master` is `corral agent`'s own --master (global, so it may follow `gone ID` too).
pub async fn run(args: GoneArgs, master: MasterArg) -> anyhow::Result<ExitCode> {
    let client = OperatorClient::new(master.resolve().await?)?;
    client
        .call_with(
            OperatorCallType::MarkAgentGone,
            json!({"mark_agent_gone": {"agent_id": {"value": args.agent_id}}}),
        )
        .await?;
    println!("Marked agent {} gone", args.agent_id);
    Ok(ExitCode::SUCCESS)
}
