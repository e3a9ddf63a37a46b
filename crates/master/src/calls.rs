//! Scheduler calls other than SUBSCRIBE: the checks Mesos makes on every call (framework,
//! subscription, stream id), then one handler per call type.

use corral_api::scheduler::{Call, CallType};
use corral_api::v1::FrameworkId;

use super::allocator_events::AllocatorEvent;
use super::core::MasterCore;
use super::core_error::CoreError;
use super::hook_verdicts::{LaunchHookRequest, LaunchHooks};

/// How a scheduler call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// Handled (202 Accepted).
    Done,
    /// An ACCEPT whose tasks wait for the launch hooks' verdicts, in order; nothing changed.
    /// The call comes back to be made again with them.
    AwaitingLaunchHooks {
        call: Box<Call>,
        requests: Vec<LaunchHookRequest>,
    },
}

impl MasterCore {
    /// Handles a non-SUBSCRIBE call with no launch hooks configured. `stream_header` is the
    /// request's `Mesos-Stream-Id`. `Ok` means 202 Accepted.
    pub fn scheduler_call(
        &mut self,
        now_ms: u64,
        call: Call,
        stream_header: Option<&str>,
    ) -> Result<(), CoreError> {
        // Without hooks no task waits for a verdict: the outcome is always `Done`.
        self.scheduler_call_with_hooks(now_ms, call, stream_header, &LaunchHooks::Off)
            .map(|_| ())
    }

    /// Handles a non-SUBSCRIBE call; an ACCEPT applies the launch hooks' verdicts in
    /// `hooks`, or asks for the ones it lacks.
    pub fn scheduler_call_with_hooks(
        &mut self,
        now_ms: u64,
        mut call: Call,
        stream_header: Option<&str>,
        hooks: &LaunchHooks,
    ) -> Result<CallOutcome, CoreError> {
        let framework_id = check_call_shape(&call)?;
        let Some(framework) = self.frameworks.get(&framework_id) else {
            return Err(CoreError::invalid("Framework cannot be found"));
        };
        let Some(stream) = framework.stream else {
            return Err(CoreError::forbidden("Framework is not subscribed"));
        };
        let Some(header) = stream_header else {
            return Err(CoreError::invalid(
                "All non-subscribe calls should include the 'Mesos-Stream-Id' header",
            ));
        };
        if header != stream.to_string() {
            return Err(CoreError::invalid(format!(
                "The stream ID '{header}' included in this request didn't match the stream ID \
                 currently associated with framework ID {framework_id}"
            )));
        }
        let id = &framework_id;
        match call.kind {
            CallType::Subscribe => {
                return Err(CoreError::invalid("SUBSCRIBE is handled on its own stream"));
            }
            CallType::Teardown => self.remove_framework(now_ms, id, "the framework tore down"),
            CallType::Accept => {
                if let Some(accept) = call.accept.take()
                    && let Err((accept, requests)) = self.accept(now_ms, id, accept, hooks)
                {
                    call.accept = Some(accept);
                    return Ok(CallOutcome::AwaitingLaunchHooks {
                        call: Box::new(call),
                        requests,
                    });
                }
            }
            CallType::Decline => {
                if let Some(decline) = call.decline {
                    self.decline(now_ms, id, &decline);
                }
            }
            CallType::Revive => {
                let roles = call.revive.map(|r| r.roles).unwrap_or_default();
                self.revive(id, roles);
            }
            CallType::Suppress => {
                let roles = call.suppress.map(|r| r.roles).unwrap_or_default();
                self.suppress(id, roles);
            }
            CallType::Kill => {
                if let Some(kill) = call.kill {
                    self.kill(now_ms, id, kill);
                }
            }
            CallType::Acknowledge => {
                if let Some(ack) = call.acknowledge {
                    self.acknowledge(id, ack)?;
                }
            }
            CallType::Reconcile => {
                if let Some(reconcile) = call.reconcile {
                    self.reconcile(now_ms, id, reconcile);
                }
            }
            CallType::Message => {
                if let Some(message) = call.message {
                    self.framework_message(id, message);
                }
            }
            CallType::Shutdown => {
                tracing::info!(framework = %id, call = ?call.kind,
                    "ignoring SHUTDOWN of a single executor, which is not supported yet");
            }
            CallType::AcceptInverseOffers
            | CallType::DeclineInverseOffers
            | CallType::AcknowledgeOperationStatus
            | CallType::ReconcileOperations
            | CallType::Request
            | CallType::UpdateFramework => {
                tracing::info!(framework = %id, call = ?call.kind, "call accepted as a no-op");
            }
        }
        Ok(CallOutcome::Done)
    }

    fn revive(&mut self, id: &FrameworkId, roles: Vec<String>) {
        if let Some(framework) = self.frameworks.get_mut(id) {
            if roles.is_empty() {
                framework.suppressed_roles.clear();
            } else {
                for role in &roles {
                    framework.suppressed_roles.remove(role);
                }
            }
        }
        self.allocator(AllocatorEvent::Revive(id.value.clone(), roles));
        self.request_allocation();
    }

    fn suppress(&mut self, id: &FrameworkId, roles: Vec<String>) {
        if let Some(framework) = self.frameworks.get_mut(id) {
            let all = framework.info.effective_roles();
            let chosen = if roles.is_empty() { &all } else { &roles };
            framework.suppressed_roles.extend(chosen.iter().cloned());
        }
        self.allocator(AllocatorEvent::Suppress(id.value.clone(), roles));
    }
}

/// The checks Mesos makes before looking at the framework: `framework_id` is present and
/// the call carries the field its type needs.
fn check_call_shape(call: &Call) -> Result<FrameworkId, CoreError> {
    let missing = |field: &str| {
        Err(CoreError::invalid(format!(
            "Expecting '{field}' to be present"
        )))
    };
    let present = match call.kind {
        CallType::Accept => call.accept.is_some().then_some(()).ok_or("accept"),
        CallType::Decline => call.decline.is_some().then_some(()).ok_or("decline"),
        CallType::Kill => call.kill.is_some().then_some(()).ok_or("kill"),
        CallType::Shutdown => call.shutdown.is_some().then_some(()).ok_or("shutdown"),
        CallType::Acknowledge => call
            .acknowledge
            .is_some()
            .then_some(())
            .ok_or("acknowledge"),
        CallType::Reconcile => call.reconcile.is_some().then_some(()).ok_or("reconcile"),
        CallType::Message => call.message.is_some().then_some(()).ok_or("message"),
        _ => Ok(()),
    };
    if let Err(field) = present {
        return missing(field);
    }
    match &call.framework_id {
        Some(id) if !id.value.is_empty() => Ok(id.clone()),
        _ => missing("framework_id"),
    }
}
