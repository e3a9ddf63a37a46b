//! The DRF policy driven natively through the same calls the host makes.

use corral_sdk::allocator::{Allocation, Allocator, Grant, Quota};
use corral_sdk::resources::Resources;
use corral_sdk::types::{AgentInfo, FrameworkInfo, Resource};

use crate::Drf;

const NOW: u64 = 1_700_000_000_000;

fn agent(id: &str, cpus: f64, mem: f64) -> AgentInfo {
    AgentInfo {
        id: id.into(),
        hostname: format!("{id}.example"),
        resources: vec![
            Resource::scalar("cpus", cpus),
            Resource::scalar("mem", mem),
            Resource::ranges("ports", &[(31000, 32000)]),
        ],
        attributes: vec![],
    }
}

/// Four agents a1..a4 of 4 cpus and 4 GiB.
fn four_agents() -> Vec<AgentInfo> {
    (1..=4)
        .map(|i| agent(&format!("a{i}"), 4.0, 4096.0))
        .collect()
}

/// The cpus granted in `grants`, to one framework or to all.
fn granted_cpus(grants: &[Grant], framework: Option<&str>) -> f64 {
    grants
        .iter()
        .filter(|g| framework.is_none_or(|f| g.framework_id == f))
        .map(|g| Resources::from_list(&g.resources).scalar("cpus"))
        .sum()
}

fn framework(id: &str, roles: &[&str], capabilities: &[&str]) -> FrameworkInfo {
    FrameworkInfo {
        id: id.into(),
        name: format!("{id}-name"),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
        principal: None,
    }
}

fn drf_with(agents: &[AgentInfo], frameworks: &[&str]) -> Drf {
    let mut drf = Drf::default();
    drf.init(String::new())
        .expect("empty config is the default");
    for a in agents {
        drf.add_agent(a.clone(), vec![]);
    }
    for f in frameworks {
        drf.add_framework(framework(f, &["*"], &[]), true);
    }
    drf
}

/// (agent, framework) of each grant, in order.
fn pairs(grants: &[Grant]) -> Vec<(&str, &str)> {
    grants
        .iter()
        .map(|g| (g.agent_id.as_str(), g.framework_id.as_str()))
        .collect()
}

#[test]
fn two_frameworks_split_identical_agents_evenly() {
    let agents = four_agents();
    let mut drf = drf_with(&agents, &["f2", "f1"]);
    let grants = drf.allocate(NOW);
    assert_eq!(
        pairs(&grants),
        [("a1", "f1"), ("a2", "f2"), ("a3", "f1"), ("a4", "f2")],
        "ties go by framework id, then the lower share goes first"
    );
    for grant in &grants {
        assert_eq!(
            Resources::from_list(&grant.resources),
            Resources::from_list(&agents[0].resources),
            "a grant holds the whole agent"
        );
    }
}

#[test]
fn the_lowest_dominant_share_goes_first() {
    // f1 holds 50% of the cpus but 10% of mem (dominant 0.5); f2 holds 10% of the cpus and
    // 40% of mem (dominant 0.4). f2 is further below its fair share, so it gets the agent.
    let mut drf = drf_with(&[], &["f1", "f2"]);
    drf.add_agent(
        agent("a1", 10.0, 10_000.0),
        vec![
            Allocation {
                framework_id: "f1".into(),
                role: "*".into(),
                resources: vec![
                    Resource::scalar("cpus", 5.0),
                    Resource::scalar("mem", 1_000.0),
                ],
            },
            Allocation {
                framework_id: "f2".into(),
                role: "*".into(),
                resources: vec![
                    Resource::scalar("cpus", 1.0),
                    Resource::scalar("mem", 4_000.0),
                ],
            },
        ],
    );
    let grants = drf.allocate(NOW);
    assert_eq!(pairs(&grants), [("a1", "f2")]);
    assert_eq!(
        Resources::from_list(&grants[0].resources).scalar("cpus"),
        4.0,
        "only what is free is granted"
    );
}

#[test]
fn nothing_is_granted_twice_until_recovered() {
    let mut drf = drf_with(&[agent("a1", 2.0, 1024.0)], &["f1", "f2"]);
    let first = drf.allocate(NOW);
    assert_eq!(pairs(&first), [("a1", "f1")]);
    assert!(
        drf.allocate(NOW + 1).is_empty(),
        "the agent is fully allocated"
    );

    drf.recover("a1".into(), "f1".into(), first[0].resources.clone(), None);
    let again = drf.allocate(NOW + 2);
    assert_eq!(
        pairs(&again),
        [("a1", "f1")],
        "equal shares again, so f1 by id"
    );
}

#[test]
fn never_over_allocates_under_random_recovers() {
    let agents: Vec<_> = (1..=3)
        .map(|i| agent(&format!("a{i}"), 8.0, 8192.0))
        .collect();
    let mut drf = drf_with(&agents, &["f1", "f2", "f3"]);
    // Outstanding grants per (agent, framework), as the host would track them.
    let mut outstanding: Vec<Grant> = Vec::new();
    let mut seed: u64 = 42;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    for round in 0..200u64 {
        outstanding.extend(drf.allocate(NOW + round));
        // Give back part of a random grant: half its cpus and all of its mem.
        if !outstanding.is_empty() {
            let index = usize::try_from(next()).expect("fits") % outstanding.len();
            let grant = outstanding.swap_remove(index);
            let mut kept = Resources::from_list(&grant.resources);
            let mut back = vec![Resource::scalar("mem", kept.scalar("mem"))];
            let half = (kept.scalar("cpus") / 2.0 * 1000.0).round() / 1000.0;
            back.push(Resource::scalar("cpus", half));
            kept.subtract_all(&back);
            let refuse = (next() % 2 == 0).then_some(NOW + round + 3);
            drf.recover(
                grant.agent_id.clone(),
                grant.framework_id.clone(),
                back,
                refuse,
            );
            if !kept.is_empty() {
                outstanding.push(Grant {
                    resources: kept.to_vec(),
                    ..grant
                });
            }
        }
        for a in &agents {
            let mut held = Resources::new();
            for g in outstanding.iter().filter(|g| g.agent_id == a.id) {
                held.add_all(&g.resources);
            }
            assert!(
                Resources::from_list(&a.resources).contains(held.as_slice()),
                "round {round}: {} is over-allocated: {held:?}",
                a.id
            );
        }
    }
}

#[test]
fn a_refusal_holds_until_it_expires() {
    let mut drf = drf_with(&[agent("a1", 2.0, 1024.0)], &["f1"]);
    let offer = drf.allocate(NOW);
    drf.recover(
        "a1".into(),
        "f1".into(),
        offer[0].resources.clone(),
        Some(NOW + 5_000),
    );
    assert!(drf.allocate(NOW + 1_000).is_empty(), "refused for 5 s");
    assert!(drf.allocate(NOW + 4_999).is_empty(), "still refused");
    assert_eq!(
        pairs(&drf.allocate(NOW + 5_000)),
        [("a1", "f1")],
        "expired at its time"
    );
}

#[test]
fn a_refusal_passes_the_agent_to_the_next_framework() {
    let mut drf = drf_with(&[agent("a1", 2.0, 1024.0)], &["f1", "f2"]);
    let offer = drf.allocate(NOW);
    assert_eq!(pairs(&offer), [("a1", "f1")]);
    drf.recover(
        "a1".into(),
        "f1".into(),
        offer[0].resources.clone(),
        Some(NOW + 5_000),
    );
    assert_eq!(pairs(&drf.allocate(NOW + 1)), [("a1", "f2")]);
}

#[test]
fn a_refusal_does_not_cover_resources_that_were_not_refused() {
    let mut drf = drf_with(&[agent("a1", 2.0, 1024.0)], &["f1"]);
    let offer = drf.allocate(NOW);
    // f1 launches a task with 1 cpu and 512 mem and refuses the rest for 5 s.
    let used = vec![
        Resource::scalar("cpus", 1.0),
        Resource::scalar("mem", 512.0),
    ];
    let mut rest = Resources::from_list(&offer[0].resources);
    rest.subtract_all(&used);
    drf.recover("a1".into(), "f1".into(), rest.to_vec(), Some(NOW + 5_000));
    assert!(drf.allocate(NOW + 1).is_empty());
    // The task ends: the agent now has more than f1 refused, so it is offered again.
    drf.recover("a1".into(), "f1".into(), used, None);
    assert_eq!(pairs(&drf.allocate(NOW + 2)), [("a1", "f1")]);
}

#[test]
fn suppressed_frameworks_get_nothing_until_revived() {
    let mut drf = drf_with(&[agent("a1", 2.0, 1024.0)], &["f1", "f2"]);
    drf.suppress("f1".into(), vec![]);
    assert_eq!(pairs(&drf.allocate(NOW)), [("a1", "f2")]);
    drf.remove_framework("f2".into());
    assert!(drf.allocate(NOW + 1).is_empty(), "f1 is suppressed");
    drf.revive("f1".into(), vec![]);
    assert_eq!(pairs(&drf.allocate(NOW + 2)), [("a1", "f1")]);
}

#[test]
fn revive_drops_refusals() {
    let mut drf = drf_with(&[agent("a1", 2.0, 1024.0)], &["f1"]);
    let offer = drf.allocate(NOW);
    drf.recover(
        "a1".into(),
        "f1".into(),
        offer[0].resources.clone(),
        Some(NOW + 60_000),
    );
    assert!(drf.allocate(NOW + 1).is_empty());
    drf.revive("f1".into(), vec![]);
    assert_eq!(pairs(&drf.allocate(NOW + 2)), [("a1", "f1")]);
}

#[test]
fn inactive_frameworks_get_nothing() {
    let mut drf = drf_with(&[agent("a1", 2.0, 1024.0)], &[]);
    drf.add_framework(framework("f1", &["*"], &[]), false);
    assert!(drf.allocate(NOW).is_empty());
    drf.activate_framework("f1".into());
    let offer = drf.allocate(NOW + 1);
    assert_eq!(pairs(&offer), [("a1", "f1")]);
    drf.recover("a1".into(), "f1".into(), offer[0].resources.clone(), None);
    drf.deactivate_framework("f1".into());
    assert!(drf.allocate(NOW + 2).is_empty());
}

fn gpu_agent(id: &str) -> AgentInfo {
    let mut gpu_agent = agent(id, 4.0, 4096.0);
    gpu_agent.resources.push(Resource::scalar("gpus", 2.0));
    gpu_agent
}

#[test]
fn gpu_agents_go_only_to_frameworks_with_gpu_resources() {
    let mut drf = drf_with(&[gpu_agent("a1"), agent("a2", 4.0, 4096.0)], &[]);
    drf.add_framework(framework("f1", &["*"], &[]), true);
    assert_eq!(
        pairs(&drf.allocate(NOW)),
        [("a2", "f1")],
        "f1 cannot use gpus, so the GPU agent is kept for frameworks that can"
    );
    drf.add_framework(framework("f2", &["*"], &["GPU_RESOURCES"]), true);
    let grants = drf.allocate(NOW + 1);
    assert_eq!(pairs(&grants), [("a1", "f2")]);
    assert_eq!(
        Resources::from_list(&grants[0].resources).scalar("gpus"),
        2.0
    );
    assert_eq!(
        Resources::from_list(&grants[0].resources).scalar("cpus"),
        4.0
    );
}

#[test]
fn without_gpu_agent_filtering_gpus_are_held_back_from_other_frameworks() {
    let mut drf = drf_with(&[gpu_agent("a1")], &[]);
    drf.init(r#"{"filter_gpu_agents": false}"#.into())
        .expect("valid configuration");
    drf.add_framework(framework("f1", &["*"], &[]), true);
    let grants = drf.allocate(NOW);
    assert_eq!(pairs(&grants), [("a1", "f1")]);
    let offer = Resources::from_list(&grants[0].resources);
    assert_eq!(offer.scalar("gpus"), 0.0, "f1 lacks GPU_RESOURCES");
    assert_eq!(offer.scalar("cpus"), 4.0);
    drf.add_framework(framework("f2", &["*"], &["GPU_RESOURCES"]), true);
    assert!(
        drf.allocate(NOW + 1).is_empty(),
        "gpus alone are below the minimum allocatable (cpus or mem)"
    );
}

#[test]
fn reserved_resources_go_only_to_their_role() {
    let mut a1 = agent("a1", 1.0, 1024.0);
    a1.resources
        .push(Resource::scalar("cpus", 2.0).reserved("web"));
    a1.resources
        .push(Resource::scalar("mem", 512.0).reserved("web"));
    let mut drf = drf_with(&[a1], &[]);
    drf.add_framework(framework("batch", &["batch"], &[]), true);
    drf.add_framework(framework("web", &["web"], &[]), true);

    let grants = drf.allocate(NOW);
    assert_eq!(pairs(&grants), [("a1", "batch"), ("a1", "web")]);
    assert!(
        grants[0].resources.iter().all(|r| r.reservation.is_none()),
        "batch gets only unreserved resources"
    );
    assert_eq!(grants[1].role, "web");
    assert_eq!(
        Resources::from_list(&grants[1].resources).scalar("cpus"),
        2.0
    );
}

#[test]
fn weights_divide_shares() {
    let agents = four_agents();
    let mut drf = drf_with(&agents, &[]);
    drf.add_framework(framework("f1", &["light"], &[]), true);
    drf.add_framework(framework("f2", &["heavy"], &[]), true);
    drf.set_weight("heavy".into(), 2.0);
    // Roles are compared first, ties by role name: a1 to heavy (both 0, "heavy" < "light"),
    // a2 to light (0 against 1/4 / 2), a3 to heavy (1/8 against 1/4), a4 to heavy (2/4 / 2
    // ties with 1/4, by name). Heavy ends with 3 of 4 agents, light with 1.
    assert_eq!(
        pairs(&drf.allocate(NOW)),
        [("a1", "f2"), ("a2", "f1"), ("a3", "f2"), ("a4", "f2")]
    );
}

#[test]
fn agents_with_only_ports_left_are_not_offered() {
    let mut drf = drf_with(&[agent("a1", 1.0, 64.0)], &["f1"]);
    let offer = drf.allocate(NOW);
    let ports = vec![Resource::ranges("ports", &[(31000, 32000)])];
    drf.recover("a1".into(), "f1".into(), ports, None);
    let _ = offer;
    assert!(
        drf.allocate(NOW + 1).is_empty(),
        "ports alone are not worth an offer"
    );
}

#[test]
fn removing_an_agent_or_framework_forgets_its_allocations() {
    let mut drf = drf_with(
        &[agent("a1", 2.0, 1024.0), agent("a2", 2.0, 1024.0)],
        &["f1", "f2"],
    );
    assert_eq!(drf.allocate(NOW).len(), 2);
    drf.remove_framework("f1".into());
    assert_eq!(
        pairs(&drf.allocate(NOW + 1)),
        [("a1", "f2")],
        "f1's agent is free again"
    );
    drf.remove_agent("a1".into());
    drf.add_agent(agent("a1", 2.0, 1024.0), vec![]);
    assert_eq!(
        pairs(&drf.allocate(NOW + 2)),
        [("a1", "f2")],
        "a re-added agent starts free"
    );
}

#[test]
fn bad_configuration_is_refused_with_a_message() {
    let mut drf = Drf::default();
    let error = drf
        .init("{\"min_allocatable\": 3".into())
        .expect_err("truncated JSON");
    assert!(error.contains("bad configuration"), "{error}");
    let error = drf
        .init("{\"unknown\": 1}".into())
        .expect_err("unknown field");
    assert!(error.contains("unknown"), "{error}");
    drf.init("{\"min_allocatable\": {}}".into())
        .expect("empty map allows any grant");
}

#[test]
fn inspect_shows_frameworks_shares_and_agents() {
    let mut drf = drf_with(
        &[agent("a1", 4.0, 4096.0), agent("a2", 4.0, 4096.0)],
        &["f1"],
    );
    drf.allocate(NOW);
    drf.recover(
        "a2".into(),
        "f1".into(),
        vec![Resource::scalar("cpus", 4.0)],
        Some(NOW + 5),
    );
    let view: serde_json::Value =
        serde_json::from_str(&drf.inspect()).expect("inspect returns JSON");
    assert_eq!(view["policy"], "drf");
    assert_eq!(view["cluster_total"]["cpus"], 8.0);
    let f1 = &view["frameworks"][0];
    assert_eq!(f1["id"], "f1");
    assert_eq!(f1["allocated"]["cpus"], 4.0);
    assert_eq!(f1["dominant_share"], 1.0, "f1 holds all the memory");
    assert_eq!(f1["filters"][0]["agent_id"], "a2");
    assert_eq!(view["agents"][1]["available"]["cpus"], 4.0);
    assert_eq!(view["agents"][0]["available"], serde_json::json!({}));
}

fn quota(role: &str, guarantees: &[(&str, f64)], limits: &[(&str, f64)]) -> Quota {
    let list = |items: &[(&str, f64)]| {
        items
            .iter()
            .map(|(n, v)| Resource::scalar(*n, *v))
            .collect()
    };
    Quota {
        role: role.into(),
        guarantees: list(guarantees),
        limits: list(limits),
    }
}

/// Grants per framework id.
fn count(grants: &[Grant], framework: &str) -> usize {
    grants
        .iter()
        .filter(|g| g.framework_id == framework)
        .count()
}

#[test]
fn a_parent_role_counts_its_childrens_allocations() {
    // eng has two child roles, ops one framework. Per level: eng (both children) against ops,
    // so ops gets as much as eng/a and eng/b together.
    let agents: Vec<_> = (1..=8)
        .map(|i| agent(&format!("a{i}"), 4.0, 4096.0))
        .collect();
    let mut drf = drf_with(&agents, &[]);
    drf.add_framework(framework("fa", &["eng/a"], &[]), true);
    drf.add_framework(framework("fb", &["eng/b"], &[]), true);
    drf.add_framework(framework("fo", &["ops"], &[]), true);
    let grants = drf.allocate(NOW);
    assert_eq!(count(&grants, "fo"), 4, "{:?}", pairs(&grants));
    assert_eq!(count(&grants, "fa"), 2);
    assert_eq!(count(&grants, "fb"), 2);
    assert!(
        grants
            .iter()
            .any(|g| g.role == "eng/a" && g.framework_id == "fa")
    );
}

#[test]
fn a_guarantee_is_met_before_other_roles_get_spare_resources() {
    // Four agents of 4 cpus. "prod" is guaranteed 12 cpus; by share alone "batch" (first by
    // name) would get half. The guarantee is met first, then batch gets the rest.
    let agents = four_agents();
    let mut drf = drf_with(&agents, &[]);
    drf.add_framework(framework("b", &["batch"], &[]), true);
    drf.add_framework(framework("p", &["prod"], &[]), true);
    drf.set_quota(quota("prod", &[("cpus", 12.0)], &[]));
    let grants = drf.allocate(NOW);
    assert_eq!(granted_cpus(&grants, Some("p")), 12.0, "{grants:?}");
    assert_eq!(granted_cpus(&grants, Some("b")), 4.0);
}

#[test]
fn unmet_guarantees_keep_headroom_from_other_roles() {
    // prod is guaranteed 8 cpus but its framework refused everything: batch may take only
    // what leaves 8 cpus unallocated.
    let agents = four_agents();
    let mut drf = drf_with(&agents, &[]);
    drf.add_framework(framework("b", &["batch"], &[]), true);
    drf.set_quota(quota("prod", &[("cpus", 8.0)], &[]));
    let grants = drf.allocate(NOW);
    assert_eq!(granted_cpus(&grants, None), 8.0, "{grants:?}");
}

#[test]
fn unallocated_reservations_count_towards_a_guarantee() {
    // prod is guaranteed 4 cpus and has 4 cpus reserved on a1 that nobody holds: the
    // guarantee is covered, so batch may take every unreserved cpu (Mesos counts
    // reservations towards quota consumption).
    let mut agents = four_agents();
    for r in agents[0].resources.iter_mut() {
        r.reservation = Some("prod".into());
    }
    let mut drf = drf_with(&agents, &[]);
    drf.add_framework(framework("b", &["batch"], &[]), true);
    drf.set_quota(quota("prod", &[("cpus", 4.0)], &[]));
    let grants = drf.allocate(NOW);
    assert_eq!(granted_cpus(&grants, None), 12.0, "{grants:?}");
}

#[test]
fn a_role_never_gets_past_its_limit_nor_does_its_subtree() {
    let agents = four_agents();
    let mut drf = drf_with(&agents, &[]);
    drf.add_framework(framework("f1", &["eng/a"], &[]), true);
    drf.add_framework(framework("f2", &["eng/b"], &[]), true);
    drf.set_quota(quota("eng", &[], &[("cpus", 6.0)]));
    let grants = drf.allocate(NOW);
    assert_eq!(granted_cpus(&grants, None), 6.0, "{grants:?}");
    assert!(drf.allocate(NOW + 1).is_empty(), "eng is at its limit");
    // Raising the limit lets more through.
    drf.set_quota(quota("eng", &[], &[("cpus", 8.0)]));
    assert_eq!(drf.allocate(NOW + 2).len(), 1);
}

#[test]
fn frameworks_within_a_role_go_by_their_share_there() {
    let mut drf = drf_with(&[], &[]);
    drf.add_framework(framework("f1", &["web"], &[]), true);
    drf.add_framework(framework("f2", &["web"], &[]), true);
    drf.add_agent(
        agent("a1", 4.0, 4096.0),
        vec![Allocation {
            framework_id: "f1".into(),
            role: "web".into(),
            resources: vec![Resource::scalar("cpus", 1.0)],
        }],
    );
    drf.add_agent(agent("a2", 4.0, 4096.0), vec![]);
    let grants = drf.allocate(NOW);
    assert_eq!(pairs(&grants), [("a1", "f2"), ("a2", "f1")]);
}
