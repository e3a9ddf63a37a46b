//! One URL for the cluster, with real processes (a master, an agent, `corral services`):
//! Mesos' v0 state as Mesos-DNS and dashboards read it (`/master/state.json`, also under
//! DC/OS' `/mesos` prefix), the services component at `/service/marathon/...`, an agent at
//! `/agent/{id}/...`, the v1 operator stream through `/mesos/api/v1`, and a `corral dns`
//! server's API at `/mesos_dns/...`.
//!
//! Expected shapes are written from apache/mesos `src/master/readonly_handler.cpp`
//! (`FullFrameworkWriter`, `SlaveWriter`) and `src/common/http.cpp` (`json(Task)`).

use corral_e2e::{Cluster, Process, eventually, free_port};
use futures::StreamExt;
use serde_json::{Value, json};

const RESOURCES: &str = "cpus:2;mem:1024;disk:1024;ports:[31000-31099]";

async fn get(url: &str) -> (u16, Value) {
    let response = corral_e2e::http_get(url).await.expect("answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The framework named `name` in `/master/state.json` of `master`, once it has a running task.
async fn framework_with_running_task(master: &str, name: &str) -> (Value, Value) {
    eventually(60, "a running task in /master/state.json", || async move {
        let (_, state) = get(&format!("http://{master}/mesos/master/state.json")).await;
        let framework = state["frameworks"]
            .as_array()?
            .iter()
            .find(|f| f["name"] == name)?
            .clone();
        framework["tasks"]
            .as_array()?
            .iter()
            .any(|t| t["state"] == "TASK_RUNNING")
            .then_some((state, framework))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_masters_port_serves_mesos_state_the_services_and_the_agents() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent(RESOURCES, &[]).await;
    let _services = cluster.start_services(&[]).await;
    let master = cluster.master_addr.clone();
    let http = corral_e2e::http_client();

    // The v1 operator stream through the prefix: SUBSCRIBED arrives while the stream stays
    // open.
    let stream = http
        .post(format!("http://{master}/mesos/api/v1"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body(r#"{"type":"SUBSCRIBE"}"#)
        .send()
        .await
        .expect("subscribes");
    assert_eq!(stream.status().as_u16(), 200);
    let mut records = stream.bytes_stream();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), records.next())
        .await
        .expect("a record within 10 s")
        .expect("a chunk")
        .expect("bytes");
    assert!(
        String::from_utf8_lossy(&first).contains("SUBSCRIBED"),
        "{first:?}"
    );

    // Marathon's API through the master's port, once the services framework has subscribed
    // (the master finds its URL by the framework's name).
    let apps_url = format!("http://{master}/service/marathon/v2/apps");
    eventually(
        30,
        "the services framework behind /service/marathon",
        || {
            let apps_url = apps_url.clone();
            async move { (get(&apps_url).await.0 == 200).then_some(()) }
        },
    )
    .await;
    let app = json!({"id": "/url/sleeper", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16});
    let created = http
        .post(format!("http://{master}/service/marathon/v2/apps"))
        .json(&app)
        .send()
        .await
        .expect("answers");
    assert_eq!(created.status().as_u16(), 201, "{}", cluster.logs());
    let (status, apps) = get(&format!("http://{master}/service/marathon/v2/apps")).await;
    assert_eq!(status, 200);
    assert_eq!(apps["apps"][0]["id"], "/url/sleeper", "{apps}");

    let (state, framework) = framework_with_running_task(&master, "marathon").await;
    assert!(
        framework["webui_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://")),
        "{framework:#}"
    );
    for key in [
        "id",
        "name",
        "user",
        "active",
        "connected",
        "registered_time",
        "used_resources",
        "offered_resources",
        "resources",
        "tasks",
        "unreachable_tasks",
        "completed_tasks",
        "offers",
        "executors",
    ] {
        assert!(framework.get(key).is_some(), "{key} in {framework:#}");
    }
    let task = &framework["tasks"][0];
    for key in [
        "id",
        "name",
        "framework_id",
        "executor_id",
        "slave_id",
        "state",
        "resources",
        "role",
        "statuses",
    ] {
        assert!(task.get(key).is_some(), "{key} in {task:#}");
    }
    assert!(task["resources"]["cpus"].as_f64().is_some_and(|c| c > 0.09));
    let agent_addr = &cluster.agent_addrs[0];
    let slave = &state["slaves"][0];
    // Mesos-DNS takes the agent's IP from its pid: the agent's hostname, resolved.
    let agent_port = agent_addr.rsplit(':').next().expect("a port");
    let pid = slave["pid"].as_str().expect("pid");
    let host = pid
        .strip_prefix("slave(1)@")
        .and_then(|rest| rest.strip_suffix(&format!(":{agent_port}")))
        .unwrap_or_else(|| panic!("slave(1)@IP:{agent_port}: {pid}"));
    assert!(host.parse::<std::net::IpAddr>().is_ok(), "{pid}");
    assert_eq!(task["slave_id"], slave["id"]);
    assert_eq!(state["leader"], format!("master@{master}"));
    assert_eq!(state["activated_slaves"], 1.0);

    // The agent through the master's port: its own /state, as it answers directly.
    let agent_id = slave["id"].as_str().expect("agent id");
    let (status, direct) = get(&format!("http://{agent_addr}/state")).await;
    assert_eq!(status, 200);
    for prefix in ["agent", "slave"] {
        let (status, proxied) = get(&format!("http://{master}/{prefix}/{agent_id}/state")).await;
        assert_eq!(status, 200, "{prefix}");
        assert_eq!(proxied["id"], direct["id"], "{prefix}");
        assert_eq!(proxied["hostname"], direct["hostname"], "{prefix}");
    }

    // The agent's Mesos-shaped state through the master, as DC/OS' UI reads it: the task
    // under its executor, whose directory the files API reads.
    let (status, mesos_state) =
        get(&format!("http://{master}/agent/{agent_id}/slave(1)/state")).await;
    assert_eq!(status, 200, "{mesos_state}");
    assert_eq!(mesos_state["id"], agent_id);
    let executor = mesos_state["frameworks"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "marathon"))
        .map(|f| f["executors"][0].clone())
        .expect("marathon's executor on the agent");
    assert_eq!(executor["tasks"][0]["id"], task["id"], "{executor:#}");
    assert_eq!(executor["tasks"][0]["state"], "TASK_RUNNING");
    let directory = executor["directory"].as_str().expect("directory");
    let (status, size) = get(&format!(
        "http://{master}/agent/{agent_id}/files/read.json?path={directory}/stdout&offset=-1"
    ))
    .await;
    assert_eq!(status, 200, "{size}");
    assert!(size["offset"].is_u64(), "{size}");
    let (status, listing) = get(&format!(
        "http://{master}/slave/{agent_id}/files/browse.json?path={directory}"
    ))
    .await;
    assert_eq!(status, 200, "{listing}");
    assert!(listing.is_array(), "{listing}");

    // The task is visible on /master/tasks and counted in /metrics/snapshot.
    let (_, tasks) = get(&format!("http://{master}/master/tasks")).await;
    assert!(
        tasks["tasks"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["id"] == task["id"])),
        "{tasks}"
    );
    let (_, metrics) = get(&format!("http://{master}/metrics/snapshot")).await;
    assert_eq!(metrics["master/tasks_running"], 1.0, "{metrics}");
    assert_eq!(metrics["master/slaves_active"], 1.0);
    let (_, summary) = get(&format!("http://{master}/mesos/master/state-summary")).await;
    let summarized = summary["frameworks"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "marathon"))
        .expect("marathon in the summary");
    assert_eq!(summarized["TASK_RUNNING"], 1);

    // The SUBSCRIBE stream through /mesos saw the task (TASK_ADDED or TASK_UPDATED).
    let task_id = task["id"].as_str().expect("task id").to_string();
    let mut seen = String::from_utf8_lossy(&first).to_string();
    while !seen.contains(&task_id) {
        let more = tokio::time::timeout(std::time::Duration::from_secs(10), records.next())
            .await
            .expect("events keep coming through /mesos/api/v1")
            .expect("a chunk")
            .expect("bytes");
        seen.push_str(&String::from_utf8_lossy(&more));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_masters_port_serves_the_dns_component_it_was_given() {
    // Without --mesos-dns-url the master says what is missing.
    let plain = Cluster::master(&[]).await;
    let (status, body) = get(&format!(
        "http://{}/mesos_dns/v1/version",
        plain.master_addr
    ))
    .await;
    assert_eq!(status, 404);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("--mesos-dns-url")),
        "{body}"
    );

    let dns_http = format!("127.0.0.1:{}", free_port());
    let cluster = Cluster::master(&["--mesos-dns-url", &format!("http://{dns_http}")]).await;
    let master = cluster.master_addr.clone();
    // Before the DNS server runs: 502, naming the upstream.
    let (status, body) = get(&format!("http://{master}/mesos_dns/v1/version")).await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains(&dns_http)),
        "{body}"
    );

    let args: Vec<String> = [
        "dns",
        "--master",
        &master,
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--http-listen",
        &dns_http,
        "--no-forward",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let _dns = Process::start("dns", &args, cluster.dir.path());
    let config = eventually(30, "the DNS API through /mesos_dns/", || {
        let url = format!("http://{master}/mesos_dns/v1/config");
        async move {
            let (status, body) = get(&url).await;
            (status == 200 && body["Feed"]["connected"] == true).then_some(body)
        }
    })
    .await;
    assert_eq!(config["Domain"], "mesos", "{config}");
    let (status, direct) = get(&format!("http://{dns_http}/v1/version")).await;
    assert_eq!(status, 200);
    let (status, proxied) = get(&format!("http://{master}/mesos_dns/v1/version")).await;
    assert_eq!((status, proxied), (200, direct));
    let (_, leader) = get(&format!("http://{master}/mesos_dns/v1/hosts/leader.mesos")).await;
    assert_eq!(
        leader,
        json!([{"host": "leader.mesos.", "ip": "127.0.0.1"}])
    );

    // `/mesos_dns` without the slash is redirected, as Admin Router does.
    let no_redirects = corral_e2e::http_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let moved = no_redirects
        .get(format!("http://{master}/mesos_dns?x=1"))
        .send()
        .await
        .expect("answers");
    assert_eq!(moved.status().as_u16(), 301);
    assert_eq!(moved.headers()["location"], "/mesos_dns/?x=1");
}
