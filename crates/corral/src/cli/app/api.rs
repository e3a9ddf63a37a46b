//! A small client of the services' Marathon API: JSON in, JSON out, and an API error's
//! `message` (with the `details` of a 422) as the error.

use anyhow::{Context, bail};
use serde_json::Value;

use corral_client::master_address::with_credential;
use corral_http::auth::Credential;

pub struct Marathon {
    base: String,
    http: reqwest::Client,
}

impl Marathon {
    pub fn new(base: &str, credential: Option<&Credential>) -> anyhow::Result<Marathon> {
        let base = base.trim_end_matches('/');
        let base = if base.contains("://") {
            base.to_string()
        } else {
            format!("http://{base}")
        };
        Ok(Marathon {
            base,
            http: with_credential(corral_client::client_tls::client_builder(), credential)
                .build()
                .context("cannot build an HTTP client")?,
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send("GET", path, None).await
    }

    /// `None` when the API answers 404.
    pub async fn find(&self, path: &str) -> anyhow::Result<Option<Value>> {
        match self.call("GET", path, None).await? {
            (404, _) => Ok(None),
            (_, body) => Ok(Some(body)),
        }
    }

    /// A call that must succeed (2xx).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let (status, answer) = self.call(method, path, body).await?;
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        bail!("{method} {path}: {status}: {}", reason(&answer))
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).context("an HTTP method")?;
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the services API at {}", self.base))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.context("the answer's body")?;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok((status, body))
    }
}

/// An API error as one line: its message and each detail's path and errors.
pub fn reason(answer: &Value) -> String {
    let mut text = answer["message"]
        .as_str()
        .map_or_else(|| answer.to_string(), String::from);
    for detail in answer["details"].as_array().into_iter().flatten() {
        let errors: Vec<&str> = detail["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        text.push_str(&format!(
            "; {}: {}",
            detail["path"].as_str().unwrap_or("/"),
            errors.join(", ")
        ));
    }
    text
}
