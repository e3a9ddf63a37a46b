//! `corral services` (Marathon's API) as a real process beside a [`Cluster`], and a small
//! HTTP client for it.

use reqwest::Method;
use serde_json::Value;

use crate::cluster::{Cluster, Process, free_port};

/// A running `corral services` with its state in the cluster's temp dir.
pub struct Services {
    pub process: Process,
    /// `127.0.0.1:PORT` of its API.
    pub addr: String,
    http: reqwest::Client,
}

/// One answer: status, JSON body (null when not JSON), headers.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Cluster {
    /// Starts `corral services` against this cluster's master, its state in a redb file of
    /// the cluster's dir, plus `extra` flags; waits until `/ping` answers.
    pub async fn start_services(&self, extra: &[&str]) -> Services {
        let state = self.dir.path().join("services").join("state.redb");
        let state = format!("file://{}", state.display());
        self.start_services_named("services", &state, extra).await
    }

    /// Starts a `corral services` whose log is `NAME.log`, its state at `state` (`--state`);
    /// waits until `/ping` answers.
    pub async fn start_services_named(&self, name: &str, state: &str, extra: &[&str]) -> Services {
        Services::start(name, &self.master_addr, state, extra, self.dir.path()).await
    }
}

impl Services {
    /// Starts a `corral services` against `master` (an address, a list of masters or
    /// `etcd://...`), its state at `state`, its log `NAME.log` in `log_dir`; waits until
    /// `/ping` answers.
    pub async fn start(
        name: &str,
        master: &str,
        state: &str,
        extra: &[&str],
        log_dir: &std::path::Path,
    ) -> Services {
        let port = free_port();
        let mut args: Vec<String> = vec![
            "services".into(),
            "--master".into(),
            master.to_string(),
            "--ip".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--state".into(),
            state.to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let services = Services {
            process: Process::start(name, &args, log_dir),
            addr: format!("127.0.0.1:{port}"),
            http: crate::http_client(),
        };
        services.wait_ready().await;
        services
    }
}

impl Services {
    /// Waits until `/ping` answers `pong`.
    pub async fn wait_ready(&self) {
        let url = format!("http://{}/ping", self.addr);
        crate::eventually(60, &format!("{url} to answer"), || {
            let url = url.clone();
            async move {
                let text = crate::http_get(&url).await.ok()?.text().await.ok()?;
                (text == "pong").then_some(())
            }
        })
        .await;
    }

    /// Kills the process (SIGKILL, as a crash) and starts it again with the same state.
    pub async fn restart(&mut self) {
        self.process.restart();
        self.wait_ready().await;
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let mut request = self
            .http
            .request(method, format!("http://{}{path}", self.addr));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the services API answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }
}

impl Services {
    /// The app's tasks as `GET /v2/apps/{id}/tasks` shows them.
    pub async fn tasks_of(&self, app: &str) -> Vec<Value> {
        self.get(&format!("/v2/apps{app}/tasks")).await.body["tasks"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The deployments in progress.
    pub async fn deployments(&self) -> Vec<Value> {
        self.get("/v2/deployments")
            .await
            .body
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `app` runs exactly `n` tasks, each TASK_RUNNING, of `version` (any when
    /// `None`), and no deployment is left; returns the tasks.
    pub async fn settled(&self, app: &str, n: usize, version: Option<&str>) -> Vec<Value> {
        crate::eventually(90, &format!("{n} running tasks of {app}"), || async move {
            let tasks = self.tasks_of(app).await;
            let ok = tasks.len() == n
                && tasks.iter().all(|t| {
                    t["state"] == "TASK_RUNNING" && version.is_none_or(|v| t["version"] == v)
                })
                && self.deployments().await.is_empty();
            ok.then_some(tasks)
        })
        .await
    }
}

/// The ids of tasks as the API shows them.
pub fn task_ids(tasks: &[Value]) -> std::collections::BTreeSet<String> {
    tasks
        .iter()
        .filter_map(|t| t["id"].as_str().map(String::from))
        .collect()
}

/// A subscription to `/v2/events`: every event received so far, in order, as (type, data).
pub struct EventStream {
    pub received: std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl EventStream {
    /// The events so far.
    pub fn events(&self) -> Vec<(String, Value)> {
        self.received.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// The events of one type so far.
    pub fn of_type(&self, kind: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|(t, _)| t == kind)
            .map(|(_, v)| v)
            .collect()
    }
}

impl Services {
    /// Subscribes to `/v2/events` (with `query`, e.g. `event_type=...`).
    pub async fn subscribe(&self, query: &str) -> EventStream {
        use futures::StreamExt;
        let response = self
            .http
            .get(format!("http://{}/v2/events{query}", self.addr))
            .header("Accept", "text/event-stream")
            .send()
            .await
            .expect("the event stream answers");
        assert_eq!(response.status().as_u16(), 200);
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = received.clone();
        let reader = tokio::spawn(async move {
            let mut body = response.bytes_stream();
            let mut pending = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                pending.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = pending.find("\n\n") {
                    let frame: String = pending.drain(..end + 2).collect();
                    let mut kind = String::new();
                    let mut data = String::new();
                    for line in frame.lines() {
                        if let Some(k) = line.strip_prefix("event:") {
                            kind = k.trim().to_string();
                        } else if let Some(d) = line.strip_prefix("data:") {
                            data.push_str(d.trim());
                        }
                    }
                    if let (false, Ok(value), Ok(mut events)) =
                        (kind.is_empty(), serde_json::from_str(&data), sink.lock())
                    {
                        events.push((kind, value));
                    }
                }
            }
        });
        EventStream { received, reader }
    }
}

impl Services {
    /// Deletes `app` and waits until none of its tasks is left (so no process of it outlives
    /// the test: the agents' tasks survive the agents).
    pub async fn remove(&self, app: &str) {
        let answer = self
            .call(Method::DELETE, &format!("/v2/apps{app}?force=true"), None)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        // The stop deployment ends when the last task has.
        crate::eventually(60, &format!("{app}'s tasks to end"), || async move {
            let busy = self.deployments().await.iter().any(|d| {
                d["affectedApps"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|id| id == app))
            });
            (!busy).then_some(())
        })
        .await;
    }
}
