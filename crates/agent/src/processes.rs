//! Starting, signalling and reaping a task's processes. Every process leads its own process
//! group, so a signal reaches the children it started too.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;

use corral_api::v1::CommandInfo;
use corral_cgroups::JoinFiles;

use super::run_as::RunAs;

/// The facts a task's processes see in their environment.
#[derive(Debug, Clone)]
pub struct TaskEnvironment {
    pub sandbox: String,
    pub task_id: String,
    pub framework_id: String,
    pub agent_id: String,
    pub container_id: String,
}

impl TaskEnvironment {
    pub(crate) fn variables(&self) -> [(&'static str, &str); 6] {
        [
            ("MESOS_SANDBOX", &self.sandbox),
            ("MESOS_DIRECTORY", &self.sandbox),
            ("MESOS_TASK_ID", &self.task_id),
            ("MESOS_FRAMEWORK_ID", &self.framework_id),
            ("MESOS_AGENT_ID", &self.agent_id),
            ("MESOS_CONTAINER_ID", &self.container_id),
        ]
    }
}

/// The command's program (or shell text); empty when it has none.
pub(crate) fn command_value(command: &CommandInfo) -> &str {
    command.value.as_deref().unwrap_or_default()
}

/// The command's environment; a variable without a value is set empty.
pub(crate) fn command_variables(command: &CommandInfo) -> impl Iterator<Item = (&str, &str)> {
    command
        .environment
        .iter()
        .flat_map(|e| &e.variables)
        .map(|v| (v.name.as_str(), v.value.as_deref().unwrap_or_default()))
}

/// How a process ended: exactly one of the two is set when the status is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExitOutcome {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

fn open_log(sandbox: &Path, name: &str) -> std::io::Result<std::fs::File> {
    // Append: several processes of one task share the files.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(sandbox.join(name))
}

/// Starts `command` in `sandbox` as the leader of a new process group. With `shell` the value
/// runs under `/bin/sh -c`; otherwise it is the program, `arguments[0]` its argv[0] (as Mesos
/// does) and `arguments[1..]` its arguments. With `cgroups` the process joins them after the
/// fork and before it execs, so the command runs limited from its first instruction.
/// Returns the child and its pid (= its pgid). Forks and waits for the exec, which a
/// throttled cgroup slows down: call it off the async threads (see `process_start.rs`).
pub fn spawn(
    command: &CommandInfo,
    sandbox: &Path,
    env: &TaskEnvironment,
    cgroups: Option<&JoinFiles>,
    user: Option<&str>,
) -> Result<(tokio::process::Child, u32), String> {
    let value = command_value(command);
    let mut cmd = if command.is_shell() {
        let mut c = tokio::process::Command::new("/bin/sh");
        c.arg("-c").arg(value);
        c
    } else {
        if value.is_empty() {
            return Err("command has no program to run (value is empty)".to_string());
        }
        let mut c = tokio::process::Command::new(value);
        if let Some(argv0) = command.arguments.first() {
            c.arg0(argv0);
        }
        c.args(command.arguments.iter().skip(1));
        c
    };
    let stdout = open_log(sandbox, "stdout").map_err(|e| format!("cannot open stdout: {e}"))?;
    let stderr = open_log(sandbox, "stderr").map_err(|e| format!("cannot open stderr: {e}"))?;
    // After the logs are made, so they are the user's too; an unknown user fails the
    // launch, naming it.
    let run_as = match user {
        Some(user) => RunAs::prepare(user, sandbox)?,
        None => None,
    };
    cmd.current_dir(sandbox)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .kill_on_drop(false);
    for (name, value) in command_variables(command) {
        cmd.env(name, value);
    }
    // Set last so a task cannot misreport where it runs.
    for (name, value) in env.variables() {
        cmd.env(name, value);
    }
    if cgroups.is_some() || run_as.is_some() {
        let fds = cgroups.map(JoinFiles::fds).unwrap_or_default();
        // SAFETY: the closure runs in the forked child and only calls write(2), setgroups(2),
        // setgid(2) and setuid(2), which are async-signal-safe; the fds stay open in the
        // parent until spawn returns and are close-on-exec, so the command does not inherit
        // them. The cgroups are joined first: the user cannot write their files.
        unsafe {
            cmd.pre_exec(move || {
                JoinFiles::join_in_child(&fds)?;
                match &run_as {
                    Some(run_as) => run_as.switch(),
                    None => Ok(()),
                }
            });
        }
    }
    let shown = if command.is_shell() {
        format!("/bin/sh -c {value:?}")
    } else {
        format!("{value:?}")
    };
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    // A child that has not been waited for always has its pid.
    let pid = child
        .id()
        .ok_or_else(|| format!("{shown} started without a process id"))?;
    Ok((child, pid))
}

/// Waits for the process and says how it ended.
pub async fn wait(mut child: tokio::process::Child) -> ExitOutcome {
    use std::os::unix::process::ExitStatusExt;
    match child.wait().await {
        Ok(status) => ExitOutcome {
            code: status.code(),
            signal: status.signal(),
        },
        Err(e) => {
            tracing::warn!("cannot wait for a task process: {e}");
            ExitOutcome {
                code: None,
                signal: None,
            }
        }
    }
}

/// Sends `signal` to the process group `pgid`.
pub fn signal_group(pgid: u32, signal: i32) -> Result<(), String> {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return Err(format!("process group {pgid} is out of range"));
    };
    if pgid <= 1 {
        // killpg(0) and killpg(1) would reach the agent's own group or every process.
        return Err(format!("refusing to signal process group {pgid}"));
    }
    // SAFETY: killpg has no memory-safety preconditions; pgid > 1 is a group we created.
    let rc = unsafe { libc::killpg(pgid, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().to_string())
    }
}

/// The task's processes by the plugin's process ids, with their process group ids. A
/// process stays listed after it exits: its children may still run in its group.
#[derive(Debug, Default)]
pub struct ProcessTable {
    groups: HashMap<u32, u32>,
}

impl ProcessTable {
    pub fn insert(&mut self, id: u32, pgid: u32) -> Option<u32> {
        self.groups.insert(id, pgid)
    }

    pub fn group(&self, id: u32) -> Option<u32> {
        self.groups.get(&id).copied()
    }

    /// The group of the process started first (the task's command).
    pub fn first_group(&self) -> Option<u32> {
        self.groups
            .iter()
            .min_by_key(|(id, _)| **id)
            .map(|(_, g)| *g)
    }

    /// SIGKILLs every group the task started (the task is over or failed).
    pub fn kill_all(&self) {
        for pgid in self.groups.values() {
            if let Err(e) = signal_group(*pgid, libc::SIGKILL)
                && !e.contains("No such process")
            {
                tracing::warn!("cannot kill process group {pgid}: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(sandbox: &Path) -> TaskEnvironment {
        TaskEnvironment {
            sandbox: sandbox.display().to_string(),
            task_id: "t1".into(),
            framework_id: "f1".into(),
            agent_id: "a1".into(),
            container_id: "c1".into(),
        }
    }

    fn command(shell: bool, value: &str, arguments: &[&str]) -> CommandInfo {
        CommandInfo {
            shell: Some(shell),
            value: Some(value.to_string()),
            arguments: arguments.iter().map(|s| s.to_string()).collect(),
            environment: Some(corral_api::v1::Environment {
                variables: vec![corral_api::v1::EnvironmentVariable {
                    name: "GREETING".into(),
                    value: Some("hi".into()),
                }],
            }),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn argv_form_passes_argv0_and_arguments() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cmd = command(
            false,
            "/bin/sh",
            &["my-name", "-c", "echo $0 $GREETING $MESOS_TASK_ID"],
        );
        let (child, _) = spawn(&cmd, dir.path(), &env(dir.path()), None, None).expect("spawns");
        assert_eq!(
            wait(child).await,
            ExitOutcome {
                code: Some(0),
                signal: None
            }
        );
        let out = std::fs::read_to_string(dir.path().join("stdout")).expect("stdout file");
        assert_eq!(out, "my-name hi t1\n");
    }

    #[tokio::test]
    async fn a_direct_child_runs_as_its_user_and_an_unknown_one_is_refused() {
        if !crate::runs_as_root() {
            eprintln!("skipped: switching users needs root");
            return;
        }
        let nobody = RunAs::lookup("nobody").expect("nobody exists");
        let dir = tempfile::tempdir().expect("temp dir");
        let cmd = command(true, "id -u", &[]);
        let (child, _) =
            spawn(&cmd, dir.path(), &env(dir.path()), None, Some("nobody")).expect("spawns");
        assert_eq!(wait(child).await.code, Some(0));
        let out = std::fs::read_to_string(dir.path().join("stdout")).expect("stdout file");
        assert_eq!(out.trim(), nobody.uid.to_string());
        let err = spawn(
            &cmd,
            dir.path(),
            &env(dir.path()),
            None,
            Some("no-such-user-here"),
        )
        .expect_err("unknown user");
        assert!(
            err.contains("\"no-such-user-here\" does not exist"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn missing_program_is_a_spawn_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cmd = command(false, "/no/such/program", &[]);
        let err = spawn(&cmd, dir.path(), &env(dir.path()), None, None).expect_err("cannot spawn");
        assert!(err.contains("/no/such/program"), "{err}");
    }

    #[tokio::test]
    async fn group_signal_reaches_children() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cmd = command(true, "sleep 100 & echo $! > child; wait", &[]);
        let (child, pgid) = spawn(&cmd, dir.path(), &env(dir.path()), None, None).expect("spawns");
        let child_pid_file = dir.path().join("child");
        for _ in 0..100 {
            if std::fs::read_to_string(&child_pid_file).is_ok_and(|s| s.ends_with('\n')) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let grandchild: i32 = std::fs::read_to_string(&child_pid_file)
            .expect("child pid written")
            .trim()
            .parse()
            .expect("a pid");
        signal_group(pgid, libc::SIGTERM).expect("signalled");
        assert_eq!(wait(child).await.signal, Some(libc::SIGTERM));
        let mut gone = false;
        for _ in 0..100 {
            // The grandchild is reparented and reaped by init; /proc shows it until then.
            let stat = std::fs::read_to_string(format!("/proc/{grandchild}/stat"));
            if stat.is_err() || stat.is_ok_and(|s| s.contains(") Z")) {
                gone = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(
            gone,
            "the sleep started by the shell survived SIGTERM to the group"
        );
    }

    #[test]
    fn refuses_dangerous_groups() {
        assert!(signal_group(0, libc::SIGKILL).is_err());
        assert!(signal_group(1, libc::SIGKILL).is_err());
    }
}
