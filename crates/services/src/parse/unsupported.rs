//! Fields Corral cannot honour yet are refused with a 422 that says so, rather than accepted
//! and silently ignored: container images, non-host networks, custom executors, secrets,
//! IP-per-task.

use serde_json::{Value, json};

use super::reader::Fields;
use crate::validation::{Violations, element};

pub const IMAGES_NOT_SUPPORTED: &str = "container images are not supported yet: Corral runs the \
     app's cmd or args on the agent's host (a MESOS container without an image is accepted)";

/// Fields refused outright when present.
pub fn refuse(f: &Fields, v: &mut Violations) {
    if f.has("ipAddress") {
        v.add(
            "/ipAddress",
            "ipAddress (IP-per-task networking) is not supported yet",
        );
    }
    if f.get("secrets")
        .and_then(Value::as_object)
        .is_some_and(|s| !s.is_empty())
    {
        v.add(
            "/secrets",
            "Feature secrets is not enabled. Enable with --enable_features secrets)",
        );
    }
    if let Some(networks) = f.array("networks", v) {
        for (i, network) in networks.iter().enumerate() {
            let mode = network
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("container");
            if mode != "host" {
                v.add(
                    &format!("{}/mode", element("/networks", i)),
                    format!("network mode '{mode}' is not supported yet: only host networking is"),
                );
            }
        }
    }
}

/// `container`: only `{"type": "MESOS"}` without an image, volumes or port mappings.
pub fn container(f: &Fields, v: &mut Violations) -> Option<Value> {
    let c = f.object("container", v)?;
    let kind = c.string("type", v).unwrap_or_else(|| "DOCKER".into());
    let has_image = ["docker", "appc"].iter().any(|k| c.has(k));
    match kind.as_str() {
        "DOCKER" => v.add("/container", IMAGES_NOT_SUPPORTED),
        "MESOS" if has_image => v.add("/container", IMAGES_NOT_SUPPORTED),
        "MESOS" => {}
        _ => v.add("/container/type", "must be one of MESOS, DOCKER"),
    }
    if c.get("volumes")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        v.add("/container/volumes", "volumes are not supported yet");
    }
    if c.get("portMappings")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        v.add("/", "portMappings are not allowed with host-networking");
    }
    Some(json!({"type": "MESOS", "volumes": []}))
}

/// `executor`: the default (`""`) or the command executor (`//cmd`).
pub fn executor(f: &Fields, v: &mut Violations) -> String {
    let executor = f.string("executor", v).unwrap_or_default();
    if !executor.is_empty() && executor != "//cmd" {
        v.add(
            "/executor",
            "custom executors are not supported yet (use \"\" or \"//cmd\")",
        );
    }
    executor
}
