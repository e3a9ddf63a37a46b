//! Marathon's event types and their JSON (`docs/docs/event-bus.md` and the writers of
//! Marathon 1.6's `Formats.scala`), built from Corral's records.

use serde_json::{Value, json};

use corral_api::v1::{TaskState, TaskStatus};

use super::Event;
use crate::deployments::{Action, Deployment};
use crate::model::App;
use crate::model::checks::HealthCheck;
use crate::tasks::TaskRecord;
use crate::world::World;

impl Event {
    /// `status_update_event`: a task's new state.
    pub fn status_update(task: &TaskRecord, status: &TaskStatus) -> Event {
        Event::new(
            "status_update_event",
            json!({
                "slaveId": task.agent_id,
                "taskId": task.id,
                "taskStatus": status.state.as_str(),
                "message": status.message.clone().unwrap_or_default(),
                "appId": task.app_id,
                "host": task.host,
                "ipAddresses": task.ip_addresses,
                "ports": task.ports,
                "version": task.version,
            }),
        )
    }

    /// `instance_changed_event`: the task's instance changed condition.
    pub fn instance_changed(task: &TaskRecord, state: TaskState) -> Event {
        Event::new(
            "instance_changed_event",
            json!({
                "instanceId": task.id,
                "condition": condition(state),
                "runSpecId": task.app_id,
                "agentId": task.agent_id,
                "host": task.host,
                "runSpecVersion": task.version,
            }),
        )
    }

    /// `instance_health_changed_event` and its older form `health_status_changed_event`.
    pub fn health_status_changed(task: &TaskRecord, alive: bool) -> Event {
        Event::new(
            "health_status_changed_event",
            json!({
                "appId": task.app_id,
                "instanceId": task.id,
                "version": task.version,
                "alive": alive,
            }),
        )
    }

    pub fn instance_health_changed(task: &TaskRecord, healthy: bool) -> Event {
        Event::new(
            "instance_health_changed_event",
            json!({
                "instanceId": task.id,
                "runSpecId": task.app_id,
                "healthy": healthy,
                "runSpecVersion": task.version,
            }),
        )
    }

    /// `failed_health_check_event`: one failure of a Marathon-side check.
    pub fn failed_health_check(task: &TaskRecord, check: &HealthCheck) -> Event {
        Event::new(
            "failed_health_check_event",
            json!({
                "appId": task.app_id,
                "taskId": task.id,
                "healthCheck": check,
            }),
        )
    }

    /// `unhealthy_instance_kill_event`: a task killed for failing its health checks.
    pub fn unhealthy_task_kill(task: &TaskRecord, reason: &str) -> Event {
        Event::new(
            "unhealthy_instance_kill_event",
            json!({
                "appId": task.app_id,
                "taskId": task.id,
                "instanceId": task.id,
                "version": task.version,
                "reason": reason,
                "host": task.host,
                "slaveId": task.agent_id,
            }),
        )
    }

    pub fn app_terminated(app_id: &str) -> Event {
        Event::new("app_terminated_event", json!({"appId": app_id}))
    }

    /// `api_post_event`: an app changed through the API.
    pub fn api_post(client_ip: &str, uri: &str, app: &App) -> Event {
        Event::new(
            "api_post_event",
            json!({"clientIp": client_ip, "uri": uri, "appDefinition": app}),
        )
    }

    pub fn group_change_success(group_id: &str, version: &str) -> Event {
        Event::new(
            "group_change_success",
            json!({"groupId": group_id, "version": version}),
        )
    }

    pub fn event_stream(attached: bool, remote_address: &str) -> Event {
        let kind = if attached {
            "event_stream_attached"
        } else {
            "event_stream_detached"
        };
        Event::new(kind, json!({"remoteAddress": remote_address}))
    }

    /// `deployment_info` (a deployment began), `deployment_step_success` and
    /// `deployment_step_failure`: the plan and the step.
    pub fn deployment_step(kind: &str, plan: &Plan, step: &[Action]) -> Event {
        let step = json!({"actions": step});
        Event::with_light(
            kind,
            json!({"plan": plan.full(), "currentStep": step}),
            Some(json!({"plan": plan.light(), "currentStep": step})),
        )
    }

    /// `deployment_success`, or `deployment_failed` with its reason.
    pub fn deployment_ended(plan: &Plan, failure: Option<&str>) -> Event {
        let (kind, reason) = match failure {
            None => ("deployment_success", None),
            Some(reason) => ("deployment_failed", Some(reason)),
        };
        let body = |plan_json: Value| {
            let mut body = json!({"id": plan.deployment.id, "plan": plan_json});
            if let (Some(reason), Some(map)) = (reason, body.as_object_mut()) {
                map.insert("reason".into(), json!(reason));
            }
            body
        };
        Event::with_light(kind, body(plan.full()), Some(body(plan.light())))
    }
}

/// A deployment plan as events show it: its id, steps and version, and (in full) the root
/// group before and after.
pub struct Plan<'a> {
    pub deployment: &'a Deployment,
    pub original: Value,
    pub target: Value,
}

impl<'a> Plan<'a> {
    /// The plan of `deployment` in `world`: the root group now (its target) and as it was
    /// before the deployment (its affected apps as they were).
    pub fn of(deployment: &'a Deployment, world: &World) -> Plan<'a> {
        let target = world.root_group_json();
        let mut before = world.apps.clone();
        for id in &deployment.affected_apps {
            match deployment.original_of(id) {
                Some(app) => before.insert(id.clone(), app.clone()),
                None => before.remove(id),
            };
        }
        let original = crate::groups::json::root_json(&before, &world.groups);
        Plan {
            deployment,
            original,
            target,
        }
    }

    pub fn full(&self) -> Value {
        json!({
            "id": self.deployment.id,
            "original": self.original,
            "target": self.target,
            "steps": self.deployment.steps_json(),
            "version": self.deployment.version,
        })
    }

    pub fn light(&self) -> Value {
        json!({
            "id": self.deployment.id,
            "steps": self.deployment.steps_json(),
            "version": self.deployment.version,
        })
    }
}

/// Marathon's instance `Condition` for a Mesos task state.
pub fn condition(state: TaskState) -> &'static str {
    match state {
        TaskState::TaskStaging => "Staging",
        TaskState::TaskStarting => "Starting",
        TaskState::TaskRunning => "Running",
        TaskState::TaskKilling => "Killing",
        TaskState::TaskFinished => "Finished",
        TaskState::TaskFailed => "Failed",
        TaskState::TaskKilled => "Killed",
        TaskState::TaskError => "Error",
        TaskState::TaskLost | TaskState::TaskGone | TaskState::TaskGoneByOperator => "Gone",
        TaskState::TaskDropped => "Dropped",
        TaskState::TaskUnreachable => "Unreachable",
        TaskState::TaskUnknown => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::deployments::Change;
    use crate::scheduler::plan::tests::{app, task};
    use crate::time::Timestamp;

    fn keys(json: &str) -> Vec<String> {
        let value: Value = serde_json::from_str(json).expect("json");
        let mut keys: Vec<String> = value.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn status_updates_have_marathons_keys() {
        let web = app(json!({"id": "/web", "cmd": "x y"}), 1_000);
        let t = task(&web, 1, TaskState::TaskRunning, 1_000);
        let status = TaskStatus {
            state: TaskState::TaskRunning,
            ..TaskStatus::default()
        };
        let event = Event::status_update(&t, &status);
        assert_eq!(
            keys(&event.json),
            [
                "appId",
                "eventType",
                "host",
                "ipAddresses",
                "message",
                "ports",
                "slaveId",
                "taskId",
                "taskStatus",
                "timestamp",
                "version"
            ]
        );
        let changed = Event::instance_changed(&t, TaskState::TaskKilled);
        assert!(changed.json.contains(r#""condition":"Killed""#));
    }

    #[test]
    fn deployment_events_come_full_or_light() {
        let d = Deployment::new(
            "d".into(),
            Timestamp(0),
            &[("/a".into(), Change::Create)],
            &Default::default(),
            Vec::new(),
        );
        let plan = Plan {
            deployment: &d,
            original: json!({"id": "/"}),
            target: json!({"id": "/"}),
        };
        let info = Event::deployment_step("deployment_info", &plan, &d.steps[0]);
        assert_eq!(
            keys(&info.json),
            ["currentStep", "eventType", "plan", "timestamp"]
        );
        let full: Value = serde_json::from_str(info.payload(false)).expect("json");
        assert_eq!(
            full["plan"].as_object().map(|o| o.len()),
            Some(5),
            "id, original, target, steps, version"
        );
        let light: Value = serde_json::from_str(info.payload(true)).expect("json");
        assert!(light["plan"].get("original").is_none());
        assert_eq!(
            light["currentStep"]["actions"][0]["action"],
            "StartApplication"
        );
        let failed = Event::deployment_ended(&plan, Some("rolled back"));
        assert_eq!(failed.event_type, "deployment_failed");
        assert_eq!(
            keys(&failed.json),
            ["eventType", "id", "plan", "reason", "timestamp"]
        );
        assert_eq!(
            keys(Event::deployment_ended(&plan, None).payload(true)),
            ["eventType", "id", "plan", "timestamp"]
        );
    }
}
