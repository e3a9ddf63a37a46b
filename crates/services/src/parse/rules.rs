//! Rules across the fields of an app (Marathon's AppValidation and SchedulingValidation), run
//! once every field has been read.

use std::collections::BTreeSet;

use crate::model::App;
use crate::validation::{Violations, element, member};

/// The label that makes an app a single-instance app.
pub const SINGLE_INSTANCE_LABEL: &str = "MARATHON_SINGLE_INSTANCE_APP";

pub fn check(app: &App, v: &mut Violations) {
    if app.cmd.is_some() != app.args.is_empty() {
        v.add(
            "/",
            "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
        );
    }
    port_definitions(app, v);
    health_checks(app, v);
    readiness_checks(app, v);
    single_instance(app, v);
}

fn port_definitions(app: &App, v: &mut Violations) {
    let names: Vec<&String> = app
        .port_definitions
        .iter()
        .filter_map(|p| p.name.as_ref())
        .collect();
    if names.iter().collect::<BTreeSet<_>>().len() != names.len() {
        v.add("/portDefinitions", "Port names must be unique.");
    }
    let ports: Vec<u32> = app
        .port_definitions
        .iter()
        .map(|p| p.port)
        .filter(|p| *p != 0)
        .collect();
    if ports.iter().collect::<BTreeSet<_>>().len() != ports.len() {
        v.add("/portDefinitions", "Ports must be unique.");
    }
}

fn health_checks(app: &App, v: &mut Violations) {
    let port_count = app.port_definitions.len();
    for (i, check) in app.health_checks.iter().enumerate() {
        if !check.uses_port() {
            continue;
        }
        let valid = match check.port_index {
            Some(index) => usize::try_from(index).is_ok_and(|index| index < port_count),
            None => check.port.is_some() || port_count == 1,
        };
        if !valid {
            v.add(
                &element("/healthChecks", i),
                "Health check port indices must address an element of the ports array or container port mappings.",
            );
        }
    }
    if app
        .health_checks
        .iter()
        .filter(|c| c.is_mesos_check())
        .count()
        > 1
    {
        v.add(
            "/",
            "AppDefinition can contain at most one Mesos health check",
        );
    }
}

fn readiness_checks(app: &App, v: &mut Violations) {
    let count = app.readiness_checks.len();
    if count > 1 {
        v.add(
            "/readinessChecks",
            format!("has size {count}, expected 1 or less"),
        );
    }
    let port_names: BTreeSet<&str> = app
        .port_definitions
        .iter()
        .filter_map(|p| p.name.as_deref())
        .collect();
    for (i, check) in app.readiness_checks.iter().enumerate() {
        if !port_names.contains(check.port_name.as_str()) {
            v.add(
                &member(&element("/readinessChecks", i), "portName"),
                format!(
                    "No port definition reference for portName {}",
                    check.port_name
                ),
            );
        }
    }
}

fn single_instance(app: &App, v: &mut Violations) {
    if app.labels.get(SINGLE_INSTANCE_LABEL).map(String::as_str) != Some("true") {
        return;
    }
    if app.instances > 1 {
        v.add("/", "Single instance app may only have one instance");
    }
    let strategy = app.upgrade_strategy;
    if strategy.minimum_health_capacity != 0.0 {
        v.add(
            "/upgradeStrategy/minimumHealthCapacity",
            format!("got {}, expected 0.0", strategy.minimum_health_capacity),
        );
    }
    if strategy.maximum_over_capacity != 0.0 {
        v.add(
            "/upgradeStrategy/maximumOverCapacity",
            format!("got {}, expected 0.0", strategy.maximum_over_capacity),
        );
    }
}

/// A port name: `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$` (RAML `LegacyName`).
pub fn is_legacy_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(|b| edge(b) || *b == b'-')
}

/// A Mesos role name, or `*`.
pub fn is_role_name(role: &str) -> bool {
    if role == "*" {
        return true;
    }
    !role.is_empty()
        && role != "."
        && role != ".."
        && !role.starts_with('-')
        && !role.contains(|c: char| c.is_whitespace() || c == '\\' || c == '*')
        && !role
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
}
