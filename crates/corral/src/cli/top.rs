//! `corral top [--once] [--interval DURATION]`: live usage of every running task, from each
//! agent's GET_CONTAINERS: task, framework, agent, cpu% since the last sample, memory, its
//! limit and processes. `--once` prints one table (cpu% over a short first interval) for
//! scripts and tests.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};

use super::agent_lookup::{AgentClient, agent_address, cluster_view};
use super::master_arg::MasterArg;
use super::table::Table;
use corral_client::operator_client::OperatorClient;

/// With `--once`, cpu% is measured over this long.
const ONCE_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, clap::Args)]
pub struct TopArgs {
    /// Print one sample and exit.
    #[arg(long)]
    pub once: bool,
    /// Time between samples (`2secs`, `500ms`).
    #[arg(long, default_value = "2secs", value_name = "DURATION",
          value_parser = super::duration_flag::positive)]
    pub interval: Duration,
    #[command(flatten)]
    pub master: MasterArg,
}

/// One container's sample.
#[derive(Debug, Clone)]
struct Sample {
    task: String,
    framework: String,
    agent: String,
    timestamp: f64,
    cpu_secs: f64,
    rss: Option<u64>,
    limit: Option<u64>,
    processes: Option<u64>,
}

type Key = (String, String, String);

async fn sample(client: &OperatorClient) -> anyhow::Result<Vec<Sample>> {
    let (tasks, agents) = cluster_view(client).await?;
    let names: HashMap<(String, String), String> = tasks
        .tasks
        .iter()
        .map(|t| {
            let shown = if t.name.is_empty() || t.name == t.task_id.value {
                t.task_id.value.clone()
            } else {
                format!("{} ({})", t.task_id.value, t.name)
            };
            (
                (t.framework_id.value.clone(), t.task_id.value.clone()),
                shown,
            )
        })
        .collect();
    let mut samples = Vec::new();
    for entry in &agents.agents {
        let Some(addr) = agent_address(entry) else {
            continue;
        };
        let agent = AgentClient::new(addr.clone(), client.master())?;
        let answer = match agent.call(json!({"type": "GET_CONTAINERS"})).await {
            Ok(answer) => answer,
            Err(e) => {
                eprintln!("skipping agent {addr}: {e:#}");
                continue;
            }
        };
        let containers = answer["get_containers"]["containers"].as_array().cloned();
        for c in containers.unwrap_or_default() {
            let stats = &c["resource_statistics"];
            let framework = c["framework_id"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let task_id = c["executor_id"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let task = names
                .get(&(framework.clone(), task_id.clone()))
                .cloned()
                .unwrap_or(task_id);
            samples.push(Sample {
                task,
                framework,
                agent: entry.agent_info.hostname.clone(),
                timestamp: stats["timestamp"].as_f64().unwrap_or(0.0),
                cpu_secs: number(stats, "cpus_user_time_secs")
                    + number(stats, "cpus_system_time_secs"),
                rss: stats["mem_rss_bytes"].as_u64(),
                limit: stats["mem_limit_bytes"].as_u64(),
                processes: stats["processes"].as_u64(),
            });
        }
    }
    Ok(samples)
}

fn number(stats: &Value, field: &str) -> f64 {
    stats[field].as_f64().unwrap_or(0.0)
}

fn key(s: &Sample) -> Key {
    (s.agent.clone(), s.framework.clone(), s.task.clone())
}

/// Megabytes with one decimal, or "-" when unknown.
fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "-".to_string(),
        |b| format!("{:.1} MB", b as f64 / 1048576.0),
    )
}

fn render(now: &[Sample], before: &HashMap<Key, Sample>) -> Table {
    let mut table = Table::new(["TASK", "FRAMEWORK", "AGENT", "CPU%", "MEM", "LIMIT", "PIDS"]);
    let mut rows: Vec<&Sample> = now.iter().collect();
    rows.sort_by_key(|s| key(s));
    for s in rows {
        let cpu = before
            .get(&key(s))
            .filter(|b| s.timestamp > b.timestamp)
            .map(|b| 100.0 * (s.cpu_secs - b.cpu_secs).max(0.0) / (s.timestamp - b.timestamp));
        table.row([
            s.task.clone(),
            s.framework.clone(),
            s.agent.clone(),
            cpu.map_or_else(|| "-".to_string(), |c| format!("{c:.1}")),
            mib(s.rss),
            mib(s.limit),
            s.processes
                .map_or_else(|| "-".to_string(), |p| p.to_string()),
        ]);
    }
    table
}

pub async fn run(args: TopArgs) -> anyhow::Result<ExitCode> {
    let client = OperatorClient::new(args.master.resolve().await?)?;
    let interval = args.interval;
    let mut before: HashMap<Key, Sample> = HashMap::new();
    if args.once {
        before = sample(&client)
            .await?
            .into_iter()
            .map(|s| (key(&s), s))
            .collect();
        tokio::time::sleep(ONCE_INTERVAL).await;
        let now = sample(&client).await?;
        print!("{}", render(&now, &before).render(""));
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        let now = sample(&client).await?;
        let table = render(&now, &before);
        let mut out = std::io::stdout();
        // Clear the screen and go home, like top.
        write!(out, "\x1b[2J\x1b[H{}", table.render(""))?;
        if now.is_empty() {
            writeln!(out, "(no running tasks)")?;
        }
        out.flush()?;
        before = now.into_iter().map(|s| (key(&s), s)).collect();
        tokio::time::sleep(interval).await;
    }
}
