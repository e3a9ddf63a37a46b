//! `corral bench failover`: time from killing the leading master (-9) to a new leader and to
//! every agent re-registered with it. Two real `corral master` processes on a local etcd
//! (started here, or `--etcd`), and many simulated agents in this process: each holds a real
//! agent stream to the masters and re-registers with its tasks as `corral agent` does, but
//! runs nothing.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;

use super::bench_support::{ChildGuard, RemoveOnDrop, free_port, start_local_etcd, wait_for};
use super::duration_flag;
use super::master::MIN_LEADER_LEASE_SECS;
use corral_api::agent_protocol::{AgentCommand, AgentSubscribe, SUBSCRIBE_PATH};
use corral_api::recordio::Decoder;
use corral_api::resources::parse_resources;
use corral_api::v1::{AgentInfo, FrameworkInfo, Id, Resource, Task, TaskId, TaskState, TaskStatus};

/// The real agent's registration backoff and immediate retry (agent/registration.rs), so the
/// figures include them.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, clap::Args)]
pub struct FailoverArgs {
    /// Simulated agents.
    #[arg(long, default_value_t = 10_000)]
    pub agents: usize,
    /// Running tasks each agent reports when it re-registers.
    #[arg(long, default_value_t = 10)]
    pub tasks_per_agent: usize,
    /// The masters' leader lease TTL (their `--leader-lease`): the floor of failover time
    /// after a kill -9.
    #[arg(long, default_value = "2secs", value_name = "DURATION",
          value_parser = duration_flag::whole_secs_at_least(MIN_LEADER_LEASE_SECS))]
    pub leader_lease: Duration,
    /// An etcd to use (HOST:PORT); by default one is started on free loopback ports.
    #[arg(long)]
    pub etcd: Option<String>,
}

fn start_master(etcd: &str, port: u16, lease: Duration) -> anyhow::Result<ChildGuard> {
    let exe = std::env::current_exe().context("cannot find the corral binary")?;
    let child = Command::new(exe)
        .args(["master", "--ip", "127.0.0.1", "--hostname", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .args(["--state", &format!("etcd://{etcd}/bench-failover")])
        .args(["--leader-lease", &duration_flag::format(lease)])
        // CORRAL_BENCH_MASTER_LOG=info shows the masters' election and registry load.
        .env(
            "RUST_LOG",
            std::env::var("CORRAL_BENCH_MASTER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start a master")?;
    Ok(ChildGuard(child))
}

/// Who `master` says leads (`GET /master/redirect`), if anyone.
async fn leader_per(http: &reqwest::Client, master: &str) -> Option<String> {
    let response = http
        .get(format!("http://{master}/master/redirect"))
        .send()
        .await
        .ok()?;
    let location = response.headers().get("location")?.to_str().ok()?;
    Some(location.trim_start_matches("http://").to_string())
}

/// Which master each simulated agent is registered with now.
type Registered = Arc<Mutex<Vec<Option<String>>>>;

fn count_with(registered: &Registered, master: &str) -> usize {
    registered
        .lock()
        .map(|r| r.iter().filter(|m| m.as_deref() == Some(master)).count())
        .unwrap_or(0)
}

fn subscribe_message(
    i: usize,
    tasks_per_agent: usize,
    agent_resources: &[Resource],
    task_resources: &[Resource],
) -> AgentSubscribe {
    let agent_id = Id::new(format!("bench-agent-{i:06}"));
    let framework_id = Id::new("bench-framework");
    let tasks = (0..tasks_per_agent)
        .map(|t| {
            let task_id: TaskId = Id::new(format!("task-{i:06}-{t:02}"));
            Task {
                name: task_id.value.clone(),
                task_id: task_id.clone(),
                framework_id: framework_id.clone(),
                agent_id: agent_id.clone(),
                state: TaskState::TaskRunning,
                resources: task_resources.to_vec(),
                statuses: vec![TaskStatus {
                    task_id,
                    state: TaskState::TaskRunning,
                    ..Default::default()
                }],
                ..Default::default()
            }
        })
        .collect();
    AgentSubscribe {
        agent_id: Some(agent_id),
        info: AgentInfo {
            hostname: format!("sim-{i}"),
            port: None,
            resources: agent_resources.to_vec(),
            ..Default::default()
        },
        tasks,
        frameworks: vec![FrameworkInfo {
            id: Some(framework_id),
            name: "bench".into(),
            user: "root".into(),
            ..Default::default()
        }],
        version: corral_api::VERSION.to_string(),
        isolation_note: None,
        scheme: Default::default(),
    }
}

/// One simulated agent: subscribe (rotating over the masters, following redirects), note
/// the master once Registered, hold the stream, and start over when it ends.
async fn sim_agent(
    i: usize,
    http: reqwest::Client,
    masters: Arc<Vec<String>>,
    message: bytes::Bytes,
    registered: Registered,
) {
    let mut backoff = FIRST_BACKOFF;
    let mut next = i;
    // As the real agent: after a registered stream ends, one round over the masters at once.
    let mut immediate = 0;
    loop {
        let master = &masters[next % masters.len()];
        next += 1;
        let url = format!("http://{master}{SUBSCRIBE_PATH}");
        let request = http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(message.clone());
        if let Ok(response) = request.send().await
            && response.status().is_success()
        {
            let at = response
                .url()
                .port()
                .map(|p| format!("127.0.0.1:{p}"))
                .unwrap_or_default();
            let mut stream = response.bytes_stream();
            let mut decoder = Decoder::default();
            while let Some(Ok(chunk)) = stream.next().await {
                decoder.feed(&chunk);
                while let Ok(Some(record)) = decoder.next_record() {
                    if let Ok(AgentCommand::Registered { .. }) = serde_json::from_slice(&record) {
                        if let Ok(mut r) = registered.lock() {
                            r[i] = Some(at.clone());
                        }
                        backoff = FIRST_BACKOFF;
                        immediate = masters.len();
                    }
                }
            }
            if let Ok(mut r) = registered.lock() {
                r[i] = None;
            }
            next = corral_agent::registration::skip_master(&masters[..], next, &at);
        }
        if immediate > 0 {
            immediate -= 1;
            continue;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

pub async fn failover(args: FailoverArgs) -> anyhow::Result<std::process::ExitCode> {
    if args.agents == 0 {
        bail!("--agents must be positive");
    }
    let dir = std::env::temp_dir().join(format!("corral-bench-failover-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(dir.clone());
    let (_etcd, etcd) = match &args.etcd {
        Some(endpoint) => (None, endpoint.clone()),
        None => {
            let local = start_local_etcd(dir.join("etcd")).await?;
            let endpoint = local.endpoint.clone();
            (Some(local), endpoint)
        }
    };
    let ports = [free_port()?, free_port()?];
    let masters: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let mut children: Vec<Option<ChildGuard>> = Vec::new();
    for port in ports {
        children.push(Some(start_master(&etcd, port, args.leader_lease)?));
    }
    let probe = corral_client::client_tls::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(1))
        .build()?;
    let leader = wait_for("a leader", Duration::from_secs(60), async || {
        leader_per(&probe, &masters[0]).await
    })
    .await?;
    let leader_index = masters
        .iter()
        .position(|m| *m == leader)
        .context("the leader is not one of the masters")?;
    let survivor = masters[1 - leader_index].clone();

    let http = corral_client::client_tls::client_builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let agent_resources = parse_resources("cpus:16;mem:65536")?;
    let task_resources = parse_resources("cpus:0.1;mem:32")?;
    let registered: Registered = Arc::new(Mutex::new(vec![None; args.agents]));
    let masters = Arc::new(masters);
    let started = Instant::now();
    for i in 0..args.agents {
        // Serialized once: a real agent's JSON costs its own machine, not the masters', and
        // the simulated agents share two cores with them.
        let message = serde_json::to_vec(&subscribe_message(
            i,
            args.tasks_per_agent,
            &agent_resources,
            &task_resources,
        ))?;
        tokio::spawn(sim_agent(
            i,
            http.clone(),
            masters.clone(),
            message.into(),
            registered.clone(),
        ));
    }
    wait_for(
        "every agent registered",
        Duration::from_secs(600),
        async || (count_with(&registered, &leader) == args.agents).then_some(()),
    )
    .await?;
    let first_registration = started.elapsed();
    // Let the registry writes of the first registrations settle.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let killed = Instant::now();
    tracing::info!("killing the leader at {leader}");
    children[leader_index].take();
    tracing::info!("the leader has exited");
    // Elected: the survivor says it leads, or (what a loaded survivor shows first) an agent
    // has registered with it.
    wait_for("a new leader", Duration::from_secs(60), async || {
        if count_with(&registered, &survivor) > 0 {
            return Some(());
        }
        (leader_per(&probe, &survivor).await.as_deref() == Some(survivor.as_str())).then_some(())
    })
    .await?;
    let elected = killed.elapsed();
    wait_for(
        "every agent re-registered",
        Duration::from_secs(600),
        async || (count_with(&registered, &survivor) == args.agents).then_some(()),
    )
    .await?;
    let done = killed.elapsed();
    println!(
        "failover: {} agents x {} tasks, lease TTL {} s",
        args.agents,
        args.tasks_per_agent,
        args.leader_lease.as_secs()
    );
    println!(
        "  first registration of every agent: {:.2} s",
        first_registration.as_secs_f64()
    );
    println!(
        "  leader killed -> new leader elected: {:.2} s",
        elected.as_secs_f64()
    );
    println!(
        "  new leader elected -> every agent re-registered: {:.2} s",
        (done - elected).as_secs_f64()
    );
    println!(
        "  leader killed -> every agent re-registered: {:.2} s",
        done.as_secs_f64()
    );
    Ok(std::process::ExitCode::SUCCESS)
}
