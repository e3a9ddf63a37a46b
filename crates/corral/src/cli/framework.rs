//! `corral framework teardown ID`: ends a framework for good (the operator API's TEARDOWN):
//! its tasks are killed and it moves to the completed frameworks.

use std::process::ExitCode;

use serde_json::json;

use super::master_arg::MasterArg;
use corral_api::operator::OperatorCallType;
use corral_client::operator_client::OperatorClient;

#[derive(Debug, clap::Args)]
pub struct FrameworkArgs {
    #[command(subcommand)]
    pub command: FrameworkCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum FrameworkCommand {
    /// Tear a framework down: kill its tasks and remove it (`corral frameworks` lists ids).
    Teardown(TeardownArgs),
}

#[derive(Debug, clap::Args)]
pub struct TeardownArgs {
    /// The framework's id.
    pub framework_id: String,
    #[command(flatten)]
    pub master: MasterArg,
}

pub async fn run(args: FrameworkArgs) -> anyhow::Result<ExitCode> {
    let FrameworkCommand::Teardown(args) = args.command;
    let client = OperatorClient::new(args.master.resolve().await?)?;
    client
        .call_with(
            OperatorCallType::Teardown,
            json!({"teardown": {"framework_id": {"value": args.framework_id}}}),
        )
        .await?;
    println!("Tore down framework {}", args.framework_id);
    Ok(ExitCode::SUCCESS)
}
