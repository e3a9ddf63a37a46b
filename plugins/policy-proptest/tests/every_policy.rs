//! What every policy promises, on random clusters and random event sequences: never more than
//! an agent has free (so never the same resources twice until recovered), reserved resources
//! only to their role, gpus only to GPU_RESOURCES frameworks, quota limits never exceeded,
//! refused resources not offered again before the filter expires, nothing to inactive
//! frameworks or suppressed roles. `Host::allocate` checks each grant.

use corral_sdk::types::Resource;
use policy_proptest::{Host, POLICIES, agent, framework, policy};
use proptest::prelude::*;

const ROLES: [&str; 4] = ["*", "a", "b", "eng/x"];

#[derive(Debug, Clone)]
struct AgentSpec {
    cpus: u32,
    mem: u32,
    reserved: Option<(usize, u32)>,
    gpus: bool,
}

#[derive(Debug, Clone)]
struct FrameworkSpec {
    roles: Vec<usize>,
    gpu: bool,
}

#[derive(Debug, Clone)]
enum Event {
    Allocate,
    Decline { index: usize, refuse_s: Option<u64> },
    Tick(u64),
    Suppress(usize),
    Revive(usize),
    Deactivate(usize),
    Activate(usize),
    Limit { role: usize, cpus: u32 },
}

fn agent_spec() -> impl Strategy<Value = AgentSpec> {
    (
        1u32..16,
        256u32..8192,
        proptest::option::of((0usize..ROLES.len(), 1u32..4)),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(cpus, mem, reserved, gpus)| AgentSpec {
            cpus,
            mem,
            reserved,
            gpus,
        })
}

fn framework_spec() -> impl Strategy<Value = FrameworkSpec> {
    (
        proptest::collection::btree_set(0usize..ROLES.len(), 1..3),
        proptest::bool::weighted(0.3),
    )
        .prop_map(|(roles, gpu)| FrameworkSpec {
            roles: roles.into_iter().collect(),
            gpu,
        })
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => Just(Event::Allocate),
        4 => (any::<usize>(), proptest::option::of(1u64..20))
            .prop_map(|(index, refuse_s)| Event::Decline { index, refuse_s }),
        2 => (1u64..10).prop_map(Event::Tick),
        1 => any::<usize>().prop_map(Event::Suppress),
        1 => any::<usize>().prop_map(Event::Revive),
        1 => any::<usize>().prop_map(Event::Deactivate),
        1 => any::<usize>().prop_map(Event::Activate),
        1 => (0usize..ROLES.len(), 1u32..24).prop_map(|(role, cpus)| Event::Limit { role, cpus }),
    ]
}

fn build(name: &str, agents: &[AgentSpec], frameworks: &[FrameworkSpec]) -> Host {
    let mut host = Host::new(policy(name));
    for (i, spec) in agents.iter().enumerate() {
        let mut resources = vec![
            Resource::scalar("cpus", f64::from(spec.cpus)),
            Resource::scalar("mem", f64::from(spec.mem)),
            Resource::ranges("ports", &[(31000, 31099)]),
        ];
        if let Some((role, cpus)) = spec.reserved
            && ROLES[role] != "*"
        {
            resources.push(Resource::scalar("cpus", f64::from(cpus)).reserved(ROLES[role]));
            resources.push(Resource::scalar("mem", 256.0).reserved(ROLES[role]));
        }
        if spec.gpus {
            resources.push(Resource::scalar("gpus", 2.0));
        }
        host.add_agent(agent(&format!("a{i:02}"), resources));
    }
    for (i, spec) in frameworks.iter().enumerate() {
        let roles: Vec<&str> = spec.roles.iter().map(|r| ROLES[*r]).collect();
        host.add_framework(framework(&format!("f{i}"), &roles, spec.gpu));
    }
    host
}

fn run(host: &mut Host, events: &[Event]) -> Result<(), String> {
    let ids = host.framework_ids();
    let pick = |i: usize| ids[i % ids.len()].clone();
    for event in events {
        match event {
            Event::Allocate => {
                host.allocate()?;
            }
            Event::Decline { index, refuse_s } => {
                host.decline(*index, refuse_s.map(|s| s * 1000));
            }
            Event::Tick(s) => host.now += s * 1000,
            Event::Suppress(i) => host.suppress(&pick(*i)),
            Event::Revive(i) => host.revive(&pick(*i)),
            Event::Deactivate(i) => host.set_active(&pick(*i), false),
            Event::Activate(i) => host.set_active(&pick(*i), true),
            Event::Limit { role, cpus } => {
                // A limit below what the role holds now is allowed; the host then checks only
                // that no grant takes the role further over, so set it at or above.
                let held = host.subtree_cpus(ROLES[*role]);
                host.set_limit(ROLES[*role], held.max(f64::from(*cpus)));
            }
        }
    }
    host.allocate().map(|_| ())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_policy_keeps_its_promises(
        agents in proptest::collection::vec(agent_spec(), 1..8),
        frameworks in proptest::collection::vec(framework_spec(), 1..5),
        events in proptest::collection::vec(event(), 1..40),
    ) {
        for name in POLICIES {
            let mut host = build(name, &agents, &frameworks);
            if let Err(broken) = run(&mut host, &events) {
                return Err(TestCaseError::fail(format!("{name}: {broken}")));
            }
        }
    }
}
