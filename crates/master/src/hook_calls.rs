//! The master's hooks (issue 6), run outside the core's lock. Each hook call is a
//! synchronous wasm call bounded by its deadline (100 ms by default), so the chain runs on a
//! blocking thread, never under [`Shared::with_core`]: the core is asked what the hooks need
//! in one short critical section, and takes their verdicts in the next one (as the
//! allocator's cycle does: `begin_cycle`, `allocate` outside, `finish_cycle`).
//!
//! - ACCEPT: the core lists the tasks that reach `on-launch`; their verdicts are asked in
//!   order, stopping at the first denial (it frees resources, so the tasks after it may come
//!   to something else); the call is made again with them, until none is missing.
//! - Agent registration: the core admits the agent (and gives a new one its id), the hooks
//!   decorate or refuse it, then the core registers it with that verdict.

use corral_api::agent_protocol::{AgentCommand, AgentSubscribe};
use corral_api::scheduler::Call;
use corral_api::v1::{AgentId, AgentInfo, TaskInfo};
use corral_http::error::ApiError;
use corral_plugin_host::PluginTask;
use corral_plugin_host::allocator::{AgentSnapshot, FrameworkSnapshot};
use corral_plugin_host::convert::attribute_text;
use corral_plugin_host::hook_chain::{HookChain, LaunchVerdict, apply_to_task};
use tokio::sync::mpsc;

use std::sync::Arc;

use corral_authz::{Action, Authorizer, Request};

use super::calls::CallOutcome;
use super::effects::StreamId;
use super::hook_verdicts::{AgentHookVerdict, LaunchHookRequest, LaunchHookVerdict, LaunchHooks};
use super::shell::Shared;

impl Shared {
    /// A non-SUBSCRIBE scheduler call; an ACCEPT's tasks go through `on-launch` between
    /// critical sections (see the module doc).
    pub async fn scheduler_call(
        &self,
        mut call: Call,
        stream_header: Option<&str>,
    ) -> Result<(), ApiError> {
        let authorizer = Some(self.authorizer()).filter(|a| a.restricts(Action::RunTasks));
        if self.hooks.is_empty() && authorizer.is_none() {
            self.with_core(|core, now| core.scheduler_call(now, call, stream_header))?;
            return Ok(());
        }
        let mut hooks = LaunchHooks::awaiting();
        loop {
            let outcome = self.with_core(|core, now| {
                core.scheduler_call_with_hooks(now, call, stream_header, &hooks)
            })?;
            match outcome {
                CallOutcome::Done => return Ok(()),
                CallOutcome::AwaitingLaunchHooks {
                    call: pending,
                    requests,
                } => {
                    // Each round adds at least one verdict, so this ends.
                    let verdicts = launch_verdicts(&self.hooks, authorizer.clone(), requests);
                    hooks.add(verdicts.await?);
                    call = *pending;
                }
            }
        }
    }

    /// Registers an agent on a new stream; with hooks, `on-agent-register` runs between its
    /// admission and its registration (see the module doc).
    pub async fn register_agent(
        &self,
        subscribe: AgentSubscribe,
        principal: Option<&str>,
    ) -> Result<(StreamId, AgentId, mpsc::UnboundedReceiver<AgentCommand>), ApiError> {
        if self.hooks.is_empty() {
            return self
                .open_agent_stream(|core, now, stream| {
                    core.agent_subscribe_as(now, subscribe, principal, stream)
                })
                .map_err(ApiError::from);
        }
        let admission = self.with_core(|core, _| core.admit_agent(&subscribe, principal))?;
        let verdict = agent_verdict(&self.hooks, &subscribe.info, &admission.id).await?;
        self.open_agent_stream(|core, now, stream| {
            core.agent_subscribe_admitted(now, subscribe, admission, verdict, stream)
        })
        .map_err(ApiError::from)
    }
}

/// The authorizer's `run_tasks`, then `on-launch`, for `requests`, in order, on a blocking
/// thread; stops after the first refusal.
async fn launch_verdicts(
    chain: &HookChain,
    authorizer: Option<Arc<dyn Authorizer>>,
    requests: Vec<LaunchHookRequest>,
) -> Result<Vec<(usize, LaunchHookVerdict)>, ApiError> {
    let chain = chain.clone();
    tokio::task::spawn_blocking(move || {
        let mut verdicts = Vec::with_capacity(requests.len());
        for request in requests {
            let asked = Request {
                subject: request.framework.principal.as_deref(),
                action: Action::RunTasks,
                object: Some(&request.user),
            };
            if let Some(Err(denied)) = authorizer.as_ref().map(|a| a.authorize(&asked)) {
                // Like a hook's denial, it frees resources the next tasks may use.
                let verdict = LaunchHookVerdict::Unauthorized(denied.to_string());
                verdicts.push((request.index, verdict));
                break;
            }
            let verdict = launch_verdict(&chain, request.task, &request.framework);
            let denied = matches!(verdict, LaunchHookVerdict::Deny { .. });
            verdicts.push((request.index, verdict));
            if denied {
                break;
            }
        }
        verdicts
    })
    .await
    .map_err(|error| ApiError::internal(format!("the launch hooks did not run: {error}")))
}

/// One task through the chain: decorated (labels, command environment), or denied.
fn launch_verdict(
    chain: &HookChain,
    mut task: TaskInfo,
    framework: &FrameworkSnapshot,
) -> LaunchHookVerdict {
    let mut decorated = PluginTask::new(task.clone(), &framework.id, "", "");
    match chain.on_launch(&mut decorated, framework) {
        LaunchVerdict::Allow => {
            apply_to_task(&mut task, &decorated);
            LaunchHookVerdict::Allow(Box::new(task))
        }
        LaunchVerdict::Deny { hook, reason } => LaunchHookVerdict::Deny { hook, reason },
    }
}

/// `on-agent-register` for the agent `info` registering as `id`, on a blocking thread.
async fn agent_verdict(
    chain: &HookChain,
    info: &AgentInfo,
    id: &AgentId,
) -> Result<AgentHookVerdict, ApiError> {
    let snapshot = AgentSnapshot {
        id: id.value.clone(),
        hostname: info.hostname.clone(),
        resources: info.resources.clone(),
        attributes: info.attributes.clone(),
    };
    let chain = chain.clone();
    tokio::task::spawn_blocking(move || match chain.on_agent_register(&snapshot) {
        Ok(decoration) => AgentHookVerdict::Decorate {
            resources: decoration.resources,
            attributes: decoration
                .attributes
                .iter()
                .map(|a| (a.name.clone(), attribute_text(a)))
                .collect(),
        },
        Err(reason) => AgentHookVerdict::Refuse(reason),
    })
    .await
    .map_err(|error| ApiError::internal(format!("the agent hooks did not run: {error}")))
}
