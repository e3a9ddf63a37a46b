//! `corral task logs TASK_ID [--follow] [--stderr] [--framework F] [--tail N]`: finds the
//! task's agent through the master, its sandbox through the agent's `/state`, and prints its
//! stdout (or stderr) with READ_FILE at growing offsets. `--follow` keeps reading until the
//! task is terminal and the file is drained.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail};

use super::agent_lookup::{AgentClient, agent_of, cluster_view};
use super::master_arg::MasterArg;
use super::task_match::find_task;
use corral_client::operator_client::OperatorClient;

/// How much one READ_FILE asks for.
const CHUNK: u64 = 64 * 1024;
/// `--tail` looks at most this far back from the end.
const TAIL_WINDOW: u64 = 1024 * 1024;
const POLL: Duration = Duration::from_millis(300);

#[derive(Debug, clap::Args)]
pub struct TaskArgs {
    #[command(subcommand)]
    pub command: TaskCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum TaskCommand {
    /// Print a task's stdout (or stderr) from its sandbox on its agent.
    Logs(LogsArgs),
    /// Kill a running task (its framework hears TASK_KILLED).
    Kill(super::task_kill::KillArgs),
}

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The task: its id, a unique prefix of it, or its name.
    pub task_id: String,
    /// Keep printing new output until the task ends.
    #[arg(long, short)]
    pub follow: bool,
    /// Print stderr instead of stdout.
    #[arg(long)]
    pub stderr: bool,
    /// The task's framework id, when several frameworks use the same task id.
    #[arg(long)]
    pub framework: Option<String>,
    /// Print only the last N lines (then follow, with --follow).
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
    #[command(flatten)]
    pub master: MasterArg,
}

pub async fn run(args: TaskArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TaskCommand::Logs(args) => logs(args).await,
        TaskCommand::Kill(args) => super::task_kill::run(args).await,
    }
}

/// The task's sandbox and whether it has ended, as its agent says.
async fn sandbox_of(
    agent: &AgentClient,
    framework: &str,
    task_id: &str,
) -> anyhow::Result<(String, bool)> {
    let state = agent.state().await?;
    let Some(entry) = state["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["task_id"]["value"] == task_id && t["framework_id"]["value"] == framework)
    else {
        return ended_sandbox(agent, &state, framework, task_id)
            .await
            .map(|s| (s, true));
    };
    let sandbox = entry["sandbox"].as_str().unwrap_or_default().to_string();
    if sandbox.is_empty() {
        bail!(
            "the agent at {} reports no sandbox for task '{task_id}'",
            agent.addr
        );
    }
    let terminal = serde_json::from_value::<corral_api::v1::TaskState>(entry["state"].clone())
        .is_ok_and(|state| state.is_terminal());
    Ok((sandbox, terminal))
}

/// The newest sandbox of a task the agent has forgotten, under its `sandbox_root`.
async fn ended_sandbox(
    agent: &AgentClient,
    state: &serde_json::Value,
    framework: &str,
    task_id: &str,
) -> anyhow::Result<String> {
    let gone = || {
        anyhow!(
            "the agent at {} no longer has a sandbox of task '{task_id}'",
            agent.addr
        )
    };
    let root = state["sandbox_root"].as_str().ok_or_else(gone)?;
    let dir = format!("{root}/{framework}/{task_id}");
    let listed = agent
        .call(serde_json::json!({"type": "LIST_FILES", "list_files": {"path": dir}}))
        .await
        .map_err(|e| anyhow!("{}: {e:#}", gone()))?;
    listed["list_files"]["file_infos"]
        .as_array()
        .into_iter()
        .flatten()
        .max_by_key(|f| f["mtime"]["nanoseconds"].as_i64().unwrap_or(0))
        .and_then(|f| f["path"].as_str())
        .map(String::from)
        .ok_or_else(gone)
}

async fn logs(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let client = OperatorClient::new(args.master.resolve().await?)?;
    let (tasks, agents) = cluster_view(&client).await?;
    let task = find_task(&tasks, &args.task_id, args.framework.as_deref())?;
    let framework = task.framework_id.value.clone();
    let task_id = task.task_id.value.clone();
    let agent = AgentClient::new(agent_of(&agents, task)?, client.master())?;
    let (sandbox, mut ended) = sandbox_of(&agent, &framework, &task_id).await?;
    let file = if args.stderr { "stderr" } else { "stdout" };
    let path = format!("{sandbox}/{file}");

    let mut out = std::io::stdout();
    let mut offset = 0;
    if let Some(lines) = args.tail {
        let (_, size) = agent.read_file(&path, 0, 0).await?;
        let start = size.saturating_sub(TAIL_WINDOW);
        let mut window = Vec::new();
        let mut at = start;
        while at < size {
            let (data, _) = agent.read_file(&path, at, CHUNK).await?;
            if data.is_empty() {
                break;
            }
            at += data.len() as u64;
            window.extend_from_slice(&data);
        }
        out.write_all(last_lines(&window, lines))?;
        out.flush()?;
        offset = at;
    }
    loop {
        let (data, size) = agent.read_file(&path, offset, CHUNK).await?;
        if !data.is_empty() {
            offset += data.len() as u64;
            out.write_all(&data)?;
            out.flush()?;
            continue;
        }
        if size < offset {
            // The agent rotated the file (it was renamed `<file>.1`): the rest of the old
            // one, then the new one from its start.
            copy_rest(&agent, &format!("{path}.1"), offset, &mut out).await?;
            offset = 0;
            continue;
        }
        // Drained. Stop unless following a task that still runs; after it ends, one more
        // pass picks up what it wrote last.
        if !args.follow || ended {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(POLL).await;
        ended = sandbox_of(&agent, &framework, &task_id).await?.1;
    }
}

/// Writes `path` from `offset` to its end (nothing if it is gone).
async fn copy_rest(
    agent: &AgentClient,
    path: &str,
    mut offset: u64,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    loop {
        let Ok((data, _)) = agent.read_file(path, offset, CHUNK).await else {
            return Ok(());
        };
        if data.is_empty() {
            return Ok(());
        }
        offset += data.len() as u64;
        out.write_all(&data)?;
        out.flush()?;
    }
}

/// The last `n` lines of `data` (a final line without a newline counts).
pub fn last_lines(data: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &[];
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let mut seen = 0;
    for (i, byte) in body.iter().enumerate().rev() {
        if *byte == b'\n' {
            seen += 1;
            if seen == n {
                return &data[i + 1..];
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::last_lines;

    #[test]
    fn last_lines_counts_from_the_end() {
        assert_eq!(last_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(last_lines(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(last_lines(b"a\nb\n", 5), b"a\nb\n");
        assert_eq!(last_lines(b"a\nb\n", 0), b"");
        assert_eq!(last_lines(b"", 3), b"");
    }
}
