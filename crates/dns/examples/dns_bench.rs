//! The DNS benchmark (docs/benchmarks.md), built in release:
//!
//! - `dns_bench qps [TASKS] [SECONDS]`: TASKS running tasks (simulated: fed to the record
//!   generator) on TASKS/100 agents; times the generation, serves the records on a free
//!   loopback port and runs Debian's `dnsperf` against it with a mix of A and SRV queries.
//! - `dns_bench freshness MASTER CORRAL INSTANCES`: a DNS server following MASTER (as
//!   `corral dns` does), and `CORRAL execute` running INSTANCES short tasks; for each task,
//!   the time from its TASK_RUNNING (on the master's operator stream) to the first DNS
//!   answer naming it, and from its TASK_FINISHED to NXDOMAIN: p50, p99, max.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

use corral_api::operator_events::OperatorEventType;
use corral_api::v1::{Id, Range, Ranges, Resource, Task, TaskState};
use corral_client::{MasterAddress, OperatorEventStream};
use corral_dns::generator::{NamingConfig, generate, task_dns_name};
use corral_dns::view::{AgentView, ClusterView, FrameworkView};
use corral_dns::{DnsConfig, Forwarding};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("qps") => {
            let tasks = args.get(1).map_or(Ok(10_000), |t| t.parse())?;
            let seconds = args.get(2).map_or(Ok(10), |t| t.parse())?;
            qps(tasks, seconds).await
        }
        Some("freshness") => {
            let master = args.get(1).ok_or("freshness MASTER CORRAL INSTANCES")?;
            let corral = args.get(2).ok_or("freshness MASTER CORRAL INSTANCES")?;
            let instances = args.get(3).map_or(Ok(200), |n| n.parse())?;
            freshness(master, corral, instances).await
        }
        _ => Err("usage: dns_bench qps [TASKS] [SECONDS] | freshness MASTER CORRAL N".into()),
    }
}

fn simulated(tasks: usize) -> ClusterView {
    let mut view = ClusterView::default();
    let agents = (tasks / 100).max(1);
    for a in 0..agents {
        let ip = Ipv4Addr::new(10, 0, (a / 250) as u8, (a % 250) as u8 + 1);
        view.agents.insert(
            format!("m1-S{a}"),
            AgentView {
                hostname: ip.to_string(),
                port: Some(5051),
            },
        );
    }
    view.frameworks.insert(
        "f1".into(),
        FrameworkView {
            name: "marathon".into(),
            hostname: None,
            connected: true,
        },
    );
    for t in 0..tasks {
        // 100 apps of tasks/100 instances each, two ports per task.
        let port = 31_000 + (t % 1000) as u64 * 2;
        let task = Task {
            name: format!("app{}.bench", t % 100),
            task_id: Id::new(format!("app{}.{t}", t % 100)),
            framework_id: Id::new("f1"),
            agent_id: Id::new(format!("m1-S{}", t % agents)),
            state: TaskState::TaskRunning,
            resources: vec![Resource {
                name: "ports".into(),
                ranges: Some(Ranges {
                    range: vec![Range {
                        begin: port,
                        end: port + 1,
                    }],
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        view.tasks
            .insert(("f1".into(), task.task_id.value.clone()), task);
    }
    view
}

async fn qps(tasks: usize, seconds: u64) -> Result<(), Box<dyn std::error::Error>> {
    let view = simulated(tasks);
    let naming = NamingConfig {
        domain: "mesos".into(),
        masters: vec!["127.0.0.1:5050".into()],
        leader: Some("127.0.0.1:5050".into()),
        ns_name: "ns1.mesos.".into(),
        ns_ip: Some(Ipv4Addr::LOCALHOST),
    };
    let started = Instant::now();
    let records = generate(&view, &naming);
    let took = started.elapsed();
    let (a, srv) = records.counts();
    println!("generated {a} A names and {srv} SRV names for {tasks} tasks in {took:?}");

    let mut config = DnsConfig::new("127.0.0.1:5050", "127.0.0.1:0".parse()?);
    config.forwarding = Forwarding::Off;
    let server = corral_dns::start_without_feed(config).await?;
    server.zone.install(records, 0);
    let queries = std::env::temp_dir().join(format!("dns_bench_{}.txt", std::process::id()));
    let mut text = String::new();
    for app in 0..100 {
        text.push_str(&format!("app{app}-bench.marathon.mesos A\n"));
        text.push_str(&format!("_app{app}-bench._tcp.marathon.mesos SRV\n"));
        text.push_str(&format!("missing{app}.marathon.mesos A\n"));
    }
    std::fs::write(&queries, text)?;
    let port = server.dns_addr.port().to_string();
    let clients = std::env::var("DNSPERF_CLIENTS").unwrap_or_else(|_| "8".into());
    println!(
        "dnsperf -s 127.0.0.1 -p {port} -d {} -l {seconds} -c {clients} -q 200",
        queries.display()
    );
    let output = Command::new("dnsperf")
        .args(["-s", "127.0.0.1", "-p", &port, "-l", &seconds.to_string()])
        .args(["-c", &clients, "-q", "200", "-d"])
        .arg(&queries)
        .stdout(Stdio::piped())
        .output()?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    let _ = std::fs::remove_file(&queries);
    server.stop();
    Ok(())
}

/// Names waiting for their first answer (`up`: an A record; else NXDOMAIN), since when.
type Pending = Arc<Mutex<HashMap<String, (Instant, bool)>>>;

async fn freshness(
    master: &str,
    corral: &str,
    instances: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = DnsConfig::new(master, "127.0.0.1:0".parse()?);
    config.forwarding = Forwarding::Off;
    let server = corral_dns::start(config).await?;
    let dns = server.dns_addr;
    let (mut stream, subscribed) =
        OperatorEventStream::subscribe(&MasterAddress::parse(master)?).await?;
    let mut frameworks: HashMap<String, String> = subscribed
        .get_state
        .get_frameworks
        .frameworks
        .iter()
        .filter_map(|f| {
            Some((
                f.framework_info.id.clone()?.value,
                f.framework_info.name.clone(),
            ))
        })
        .collect();
    // Give the server its snapshot before tasks start.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let pending: Pending = Arc::default();
    let up: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let down: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let poller = tokio::spawn(poll(dns, pending.clone(), up.clone(), down.clone()));

    let mut execute = Command::new(corral)
        .args(["execute", "--master", master, "--name", "fresh"])
        .args([
            "--instances",
            &instances.to_string(),
            "--cpus",
            "0.01",
            "--mem",
            "4",
        ])
        .args(["--command", "sleep 3"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let mut tasks: HashMap<String, Task> = HashMap::new();
    let mut finished = 0;
    while finished < instances {
        let event = tokio::time::timeout(Duration::from_secs(120), stream.next()).await??;
        match event.kind {
            OperatorEventType::FrameworkAdded => {
                if let Some(f) = event.framework_added {
                    let info = f.framework.framework_info;
                    if let Some(id) = info.id {
                        frameworks.insert(id.value, info.name);
                    }
                }
            }
            OperatorEventType::TaskAdded => {
                if let Some(added) = event.task_added {
                    tasks.insert(added.task.task_id.value.clone(), added.task);
                }
            }
            OperatorEventType::TaskUpdated => {
                let Some(update) = event.task_updated else {
                    continue;
                };
                let Some(task) = tasks.get(&update.status.task_id.value) else {
                    continue;
                };
                let framework = frameworks
                    .get(&update.framework_id.value)
                    .map_or("", String::as_str);
                let name = format!("{}.", task_dns_name(task, framework, "mesos"));
                if update.state == TaskState::TaskRunning {
                    lock(&pending).insert(name, (Instant::now(), true));
                } else if update.state.is_terminal() {
                    finished += 1;
                    lock(&pending).insert(name, (Instant::now(), false));
                }
            }
            _ => {}
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !lock(&pending).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    poller.abort();
    let _ = execute.wait();
    report("TASK_RUNNING -> first answer", &mut lock(&up));
    report("TASK_FINISHED -> NXDOMAIN", &mut lock(&down));
    println!("unanswered: {}", lock(&pending).len());
    server.stop();
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{what}: n={} p50={:?} p99={:?} max={:?}",
        samples.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

/// Asks every pending name every millisecond; records when each is first answered right.
async fn poll(
    dns: SocketAddr,
    pending: Pending,
    up: Arc<Mutex<Vec<Duration>>>,
    down: Arc<Mutex<Vec<Duration>>>,
) {
    let Ok(socket) = tokio::net::UdpSocket::bind("127.0.0.1:0").await else {
        return;
    };
    let mut id: u16 = 0;
    loop {
        let names: Vec<(String, Instant, bool)> = lock(&pending)
            .iter()
            .map(|(n, (t, u))| (n.clone(), *t, *u))
            .collect();
        let mut asked: HashMap<u16, (String, Instant, bool)> = HashMap::new();
        for (name, since, want_up) in names {
            id = id.wrapping_add(1);
            let Ok(qname) = Name::from_str(&name) else {
                continue;
            };
            let mut message = Message::new(id, MessageType::Query, OpCode::Query);
            message.add_query(Query::query(qname, RecordType::A));
            if let Ok(bytes) = message.to_vec()
                && socket.send_to(&bytes, dns).await.is_ok()
            {
                asked.insert(id, (name, since, want_up));
            }
        }
        let mut buf = vec![0u8; 4096];
        let until = tokio::time::Instant::now() + Duration::from_millis(20);
        while !asked.is_empty() {
            let Ok(Ok((n, _))) = tokio::time::timeout_at(until, socket.recv_from(&mut buf)).await
            else {
                break;
            };
            let Ok(answer) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some((name, since, want_up)) = asked.remove(&answer.metadata.id) else {
                continue;
            };
            let right = if want_up {
                answer.metadata.response_code == ResponseCode::NoError && !answer.answers.is_empty()
            } else {
                answer.metadata.response_code == ResponseCode::NXDomain
            };
            if right && lock(&pending).remove(&name).is_some() {
                let list = if want_up { &up } else { &down };
                lock(list).push(since.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
