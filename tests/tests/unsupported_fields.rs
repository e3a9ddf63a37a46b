//! What Corral cannot honour is refused, never silently ignored (issue 15): a task that asks
//! for a container image ends TASK_ERROR, and nothing of it runs on the agent.

use corral_e2e::{Cluster, Framework, framework_info, task};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_asking_for_an_image_is_task_error_and_never_runs() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:2;mem:2048;disk:1024", &[]).await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("images", json!({}))).await;
    let marks = tempfile::tempdir().expect("tempdir");
    let mark = |name: &str| marks.path().join(name);

    let offer = fw.offers(10).await.remove(0);
    let write = |name: &str| format!("cat /etc/os-release > {}", mark(name).display());
    // ContainerInfo shapes from apache/mesos include/mesos/v1/mesos.proto.
    let mut docker = task("docker", &offer, &write("docker"), 0.1, 32.0);
    docker["container"] = json!({"type": "DOCKER", "docker": {"image": "alpine:3.19"}});
    let mut mesos_image = task("mesos-image", &offer, &write("mesos-image"), 0.1, 32.0);
    mesos_image["container"] = json!({
        "type": "MESOS",
        "mesos": {"image": {"type": "DOCKER", "docker": {"name": "alpine:3.19"}}}
    });
    // A plain task in the same LAUNCH still runs: the refusal is per task.
    let plain = task("plain", &offer, &write("plain"), 0.1, 32.0);
    assert_eq!(
        fw.launch(&offer, vec![docker, mesos_image, plain], 5.0)
            .await,
        202
    );

    let states = fw
        .task_states(
            &[
                ("docker", "TASK_ERROR"),
                ("mesos-image", "TASK_ERROR"),
                ("plain", "TASK_FINISHED"),
            ],
            20,
        )
        .await;
    for id in ["docker", "mesos-image"] {
        let status = &states[id];
        assert_eq!(status["reason"], "REASON_TASK_INVALID", "{status}");
        assert_eq!(status["source"], "SOURCE_MASTER", "{status}");
        let message = status["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("container images are not supported yet")
                && message.contains("alpine:3.19"),
            "{status}"
        );
        assert!(!mark(id).exists(), "{id} must not have run");
    }
    assert!(mark("plain").exists(), "the plain task ran");
}
