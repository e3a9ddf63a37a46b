//! The `corral` command line: one file per command. Server commands call `master::run` and
//! `agent::run`; client commands use only the HTTP APIs any user could call.

mod agent;
mod agent_gone;
mod agent_lookup;
mod app;
mod auth_args;
#[cfg(feature = "bench")]
mod bench;
#[cfg(feature = "bench")]
mod bench_auth;
#[cfg(feature = "bench")]
mod bench_failover;
#[cfg(feature = "bench")]
mod bench_installs;
#[cfg(feature = "bench")]
mod bench_plugins;
#[cfg(feature = "bench")]
mod bench_services;
#[cfg(feature = "bench")]
mod bench_sim_agents;
#[cfg(feature = "bench")]
mod bench_support;
mod completion;
mod dev;
mod dns;
mod duration_flag;
mod etcd_tls_args;
mod execute;
mod framework;
mod hints;
mod hook_args;
mod http_server_args;
mod list;
pub mod log_setup;
mod machine_args;
mod master;
mod master_arg;
mod plugin;
mod plugin_keys;
mod plugin_new;
mod roles;
mod sandbox_args;
mod server_defaults;
pub mod server_flags;
mod services;
pub mod signals;
mod supervise;
pub mod table;
mod task_kill;
mod task_logs;
mod task_match;
mod task_view;
#[cfg(test)]
mod timing_flags_tests;
mod tls_args;
mod top;
mod wasm_run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use corral_client::client_error::ClientError;
pub use hints::hint_for;

#[derive(Debug, Parser)]
#[command(
    name = "corral",
    version,
    about = "Corral: a data center kernel with WebAssembly policies"
)]
pub struct Cli {
    /// Log level (error, warn, info, debug, trace) or a tracing filter; RUST_LOG wins.
    #[arg(long, global = true, default_value = "info", env = "CORRAL_LOG_LEVEL")]
    pub log_level: String,
    /// Log lines as text or as JSON objects.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "CORRAL_LOG_FORMAT"
    )]
    pub log_format: log_setup::LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a master and an agent in one process, with an embedded store.
    Dev(dev::DevArgs),
    /// Run a master.
    Master(master::MasterArgs),
    /// Run an agent that registers with a master; `corral agent gone ID` marks an agent
    /// gone for good.
    Agent(agent::AgentArgs),
    /// Run the services component: Marathon's REST API v2 (apps kept running, scaled,
    /// healed) on a framework of the master.
    Services(services::ServicesArgs),
    /// Serve DNS for the cluster (Mesos-DNS names, kept current from the master's event
    /// stream) and Mesos-DNS's HTTP API; `corral dns lookup NAME` asks a DNS server.
    Dns(dns::DnsArgs),
    /// Apps on the services component (Marathon API): deploy, list, show, scale, restart,
    /// rollback, remove, tasks.
    App(app::AppArgs),
    /// Run a command as one or more tasks, like mesos-execute; exits 0 when all finish.
    Execute(execute::ExecuteArgs),
    /// List the agents.
    Agents(list::ListArgs),
    /// List the frameworks.
    Frameworks(list::ListArgs),
    /// One framework: `corral framework teardown ID` ends it and kills its tasks.
    Framework(framework::FrameworkArgs),
    /// List the tasks, active and completed.
    Tasks(list::TasksArgs),
    /// Plugins: install, list, activate, deactivate, remove, swap the allocator live, and
    /// `new` (scaffold a plugin crate).
    Plugin(plugin::PluginArgs),
    /// List the roles (weight, quota, allocation, reservations, share), or set a role's
    /// weight or quota.
    Roles(roles::RolesArgs),
    /// Reserve an agent's resources for a role: AGENT_ID "cpus(eng):1;mem(eng):256".
    Reserve(roles::ReserveArgs),
    /// Release a dynamic reservation: AGENT_ID "cpus(eng):1".
    Unreserve(roles::ReserveArgs),
    /// One task, given by its id, a unique prefix of it, or its name: `corral task logs ID
    /// [--follow] [--stderr]`, `corral task kill ID`.
    Task(task_logs::TaskArgs),
    /// Live usage of running tasks (cpu, memory, processes); `--once` prints one sample.
    Top(top::TopArgs),
    /// Benchmarks run in memory (`corral bench allocator`).
    #[cfg(feature = "bench")]
    Bench(bench::BenchArgs),
    /// Benchmarks: this binary was built without them (`--features bench`).
    #[cfg(not(feature = "bench"))]
    #[command(hide = true, disable_help_flag = true)]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print a shell completion script: `corral completion bash > /etc/bash_completion.d/corral`.
    Completion(completion::CompletionArgs),
    /// Print the version.
    Version,
    /// Run one task's command and record its exit status (started by the agent).
    #[command(hide = true)]
    Supervise(supervise::SuperviseArgs),
    /// Run a task's WASI program (started by the agent for a `.wasm` command).
    #[command(hide = true)]
    WasmRun(wasm_run::WasmRunArgs),
}

/// Runs the commands that need no async runtime (`supervise`); `None` for the others.
pub fn run_without_runtime(cli: &Cli) -> Option<ExitCode> {
    match &cli.command {
        Command::Supervise(args) => Some(supervise::run(args)),
        Command::WasmRun(args) => Some(wasm_run::run(args)),
        _ => None,
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Dev(args) => dev::run(args).await,
        Command::Master(args) => master::run(args).await,
        Command::Agent(args) => match args.action {
            Some(agent::AgentAction::Gone(gone)) => agent_gone::run(gone, args.master).await,
            None => agent::run(args).await,
        },
        Command::Services(args) => services::run(args).await,
        Command::Dns(args) => dns::run(args).await,
        Command::App(args) => app::run(args).await,
        Command::Execute(args) => execute::run(args).await,
        Command::Agents(args) => list::agents(args).await,
        Command::Frameworks(args) => list::frameworks(args).await,
        Command::Framework(args) => framework::run(args).await,
        Command::Completion(args) => completion::run(&args),
        Command::Tasks(args) => list::tasks(args).await,
        Command::Roles(args) => roles::roles(args).await,
        Command::Reserve(args) => roles::reservation(args, true).await,
        Command::Unreserve(args) => roles::reservation(args, false).await,
        Command::Task(args) => task_logs::run(args).await,
        Command::Top(args) => top::run(args).await,
        #[cfg(feature = "bench")]
        Command::Bench(args) => bench::run_bench(args).await,
        #[cfg(not(feature = "bench"))]
        Command::Bench { .. } => anyhow::bail!(
            "this corral was built without benchmarks; build it with \
             `cargo build --release -p corral --features bench`"
        ),
        Command::Supervise(args) => Ok(supervise::run(&args)),
        Command::WasmRun(args) => Ok(wasm_run::run(&args)),
        Command::Plugin(args) => plugin::run(args).await,
        Command::Version => {
            println!("corral {}", corral_api::VERSION);
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
