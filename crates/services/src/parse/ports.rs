//! `portDefinitions` (or the deprecated `ports`) and `fetch` (or the deprecated `uris`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::reader::{self, Fields, REQUIRED};
use super::rules;
use crate::model::ports::{Artifact, PortDefinition, is_archive};
use crate::validation::{Violations, element};

/// `fetch`, or the deprecated `uris` turned into artifacts (archives extracted); whether
/// `uris` was used.
pub fn fetch(f: &Fields, v: &mut Violations) -> (Vec<Artifact>, bool) {
    let uris = f.strings("uris", v).unwrap_or_default();
    let mut artifacts = Vec::new();
    if let Some(items) = f.array("fetch", v) {
        for (i, item) in items.iter().enumerate() {
            let path = element("/fetch", i);
            let Some(a) = Fields::of(item, &path, v) else {
                continue;
            };
            let uri = a.string("uri", v).unwrap_or_default();
            if uri.is_empty() && !v.has(&a.path("uri")) {
                v.add(&a.path("uri"), REQUIRED);
            }
            if uri.len() > 1024 {
                v.add(&a.path("uri"), "must be at most 1024 characters");
            }
            artifacts.push(Artifact {
                uri,
                extract: a.bool("extract", v).unwrap_or(true),
                executable: a.bool("executable", v).unwrap_or(false),
                cache: a.bool("cache", v).unwrap_or(false),
                dest_path: a.string("destPath", v),
            });
        }
    }
    if !uris.is_empty() && !artifacts.is_empty() {
        v.add("/uris", "may not be set in conjunction with fetch");
        return (artifacts, false);
    }
    if uris.is_empty() {
        return (artifacts, false);
    }
    let from_uris = uris
        .into_iter()
        .map(|uri| Artifact {
            extract: is_archive(&uri),
            uri,
            executable: false,
            cache: false,
            dest_path: None,
        })
        .collect();
    (from_uris, true)
}

/// `portDefinitions`, or the deprecated `ports`, or Marathon's one default port; and
/// `requirePorts`.
pub fn ports(f: &Fields, v: &mut Violations) -> (Vec<PortDefinition>, bool) {
    let require_ports = f.bool("requirePorts", v).unwrap_or(false);
    let legacy: Option<Vec<u32>> = f.array("ports", v).map(|items| {
        items
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                reader::integer_value(p, 0, 65535, &element("/ports", i), v)
                    .and_then(|p| u32::try_from(p).ok())
            })
            .collect()
    });
    let definitions: Option<Vec<PortDefinition>> = f.array("portDefinitions", v).map(|items| {
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| port_definition(item, &element("/portDefinitions", i), v))
            .collect()
    });
    let definitions = match (definitions, legacy) {
        (Some(defs), Some(ports)) => {
            if defs.iter().map(|d| d.port).collect::<Vec<_>>() != ports {
                v.add("/", "cannot specify both ports and port definitions");
            }
            defs
        }
        (Some(defs), None) => defs,
        (None, Some(ports)) => {
            let unique: std::collections::BTreeSet<_> = ports.iter().filter(|p| **p != 0).collect();
            if unique.len() != ports.iter().filter(|p| **p != 0).count() {
                v.add("/ports", "ports must be unique");
            }
            ports
                .into_iter()
                .map(|port| PortDefinition {
                    port,
                    labels: BTreeMap::new(),
                    name: None,
                    protocol: "tcp".to_string(),
                })
                .collect()
        }
        (None, None) => vec![PortDefinition::default_port()],
    };
    (definitions, require_ports)
}

fn port_definition(item: &Value, path: &str, v: &mut Violations) -> Option<PortDefinition> {
    let d = Fields::of(item, path, v)?;
    let name = d.string("name", v);
    if let Some(name) = &name
        && !rules::is_legacy_name(name)
    {
        v.add(
            &d.path("name"),
            "must fully match regular expression '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'",
        );
    }
    let protocol = d.string("protocol", v).unwrap_or_else(|| "tcp".into());
    if !["tcp", "udp", "udp,tcp"].contains(&protocol.as_str()) {
        v.add(&d.path("protocol"), "must be one of tcp, udp, udp,tcp");
    }
    Some(PortDefinition {
        port: d
            .integer("port", 0, 65535, v)
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(0),
        labels: d.string_map("labels", v).unwrap_or_default(),
        name,
        protocol,
    })
}
