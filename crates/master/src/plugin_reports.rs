//! What agents report of the plugins activated for them, and the active set as last sent:
//! the data the plugin fanout (`plugin_fanout.rs`) and LIST (`plugins_api.rs`) share.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use corral_api::agent_protocol::{ActivePlugin, AgentCommand, AgentPluginReport};
use corral_plugin_host::stats::StatsSnapshot;
use corral_plugin_host::store::{PluginMeta, PluginStore, PluginStoreError};

/// The latest report of each agent (in memory: agents report again after a master restart,
/// since they re-register and get the set again).
#[derive(Default)]
pub struct AgentPluginReports {
    reports: Mutex<BTreeMap<String, AgentPluginReport>>,
}

/// Where one plugin runs on the agents, as LIST shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgentsView {
    /// Connected agents that run it.
    pub loaded: usize,
    /// Connected agents.
    pub of: usize,
    /// Agents that refused it, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refusal>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    pub agent_id: String,
    pub reason: String,
}

impl AgentPluginReports {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, AgentPluginReport>> {
        self.reports
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn record(&self, report: AgentPluginReport) {
        self.lock().insert(report.agent_id.value.clone(), report);
    }

    /// Per plugin sha256, where it runs among `connected` agents.
    pub fn placement(&self, sha: &str, connected: &[String]) -> AgentsView {
        let reports = self.lock();
        let mut view = AgentsView {
            of: connected.len(),
            ..AgentsView::default()
        };
        for agent in connected {
            let Some(status) = reports
                .get(agent)
                .and_then(|r| r.plugins.iter().find(|p| p.sha256 == sha))
            else {
                continue;
            };
            if status.loaded {
                view.loaded += 1;
            } else {
                view.refused.push(Refusal {
                    agent_id: agent.clone(),
                    reason: status.error.clone().unwrap_or_default(),
                });
            }
        }
        view
    }

    /// `local` (the master's own counters) plus every agent's, by plugin name: calls and
    /// errors add up; p99 is the largest agent's p99 (an upper bound, not a merged p99).
    pub fn stats_with(
        &self,
        mut local: BTreeMap<String, StatsSnapshot>,
    ) -> BTreeMap<String, StatsSnapshot> {
        for report in self.lock().values() {
            for (name, stats) in &report.stats {
                let sum = local.entry(name.clone()).or_default();
                sum.calls += stats.calls;
                sum.errors += stats.errors;
                sum.p99_us = sum.p99_us.max(stats.p99_us);
            }
        }
        local
    }
}

fn active_plugin(meta: PluginMeta) -> ActivePlugin {
    ActivePlugin {
        sha256: meta.sha256,
        name: meta.name,
        kind: meta.kind,
        version: meta.version,
        config: meta.config,
        manifest: meta.manifest,
        signed: meta.signature,
    }
}

/// The `Plugins` command for the store's active set.
pub async fn plugins_command(store: &PluginStore) -> Result<AgentCommand, PluginStoreError> {
    let active = store.active_for_agents().await?;
    Ok(AgentCommand::Plugins {
        active: active.into_iter().map(active_plugin).collect(),
    })
}

/// The `Plugins` command last read from the store, so an agent's (re-)registration (10k
/// of them at once after a failover) does not read and parse every plugin record again. An
/// async lock: the registrations that find it empty (a new leader's) wait for one read
/// instead of each reading the store.
#[derive(Default)]
pub struct ActiveSetCache(pub tokio::sync::Mutex<Option<AgentCommand>>);

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::agent_protocol::AgentPluginStatus;
    use corral_api::v1::AgentId;

    fn report(agent: &str, loaded: bool, calls: u64, p99: u64) -> AgentPluginReport {
        AgentPluginReport {
            agent_id: AgentId {
                value: agent.to_string(),
            },
            plugins: vec![AgentPluginStatus {
                sha256: "abc".into(),
                name: "tags".into(),
                loaded,
                error: (!loaded).then(|| "hash mismatch".to_string()),
            }],
            stats: BTreeMap::from([(
                "tags".to_string(),
                StatsSnapshot {
                    calls,
                    errors: 1,
                    p99_us: Some(p99),
                },
            )]),
        }
    }

    #[test]
    fn placement_counts_connected_agents_and_names_refusals() {
        let reports = AgentPluginReports::default();
        reports.record(report("a1", true, 10, 50));
        reports.record(report("a2", false, 0, 0));
        reports.record(report("gone", true, 5, 900));
        let connected = ["a1".to_string(), "a2".to_string(), "a3".to_string()];
        let view = reports.placement("abc", &connected);
        assert_eq!((view.loaded, view.of), (1, 3));
        assert_eq!(
            view.refused,
            vec![Refusal {
                agent_id: "a2".into(),
                reason: "hash mismatch".into()
            }]
        );
        assert_eq!(reports.placement("other", &connected).loaded, 0);
    }

    #[test]
    fn stats_add_calls_and_errors_and_take_the_largest_p99() {
        let reports = AgentPluginReports::default();
        reports.record(report("a1", true, 10, 50));
        reports.record(report("a2", true, 4, 700));
        let local = BTreeMap::from([(
            "tags".to_string(),
            StatsSnapshot {
                calls: 1,
                errors: 0,
                p99_us: Some(100),
            },
        )]);
        let summed = reports.stats_with(local)["tags"];
        assert_eq!(summed.calls, 15);
        assert_eq!(summed.errors, 2);
        assert_eq!(summed.p99_us, Some(700));
    }
}
