//! `corral dev`'s DNS server asked with `dig`: Mesos-DNS names for tasks of `corral execute`
//! and of a services app (framework `marathon`), answers that follow a scale up and down and
//! a task's end, the HTTP API's shapes (also under the master's `/mesos_dns/`), `corral dns
//! lookup` and `corral tasks`.

use std::process::{Child, Command, Stdio};

use corral_e2e::dns::{dig, dig_until, http_json};
use corral_e2e::{Cluster, corral_bin, free_port};
use serde_json::{Value, json};

const RESOURCES: &str = "cpus:4;mem:4096;disk:1024;ports:[31000-31099]";

struct Dev {
    cluster: Cluster,
    dns: String,
    http: String,
    services: String,
}

async fn dev() -> Dev {
    let (dns_port, http_port, services_port) = (free_port(), free_port(), free_port());
    let cluster = Cluster::dev_with(
        RESOURCES,
        &[
            "--services-port",
            &services_port.to_string(),
            "--dns-port",
            &dns_port.to_string(),
            "--dns-http-port",
            &http_port.to_string(),
            "--dns-no-forward",
        ],
    )
    .await;
    Dev {
        cluster,
        dns: format!("127.0.0.1:{dns_port}"),
        http: format!("127.0.0.1:{http_port}"),
        services: format!("127.0.0.1:{services_port}"),
    }
}

/// `corral execute` left running in the background (its tasks sleep).
fn execute_in_background(master: &str, name: &str, instances: usize) -> Child {
    Command::new(corral_bin())
        .args([
            "execute",
            "--master",
            master,
            "--name",
            name,
            "--instances",
            &instances.to_string(),
            "--command",
            "sleep 300",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("corral execute starts")
}

async fn marathon(dev: &Dev, method: reqwest::Method, path: &str, body: Value) -> u16 {
    corral_e2e::http_client()
        .request(method, format!("http://{}{path}", dev.services))
        .json(&body)
        .send()
        .await
        .expect("services API answers")
        .status()
        .as_u16()
}

fn srv_count(n: usize) -> impl Fn(&corral_e2e::dns::Dig) -> bool {
    move |d| d.status == "NOERROR" && d.answers.len() == n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_of_execute_and_of_a_services_app_have_mesos_dns_names() {
    let dev = dev().await;
    let master = dev.cluster.master_addr.clone();

    // The cluster's own names.
    let leader = dig_until(&dev.dns, "leader.mesos", "A", 20, |d| d.status == "NOERROR").await;
    assert_eq!(leader.answers, vec!["127.0.0.1"], "{}", leader.output);
    assert!(
        leader.flags.contains("aa"),
        "authoritative: {}",
        leader.flags
    );
    // The agent's name comes with its AGENT_ADDED event, maybe after the leader's.
    let agent = dig_until(&dev.dns, "slave.mesos", "A", 20, |d| !d.answers.is_empty()).await;
    assert_eq!(agent.answers, vec!["127.0.0.1"], "{}", agent.output);
    let soa = dig(&dev.dns, "mesos", "SOA", &[]);
    assert_eq!(soa.status, "NOERROR");
    assert!(
        soa.answers[0].starts_with("ns1.mesos. root.ns1.mesos."),
        "{}",
        soa.output
    );
    let ns = dig(&dev.dns, "mesos", "NS", &[]);
    assert_eq!(ns.answers, vec!["ns1.mesos."]);
    assert_eq!(dig(&dev.dns, "example.com", "A", &[]).status, "REFUSED");

    // corral execute: NAME-1, NAME-2 under the framework's name.
    let mut execute = execute_in_background(&master, "Sleepy_Job", 2);
    let first = dig_until(&dev.dns, "sleepy-job-1.sleepy-job.mesos", "A", 30, |d| {
        d.status == "NOERROR" && !d.answers.is_empty()
    })
    .await;
    assert_eq!(first.answers, vec!["127.0.0.1"]);
    // The second task runs a moment after the first: wait for its name, then ask over TCP.
    dig_until(&dev.dns, "sleepy-job-2.sleepy-job.mesos", "A", 30, |d| {
        d.status == "NOERROR" && !d.answers.is_empty()
    })
    .await;
    let tcp = dig(&dev.dns, "sleepy-job-2.sleepy-job.mesos", "A", &["+tcp"]);
    assert_eq!(tcp.answers, vec!["127.0.0.1"], "over TCP: {}", tcp.output);
    assert_eq!(
        dig(&dev.dns, "sleepy-job-1.sleepy-job.slave.mesos", "A", &[]).answers,
        vec!["127.0.0.1"]
    );

    // A services app: /shop/web is web-shop.marathon.mesos, as Mesos-DNS names Marathon's.
    let app = json!({"id": "/shop/web", "cmd": "sleep 300", "cpus": 0.1, "mem": 32,
                     "instances": 2, "portDefinitions": [{"port": 0}]});
    assert_eq!(
        marathon(&dev, reqwest::Method::POST, "/v2/apps", app).await,
        201
    );
    let srv = dig_until(
        &dev.dns,
        "_web-shop._tcp.marathon.mesos",
        "SRV",
        60,
        srv_count(2),
    )
    .await;
    for answer in &srv.answers {
        let fields: Vec<&str> = answer.split_whitespace().collect();
        let port: u16 = fields[2].parse().expect("port");
        assert!((31000..31100).contains(&port), "{answer}");
        assert!(fields[3].starts_with("web-shop-") && fields[3].ends_with(".marathon.mesos."));
    }
    assert!(
        srv.output.contains("ADDITIONAL SECTION"),
        "targets' A as glue: {}",
        srv.output
    );
    let a = dig(&dev.dns, "web-shop.marathon.mesos", "A", &[]);
    assert_eq!(a.answers, vec!["127.0.0.1"], "{}", a.output);
    let framework = dig(&dev.dns, "marathon.mesos", "A", &[]);
    assert_eq!(framework.answers, vec!["127.0.0.1"], "the services host");

    // Scale up, then down: the answers follow.
    let scale = |n: usize| json!({"instances": n});
    assert_eq!(
        marathon(
            &dev,
            reqwest::Method::PUT,
            "/v2/apps/shop/web?force=true",
            scale(3)
        )
        .await,
        200
    );
    dig_until(
        &dev.dns,
        "_web-shop._tcp.marathon.mesos",
        "SRV",
        60,
        srv_count(3),
    )
    .await;
    assert_eq!(
        marathon(
            &dev,
            reqwest::Method::PUT,
            "/v2/apps/shop/web?force=true",
            scale(1)
        )
        .await,
        200
    );
    dig_until(
        &dev.dns,
        "_web-shop._tcp.marathon.mesos",
        "SRV",
        60,
        srv_count(1),
    )
    .await;

    // Mesos-DNS's HTTP API.
    let hosts = http_json(&dev.http, "/v1/hosts/web-shop.marathon.mesos").await;
    assert_eq!(
        hosts,
        json!([{"host": "web-shop.marathon.mesos.", "ip": "127.0.0.1"}])
    );
    let services = http_json(&dev.http, "/v1/services/_web-shop._tcp.marathon.mesos.").await;
    let entry = &services[0];
    assert_eq!(entry["service"], "_web-shop._tcp.marathon.mesos.");
    assert_eq!(entry["ip"], "127.0.0.1");
    assert!(
        entry["host"]
            .as_str()
            .is_some_and(|h| h.starts_with("web-shop-"))
    );
    assert!(
        entry["port"]
            .as_str()
            .is_some_and(|p| p.parse::<u16>().is_ok())
    );
    assert_eq!(services.as_array().map(Vec::len), Some(1));
    let unknown = http_json(&dev.http, "/v1/hosts/nothing.mesos").await;
    assert_eq!(unknown, json!([{"host": "", "ip": ""}]));
    let version = http_json(&dev.http, "/v1/version").await;
    assert_eq!(version["Service"], "Mesos-DNS");
    assert!(version["Version"].is_string() && version["URL"].is_string());
    // The same API through the cluster URL, as DC/OS' Admin Router serves it.
    let master = &dev.cluster.master_addr;
    assert_eq!(
        http_json(master, "/mesos_dns/v1/hosts/web-shop.marathon.mesos").await,
        hosts
    );
    assert_eq!(http_json(master, "/mesos_dns/v1/version").await, version);
    let config = http_json(&dev.http, "/v1/config").await;
    assert_eq!(config["Domain"], "mesos");
    assert_eq!(config["Feed"]["connected"], true);
    assert_eq!(config["StaleSeconds"], Value::Null);
    let enumerate = http_json(&dev.http, "/v1/enumerate").await;
    let names: Vec<&str> = enumerate["frameworks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(
        names.contains(&"marathon") && names.contains(&"Sleepy_Job"),
        "{enumerate}"
    );

    // The CLI: a lookup through the server, and the names in `corral tasks`.
    let (code, out, err) = dev.cluster.cli(&[
        "dns",
        "lookup",
        "--server",
        &dev.dns,
        "--type",
        "SRV",
        "_web-shop._tcp.marathon.mesos",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("SRV\t0 1 "), "{out}");
    let (code, table, _) = dev.cluster.cli(&["tasks"]);
    assert_eq!(code, 0);
    assert!(table.contains("web-shop.marathon.mesos"), "{table}");
    assert!(table.contains("sleepy-job-1.sleepy-job.mesos"), "{table}");
    let (code, json_out, _) = dev.cluster.cli(&["tasks", "--json"]);
    assert_eq!(code, 0);
    let tasks: Value = serde_json::from_str(&json_out).expect("JSON");
    let dns_names: Vec<&str> = tasks["get_tasks"]["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["dns_name"].as_str())
        .collect();
    assert!(dns_names.contains(&"web-shop.marathon.mesos"), "{json_out}");

    // The execute framework goes away: its tasks are killed and their names with them.
    let _ = execute.kill();
    let _ = execute.wait();
    dig_until(&dev.dns, "sleepy-job-1.sleepy-job.mesos", "A", 30, |d| {
        d.status == "NXDOMAIN"
    })
    .await;
    let (code, out, _) = dev.cluster.cli(&[
        "dns",
        "lookup",
        "--server",
        &dev.dns,
        "sleepy-job-1.sleepy-job.mesos",
    ]);
    assert_ne!(code, 0, "a lookup of a gone name fails: {out}");
}
