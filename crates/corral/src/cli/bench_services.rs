//! `corral bench services`: the services component at scale, as issue 13 asks. A real
//! master and two real `corral services` processes on a local etcd (the services leader and
//! a follower); simulated agents (`bench_sim_agents.rs`) hold the tasks. Timed: an app of
//! `--instances` deployed until every task runs; a rolling restart of it at
//! minimumHealthCapacity 0.9; the app scaled to `--failover-tasks`; then the services leader
//! killed with -9 and the follower's takeover, to every task reconciled with the master,
//! from the follower's own log lines as they arrive.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::bench_sim_agents::{self, SimCounters};
use super::bench_support::{ChildGuard, RemoveOnDrop, free_port, start_local_etcd, wait_for};
use corral_api::resources::parse_resources;

#[derive(Debug, Clone, clap::Args)]
pub struct ServicesBenchArgs {
    /// Instances of the app deployed, then restarted.
    #[arg(long, default_value_t = 1000)]
    pub instances: usize,
    /// Running tasks when the services leader is killed (the app is scaled to this many).
    #[arg(long, default_value_t = 10_000)]
    pub failover_tasks: usize,
    /// Simulated agents.
    #[arg(long, default_value_t = 20)]
    pub agents: usize,
}

/// The log lines of a services process that mark a takeover, in order.
const TAKEOVER: [(&str, &str); 4] = [
    (
        "services: state loaded",
        "elected, its state loaded from etcd",
    ),
    ("services: elected leader", "leading (serving the API)"),
    (
        "services: subscribed as framework",
        "subscribed to the master",
    ),
    ("services: every task reconciled", "every task reconciled"),
];

/// When each [`TAKEOVER`] line was read from a process's log (the first time).
type Seen = Arc<Mutex<[Option<Instant>; 4]>>;

/// A `corral services` process, its log lines watched.
struct ServicesProcess {
    _child: Option<ChildGuard>,
    addr: String,
    seen: Seen,
}

fn start_services(master: &str, etcd: &str) -> anyhow::Result<ServicesProcess> {
    let port = free_port()?;
    let exe = std::env::current_exe().context("cannot find the corral binary")?;
    let mut child = Command::new(exe)
        .args(["services", "--master", master, "--ip", "127.0.0.1"])
        .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
        .args(["--state", &format!("etcd://{etcd}/bench-services")])
        .args(["--leader-lease", "2secs"])
        .env("RUST_LOG", "warn,corral_services=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start corral services")?;
    let seen: Seen = Arc::new(Mutex::new([None; 4]));
    if let Some(stderr) = child.stderr.take() {
        let seen = seen.clone();
        // A plain thread: the log is read with blocking reads, and timed as it arrives.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let Some(index) = TAKEOVER.iter().position(|(mark, _)| line.contains(mark)) else {
                    continue;
                };
                if let Ok(mut seen) = seen.lock() {
                    seen[index].get_or_insert_with(Instant::now);
                }
            }
        });
    }
    Ok(ServicesProcess {
        _child: Some(ChildGuard(child)),
        addr: format!("127.0.0.1:{port}"),
        seen,
    })
}

async fn get_json(http: &reqwest::Client, url: &str) -> Option<Value> {
    let response = http.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

/// `/v2/apps/bench`'s running task count once no deployment holds it, else none.
async fn settled_running(http: &reqwest::Client, services: &str) -> Option<usize> {
    let app = get_json(
        http,
        &format!("http://{services}/v2/apps/bench?embed=app.deployments"),
    )
    .await?;
    let app = &app["app"];
    let idle = app["deployments"].as_array().is_some_and(Vec::is_empty);
    let running = usize::try_from(app["tasksRunning"].as_u64()?).ok()?;
    idle.then_some(running)
}

/// Sends `body` with `method` to `path` and checks the status is 2xx.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: &Value,
) -> anyhow::Result<()> {
    let response = http.request(method, url).json(body).send().await?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        bail!("{url} answered {status}: {text}");
    }
    Ok(())
}

/// Times `action` until the app runs `n` tasks with no deployment left.
async fn timed_until_running(
    http: &reqwest::Client,
    services: &str,
    n: usize,
    counters: &SimCounters,
    action: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    action.await?;
    wait_for(
        &format!("{n} running tasks"),
        Duration::from_secs(600),
        async || (settled_running(http, services).await == Some(n)).then_some(()),
    )
    .await?;
    let took = started.elapsed();
    if counters.disconnected.load(Ordering::SeqCst) > 0 {
        bail!("a simulated agent lost its stream to the master; the figures are not valid");
    }
    Ok(took)
}

pub async fn services(args: ServicesBenchArgs) -> anyhow::Result<std::process::ExitCode> {
    if args.instances == 0 || args.agents == 0 || args.failover_tasks < args.instances {
        bail!("--instances and --agents must be positive, --failover-tasks at least --instances");
    }
    let dir = std::env::temp_dir().join(format!("corral-bench-services-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(dir.clone());
    let etcd = start_local_etcd(dir.join("etcd")).await?;
    let master_port = free_port()?;
    let master = format!("127.0.0.1:{master_port}");
    let exe = std::env::current_exe().context("cannot find the corral binary")?;
    let _master = ChildGuard(
        Command::new(exe)
            .args(["master", "--ip", "127.0.0.1", "--hostname", "127.0.0.1"])
            .args(["--port", &master_port.to_string(), "--state", "memory"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start a master")?,
    );
    let http = corral_client::client_tls::client();
    wait_for("the master", Duration::from_secs(60), async || {
        let health = http.get(format!("http://{master}/health")).send().await;
        health.ok()?.status().is_success().then_some(())
    })
    .await?;
    // Room for every task of the failover (cpus 0.01, mem 1 each) on any one agent.
    let agent_resources = parse_resources("cpus:128;mem:131072;disk:131072")?;
    let counters = bench_sim_agents::start(&master, args.agents, &agent_resources);
    wait_for(
        "every simulated agent registered",
        Duration::from_secs(60),
        async || (counters.registered.load(Ordering::SeqCst) == args.agents).then_some(()),
    )
    .await?;

    let mut instances = [
        start_services(&master, &etcd.endpoint)?,
        start_services(&master, &etcd.endpoint)?,
    ];
    let leader = wait_for("a services leader", Duration::from_secs(60), async || {
        let leader = get_json(&http, &format!("http://{}/v2/leader", instances[0].addr)).await?;
        leader["leader"].as_str().map(String::from)
    })
    .await?;
    let leader_index = instances
        .iter()
        .position(|s| s.addr == leader)
        .context("the services leader is neither instance")?;
    let survivor = 1 - leader_index;
    let api = instances[leader_index].addr.clone();

    let app = json!({"id": "/bench", "cmd": "sleep 1000", "instances": args.instances,
        "cpus": 0.01, "mem": 1, "disk": 0, "portDefinitions": [],
        "upgradeStrategy": {"minimumHealthCapacity": 0.9, "maximumOverCapacity": 0.1}});
    let apps_url = format!("http://{api}/v2/apps");
    let deploy = timed_until_running(
        &http,
        &api,
        args.instances,
        &counters,
        call(&http, reqwest::Method::POST, &apps_url, &app),
    )
    .await?;
    let restart_url = format!("http://{api}/v2/apps/bench/restart");
    let restart = timed_until_running(
        &http,
        &api,
        args.instances,
        &counters,
        call(&http, reqwest::Method::POST, &restart_url, &json!({})),
    )
    .await?;
    let app_url = format!("http://{api}/v2/apps/bench");
    let scale = timed_until_running(
        &http,
        &api,
        args.failover_tasks,
        &counters,
        call(
            &http,
            reqwest::Method::PUT,
            &app_url,
            &json!({"instances": args.failover_tasks}),
        ),
    )
    .await?;
    // Let the store writes of the last updates settle before the kill.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let killed = Instant::now();
    instances[leader_index]._child.take();
    let seen = instances[survivor].seen.clone();
    let marks = wait_for(
        "the follower to lead and reconcile every task",
        Duration::from_secs(120),
        async || {
            let seen = seen.lock().ok()?;
            seen.iter().all(Option::is_some).then(|| *seen)
        },
    )
    .await?;
    let survivor_api = instances[survivor].addr.clone();
    let running_after = settled_running(&http, &survivor_api).await;

    println!(
        "services: {} simulated agents, a real master (allocation every 1 s), two services \
         instances on a local etcd",
        args.agents
    );
    println!(
        "  deploy {} instances -> all TASK_RUNNING: {:.2} s",
        args.instances,
        deploy.as_secs_f64()
    );
    println!(
        "  rolling restart of {} instances (minimumHealthCapacity 0.9): {:.2} s",
        args.instances,
        restart.as_secs_f64()
    );
    println!(
        "  scale to {} instances -> all TASK_RUNNING: {:.2} s",
        args.failover_tasks,
        scale.as_secs_f64()
    );
    println!(
        "  services leader killed (-9) with {} running tasks, the follower takes over:",
        args.failover_tasks
    );
    for ((_, what), at) in TAKEOVER.iter().zip(marks) {
        if let Some(at) = at {
            println!(
                "    -> {what}: {:.2} s",
                at.saturating_duration_since(killed).as_secs_f64()
            );
        }
    }
    println!(
        "  running tasks the new leader shows: {}",
        running_after.map_or("(deployment in progress)".to_string(), |n| n.to_string())
    );
    let failed = counters.failed_updates.load(Ordering::SeqCst);
    if failed > 0 {
        println!("  status updates the master refused: {failed}");
    }
    Ok(std::process::ExitCode::SUCCESS)
}
