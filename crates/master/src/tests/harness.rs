//! Drives the core in-process with a simulated clock and the test allocator, and collects
//! its effects per stream.

use corral_api::agent_protocol::{AgentCommand, AgentSubscribe, StatusUpdateMessage};
use corral_api::resources::parse_resources;
use corral_api::scheduler::{
    Accept, Call, CallType, Event, EventType, Launch, Operation, OperationType, Subscribe,
};
use corral_api::v1::{
    AgentId, AgentInfo, CommandInfo, Filters, FrameworkId, FrameworkInfo, MasterInfo, Offer,
    TaskId, TaskInfo, TaskState, TaskStatus,
};
use corral_http::error::ApiError;

use super::super::allocation::AllocatorDriver;
use super::super::core::MasterCore;
use super::super::effects::{Effect, StreamId};
use super::test_allocator::{SharedKnobs, factory, knobs};

pub struct Harness {
    pub core: MasterCore,
    pub driver: AllocatorDriver,
    pub knobs: SharedKnobs,
    pub now: u64,
    effects: Vec<Effect>,
}

impl Harness {
    pub fn new() -> Self {
        let knobs = knobs();
        let driver = AllocatorDriver::new(factory(knobs.clone())).expect("test allocator starts");
        let core = MasterCore::new(MasterInfo {
            id: "m1".into(),
            ip: 0,
            port: 5050,
            ..Default::default()
        });
        Harness {
            core,
            driver,
            knobs,
            now: 1_000_000,
            effects: Vec::new(),
        }
    }

    /// Moves the queued effects into the harness' buffer.
    pub fn collect(&mut self) {
        let effects = self.core.take_effects();
        self.effects.extend(effects);
    }

    /// One allocation cycle, as the shell runs it.
    pub fn allocate(&mut self) {
        let replay = self.driver.needs_replay();
        let input = self.core.begin_cycle(self.now, replay);
        let output = self.driver.run(input);
        self.core.finish_cycle(output);
        self.collect();
    }

    pub fn subscribe_info(&mut self, info: FrameworkInfo) -> (FrameworkId, StreamId) {
        let stream = uuid::Uuid::new_v4();
        let subscribe = Subscribe {
            framework_info: info,
            suppressed_roles: Vec::new(),
        };
        let id = self
            .core
            .subscribe(self.now, None, subscribe, stream, 15.0)
            .expect("subscribe succeeds");
        self.collect();
        (id, stream)
    }

    pub fn subscribe(&mut self, name: &str) -> (FrameworkId, StreamId) {
        self.subscribe_info(FrameworkInfo {
            user: "test".into(),
            name: name.into(),
            ..Default::default()
        })
    }

    pub fn agent_subscribe(&mut self, subscribe: AgentSubscribe) -> (AgentId, StreamId) {
        let stream = uuid::Uuid::new_v4();
        let id = self
            .core
            .agent_subscribe(self.now, subscribe, stream)
            .expect("agent registers");
        self.collect();
        (id, stream)
    }

    pub fn add_agent(&mut self, resources: &str) -> (AgentId, StreamId) {
        self.agent_subscribe(agent_subscribe(None, resources))
    }

    /// Takes the effects for one framework stream out of the buffer.
    pub fn events(&mut self, stream: StreamId) -> Vec<Event> {
        let mut out = Vec::new();
        self.effects.retain(|e| match e {
            Effect::Event { stream: s, event } if *s == stream => {
                out.push(event.clone());
                false
            }
            _ => true,
        });
        out
    }

    /// Takes the operator API events out of the buffer.
    pub fn operator_events(&mut self) -> Vec<corral_api::operator_events::OperatorEvent> {
        let mut out = Vec::new();
        self.effects.retain(|e| match e {
            Effect::Operator(update) => {
                out.push(update.event.clone());
                false
            }
            _ => true,
        });
        out
    }

    pub fn closed(&mut self, stream: StreamId) -> bool {
        let before = self.effects.len();
        self.effects
            .retain(|e| !matches!(e, Effect::CloseStream { stream: s } if *s == stream));
        before != self.effects.len()
    }

    pub fn commands(&mut self, stream: StreamId) -> Vec<AgentCommand> {
        let mut out = Vec::new();
        self.effects.retain(|e| match e {
            Effect::Command { stream: s, command } if *s == stream => {
                out.push(command.clone());
                false
            }
            _ => true,
        });
        out
    }

    pub fn persisted(&mut self) -> Vec<corral_state::WriteOp> {
        let mut out = Vec::new();
        self.effects.retain(|e| match e {
            Effect::Persist(ops) => {
                out.extend(ops.iter().cloned());
                false
            }
            _ => true,
        });
        out
    }

    pub fn offers(&mut self, stream: StreamId) -> Vec<Offer> {
        self.events(stream)
            .into_iter()
            .filter(|e| e.kind == EventType::Offers)
            .flat_map(|e| e.offers.map(|o| o.offers).unwrap_or_default())
            .collect()
    }

    pub fn updates(&mut self, stream: StreamId) -> Vec<TaskStatus> {
        self.events(stream)
            .into_iter()
            .filter_map(|e| e.update.map(|u| u.status))
            .collect()
    }

    pub fn call(&mut self, stream: StreamId, call: Call) -> Result<(), ApiError> {
        let header = stream.to_string();
        let result = self.core.scheduler_call(self.now, call, Some(&header));
        self.collect();
        result.map_err(ApiError::from)
    }

    pub fn accept(
        &mut self,
        framework: &FrameworkId,
        stream: StreamId,
        offer_ids: Vec<corral_api::v1::OfferId>,
        tasks: Vec<TaskInfo>,
        refuse_seconds: Option<f64>,
    ) {
        let mut call = Call::new(CallType::Accept, Some(framework.clone()));
        call.accept = Some(Accept {
            offer_ids,
            operations: vec![Operation {
                kind: OperationType::Launch,
                launch: Some(Launch { task_infos: tasks }),
                reserve: None,
                unreserve: None,
                id: None,
            }],
            filters: refuse_seconds.map(|s| Filters {
                refuse_seconds: Some(s),
            }),
        });
        self.call(stream, call).expect("ACCEPT is accepted");
    }

    /// An agent's status update with a fresh uuid; returns the uuid.
    pub fn agent_update(
        &mut self,
        agent: &AgentId,
        framework: &FrameworkId,
        task: &str,
        state: TaskState,
    ) -> String {
        let uuid = base64_uuid();
        self.core
            .status_update(StatusUpdateMessage {
                agent_id: agent.clone(),
                framework_id: framework.clone(),
                status: TaskStatus {
                    task_id: TaskId::new(task),
                    state,
                    uuid: Some(uuid.clone()),
                    ..Default::default()
                },
            })
            .expect("update accepted");
        self.collect();
        uuid
    }
}

pub fn agent_subscribe(id: Option<AgentId>, resources: &str) -> AgentSubscribe {
    AgentSubscribe {
        agent_id: id,
        info: AgentInfo {
            hostname: "host1".into(),
            port: Some(5051),
            resources: parse_resources(resources).expect("test resources parse"),
            ..Default::default()
        },
        tasks: Vec::new(),
        frameworks: Vec::new(),
        version: "test".into(),
        isolation_note: None,
        scheme: Default::default(),
    }
}

pub fn task(id: &str, agent: &AgentId, resources: &str) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId::new(id),
        agent_id: agent.clone(),
        resources: parse_resources(resources).expect("test resources parse"),
        command: Some(CommandInfo {
            value: Some("echo hi".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn base64_uuid() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes())
}
