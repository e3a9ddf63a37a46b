//! Calls as a client with or without credentials makes them, for the security tests: HTTP
//! Basic on every request, a POST answered whole, the first record of a subscription, and the
//! agents a master lists.

use serde_json::{Value, json};

/// A client that sends `(principal, secret)` as HTTP Basic with every request.
pub fn basic_client(credential: Option<(&str, &str)>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some((principal, secret)) = credential {
        use base64::Engine;
        let pair =
            base64::engine::general_purpose::STANDARD.encode(format!("{principal}:{secret}"));
        let value = reqwest::header::HeaderValue::from_str(&format!("Basic {pair}"))
            .expect("a Basic header");
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    crate::http_client_builder()
        .default_headers(headers)
        .build()
        .expect("an HTTP client")
}

/// POSTs `body` as JSON to `http://{master}{path}`, presenting `credential`.
pub async fn post_as(
    master: &str,
    path: &str,
    credential: Option<(&str, &str)>,
    body: &Value,
) -> reqwest::Response {
    basic_client(credential)
        .post(format!("http://{master}{path}"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .json(body)
        .send()
        .await
        .expect("the server answers")
}

/// An answer's status and its body as text.
pub async fn status_and_text(answer: reqwest::Response) -> (u16, String) {
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap_or_default())
}

/// A subscription's status and its first record (within 10 s; `{"raw": ...}` if none).
pub async fn first_event(mut answer: reqwest::Response) -> (u16, Value) {
    let status = answer.status().as_u16();
    let mut buffer = Vec::new();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let Some(record) = crate::scheduler::take_record(&mut buffer) {
                return serde_json::from_slice(&record).ok();
            }
            match answer.chunk().await {
                Ok(Some(chunk)) => buffer.extend_from_slice(&chunk),
                _ => return None,
            }
        }
    })
    .await
    .ok()
    .flatten();
    let raw = String::from_utf8_lossy(&buffer).to_string();
    (status, first.unwrap_or_else(|| json!({ "raw": raw })))
}

/// The ids of the agents the master at `base` (`http://` or `https://` and its authority)
/// lists as active, asked with `http`; none if it does not answer.
pub async fn active_agent_ids(http: &reqwest::Client, base: &str) -> Vec<String> {
    let Ok(answer) = http
        .post(format!("{base}/api/v1"))
        .json(&json!({"type": "GET_AGENTS"}))
        .send()
        .await
    else {
        return Vec::new();
    };
    let body: Value = answer.json().await.unwrap_or_default();
    body["get_agents"]["agents"]
        .as_array()
        .map(|agents| {
            agents
                .iter()
                .filter(|a| a["active"] == true)
                .filter_map(|a| a["agent_info"]["id"]["value"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
