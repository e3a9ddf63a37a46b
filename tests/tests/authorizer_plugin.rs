//! An authorizer plugin on a real master: the shipped `policy` authorizer, activated with a
//! policy document, refuses what the document denies (403 naming the action and the rule's
//! reason; TASK_ERROR for a task) and lets the rest through; it is still in force after a
//! restart; swapping in an authorizer that traps or loops refuses every enforced call
//! (fail-closed) while the master keeps serving, and the operator the ACLs allow swaps it out.

use base64::Engine as _;
use serde_json::{Value, json};

use corral_e2e::calls::{post_as, status_and_text};
use corral_e2e::{Cluster, Framework, framework_info, plugin_wasm, task};

const OPS: (&str, &str) = ("ops", "ops-secret");
const INTERN: (&str, &str) = ("intern", "intern-secret");

/// Interns never run tasks as root nor touch plugins; other principals may do anything;
/// anonymous callers nothing.
const POLICY: &str = r#"{"rules": [
    {"effect": "deny", "subjects": ["intern"], "actions": ["run_tasks"], "objects": ["root"],
     "reason": "interns do not run tasks as root"},
    {"effect": "deny", "subjects": ["intern"], "actions": ["install_plugins", "activate_plugins"],
     "reason": "plugins are for ops"},
    {"effect": "allow", "subjects": ["@authenticated"]}
], "default": "deny"}"#;

async fn plugins_call(master: &str, caller: Option<(&str, &str)>, body: Value) -> (u16, String) {
    status_and_text(post_as(master, "/api/corral/v1/plugins", caller, &body).await).await
}

async fn activate(
    master: &str,
    caller: Option<(&str, &str)>,
    plugin: &str,
    config: &str,
) -> (u16, String) {
    let body = json!({"type": "ACTIVATE", "activate": {"plugin": plugin, "config": config}});
    plugins_call(master, caller, body).await
}

/// An UPDATE_WEIGHTS call (`update_weights` on role `dev`) as `caller`.
async fn update_weights(master: &str, caller: Option<(&str, &str)>) -> (u16, String) {
    let body = json!({"type": "UPDATE_WEIGHTS",
        "update_weights": {"weight_infos": [{"role": "dev", "weight": 2.0}]}});
    status_and_text(post_as(master, "/api/v1", caller, &body).await).await
}

fn assert_refused(answer: &(u16, String), action: &str, reason: &str) {
    assert_eq!(answer.0, 403, "{}", answer.1);
    assert!(answer.1.contains(action), "names the action: {}", answer.1);
    assert!(answer.1.contains(reason), "gives the reason: {}", answer.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_authorizer_decides_survives_a_restart_and_its_failures_deny() {
    let files = tempfile::tempdir().expect("temp dir");
    let credentials = files.path().join("credentials");
    std::fs::write(&credentials, "ops ops-secret\nintern intern-secret\n").expect("write");
    // A registry on disk, so that the restarted master finds the authorizer in force.
    let registry = format!("file://{}", files.path().join("registry.redb").display());
    let mut cluster = Cluster::master_with_state(
        &registry,
        &["--credentials", &credentials.display().to_string()],
    )
    .await;
    // The task users are names in the ACLs, not accounts on this machine: the agent runs
    // the tasks as itself (`run_as_user.rs` tests switching).
    cluster
        .add_agent("cpus:2;mem:1024;disk:1024", &["--no-switch-user"])
        .await;
    let master = cluster.master_addr.clone();

    let (status, text) = activate(&master, Some(OPS), "policy", POLICY).await;
    assert_eq!(status, 200, "{text}");
    let (_, listed) = plugins_call(&master, Some(OPS), json!({"type": "LIST"})).await;
    let listed: Value = serde_json::from_str(&listed).expect("LIST is JSON");
    let policy = listed["list"]["plugins"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "policy"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(policy["active"], json!(["authorizer"]), "{policy}");
    assert_eq!(policy["kind"], "authorizer", "{policy}");

    // The document's rules, with their reasons.
    let install = json!({"type": "INSTALL", "install": {"wasm": ""}});
    let refused = plugins_call(&master, None, install.clone()).await;
    assert_refused(
        &refused,
        "install_plugins",
        "no rule of the policy allows it",
    );
    let refused = plugins_call(&master, Some(INTERN), install).await;
    assert_refused(&refused, "install_plugins", "plugins are for ops");
    assert_eq!(update_weights(&master, Some(INTERN)).await.0, 200);
    assert_refused(
        &update_weights(&master, None).await,
        "update_weights",
        "no rule",
    );

    // run_tasks: as root the intern's task is refused, as another user it runs.
    let info = framework_info("interns", json!({"user": "guest"}));
    let mut framework = Framework::subscribe_as(&master, info, Some(INTERN)).await;
    let offer = framework.offers(10).await.remove(0);
    let allowed = task("as-guest", &offer, "sleep 30", 0.1, 16.0);
    let mut as_root = task("as-root", &offer, "sleep 30", 0.1, 16.0);
    as_root["command"]["user"] = json!("root");
    assert_eq!(
        framework.launch(&offer, vec![allowed, as_root], 0.0).await,
        202
    );
    let states = framework
        .task_states(
            &[("as-guest", "TASK_RUNNING"), ("as-root", "TASK_ERROR")],
            20,
        )
        .await;
    let refused = &states["as-root"];
    assert_eq!(refused["reason"], "REASON_TASK_UNAUTHORIZED", "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("interns do not run tasks as root"),
        "{message}"
    );

    // A restarted master serves with the policy in force.
    cluster.master.restart();
    cluster.wait_healthy(&master).await;
    assert_refused(
        &update_weights(&master, None).await,
        "update_weights",
        "no rule",
    );
    assert_eq!(update_weights(&master, Some(OPS)).await.0, 200);

    // An authorizer that traps, then one that loops: every enforced call is refused, the
    // master answers, and the operator swaps it out (the ACLs decide who may: no --acls here,
    // so any caller may, as Mesos' default is permissive).
    let wasm = std::fs::read(plugin_wasm("bad_authorizer")).expect("the fixture is built");
    let manifest = "name = \"bad\"\nkind = \"authorizer\"\nversion = \"1.0.0\"\nwit = \"0.1.1\"\n";
    let install = json!({"type": "INSTALL", "install": {
        "wasm": base64::engine::general_purpose::STANDARD.encode(&wasm),
        "manifest": manifest}});
    let (status, text) = plugins_call(&master, Some(OPS), install).await;
    assert_eq!(status, 200, "{text}");
    for how in ["trap", "loop"] {
        let (status, text) = activate(&master, Some(OPS), "bad", how).await;
        assert_eq!(status, 200, "{text}");
        let refused = update_weights(&master, Some(OPS)).await;
        assert_refused(
            &refused,
            "update_weights",
            "the authorizer plugin failed to decide",
        );
        let health = reqwest::get(format!("http://{master}/health"))
            .await
            .expect("answers");
        assert_eq!(health.status(), 200);
    }
    let (status, text) = activate(&master, Some(OPS), "policy", POLICY).await;
    assert_eq!(status, 200, "the ACLs let ops swap it out: {text}");
    assert_eq!(update_weights(&master, Some(OPS)).await.0, 200);

    // A policy the plugin rejects is refused and the one in force stays.
    let (status, text) = activate(&master, Some(OPS), "policy", "{\"rules\": 7}").await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("the one in force stays"), "{text}");
    assert_refused(
        &update_weights(&master, None).await,
        "update_weights",
        "no rule",
    );

    // Deactivated: the master is open again (no ACLs).
    let body = json!({"type": "DEACTIVATE", "deactivate": {"plugin": "policy"}});
    let (status, text) = plugins_call(&master, Some(OPS), body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(update_weights(&master, None).await.0, 200);
}
