//! The DRF plugin compiled natively and as a component makes the same decisions.

use super::*;
use corral_api::resources::parse_resources;
use corral_plugin_host::{PluginEngine, PluginLimits};

fn agent(id: &str, resources: &str) -> AgentSnapshot {
    AgentSnapshot {
        id: id.to_string(),
        hostname: format!("{id}.example"),
        resources: parse_resources(resources).expect("test resources parse"),
        attributes: Vec::new(),
    }
}

fn framework(id: &str, roles: &[&str], capabilities: &[&str]) -> FrameworkSnapshot {
    FrameworkSnapshot {
        id: id.to_string(),
        name: id.to_string(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
        principal: None,
    }
}

/// A small cluster with reservations, gpus and frameworks of several roles; then cycles in
/// which some grants are declined with filters, others kept, and one framework leaves.
fn drive(policy: &mut dyn AllocatorPolicy) -> Vec<Vec<Grant>> {
    let agents = [
        agent("a1", "cpus:4;mem:4096;ports:[31000-31010]"),
        agent("a2", "cpus:2;mem:1024;cpus(eng):2;mem(eng):512"),
        agent("a3", "cpus:8;mem:8192;gpus:1"),
        agent("a4", "cpus:1;mem:256;disk:100"),
        agent("a5", "cpus:16;mem:32768"),
    ];
    for a in &agents {
        policy.add_agent(a, &[]).expect("add agent");
    }
    let frameworks = [
        framework("f1", &["*"], &[]),
        framework("f2", &["eng"], &[]),
        framework("f3", &["eng", "ml"], &["GPU_RESOURCES"]),
        framework("f4", &[], &[]),
    ];
    for f in &frameworks {
        policy.add_framework(f, true).expect("add framework");
    }
    policy.set_weight("eng", 2.0).expect("set weight");
    let mut cycles = Vec::new();
    let mut now = 1_000_000;
    for cycle in 0..6 {
        let grants = policy.allocate(now).expect("allocate");
        for (i, grant) in grants.iter().enumerate() {
            // Keep every third grant (it counts for the shares), decline the rest with a
            // filter that lasts 2.5 cycles.
            if i % 3 != 0 {
                policy
                    .recover(
                        &grant.agent_id,
                        &grant.framework_id,
                        &grant.resources,
                        Some(now + 2500),
                    )
                    .expect("recover");
            }
        }
        if cycle == 3 {
            policy.remove_framework("f1").expect("remove framework");
            policy.suppress("f2", &[]).expect("suppress");
        }
        cycles.push(grants);
        now += 1000;
    }
    cycles
}

#[test]
fn native_and_wasm_drf_grant_the_same_resources() {
    let engine = PluginEngine::new().expect("engine");
    let factory = engine
        .allocator_factory("drf", "", PluginLimits::ALLOCATOR)
        .expect("drf component loads");
    let mut wasm = factory().expect("wasm instance");
    let mut native =
        NativeAllocator::new("drf", drf_core::Drf::default(), "").expect("native drf inits");

    let from_wasm = drive(wasm.as_mut());
    let from_native = drive(&mut native);
    assert!(
        from_wasm.iter().map(Vec::len).sum::<usize>() >= 10,
        "the scenario grants something: {from_wasm:?}"
    );
    assert!(
        from_wasm.iter().skip(1).any(|c| !c.is_empty()),
        "declined agents are offered again"
    );
    assert_eq!(from_native, from_wasm);
    assert_eq!(
        native.inspect().expect("native inspect"),
        wasm.inspect().expect("wasm inspect")
    );
}

#[test]
fn native_init_refuses_a_bad_configuration_like_the_component() {
    let error = NativeAllocator::new("drf", drf_core::Drf::default(), "{\"nope\": 1}")
        .err()
        .expect("unknown field refused");
    assert!(
        matches!(&error, PluginError::Failed { call, message, .. }
            if call == "init" && message.contains("bad configuration")),
        "{error}"
    );
}

/// The same scenario for the other built-in policies, with a configuration for priority.
fn same_in_both<A: corral_sdk::allocator::Allocator + Send>(name: &str, native: A, config: &str) {
    let engine = PluginEngine::new().expect("engine");
    let factory = engine
        .allocator_factory(name, config, PluginLimits::ALLOCATOR)
        .unwrap_or_else(|e| panic!("{name} component loads: {e}"));
    let mut wasm = factory().expect("wasm instance");
    let mut native = NativeAllocator::new(name, native, config).expect("native inits");
    let from_wasm = drive(wasm.as_mut());
    assert!(
        from_wasm.iter().map(Vec::len).sum::<usize>() >= 5,
        "{name}: the scenario grants something: {from_wasm:?}"
    );
    assert_eq!(drive(&mut native), from_wasm, "{name}");
    let view = wasm.inspect().expect("wasm inspect");
    assert_eq!(native.inspect().expect("native inspect"), view, "{name}");
    assert!(view.contains(&format!("\"policy\":\"{name}\"")), "{view}");
}

#[test]
fn native_and_wasm_priority_and_binpack_grant_the_same_resources() {
    same_in_both(
        "priority",
        priority_core::Priority::default(),
        r#"{"queues": {"eng": {"guarantee": 0.3, "cap": 0.6, "order": "priority"}},
            "framework_priority": {"f3": 5}}"#,
    );
    same_in_both("binpack", binpack_core::Binpack::default(), "");
}

#[test]
fn a_priority_configuration_out_of_range_is_refused_at_load() {
    let engine = PluginEngine::new().expect("engine");
    let error = engine
        .allocator_factory(
            "priority",
            r#"{"queues": {"prod": {"guarantee": 0.9, "cap": 0.5}}}"#,
            PluginLimits::ALLOCATOR,
        )
        .err()
        .expect("guarantee above cap is refused");
    assert!(error.to_string().contains("above its cap"), "{error}");
}
