use std::net::Ipv4Addr;

use serde_json::json;

use super::*;
use crate::view::{AgentView, FrameworkView};
use corral_api::v1::{Id, Range, Ranges, Resource, TaskStatus};

fn ip(text: &str) -> Ipv4Addr {
    text.parse().expect("ip")
}

fn view() -> ClusterView {
    let mut view = ClusterView::default();
    view.agents.insert(
        "m1-S0".into(),
        AgentView {
            hostname: "10.0.0.1".into(),
            port: Some(5051),
        },
    );
    view.agents.insert(
        "m1-S1".into(),
        AgentView {
            hostname: "node2".into(),
            port: Some(5051),
        },
    );
    view.hosts.insert("node2".into(), Some(ip("10.0.0.2")));
    view.hosts.insert("sched-host".into(), Some(ip("10.0.0.9")));
    view.frameworks.insert(
        "f-marathon".into(),
        FrameworkView {
            name: "marathon".into(),
            hostname: Some("sched-host".into()),
            connected: true,
        },
    );
    view.frameworks.insert(
        "f-exec".into(),
        FrameworkView {
            name: "Corral_Execute".into(),
            hostname: None,
            connected: true,
        },
    );
    view
}

fn running(framework: &str, id: &str, name: &str, agent: &str, ports: &[(u64, u64)]) -> Task {
    Task {
        name: name.into(),
        task_id: Id::new(id),
        framework_id: Id::new(framework),
        agent_id: Id::new(agent),
        state: TaskState::TaskRunning,
        resources: vec![Resource {
            name: "ports".into(),
            ranges: Some(Ranges {
                range: ports
                    .iter()
                    .map(|(b, e)| Range { begin: *b, end: *e })
                    .collect(),
            }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn config() -> NamingConfig {
    NamingConfig {
        domain: "mesos".into(),
        masters: vec!["10.0.0.5:5050".into(), "10.0.0.6:5050".into()],
        leader: Some("10.0.0.6:5050".into()),
        ns_name: "ns1.mesos.".into(),
        ns_ip: Some(ip("127.0.0.1")),
    }
}

fn add(view: &mut ClusterView, task: Task) {
    view.tasks.insert(
        (task.framework_id.value.clone(), task.task_id.value.clone()),
        task,
    );
}

#[test]
fn a_running_task_has_the_names_mesos_dns_gives_it() {
    let mut view = view();
    add(
        &mut view,
        running("f-exec", "t-1", "Sleeper_1", "m1-S1", &[(31000, 31001)]),
    );
    let records = generate(&view, &config());
    let hash = task_id_hash("t-1");
    let canonical = format!("sleeper-1-{hash}-s1.corral-execute");
    assert_eq!(
        records.a("sleeper-1.corral-execute.mesos."),
        &[ip("10.0.0.2")]
    );
    assert_eq!(records.a(&format!("{canonical}.mesos.")), &[ip("10.0.0.2")]);
    assert_eq!(
        records.a("sleeper-1.corral-execute.slave.mesos."),
        &[ip("10.0.0.2")]
    );
    let target = format!("{canonical}.slave.mesos.");
    for name in [
        "_sleeper-1._tcp.corral-execute.mesos.",
        "_sleeper-1._udp.corral-execute.mesos.",
        "_sleeper-1._tcp.corral-execute.slave.mesos.",
        "_sleeper-1._udp.corral-execute.slave.mesos.",
    ] {
        let ports: Vec<u16> = records.srv(name).iter().map(|t| t.port).collect();
        assert_eq!(ports, vec![31000, 31001], "{name}");
        assert!(records.srv(name).iter().all(|t| t.host == target), "{name}");
    }
    let enumeration = &records.enumeration;
    let fw = enumeration
        .frameworks
        .iter()
        .find(|f| f.name == "Corral_Execute")
        .expect("framework enumerated");
    assert_eq!(fw.tasks[0].id, "t-1");
    assert_eq!(fw.tasks[0].records.len(), 4 + 8);
}

#[test]
fn marathon_tasks_are_named_from_the_app_id_and_the_framework_has_its_host() {
    let mut view = view();
    // Marathon (and the services component) names the tasks of app /shop/web "web.shop".
    add(
        &mut view,
        running("f-marathon", "shop_web.1", "web.shop", "m1-S0", &[]),
    );
    add(
        &mut view,
        running("f-marathon", "shop_web.2", "web.shop", "m1-S1", &[]),
    );
    let records = generate(&view, &config());
    assert_eq!(
        records.a("web-shop.marathon.mesos."),
        &[ip("10.0.0.1"), ip("10.0.0.2")]
    );
    assert_eq!(records.a("marathon.mesos."), &[ip("10.0.0.9")]);
    assert!(
        records.a("corral-execute.mesos.").is_empty(),
        "no host: no name"
    );
}

#[test]
fn only_running_tasks_on_known_agents_have_names() {
    let mut view = view();
    let mut staging = running("f-exec", "t-2", "staging", "m1-S0", &[]);
    staging.state = TaskState::TaskStaging;
    add(&mut view, staging);
    add(&mut view, running("f-exec", "t-3", "orphan", "m1-S9", &[]));
    let records = generate(&view, &config());
    assert!(!records.has_name("staging.corral-execute.mesos."));
    assert!(!records.has_name("orphan.corral-execute.mesos."));
}

#[test]
fn agents_masters_and_the_leader_have_names() {
    let records = generate(&view(), &config());
    assert_eq!(
        records.a("slave.mesos.").len(),
        2,
        "{:?}",
        records.a_names()
    );
    assert_eq!(records.a("agent.mesos.").len(), 2);
    assert_eq!(records.srv("_slave._tcp.mesos.")[0].port, 5051);
    assert_eq!(records.a("leader.mesos."), &[ip("10.0.0.6")]);
    assert_eq!(
        records.a("master.mesos."),
        &[ip("10.0.0.6"), ip("10.0.0.5")]
    );
    assert_eq!(records.a("master0.mesos."), &[ip("10.0.0.5")]);
    assert_eq!(records.a("master1.mesos."), &[ip("10.0.0.6")]);
    assert_eq!(records.srv("_leader._tcp.mesos.")[0].host, "leader.mesos.");
    assert_eq!(records.srv("_leader._udp.mesos.")[0].port, 5050);
    assert_eq!(records.a("ns1.mesos."), &[ip("127.0.0.1")]);
}

#[test]
fn a_leader_missing_from_the_list_gets_the_next_index() {
    let mut config = config();
    config.leader = Some("10.0.0.7:5050".into());
    let records = generate(&view(), &config);
    assert_eq!(records.a("master2.mesos."), &[ip("10.0.0.7")]);
}

#[test]
fn discovery_info_names_the_task_and_its_named_ports() {
    let mut view = view();
    let mut task = running("f-exec", "t-4", "ignored", "m1-S0", &[(31005, 31005)]);
    task.discovery = Some(json!({
        "visibility": "FRAMEWORK",
        "name": "Front.End",
        "ports": {"ports": [
            {"number": 80, "name": "http", "protocol": "tcp"},
            {"number": 53, "protocol": "udp"}
        ]}
    }));
    add(&mut view, task);
    let records = generate(&view, &config());
    let canonical = format!("front-end-{}-s0.corral-execute.mesos.", task_id_hash("t-4"));
    assert_eq!(
        records.a("front-end.corral-execute.mesos."),
        &[ip("10.0.0.1")]
    );
    let http = records.srv("_front-end._tcp.corral-execute.mesos.");
    assert_eq!(http.len(), 1);
    assert_eq!(
        (http[0].host.as_str(), http[0].port),
        (canonical.as_str(), 80)
    );
    assert_eq!(
        records
            .srv("_http._front-end._tcp.corral-execute.mesos.")
            .len(),
        1
    );
    assert_eq!(
        records.srv("_front-end._udp.corral-execute.mesos.")[0].port,
        53
    );
    // The port resources only under .slave with DiscoveryInfo.
    assert_eq!(
        records.srv("_front-end._udp.corral-execute.slave.mesos.")[0].port,
        31005
    );
}

#[test]
fn the_task_ip_comes_from_its_container_when_it_has_one() {
    let mut view = view();
    let mut task = running("f-exec", "t-5", "boxed", "m1-S0", &[]);
    task.statuses.push(TaskStatus {
        state: TaskState::TaskRunning,
        timestamp: Some(2.0),
        container_status: Some(json!({
            "network_infos": [{"ip_addresses": [{"ip_address": "172.17.0.4"}]}]
        })),
        ..Default::default()
    });
    add(&mut view, task);
    let records = generate(&view, &config());
    assert_eq!(
        records.a("boxed.corral-execute.mesos."),
        &[ip("172.17.0.4")]
    );
    assert_eq!(
        records.a("boxed.corral-execute.slave.mesos."),
        &[ip("10.0.0.1")]
    );
}
