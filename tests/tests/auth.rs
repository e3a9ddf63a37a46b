//! Authentication on real processes: a master with `--credentials`,
//! `--authenticate-frameworks`, `--authenticate-agents` and `--authenticate-http-readwrite`,
//! an agent presenting its `--credential`, pymesos with a principal and secret, and the calls
//! a hostile client would make with nothing but curl.

use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use corral_e2e::calls::{active_agent_ids, basic_client, first_event, post_as};
use corral_e2e::{Cluster, Framework, Process, eventually, framework_info, free_port, python};

const AGENT: (&str, &str) = ("agent", "agent-secret-1b7");
const SCHEDULER: (&str, &str) = ("fw", "fw-secret-9c2");
const OTHER: (&str, &str) = ("other", "other-secret-4d8");
const OPS: (&str, &str) = ("ops", "ops-secret-6e1");

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a file");
    path.display().to_string()
}

/// The ids of the agents the master lists as active, asked as the operator.
async fn active_agents(master: &str) -> Vec<String> {
    active_agent_ids(&basic_client(Some(OPS)), &format!("http://{master}")).await
}

fn agent_args(master: &str, dir: &Path, name: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "agent",
        "--master",
        master,
        "--ip",
        "127.0.0.1",
        "--port",
        &free_port().to_string(),
        "--work-dir",
        &dir.join(name).display().to_string(),
        "--resources",
        "cpus:2;mem:1024;disk:1024",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_are_refused_and_each_id_answers_only_to_its_principal() {
    let files = tempfile::tempdir().expect("temp dir");
    let listed: Vec<Value> = [AGENT, SCHEDULER, OTHER, OPS]
        .iter()
        .map(|(principal, secret)| json!({"principal": principal, "secret": secret}))
        .collect();
    let credentials = json!({ "credentials": listed });
    let credentials = write(files.path(), "credentials.json", &credentials.to_string());
    let agent_credential = write(
        files.path(),
        "agent.json",
        &json!({"principal": AGENT.0, "secret": AGENT.1}).to_string(),
    );
    let mut cluster = Cluster::master(&[
        "--credentials",
        &credentials,
        "--authenticate-frameworks",
        "--authenticate-agents",
        "--authenticate-http-readwrite",
    ])
    .await;
    let master = cluster.master_addr.clone();

    // An anonymous operator call and a wrong secret: 401 with the challenges to answer.
    let anonymous = post_as(&master, "/api/v1", None, &json!({"type": "GET_AGENTS"})).await;
    assert_eq!(anonymous.status().as_u16(), 401);
    let challenges: Vec<_> = anonymous
        .headers()
        .get_all("WWW-Authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic realm=")),
        "{challenges:?}"
    );
    let wrong = post_as(
        &master,
        "/api/v1",
        Some((OPS.0, "guess")),
        &json!({"type": "GET_AGENTS"}),
    )
    .await;
    assert_eq!(wrong.status().as_u16(), 401);
    let ops = post_as(
        &master,
        "/api/v1",
        Some(OPS),
        &json!({"type": "GET_AGENTS"}),
    )
    .await;
    assert_eq!(ops.status().as_u16(), 200);
    // Liveness stays open; an anonymous framework may not subscribe.
    let health = corral_e2e::http_get(format!("http://{master}/health")).await;
    assert!(health.is_ok_and(|r| r.status().is_success()));
    let subscribe = json!({"type": "SUBSCRIBE",
        "subscribe": {"framework_info": framework_info("anonymous", json!({}))}});
    let refused = post_as(&master, "/api/v1/scheduler", None, &subscribe).await;
    assert_eq!(refused.status().as_u16(), 401);

    // An agent without a credential is refused; one with it registers.
    let stranger = Process::start(
        "stranger-agent",
        &agent_args(&master, cluster.dir.path(), "stranger", &[]),
        cluster.dir.path(),
    );
    let agent = Process::start(
        "agent",
        &agent_args(
            &master,
            cluster.dir.path(),
            "agent",
            &["--credential", &agent_credential],
        ),
        cluster.dir.path(),
    );
    let agent_id = eventually(30, "the credentialed agent to register", || {
        let master = master.clone();
        async move { active_agents(&master).await.into_iter().next() }
    })
    .await;
    // The stranger has tried and been refused (not merely not tried yet).
    stranger
        .wait_for_log("the master refused the subscription", 30)
        .await;
    assert_eq!(
        active_agents(&master).await.len(),
        1,
        "only the agent with a credential registers\n{}",
        stranger.log_text()
    );
    drop(stranger);

    // Another principal may not take the agent's id, nor speak for it.
    let forged = json!({"agent_id": {"value": agent_id}, "version": "1",
        "info": {"hostname": "evil", "resources": []}});
    let answer = post_as(
        &master,
        "/internal/v1/agent/subscribe",
        Some(OTHER),
        &forged,
    )
    .await;
    assert_eq!(answer.status().as_u16(), 403);
    let answer = post_as(&master, "/internal/v1/agent/subscribe", None, &forged).await;
    assert_eq!(answer.status().as_u16(), 401);
    let update = json!({"agent_id": {"value": agent_id}, "framework_id": {"value": "f"},
        "status": {"task_id": {"value": "t"}, "state": "TASK_FINISHED"}});
    let answer = post_as(&master, "/internal/v1/agent/update", Some(OTHER), &update).await;
    assert_eq!(answer.status().as_u16(), 403);
    assert_eq!(
        active_agents(&master).await.len(),
        1,
        "the real agent stays"
    );

    // pymesos with a principal and secret runs tasks unchanged.
    let script =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/pymesos_framework.py");
    let out = tokio::process::Command::new(python())
        .arg(&script)
        .args([master.as_str(), "3", SCHEDULER.0, SCHEDULER.1])
        .output()
        .await
        .expect("run pymesos");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("all 3 tasks finished"),
        "pymesos with a principal\nstdout:\n{stdout}\nstderr:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        cluster.logs()
    );

    // A framework id belongs to its principal: another one resubscribing with it is refused
    // and the real framework keeps its stream.
    let mut owner = Framework::subscribe_as(
        &master,
        framework_info("owned", json!({"failover_timeout": 60.0})),
        Some(SCHEDULER),
    )
    .await;
    let takeover = json!({"type": "SUBSCRIBE", "framework_id": {"value": owner.id},
        "subscribe": {"framework_info": framework_info("owned",
            json!({"id": {"value": owner.id}}))}});
    let answer = post_as(&master, "/api/v1/scheduler", Some(OTHER), &takeover).await;
    let (status, event) = first_event(answer).await;
    assert_eq!(status, 200);
    assert_eq!(event["type"], "ERROR", "{event}");
    assert_eq!(
        event["error"]["message"],
        "Changing framework's principal is not allowed."
    );
    let (status, _) = owner.call(json!({"type": "REVIVE"})).await;
    assert_eq!(status, 202, "the owner's stream still works");
    assert!(
        owner
            .next_event(1)
            .await
            .is_none_or(|e| e["type"] != "ERROR"),
        "the owner was not cut off"
    );
    // It would hold every offer it gets: gone before the services component needs them.
    let (status, _) = owner.call(json!({"type": "TEARDOWN"})).await;
    assert_eq!(status, 202);
    drop(owner);
    // A FrameworkInfo claiming another principal than the authenticated one is refused.
    let claim = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info":
        framework_info("claim", json!({"principal": OTHER.0}))}});
    let answer = post_as(&master, "/api/v1/scheduler", Some(SCHEDULER), &claim).await;
    assert_eq!(answer.status().as_u16(), 400);
    let text = answer.text().await.unwrap_or_default();
    assert!(text.contains("does not match principal"), "{text}");

    // The services component authenticates as a principal and its framework is bound to it.
    let scheduler_credential = write(
        files.path(),
        "services.txt",
        &format!("{} {}\n", SCHEDULER.0, SCHEDULER.1),
    );
    let services = cluster
        .start_services(&["--credential", &scheduler_credential])
        .await;
    let app = json!({"id": "/authed", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16});
    let answer = services.call(Method::POST, "/v2/apps", Some(&app)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    services.settled("/authed", 1, None).await;
    let frameworks = post_as(
        &master,
        "/api/v1",
        Some(OPS),
        &json!({"type": "GET_FRAMEWORKS"}),
    )
    .await;
    let frameworks: Value = frameworks.json().await.unwrap_or_default();
    let marathon = frameworks["get_frameworks"]["frameworks"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|f| f["framework_info"]["name"] == "marathon")
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        marathon["framework_info"]["principal"], SCHEDULER.0,
        "{frameworks}"
    );
    drop(services);

    // No secret is written to any log.
    drop(agent);
    cluster.master.kill9();
    let logs = std::fs::read_dir(cluster.dir.path())
        .expect("the logs")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(logs.contains("refused"), "the refusals are logged:\n{logs}");
    // The audit log names who called what and the outcome, refusals included.
    let audit: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("corral::audit"))
        .collect();
    let has = |needles: &[&str]| audit.iter().any(|l| needles.iter().all(|n| l.contains(n)));
    assert!(
        has(&[
            "principal=\"ops\"",
            "path=\"/api/v1\"",
            "status=200",
            "peer=\"127.0.0.1:"
        ]),
        "{audit:#?}"
    );
    assert!(
        has(&[
            "<anonymous>",
            "status=401",
            "reason=\"wrong principal or secret\""
        ]),
        "{audit:#?}"
    );
    assert!(has(&["principal=\"other\"", "status=403"]), "{audit:#?}");
    for (_, secret) in [AGENT, SCHEDULER, OTHER, OPS] {
        assert!(!logs.contains(secret), "a secret is in the logs");
    }
}
