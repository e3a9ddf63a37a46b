//! `first-fit`: an allocator written from scratch with the Corral SDK.
//!
//! Every agent with free resources goes, whole, to the framework that subscribed first among
//! those that are active, not suppressed and have not refused that agent. It is not fair (the
//! `drf` allocator is) but it packs work onto the oldest framework, and it shows everything a
//! policy needs: bookkeeping of free resources, refusals that expire, suppress and revive.

use std::collections::BTreeMap;

use corral_sdk::allocator::{Allocation, Allocator, Grant};
use corral_sdk::resources::Resources;
use corral_sdk::types::{AgentInfo, FrameworkInfo, Resource};

/// The manifest (`manifest.toml`), carried inside the component as its `corral-manifest`
/// custom section: the host reads it from there when no manifest file is given.
#[cfg(target_family = "wasm")]
#[used]
#[unsafe(link_section = "corral-manifest")]
static MANIFEST: [u8; include_bytes!("../manifest.toml").len()] =
    *include_bytes!("../manifest.toml");

#[derive(Default)]
pub struct FirstFit {
    /// Free resources per agent, by agent id (a BTreeMap, so agents go in a stable order).
    free: BTreeMap<String, Resources>,
    /// Frameworks in the order they subscribed.
    frameworks: Vec<Framework>,
}

struct Framework {
    info: FrameworkInfo,
    active: bool,
    suppressed: bool,
    /// Agent id -> time (ms since the epoch) until which the framework refuses it.
    refused: BTreeMap<String, u64>,
}

impl Framework {
    fn role(&self) -> String {
        self.info
            .roles
            .first()
            .cloned()
            .unwrap_or_else(|| "*".to_string())
    }

    /// Unreserved resources and those reserved for its role; gpus only if it can use them.
    fn usable(&self, free: &Resources) -> Resources {
        let role = self.role();
        let gpus = self.info.capabilities.iter().any(|c| c == "GPU_RESOURCES");
        free.filter(|r| {
            r.reservation
                .as_deref()
                .is_none_or(|reserved| reserved == role)
                && !r.revocable
                && (gpus || r.name != "gpus")
        })
    }

    fn find<'a>(frameworks: &'a mut [Framework], id: &str) -> Option<&'a mut Framework> {
        frameworks.iter_mut().find(|f| f.info.id == id)
    }
}

impl Allocator for FirstFit {
    fn add_agent(&mut self, agent: AgentInfo, allocated: Vec<Allocation>) {
        let mut free = Resources::from_list(&agent.resources);
        for held in &allocated {
            free.subtract_all(&held.resources);
        }
        self.free.insert(agent.id, free);
    }

    fn update_agent(&mut self, agent: AgentInfo) {
        // Simplest correct answer: forget the agent's free resources until they are recovered.
        // A production policy would track allocations to recompute them.
        corral_sdk::log::warn(&format!(
            "first-fit: agent {} changed; its new resources count once recovered",
            agent.id
        ));
    }

    fn remove_agent(&mut self, agent_id: String) {
        self.free.remove(&agent_id);
    }

    fn add_framework(&mut self, framework: FrameworkInfo, active: bool) {
        self.frameworks.retain(|f| f.info.id != framework.id);
        self.frameworks.push(Framework {
            info: framework,
            active,
            suppressed: false,
            refused: BTreeMap::new(),
        });
    }

    fn update_framework(&mut self, framework: FrameworkInfo) {
        if let Some(known) = Framework::find(&mut self.frameworks, &framework.id) {
            known.info = framework;
        }
    }

    fn remove_framework(&mut self, framework_id: String) {
        self.frameworks.retain(|f| f.info.id != framework_id);
    }

    fn activate_framework(&mut self, framework_id: String) {
        if let Some(framework) = Framework::find(&mut self.frameworks, &framework_id) {
            framework.active = true;
        }
    }

    fn deactivate_framework(&mut self, framework_id: String) {
        if let Some(framework) = Framework::find(&mut self.frameworks, &framework_id) {
            framework.active = false;
        }
    }

    fn suppress(&mut self, framework_id: String, _roles: Vec<String>) {
        if let Some(framework) = Framework::find(&mut self.frameworks, &framework_id) {
            framework.suppressed = true;
        }
    }

    fn revive(&mut self, framework_id: String, _roles: Vec<String>) {
        if let Some(framework) = Framework::find(&mut self.frameworks, &framework_id) {
            framework.suppressed = false;
            framework.refused.clear();
        }
    }

    fn recover(
        &mut self,
        agent_id: String,
        framework_id: String,
        resources: Vec<Resource>,
        refuse_until: Option<u64>,
    ) {
        let Some(free) = self.free.get_mut(&agent_id) else {
            return;
        };
        free.add_all(&resources);
        if let Some(until) = refuse_until
            && let Some(framework) = Framework::find(&mut self.frameworks, &framework_id)
        {
            framework.refused.insert(agent_id, until);
        }
    }

    fn allocate(&mut self, now: u64) -> Vec<Grant> {
        for framework in &mut self.frameworks {
            framework.refused.retain(|_, until| *until > now);
        }
        let mut grants = Vec::new();
        for (agent_id, free) in &mut self.free {
            for framework in &self.frameworks {
                if !framework.active
                    || framework.suppressed
                    || framework.refused.contains_key(agent_id)
                {
                    continue;
                }
                let offer = framework.usable(free);
                if offer.is_empty() {
                    continue;
                }
                free.subtract_all(offer.as_slice());
                grants.push(Grant {
                    agent_id: agent_id.clone(),
                    framework_id: framework.info.id.clone(),
                    role: framework.role(),
                    resources: offer.to_vec(),
                });
            }
        }
        grants
    }

    fn inspect(&mut self) -> String {
        let order: Vec<&str> = self.frameworks.iter().map(|f| f.info.id.as_str()).collect();
        format!(
            "{{\"policy\":\"first-fit\",\"agents\":{},\"frameworks_in_order\":{order:?}}}",
            self.free.len()
        )
    }
}

corral_sdk::export_allocator!(FirstFit);

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_000_000;

    fn agent(id: &str) -> AgentInfo {
        AgentInfo {
            id: id.into(),
            hostname: id.into(),
            resources: vec![
                Resource::scalar("cpus", 2.0),
                Resource::scalar("mem", 1024.0),
            ],
            attributes: vec![],
        }
    }

    fn framework(id: &str) -> FrameworkInfo {
        FrameworkInfo {
            id: id.into(),
            name: id.into(),
            roles: vec!["*".into()],
            capabilities: vec![],
            principal: None,
        }
    }

    /// Two agents; "late" subscribes before "early" is even known by id order, to show that
    /// subscription order, not id order, decides.
    fn policy() -> FirstFit {
        let mut policy = FirstFit::default();
        policy.add_agent(agent("a1"), vec![]);
        policy.add_agent(agent("a2"), vec![]);
        policy.add_framework(framework("zz-first"), true);
        policy.add_framework(framework("aa-second"), true);
        policy
    }

    fn owners(grants: &[Grant]) -> Vec<(&str, &str)> {
        grants
            .iter()
            .map(|g| (g.agent_id.as_str(), g.framework_id.as_str()))
            .collect()
    }

    #[test]
    fn every_agent_goes_to_the_first_subscriber() {
        let mut policy = policy();
        let grants = policy.allocate(NOW);
        assert_eq!(owners(&grants), [("a1", "zz-first"), ("a2", "zz-first")]);
        assert!(policy.allocate(NOW).is_empty(), "nothing is granted twice");
    }

    #[test]
    fn a_refusal_passes_the_agent_on_until_it_expires() {
        let mut policy = policy();
        let grants = policy.allocate(NOW);
        let a1 = grants[0].resources.clone();
        policy.recover(
            "a1".into(),
            "zz-first".into(),
            a1.clone(),
            Some(NOW + 5_000),
        );
        let grants = policy.allocate(NOW + 1);
        assert_eq!(owners(&grants), [("a1", "aa-second")]);
        policy.recover("a1".into(), "aa-second".into(), a1, None);
        assert_eq!(owners(&policy.allocate(NOW + 5_000)), [("a1", "zz-first")]);
    }

    #[test]
    fn suppressed_and_inactive_frameworks_are_skipped() {
        let mut policy = policy();
        policy.suppress("zz-first".into(), vec![]);
        assert_eq!(
            owners(&policy.allocate(NOW)),
            [("a1", "aa-second"), ("a2", "aa-second")]
        );
        policy.recover("a1".into(), "aa-second".into(), agent("a1").resources, None);
        policy.deactivate_framework("aa-second".into());
        assert!(policy.allocate(NOW).is_empty());
        policy.revive("zz-first".into(), vec![]);
        assert_eq!(owners(&policy.allocate(NOW)), [("a1", "zz-first")]);
    }
}
