//! The master's state machine. Every input is a method call with an explicit `now` (ms since
//! the epoch); every output is an [`Effect`] queued for the shell (events to framework
//! streams, commands to agent streams, registry writes) or an [`AllocatorEvent`] queued for
//! the allocation loop. Nothing here does I/O or reads a clock, so tests drive it directly.
//!
//! This file holds the core's state; its methods live in one file per concern:
//! `frameworks.rs`, `agents.rs`, `offers.rs`, `accept.rs` (+ `accept_plan.rs`), `tasks.rs`,
//! `calls.rs`, `views.rs`, `partitions.rs`, `gone.rs`, `reservations.rs`, `roles.rs`,
//! `quota.rs`, `executor_messages.rs`. Those files import this one; this one imports only
//! plain data (effects, allocator events, registry records, partition state, reservations).
//! Refusals are `CoreError`s (`core_error.rs`); hooks are not run here: their
//! verdicts come in as data (`hook_verdicts.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use corral_api::agent_protocol::AgentCommand;
use corral_api::resources::Resources;
use corral_api::scheduler::Event;
use corral_api::v1::{
    AgentId, AgentInfo, FrameworkId, FrameworkInfo, MasterInfo, Offer, OfferId, Task, TaskId,
};
use corral_plugin_host::allocator::{AgentSnapshot, FrameworkSnapshot};

use super::allocator_events::AllocatorEvent;
use super::effects::{Effect, StreamId};
use super::partition_state::PartitionState;
use super::registry_records::{put_agent, put_agent_principal, put_framework};
use super::reservation_plan::DynamicReservations;

/// How many terminal tasks and removed frameworks the master remembers for operators and
/// reconciliation.
pub const MAX_COMPLETED_TASKS: usize = 5000;
pub const MAX_COMPLETED_FRAMEWORKS: usize = 100;
/// How many statuses a task keeps (the latest ones).
pub const MAX_STATUSES_PER_TASK: usize = 16;

/// A framework the master knows: subscribed now, disconnected within its failover timeout, or
/// recovered from the registry or an agent and not yet resubscribed.
#[derive(Debug, Clone)]
pub struct Framework {
    /// Always has `id` set.
    pub info: FrameworkInfo,
    /// The current subscription stream; `None` while disconnected.
    pub stream: Option<StreamId>,
    pub suppressed_roles: BTreeSet<String>,
    /// Tasks that are not terminal, or terminal with the update not yet acknowledged.
    pub tasks: BTreeMap<TaskId, TaskRecord>,
    pub registered_ms: u64,
    /// When the failover timer started (the stream closed, or the master recovered it).
    pub disconnected_ms: Option<u64>,
    /// Known from the registry or an agent, not subscribed since this master started.
    pub recovered: bool,
}

impl Framework {
    pub fn id(&self) -> FrameworkId {
        self.info.id.clone().unwrap_or_default()
    }

    pub fn connected(&self) -> bool {
        self.stream.is_some()
    }

    pub fn partition_aware(&self) -> bool {
        self.info.has_capability("PARTITION_AWARE")
    }

    pub fn snapshot(&self) -> FrameworkSnapshot {
        FrameworkSnapshot {
            id: self.id().value,
            name: self.info.name.clone(),
            roles: self.info.effective_roles(),
            capabilities: self
                .info
                .capabilities
                .iter()
                .map(|c| c.kind.clone())
                .collect(),
            principal: self.info.principal.clone(),
        }
    }
}

/// A task as the master tracks it.
#[derive(Debug, Clone)]
pub struct TaskRecord {
    /// The wire form: latest state, statuses, the update awaiting acknowledgement.
    pub task: Task,
    /// The role its resources are allocated to.
    pub role: String,
    pub resources: Resources,
    /// Its resources went back to the allocator (terminal update seen); done at most once.
    pub released: bool,
    /// The executor it was launched with (`None` for command tasks, and for tasks adopted
    /// from an agent's report, which carries no ExecutorInfo).
    pub executor: Option<corral_api::v1::ExecutorInfo>,
}

/// An agent the master knows, connected or not.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Always has `id` set.
    pub info: AgentInfo,
    pub total: Resources,
    /// The newest stream; `None` while disconnected. A stale stream's close is ignored.
    pub stream: Option<StreamId>,
    pub version: String,
    pub registered_ms: u64,
    pub isolation_note: Option<String>,
    /// How its API is reached (http or https), as it said when it subscribed; `None` for an
    /// agent recovered from the registry that has not re-subscribed yet (the scheme is not
    /// persisted, nor shown in any public state: `AgentInfo` has no such field).
    pub scheme: Option<corral_api::agent_protocol::AgentScheme>,
    /// Bumped each time the agent is (re-)added to the allocator, so a grant computed for an
    /// earlier incarnation is recognised as stale.
    pub incarnation: u64,
    /// The authenticated principal that registered this agent id: only it may use the id
    /// again (re-register, send updates). `None`: registered without authentication.
    pub principal: Option<String>,
}

impl Agent {
    pub fn id(&self) -> AgentId {
        self.info.id.clone().unwrap_or_default()
    }

    pub fn connected(&self) -> bool {
        self.stream.is_some()
    }

    pub fn snapshot(&self) -> AgentSnapshot {
        AgentSnapshot {
            id: self.id().value,
            hostname: self.info.hostname.clone(),
            resources: self.total.to_vec(),
            attributes: self.info.attributes.clone(),
        }
    }
}

/// An outstanding offer.
#[derive(Debug, Clone)]
pub struct OfferRecord {
    pub offer: Offer,
    pub role: String,
    pub resources: Resources,
}

#[derive(Debug, Clone)]
pub struct CompletedFramework {
    pub info: FrameworkInfo,
    pub registered_ms: u64,
    /// When it was removed.
    pub unregistered_ms: u64,
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    pub offers_sent: u64,
    pub offers_rescinded: u64,
    pub allocation_cycles: u64,
    pub allocator_errors: u64,
    pub allocator_replays: u64,
    pub invalid_grants: u64,
    pub tasks_launched: u64,
    pub tasks_invalid: u64,
    pub frameworks_removed: u64,
}

pub struct MasterCore {
    pub(super) master_info: MasterInfo,
    next_framework: u64,
    next_agent: u64,
    next_offer: u64,
    pub(super) frameworks: BTreeMap<FrameworkId, Framework>,
    /// Which tasks each agent runs, so that an agent's (re-)registration does not scan every
    /// task of the cluster. Entries may be stale (a removed framework's); readers check them
    /// against `frameworks`.
    pub(super) tasks_by_agent: HashMap<AgentId, BTreeSet<(FrameworkId, TaskId)>>,
    pub(super) completed_frameworks: VecDeque<CompletedFramework>,
    pub(super) agents: BTreeMap<AgentId, Agent>,
    pub(super) offers: BTreeMap<OfferId, OfferRecord>,
    pub(super) completed_tasks: VecDeque<Task>,
    pub(super) counters: Counters,
    /// Role weights set by the operator (roles not here weigh 1.0).
    pub(super) weights: BTreeMap<String, f64>,
    /// Role quotas set by the operator.
    pub(super) quotas: BTreeMap<String, corral_api::operator_roles::QuotaConfig>,
    /// Dynamic reservations per agent, applied on top of what the agent reports.
    pub(super) reservations: BTreeMap<AgentId, DynamicReservations>,
    pending_allocator: Vec<AllocatorEvent>,
    effects: Vec<Effect>,
    wants_allocation: bool,
    pub(super) partitions: PartitionState,
    /// Whether operator API subscribers listen: the events are built only then.
    operator_events: bool,
}

impl MasterCore {
    /// `master_info.id` prefixes every id this master hands out, so ids stay unique across
    /// master restarts.
    pub fn new(master_info: MasterInfo) -> Self {
        MasterCore {
            master_info,
            next_framework: 0,
            next_agent: 0,
            next_offer: 0,
            frameworks: BTreeMap::new(),
            completed_frameworks: VecDeque::new(),
            agents: BTreeMap::new(),
            offers: BTreeMap::new(),
            completed_tasks: VecDeque::new(),
            counters: Counters::default(),
            weights: BTreeMap::new(),
            quotas: BTreeMap::new(),
            reservations: BTreeMap::new(),
            pending_allocator: Vec::new(),
            effects: Vec::new(),
            wants_allocation: false,
            partitions: Default::default(),
            tasks_by_agent: HashMap::new(),
            operator_events: false,
        }
    }

    /// The shell says whether operator API subscribers listen (`operator_events.rs`).
    pub fn set_operator_events(&mut self, on: bool) {
        self.operator_events = on;
    }

    pub(super) fn operator_events(&self) -> bool {
        self.operator_events
    }

    pub fn master_info(&self) -> &MasterInfo {
        &self.master_info
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn framework(&self, id: &FrameworkId) -> Option<&Framework> {
        self.frameworks.get(id)
    }

    pub fn agent(&self, id: &AgentId) -> Option<&Agent> {
        self.agents.get(id)
    }

    pub fn offer(&self, id: &OfferId) -> Option<&OfferRecord> {
        self.offers.get(id)
    }

    pub fn offers(&self) -> impl Iterator<Item = &OfferRecord> {
        self.offers.values()
    }

    /// Effects queued since the last call, in order.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Whether something changed that is worth an allocation cycle soon; clears the flag.
    pub fn take_wants_allocation(&mut self) -> bool {
        std::mem::take(&mut self.wants_allocation)
    }

    pub(super) fn request_allocation(&mut self) {
        self.wants_allocation = true;
    }

    pub(super) fn new_framework_id(&mut self) -> FrameworkId {
        let id = FrameworkId::new(format!(
            "{}-{:04}",
            self.master_info.id, self.next_framework
        ));
        self.next_framework += 1;
        id
    }

    pub(super) fn new_agent_id(&mut self) -> AgentId {
        let id = AgentId::new(format!("{}-S{}", self.master_info.id, self.next_agent));
        self.next_agent += 1;
        id
    }

    pub(super) fn new_offer_id(&mut self) -> OfferId {
        let id = OfferId::new(format!("{}-O{}", self.master_info.id, self.next_offer));
        self.next_offer += 1;
        id
    }

    /// Queues an allocator call for the next cycle.
    pub(super) fn allocator(&mut self, event: AllocatorEvent) {
        self.pending_allocator.push(event);
    }

    pub(super) fn take_allocator_events(&mut self) -> Vec<AllocatorEvent> {
        std::mem::take(&mut self.pending_allocator)
    }

    pub(super) fn effect(&mut self, effect: Effect) {
        self.effects.push(effect);
    }

    /// Sends `event` to the framework if it is connected; a disconnected framework misses it
    /// (status updates are resent by agents until acknowledged).
    pub(super) fn send_event(&mut self, framework_id: &FrameworkId, event: Event) {
        if let Some(stream) = self.frameworks.get(framework_id).and_then(|f| f.stream) {
            self.effects.push(Effect::Event { stream, event });
        }
    }

    /// Sends `command` to the agent if it is connected; returns whether it was sent.
    pub(super) fn send_command(&mut self, agent_id: &AgentId, command: AgentCommand) -> bool {
        match self.agents.get(agent_id).and_then(|a| a.stream) {
            Some(stream) => {
                self.effects.push(Effect::Command { stream, command });
                true
            }
            None => false,
        }
    }

    pub(super) fn persist_framework(&mut self, framework_id: &FrameworkId) {
        let Some(framework) = self.frameworks.get(framework_id) else {
            return;
        };
        let op = put_framework(&framework.info);
        self.effects.push(Effect::Persist(vec![op]));
    }

    /// The tasks on `agent_id` that frameworks still hold: (framework, task, record).
    pub(super) fn tasks_on(&self, agent_id: &AgentId) -> Vec<(&FrameworkId, &TaskRecord)> {
        let Some(keys) = self.tasks_by_agent.get(agent_id) else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|(framework_id, task_id)| {
                let record = self.frameworks.get(framework_id)?.tasks.get(task_id)?;
                (&record.task.agent_id == agent_id).then_some((framework_id, record))
            })
            .collect()
    }

    pub(super) fn persist_agent(&mut self, agent_id: &AgentId) {
        let Some(agent) = self.agents.get(agent_id) else {
            return;
        };
        let mut ops = vec![put_agent(&agent.info)];
        if let Some(principal) = &agent.principal {
            ops.push(put_agent_principal(agent_id, principal));
        }
        self.effects.push(Effect::Persist(ops));
    }

    pub(super) fn remember_completed_task(&mut self, task: Task) {
        self.completed_tasks.push_back(task);
        while self.completed_tasks.len() > MAX_COMPLETED_TASKS {
            self.completed_tasks.pop_front();
        }
    }

    pub(super) fn remember_completed_framework(&mut self, framework: CompletedFramework) {
        self.completed_frameworks.push_back(framework);
        while self.completed_frameworks.len() > MAX_COMPLETED_FRAMEWORKS {
            self.completed_frameworks.pop_front();
        }
    }

    pub(super) fn is_completed_framework(&self, id: &FrameworkId) -> bool {
        self.completed_frameworks
            .iter()
            .any(|f| f.info.id.as_ref() == Some(id))
    }

    /// Resources held on an agent: by live tasks (not yet released) and by outstanding offers.
    pub(super) fn agent_used(&self, agent_id: &AgentId) -> (Resources, Resources) {
        let mut used = Resources::new();
        for (_, record) in self.tasks_on(agent_id) {
            if !record.released {
                used.add_all(&record.resources);
            }
        }
        let mut offered = Resources::new();
        for offer in self.offers.values() {
            if &offer.offer.agent_id == agent_id {
                offered.add_all(&offer.resources);
            }
        }
        (used, offered)
    }

    /// The agent's resources neither used by tasks nor offered.
    pub(super) fn agent_unallocated(&self, agent_id: &AgentId) -> Resources {
        let Some(agent) = self.agents.get(agent_id) else {
            return Resources::new();
        };
        let (used, offered) = self.agent_used(agent_id);
        let mut free = agent.total.clone();
        free.subtract_all(&used);
        free.subtract_all(&offered);
        free
    }
}

/// Seconds since the epoch, as `TaskStatus.timestamp` carries it.
pub fn timestamp(now_ms: u64) -> f64 {
    now_ms as f64 / 1000.0
}
