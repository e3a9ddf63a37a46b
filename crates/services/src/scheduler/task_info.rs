//! The Mesos `TaskInfo` for one task of an app, as Marathon's TaskBuilder makes it: the
//! command (shell `cmd`, or `args` as argv), the environment Marathon gives every task
//! (`MARATHON_APP_*`, `MESOS_TASK_ID`, `HOST`, `PORT0..n`, `PORTS`, `PORT_<NAME>`), the
//! fetcher's URIs, labels, discovery info, kill policy and Mesos-side health check.

use std::collections::BTreeMap;

use serde_json::json;

use corral_api::v1::{
    AgentId, CommandInfo, CommandUri, DurationInfo, Environment, EnvironmentVariable, KillPolicy,
    Label, Labels, Offer, TaskId, TaskInfo,
};

use super::resources::Taken;
use crate::model::App;

pub fn build(app: &App, task_id: &str, offer: &Offer, taken: &Taken) -> TaskInfo {
    let path = app.path_id();
    let mut env = task_context_env(app, task_id);
    env.extend(ports_env(app, &taken.host_ports));
    env.insert("HOST".into(), offer.hostname.clone());
    env.extend(app.env.clone());
    let mut command = CommandInfo {
        uris: app.fetch.iter().map(command_uri).collect(),
        environment: Some(Environment {
            variables: env
                .into_iter()
                .map(|(name, value)| EnvironmentVariable {
                    name,
                    value: Some(value),
                })
                .collect(),
        }),
        user: app.user.clone(),
        ..CommandInfo::default()
    };
    match (&app.cmd, app.args.first()) {
        (Some(cmd), None) => command.value = Some(cmd.clone()),
        (_, Some(program)) => {
            // Mesos runs `value` with `arguments` as argv (argv[0] first).
            command.shell = Some(false);
            command.value = Some(program.clone());
            command.arguments = app.args.clone();
        }
        (None, None) => command.shell = Some(false),
    }
    let health_check = crate::health::mesos::task_health_check(
        app,
        &taken.host_ports,
        command.environment.as_ref(),
    );
    TaskInfo {
        name: path.hostname(),
        health_check,
        task_id: TaskId::new(task_id),
        agent_id: AgentId::new(offer.agent_id.value.clone()),
        resources: taken.resources.clone(),
        command: Some(command),
        labels: (!app.labels.is_empty()).then(|| Labels {
            labels: app
                .labels
                .iter()
                .map(|(key, value)| Label {
                    key: key.clone(),
                    value: Some(value.clone()),
                })
                .collect(),
        }),
        discovery: Some(discovery(app, &taken.host_ports)),
        kill_policy: app.task_kill_grace_period_seconds.map(|s| KillPolicy {
            grace_period: Some(DurationInfo {
                nanoseconds: i64::from(s) * 1_000_000_000,
            }),
        }),
        ..TaskInfo::default()
    }
}

fn command_uri(artifact: &crate::model::ports::Artifact) -> CommandUri {
    CommandUri {
        value: artifact.uri.clone(),
        executable: Some(artifact.executable),
        extract: Some(artifact.extract),
        cache: Some(artifact.cache),
        output_file: artifact.dest_path.clone(),
    }
}

/// `MESOS_TASK_ID`, `MARATHON_APP_*` and the label variables.
fn task_context_env(app: &App, task_id: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("MESOS_TASK_ID".into(), task_id.to_string());
    env.insert("MARATHON_APP_ID".into(), app.id.clone());
    env.insert("MARATHON_APP_VERSION".into(), app.version.to_string());
    env.insert("MARATHON_APP_RESOURCE_CPUS".into(), scala_double(app.cpus));
    env.insert("MARATHON_APP_RESOURCE_MEM".into(), scala_double(app.mem));
    env.insert("MARATHON_APP_RESOURCE_DISK".into(), scala_double(app.disk));
    env.insert("MARATHON_APP_RESOURCE_GPUS".into(), app.gpus.to_string());
    let mut names = Vec::new();
    for (key, value) in &app.labels {
        // Marathon skips labels too long for the environment.
        if key.len() >= 512 - "MARATHON_APP_LABEL_".len() || value.len() >= 512 {
            continue;
        }
        let name = escape_label(key);
        env.insert(format!("MARATHON_APP_LABEL_{name}"), value.clone());
        names.push(name);
    }
    env.insert("MARATHON_APP_LABELS".into(), names.join(" "));
    env
}

/// `PORT0..n`, `PORT_<requested port>`, `PORT_<NAME>`, `PORT` and `PORTS`.
pub fn ports_env(app: &App, host_ports: &[u32]) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    if host_ports.is_empty() {
        return env;
    }
    for (index, (definition, host)) in app.port_definitions.iter().zip(host_ports).enumerate() {
        env.insert(format!("PORT{index}"), host.to_string());
        let requested = if definition.port == 0 {
            *host
        } else {
            definition.port
        };
        env.insert(format!("PORT_{requested}"), host.to_string());
        if let Some(name) = &definition.name {
            env.insert(format!("PORT_{}", name.to_uppercase()), host.to_string());
        }
    }
    env.insert("PORT".into(), host_ports[0].to_string());
    let all: Vec<String> = host_ports.iter().map(u32::to_string).collect();
    env.insert("PORTS".into(), all.join(","));
    env
}

/// A label key as a variable name: runs of other characters become `_`, upper case.
fn escape_label(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut in_run = false;
    for c in key.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c.to_ascii_uppercase());
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out
}

/// A double as Scala's `toString` writes it (`1.0`, `0.1`, `128.0`).
fn scala_double(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e7 {
        format!("{value:.1}")
    } else {
        value.to_string()
    }
}

/// Mesos `DiscoveryInfo`: the app's hostname-like name and its ports.
fn discovery(app: &App, host_ports: &[u32]) -> serde_json::Value {
    let ports: Vec<serde_json::Value> = app
        .port_definitions
        .iter()
        .zip(host_ports)
        .flat_map(|(definition, host)| {
            definition.protocol.split(',').map(move |protocol| {
                let mut port = json!({"number": host, "protocol": protocol});
                if let Some(name) = &definition.name {
                    port["name"] = json!(name);
                }
                if !definition.labels.is_empty() {
                    let labels: Vec<serde_json::Value> = definition
                        .labels
                        .iter()
                        .map(|(k, v)| json!({"key": k, "value": v}))
                        .collect();
                    port["labels"] = json!({"labels": labels});
                }
                port
            })
        })
        .collect();
    json!({
        "visibility": "FRAMEWORK",
        "name": app.path_id().hostname(),
        "ports": {"ports": ports},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_and_doubles_match_marathon() {
        assert_eq!(escape_label("owner.team-x"), "OWNER_TEAM_X");
        assert_eq!(escape_label("a..b"), "A_B");
        assert_eq!(scala_double(1.0), "1.0");
        assert_eq!(scala_double(0.1), "0.1");
        assert_eq!(scala_double(128.0), "128.0");
    }
}
