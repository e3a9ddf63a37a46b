//! Plugin consent is the operator's: a client's `accept_capabilities` accepts only what the
//! master's `--plugin-capabilities-allowed` lets any plugin have, and who accepted what is in
//! the audit log. (Installing at all needs `install_plugins` when ACLs are set.)

use corral_http::error::ApiError;
use corral_plugin_host::manifest::{Capabilities, Manifest};

/// The capability classes a manifest can ask for, by their manifest field names.
pub const CLASSES: [&str; 5] = [
    "devices",
    "read_paths",
    "cgroup_controllers",
    "task_environment",
    "override_task_environment",
];

/// Which capability classes plugins may be given; `None`: every class (the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapabilityPolicy {
    allowed: Option<Vec<String>>,
}

impl CapabilityPolicy {
    /// `--plugin-capabilities-allowed`: a comma-separated list of classes, or `none`.
    pub fn parse(text: &str) -> Result<CapabilityPolicy, String> {
        let text = text.trim();
        if text == "none" {
            return Ok(CapabilityPolicy {
                allowed: Some(Vec::new()),
            });
        }
        let mut allowed = Vec::new();
        for class in text.split(',').map(str::trim) {
            if !CLASSES.contains(&class) {
                return Err(format!(
                    "unknown capability class '{class}' (known: {}, or none)",
                    CLASSES.join(", ")
                ));
            }
            allowed.push(class.to_string());
        }
        Ok(CapabilityPolicy {
            allowed: Some(allowed),
        })
    }

    /// Refuses a manifest that asks for a class the policy does not allow (403).
    pub fn check(&self, manifest: &Manifest) -> Result<(), ApiError> {
        let Some(allowed) = &self.allowed else {
            return Ok(());
        };
        let refused: Vec<&str> = asked(&manifest.capabilities)
            .into_iter()
            .filter(|class| !allowed.iter().any(|a| a == class))
            .collect();
        if refused.is_empty() {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "plugin '{}' asks for capabilities this master does not allow plugins \
             (--plugin-capabilities-allowed): {}",
            manifest.name,
            refused.join(", ")
        )))
    }
}

/// The classes a plugin's manifest asks for.
pub fn asked(capabilities: &Capabilities) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !capabilities.devices.is_empty() {
        out.push("devices");
    }
    if !capabilities.read_paths.is_empty() {
        out.push("read_paths");
    }
    if !capabilities.cgroup_controllers.is_empty() {
        out.push("cgroup_controllers");
    }
    if capabilities.task_environment {
        out.push("task_environment");
    }
    if capabilities.override_task_environment {
        out.push("override_task_environment");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(capabilities: &str) -> Manifest {
        Manifest::parse(&format!(
            "name = \"p\"\nkind = \"hook\"\nversion = \"1.0.0\"\nwit = \"{}\"\n[capabilities]\n{capabilities}",
            corral_plugin_host::WIT_VERSION
        ))
        .expect("a manifest")
    }

    #[test]
    fn only_the_allowed_classes_pass() {
        let policy = CapabilityPolicy::parse("devices").expect("valid");
        assert!(policy.check(&manifest("devices = [\"/dev/null\"]")).is_ok());
        let refused = policy
            .check(&manifest("task_environment = true"))
            .expect_err("refused");
        assert_eq!(refused.status.as_u16(), 403);
        assert!(
            refused.message.contains("task_environment"),
            "{}",
            refused.message
        );
        let none = CapabilityPolicy::parse("none").expect("valid");
        assert!(none.check(&manifest("devices = [\"/dev/null\"]")).is_err());
        assert!(none.check(&manifest("")).is_ok());
        assert!(
            CapabilityPolicy::default()
                .check(&manifest("task_environment = true"))
                .is_ok()
        );
        assert!(CapabilityPolicy::parse("devices,net").is_err());
    }
}
