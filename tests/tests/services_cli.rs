//! `corral app` against a real services process: `deploy FILE.json` follows the deployment
//! and exits 0 once the app runs; `scale`, `restart`, `list`, `tasks`, `show --json`,
//! `rollback` and `remove` do what they say; a definition the API refuses exits non-zero with
//! the API's reason; a deployment rolled back while `deploy` follows it exits non-zero.

use std::process::{Command, Output, Stdio};

use corral_e2e::services::Services;
use corral_e2e::{Cluster, corral_bin, eventually};
use reqwest::Method;
use serde_json::{Value, json};

async fn app(services: &Services, args: &[&str]) -> Output {
    let mut command = Command::new(corral_bin());
    command
        .arg("app")
        .args(args)
        .env("CORRAL_MARATHON", format!("http://{}", services.addr))
        .stdin(Stdio::null());
    tokio::task::spawn_blocking(move || command.output().expect("corral app runs"))
        .await
        .expect("the command's thread")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corral_app_deploys_scales_restarts_rolls_back_and_removes() {
    let mut cluster = Cluster::master(&[]).await;
    cluster
        .add_agent("cpus:2;mem:2048;disk:1024;ports:[33800-33899]", &[])
        .await;
    let services = cluster.start_services(&[]).await;
    let file = cluster.dir.path().join("web.json");
    std::fs::write(
        &file,
        json!({"id": "/web", "cmd": "sleep 1000", "instances": 2, "cpus": 0.05, "mem": 32})
            .to_string(),
    )
    .expect("writes the definition");
    let deployed = app(&services, &["deploy", file.to_str().expect("a path")]).await;
    assert!(
        deployed.status.success(),
        "{}{}",
        stdout(&deployed),
        stderr(&deployed)
    );
    let out = stdout(&deployed);
    assert!(
        out.lines()
            .any(|l| l.starts_with("step ") && l.contains("desired 2")),
        "{out}"
    );
    assert!(out.contains("/web: deployed version"), "{out}");
    assert!(out.trim_end().ends_with("2 of 2 running"), "{out}");
    assert_eq!(services.tasks_of("/web").await.len(), 2);

    let scaled = app(&services, &["scale", "/web", "3"]).await;
    assert!(scaled.status.success(), "{}", stderr(&scaled));
    assert!(stdout(&scaled).trim_end().ends_with("3 of 3 running"));
    let listed = stdout(&app(&services, &["list"]).await);
    assert!(listed.starts_with("ID"), "{listed}");
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("/web  ") && l.contains("3")),
        "{listed}"
    );
    let tasks = stdout(&app(&services, &["tasks", "web"]).await);
    assert_eq!(
        tasks.lines().filter(|l| l.contains("TASK_RUNNING")).count(),
        3,
        "{tasks}"
    );

    let before: Value =
        serde_json::from_str(&stdout(&app(&services, &["show", "/web", "--json"]).await))
            .expect("show --json is JSON");
    let restarted = app(&services, &["restart", "/web"]).await;
    assert!(restarted.status.success(), "{}", stderr(&restarted));
    let after = services.get("/v2/apps/web").await.body;
    assert_ne!(after["app"]["version"], before["app"]["version"]);

    // Back to 2 instances: the version before the restart's is the scale to 3, the one
    // before that has 2.
    let versions = services.get("/v2/apps/web/versions").await.body;
    let two = versions["versions"][2]
        .as_str()
        .expect("a third version")
        .to_string();
    let rolled = app(&services, &["rollback", "/web", "--version", &two]).await;
    assert!(rolled.status.success(), "{}", stderr(&rolled));
    assert!(
        stdout(&rolled).trim_end().ends_with("2 of 2 running"),
        "{}",
        stdout(&rolled)
    );

    let removed = app(&services, &["remove", "/web"]).await;
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert_eq!(
        stdout(&removed).trim_end().lines().last(),
        Some("/web: removed")
    );
    assert_eq!(services.get("/v2/apps/web").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corral_app_deploy_fails_with_the_reason() {
    let mut cluster = Cluster::master(&[]).await;
    cluster
        .add_agent("cpus:1;mem:1024;disk:1024;ports:[33900-33999]", &[])
        .await;
    let services = cluster.start_services(&[]).await;
    let refused = app(
        &services,
        &["deploy", "--id", "/bad", "--cmd", "sleep 1", "--cpus=-1"],
    )
    .await;
    assert!(!refused.status.success());
    let reason = stderr(&refused);
    assert!(
        reason.contains("422") && reason.contains("/cpus"),
        "{reason}"
    );

    // An app no agent can hold never completes; rolling its deployment back ends `deploy`.
    let follower = {
        let mut command = Command::new(corral_bin());
        command
            .args([
                "app",
                "deploy",
                "--id",
                "/huge",
                "--cmd",
                "sleep 1000",
                "--mem",
                "100000",
            ])
            .env("CORRAL_MARATHON", format!("http://{}", services.addr))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.spawn().expect("corral app deploy starts")
    };
    let deployment = eventually(30, "the huge app's deployment", || {
        let services = &services;
        async move {
            services
                .deployments()
                .await
                .first()
                .and_then(|d| d["id"].as_str().map(String::from))
        }
    })
    .await;
    let cancelled = services
        .call(
            Method::DELETE,
            &format!("/v2/deployments/{deployment}"),
            None,
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let output = tokio::task::spawn_blocking(move || follower.wait_with_output().expect("exits"))
        .await
        .expect("the command's thread");
    assert!(!output.status.success());
    let reason = stderr(&output);
    assert!(reason.contains("rolled back"), "{reason}");
}
