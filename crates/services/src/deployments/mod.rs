//! Deployments: every change of apps (create, scale, restart, delete, a group's changes) is
//! one deployment of steps carried out one after the other, each a list of actions on apps
//! (`StartApplication`, `ScaleApplication`, `RestartApplication`, `StopApplication`), in
//! Marathon's order (`steps`). A deployment locks its apps, is listed by `/v2/deployments` in
//! Marathon's `DeploymentStepInfo` shape until its last step is done, and keeps the apps as
//! they were before it, so it can be rolled back (`DELETE /v2/deployments/{id}`).
//!
//! `progress` says, from the world alone, which mode each app is in and when a step is done.

pub mod canary;
pub mod progress;
pub mod steps;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::App;
use crate::time::Timestamp;

pub const START: &str = "StartApplication";
pub const SCALE: &str = "ScaleApplication";
pub const RESTART: &str = "RestartApplication";
pub const STOP: &str = "StopApplication";

/// One step's action on one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// `StartApplication`, `ScaleApplication`, `RestartApplication` or `StopApplication`.
    pub action: String,
    pub app: String,
}

/// Canary bookkeeping of one app of a deployment (`upgradeStrategy.canary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CanaryState {
    /// Since when every canary has been healthy (ms); reset when one is not.
    #[serde(default)]
    pub healthy_since: Option<u64>,
    /// The canaries stayed healthy for `canaryHealthySeconds`: the rollout goes on.
    #[serde(default)]
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub version: Timestamp,
    pub affected_apps: Vec<String>,
    /// The steps, each a list of actions, in order.
    pub steps: Vec<Vec<Action>>,
    /// The step being carried out (0 is the first); `steps.len()` once all are done.
    #[serde(default)]
    pub current: usize,
    /// The affected apps that existed before, as they were (for a rollback); an affected app
    /// missing here was created by this deployment.
    #[serde(default)]
    pub original: Vec<App>,
    /// Canary state by app id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub canaries: BTreeMap<String, CanaryState>,
    /// Why the deployment is a rollback (of which deployment), if it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<String>,
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
    /// A deployment of `changes` (app id and what happens to it) with the steps `steps::plan`
    /// orders by `dependencies` (app id to the app ids it depends on, in the target state).
    pub fn new(
        id: String,
        version: Timestamp,
        changes: &[(String, Change)],
        dependencies: &BTreeMap<String, Vec<String>>,
        original: Vec<App>,
    ) -> Deployment {
        Deployment {
            id,
            version,
            affected_apps: changes.iter().map(|(app, _)| app.clone()).collect(),
            steps: steps::plan(changes, dependencies),
            current: 0,
            original,
            canaries: BTreeMap::new(),
            rollback_of: None,
        }
    }

    pub fn affects(&self, app_id: &str) -> bool {
        self.affected_apps.iter().any(|a| a == app_id)
    }

    pub fn is_finished(&self) -> bool {
        self.current >= self.steps.len()
    }

    /// The actions of the step being carried out (none once finished).
    pub fn current_actions(&self) -> &[Action] {
        self.steps.get(self.current).map_or(&[], Vec::as_slice)
    }

    /// The index of the step that acts on `app_id`, if any.
    pub fn step_of(&self, app_id: &str) -> Option<usize> {
        self.steps
            .iter()
            .position(|actions| actions.iter().any(|a| a.app == app_id))
    }

    /// The app as it was before this deployment (`None`: created by it).
    pub fn original_of(&self, app_id: &str) -> Option<&App> {
        self.original.iter().find(|a| a.id == app_id)
    }

    /// `steps` as Marathon writes them: `[{"actions": [{"action", "app"}]}]`.
    pub fn steps_json(&self) -> Value {
        Value::Array(
            self.steps
                .iter()
                .map(|actions| json!({"actions": actions}))
                .collect(),
        )
    }

    /// The `/v2/deployments` entry; `readiness` gives the readiness check results of an
    /// app's tasks (Marathon's `readinessCheckResults`).
    pub fn to_json(&self, readiness: &dyn Fn(&str) -> Vec<Value>) -> Value {
        let current: Vec<Value> = self
            .current_actions()
            .iter()
            .map(|a| {
                json!({"action": a.action, "app": a.app, "readinessCheckResults": readiness(&a.app)})
            })
            .collect();
        let total = self.steps.len();
        json!({
            "id": self.id,
            "version": self.version,
            "affectedApps": self.affected_apps,
            "affectedPods": [],
            "steps": self.steps_json(),
            "currentActions": current,
            "currentStep": (self.current + 1).min(total),
            "totalSteps": total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_deps() -> BTreeMap<String, Vec<String>> {
        BTreeMap::new()
    }

    #[test]
    fn a_new_app_starts_then_scales_in_marathons_shape() {
        let d = Deployment::new(
            "97c136bf-5a28-4821-9d94-480d9fbb01c8".into(),
            Timestamp::parse("2015-09-30T09:09:17.614Z").expect("time"),
            &[("/foo".into(), Change::Create)],
            &no_deps(),
            Vec::new(),
        );
        let json = d.to_json(&|_| Vec::new());
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
        assert_eq!(json["currentStep"], 1);
        assert_eq!(json["currentActions"][0]["action"], "StartApplication");
        assert_eq!(json["currentActions"][0]["app"], "/foo");
        assert_eq!(
            json["currentActions"][0]["readinessCheckResults"],
            json!([])
        );
        assert_eq!(json["totalSteps"], 2);
    }

    #[test]
    fn the_current_step_moves_and_shows_its_actions() {
        let mut d = Deployment::new(
            "x".into(),
            Timestamp(0),
            &[("/a".into(), Change::Create)],
            &no_deps(),
            Vec::new(),
        );
        d.current = 1;
        let json = d.to_json(&|app| vec![json!({"taskId": format!("{app}.1")})]);
        assert_eq!(json["currentStep"], 2);
        assert_eq!(json["currentActions"][0]["action"], "ScaleApplication");
        assert_eq!(
            json["currentActions"][0]["readinessCheckResults"][0]["taskId"],
            "/a.1"
        );
        d.current = 2;
        assert!(d.is_finished());
        assert!(d.current_actions().is_empty());
    }

    #[test]
    fn a_delete_is_one_stop_step() {
        let d = Deployment::new(
            "x".into(),
            Timestamp(0),
            &[("/a".into(), Change::Delete)],
            &no_deps(),
            Vec::new(),
        );
        assert_eq!(d.steps.len(), 1);
        assert_eq!(d.steps[0][0].action, "StopApplication");
        assert!(d.affects("/a"));
        assert_eq!(d.step_of("/a"), Some(0));
    }
}
