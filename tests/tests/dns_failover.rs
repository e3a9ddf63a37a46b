//! `corral dns --master m1,m2` follows the leading master across a failover: while the
//! leader is gone the last known names keep being answered (their staleness shown in
//! `/v1/config`), and then the stream is resumed from the new leader with a full resync.

use corral_e2e::dns::{dig, dig_until, http_json};
use corral_e2e::ha::launch_sleepers;
use corral_e2e::{Framework, HaCluster, Process, eventually, framework_info, free_port, signal};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_answered_through_a_leader_failover() {
    let mut cluster = HaCluster::start(1, 2, 1, "cpus:1;mem:512").await;
    let leader = cluster.wait_leader(None, 10).await;
    let (dns_port, http_port) = (free_port(), free_port());
    let dns = format!("127.0.0.1:{dns_port}");
    let http = format!("127.0.0.1:{http_port}");
    let args: Vec<String> = [
        "dns",
        "--master",
        &cluster.master_list(),
        "--listen",
        &dns,
        "--http-listen",
        &http,
        "--no-forward",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let _dns_process = Process::start("dns", &args, cluster.dir.path());

    let starts = cluster.dir.path().join("starts");
    std::fs::create_dir_all(&starts).expect("starts dir");
    let info = framework_info("ha-dns", json!({"failover_timeout": 300.0}));
    let mut fw = Framework::subscribe(&leader, info.clone()).await;
    let ids = launch_sleepers(&mut fw, 2, &starts).await;
    let want: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "TASK_RUNNING")).collect();
    fw.task_states(&want, 60).await;
    drop(fw);

    let name = "sleeper-00.ha-dns.mesos";
    dig_until(&dns, name, "A", 30, |d| d.answers == ["127.0.0.1"]).await;
    let masters = dig(&dns, "master.mesos", "A", &[]);
    assert_eq!(masters.answers, vec!["127.0.0.1"], "{}", masters.output);
    // Both masters share 127.0.0.1: as in Mesos-DNS the second address is a duplicate, so
    // only the leader has a masterN name.
    assert_eq!(
        dig(&dns, "master0.mesos", "A", &[]).answers,
        vec!["127.0.0.1"]
    );
    let config = http_json(&http, "/v1/config").await;
    assert_eq!(config["Feed"]["leader"], leader.as_str());

    let old = cluster.master_index(&leader);
    // The standby is paused while the leader is gone, so that no new leader (which knows no
    // task until the agent re-registers) can be followed before the dig below.
    let standby = cluster.masters[1 - old].pid();
    signal(standby, libc::SIGSTOP);
    cluster.masters[old].kill9();
    // With no leader: the last known records are still served.
    let during = dig(&dns, name, "A", &[]);
    signal(standby, libc::SIGCONT);
    assert_eq!(during.answers, vec!["127.0.0.1"], "{}", during.output);

    let new_leader = cluster.wait_leader(Some(&leader), 20).await;
    cluster.wait_agents(&new_leader, 1, 30).await;
    let http_c = http.clone();
    let expected = new_leader.clone();
    eventually(30, "the DNS server to follow the new leader", || {
        let http = http_c.clone();
        let expected = expected.clone();
        async move {
            let config = http_json(&http, "/v1/config").await;
            (config["Feed"]["leader"] == expected.as_str()
                && config["Feed"]["connected"] == true
                && config["StaleSeconds"].is_null())
            .then_some(config)
        }
    })
    .await;
    // The tasks, re-adopted by the new leader from their agent, keep their names.
    dig_until(&dns, name, "A", 30, |d| d.answers == ["127.0.0.1"]).await;
    let config = http_json(&http, "/v1/config").await;
    assert!(
        config["Feed"]["resyncs"].as_u64().is_some_and(|n| n >= 2),
        "a full resync from the new leader: {config}"
    );
    assert_eq!(
        dig(&dns, "leader.mesos", "A", &[]).answers,
        vec!["127.0.0.1"]
    );
    let _ = cluster.logs();
}
