//! Roles, weights and quota in the core: validation, persistence, the allocator's view
//! (including the replay a fresh instance gets) and GET_ROLES.

use serde_json::json;

use corral_api::operator_roles::{UpdateQuotaRequest, UpdateWeightsRequest};
use corral_api::scheduler::Subscribe;
use corral_api::v1::FrameworkInfo;
use corral_http::error::ApiError;
use corral_state::WriteOp;

use super::super::role_rules::validate_role;
use super::harness::Harness;

fn weights(body: serde_json::Value) -> UpdateWeightsRequest {
    serde_json::from_value(json!({ "weight_infos": body })).expect("weights request parses")
}

fn quota(body: serde_json::Value) -> UpdateQuotaRequest {
    serde_json::from_value(json!({ "quota_configs": body })).expect("quota request parses")
}

fn calls(h: &Harness) -> Vec<String> {
    h.knobs.lock().expect("knobs").calls.clone()
}

fn keys(ops: &[WriteOp]) -> Vec<String> {
    ops.iter()
        .map(|op| match op {
            WriteOp::Put { key, .. } => format!("put {key}"),
            WriteOp::Delete { key } => format!("delete {key}"),
        })
        .collect()
}

#[test]
fn role_names_follow_mesos_rules() {
    for good in ["*", "eng", "eng/backend", "a.b", "team-1", "x/y/z"] {
        assert!(validate_role(good).is_ok(), "{good} is valid");
    }
    for bad in [
        "",
        ".",
        "..",
        "-eng",
        "eng/-x",
        "/eng",
        "eng/",
        "a//b",
        "a b",
        "eng/*",
        "eng/..",
        "tab\there",
    ] {
        let error = validate_role(bad).expect_err(bad);
        assert!(
            error.contains(&format!("'{}'", bad.escape_debug())),
            "{error}"
        );
    }
    let longest = "r".repeat(255);
    assert!(validate_role(&longest).is_ok());
    let huge = "r".repeat(1 << 20);
    let error = validate_role(&huge).expect_err("a 1 MiB role");
    assert!(error.contains("longer than 255 bytes"), "{error}");
    assert!(
        error.len() < 200,
        "the refusal quotes it shortened: {error}"
    );
}

#[test]
fn subscribe_with_an_invalid_or_duplicate_role_is_refused() {
    let mut h = Harness::new();
    for (roles, expect) in [
        (vec!["eng/.."], "Invalid role 'eng/..'"),
        (vec!["eng", "eng"], "duplicate"),
    ] {
        let info = FrameworkInfo {
            name: "f".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            ..Default::default()
        };
        let subscribe = Subscribe {
            framework_info: info,
            suppressed_roles: Vec::new(),
        };
        let error = h
            .core
            .subscribe(h.now, None, subscribe, uuid::Uuid::new_v4(), 15.0)
            .map_err(ApiError::from)
            .expect_err("refused");
        assert_eq!(error.status.as_u16(), 400);
        assert!(error.message.contains(expect), "{}", error.message);
    }
    assert!(h.core.get_frameworks().frameworks.is_empty());
}

#[test]
fn weights_are_persisted_fed_to_the_allocator_and_replayed() {
    let mut h = Harness::new();
    h.core
        .update_weights(weights(
            json!([{"role": "eng", "weight": 3.0}, {"role": "ops", "weight": "0.5"}]),
        ))
        .expect("valid weights");
    h.collect();
    assert_eq!(keys(&h.persisted()), ["put weights/eng", "put weights/ops"]);
    let got = h.core.get_weights().weight_infos;
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].role.as_deref(), got[0].weight), (Some("eng"), 3.0));
    h.allocate();
    assert!(
        calls(&h).contains(&"set_weight eng 3".to_string()),
        "{:?}",
        calls(&h)
    );

    // A fresh instance (after a poisoning error, or a hot swap) learns them again.
    h.knobs.lock().expect("knobs").calls.clear();
    h.driver.reset();
    h.allocate();
    let after = calls(&h);
    assert!(after.contains(&"set_weight eng 3".to_string()), "{after:?}");
    assert!(
        after.contains(&"set_weight ops 0.5".to_string()),
        "{after:?}"
    );
}

#[test]
fn bad_weights_are_refused_with_the_role_and_value_and_change_nothing() {
    let mut h = Harness::new();
    for (weight, shown) in [
        (json!(-1.0), "-1"),
        (json!(0), "0"),
        (json!("abc"), "abc"),
        (json!("NaN"), "NaN"),
        (json!(null), "null"),
        (json!(1e300), "1e+300"),
    ] {
        let request =
            weights(json!([{"role": "ok", "weight": 2}, {"role": "eng", "weight": weight}]));
        let error = h
            .core
            .update_weights(request)
            .map_err(ApiError::from)
            .expect_err("refused");
        assert_eq!(error.status.as_u16(), 400);
        assert!(
            error.message.contains("'eng'") && error.message.contains(shown),
            "{}",
            error.message
        );
    }
    let error = h
        .core
        .update_weights(weights(json!([{"role": "a b", "weight": 1}])))
        .map_err(ApiError::from)
        .expect_err("bad role");
    assert!(
        error.message.contains("Invalid role 'a b'"),
        "{}",
        error.message
    );
    h.collect();
    assert!(h.persisted().is_empty());
    assert!(
        h.core.get_weights().weight_infos.is_empty(),
        "the valid entry was not applied either"
    );
}

#[test]
fn quota_is_set_reported_replayed_and_cleared() {
    let mut h = Harness::new();
    h.add_agent("cpus:4;mem:1024");
    h.persisted();
    h.core
        .update_quota(quota(json!([{
            "role": "eng",
            "guarantees": {"cpus": {"value": 1}, "mem": {"value": 256}},
            "limits": {"cpus": {"value": 2}}
        }])))
        .expect("valid quota");
    h.collect();
    assert_eq!(keys(&h.persisted()), ["put quota/eng"]);
    let status = h.core.get_quota().status;
    assert_eq!(status.configs.len(), 1);
    assert_eq!(status.configs[0].limits["cpus"].value, 2.0);
    assert_eq!(status.infos[0].role, "eng");
    assert_eq!(status.infos[0].guarantee.len(), 2);
    let line = "set_quota eng guarantees [cpus:1; mem:256] limits [cpus:2]".to_string();
    h.allocate();
    assert!(calls(&h).contains(&line), "{:?}", calls(&h));
    h.knobs.lock().expect("knobs").calls.clear();
    h.driver.reset();
    h.allocate();
    assert!(calls(&h).contains(&line), "replayed: {:?}", calls(&h));

    let role = h
        .core
        .get_roles()
        .roles
        .into_iter()
        .find(|r| r.name == "eng");
    let role = role.expect("eng is listed");
    assert_eq!(role.quota.expect("quota").guarantees["mem"].value, 256.0);
    assert_eq!(role.quota_warning, None);

    h.core
        .update_quota(quota(json!([{"role": "eng"}])))
        .expect("clearing");
    h.collect();
    assert_eq!(keys(&h.persisted()), ["delete quota/eng"]);
    assert!(h.core.get_quota().status.configs.is_empty());
}

#[test]
fn bad_quota_is_refused_and_changes_nothing() {
    let mut h = Harness::new();
    for (config, expect) in [
        (
            json!({"role": "eng", "guarantees": {"cpus": {"value": -1}}}),
            "-1",
        ),
        (
            json!({"role": "eng", "limits": {"cpus": {"value": "lots"}}}),
            "lots",
        ),
        (
            json!({"role": "eng", "limits": {"mem": {"value": "NaN"}}}),
            "NaN",
        ),
        (
            json!({"role": "eng", "guarantees": {"cpus": {"value": 3}}, "limits": {"cpus": {"value": 2}}}),
            "above its limit",
        ),
        (
            json!({"role": "*", "limits": {"cpus": {"value": 2}}}),
            "'*'",
        ),
        (
            json!({"role": "eng/", "limits": {"cpus": {"value": 2}}}),
            "Invalid role",
        ),
        // Finite but huge: summed with another it overflowed to infinity, GET_QUOTA showed
        // null and the registry entry did not parse back after a restart.
        (
            json!({"role": "eng", "limits": {"cpus": {"value": 1e306}}}),
            "1e+306",
        ),
    ] {
        let error = h
            .core
            .update_quota(quota(json!([config])))
            .map_err(ApiError::from)
            .expect_err("refused");
        assert_eq!(error.status.as_u16(), 400);
        assert!(error.message.contains(expect), "{}", error.message);
        if expect != "Invalid role" && expect != "'*'" {
            assert!(error.message.contains("'eng'"), "{}", error.message);
        }
    }
    h.collect();
    assert!(h.persisted().is_empty());
    assert!(h.core.get_quota().status.configs.is_empty());
}

#[test]
fn quota_beyond_the_cluster_is_allowed_and_reported() {
    let mut h = Harness::new();
    h.add_agent("cpus:2;mem:512");
    h.core
        .update_quota(quota(
            json!([{"role": "big", "guarantees": {"cpus": {"value": 10}}}]),
        ))
        .expect("allowed, as Mesos does");
    let role = h
        .core
        .get_roles()
        .roles
        .into_iter()
        .find(|r| r.name == "big");
    let warning = role.and_then(|r| r.quota_warning).expect("a warning");
    assert!(warning.contains("cpus 10 > 2"), "{warning}");
}

#[test]
fn get_roles_shows_frameworks_weights_allocations_and_shares() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe_info(FrameworkInfo {
        name: "f".into(),
        roles: vec!["eng/backend".into()],
        ..Default::default()
    });
    h.core
        .update_weights(weights(json!([{"role": "eng/backend", "weight": 2}])))
        .expect("weight");
    h.add_agent("cpus:4;mem:1024");
    h.allocate();
    let offers = h.offers(stream);
    assert_eq!(offers.len(), 1);
    let roles = h.core.get_roles().roles;
    let role = roles
        .iter()
        .find(|r| r.name == "eng/backend")
        .expect("listed");
    assert_eq!(role.weight, 2.0);
    assert_eq!(role.frameworks, vec![fw]);
    assert_eq!(role.offered.len(), 2, "{:?}", role.offered);
    assert!(role.offered.iter().all(
        |r| r.allocation_info.as_ref().and_then(|a| a.role.as_deref()) == Some("eng/backend")
    ));
    assert_eq!(
        role.dominant_share, 1.0,
        "it holds the whole agent (offered)"
    );
}
