//! `healthChecks` and `readinessChecks`: each entry read with Marathon's defaults (the RAML
//! `default:` values) and its own rules; the rules that involve the app's ports are in
//! `rules.rs`.

use serde_json::Value;

use super::reader::{Fields, NOT_A_STRING, REQUIRED, integer_value};
use crate::model::checks::{CommandCheck, HEALTH_PROTOCOLS, HealthCheck, ReadinessCheck};
use crate::validation::{Violations, element};

const IPV6_LIMITATION: &str =
    "IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks";

pub fn health_check(value: &Value, path: &str, v: &mut Violations) -> Option<HealthCheck> {
    let f = Fields::of(value, path, v)?;
    let protocol = f.string("protocol", v).unwrap_or_else(|| "HTTP".into());
    if !HEALTH_PROTOCOLS.contains(&protocol.as_str()) {
        v.add(
            &f.path("protocol"),
            format!("must be one of {}", HEALTH_PROTOCOLS.join(", ")),
        );
    }
    if protocol == "MESOS_HTTPS" {
        v.add(
            &f.path("protocol"),
            "MESOS_HTTPS is not supported: Corral's agents have no TLS client (use HTTPS, run by the services component)",
        );
    }
    let command = f
        .object("command", v)
        .and_then(|c| match c.string("value", v) {
            Some(value) => Some(CommandCheck { value }),
            None => {
                v.add(&c.path("value"), REQUIRED);
                None
            }
        });
    match (&command, protocol.as_str()) {
        (None, "COMMAND") => v.add(&f.path("command"), "is required for protocol COMMAND"),
        (Some(_), p) if p != "COMMAND" => v.add(
            &f.path("command"),
            format!("illegal protocol {p} specified with command"),
        ),
        _ => {}
    }
    let ip_protocol = f.string("ipProtocol", v).unwrap_or_else(|| "IPv4".into());
    match ip_protocol.as_str() {
        "IPv4" => {}
        "IPv6" => v.add(&f.path("ipProtocol"), IPV6_LIMITATION),
        _ => v.add(&f.path("ipProtocol"), "must be one of IPv4, IPv6"),
    }
    let http = matches!(protocol.as_str(), "HTTP" | "HTTPS");
    let uses_path = http || matches!(protocol.as_str(), "MESOS_HTTP" | "MESOS_HTTPS");
    let port = f
        .integer("port", 0, 65535, v)
        .and_then(|p| u32::try_from(p).ok());
    let mut port_index = f.u32("portIndex", 0, v);
    // Marathon re-adds the index that used to be required (AppNormalization).
    if protocol != "COMMAND" && port.is_none() && port_index.is_none() {
        port_index = Some(0);
    }
    Some(HealthCheck {
        grace_period_seconds: f.u32("gracePeriodSeconds", 0, v).unwrap_or(300),
        ignore_http1xx: http.then(|| f.bool("ignoreHttp1xx", v).unwrap_or(false)),
        interval_seconds: f.u32("intervalSeconds", 0, v).unwrap_or(60),
        max_consecutive_failures: f.u32("maxConsecutiveFailures", 0, v).unwrap_or(3),
        path: if uses_path { f.string("path", v) } else { None },
        port: if command.is_none() { port } else { None },
        port_index: if command.is_none() { port_index } else { None },
        timeout_seconds: f.u32("timeoutSeconds", 0, v).unwrap_or(20),
        delay_seconds: f.u32("delaySeconds", 0, v).unwrap_or(15),
        command,
        protocol,
        ip_protocol,
    })
}

pub fn readiness_check(value: &Value, path: &str, v: &mut Violations) -> Option<ReadinessCheck> {
    let f = Fields::of(value, path, v)?;
    let name = f
        .string("name", v)
        .unwrap_or_else(|| "readinessCheck".into());
    if name.is_empty() {
        v.add(&f.path("name"), "must not be empty");
    }
    let protocol = f.string("protocol", v).unwrap_or_else(|| "HTTP".into());
    if protocol != "HTTP" && protocol != "HTTPS" {
        v.add(&f.path("protocol"), "must be one of HTTP, HTTPS");
    }
    let check_path = f.string("path", v).unwrap_or_else(|| "/".into());
    if check_path.is_empty() {
        v.add(&f.path("path"), "must not be empty");
    }
    let mut codes = Vec::new();
    match f.array("httpStatusCodesForReady", v) {
        None => codes.push(200),
        Some(items) => {
            let codes_path = f.path("httpStatusCodesForReady");
            for (i, item) in items.iter().enumerate() {
                if let Some(code) = integer_value(item, 100, 999, &element(&codes_path, i), v)
                    .and_then(|c| u32::try_from(c).ok())
                {
                    codes.push(code);
                }
            }
            if items.is_empty() {
                v.add(&codes_path, "must not be empty");
            }
            let mut unique = codes.clone();
            unique.sort_unstable();
            unique.dedup();
            if unique.len() != codes.len() {
                v.add(&codes_path, "Elements must be unique.");
            }
        }
    }
    let interval_seconds = f.u32("intervalSeconds", 0, v).unwrap_or(30);
    let timeout_seconds = f.u32("timeoutSeconds", 1, v).unwrap_or(10);
    if timeout_seconds >= interval_seconds && !v.has(&f.path("intervalSeconds")) {
        v.add(
            &f.path("timeoutSeconds"),
            format!("got {timeout_seconds}, expected less than {interval_seconds}"),
        );
    }
    let port_name = match f.get("portName") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            v.add(&f.path("portName"), NOT_A_STRING);
            String::new()
        }
        None => "http-api".into(),
    };
    Some(ReadinessCheck {
        name,
        protocol,
        path: check_path,
        port_name,
        interval_seconds,
        timeout_seconds,
        http_status_codes_for_ready: codes,
        preserve_last_response: f.bool("preserveLastResponse", v).unwrap_or(false),
    })
}
