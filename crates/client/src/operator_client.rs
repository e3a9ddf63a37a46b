//! A client for the master's v1 operator API (`POST /api/v1`), for the listing commands.

use std::time::Duration;

use reqwest::header::ACCEPT;

use super::client_error::{ClientError, root_cause};
use super::master_address::MasterAddress;
use corral_api::operator::{OperatorCall, OperatorCallType, OperatorResponse};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

pub struct OperatorClient {
    http: reqwest::Client,
    master: MasterAddress,
}

impl OperatorClient {
    pub fn new(master: MasterAddress) -> Result<Self, ClientError> {
        let http = master
            .client_builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| ClientError::Unreachable {
                addr: master.to_string(),
                reason: format!("cannot make an HTTP client: {}", root_cause(&e)),
            })?;
        Ok(OperatorClient { http, master })
    }

    /// The master this client calls, with the credential it presents.
    pub fn master(&self) -> &MasterAddress {
        &self.master
    }

    /// Makes one call; returns the typed response and the JSON exactly as the master sent it
    /// (for `--json`, which should show fields this client does not model too).
    pub async fn call(
        &self,
        kind: OperatorCallType,
    ) -> Result<(OperatorResponse, serde_json::Value), ClientError> {
        self.call_with(kind, serde_json::json!({})).await
    }

    /// A call with its payload fields (e.g. `{"update_weights": {...}}`) beside `type`.
    pub async fn call_with(
        &self,
        kind: OperatorCallType,
        mut payload: serde_json::Value,
    ) -> Result<(OperatorResponse, serde_json::Value), ClientError> {
        if let Some(fields) = payload.as_object_mut()
            && let Ok(kind_json) = serde_json::to_value(OperatorCall { kind })
            && let Some(type_field) = kind_json.get("type")
        {
            fields.insert("type".into(), type_field.clone());
        }
        let addr = self.master.to_string();
        let what = serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_else(|| format!("{kind:?}"));
        let response = self
            .http
            .post(self.master.url("/api/v1"))
            .header(ACCEPT, "application/json")
            .json(&payload)
            .send()
            .await
            .map_err(|e| ClientError::from_request(&addr, &what, &e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| ClientError::from_request(&addr, &what, &e))?;
        if !status.is_success() {
            return Err(ClientError::refused(&addr, &what, status.as_u16(), &body));
        }
        let protocol = |reason: String| ClientError::Protocol {
            addr: addr.clone(),
            reason,
        };
        // Update calls answer 200 with an empty body.
        let raw: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
            serde_json::json!({ "type": what })
        } else {
            serde_json::from_slice(&body)
                .map_err(|e| protocol(format!("{what} answer is not JSON: {e}")))?
        };
        let typed: OperatorResponse = serde_json::from_value(raw.clone())
            .map_err(|e| protocol(format!("{what} answer does not match the v1 API: {e}")))?;
        Ok((typed, raw))
    }
}
