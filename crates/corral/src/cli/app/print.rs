//! The text `corral app` prints: tables of apps and tasks, one app's fields, and the line
//! that ends a deployment.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::table::Table;

pub fn or_json(
    json: bool,
    value: &Value,
    text: impl FnOnce() -> String,
) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        print!("{}", text());
    }
    Ok(ExitCode::SUCCESS)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

pub fn apps(answer: &Value) -> String {
    let mut table = Table::new([
        "ID",
        "INSTANCES",
        "RUNNING",
        "HEALTHY",
        "CPUS",
        "MEM",
        "DEPLOYING",
        "VERSION",
    ]);
    for app in answer["apps"].as_array().into_iter().flatten() {
        let deploying = app["deployments"].as_array().is_some_and(|d| !d.is_empty());
        table.row([
            text(&app["id"]),
            text(&app["instances"]),
            text(&app["tasksRunning"]),
            text(&app["tasksHealthy"]),
            text(&app["cpus"]),
            text(&app["mem"]),
            if deploying { "yes" } else { "no" }.to_string(),
            text(&app["version"]),
        ]);
    }
    table.render("")
}

pub fn app(app: &Value) -> String {
    let mut table = Table::headless();
    for field in [
        "id",
        "cmd",
        "instances",
        "tasksRunning",
        "tasksHealthy",
        "tasksUnhealthy",
        "tasksStaged",
        "cpus",
        "mem",
        "disk",
        "version",
    ] {
        if let Some(value) = app.get(field) {
            table.row([field.to_string(), text(value)]);
        }
    }
    table.render("")
}

pub fn tasks(answer: &Value) -> String {
    let mut table = Table::new(["ID", "STATE", "HOST", "PORTS", "HEALTHY", "VERSION"]);
    for task in answer["tasks"].as_array().into_iter().flatten() {
        let healthy = task["healthCheckResults"]
            .as_array()
            .map_or("-".to_string(), |r| {
                r.iter().all(|c| c["alive"] == true).to_string()
            });
        let ports: Vec<String> = task["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        table.row([
            text(&task["id"]),
            text(&task["state"]),
            text(&task["host"]),
            ports.join(","),
            healthy,
            text(&task["version"]),
        ]);
    }
    table.render("")
}

pub fn done_line(id: &str, app: &Value) -> String {
    if app.is_null() {
        return format!("{id}: removed");
    }
    format!(
        "{}: deployed version {}, {} of {} running",
        app["id"].as_str().unwrap_or(id),
        text(&app["version"]),
        text(&app["tasksRunning"]),
        text(&app["instances"]),
    )
}
