//! What one caller may see: Mesos' `view_frameworks`, `view_tasks`, `view_executors`,
//! `view_roles`, `get_quotas` and `view_flags` (apache/mesos docs/authorization.md). The
//! operator API's lists, v0's and the SUBSCRIBE stream leave out what the caller may not
//! view, as Mesos' `ObjectApprovers` filter them (src/master/http.cpp, readonly_handler.cpp,
//! `Master::Subscribers::Subscriber::send` in master.cpp): a framework by its `user`; a task
//! by `Task.user`, else its framework's, and only with its framework; an executor by its
//! command's user, else its framework's; a role, a quota and each resource (every role it
//! names) by role. Each distinct object is asked about once per request (once per
//! subscription for a stream), and an action the authorizer does not restrict costs
//! nothing. Pure: handlers run it on answers built by the core, outside its lock.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use corral_api::operator::{
    AgentEntry, FrameworkEntry, GetAgents, GetExecutors, GetFrameworks, GetState, GetTasks,
};
use corral_api::operator_events::{OperatorEvent, OperatorEventType};
use corral_api::operator_roles::{GetQuota, GetRoles};
use corral_api::v1::{Resource, Task};
use corral_authz::{Action, Authorizer, Request};

use super::effects::OperatorUpdate;

/// Each known framework's user, by framework id (active and completed frameworks).
pub type FrameworkUsers = HashMap<String, String>;

/// One caller's decisions so far: kept for a request, or for a subscription's life (as
/// Mesos keeps a subscriber's approvers). Indexed by action, then object: a filter asks the
/// same few users and roles once per task or resource, so a lookup is one string hash.
#[derive(Debug)]
pub struct ViewMemo {
    subject: Option<String>,
    decided: [HashMap<String, bool>; Action::COUNT],
}

impl ViewMemo {
    pub fn new(subject: Option<&str>) -> ViewMemo {
        ViewMemo {
            subject: subject.map(str::to_string),
            decided: std::array::from_fn(|_| HashMap::new()),
        }
    }

    /// The decisions, asking `authorizer` (the master's, as in force now) about what is not
    /// decided yet.
    pub fn with(&mut self, authorizer: Arc<dyn Authorizer>) -> Views<'_> {
        Views {
            memo: self,
            authorizer,
            restricted: [None; Action::COUNT],
        }
    }
}

/// Filters answers for one caller.
pub struct Views<'a> {
    memo: &'a mut ViewMemo,
    authorizer: Arc<dyn Authorizer>,
    /// `restricts` per action, asked once per request (the authorizer stays the same for
    /// the life of a `Views`; a swap applies to the next one).
    restricted: [Option<bool>; Action::COUNT],
}

/// The actions GET_STATE (and SUBSCRIBED) is filtered by.
const STATE_VIEWS: [Action; 4] = [
    Action::ViewFrameworks,
    Action::ViewTasks,
    Action::ViewExecutors,
    Action::ViewRoles,
];

impl Views<'_> {
    /// Whether any of `actions` can be refused (else filtering by them is skipped).
    pub fn restricts(&mut self, actions: &[Action]) -> bool {
        actions.iter().any(|a| self.restricts_one(*a))
    }

    fn restricts_one(&mut self, action: Action) -> bool {
        let known = &mut self.restricted[action.index()];
        *known.get_or_insert_with(|| self.authorizer.restricts(action))
    }

    /// Whether filtering tasks or executors needs their frameworks' users.
    pub fn needs_framework_users(&mut self) -> bool {
        self.restricts(&[
            Action::ViewFrameworks,
            Action::ViewTasks,
            Action::ViewExecutors,
        ])
    }

    /// Whether the caller may `action` on `object` (asked once per distinct object).
    pub fn allows(&mut self, action: Action, object: &str) -> bool {
        if !self.restricts_one(action) {
            return true;
        }
        let decided = &mut self.memo.decided[action.index()];
        if let Some(allowed) = decided.get(object) {
            return *allowed;
        }
        let allowed = self
            .authorizer
            .authorize(&Request {
                subject: self.memo.subject.as_deref(),
                action,
                object: Some(object),
            })
            .is_ok();
        decided.insert(object.to_string(), allowed);
        allowed
    }

    /// `view_flags` (its object is implicit).
    pub fn may_view_flags(&mut self) -> bool {
        !self.restricts_one(Action::ViewFlags)
            || self
                .authorizer
                .authorize(&Request {
                    subject: self.memo.subject.as_deref(),
                    action: Action::ViewFlags,
                    object: None,
                })
                .is_ok()
    }

    pub fn may_view_framework(&mut self, user: &str) -> bool {
        self.allows(Action::ViewFrameworks, user)
    }

    /// A task of a framework of `framework_user`: both must be viewable, as in Mesos.
    pub fn may_view_task(&mut self, task_user: Option<&str>, framework_user: &str) -> bool {
        self.may_view_framework(framework_user)
            && self.allows(Action::ViewTasks, task_user.unwrap_or(framework_user))
    }

    /// An executor running as `executor_user` (else its framework's user).
    pub fn may_view_executor(&mut self, executor_user: Option<&str>, framework_user: &str) -> bool {
        self.may_view_framework(framework_user)
            && self.allows(
                Action::ViewExecutors,
                executor_user.unwrap_or(framework_user),
            )
    }

    /// Mesos' `approved<VIEW_ROLE>(Resource)`: every role the resource names.
    fn may_view_resource(&mut self, resource: &Resource) -> bool {
        let legacy = resource.role.as_deref().filter(|r| *r != "*");
        let reserved = resource.reservations.iter().map(|r| r.role.as_str());
        let allocated = resource
            .allocation_info
            .as_ref()
            .and_then(|a| a.role.as_deref());
        let mut roles = legacy.into_iter().chain(reserved).chain(allocated);
        roles.all(|role| self.allows(Action::ViewRoles, role))
    }

    fn resources(&mut self, resources: &mut Vec<Resource>) {
        if self.restricts(&[Action::ViewRoles]) {
            resources.retain(|r| self.may_view_resource(r));
        }
    }

    /// Whether the framework may be seen; its resources keep only the viewable roles.
    fn framework_entry(&mut self, entry: &mut FrameworkEntry) -> bool {
        if !self.may_view_framework(&entry.framework_info.user) {
            return false;
        }
        self.resources(&mut entry.allocated_resources);
        self.resources(&mut entry.offered_resources);
        true
    }

    fn agent_entry(&mut self, entry: &mut AgentEntry) {
        self.resources(&mut entry.agent_info.resources);
        self.resources(&mut entry.total_resources);
        self.resources(&mut entry.allocated_resources);
        self.resources(&mut entry.offered_resources);
    }

    /// GET_FRAMEWORKS.
    pub fn frameworks(&mut self, frameworks: &mut GetFrameworks) {
        if !self.restricts(&[Action::ViewFrameworks, Action::ViewRoles]) {
            return;
        }
        for list in [
            &mut frameworks.frameworks,
            &mut frameworks.completed_frameworks,
        ] {
            list.retain_mut(|entry| self.framework_entry(entry));
        }
    }

    /// GET_TASKS: the viewable tasks of viewable frameworks; one whose framework the master
    /// no longer knows is left out (Mesos lists tasks through their frameworks).
    pub fn tasks(&mut self, tasks: &mut GetTasks, users: &FrameworkUsers) {
        if !self.restricts(&[Action::ViewFrameworks, Action::ViewTasks]) {
            return;
        }
        let mut visible = |task: &Task| match users.get(&task.framework_id.value) {
            Some(user) => self.may_view_task(task.user.as_deref(), user),
            None => false,
        };
        for list in [
            &mut tasks.pending_tasks,
            &mut tasks.tasks,
            &mut tasks.unreachable_tasks,
            &mut tasks.completed_tasks,
        ] {
            list.retain(&mut visible);
        }
    }

    /// GET_EXECUTORS: the viewable executors of viewable frameworks.
    pub fn executors(&mut self, executors: &mut GetExecutors, users: &FrameworkUsers) {
        if !self.restricts(&[Action::ViewFrameworks, Action::ViewExecutors]) {
            return;
        }
        executors.executors.retain(|entry| {
            let info = &entry.executor_info;
            let framework = info.framework_id.as_ref().map(|f| f.value.as_str());
            let executor_user = info.command.as_ref().and_then(|c| c.user.as_deref());
            match framework.and_then(|f| users.get(f)) {
                Some(user) => self.may_view_executor(executor_user, user),
                None => false,
            }
        });
    }

    /// GET_AGENTS: every agent, its resources of viewable roles only.
    pub fn agents(&mut self, agents: &mut GetAgents) {
        if !self.restricts(&[Action::ViewRoles]) {
            return;
        }
        for entry in &mut agents.agents {
            self.agent_entry(entry);
        }
        for info in &mut agents.recovered_agents {
            self.resources(&mut info.resources);
        }
    }

    /// GET_STATE (and SUBSCRIBED): each part as its own call filters it.
    pub fn state(&mut self, state: &mut GetState) {
        if !self.restricts(&STATE_VIEWS) {
            return;
        }
        let users = framework_users(&state.get_frameworks);
        self.tasks(&mut state.get_tasks, &users);
        self.executors(&mut state.get_executors, &users);
        self.frameworks(&mut state.get_frameworks);
        self.agents(&mut state.get_agents);
    }

    /// GET_ROLES: the roles the caller may view.
    pub fn roles(&mut self, roles: &mut GetRoles) {
        if self.restricts(&[Action::ViewRoles]) {
            roles
                .roles
                .retain(|role| self.allows(Action::ViewRoles, &role.name));
        }
    }

    /// GET_QUOTA: the quotas of the roles the caller may `get_quotas` on.
    pub fn quota(&mut self, quota: &mut GetQuota) {
        if !self.restricts(&[Action::GetQuotas]) {
            return;
        }
        let status = &mut quota.status;
        status
            .infos
            .retain(|q| self.allows(Action::GetQuotas, &q.role));
        status
            .configs
            .retain(|q| self.allows(Action::GetQuotas, &q.role));
    }

    /// The event as this subscriber may see it, or `None` when it may not see it at all
    /// (Mesos' `Subscriber::send`).
    pub fn event<'e>(&mut self, update: &'e OperatorUpdate) -> Option<Cow<'e, OperatorEvent>> {
        let event = &update.event;
        match event.kind {
            OperatorEventType::TaskAdded | OperatorEventType::TaskUpdated => {
                if !self.restricts(&[Action::ViewFrameworks, Action::ViewTasks]) {
                    return Some(Cow::Borrowed(event));
                }
                let owner = update.owner.as_ref()?;
                self.may_view_task(Some(&owner.task_user), &owner.framework_user)
                    .then_some(Cow::Borrowed(event))
            }
            OperatorEventType::FrameworkAdded | OperatorEventType::FrameworkUpdated => {
                if !self.restricts(&[Action::ViewFrameworks, Action::ViewRoles]) {
                    return Some(Cow::Borrowed(event));
                }
                let mut event = event.clone();
                let changed = event
                    .framework_added
                    .as_mut()
                    .or(event.framework_updated.as_mut())?;
                self.framework_entry(&mut changed.framework)
                    .then_some(Cow::Owned(event))
            }
            OperatorEventType::FrameworkRemoved => {
                let user = event
                    .framework_removed
                    .as_ref()
                    .map(|r| &r.framework_info.user);
                match user {
                    Some(user) if !self.may_view_framework(user) => None,
                    _ => Some(Cow::Borrowed(event)),
                }
            }
            OperatorEventType::AgentAdded if self.restricts(&[Action::ViewRoles]) => {
                let mut event = event.clone();
                if let Some(added) = event.agent_added.as_mut() {
                    self.agent_entry(&mut added.agent);
                }
                Some(Cow::Owned(event))
            }
            OperatorEventType::Subscribed if self.restricts(&STATE_VIEWS) => {
                let mut event = event.clone();
                if let Some(subscribed) = event.subscribed.as_mut() {
                    self.state(&mut subscribed.get_state);
                }
                Some(Cow::Owned(event))
            }
            _ => Some(Cow::Borrowed(event)),
        }
    }
}

/// Which tasks a caller may view, decided beforehand for every user the core named, so an
/// answer built under the core's lock (a page of `/master/tasks`) asks no authorizer there.
/// A user decided nothing about (it appeared in between) is not viewable.
#[derive(Debug, Clone, Default)]
pub struct TaskVisibility {
    /// `None`: not restricted.
    frameworks: Option<HashSet<String>>,
    tasks: Option<HashSet<String>>,
}

impl TaskVisibility {
    /// Every task is viewable.
    pub fn all() -> TaskVisibility {
        TaskVisibility::default()
    }

    /// A task running as `task_user` (else its framework's user) of a framework of
    /// `framework_user`.
    pub fn task(&self, task_user: Option<&str>, framework_user: &str) -> bool {
        let user = task_user.unwrap_or(framework_user);
        self.frameworks
            .as_ref()
            .is_none_or(|users| users.contains(framework_user))
            && self.tasks.as_ref().is_none_or(|users| users.contains(user))
    }
}

impl Views<'_> {
    /// Decides `view_frameworks` for each framework user and `view_tasks` for each user a
    /// task may run as.
    pub fn task_visibility<'u>(
        &mut self,
        framework_users: impl IntoIterator<Item = &'u String> + Clone,
        task_users: impl IntoIterator<Item = &'u String>,
    ) -> TaskVisibility {
        let mut decide = |action: Action, users: &mut dyn Iterator<Item = &'u String>| {
            self.restricts_one(action).then(|| {
                users
                    .filter(|user| self.allows(action, user))
                    .cloned()
                    .collect()
            })
        };
        let frameworks = decide(
            Action::ViewFrameworks,
            &mut framework_users.clone().into_iter(),
        );
        let tasks = decide(
            Action::ViewTasks,
            &mut framework_users.into_iter().chain(task_users),
        );
        TaskVisibility { frameworks, tasks }
    }
}

/// The users of the frameworks a GET_FRAMEWORKS answer lists.
pub fn framework_users(frameworks: &GetFrameworks) -> FrameworkUsers {
    frameworks
        .frameworks
        .iter()
        .chain(&frameworks.completed_frameworks)
        .filter_map(|entry| {
            let info = &entry.framework_info;
            Some((info.id.as_ref()?.value.clone(), info.user.clone()))
        })
        .collect()
}
