//! The authorizer plugin in `corral bench auth`: the shipped `policy` authorizer with a
//! document that allows the benchmark's framework, behind the decision cache the master puts
//! in front of it, and what one decision costs through the WASM boundary with and without
//! the cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_authz::{Action, Authorizer, DecisionCache, Request};
use corral_plugin_host::{PluginEngine, PluginLimits};

use super::task_launch::LaunchBenchError;

/// Every authenticated principal (the framework, the agent, the reader) may do anything, so
/// the reads return what the open cluster's do (a refused view would shrink the answer);
/// anonymous callers nothing.
const POLICY: &str = r#"{"rules": [{"effect": "allow", "subjects": ["@authenticated"]}]}"#;

/// The master's default `--authorizer-cache-ttl`.
pub const CACHE_TTL: Duration = Duration::from_secs(10);

/// One plugin decision's cost, median per call.
#[derive(Debug, Clone, Copy)]
pub struct PluginDecision {
    pub uncached: Duration,
    pub cached: Duration,
}

/// The `policy` authorizer behind a decision cache of `ttl`, as the master runs it.
pub fn cached_policy(ttl: Duration) -> Result<Arc<dyn Authorizer>, LaunchBenchError> {
    let engine = PluginEngine::new().map_err(|e| start_error(e.to_string()))?;
    let plugin = engine
        .authorizer("policy", POLICY, PluginLimits::AUTHORIZER)
        .map_err(|e| start_error(e.to_string()))?;
    Ok(Arc::new(DecisionCache::new(Arc::new(plugin), ttl)))
}

/// `checks` `run_tasks` decisions through the plugin, asked every time and then cached.
pub fn decision_times(checks: usize) -> Result<PluginDecision, LaunchBenchError> {
    let request = Request {
        subject: Some("framework"),
        action: Action::RunTasks,
        object: Some("root"),
    };
    let time = |authorizer: Arc<dyn Authorizer>| {
        // The first call instantiates nothing (the instance is made at load) but warms up.
        let _ = authorizer.authorize(&request);
        let started = Instant::now();
        for _ in 0..checks {
            std::hint::black_box(authorizer.authorize(std::hint::black_box(&request))).ok();
        }
        started.elapsed() / checks.max(1) as u32
    };
    Ok(PluginDecision {
        uncached: time(cached_policy(Duration::ZERO)?),
        cached: time(cached_policy(CACHE_TTL)?),
    })
}

fn start_error(reason: String) -> LaunchBenchError {
    LaunchBenchError::Start {
        what: "the policy authorizer plugin",
        reason,
    }
}
