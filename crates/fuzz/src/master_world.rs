//! A master core with one agent and one subscribed framework, for the targets that feed it a
//! call; and the checks on what the core hands out: every event and command it sends parses
//! on the other side, and every registry write loads back.

use corral_api::agent_protocol::{AgentCommand, AgentSubscribe};
use corral_api::scheduler::{Event, Subscribe};
use corral_api::v1::{AgentId, FrameworkId, MasterInfo};
use corral_master::core::MasterCore;
use corral_master::effects::{Effect, StreamId};
use corral_state::WriteOp;

use super::json_check::assert_round_trip;
use super::persisted;

/// The simulated clock (ms).
pub const NOW_MS: u64 = 1_000_000;

pub struct MasterWorld {
    pub core: MasterCore,
    pub agent_id: AgentId,
    pub framework_id: FrameworkId,
    /// The framework's `Mesos-Stream-Id`.
    pub framework_stream: StreamId,
    /// Every registry write so far, in order.
    writes: Vec<WriteOp>,
}

impl MasterWorld {
    /// A master `m1` with agent `host-1` (cpus:4;mem:4096;ports:[31000-32000]) and framework
    /// `fuzz` (role `eng`) subscribed.
    pub fn new() -> Self {
        let mut core = MasterCore::new(MasterInfo {
            id: "m1".into(),
            ip: 0,
            port: 5050,
            ..Default::default()
        });
        core.set_operator_events(true);
        let agent: AgentSubscribe = fixture(serde_json::json!({
            "info": {
                "hostname": "host-1",
                "port": 5051,
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 4}},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 4096}},
                    {"name": "ports", "type": "RANGES",
                     "ranges": {"range": [{"begin": 31000, "end": 32000}]}}
                ],
                "attributes": [{"name": "rack", "type": "TEXT", "text": {"value": "r1"}}]
            },
            "version": corral_api::VERSION
        }));
        let agent_id = match core.agent_subscribe(NOW_MS, agent, StreamId::new_v4()) {
            Ok(id) => id,
            Err(error) => panic!("the fuzz world's agent is refused: {error}"),
        };
        let subscribe: Subscribe = fixture(serde_json::json!({
            "framework_info": {"user": "nobody", "name": "fuzz", "roles": ["eng"],
                               "capabilities": [{"type": "MULTI_ROLE"}]}
        }));
        let framework_stream = StreamId::new_v4();
        let framework_id = match core.subscribe(NOW_MS, None, subscribe, framework_stream, 15.0) {
            Ok(id) => id,
            Err(error) => panic!("the fuzz world's framework is refused: {error}"),
        };
        let mut world = MasterWorld {
            core,
            agent_id,
            framework_id,
            framework_stream,
            writes: Vec::new(),
        };
        world.check_effects();
        world
    }

    /// Every registry write the core made, in order.
    pub fn writes(&self) -> &[WriteOp] {
        &self.writes
    }

    /// Takes the core's effects and checks them: events and commands survive their JSON,
    /// and the registry as written so far loads without skipping an entry.
    pub fn check_effects(&mut self) {
        let mut wrote = false;
        for effect in self.core.take_effects() {
            match effect {
                Effect::Event { event, .. } => assert_round_trip::<Event>("an event", &event),
                Effect::Command { command, .. } => {
                    assert_round_trip::<AgentCommand>("an agent command", &command)
                }
                Effect::Persist(ops) => {
                    wrote = true;
                    self.writes.extend(ops);
                }
                Effect::Operator(update) => assert_round_trip("an operator event", &update.event),
                Effect::CloseStream { .. } => {}
            }
        }
        if wrote {
            persisted::load_master(&self.writes);
        }
    }
}

/// Builds one of the world's own fixtures; a refusal is a bug in the harness.
fn fixture<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    match serde_json::from_value(value) {
        Ok(v) => v,
        Err(error) => panic!("a fuzz world fixture does not parse: {error}"),
    }
}
