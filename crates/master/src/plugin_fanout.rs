//! Plugins activated for agents, cluster-wide: the master sends the active set to each agent
//! when it (re)registers and to every connected agent when the set changes; agents answer
//! with what they loaded or refused and their plugin call counters
//! (`POST /internal/v1/agent/plugins`), which LIST shows per plugin.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;

use corral_api::agent_protocol::AgentPluginReport;
use corral_api::v1::AgentId;
use corral_http::error::{ApiError, parse_json};

use super::plugin_reports::plugins_command;
use super::shell::Shared;

/// Sends the active set to one agent that just registered (`Some`: from the cache when
/// there is one), or, after a change, reads it again and sends it to every agent.
pub async fn send_active_set(shared: &Arc<Shared>, to: Option<AgentId>) {
    let Some(platform) = shared.plugins.get() else {
        return;
    };
    // Held while reading and sending, so a registering agent cannot be sent an older set
    // after a newer one.
    let mut cache = platform.active_set.0.lock().await;
    let command = match (&to, cache.as_ref()) {
        (Some(_), Some(command)) => command.clone(),
        _ => match plugins_command(&platform.store).await {
            Ok(command) => {
                *cache = Some(command.clone());
                command
            }
            Err(error) => {
                tracing::error!(%error, "cannot read the active plugins for agents");
                return;
            }
        },
    };
    shared.with_core(|core, _| {
        let agents: Vec<AgentId> = match to {
            Some(id) => vec![id],
            None => core.agents.keys().cloned().collect(),
        };
        for agent in agents {
            core.send_command(&agent, command.clone());
        }
    });
}

/// The ids of the connected agents.
pub fn connected_agents(shared: &Shared) -> Vec<String> {
    shared.with_core(|core, _| {
        core.agents
            .iter()
            .filter(|(_, a)| a.connected())
            .map(|(id, _)| id.value.clone())
            .collect()
    })
}

/// `POST /internal/v1/agent/plugins`: an agent's plugin report; 202, 400 for an agent the
/// master does not know, 403 for one registered by another principal.
pub async fn report(
    State(shared): State<Arc<Shared>>,
    caller: corral_http::auth::Caller,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let report: AgentPluginReport = parse_json(&body)?;
    shared.with_core(|core, _| {
        if !core.agents.contains_key(&report.agent_id) {
            return Err(ApiError::bad_request(format!(
                "unknown agent {}",
                report.agent_id
            )));
        }
        core.check_agent_caller(&report.agent_id, caller.name())
            .map_err(ApiError::from)
    })?;
    for refused in report.plugins.iter().filter(|p| !p.loaded) {
        tracing::warn!(
            agent = %report.agent_id,
            plugin = %refused.name,
            sha256 = %refused.sha256,
            reason = refused.error.as_deref().unwrap_or(""),
            "an agent refused a plugin"
        );
    }
    if let Some(platform) = shared.plugins.get() {
        platform.agents.record(report);
    }
    Ok(StatusCode::ACCEPTED)
}
