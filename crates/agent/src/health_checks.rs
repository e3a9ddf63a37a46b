//! One attempt of a task's health check, as the executor plugin asks with a `check` action:
//! COMMAND runs where the task runs (exit 0 is healthy): its sandbox, cgroups and user, and
//! its namespaces when it has its own (a root task's), HTTP GETs
//! 127.0.0.1:port/path (a 2xx or 3xx status is healthy, as Mesos), TCP connects to
//! 127.0.0.1:port. Each attempt is bounded by the check's timeout; the policy (delay,
//! interval, grace period, consecutive failures) lives in the plugin, or for a task recovered
//! after an agent restart, in [`policy`].

pub mod policy;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;

use super::processes::{self, TaskEnvironment, command_value, command_variables};
use super::run_as::RunAs;
use super::runner_input::RunnerInput;
use super::task_namespace_entry::{self, NamespaceEntry};
use corral_api::v1::CommandInfo;
use corral_cgroups::{Container, JoinFiles};
use corral_plugin_host::executor::{CheckResult, Event, RunCheck};
use corral_plugin_host::health_check::{CheckKind, HttpCheck};

/// Where a COMMAND check runs: the task's sandbox, environment, cgroups, user and
/// namespaces.
pub struct CheckPlace {
    pub sandbox: PathBuf,
    pub env: TaskEnvironment,
    /// The task's container, whose cgroups a COMMAND check joins; `None` under posix.
    pub container: Option<Arc<Container>>,
    /// The task's user (`run_as.rs`); `None`: the agent's.
    pub user: Option<String>,
    /// The process group of the task's command, led by its namespaces' init when it has
    /// namespaces of its own (a check enters them); `None` before it started.
    pub task_group: Option<u32>,
}

/// The task a check belongs to.
pub struct CheckedTask<'a> {
    pub agent_id: String,
    pub task_id: &'a str,
    pub framework_id: &'a str,
    pub container_id: &'a str,
    pub user: Option<&'a str>,
    pub task_group: Option<u32>,
}

impl CheckPlace {
    /// Where a task's checks run: its sandbox, its environment, its container's cgroups, its
    /// user and its namespaces (a COMMAND check joins them).
    pub fn for_task(
        task: CheckedTask<'_>,
        sandbox: &std::path::Path,
        container: Option<&Arc<Container>>,
    ) -> CheckPlace {
        CheckPlace {
            sandbox: sandbox.to_path_buf(),
            env: TaskEnvironment {
                sandbox: sandbox.display().to_string(),
                task_id: task.task_id.to_string(),
                framework_id: task.framework_id.to_string(),
                agent_id: task.agent_id,
                container_id: task.container_id.to_string(),
            },
            container: container.cloned(),
            user: task.user.map(str::to_string),
            task_group: task.task_group,
        }
    }
}

/// Runs the attempt in the background and delivers `check-finished` to the runner's inbox.
pub fn start(check: RunCheck, place: CheckPlace, inbox: UnboundedSender<RunnerInput>) {
    tokio::spawn(async move {
        let (healthy, message) =
            attempt(&check.check.kind, check.check.timeout_seconds, place).await;
        let result = CheckResult {
            id: check.id,
            healthy,
            message,
        };
        let _ = inbox.send(RunnerInput::Event(Event::CheckFinished(result)));
    });
}

/// One attempt: (healthy, what happened).
pub async fn attempt(kind: &CheckKind, timeout_seconds: f64, place: CheckPlace) -> (bool, String) {
    let timeout = Duration::from_secs_f64(timeout_seconds.clamp(0.001, 86_400.0));
    match kind {
        CheckKind::Command(command) => command_check(command, timeout, place).await,
        CheckKind::Http(http) => match tokio::time::timeout(timeout, http_check(http)).await {
            Ok(outcome) => outcome,
            Err(_) => (false, format!("HTTP check timed out after {timeout:?}")),
        },
        CheckKind::Tcp(port) => {
            let connect = TcpStream::connect(("127.0.0.1", *port));
            match tokio::time::timeout(timeout, connect).await {
                Ok(Ok(_)) => (true, format!("connected to 127.0.0.1:{port}")),
                Ok(Err(e)) => (
                    false,
                    format!("TCP connection to 127.0.0.1:{port} failed: {e}"),
                ),
                Err(_) => (false, format!("TCP check timed out after {timeout:?}")),
            }
        }
    }
}

async fn http_check(http: &HttpCheck) -> (bool, String) {
    if http.scheme != "http" {
        return (
            false,
            format!(
                "HTTP check scheme {:?} is not supported (only http)",
                http.scheme
            ),
        );
    }
    let path = if http.path.starts_with('/') {
        http.path.clone()
    } else {
        format!("/{}", http.path)
    };
    let url = format!("http://127.0.0.1:{}{path}", http.port);
    let mut stream = match TcpStream::connect(("127.0.0.1", http.port)).await {
        Ok(s) => s,
        Err(e) => return (false, format!("GET {url} failed: {e}")),
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUser-Agent: corral-health-check\r\nConnection: close\r\n\r\n",
        http.port
    );
    if let Err(e) = stream.write_all(request.as_bytes()).await {
        return (false, format!("GET {url} failed: {e}"));
    }
    // The status line is all we need; read until it is complete.
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 4096 {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return (false, format!("GET {url} failed: {e}")),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or_default();
    match line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
    {
        Some(code) if (200..400).contains(&code) => (true, format!("GET {url} returned {code}")),
        Some(code) => (false, format!("GET {url} returned {code}")),
        None => (false, format!("GET {url}: not an HTTP answer: {line:?}")),
    }
}

async fn command_check(
    command: &CommandInfo,
    timeout: Duration,
    place: CheckPlace,
) -> (bool, String) {
    let command = command.clone();
    // In the task's (possibly CPU-throttled) cgroups the fork waits for a slow exec: off
    // the async threads.
    let spawned = tokio::task::spawn_blocking(move || spawn_check(&command, place))
        .await
        .unwrap_or_else(|e| Err(format!("starting the check command panicked: {e}")));
    let mut child = match spawned {
        Ok(child) => child,
        Err(message) => return (false, message),
    };
    let pgid = child.id();
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => (true, "command check exited with status 0".into()),
        Ok(Ok(status)) => (false, format!("command check failed: {status}")),
        Ok(Err(e)) => (false, format!("cannot wait for the check command: {e}")),
        Err(_) => {
            if let Some(pgid) = pgid {
                let _ = processes::signal_group(pgid, 9);
            }
            let _ = child.wait().await;
            (false, format!("command check timed out after {timeout:?}"))
        }
    }
}

/// Starts the check's command in the task's sandbox, environment, cgroups and namespaces, as
/// its user. Blocking (user database, `/proc`, the fork): on the blocking pool.
fn spawn_check(command: &CommandInfo, place: CheckPlace) -> Result<tokio::process::Child, String> {
    let join = place
        .container
        .as_deref()
        .map(Container::join_files)
        .transpose()
        .map_err(|e| format!("cannot put the check in the task's cgroups: {e}"))?;
    let run_as = check_user(place.user.as_deref())?;
    let entry = match place.task_group {
        Some(group) => NamespaceEntry::of_task(group, &place.sandbox)
            .map_err(|e| format!("cannot enter the task's namespaces: {e}"))?,
        None => None,
    };
    let mut cmd = if command.is_shell() {
        let mut c = tokio::process::Command::new("/bin/sh");
        c.arg("-c").arg(command_value(command));
        c
    } else {
        let mut c = tokio::process::Command::new(command_value(command));
        c.args(command.arguments.iter().skip(1));
        c
    };
    cmd.current_dir(&place.sandbox)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    for (name, value) in command_variables(command) {
        cmd.env(name, value);
    }
    for (name, value) in [
        ("MESOS_SANDBOX", &place.env.sandbox),
        ("MESOS_DIRECTORY", &place.env.sandbox),
        ("MESOS_TASK_ID", &place.env.task_id),
        ("MESOS_FRAMEWORK_ID", &place.env.framework_id),
        ("MESOS_AGENT_ID", &place.env.agent_id),
        ("MESOS_CONTAINER_ID", &place.env.container_id),
    ] {
        cmd.env(name, value);
    }
    if join.is_some() || run_as.is_some() || entry.is_some() {
        let fds = join.as_ref().map(|files| files.fds()).unwrap_or_default();
        // SAFETY: runs in the forked child and makes only async-signal-safe calls (write,
        // setpgid, setns, chdir, prctl, capset, setgroups, setgid, setuid, fork, waitpid,
        // _exit) on values prepared before the fork; the fds are close-on-exec and stay open
        // until spawn returns. Order: the cgroups first (the user cannot write their files),
        // the namespaces while still privileged, the user, then the fork into the PID
        // namespace (its parent stays the group's leader, so a kill of the group on timeout
        // reaches the check).
        unsafe {
            cmd.pre_exec(move || {
                JoinFiles::join_in_child(&fds)?;
                if libc::setpgid(0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some(entry) = &entry {
                    entry.enter()?;
                }
                if let Some(run_as) = &run_as {
                    run_as.switch()?;
                }
                if entry.is_some() {
                    task_namespace_entry::continue_in_pid_namespace()?;
                }
                Ok(())
            });
        }
    }
    cmd.spawn()
        .map_err(|e| format!("cannot start the check command: {e}"))
}

/// Who the check runs as: the task's user, `None` when that is the agent's. Blocking.
fn check_user(user: Option<&str>) -> Result<Option<RunAs>, String> {
    let Some(user) = user else {
        return Ok(None);
    };
    let run_as = RunAs::lookup(user)?;
    if run_as.is_current() {
        return Ok(None);
    }
    run_as.refusal().map_or(Ok(Some(run_as)), Err)
}
