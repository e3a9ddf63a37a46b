//! The `corral` command line: one file per command. Server commands call `master::run` and
//! `agent::run`; client commands use only the HTTP APIs any user could call.

mod agent;
mod bench;
pub mod client_error;
mod dev;
mod etcd_state;
mod execute;
mod list;
mod machine_args;
mod master;
pub mod master_address;
pub mod operator_client;
mod plugin;
pub mod scheduler_client;
mod server_defaults;
pub mod signals;
pub mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use client_error::ClientError;

#[derive(Debug, Parser)]
#[command(
    name = "corral",
    version,
    about = "Corral: a data center kernel with WebAssembly policies"
)]
pub struct Cli {
    /// Log level (error, warn, info, debug, trace) or a tracing filter; RUST_LOG wins.
    #[arg(long, global = true, default_value = "info")]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a master and an agent in one process, with an embedded store.
    Dev(dev::DevArgs),
    /// Run a master.
    Master(master::MasterArgs),
    /// Run an agent that registers with a master.
    Agent(agent::AgentArgs),
    /// Run a command as one or more tasks, like mesos-execute; exits 0 when all finish.
    Execute(execute::ExecuteArgs),
    /// List the agents.
    Agents(list::ListArgs),
    /// List the frameworks.
    Frameworks(list::ListArgs),
    /// List the tasks, active and completed.
    Tasks(list::ListArgs),
    /// Install, list, activate, deactivate and remove plugins; swap the allocator live.
    Plugin(plugin::PluginArgs),
    /// Benchmarks run in memory (`corral bench allocator`).
    Bench(bench::BenchArgs),
    /// Print the version.
    Version,
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Dev(args) => dev::run(args).await,
        Command::Master(args) => master::run(args).await,
        Command::Agent(args) => agent::run(args).await,
        Command::Execute(args) => execute::run(args).await,
        Command::Agents(args) => list::agents(args).await,
        Command::Frameworks(args) => list::frameworks(args).await,
        Command::Tasks(args) => list::tasks(args).await,
        Command::Bench(args) => bench::run_bench(args).await,
        Command::Plugin(args) => plugin::run(args).await,
        Command::Version => {
            println!("corral {}", crate::api::VERSION);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// 2 when the master could not be reached (or its address is unusable), 1 for anything
/// else, so scripts can tell "no cluster" from "the work failed".
pub fn exit_code_for(error: &anyhow::Error) -> ExitCode {
    let unreachable = error.chain().any(|e| {
        matches!(
            e.downcast_ref::<ClientError>(),
            Some(ClientError::Unreachable { .. } | ClientError::BadAddress { .. })
        )
    });
    if unreachable {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}
