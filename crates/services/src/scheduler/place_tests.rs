//! Offers in, launches and declines out: resources, roles, ports, constraints, TaskInfo.

use serde_json::json;

use corral_api::v1::{
    AgentId, AllocationInfo, Attribute, FrameworkId, Offer, OfferId, Range, Ranges,
    ReservationInfo, Resource, Scalar, Text, ValueType,
};

use super::super::plan::{Plan, plan};
use super::*;
use crate::scheduler::plan::tests::{app, task};

fn scalar(name: &str, value: f64, role: Option<&str>) -> Resource {
    Resource {
        name: name.into(),
        kind: ValueType::Scalar,
        scalar: Some(Scalar { value }),
        reservations: role
            .map(|r| {
                vec![ReservationInfo {
                    role: r.into(),
                    ..Default::default()
                }]
            })
            .unwrap_or_default(),
        allocation_info: Some(AllocationInfo {
            role: Some("*".into()),
        }),
        ..Default::default()
    }
}

fn ports(begin: u64, end: u64) -> Resource {
    Resource {
        name: "ports".into(),
        kind: ValueType::Ranges,
        ranges: Some(Ranges {
            range: vec![Range { begin, end }],
        }),
        ..Default::default()
    }
}

fn offer(id: &str, host: &str, cpus: f64, mem: f64) -> Offer {
    Offer {
        id: OfferId::new(id),
        framework_id: FrameworkId::new("fw"),
        agent_id: AgentId::new(format!("agent-{host}")),
        hostname: host.into(),
        resources: vec![
            scalar("cpus", cpus, None),
            scalar("mem", mem, None),
            scalar("disk", 1000.0, None),
            ports(31000, 31009),
        ],
        ..Default::default()
    }
}

fn world_of(apps: &[App]) -> World {
    let mut world = World::default();
    for a in apps {
        world.apps.insert(a.id.clone(), a.clone());
    }
    world
}

fn run(world: &World, offers: &[Offer]) -> Placement {
    let plan = plan(world, 10_000);
    run_plan(world, &plan, offers)
}

fn run_plan(world: &World, plan: &Plan, offers: &[Offer]) -> Placement {
    let ctx = PlaceContext {
        framework_role: "*",
        now_ms: 10_000,
    };
    let mut n = 0;
    let mut uuid = || {
        n += 1;
        format!("00000000-0000-0000-0000-{n:012}")
    };
    place(world, plan, offers, &ctx, &mut uuid)
}

fn env_of(info: &TaskInfo) -> std::collections::BTreeMap<String, String> {
    info.command
        .as_ref()
        .and_then(|c| c.environment.as_ref())
        .map(|e| {
            e.variables
                .iter()
                .map(|v| (v.name.clone(), v.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn fills_an_offer_with_as_many_tasks_as_fit_and_declines_the_rest() {
    let web = app(
        json!({"id": "/shop/web", "cmd": "sleep 100", "instances": 3, "cpus": 1, "mem": 64}),
        1_000,
    );
    let world = world_of(&[web]);
    let placement = run(
        &world,
        &[
            offer("o1", "a", 2.0, 512.0),
            offer("o2", "b", 0.5, 512.0),
            offer("o3", "c", 4.0, 512.0),
        ],
    );
    assert_eq!(placement.launches.len(), 2);
    assert_eq!(placement.launches[0].tasks.len(), 2, "two cpus, two tasks");
    assert_eq!(placement.launches[1].offer_id.value, "o3");
    assert_eq!(placement.launches[1].tasks.len(), 1, "only three wanted");
    assert_eq!(placement.unused, [OfferId::new("o2")]);
    let record = &placement.launches[0].records[0];
    assert_eq!(record.id, "shop_web.00000000-0000-0000-0000-000000000001");
    assert_eq!(record.state, TaskState::TaskStaging);
    assert_eq!(record.host, "a");
    assert_eq!(record.ports, [31000]);
    assert_eq!(
        placement.launches[0].records[1].ports,
        [31001],
        "ports are not reused"
    );
}

#[test]
fn the_task_info_carries_marathons_command_environment_and_discovery() {
    let web = app(
        json!({"id": "/shop/web", "cmd": "echo $PORT0", "cpus": 0.5, "mem": 32,
               "portDefinitions": [{"port": 10001, "name": "http"}, {"port": 0}],
               "env": {"MODE": "prod"}, "labels": {"owner.team": "zeus"},
               "fetch": [{"uri": "http://x/a.tgz"}], "taskKillGracePeriodSeconds": 7}),
        1_000,
    );
    let world = world_of(&[web]);
    let placement = run(&world, &[offer("o1", "host-a", 2.0, 512.0)]);
    let info = &placement.launches[0].tasks[0];
    assert_eq!(info.name, "web.shop");
    let command = info.command.as_ref().expect("command");
    assert_eq!(command.value.as_deref(), Some("echo $PORT0"));
    assert!(command.is_shell());
    assert_eq!(command.uris[0].value, "http://x/a.tgz");
    assert_eq!(command.uris[0].extract, Some(true));
    let env = env_of(info);
    for (name, value) in [
        ("PORT0", "31000"),
        ("PORT1", "31001"),
        ("PORT", "31000"),
        ("PORTS", "31000,31001"),
        ("PORT_HTTP", "31000"),
        ("PORT_10001", "31000"),
        ("HOST", "host-a"),
        ("MODE", "prod"),
        ("MARATHON_APP_ID", "/shop/web"),
        ("MARATHON_APP_VERSION", "1970-01-01T00:00:01.000Z"),
        ("MARATHON_APP_RESOURCE_CPUS", "0.5"),
        ("MARATHON_APP_RESOURCE_MEM", "32.0"),
        ("MARATHON_APP_LABELS", "OWNER_TEAM"),
        ("MARATHON_APP_LABEL_OWNER_TEAM", "zeus"),
        (
            "MESOS_TASK_ID",
            placement.launches[0].records[0].id.as_str(),
        ),
    ] {
        assert_eq!(env.get(name).map(String::as_str), Some(value), "{name}");
    }
    let scalars: Vec<(&str, f64)> = info
        .resources
        .iter()
        .filter_map(|r| r.scalar.as_ref().map(|s| (r.name.as_str(), s.value)))
        .collect();
    assert_eq!(
        scalars,
        [("cpus", 0.5), ("mem", 32.0)],
        "disk 0 takes nothing"
    );
    assert!(
        info.resources
            .iter()
            .all(|r| r.name != "cpus" || r.allocation_info.is_some())
    );
    assert_eq!(
        info.kill_policy
            .as_ref()
            .and_then(|k| k.grace_period)
            .map(|g| g.nanoseconds),
        Some(7_000_000_000)
    );
    let discovery = info.discovery.as_ref().expect("discovery");
    assert_eq!(discovery["name"], "web.shop");
    assert_eq!(
        discovery["ports"]["ports"][0],
        json!({"number": 31000, "name": "http", "protocol": "tcp"})
    );
    assert_eq!(info.labels.as_ref().map(|l| l.labels.len()), Some(1));
}

#[test]
fn args_run_as_argv() {
    let web = app(
        json!({"id": "/w", "args": ["sleep", "100"], "cpus": 0.1, "mem": 16}),
        1_000,
    );
    let placement = run(&world_of(&[web]), &[offer("o1", "a", 1.0, 64.0)]);
    let command = placement.launches[0].tasks[0]
        .command
        .clone()
        .expect("command");
    assert_eq!(command.shell, Some(false));
    assert_eq!(command.value.as_deref(), Some("sleep"));
    assert_eq!(command.arguments, ["sleep", "100"]);
}

#[test]
fn require_ports_takes_the_service_ports_or_nothing() {
    let exact = app(
        json!({"id": "/w", "cmd": "x y", "cpus": 0.1, "mem": 16, "requirePorts": true,
        "portDefinitions": [{"port": 31005}]}),
        1_000,
    );
    let placement = run(
        &world_of(std::slice::from_ref(&exact)),
        &[offer("o1", "a", 1.0, 64.0)],
    );
    assert_eq!(placement.launches[0].records[0].ports, [31005]);
    let elsewhere = app(
        json!({"id": "/w", "cmd": "x y", "cpus": 0.1, "mem": 16, "requirePorts": true,
        "portDefinitions": [{"port": 8080}]}),
        1_000,
    );
    let placement = run(&world_of(&[elsewhere]), &[offer("o1", "a", 1.0, 64.0)]);
    assert!(placement.launches.is_empty());
    assert_eq!(placement.unused.len(), 1);
}

#[test]
fn resources_of_other_roles_are_used_only_when_accepted() {
    let mut reserved = offer("o1", "a", 0.0, 0.0);
    reserved.resources = vec![
        scalar("cpus", 1.0, Some("web")),
        scalar("mem", 128.0, Some("web")),
        ports(31000, 31001),
    ];
    let plain = app(
        json!({"id": "/w", "cmd": "x y", "cpus": 0.5, "mem": 64}),
        1_000,
    );
    assert!(
        run(&world_of(&[plain]), std::slice::from_ref(&reserved))
            .launches
            .is_empty()
    );
    let accepting = app(
        json!({"id": "/w", "cmd": "x y", "cpus": 0.5, "mem": 64,
        "acceptedResourceRoles": ["web", "*"]}),
        1_000,
    );
    let placement = run(&world_of(&[accepting]), &[reserved]);
    let info = &placement.launches[0].tasks[0];
    assert!(
        info.resources
            .iter()
            .filter(|r| r.name == "cpus")
            .all(|r| r.reservations[0].role == "web")
    );
}

#[test]
fn unique_hostname_puts_one_task_per_host() {
    let web = app(
        json!({"id": "/w", "cmd": "x y", "instances": 3, "cpus": 0.1, "mem": 16,
        "constraints": [["hostname", "UNIQUE"]]}),
        1_000,
    );
    let mut world = world_of(std::slice::from_ref(&web));
    let existing = task(&web, 1, TaskState::TaskRunning, 1_000);
    let existing_host = existing.host.clone();
    world.tasks.insert(existing.id.clone(), existing);
    let placement = run(
        &world,
        &[
            offer("o1", &existing_host, 4.0, 512.0),
            offer("o2", "b", 4.0, 512.0),
            offer("o3", "b", 4.0, 512.0),
            offer("o4", "c", 4.0, 512.0),
        ],
    );
    let hosts: Vec<&str> = placement
        .launches
        .iter()
        .flat_map(|l| &l.records)
        .map(|r| r.host.as_str())
        .collect();
    assert_eq!(hosts, ["b", "c"]);
    assert_eq!(placement.unused.len(), 2);
}

#[test]
fn max_per_and_like_use_agent_attributes() {
    let web = app(
        json!({"id": "/w", "cmd": "x y", "instances": 4, "cpus": 0.1, "mem": 16,
        "constraints": [["rack", "MAX_PER", "2"], ["rack", "LIKE", "r[12]"]]}),
        1_000,
    );
    let world = world_of(&[web]);
    let with_rack = |id: &str, host: &str, rack: &str| {
        let mut o = offer(id, host, 4.0, 512.0);
        o.attributes = vec![Attribute {
            name: "rack".into(),
            kind: ValueType::Text,
            text: Some(Text { value: rack.into() }),
            ..Default::default()
        }];
        o
    };
    let placement = run(
        &world,
        &[
            with_rack("o1", "a", "r1"),
            with_rack("o2", "b", "r3"),
            with_rack("o3", "c", "r2"),
        ],
    );
    let per_offer: Vec<(String, usize)> = placement
        .launches
        .iter()
        .map(|l| (l.offer_id.value.clone(), l.tasks.len()))
        .collect();
    assert_eq!(per_offer, [("o1".to_string(), 2), ("o3".to_string(), 2)]);
}

#[test]
fn delayed_apps_take_no_offers() {
    let web = app(
        json!({"id": "/w", "cmd": "x y", "cpus": 0.1, "mem": 16}),
        1_000,
    );
    let mut world = world_of(std::slice::from_ref(&web));
    world.delays.insert(
        web.id.clone(),
        crate::scheduler::backoff::Delay::first(&web, 9_500),
    );
    let placement = run(&world, &[offer("o1", "a", 1.0, 64.0)]);
    assert!(placement.launches.is_empty());
}
