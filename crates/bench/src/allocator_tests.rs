use super::*;
use crate::native_allocator::NativeAllocator;

fn native_drf() -> NativeAllocator<drf_core::Drf> {
    NativeAllocator::new("drf (native)", drf_core::Drf::default(), "").expect("default config")
}

#[test]
fn agent_resources_parse() {
    let parsed = parse_resources(AGENT_RESOURCES).expect("AGENT_RESOURCES parses");
    assert_eq!(parsed.len(), 4, "{parsed:?}");
    assert_eq!(agents(3)[2].resources, parsed);
}

#[test]
fn decline_shape_offers_every_agent_each_cycle_to_a_framework_that_has_not_refused_it() {
    let shape = Shape {
        agents: 20,
        frameworks: 8,
    };
    let mut policy = native_drf();
    // First cycle + warm-up + 3 timed cycles = 5 cycles, fewer than 8 frameworks: every
    // agent still has a framework that has not declined it.
    let times = run(&mut policy, shape, 3).expect("native run");
    assert_eq!(times.first_grants, 20);
    assert_eq!(times.last_grants, 20);
}

#[test]
fn decline_shape_runs_dry_once_every_framework_refused_every_agent() {
    let shape = Shape {
        agents: 5,
        frameworks: 2,
    };
    let mut policy = native_drf();
    let times = run(&mut policy, shape, 2).expect("native run");
    assert_eq!(times.first_grants, 5);
    assert_eq!(times.last_grants, 0, "both frameworks declined every agent");
}
