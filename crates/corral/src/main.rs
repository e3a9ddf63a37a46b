//! The `corral` binary: parses the command line, sets up logging to stderr, runs the command.
//! Every server and client it runs lives in a library crate of the workspace (see
//! docs/architecture.md); this crate is the command line around them.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use cli::{Cli, exit_code_for, hint_for, log_setup, run, run_without_runtime, server_flags};

/// glibc's malloc spent a third of a master's CPU in a failover's re-registration storm
/// (growing its per-thread arenas page by page); mimalloc halves that work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    corral_http::process_info::mark_started();
    // Before any HTTP client is built: reqwest's rustls takes ring's cryptography from here.
    corral_http::tls::install_crypto_provider();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let command = match server_flags::prepare(Cli::command(), &argv) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let matches = command.get_matches_from(&argv);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    // A task's supervisor stays small: no runtime threads, no logging.
    if let Some(code) = run_without_runtime(&cli) {
        return code;
    }
    corral_http::process_info::set_flags(server_flags::recorded(&matches));
    // The system's CA bundle is read (files) once, here, not on an async worker when the
    // first HTTP client is built.
    let _ = corral_http::tls::system_client_config();
    run_with_runtime(cli)
}

#[tokio::main]
async fn run_with_runtime(cli: Cli) -> ExitCode {
    let outcome = match log_setup::init_logging(&cli.log_level, cli.log_format) {
        Ok(()) => run(cli).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            if let Some(hint) = hint_for(&error) {
                eprintln!("{hint}");
            }
            exit_code_for(&error)
        }
    }
}
