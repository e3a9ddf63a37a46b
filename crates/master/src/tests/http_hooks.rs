//! Hooks on a real master: they run outside the core's lock. A launch hook that blocks
//! until the test lets it go does not hold up other requests, and the task launches as the
//! hook decorated it once it answers.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;

use corral_api::agent_protocol::AgentCommand;
use corral_api::scheduler::EventType;
use corral_api::v1::{EnvironmentVariable, Label, TaskStatus};
use corral_plugin_host::PluginError;
use corral_plugin_host::PluginTask;
use corral_plugin_host::allocator::{AgentSnapshot, FrameworkSnapshot};
use corral_plugin_host::hook::{
    AgentDecoration, Decoration, HookFactory, HookInstance, LaunchDecision,
};
use corral_plugin_host::hook_chain::{FailMode, HookChain, HookEntry};
use corral_state::memory::MemoryStore;

use super::harness::agent_subscribe;
use super::http_client::start_master_with_hooks;

/// Opened by the test; a hook call waits for it.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn open(&self) {
        let (open, changed) = &*self.0;
        *open.lock().unwrap_or_else(|p| p.into_inner()) = true;
        changed.notify_all();
    }

    /// Waits until the gate opens (at most 10 s, so a broken test does not hang).
    fn pass(&self) {
        let (open, changed) = &*self.0;
        let guard = open.lock().unwrap_or_else(|p| p.into_inner());
        let _ = changed
            .wait_timeout_while(guard, Duration::from_secs(10), |open| !*open)
            .unwrap_or_else(|p| p.into_inner());
    }
}

/// `on-launch` says it was called, waits at the gate, then labels the task.
struct GatedHook {
    called: mpsc::UnboundedSender<String>,
    gate: Gate,
}

impl HookInstance for GatedHook {
    fn plugin_name(&self) -> &str {
        "gated"
    }

    fn on_launch(
        &mut self,
        task: &PluginTask,
        _framework: &FrameworkSnapshot,
    ) -> Result<LaunchDecision, PluginError> {
        let _ = self.called.send(task.info.task_id.value.clone());
        self.gate.pass();
        Ok(LaunchDecision::Allow(Decoration {
            labels: vec![Label {
                key: "gate".into(),
                value: Some("passed".into()),
            }],
            environment: Vec::new(),
        }))
    }

    fn on_run(&mut self, _task: &PluginTask) -> Result<Vec<EnvironmentVariable>, PluginError> {
        Ok(Vec::new())
    }

    fn on_status(
        &mut self,
        _task: &PluginTask,
        _status: &TaskStatus,
    ) -> Result<Vec<Label>, PluginError> {
        Ok(Vec::new())
    }

    fn on_agent_register(
        &mut self,
        _agent: &AgentSnapshot,
    ) -> Result<AgentDecoration, PluginError> {
        Ok(AgentDecoration {
            resources: Vec::new(),
            attributes: Vec::new(),
        })
    }
}

fn gated_chain(called: mpsc::UnboundedSender<String>, gate: Gate) -> HookChain {
    let factory: HookFactory = Arc::new(move || {
        Ok(Box::new(GatedHook {
            called: called.clone(),
            gate: gate.clone(),
        }) as Box<dyn HookInstance>)
    });
    let entry = HookEntry {
        name: "gated".into(),
        failure: FailMode::Closed,
        factory,
        override_task_environment: false,
    };
    HookChain::from_factories(vec![entry], None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_lock_is_not_held_while_a_launch_hook_runs() {
    let (called_tx, mut called) = mpsc::unbounded_channel();
    let gate = Gate::default();
    let m = Arc::new(
        start_master_with_hooks(
            Arc::new(MemoryStore::new()),
            gated_chain(called_tx, gate.clone()),
        )
        .await,
    );
    let mut agent = m
        .agent_subscribe(&agent_subscribe(None, "cpus:2;mem:1024"))
        .await;
    let Some(AgentCommand::Registered { agent_id }) = agent.next_command().await else {
        panic!("the agent stream starts with Registered");
    };
    let mut fw = m.subscribe(json!({"user": "u", "name": "f"})).await;
    let offers = fw.events.next_event().await.expect("an OFFERS event");
    assert_eq!(offers.kind, EventType::Offers);
    let offer = offers.offers.expect("offers").offers.remove(0);

    let accept = json!({
        "type": "ACCEPT",
        "framework_id": {"value": fw.id},
        "accept": {
            "offer_ids": [{"value": offer.id.value}],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                "name": "gated", "task_id": {"value": "gated-1"},
                "agent_id": {"value": agent_id.value},
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}}
                ],
                "command": {"value": "echo hi"}
            }]}}]
        }
    });
    let accepting = {
        let m = m.clone();
        let stream_id = fw.stream_id.clone();
        tokio::spawn(async move { m.post("/api/v1/scheduler", Some(&stream_id), &accept).await })
    };
    let entered = tokio::time::timeout(Duration::from_secs(10), called.recv()).await;
    assert_eq!(entered.ok().flatten().as_deref(), Some("gated-1"));

    // The hook is blocked: a request that needs the core's lock is still answered, and the
    // task is not launched yet.
    let state = tokio::time::timeout(Duration::from_secs(5), m.operator("GET_TASKS")).await;
    let state = state.expect("GET_TASKS answers while the launch hook runs");
    assert_eq!(state["get_tasks"]["tasks"], json!([]), "{state}");
    assert!(!accepting.is_finished(), "the ACCEPT waits for its hook");

    gate.open();
    let (status, body) = accepting.await.expect("the ACCEPT task");
    assert_eq!((status, body.as_str()), (202, ""));
    let Some(AgentCommand::RunTask { task, .. }) = agent.next_command().await else {
        panic!("RunTask reaches the agent");
    };
    assert_eq!(task.task_id.value, "gated-1");
    let labels = task.labels.map(|l| l.labels).unwrap_or_default();
    assert!(
        labels
            .iter()
            .any(|l| l.key == "gate" && l.value.as_deref() == Some("passed")),
        "the task carries the hook's label: {labels:?}"
    );
}
