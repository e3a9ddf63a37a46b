//! From a request body to a canonical [`App`]: every field read with its type and range
//! checked, Marathon's defaults filled in, deprecated fields (`uris`, `ports`) moved to their
//! replacements, then the rules across fields. Every problem is reported at once, each with
//! its JSON path.

pub mod checks;
pub mod merge;
pub mod ports;
pub mod reader;
pub mod rules;
pub mod unsupported;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::App;
use crate::model::constraint::Constraint;
use crate::model::strategy::{
    Disabled, KillSelection, Network, UnreachableStrategy, UpgradeStrategy,
};
use crate::path_id::PathId;
use crate::time::Timestamp;
use crate::validation::{Violations, element};
use reader::{Fields, NOT_A_STRING, REQUIRED};

/// What parsing needs besides the body.
#[derive(Debug, Clone)]
pub struct ParseContext {
    /// The role the services framework is registered with: the only one an app may name.
    pub framework_role: String,
    /// The version the parsed app gets.
    pub version: Timestamp,
}

/// Marathon's defaults for an app (raml `App`).
pub mod defaults {
    pub const CPUS: f64 = 1.0;
    pub const MEM: f64 = 128.0;
    pub const DISK: f64 = 0.0;
    pub const INSTANCES: u32 = 1;
    pub const BACKOFF_SECONDS: u32 = 1;
    pub const BACKOFF_FACTOR: f64 = 1.15;
    pub const MAX_LAUNCH_DELAY_SECONDS: u32 = 3600;
}

const SECRETS_DISABLED: &str =
    "Feature secrets is not enabled. Enable with --enable_features secrets)";

/// Parses and validates a whole app definition.
pub fn parse_app(body: &Value, ctx: &ParseContext) -> Result<App, Violations> {
    let mut v = Violations::new();
    let Some(f) = Fields::of(body, "", &mut v) else {
        return Err(v);
    };
    let id = match f.string("id", &mut v) {
        Some(id) => {
            for problem in PathId::problems(&id) {
                v.add("/id", problem);
            }
            PathId::parse(&id).to_string()
        }
        None => {
            if !v.has("/id") {
                v.add("/id", REQUIRED);
            }
            String::new()
        }
    };
    unsupported::refuse(&f, &mut v);
    let cmd = f.string("cmd", &mut v);
    if cmd.as_deref().is_some_and(|c| c.chars().count() <= 1) {
        v.add("/cmd", "must not be an empty string");
    }
    let args = f.strings("args", &mut v).unwrap_or_default();
    let (fetch, uris_given) = ports::fetch(&f, &mut v);
    let (port_definitions, require_ports) = ports::ports(&f, &mut v);
    let constraints = constraints(&f, &mut v);
    let accepted_resource_roles = accepted_roles(&f, &mut v);
    let role = f.string("role", &mut v);
    if let Some(role) = &role
        && role != &ctx.framework_role
    {
        v.add(
            "/role",
            format!(
                "role '{role}' is not allowed: the services framework is registered for role '{}'",
                ctx.framework_role
            ),
        );
    }
    let health_checks = f
        .array("healthChecks", &mut v)
        .map(|items| {
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    checks::health_check(item, &element("/healthChecks", i), &mut v)
                })
                .collect()
        })
        .unwrap_or_default();
    let readiness_checks = f
        .array("readinessChecks", &mut v)
        .map(|items| {
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    checks::readiness_check(item, &element("/readinessChecks", i), &mut v)
                })
                .collect()
        })
        .unwrap_or_default();
    let dependencies = f
        .strings("dependencies", &mut v)
        .unwrap_or_default()
        .iter()
        .map(|d| PathId::parse(d).to_string())
        .collect();
    let app = App {
        id,
        accepted_resource_roles,
        args,
        backoff_factor: f
            .number("backoffFactor", 1.0, None, &mut v)
            .unwrap_or(defaults::BACKOFF_FACTOR),
        backoff_seconds: f
            .u32("backoffSeconds", 0, &mut v)
            .unwrap_or(defaults::BACKOFF_SECONDS),
        cmd,
        constraints,
        container: unsupported::container(&f, &mut v),
        cpus: f
            .number("cpus", 0.001, None, &mut v)
            .unwrap_or(defaults::CPUS),
        dependencies,
        disk: f
            .number("disk", 0.0, None, &mut v)
            .unwrap_or(defaults::DISK),
        env: env(&f, &mut v),
        executor: unsupported::executor(&f, &mut v),
        fetch,
        gpus: f.u32("gpus", 0, &mut v).unwrap_or(0),
        health_checks,
        instances: f.u32("instances", 0, &mut v).unwrap_or(defaults::INSTANCES),
        labels: f.string_map("labels", &mut v).unwrap_or_default(),
        max_launch_delay_seconds: f
            .u32("maxLaunchDelaySeconds", 0, &mut v)
            .unwrap_or(defaults::MAX_LAUNCH_DELAY_SECONDS),
        mem: f.number("mem", 0.0, None, &mut v).unwrap_or(defaults::MEM),
        networks: vec![Network::host()],
        port_definitions,
        readiness_checks,
        require_ports,
        task_kill_grace_period_seconds: f.u32("taskKillGracePeriodSeconds", 0, &mut v),
        upgrade_strategy: upgrade_strategy(&f, &mut v),
        user: f.string("user", &mut v),
        version: ctx.version,
        version_info: None,
        unreachable_strategy: unreachable_strategy(&f, &mut v),
        kill_selection: kill_selection(&f, &mut v),
        tty: f.bool("tty", &mut v),
        role,
    };
    if uris_given && app.fetch.iter().any(|a| a.uri.is_empty()) {
        v.add("/uris", "must not contain empty URIs");
    }
    rules::check(&app, &mut v);
    v.into_result(app)
}

fn env(f: &Fields, v: &mut Violations) -> BTreeMap<String, String> {
    let Some(env) = f.object("env", v) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for (name, value) in env.entries() {
        match value {
            Value::String(s) => {
                out.insert(name.clone(), s.clone());
            }
            Value::Object(o) if o.contains_key("secret") => {
                v.add(&env.path(name), SECRETS_DISABLED)
            }
            _ => v.add(&env.path(name), NOT_A_STRING),
        }
    }
    out
}

fn constraints(f: &Fields, v: &mut Violations) -> Vec<Constraint> {
    let Some(items) = f.array("constraints", v) else {
        return Vec::new();
    };
    let mut out: Vec<Constraint> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = element("/constraints", i);
        let Some(parts) = item.as_array() else {
            v.add(&path, reader::NOT_AN_ARRAY);
            continue;
        };
        let Some(fields) = parts
            .iter()
            .map(|p| p.as_str().map(String::from))
            .collect::<Option<Vec<String>>>()
        else {
            v.add(&path, "must be an array of strings");
            continue;
        };
        match Constraint::from_fields(&fields) {
            Ok(c) if out.contains(&c) => v.add("/constraints", "Elements must be unique."),
            Ok(c) => out.push(c),
            Err(message) => v.add(&path, message),
        }
    }
    out
}

fn accepted_roles(f: &Fields, v: &mut Violations) -> Vec<String> {
    let Some(roles) = f.strings("acceptedResourceRoles", v) else {
        return Vec::new();
    };
    if roles.is_empty() {
        v.add("/acceptedResourceRoles", "must not be empty");
    }
    let mut unique: Vec<String> = Vec::new();
    for (i, role) in roles.into_iter().enumerate() {
        if !rules::is_role_name(&role) {
            v.add(
                &element("/acceptedResourceRoles", i),
                format!("'{role}' is not a valid role name"),
            );
        }
        if !unique.contains(&role) {
            unique.push(role);
        }
    }
    unique
}

fn upgrade_strategy(f: &Fields, v: &mut Violations) -> UpgradeStrategy {
    let Some(s) = f.object("upgradeStrategy", v) else {
        return UpgradeStrategy::default();
    };
    let defaults = UpgradeStrategy::default();
    UpgradeStrategy {
        maximum_over_capacity: s
            .number("maximumOverCapacity", 0.0, Some(1.0), v)
            .unwrap_or(defaults.maximum_over_capacity),
        minimum_health_capacity: s
            .number("minimumHealthCapacity", 0.0, Some(1.0), v)
            .unwrap_or(defaults.minimum_health_capacity),
        // Beyond Marathon (Nomad's canary and auto_revert).
        canary: s.u32("canary", 0, v).filter(|n| *n > 0),
        canary_healthy_seconds: s.u32("canaryHealthySeconds", 0, v),
        auto_rollback: s.bool("autoRollback", v),
    }
}

fn unreachable_strategy(f: &Fields, v: &mut Violations) -> UnreachableStrategy {
    match f.get("unreachableStrategy") {
        None => UnreachableStrategy::default(),
        Some(Value::String(s)) if s == "disabled" => {
            UnreachableStrategy::Disabled(Disabled::Disabled)
        }
        Some(value @ Value::Object(_)) => {
            let Some(s) = Fields::of(value, "/unreachableStrategy", v) else {
                return UnreachableStrategy::default();
            };
            let inactive = s
                .integer("inactiveAfterSeconds", 0, i64::MAX, v)
                .unwrap_or(0);
            let expunge = s
                .integer("expungeAfterSeconds", 0, i64::MAX, v)
                .unwrap_or(0);
            if inactive > expunge {
                v.add(
                    "/unreachableStrategy/inactiveAfterSeconds",
                    format!("got {inactive}, expected {expunge} or less"),
                );
            }
            UnreachableStrategy::Enabled {
                inactive_after_seconds: inactive,
                expunge_after_seconds: expunge,
            }
        }
        Some(_) => {
            v.add(
                "/unreachableStrategy",
                "must be \"disabled\" or an object with inactiveAfterSeconds and expungeAfterSeconds",
            );
            UnreachableStrategy::default()
        }
    }
}

fn kill_selection(f: &Fields, v: &mut Violations) -> KillSelection {
    match f.string("killSelection", v) {
        None => KillSelection::default(),
        Some(text) => KillSelection::parse(&text).unwrap_or_else(|| {
            v.add(
                "/killSelection",
                "must be one of YOUNGEST_FIRST, OLDEST_FIRST",
            );
            KillSelection::default()
        }),
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
