//! A raw Mesos v1 scheduler client: JSON values in and out, RecordIO decoded here, so the
//! tests check Corral's wire format rather than its own types.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub struct Framework {
    pub master: String,
    pub id: String,
    pub stream_id: String,
    pub subscribe_status: u16,
    events: mpsc::UnboundedReceiver<Value>,
    /// Statuses acknowledged by [`Framework::offers_keeping_updates`], for
    /// [`Framework::task_states`] to look at first.
    kept_updates: Vec<Value>,
    http: reqwest::Client,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Framework {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Minimal framework info: a name and the roles, plus anything in `extra` (merged).
pub fn framework_info(name: &str, extra: Value) -> Value {
    let mut info = json!({"user": "root", "name": name});
    if let (Some(obj), Some(more)) = (info.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    info
}

impl Framework {
    /// SUBSCRIBE and start reading the event stream. Panics unless the first event is
    /// SUBSCRIBED.
    pub async fn subscribe(master: &str, info: Value) -> Framework {
        Framework::subscribe_as(master, info, None).await
    }

    /// A framework named `name` whose tasks outlive its stream (a failover timeout of an
    /// hour): a test's loop can end and drop it without its tasks being freed for others.
    pub async fn subscribe_lasting(master: &str, name: &str) -> Framework {
        Framework::subscribe(
            master,
            framework_info(name, json!({"failover_timeout": 3600.0})),
        )
        .await
    }

    /// [`Framework::subscribe`] presenting `principal` and `secret` (HTTP Basic) on every
    /// request, as a Mesos client with a credential does.
    pub async fn subscribe_as(
        master: &str,
        info: Value,
        credential: Option<(&str, &str)>,
    ) -> Framework {
        let http = crate::calls::basic_client(credential);
        let mut body = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": info}});
        if let Some(id) = info.get("id") {
            body["framework_id"] = id.clone();
        }
        let resp = http
            .post(format!("http://{master}/api/v1/scheduler"))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .json(&body)
            .send()
            .await
            .expect("SUBSCRIBE request");
        let status = resp.status().as_u16();
        assert_eq!(status, 200, "SUBSCRIBE answered {status}");
        let stream_id = resp
            .headers()
            .get("Mesos-Stream-Id")
            .and_then(|v| v.to_str().ok())
            .expect("SUBSCRIBE response has a Mesos-Stream-Id header")
            .to_string();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut bytes = resp.bytes_stream();
            let mut buffer: Vec<u8> = Vec::new();
            while let Some(Ok(chunk)) = bytes.next().await {
                buffer.extend_from_slice(&chunk);
                while let Some(record) = take_record(&mut buffer) {
                    let event: Value =
                        serde_json::from_slice(&record).expect("each record is JSON");
                    if tx.send(event).is_err() {
                        return;
                    }
                }
            }
        });
        let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("SUBSCRIBED within 10 s")
            .expect("stream open");
        assert_eq!(first["type"], "SUBSCRIBED", "first event: {first}");
        let id = first["subscribed"]["framework_id"]["value"]
            .as_str()
            .expect("framework id")
            .to_string();
        Framework {
            master: master.to_string(),
            id,
            stream_id,
            subscribe_status: status,
            events: rx,
            kept_updates: Vec::new(),
            http,
            reader,
        }
    }

    /// Sends a call with this framework's id and stream id; returns status and JSON body.
    pub async fn call(&self, mut call: Value) -> (u16, Value) {
        call["framework_id"] = json!({"value": self.id});
        self.raw_call(call.to_string(), Some(&self.stream_id)).await
    }

    /// Sends any body with an optional stream id.
    pub async fn raw_call(&self, body: String, stream_id: Option<&str>) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("http://{}/api/v1/scheduler", self.master))
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(s) = stream_id {
            req = req.header("Mesos-Stream-Id", s);
        }
        let resp = req.send().await.expect("scheduler call");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// The next event other than HEARTBEAT.
    pub async fn next_event(&mut self, secs: u64) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(e)) if e["type"] == "HEARTBEAT" => continue,
                Ok(Some(e)) => return Some(e),
                _ => return None,
            }
        }
    }

    /// Waits for an event matching `pred`, acknowledging updates on the way if `ack`.
    pub async fn wait_for(
        &mut self,
        secs: u64,
        ack: bool,
        what: &str,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(event) = self.next_event(left.as_secs().max(1)).await else {
                panic!("no event matching '{what}' within {secs} s");
            };
            if ack && event["type"] == "UPDATE" {
                self.ack(&event["update"]["status"]).await;
            }
            if pred(&event) {
                return event;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("no event matching '{what}' within {secs} s");
            }
        }
    }

    /// The next batch of offers before `deadline`, acknowledging status updates on the way;
    /// `None` once the deadline has passed.
    pub async fn offers_until(&mut self, deadline: tokio::time::Instant) -> Option<Vec<Value>> {
        while tokio::time::Instant::now() < deadline {
            let Some(event) = self.next_event(1).await else {
                continue;
            };
            if event["type"] == "UPDATE" {
                self.ack(&event["update"]["status"]).await;
            } else if event["type"] == "OFFERS" {
                return Some(offers_in(&event));
            }
        }
        None
    }

    /// The next OFFERS event's offers.
    pub async fn offers(&mut self, secs: u64) -> Vec<Value> {
        let e = self
            .wait_for(secs, true, "OFFERS", |e| e["type"] == "OFFERS")
            .await;
        offers_in(&e)
    }

    /// The next OFFERS event's offers; the updates before it are acknowledged and kept for
    /// [`Framework::task_states`] (a launch on earlier offers may already have reported).
    pub async fn offers_keeping_updates(&mut self, secs: u64) -> Vec<Value> {
        let mut passed = Vec::new();
        let e = self
            .wait_for(secs, true, "OFFERS", |e| {
                if e["type"] == "UPDATE" {
                    passed.push(e["update"]["status"].clone());
                }
                e["type"] == "OFFERS"
            })
            .await;
        self.kept_updates.extend(passed);
        offers_in(&e)
    }

    /// The status of the next UPDATE for `task_id` in `state` (acknowledging all updates).
    pub async fn task_state(&mut self, task_id: &str, state: &str, secs: u64) -> Value {
        let e = self
            .wait_for(secs, true, &format!("{task_id} {state}"), |e| {
                e["type"] == "UPDATE"
                    && e["update"]["status"]["task_id"]["value"] == task_id
                    && e["update"]["status"]["state"] == state
            })
            .await;
        e["update"]["status"].clone()
    }

    /// Collects updates (acknowledging them) until every task in `want` has reached its
    /// state, in whatever order they arrive; returns the matching statuses by task id. The
    /// state `"healthy"` stands for an update that reports the task healthy.
    pub async fn task_states(
        &mut self,
        want: &[(&str, &str)],
        secs: u64,
    ) -> std::collections::HashMap<String, Value> {
        let mut seen = std::collections::HashMap::new();
        let note = |seen: &mut std::collections::HashMap<String, Value>, status: &Value| {
            for (id, state) in want {
                let reached =
                    status["state"] == *state || (*state == "healthy" && status["healthy"] == true);
                if status["task_id"]["value"] == *id && reached {
                    seen.insert(id.to_string(), status.clone());
                }
            }
        };
        for status in std::mem::take(&mut self.kept_updates) {
            note(&mut seen, &status);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while seen.len() < want.len() {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(event) = self.next_event(left.as_secs().max(1)).await else {
                panic!("only {seen:?} of {want:?} within {secs} s");
            };
            if event["type"] != "UPDATE" {
                continue;
            }
            let status = event["update"]["status"].clone();
            self.ack(&status).await;
            note(&mut seen, &status);
            if tokio::time::Instant::now() > deadline {
                panic!("only {seen:?} of {want:?} within {secs} s");
            }
        }
        seen
    }

    /// ACKNOWLEDGE an update if it carries a uuid.
    pub async fn ack(&self, status: &Value) {
        if let Some(uuid) = status.get("uuid") {
            let (code, body) = self
                .call(json!({
                    "type": "ACKNOWLEDGE",
                    "acknowledge": {
                        "agent_id": status["agent_id"],
                        "task_id": status["task_id"],
                        "uuid": uuid,
                    }
                }))
                .await;
            assert_eq!(code, 202, "ACKNOWLEDGE answered {code}: {body}");
        }
    }

    /// ACCEPT one offer with a LAUNCH of `tasks`.
    pub async fn launch(&self, offer: &Value, tasks: Vec<Value>, refuse_seconds: f64) -> u16 {
        let (code, _) = self
            .call(json!({
                "type": "ACCEPT",
                "accept": {
                    "offer_ids": [offer["id"]],
                    "operations": [{"type": "LAUNCH", "launch": {"task_infos": tasks}}],
                    "filters": {"refuse_seconds": refuse_seconds},
                }
            }))
            .await;
        code
    }

    pub async fn decline(&self, offer: &Value, refuse_seconds: f64) -> u16 {
        let (code, _) = self
            .call(json!({
                "type": "DECLINE",
                "decline": {"offer_ids": [offer["id"]], "filters": {"refuse_seconds": refuse_seconds}}
            }))
            .await;
        code
    }
}

/// A shell-command task for `offer`'s agent.
pub fn task(id: &str, offer: &Value, command: &str, cpus: f64, mem: f64) -> Value {
    json!({
        "name": id,
        "task_id": {"value": id},
        "agent_id": offer["agent_id"],
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}},
        ],
        "command": {"shell": true, "value": command},
    })
}

/// A COMMAND health check running `command` under a shell, checked every 0.3 s from the
/// start (no delay, no grace period).
pub fn command_check(command: &str) -> Value {
    json!({
        "type": "COMMAND",
        "delay_seconds": 0.0,
        "interval_seconds": 0.3,
        "consecutive_failures": 3,
        "grace_period_seconds": 0.0,
        "command": {"shell": true, "value": command},
    })
}

/// A scalar resource of an offer (summed over reservations).
pub fn scalar(offer: &Value, name: &str) -> f64 {
    offer["resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter(|r| r["name"] == name)
                .filter_map(|r| r["scalar"]["value"].as_f64())
                .sum()
        })
        .unwrap_or(0.0)
}

/// The offers of an OFFERS event.
fn offers_in(event: &Value) -> Vec<Value> {
    event["offers"]["offers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// POST /api/v1 {"type": kind}.
pub async fn operator(master: &str, kind: &str) -> Result<Value, reqwest::Error> {
    crate::http_client()
        .post(format!("http://{master}/api/v1"))
        .header("Content-Type", "application/json")
        .json(&json!({"type": kind}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}

pub(crate) fn take_record(buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    let newline = buffer.iter().position(|b| *b == b'\n')?;
    let length: usize = std::str::from_utf8(&buffer[..newline])
        .expect("RecordIO length is ASCII")
        .trim()
        .parse()
        .expect("RecordIO length is a number");
    if buffer.len() < newline + 1 + length {
        return None;
    }
    let record = buffer[newline + 1..newline + 1 + length].to_vec();
    buffer.drain(..newline + 1 + length);
    Some(record)
}
