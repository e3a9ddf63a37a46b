//! Readiness checks (HTTP GETs against a task's named port while a deployment starts it):
//! a task is ready once an answer's status is one of `httpStatusCodesForReady`, and is not
//! checked again after. The results show in the deployment's `currentActions` and in the
//! app's `readinessCheckResults` (Marathon's `ReadinessCheckResult`).

use serde_json::{Value, json};

use super::probe::HttpAnswer;
use crate::model::App;
use crate::model::checks::ReadinessCheck;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub name: String,
    pub task_id: String,
    pub ready: bool,
    /// The last answer, kept when the check says `preserveLastResponse`.
    pub last_response: Option<HttpAnswer>,
    /// When the next attempt is due (ms); not shown.
    pub next_check_ms: u64,
    pub in_flight: bool,
}

impl Readiness {
    pub fn new(check: &ReadinessCheck, task_id: &str) -> Readiness {
        Readiness {
            name: check.name.clone(),
            task_id: task_id.to_string(),
            ready: false,
            last_response: None,
            next_check_ms: 0,
            in_flight: false,
        }
    }

    /// Takes in one attempt's answer (or failure).
    pub fn judge(&mut self, check: &ReadinessCheck, answer: Result<HttpAnswer, String>) {
        self.in_flight = false;
        match answer {
            Ok(answer) => {
                self.ready = check
                    .http_status_codes_for_ready
                    .contains(&u32::from(answer.status));
                if check.preserve_last_response {
                    self.last_response = Some(answer);
                }
            }
            Err(_) => self.ready = false,
        }
    }

    /// `readinessCheckResults[]`: `lastResponse` only when kept.
    pub fn to_json(&self) -> Value {
        let mut result = json!({
            "name": self.name,
            "taskId": self.task_id,
            "ready": self.ready,
        });
        if let (Some(answer), Some(map)) = (&self.last_response, result.as_object_mut()) {
            map.insert(
                "lastResponse".into(),
                json!({"status": answer.status, "contentType": answer.content_type, "body": answer.body}),
            );
        }
        result
    }
}

/// The host port a readiness check reaches: the task's port of the named port definition.
pub fn readiness_port(app: &App, check: &ReadinessCheck, host_ports: &[u32]) -> Option<u32> {
    let index = app
        .port_definitions
        .iter()
        .position(|p| p.name.as_deref() == Some(check.port_name.as_str()))?;
    host_ports.get(index).copied()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scheduler::plan::tests::app;

    #[test]
    fn ready_on_a_listed_status_with_the_last_answer_kept_when_asked() {
        let web = app(
            json!({"id": "/web", "cmd": "x y",
                   "portDefinitions": [{"port": 0, "name": "admin"}, {"port": 0, "name": "http-api"}],
                   "readinessChecks": [{"name": "up", "portName": "http-api", "path": "/ready",
                                        "intervalSeconds": 2, "timeoutSeconds": 1,
                                        "httpStatusCodesForReady": [200, 204],
                                        "preserveLastResponse": true}]}),
            1_000,
        );
        let check = &web.readiness_checks[0];
        assert_eq!(readiness_port(&web, check, &[31000, 31001]), Some(31001));
        let mut r = Readiness::new(check, "web.1");
        let answer = |status| HttpAnswer {
            status,
            content_type: "text/plain".into(),
            body: "starting".into(),
        };
        r.judge(check, Ok(answer(503)));
        assert!(!r.ready);
        assert_eq!(
            r.to_json(),
            json!({"name": "up", "taskId": "web.1", "ready": false,
                   "lastResponse": {"status": 503, "contentType": "text/plain", "body": "starting"}})
        );
        r.judge(check, Ok(answer(204)));
        assert!(r.ready);
        r.judge(check, Err("refused".into()));
        assert!(!r.ready);
    }
}
