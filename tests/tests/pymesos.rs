//! An existing Mesos v1 client library, pymesos, runs tasks on Corral unchanged.
//! scripts/setup.sh installs it in a venv ($CORRAL_PY_VENV, default ~/.cache/corral/pyvenv).

use std::path::PathBuf;

use corral_e2e::{Cluster, python};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymesos_framework_runs_tasks_unchanged() {
    let cluster = Cluster::dev("cpus:2;mem:2048;disk:1024").await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/pymesos_framework.py");
    let out = tokio::process::Command::new(python())
        .arg(&script)
        .arg(&cluster.master_addr)
        .arg("5")
        .output()
        .await
        .expect("run pymesos framework");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pymesos framework failed\nstdout:\n{stdout}\nstderr:\n{stderr}\n{}",
        cluster.logs()
    );
    assert!(stdout.contains("all 5 tasks finished"), "{stdout}");
}
