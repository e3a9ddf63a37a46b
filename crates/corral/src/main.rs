//! The `corral` binary: parses the command line, sets up logging to stderr, runs the command.
//! Every server and client it runs lives in a library crate of the workspace (see
//! docs/architecture.md); this crate is the command line around them.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use cli::{Cli, exit_code_for, run, run_without_runtime};
use tracing_subscriber::EnvFilter;

/// glibc's malloc spent a third of a master's CPU in a failover's re-registration storm
/// (growing its per-thread arenas page by page); mimalloc halves that work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// hickory-server logs every DNS query at info: a DNS server's log would be nothing else.
const QUIET_DNS_QUERIES: &str = "hickory_server=warn";

fn init_logging(level: &str) -> anyhow::Result<()> {
    let (text, mut filter) = match std::env::var("RUST_LOG") {
        Ok(text) if !text.trim().is_empty() => {
            let filter =
                EnvFilter::try_new(&text).with_context(|| format!("bad RUST_LOG '{text}'"))?;
            (text, filter)
        }
        _ => {
            let filter =
                EnvFilter::try_new(level).with_context(|| format!("bad --log-level '{level}'"))?;
            (level.to_string(), filter)
        }
    };
    if !text.contains("hickory") {
        filter = filter.add_directive(QUIET_DNS_QUERIES.parse()?);
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A task's supervisor stays small: no runtime threads, no logging.
    if let Some(code) = run_without_runtime(&cli) {
        return code;
    }
    run_with_runtime(cli)
}

#[tokio::main]
async fn run_with_runtime(cli: Cli) -> ExitCode {
    let outcome = match init_logging(&cli.log_level) {
        Ok(()) => run(cli).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            exit_code_for(&error)
        }
    }
}
