//! Following a deployment until it ends: `/v2/deployments` polled, its step and the app's
//! counts shown as they change (`progress.rs`: a bar on a terminal, lines elsewhere). It
//! ended well when the deployment is gone and the app is at the deployment's version (or
//! gone, for a removal); otherwise it was rolled back or replaced, or the app failed, and the
//! reason says which, with the app's last task failure.

use std::time::Duration;

use serde_json::Value;

use super::api::Marathon;
use super::progress::{Counts, Progress};

const POLL: Duration = Duration::from_millis(500);

pub enum Outcome {
    /// The app as it is at the end (`null` once removed).
    Succeeded(Value),
    Failed(String),
}

pub async fn follow(
    api: &Marathon,
    id: &str,
    deployment: &str,
    version: &str,
    removing: bool,
    show: bool,
) -> anyhow::Result<Outcome> {
    let app_path = format!(
        "/v2/apps/{}?embed=app.counts&embed=app.lastTaskFailure",
        id.trim_matches('/')
    );
    let mut progress = Progress::new();
    loop {
        let deployments = api.get("/v2/deployments").await?;
        let current = deployments
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["id"] == deployment)
            .cloned();
        let app = api.find(&app_path).await?.map(|a| a["app"].clone());
        let Some(current) = current else {
            progress.finish();
            return Ok(ended(app, version, removing));
        };
        if show {
            progress.show(counts(&current, app.as_ref()));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn counts(deployment: &Value, app: Option<&Value>) -> Counts {
    let count = |field: &str| app.and_then(|a| a[field].as_u64()).unwrap_or(0);
    Counts {
        step: deployment["currentStep"].as_u64().unwrap_or(0),
        steps: deployment["totalSteps"].as_u64().unwrap_or(0),
        running: count("tasksRunning"),
        healthy: count("tasksHealthy"),
        desired: count("instances"),
    }
}

fn ended(app: Option<Value>, version: &str, removing: bool) -> Outcome {
    match app {
        None if removing => Outcome::Succeeded(Value::Null),
        None => Outcome::Failed(
            "the deployment did not complete: it was rolled back or the app removed, and the \
             app is gone"
                .into(),
        ),
        Some(app) if removing => Outcome::Failed(format!(
            "the removal did not complete: the app is at version {}",
            app["version"].as_str().unwrap_or("?")
        )),
        Some(app) if app["version"] == version => Outcome::Succeeded(app),
        Some(app) => {
            let mut reason = format!(
                "the deployment did not complete: it was rolled back or replaced, and the app \
                 is at version {}",
                app["version"].as_str().unwrap_or("?")
            );
            if let Some(message) = app["lastTaskFailure"]["message"].as_str() {
                reason.push_str(&format!(" (last task failure: {message})"));
            }
            Outcome::Failed(reason)
        }
    }
}
