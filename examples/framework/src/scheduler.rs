//! The v1 scheduler HTTP API, in the fewest lines that handle it correctly.
//! Reference: https://mesos.apache.org/documentation/latest/scheduler-http-api/

use std::pin::Pin;

use anyhow::{Context, bail};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::{Value, json};

use crate::recordio::RecordIoDecoder;

/// Calls other than SUBSCRIBE go on their own connections and name the subscription with
/// this header, taken from the SUBSCRIBE response.
const STREAM_ID: &str = "Mesos-Stream-Id";

pub struct Scheduler {
    http: reqwest::Client,
    url: String,
    stream_id: String,
    framework_id: Value,
    heartbeat_seconds: f64,
}

/// The SUBSCRIBE response body: a never-ending stream of RecordIO-framed JSON events.
pub struct Events {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    decoder: RecordIoDecoder,
}

impl Events {
    /// The next event; an error when the master closes the stream.
    pub async fn next(&mut self) -> anyhow::Result<Value> {
        loop {
            if let Some(record) = self.decoder.next_record()? {
                return Ok(serde_json::from_slice(&record)?);
            }
            match self.body.next().await {
                Some(chunk) => self.decoder.feed(&chunk?),
                None => bail!("the master closed the event stream"),
            }
        }
    }
}

impl Scheduler {
    /// POSTs SUBSCRIBE and reads the first event, SUBSCRIBED, which holds our framework id.
    pub async fn subscribe(master: &str, framework_info: Value) -> anyhow::Result<(Self, Events)> {
        // reqwest is built with rustls and no provider of its own: give it ring's.
        #[allow(deprecated)] // ring: see corral_http::tls (no aws-lc in the build)
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let url = format!("http://{master}/api/v1/scheduler");
        let response = http
            .post(&url)
            .header("Accept", "application/json")
            .json(&json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info}}))
            .send()
            .await
            .with_context(|| format!("cannot reach the master at {master}"))?;
        if !response.status().is_success() {
            let status = response.status();
            bail!("SUBSCRIBE refused ({status}): {}", response.text().await?);
        }
        let stream_id = response
            .headers()
            .get(STREAM_ID)
            .context("SUBSCRIBE response has no Mesos-Stream-Id header")?
            .to_str()?
            .to_string();
        let mut events = Events {
            body: Box::pin(response.bytes_stream()),
            decoder: RecordIoDecoder::new(),
        };
        let subscribed = events.next().await?;
        if subscribed["type"] != "SUBSCRIBED" {
            bail!("expected SUBSCRIBED first, got {subscribed}");
        }
        let scheduler = Scheduler {
            http,
            url,
            stream_id,
            framework_id: subscribed["subscribed"]["framework_id"].clone(),
            heartbeat_seconds: subscribed["subscribed"]["heartbeat_interval_seconds"]
                .as_f64()
                .unwrap_or(15.0),
        };
        Ok((scheduler, events))
    }

    pub fn framework_id(&self) -> &str {
        self.framework_id["value"].as_str().unwrap_or_default()
    }

    pub fn heartbeat_seconds(&self) -> f64 {
        self.heartbeat_seconds
    }

    /// Sends one call. The master answers 202 Accepted: it will act, and results arrive
    /// as events on the subscription stream.
    async fn call(&self, mut call: Value) -> anyhow::Result<()> {
        call["framework_id"] = self.framework_id.clone();
        let response = self
            .http
            .post(&self.url)
            .header(STREAM_ID, &self.stream_id)
            .json(&call)
            .send()
            .await?;
        if !response.status().is_success() {
            let status = response.status();
            bail!(
                "{} refused ({status}): {}",
                call["type"],
                response.text().await?
            );
        }
        Ok(())
    }

    pub async fn launch(&self, offer_id: &Value, task_infos: Vec<Value>) -> anyhow::Result<()> {
        self.call(json!({
            "type": "ACCEPT",
            "accept": {
                "offer_ids": [offer_id],
                "operations": [{"type": "LAUNCH", "launch": {"task_infos": task_infos}}],
                // What the tasks leave unused is declined with this filter.
                "filters": {"refuse_seconds": 5.0},
            }
        }))
        .await
    }

    pub async fn decline(&self, offer_id: &Value, refuse_seconds: f64) -> anyhow::Result<()> {
        self.call(json!({
            "type": "DECLINE",
            "decline": {"offer_ids": [offer_id], "filters": {"refuse_seconds": refuse_seconds}}
        }))
        .await
    }

    pub async fn acknowledge(
        &self,
        agent_id: &Value,
        task_id: &Value,
        uuid: &str,
    ) -> anyhow::Result<()> {
        self.call(json!({
            "type": "ACKNOWLEDGE",
            "acknowledge": {"agent_id": agent_id, "task_id": task_id, "uuid": uuid}
        }))
        .await
    }

    pub async fn reconcile(&self) -> anyhow::Result<()> {
        self.call(json!({"type": "RECONCILE", "reconcile": {"tasks": []}}))
            .await
    }

    pub async fn suppress(&self) -> anyhow::Result<()> {
        self.call(json!({"type": "SUPPRESS"})).await
    }

    pub async fn teardown(&self) -> anyhow::Result<()> {
        self.call(json!({"type": "TEARDOWN"})).await
    }
}
