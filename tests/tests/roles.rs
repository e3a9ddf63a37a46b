//! Roles end to end, with real processes: weights share an agent between roles, reserved
//! resources (static and reserved by a framework's ACCEPT) are offered only to their role,
//! and weights, quota and reservations survive a master restart on a redb registry. The
//! operator side goes through the `corral roles|reserve|unreserve` commands.

use corral_e2e::{Cluster, Framework, eventually, framework_info, operator, scalar, task};
use serde_json::{Value, json};

fn multi_role(name: &str, roles: &[&str], extra: Value) -> Value {
    let mut info = framework_info(
        name,
        json!({"roles": roles, "capabilities": [{"type": "MULTI_ROLE"}], "failover_timeout": 3600.0}),
    );
    if let (Some(obj), Some(more)) = (info.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    info
}

/// The role each resource of an offer is reserved for ("*" when unreserved).
fn reserved_roles(offer: &Value) -> Vec<String> {
    offer["resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    r["reservations"]
                        .as_array()
                        .and_then(|s| s.last())
                        .and_then(|top| top["role"].as_str())
                        .unwrap_or("*")
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A framework of the one role `role`.
async fn subscribe(master: &str, name: &str, role: &str) -> Framework {
    Framework::subscribe(master, multi_role(name, &[role], json!({}))).await
}

/// Launches one task per offer (declining the rest at once) for `secs` seconds.
async fn run_tasks(mut fw: Framework, name: &'static str, secs: u64) -> usize {
    let mut launched = 0usize;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while let Some(offers) = fw.offers_until(deadline).await {
        for offer in offers {
            if scalar(&offer, "cpus") >= 1.0 && scalar(&offer, "mem") >= 64.0 {
                launched += 1;
                let t = task(&format!("{name}-{launched}"), &offer, "sleep 60", 1.0, 64.0);
                assert_eq!(fw.launch(&offer, vec![t], 0.0).await, 202);
            } else {
                fw.decline(&offer, 0.0).await;
            }
        }
    }
    launched
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_weighted_3_gets_about_three_times_the_tasks() {
    let mut cluster = Cluster::master(&["--allocator", "drf"]).await;
    let (code, out, err) = cluster.cli(&["roles", "weight", "heavy", "3"]);
    assert_eq!(code, 0, "{out}{err}");
    // Both subscribe before the agent comes, so neither is offered the agent alone first.
    let heavy = subscribe(&cluster.master_addr, "fh", "heavy").await;
    let light = subscribe(&cluster.master_addr, "fl", "light").await;
    cluster.add_agent("cpus:8;mem:4096;disk:1024", &[]).await;
    let heavy = tokio::spawn(run_tasks(heavy, "fh", 12));
    let light = tokio::spawn(run_tasks(light, "fl", 12));
    let heavy = heavy.await.expect("heavy framework");
    let light = light.await.expect("light framework");
    assert_eq!(heavy + light, 8, "the agent is used up\n{}", cluster.logs());
    assert!(
        heavy >= 5 && light >= 1,
        "weight 3:1 splits 8 cpus about 6:2, got {heavy}:{light}\n{}",
        cluster.logs()
    );
    let (code, out, _) = cluster.cli(&["roles"]);
    assert_eq!(code, 0);
    let heavy_line = out
        .lines()
        .find(|l| l.starts_with("heavy"))
        .unwrap_or_default();
    assert!(heavy_line.split_whitespace().nth(1) == Some("3"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_go_only_to_their_role_and_survive_a_master_restart() {
    let registry = tempfile::tempdir().expect("temp dir");
    let state = format!("file://{}", registry.path().join("registry.redb").display());
    let mut cluster = Cluster::master_with_state(&state, &["--allocator", "drf"]).await;
    cluster.add_agent("cpus:4;mem:2048;cpus(eng):1", &[]).await;
    let master = cluster.master_addr.clone();

    // A framework of role "*" never sees the statically reserved cpu.
    let mut star = Framework::subscribe(&master, multi_role("star", &["*"], json!({}))).await;
    let offer = star.offers(20).await.remove(0);
    assert_eq!(
        reserved_roles(&offer),
        vec!["*"; reserved_roles(&offer).len()]
    );
    assert_eq!(scalar(&offer, "cpus"), 4.0, "{offer}");
    assert_eq!(star.decline(&offer, 3600.0).await, 202);

    // A framework of role "eng" is offered it, and reserves more with RESERVE in an ACCEPT.
    let mut eng = Framework::subscribe(
        &master,
        multi_role("eng", &["eng"], json!({"principal": "eng-team"})),
    )
    .await;
    let offer = eng.offers(20).await.remove(0);
    assert_eq!(scalar(&offer, "cpus"), 5.0, "{offer}");
    assert_eq!(offer["allocation_info"]["role"], "eng");
    let reserve = json!({
        "type": "ACCEPT",
        "accept": {
            "offer_ids": [offer["id"]],
            "operations": [{"type": "RESERVE", "reserve": {"resources": [
                {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1},
                 "reservations": [{"type": "DYNAMIC", "role": "eng", "principal": "eng-team"}]},
                {"name": "mem", "type": "SCALAR", "scalar": {"value": 512},
                 "reservations": [{"type": "DYNAMIC", "role": "eng", "principal": "eng-team"}]}
            ]}}],
            "filters": {"refuse_seconds": 0}
        }
    });
    let (status, body) = eng.call(reserve).await;
    assert_eq!(status, 202, "{body}");
    let offer = eng.offers(20).await.remove(0);
    let roles = reserved_roles(&offer);
    assert!(roles.iter().filter(|r| *r == "eng").count() >= 2, "{offer}");

    // The operator: weight, quota, a reservation of its own, and refusals.
    let agent_id = offer["agent_id"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for args in [
        vec!["roles", "weight", "eng", "2.5"],
        vec![
            "roles",
            "quota",
            "eng",
            "--guarantee",
            "cpus:1",
            "--limit",
            "cpus:3;mem:1024",
        ],
        vec!["reserve", &agent_id, "mem(ops):128", "--principal", "admin"],
    ] {
        let (code, out, err) = cluster.cli(&args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
    }
    let (code, _, err) = cluster.cli(&["roles", "weight", "eng", "-1"]);
    assert_ne!(code, 0);
    assert!(err.contains("'eng'") && err.contains("-1"), "{err}");
    let (code, _, err) = cluster.cli(&[
        "unreserve",
        &agent_id,
        "mem(ops):128",
        "--principal",
        "mallory",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("admin"),
        "the refusal names the reservation's principal: {err}"
    );
    let (code, _, err) = cluster.cli(&["reserve", &agent_id, "cpus(ops):100"]);
    assert_ne!(code, 0);
    assert!(err.contains("cpus:100"), "{err}");

    let (code, out, _) = cluster.cli(&["roles", "--json"]);
    assert_eq!(code, 0);
    let roles: Value = serde_json::from_str(&out).expect("JSON");
    let eng_role = roles["get_roles"]["roles"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == "eng").cloned())
        .expect("eng is listed");
    assert_eq!(eng_role["weight"], 2.5);
    assert_eq!(eng_role["quota"]["limits"]["mem"]["value"], 1024.0);

    // Restart the master on the same registry; the agent re-registers.
    cluster.master.restart();
    cluster.wait_healthy(&master).await;
    eventually(30, "the agent to re-register", || {
        let master = master.clone();
        async move {
            let agents = operator(&master, "GET_AGENTS").await.ok()?;
            let total = agents["get_agents"]["agents"][0]["total_resources"].clone();
            let reserved: f64 = total
                .as_array()?
                .iter()
                .filter(|r| r["name"] == "mem" && r["role"] != "*")
                .filter_map(|r| r["scalar"]["value"].as_f64())
                .sum();
            (reserved == 640.0).then_some(())
        }
    })
    .await;
    let weights = operator(&master, "GET_WEIGHTS").await.expect("GET_WEIGHTS");
    assert_eq!(weights["get_weights"]["weight_infos"][0]["weight"], 2.5);
    let quota = operator(&master, "GET_QUOTA").await.expect("GET_QUOTA");
    assert_eq!(quota["get_quota"]["status"]["configs"][0]["role"], "eng");
    // The fresh allocator instance was given them (its inspect JSON, GET /allocator).
    eventually(20, "the allocator to know eng's weight and quota", || {
        let url = format!("http://{master}/allocator");
        async move {
            let view: Value = corral_e2e::http_get(&url).await.ok()?.json().await.ok()?;
            let known =
                view["weights"]["eng"] == 2.5 && view["quotas"]["eng"]["limits"]["mem"] == 1024.0;
            known.then_some(())
        }
    })
    .await;

    // After the restart, "*" still gets only the unreserved part: 4 - 1 cpus, 2048 - 640 mem.
    let mut star = Framework::subscribe(&master, multi_role("star2", &["*"], json!({}))).await;
    let offer = star.offers(30).await.remove(0);
    assert!(reserved_roles(&offer).iter().all(|r| r == "*"), "{offer}");
    assert_eq!(scalar(&offer, "cpus"), 3.0, "{offer}");
    assert_eq!(scalar(&offer, "mem"), 1408.0, "{offer}");
}

/// Quota enforcement belongs to the allocation policy: drf caps a role at its limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_never_gets_more_than_its_quota_limit() {
    let mut cluster = Cluster::master(&["--allocator", "drf"]).await;
    let (code, out, err) = cluster.cli(&["roles", "quota", "capped", "--limit", "cpus:2"]);
    assert_eq!(code, 0, "{out}{err}");
    cluster.add_agent("cpus:4;mem:4096;disk:1024", &[]).await;
    let capped = subscribe(&cluster.master_addr, "fc", "capped").await;
    let launched = run_tasks(capped, "fc", 8).await;
    assert_eq!(
        launched,
        2,
        "a cpus:2 limit allows two 1-cpu tasks\n{}",
        cluster.logs()
    );
}
