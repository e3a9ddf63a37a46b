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
    let sandbox = match (&args.user, std::env::current_dir()) {
        (None, _) => None,
        (Some(_), Ok(dir)) => Some(dir),
        (Some(_), Err(e)) => {
            eprintln!("corral supervise: no working directory to run in: {e}");
            return ExitCode::from(127);
        }
    };
    let user = args.user.as_deref().zip(sandbox.as_deref());
    let code = corral_agent::supervisor::supervise(
        &args.exit_file,
        args.status_fd,
        program,
        args.argv0.as_deref(),
        rest,
        user,
        args.root_namespaces,
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
        assert_eq!(args.argv0.as_deref(), Some(std::ffi::OsStr::new("-weird")));
        assert_eq!(args.command, ["/bin/echo", "-n", "--help"]);
    }
}
