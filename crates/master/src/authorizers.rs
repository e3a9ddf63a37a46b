//! The master's authorizers: its local ACLs (`--acls`, set once at start) and at most one
//! authorizer plugin (activated, swapped and deactivated while the master runs, through the
//! plugins API). Every request must pass both ([`AllOf`]); the plugin's answers go through a
//! [`DecisionCache`]. Readers take the composed authorizer, a cheap `Arc` clone; a swap
//! replaces it whole, so a request sees the old policy or the new one, never a mix.

use std::sync::{Arc, Mutex, RwLock};

use corral_authz::{AllOf, AllowAll, Authorizer};
use corral_plugin_host::store::ActiveAuthorizer;

/// The authorizer plugin in force, and what the store records of it.
#[derive(Clone)]
pub struct PluginSlot {
    pub active: ActiveAuthorizer,
    /// The plugin's name, for LIST.
    pub name: String,
    pub authorizer: Arc<dyn Authorizer>,
}

#[derive(Default)]
struct Parts {
    acls: Option<Arc<dyn Authorizer>>,
    plugin: Option<PluginSlot>,
}

pub struct Authorizers {
    parts: Mutex<Parts>,
    composed: RwLock<Arc<dyn Authorizer>>,
}

impl Default for Authorizers {
    fn default() -> Self {
        Authorizers {
            parts: Mutex::default(),
            composed: RwLock::new(Arc::new(AllowAll)),
        }
    }
}

impl Authorizers {
    /// What a request must pass now.
    pub fn current(&self) -> Arc<dyn Authorizer> {
        self.composed
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn set_acls(&self, acls: Arc<dyn Authorizer>) {
        self.change(|parts| parts.acls = Some(acls));
    }

    /// Puts `plugin` in force (`None`: no plugin); answers the one it replaced.
    pub fn set_plugin(&self, plugin: Option<PluginSlot>) -> Option<PluginSlot> {
        let mut replaced = None;
        self.change(|parts| replaced = std::mem::replace(&mut parts.plugin, plugin));
        replaced
    }

    /// The ACLs alone: they decide who may change the authorizer plugin, so that a plugin
    /// that refuses everything (or fails) cannot lock out its own replacement.
    pub fn acls(&self) -> Arc<dyn Authorizer> {
        self.lock_parts()
            .acls
            .clone()
            .unwrap_or_else(|| Arc::new(AllowAll))
    }

    pub fn plugin(&self) -> Option<PluginSlot> {
        self.lock_parts().plugin.clone()
    }

    fn change(&self, f: impl FnOnce(&mut Parts)) {
        let mut parts = self.lock_parts();
        f(&mut parts);
        let all: Vec<Arc<dyn Authorizer>> = parts
            .acls
            .iter()
            .cloned()
            .chain(parts.plugin.iter().map(|p| p.authorizer.clone()))
            .collect();
        let composed: Arc<dyn Authorizer> = match all.len() {
            0 => Arc::new(AllowAll),
            1 => all[0].clone(),
            _ => Arc::new(AllOf(all)),
        };
        *self
            .composed
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = composed;
    }

    fn lock_parts(&self) -> std::sync::MutexGuard<'_, Parts> {
        self.parts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_authz::{Action, Denied, Request};

    #[derive(Debug)]
    struct DenyAll;

    impl Authorizer for DenyAll {
        fn authorize(&self, request: &Request<'_>) -> Result<(), Denied> {
            Err(Denied::new(request, Some("plugin says no".into())))
        }
    }

    fn allowed(authorizers: &Authorizers) -> bool {
        let request = Request {
            subject: Some("alice"),
            action: Action::RunTasks,
            object: Some("root"),
        };
        authorizers.current().authorize(&request).is_ok()
    }

    #[test]
    fn a_plugin_is_asked_after_the_acls_and_can_be_swapped_out() {
        let authorizers = Authorizers::default();
        assert!(allowed(&authorizers));
        assert!(!authorizers.current().restricts(Action::RunTasks));
        authorizers.set_acls(Arc::new(AllowAll));
        let slot = PluginSlot {
            active: ActiveAuthorizer {
                plugin: "policy".into(),
                config: String::new(),
            },
            name: "policy".into(),
            authorizer: Arc::new(DenyAll),
        };
        assert!(authorizers.set_plugin(Some(slot)).is_none());
        assert!(!allowed(&authorizers));
        assert!(authorizers.current().restricts(Action::RunTasks));
        let replaced = authorizers
            .set_plugin(None)
            .expect("the plugin was in force");
        assert_eq!(replaced.name, "policy");
        assert!(allowed(&authorizers));
    }
}
