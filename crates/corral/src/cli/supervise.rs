//! `corral supervise` (hidden): the agent runs each task's command under it so that the
//! command's exit status survives the agent; see `agent::supervisor`. It runs without the
//! async runtime and without logging: it is one small process per task.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, clap::Args)]
pub struct SuperviseArgs {
    /// Where to record how the command ended (JSON, written atomically).
    #[arg(long)]
    pub exit_file: PathBuf,
    /// The pipe to tell the agent the command's pid on.
    #[arg(long, default_value_t = -1)]
    pub status_fd: i32,
    /// The user the command runs as (the sandbox becomes theirs); default: this process's.
    #[arg(long)]
    pub user: Option<String>,
    /// A command that runs as root runs in PID and mount namespaces of its own
    /// (agent::task_namespaces).
    #[arg(long)]
    pub root_namespaces: bool,
    /// Copy the command's stdout and stderr into the sandbox's files, rotating each at this
    /// many bytes; without it the command writes to the files it is given.
    #[arg(long)]
    pub log_max_size: Option<u64>,
    /// Rotated log files kept (with --log-max-size).
    #[arg(long, default_value_t = corral_agent::log_rotation::DEFAULT_MAX_FILES)]
    pub log_max_files: u32,
    /// argv[0] of the command, if not the program.
    #[arg(long, allow_hyphen_values = true)]
    pub argv0: Option<OsString>,
    /// The program and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<OsString>,
}

pub fn run(args: &SuperviseArgs) -> ExitCode {
    let Some((program, rest)) = args.command.split_first() else {
        eprintln!("corral supervise: no command given");
        return ExitCode::from(127);
    };
    // The agent starts the supervisor in the task's sandbox.
    let needs_sandbox = args.user.is_some() || args.log_max_size.is_some();
    let sandbox = match (needs_sandbox, std::env::current_dir()) {
        (false, _) => None,
        (true, Ok(dir)) => Some(dir),
        (true, Err(e)) => {
            eprintln!("corral supervise: no working directory to run in: {e}");
            return ExitCode::from(127);
        }
    };
    let user = args.user.as_deref().zip(sandbox.as_deref());
    let rotation = args
        .log_max_size
        .map(|max_size| corral_agent::log_rotation::LogRotation {
            max_size,
            max_files: args.log_max_files,
        });
    if let Some(Err(e)) = rotation.as_ref().map(|r| r.check()) {
        eprintln!("corral supervise: {e}");
        return ExitCode::from(127);
    }
    let logs = sandbox.as_deref().zip(rotation);
    let code = corral_agent::supervisor::supervise(
        &args.exit_file,
        args.status_fd,
        program,
        args.argv0.as_deref(),
        rest,
        user,
        corral_agent::supervisor::SuperviseOptions {
            root_namespaces: args.root_namespaces,
            logs,
        },
    );
    ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    #[test]
    fn the_agent_s_command_line_parses_with_hyphens_in_argv0_and_arguments() {
        let cli = Cli::try_parse_from([
            "corral",
            "supervise",
            "--exit-file",
            "/tmp/exit-1",
            "--status-fd",
            "3",
            "--log-max-size",
            "4096",
            "--argv0=-weird",
            corral_agent::supervisor::ROOT_NAMESPACES_FLAG,
            "--",
            "/bin/echo",
            "-n",
            "--help",
        ])
        .expect("parses");
        let Command::Supervise(args) = cli.command else {
            panic!("not supervise");
        };
        assert_eq!(args.status_fd, 3);
        assert!(args.root_namespaces);
        assert_eq!(args.log_max_size, Some(4096));
        assert_eq!(args.log_max_files, 9);
        assert_eq!(args.argv0.as_deref(), Some(std::ffi::OsStr::new("-weird")));
        assert_eq!(args.command, ["/bin/echo", "-n", "--help"]);
    }
}
