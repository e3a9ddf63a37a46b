//! The agent's side of cluster-wide plugins against the fake master: it fetches an activated
//! hook by sha256, verifies it and runs it for new tasks; a version whose download does not
//! match its hash is refused and reported, and the version before it stays in use.

use std::time::Duration;

use super::fake_master::FakeMaster;
use super::support::*;
use corral_api::agent_protocol::{ActivePlugin, AgentCommand};
use corral_api::v1::{TaskState, TaskStatus};
use corral_builtin_plugins::builtin;
use corral_plugin_host::store::sha256_hex;

const RETRY: Duration = Duration::from_secs(1);

fn hook(sha: &str, tier: &str) -> ActivePlugin {
    ActivePlugin {
        sha256: sha.to_string(),
        name: "tags".into(),
        kind: "hook".into(),
        version: "1.0.0".into(),
        config: serde_json::json!({"status_labels": {"tier": tier}}).to_string(),
        manifest: "name = \"tags\"\nkind = \"hook\"\nversion = \"1.0.0\"\nwit = \"0.1.0\"\n".into(),
        signed: None,
    }
}

fn tier(status: &TaskStatus) -> Option<String> {
    status
        .labels
        .as_ref()?
        .labels
        .iter()
        .find(|l| l.key == "tier")?
        .value
        .clone()
}

/// Runs `id` to its end and answers the tier label of its final status.
async fn finished_tier(master: &FakeMaster, id: &str) -> Option<String> {
    master.send(shell_task(id, id, "true", None));
    master
        .wait_until("the task to finish", |m| {
            m.states_of(id).contains(&TaskState::TaskFinished)
        })
        .await;
    let statuses = master.statuses_of(id);
    tier(statuses.last().expect("a status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mismatched_download_is_refused_and_reported_and_the_old_version_stays() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    assert_eq!(finished_tier(&master, "plain").await, None);

    let labels = builtin("labels").expect("labels");
    let v1 = sha256_hex(labels);
    master.serve_plugin(&v1, labels);
    master.send(AgentCommand::Plugins {
        active: vec![hook(&v1, "gold")],
    });
    master
        .wait_until("v1 reported loaded", |m| {
            m.plugin_reports()
                .iter()
                .any(|r| r.plugins.iter().any(|p| p.sha256 == v1 && p.loaded))
        })
        .await;
    let cached = work.path().join("plugins").join(&v1).join("tags.wasm");
    assert_eq!(std::fs::read(&cached).expect("cached"), labels);
    assert_eq!(
        finished_tier(&master, "gold").await.as_deref(),
        Some("gold")
    );

    // "v2": the master announces other bytes' hash, but what comes down is not them.
    let v2 = sha256_hex(b"some other plugin");
    master.serve_plugin(&v2, labels);
    master.send(AgentCommand::Plugins {
        active: vec![hook(&v2, "silver")],
    });
    master
        .wait_until("v2 reported refused", |m| {
            m.plugin_reports().iter().any(|r| {
                r.plugins.iter().any(|p| {
                    p.sha256 == v2
                        && !p.loaded
                        && p.error
                            .as_deref()
                            .is_some_and(|e| e.contains("hash mismatch"))
                })
            })
        })
        .await;
    assert_eq!(
        finished_tier(&master, "still-gold").await.as_deref(),
        Some("gold"),
        "the version before the refused one stays"
    );
    assert!(cached.exists(), "the kept version stays cached");
    assert!(
        !work.path().join("plugins").join(&v2).exists(),
        "nothing of the refused one"
    );

    // Deactivated: new tasks run without it.
    master.send(AgentCommand::Plugins { active: vec![] });
    master
        .wait_until("an empty report", |m| {
            m.plugin_reports()
                .last()
                .is_some_and(|r| r.plugins.is_empty())
        })
        .await;
    assert_eq!(finished_tier(&master, "none").await, None);
    assert!(!cached.exists(), "an unused cached plugin is removed");
    agent.shutdown().await;
}
