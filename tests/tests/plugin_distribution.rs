//! Cluster-wide plugins (issue 6) on real clusters: a hook, an executor, an isolator and a
//! damaged plugin activated on the master reach both agents (etcd state): tasks launched
//! afterwards get the hook, a task started before keeps running without it, deactivation
//! takes it off new tasks, an agent that was down during the activation catches up when it
//! returns, a download that does not match its sha256 is refused and `plugin list` says where
//! and why, and the agents' call counters reach `plugin list`. A master requiring signatures
//! refuses unsigned installs; an agent requiring them checks the signature again.

use std::collections::HashMap;
use std::path::Path;

use corral_e2e::{Cluster, EtcdCluster, Framework, eventually, framework_info, operator, task};
use serde_json::{Value, json};

const RESOURCES: &str = "cpus:2;mem:1024";

fn manifest(dir: &Path, name: &str, kind: &str, extra: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "name = \"{name}\"\nkind = \"{kind}\"\nversion = \"1.0.0\"\nwit = \"0.1.0\"\n{extra}"
        ),
    )
    .expect("write manifest");
    path.display().to_string()
}

/// Installs `wasm` with `manifest`.
fn install(cluster: &Cluster, wasm: &Path, manifest: &str) {
    let wasm = wasm.display().to_string();
    let (code, out, err) = cluster.cli(&[
        "plugin",
        "install",
        &wasm,
        "--manifest",
        manifest,
        "--accept-capabilities",
    ]);
    assert_eq!(code, 0, "install {wasm}: {out}{err}");
}

/// The plugins API's LIST answer.
async fn list(master: &str) -> Value {
    corral_e2e::http_client()
        .post(format!("http://{master}/api/corral/v1/plugins"))
        .json(&json!({"type": "LIST"}))
        .send()
        .await
        .expect("LIST")
        .json()
        .await
        .expect("LIST json")
}

/// One plugin of LIST by name.
async fn listed(master: &str, name: &str) -> Value {
    let all = list(master).await;
    all["list"]["plugins"]
        .as_array()
        .and_then(|ps| {
            ps.iter()
                .find(|p| p["name"] == name && p["builtin"] == false)
        })
        .cloned()
        .unwrap_or(Value::Null)
}

/// Waits until `name` runs on `loaded` of `of` connected agents.
async fn wait_loaded(master: &str, name: &str, loaded: u64, of: u64) -> Value {
    eventually(30, &format!("{name} on {loaded}/{of} agents"), || async {
        let p = listed(master, name).await;
        let agents = &p["agents"];
        (agents["loaded"] == loaded && agents["of"] == of).then_some(p)
    })
    .await
}

/// Agent id by agent process index (matched on the agent's port).
async fn agent_ids(cluster: &Cluster) -> Vec<String> {
    let agents = operator(&cluster.master_addr, "GET_AGENTS")
        .await
        .expect("GET_AGENTS");
    let listed = agents["get_agents"]["agents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    cluster
        .agent_addrs
        .iter()
        .map(|addr| {
            let port: u64 = addr
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("port");
            listed
                .iter()
                .find(|a| a["agent_info"]["port"] == port)
                .and_then(|a| a["agent_info"]["id"]["value"].as_str())
                .unwrap_or_else(|| panic!("agent on {addr} is listed: {agents}"))
                .to_string()
        })
        .collect()
}

/// A framework that keeps the offers it hears while it waits for updates (the harness's
/// waits drop them, and an offer not answered is not sent again).
struct Scheduler {
    fw: Framework,
    offers: HashMap<String, Value>,
    /// Every update heard, by (task, state).
    updates: HashMap<(String, String), Value>,
}

impl Scheduler {
    async fn handle(&mut self, secs: u64) -> Option<Value> {
        let event = self.fw.next_event(secs).await?;
        if event["type"] == "OFFERS" {
            for offer in event["offers"]["offers"].as_array().into_iter().flatten() {
                let agent = offer["agent_id"]["value"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                self.offers.insert(agent, offer.clone());
            }
        } else if event["type"] == "RESCIND" {
            let id = &event["rescind"]["offer_id"];
            self.offers.retain(|_, offer| &offer["id"] != id);
        } else if event["type"] == "UPDATE" {
            let status = &event["update"]["status"];
            self.fw.ack(status).await;
            let key = (
                status["task_id"]["value"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                status["state"].as_str().unwrap_or("").to_string(),
            );
            assert_ne!(key.1, "TASK_FAILED", "{status}");
            self.updates.insert(key, status.clone());
        }
        Some(event)
    }

    /// Launches `command` as `task_id` on `agent` with its next offer.
    async fn launch(&mut self, agent: &str, task_id: &str, command: &str) {
        // What is already queued first: a rescinded offer must not be used.
        while self.handle(0).await.is_some() {}
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while !self.offers.contains_key(agent) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no offer from {agent}"
            );
            self.handle(1).await;
        }
        let offer = self.offers.remove(agent).expect("offer");
        let task = task(task_id, &offer, command, 0.1, 32.0);
        assert_eq!(self.fw.launch(&offer, vec![task], 0.0).await, 202);
    }

    /// Waits for `state` of `task_id`; returns its status.
    async fn state(&mut self, task_id: &str, state: &str) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        let key = (task_id.to_string(), state.to_string());
        loop {
            if let Some(status) = self.updates.get(&key) {
                return status.clone();
            }
            let seen: Vec<_> = self.updates.keys().collect();
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {state} for {task_id}; updates so far: {seen:?}"
            );
            self.handle(1).await;
        }
    }
}

fn label<'a>(status: &'a Value, key: &str) -> Option<&'a str> {
    status["labels"]["labels"]
        .as_array()?
        .iter()
        .find(|l| l["key"] == key)?["value"]
        .as_str()
}

/// Base64 for the etcd JSON gateway.
fn b64(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activated_plugins_reach_every_agent_and_reload_without_a_restart() {
    let etcd = EtcdCluster::start(1);
    let mut cluster = Cluster::master_with_state(&etcd.state_url(), &[]).await;
    for _ in 0..2 {
        cluster
            .add_agent(RESOURCES, &["--isolation", "posix"])
            .await;
    }
    let master = cluster.master_addr.clone();
    let ids = agent_ids(&cluster).await;
    let fw = Framework::subscribe(&master, framework_info("distrib", json!({}))).await;
    let mut fw = Scheduler {
        fw,
        offers: HashMap::new(),
        updates: HashMap::new(),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let labels_manifest = manifest(dir.path(), "labels", "hook", "");
    install(
        &cluster,
        &corral_e2e::plugin_wasm("labels"),
        &labels_manifest,
    );

    // A task started before the activation, on agent 0.
    fw.launch(&ids[0], "before", "sleep 60").await;
    let running = fw.state("before", "TASK_RUNNING").await;
    assert_eq!(label(&running, "via"), None);

    // Agent 1 is down while the hook is activated.
    cluster.agents[1].kill9();
    let config = json!({"status_labels": {"via": "distributed"}}).to_string();
    let (code, out, err) = cluster.cli(&["plugin", "activate", "labels", "--config", &config]);
    assert_eq!(code, 0, "{out}{err}");
    eventually(30, "labels loaded on agent 0", || async {
        (listed(&master, "labels").await["agents"]["loaded"] == 1).then_some(())
    })
    .await;
    cluster.agents[1].restart();
    let view = wait_loaded(&master, "labels", 2, 2).await;
    assert_eq!(view["sha256"].as_str().map(str::len), Some(64), "{view}");
    let (_, table, _) = cluster.cli(&["plugin", "list"]);
    let row = table
        .lines()
        .find(|l| l.starts_with("labels"))
        .expect("labels row");
    assert!(row.contains("agents 2/2"), "{table}");

    // Tasks launched now, one per agent, get the hook's labels.
    for (i, id) in ids.iter().enumerate() {
        fw.launch(id, &format!("after-{i}"), "true").await;
    }
    for i in 0..ids.len() {
        let status = fw.state(&format!("after-{i}"), "TASK_FINISHED").await;
        assert_eq!(label(&status, "via"), Some("distributed"), "{status}");
    }

    // The task started before keeps its launch-time hooks: its updates stay unlabelled.
    let (code, _) = fw
        .fw
        .call(
            json!({"type": "KILL", "kill": {"task_id": {"value": "before"},
                     "agent_id": {"value": ids[0]}}}),
        )
        .await;
    assert_eq!(code, 202);
    let killed = fw.state("before", "TASK_KILLED").await;
    assert_eq!(label(&killed, "via"), None, "{killed}");

    // Deactivated: new tasks no longer get it.
    let (code, _, err) = cluster.cli(&["plugin", "deactivate", "labels"]);
    assert_eq!(code, 0, "{err}");
    eventually(30, "labels unloaded on both agents", || async {
        let p = listed(&master, "labels").await;
        (p["agents"].is_null() || p["agents"]["loaded"] == 0).then_some(())
    })
    .await;
    fw.launch(&ids[1], "plain", "true").await;
    let plain = fw.state("plain", "TASK_FINISHED").await;
    assert_eq!(label(&plain, "via"), None, "{plain}");

    // An executor reaches the agents too, runs new tasks, and its calls are counted on the
    // agents and summed in the list.
    let shell_manifest = manifest(
        dir.path(),
        "shell",
        "executor",
        "\n[capabilities]\ntask_environment = true\n",
    );
    install(
        &cluster,
        &corral_e2e::plugin_wasm("command"),
        &shell_manifest,
    );
    assert_eq!(cluster.cli(&["plugin", "activate", "shell"]).0, 0);
    wait_loaded(&master, "shell", 2, 2).await;
    fw.launch(&ids[0], "shelled", "true").await;
    fw.state("shelled", "TASK_FINISHED").await;
    eventually(30, "the agents' executor calls in the list", || async {
        let calls = listed(&master, "shell").await["stats"]["calls"]
            .as_u64()
            .unwrap_or(0);
        (calls > 0).then_some(())
    })
    .await;

    // An isolator too: activated next to none on the command line, asked for a launch plan
    // for each new task.
    let gpu_manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/gpu/manifest.toml")
        .display()
        .to_string();
    install(&cluster, &corral_e2e::plugin_wasm("gpu"), &gpu_manifest);
    assert_eq!(cluster.cli(&["plugin", "activate", "gpu"]).0, 0);
    wait_loaded(&master, "gpu", 2, 2).await;
    fw.launch(&ids[1], "isolated", "true").await;
    fw.state("isolated", "TASK_FINISHED").await;
    eventually(30, "the isolator's prepare in the list", || async {
        let calls = listed(&master, "gpu").await["stats"]["calls"]
            .as_u64()
            .unwrap_or(0);
        // One `init` per agent, then at least the task's `prepare`.
        (calls >= 3).then_some(())
    })
    .await;

    // A plugin whose stored bytes no longer match its sha256: refused by both agents,
    // reported in the list; the hook activated before stays.
    let admission_manifest = manifest(dir.path(), "admission", "hook", "");
    install(
        &cluster,
        &corral_e2e::plugin_wasm("admission"),
        &admission_manifest,
    );
    let sha = listed(&master, "admission").await["sha256"]
        .as_str()
        .expect("sha")
        .to_string();
    let key = format!("/corral/plugin-chunks/{sha}/0");
    let endpoint = etcd.state_url().trim_start_matches("etcd://").to_string();
    let put = corral_e2e::http_client()
        .post(format!("http://{endpoint}/v3/kv/put"))
        .json(&json!({"key": b64(key.as_bytes()), "value": b64(b"not the plugin")}))
        .send()
        .await
        .expect("etcd put");
    assert!(put.status().is_success(), "{put:?}");
    assert_eq!(cluster.cli(&["plugin", "activate", "admission"]).0, 0);
    let refused = eventually(30, "both agents to refuse the damaged plugin", || async {
        let p = listed(&master, "admission").await;
        (p["agents"]["refused"].as_array().map(Vec::len) == Some(2)).then_some(p)
    })
    .await;
    let reason = refused["agents"]["refused"][0]["reason"]
        .as_str()
        .unwrap_or("");
    assert!(
        reason.contains("damaged") || reason.contains("hash"),
        "{refused}"
    );
    let (_, table, _) = cluster.cli(&["plugin", "list"]);
    assert!(table.contains("refused by agent"), "{table}");
    assert_eq!(
        listed(&master, "shell").await["agents"]["loaded"],
        2,
        "the executor stays"
    );
}

/// Runs `corral <args>` without a master; answers (exit code, output).
fn corral(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(corral_e2e::corral_bin())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run corral");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_requiring_signatures_refuses_unsigned_installs_and_agents_check_them_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("publisher.key");
    let (code, text) = corral(&["plugin", "keygen", "--out", &key.display().to_string()]);
    assert_eq!(code, 0, "{text}");
    let public = dir.path().join("publisher.key.pub").display().to_string();
    let wasm = dir.path().join("labels.wasm");
    std::fs::copy(corral_e2e::plugin_wasm("labels"), &wasm).expect("copy plugin");
    let manifest_path = manifest(dir.path(), "labels", "hook", "");
    let wasm_arg = wasm.display().to_string();
    let trust = ["--trusted-keys", public.as_str(), "--require-signed"];
    let mut cluster = Cluster::master(&trust).await;

    // Unsigned: refused with the reason, nothing stored.
    let (code, out, err) = cluster.cli(&["plugin", "install", &wasm_arg, "--accept-capabilities"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("unsigned") && err.contains("--require-signed"),
        "{err}"
    );
    assert!(listed(&cluster.master_addr, "labels").await.is_null());

    // Signed by a trusted key (over the wasm and the manifest beside it): stored, and an
    // agent that also requires signatures checks it again before loading it.
    let key = key.display().to_string();
    let (code, text) = corral(&[
        "plugin",
        "sign",
        &wasm_arg,
        "--key",
        &key,
        "--manifest",
        &manifest_path,
    ]);
    assert_eq!(code, 0, "{text}");
    let (code, out, err) = cluster.cli(&["plugin", "install", &wasm_arg, "--accept-capabilities"]);
    assert_eq!(code, 0, "{out}{err}");
    cluster
        .add_agent(
            RESOURCES,
            &[
                "--isolation",
                "posix",
                "--trusted-keys",
                &public,
                "--require-signed",
            ],
        )
        .await;
    assert_eq!(cluster.cli(&["plugin", "activate", "labels"]).0, 0);
    wait_loaded(&cluster.master_addr, "labels", 1, 1).await;
    let agent_log = cluster.agents[0].log_text();
    assert!(
        agent_log.contains("plugin signature verified"),
        "{agent_log}"
    );
}
