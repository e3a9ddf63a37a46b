//! Deployments: one record per change of an app (create, scale, restart, delete), listed by
//! `/v2/deployments` and locking the app until the change has taken effect: the app runs
//! `instances` tasks of its current configuration, all TASK_RUNNING (or, for a deleted app,
//! none are left). Shown in Marathon's `DeploymentStepInfo` shape (`examples/deployments.json`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::time::Timestamp;

/// One step's action on one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// `StartApplication`, `ScaleApplication`, `RestartApplication` or `StopApplication`.
    pub action: String,
    pub app: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub version: Timestamp,
    pub affected_apps: Vec<String>,
    /// The steps, each a list of actions, in order.
    pub steps: Vec<Vec<Action>>,
}

/// What a change does to one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create,
    Scale,
    Restart,
    Delete,
}

impl Deployment {
    /// A deployment of `changes` (app id and what happens to it), in Marathon's step order:
    /// stops, then starts, then scales and restarts.
    pub fn new(id: String, version: Timestamp, changes: &[(String, Change)]) -> Deployment {
        let action = |name: &str, app: &str| Action {
            action: name.to_string(),
            app: app.to_string(),
        };
        let mut stops = Vec::new();
        let mut starts = Vec::new();
        let mut runs = Vec::new();
        for (app, change) in changes {
            match change {
                Change::Delete => stops.push(action("StopApplication", app)),
                Change::Create => {
                    starts.push(action("StartApplication", app));
                    runs.push(action("ScaleApplication", app));
                }
                Change::Scale => runs.push(action("ScaleApplication", app)),
                Change::Restart => runs.push(action("RestartApplication", app)),
            }
        }
        Deployment {
            id,
            version,
            affected_apps: changes.iter().map(|(app, _)| app.clone()).collect(),
            steps: [stops, starts, runs]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }

    pub fn affects(&self, app_id: &str) -> bool {
        self.affected_apps.iter().any(|a| a == app_id)
    }

    /// The `/v2/deployments` entry. The last step is the one waiting for tasks, so it is the
    /// current one.
    pub fn to_json(&self) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|actions| json!({"actions": actions}))
            .collect();
        let current: Vec<Value> = self
            .steps
            .last()
            .map(|actions| {
                actions
                    .iter()
                    .map(|a| json!({"action": a.action, "app": a.app, "readinessCheckResults": []}))
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "id": self.id,
            "version": self.version,
            "affectedApps": self.affected_apps,
            "affectedPods": [],
            "steps": steps,
            "currentActions": current,
            "currentStep": self.steps.len(),
            "totalSteps": self.steps.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_app_starts_then_scales_in_marathons_shape() {
        let d = Deployment::new(
            "97c136bf-5a28-4821-9d94-480d9fbb01c8".into(),
            Timestamp::parse("2015-09-30T09:09:17.614Z").expect("time"),
            &[("/foo".into(), Change::Create)],
        );
        let json = d.to_json();
        // The key set of examples/deployments.json.
        let mut keys: Vec<&str> = json
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "affectedApps",
                "affectedPods",
                "currentActions",
                "currentStep",
                "id",
                "steps",
                "totalSteps",
                "version"
            ]
        );
        assert_eq!(json["version"], "2015-09-30T09:09:17.614Z");
        assert_eq!(json["steps"][0]["actions"][0]["action"], "StartApplication");
        assert_eq!(json["steps"][1]["actions"][0]["action"], "ScaleApplication");
        assert_eq!(json["currentActions"][0]["app"], "/foo");
        assert_eq!(
            json["currentActions"][0]["readinessCheckResults"],
            json!([])
        );
        assert_eq!(json["totalSteps"], 2);
    }

    #[test]
    fn a_delete_is_one_stop_step() {
        let d = Deployment::new("x".into(), Timestamp(0), &[("/a".into(), Change::Delete)]);
        assert_eq!(d.steps.len(), 1);
        assert_eq!(d.steps[0][0].action, "StopApplication");
        assert!(d.affects("/a"));
    }
}
